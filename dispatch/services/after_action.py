"""After-action (善后): returns into stock, consumption, and the incident's report."""

import math
from collections import defaultdict
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import func, select

from core.errors import Invalid
from core.extensions import db
from core.timeutil import local_text, utcnow
from core.organisation import Agency, Region
from reserve.models import Depot, Material
from reserve.stock import ledger
from reserve.stock.ledger import LotFacts

from .. import rules
from ..models import AfterActionRecord, Demand, DemandPoint, PlanLine, PlanVersion, Shipment
from ..statuses import DemandStatus, PlanStatus, ShipmentStatus
from .incidents import get_incident, require_command


MAX_RECORD_QUANTITY = 100_000_000  # units of one return or consumption record
MAX_NOTE = 300


def _check_record(quantity: int | None, note: str | None) -> None:
    if quantity is None or not 0 < quantity <= MAX_RECORD_QUANTITY:
        raise Invalid(_("A whole number above zero."), errors={"quantity": [_("invalid")]})
    if note is not None and len(note) > MAX_NOTE:
        raise Invalid(_("At most %(n)s characters.", n=MAX_NOTE), errors={"note": [_("invalid")]})


def record_return(
    user,
    incident_id: int,
    *,
    depot_id: int,
    material_id: int,
    quantity: int,
    note: str | None = None,
) -> AfterActionRecord:
    """Unused materials back into a depot: a receipt into a return lot (drills record only)."""
    require_command(user)
    incident = get_incident(user, incident_id)
    _check_record(quantity, note)
    if db.session.get(Depot, depot_id) is None or db.session.get(Material, material_id) is None:
        raise Invalid(
            _("A return names a depot and a catalog material."), errors={"depot_id": [_("invalid")]}
        )
    lot_id = None
    if not incident.drill:
        movement = ledger.record_receipt(
            user,
            depot_id=depot_id,
            material_id=material_id,
            quantity=quantity,
            facts=LotFacts(f"RET-{incident.number}"[:60]),
            reason=_("returned after the incident"),
            reference=incident.number,
            dispatch_return=True,
        )
        lot_id = movement.lot_id
    record = AfterActionRecord(
        incident_id=incident.id,
        kind="returned",
        material_id=material_id,
        quantity=quantity,
        depot_id=depot_id,
        lot_id=lot_id,
        note=note,
        user_id=user.id,
    )
    db.session.add(record)
    db.session.commit()
    return record


def record_consumption(
    user,
    incident_id: int,
    *,
    point_id: int,
    material_id: int,
    quantity: int,
    note: str | None = None,
) -> AfterActionRecord:
    require_command(user)
    incident = get_incident(user, incident_id)
    _check_record(quantity, note)
    point = db.session.get(DemandPoint, point_id)
    if (
        point is None
        or point.incident_id != incident.id
        or db.session.get(Material, material_id) is None
        or quantity is None
        or quantity <= 0
    ):
        raise Invalid(
            _(
                "Consumption names a point of this incident, a catalog material and a quantity above zero."
            )
        )
    record = AfterActionRecord(
        incident_id=incident.id,
        kind="consumed",
        material_id=material_id,
        quantity=quantity,
        point_id=point.id,
        note=note,
        user_id=user.id,
    )
    db.session.add(record)
    db.session.commit()
    return record


def return_depots(user, incident_id: int) -> list[Depot]:
    """Depots a return may go to: those the incident's shipments came from."""
    get_incident(user, incident_id)
    return (
        db.session.execute(
            select(Depot)
            .join(PlanLine, PlanLine.depot_id == Depot.id)
            .join(Shipment, Shipment.line_id == PlanLine.id)
            .where(Shipment.incident_id == incident_id)
            .distinct()
            .order_by(Depot.name)
        )
        .scalars()
        .all()
    )


def incident_materials(incident_id: int) -> list[Material]:
    """The materials the incident asked for (returns and consumption are of these)."""
    return (
        db.session.execute(
            select(Material)
            .join(Demand, Demand.material_id == Material.id)
            .where(Demand.incident_id == incident_id)
            .distinct()
            .order_by(Material.name)
        )
        .scalars()
        .all()
    )


