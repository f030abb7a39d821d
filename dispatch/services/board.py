"""The command board's figures for one incident, polled by the page."""

from sqlalchemy import select

from core.extensions import db
from core.timeutil import utcnow

from ..models import SHIPMENT_STATUSES, Demand, DemandPoint, PlanVersion
from ..statuses import DemandStatus, PlanStatus, ShipmentStatus
from .consultation import thread
from .incidents import get_incident
from .visibility import visible_lines
from .shipments import list_shipments


def board(user, incident_id: int) -> dict:
    incident = get_incident(user, incident_id)
    now = utcnow()
    demands = (
        db.session.execute(
            select(Demand).where(
                Demand.incident_id == incident.id, Demand.status == DemandStatus.ACTIVE
            )
        )
        .scalars()
        .all()
    )
    points = (
        db.session.execute(select(DemandPoint).where(DemandPoint.incident_id == incident.id))
        .scalars()
        .all()
    )
    plans = (
        db.session.execute(
            select(PlanVersion)
            .where(PlanVersion.incident_id == incident.id)
            .order_by(PlanVersion.version.desc())
        )
        .scalars()
        .all()
    )
    current = next((p for p in plans if p.status == PlanStatus.APPROVED), None) or next(
        (p for p in plans if p.status == PlanStatus.DRAFT), None
    )
    shipments = list_shipments(user, incident.id)
    lines = visible_lines(user, current) if current else []
    alerts = [
        {"kind": "late", "batch_no": s.batch_no, "eta": s.eta.isoformat()}
        for s in shipments
        if s.status == ShipmentStatus.DEPARTED and s.eta and s.eta < now
    ]
    alerts += (
        [
            {
                "kind": "unmet",
                "point_id": u["point_id"],
                "material_id": u["material_id"],
                "quantity": u["quantity"],
            }
            for u in (current.unmet or [])
        ]
        if current
        else []
    )
    alerts += [
        {"kind": "overdue_demand", "number": d.number}
        for d in demands
        if d.needed_by < now
        and not any(
            s.line.demand_id == d.id
            and s.status in (ShipmentStatus.ARRIVED, ShipmentStatus.RECEIVED)
            for s in shipments
        )
    ]
    return {
        "incident": {
            "id": incident.id,
            "number": incident.number,
            "status": incident.status,
            "drill": incident.drill,
            "lat": incident.lat,
            "lon": incident.lon,
        },
        "demands": {"count": len(demands), "units": sum(d.quantity for d in demands)},
        "points": [{"id": p.id, "name": p.name, "lat": p.lat, "lon": p.lon} for p in points],
        "plan": {
            "id": current.id,
            "version": current.version,
            "status": current.status,
            "metrics": current.metrics,
        }
        if current
        else None,
        "routes": [
            {
                "from": [line.depot.lat, line.depot.lon] if line.depot and line.depot.lat else None,
                "to": [line.point.lat, line.point.lon],
                "label": f"{line.material.name} {line.quantity}",
                "depot": line.depot.name if line.depot else line.source_key,
            }
            for line in lines
        ],
        "shipments": {
            status: sum(1 for s in shipments if s.status == status) for status in SHIPMENT_STATUSES
        },
        "alerts": alerts,
        "messages": len(thread(user, incident.id)),
        "updated_at": now.isoformat(),
    }