def report(user, incident_id: int) -> dict:
    """The after-action report: milestones and the time between them, fill rate and on-time
    rate per point and material, discrepancies, stock drawn per agency, returns and
    consumption, and what must be replenished to restore the plan's norms."""
    incident = get_incident(user, incident_id)
    demands = (
        db.session.execute(select(Demand).where(Demand.incident_id == incident.id)).scalars().all()
    )
    approved = db.session.execute(
        select(PlanVersion).where(
            PlanVersion.incident_id == incident.id, PlanVersion.status == PlanStatus.APPROVED
        )
    ).scalar_one_or_none()
    first_plan = db.session.scalar(
        select(func.min(PlanVersion.created_at)).where(PlanVersion.incident_id == incident.id)
    )
    shipments = (
        db.session.execute(select(Shipment).where(Shipment.incident_id == incident.id))
        .scalars()
        .all()
    )
    departures = [s.departed_at for s in shipments if s.departed_at]
    arrivals = [s.arrived_at for s in shipments if s.arrived_at]
    milestones = {
        "demanded_at": min((d.created_at for d in demands), default=None),
        "planned_at": first_plan,
        "approved_at": approved.approved_at if approved else None,
        "first_departure_at": min(departures, default=None),
        "last_arrival_at": max(arrivals, default=None),
    }
    deliveries = [
        {
            "demand_id": s.line.demand_id,
            "quantity_received": s.quantity_received,
            "arrived_at": s.arrived_at,
        }
        for s in shipments
        if s.status == ShipmentStatus.RECEIVED
    ]
    active = [d for d in demands if d.status == DemandStatus.ACTIVE]
    rows = rules.fill_and_on_time(
        [{"id": d.id, "quantity": d.quantity, "needed_by": d.needed_by} for d in active], deliveries
    )
    by_id = {d.id: d for d in active}
    per_demand = [
        {
            **row,
            "number": by_id[row["id"]].number,
            "point": by_id[row["id"]].point.name,
            "material": by_id[row["id"]].material.name,
            "unit": by_id[row["id"]].material.unit,
        }
        for row in rows
    ]
    drawn = defaultdict(lambda: {"quantity": 0, "weight_t": 0.0})
    for shipment in shipments:
        if shipment.departed_at and shipment.agency_id:
            entry = drawn[shipment.agency_id]
            entry["quantity"] += shipment.quantity
            entry["weight_t"] += shipment.line.weight_t
    agencies = dict(
        db.session.execute(select(Agency.id, Agency.name).where(Agency.id.in_(list(drawn)))).all()
    )
    records = (
        db.session.execute(
            select(AfterActionRecord).where(AfterActionRecord.incident_id == incident.id)
        )
        .scalars()
        .all()
    )
    received = [r["fill_rate"] for r in per_demand if r["fill_rate"] is not None]
    return {
        "incident": {
            "id": incident.id,
            "number": incident.number,
            "title": incident.title,
            "drill": incident.drill,
            "status": incident.status,
        },
        "milestones": {k: v.isoformat() if v else None for k, v in milestones.items()},
        "stage_hours": rules.stage_times(
            milestones["demanded_at"],
            milestones["planned_at"],
            milestones["approved_at"],
            milestones["first_departure_at"],
            milestones["last_arrival_at"],
        ),
        "fill_rate_mean": round(sum(received) / len(received), 3) if received else None,
        "on_time_rate": round(sum(1 for r in per_demand if r["on_time"]) / len(per_demand), 3)
        if per_demand
        else None,
        "demands": [{**r, "needed_by": r["needed_by"].isoformat()} for r in per_demand],
        "discrepancies": [
            {
                "batch_no": s.batch_no,
                "shipped": s.quantity,
                "received": s.quantity_received,
                "reason": s.discrepancy_reason,
                "material": s.line.material.name,
                "unit": s.line.material.unit,
                "point": s.line.point.name,
            }
            for s in shipments
            if s.status == ShipmentStatus.RECEIVED and s.quantity_received != s.quantity
        ],
        "drawn": [
            {
                "agency": agencies.get(a, a),
                "quantity": v["quantity"],
                "weight_t": round(v["weight_t"], 2),
            }
            for a, v in sorted(drawn.items())
        ],
        "returned": [
            {
                "material": r.material.name,
                "unit": r.material.unit,
                "quantity": r.quantity,
                "note": r.note,
                "depot": db.session.get(Depot, r.depot_id).name if r.depot_id else None,
            }
            for r in records
            if r.kind == "returned"
        ],
        "consumed": [
            {
                "material": r.material.name,
                "unit": r.material.unit,
                "quantity": r.quantity,
                "note": r.note,
                "point": db.session.get(DemandPoint, r.point_id).name if r.point_id else None,
            }
            for r in records
            if r.kind == "consumed"
        ],
        "replenish": _replenishment(incident),
        "generated_at": utcnow().isoformat(),
    }


def _replenishment(incident) -> list[dict]:
    """Gaps of the incident's emergency plan's norms against today's available stock."""
    if incident.plan_id is None:
        return []
    from reserve.warnings.scan import norm_status

    materials = {m.id: m for m in db.session.execute(select(Material)).scalars()}
    rows = [
        n
        for n in norm_status()
        if n["plan_id"] == incident.plan_id
        and n["required"] is not None
        and n["available"] < n["required"]
    ]
    regions = (
        dict(
            db.session.execute(
                select(Region.code, Region.name).where(
                    Region.code.in_({n["region_code"] for n in rows})
                )
            ).all()
        )
        if rows
        else {}
    )
    # Materials come in whole units: a norm of 1863.4 tents needs 1864 of them.
    return [
        {
            "material": materials[n["material_id"]].name if n["material_id"] in materials else None,
            "unit": materials[n["material_id"]].unit if n["material_id"] in materials else "",
            "region_code": n["region_code"],
            "region": regions.get(n["region_code"], n["region_code"]),
            "required": math.ceil(n["required"]),
            "available": n["available"],
            "gap": math.ceil(n["required"]) - n["available"],
        }
        for n in rows
    ]


def report_xlsx(user, incident_id: int) -> bytes:
    from reserve.services.spreadsheets import xlsx_bytes

    data = report(user, incident_id)
    rows = [
        [
            d["number"],
            d["point"],
            d["material"],
            d["quantity"],
            d["received"],
            d["unit"],
            d["fill_rate"],
            _("yes") if d["on_time"] else _("no"),
            local_text(datetime.fromisoformat(d["needed_by"])),
        ]
        for d in data["demands"]
    ]
    header = [
        _("Demand"),
        _("Point"),
        _("Material"),
        _("Demanded"),
        _("Received"),
        _("Unit"),
        _("Fill rate"),
        _("On time"),
        _("Needed by"),
    ]
    return xlsx_bytes(data["incident"]["number"], header, rows)
