"""Shipments (发运): ready → departed (the reserved lots are issued) → arrived → received (with
the quantity received and the reason for any difference). The sending agency's operators move
their own shipments; command staff move any."""

from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from core.errors import Conflict, DomainError, Invalid, NotAllowed, NotFound
from core.policy import may_command_incidents, may_write_for_agency
from core.extensions import db
from core.timeutil import utcnow
from reserve.rules import quantity_problem
from reserve.stock import ledger
from reserve.services.access import agency_path

from .. import rules
from ..models import SHIPMENT_LABELS, LineAllocation, PlanVersion, Shipment
from ..statuses import PlanStatus, ShipmentStatus
from .incidents import get_incident


NEXT_STATUS = {
    ShipmentStatus.READY: ShipmentStatus.DEPARTED,
    ShipmentStatus.DEPARTED: ShipmentStatus.ARRIVED,
    ShipmentStatus.ARRIVED: ShipmentStatus.RECEIVED,
}


def list_shipments(user, incident_id: int) -> list[Shipment]:
    get_incident(user, incident_id)  # staff only, and a 404 for an unknown incident
    stmt = select(Shipment).where(Shipment.incident_id == incident_id).order_by(Shipment.id)
    rows = db.session.execute(stmt).scalars().all()
    if may_command_incidents(user):
        return rows
    from .visibility import visible_lines

    plans = {}
    visible = set()
    for row in rows:
        plan = plans.setdefault(row.line.plan_id, db.session.get(PlanVersion, row.line.plan_id))
        visible |= {line.id for line in visible_lines(user, plan)}
    return [row for row in rows if row.line_id in visible]


def move_obstacle(user, shipment: Shipment) -> DomainError | None:
    """Why `user` may not move `shipment` on now, or None: the rule behind the shipment's button
    and the service. Command staff move any; the sending agency's operators their own."""
    if not may_command_incidents(user):
        if shipment.agency_id is None:
            return NotAllowed(_("Only command staff update shipments from suppliers."))
        if not may_write_for_agency(user, agency_path(shipment.agency_id)):
            return NotAllowed(
                _("You may only change data of your own agency and the agencies below it.")
            )
    if db.session.get(PlanVersion, shipment.line.plan_id).status != PlanStatus.APPROVED:
        return Conflict(_("Only shipments of an approved plan move."))
    from .trips import line_in_trips

    if (trip := line_in_trips(shipment.line_id)) is not None:
        return Conflict(
            _(
                "This line travels by trip %(trip)s of the loading plan: move the trip instead.",
                trip=trip,
            )
        )
    return None


def movable(user, rows: list[Shipment]) -> set[int]:
    """Ids of the shipments whose next step `user` may record now."""
    return {
        row.id for row in rows if row.status in NEXT_STATUS and move_obstacle(user, row) is None
    }


def _shipment_for_update(user, shipment_id: int) -> Shipment:
    shipment = db.session.get(Shipment, shipment_id)
    if shipment is None:
        raise NotFound(_("Shipment %(id)s not found.", id=shipment_id))
    if (obstacle := move_obstacle(user, shipment)) is not None:
        raise obstacle
    return shipment


def advance(
    user,
    shipment_id: int,
    status: str,
    *,
    quantity_received: int | None = None,
    discrepancy_reason: str | None = None,
    vehicles: int | None = None,
) -> Shipment:
    shipment = _shipment_for_update(user, shipment_id)
    if not rules.can_move_shipment(shipment.status, status):
        raise Conflict(
            _(
                "A shipment goes ready → departed → arrived → received (it is %(s)s).",
                s=str(SHIPMENT_LABELS.get(shipment.status, shipment.status)),
            )
        )
    now = utcnow()
    line = shipment.line
    if status == ShipmentStatus.DEPARTED:
        if vehicles is not None:
            if vehicles < 1:
                raise Invalid(_("At least one vehicle."), errors={"vehicles": [_("invalid")]})
            shipment.vehicles = vehicles
        _issue(user, shipment)
        shipment.departed_at = now
        shipment.eta = now + timedelta(hours=max(line.arrival_h - line.lead_time_h, 0))
    elif status == ShipmentStatus.ARRIVED:
        shipment.arrived_at = now
    elif status == ShipmentStatus.RECEIVED:
        if quantity_received is None or quantity_problem(quantity_received):
            raise Invalid(
                _("Record the quantity received."), errors={"quantity_received": [_("required")]}
            )
        if quantity_received != shipment.quantity and not (discrepancy_reason or "").strip():
            raise Invalid(
                _("The quantity received differs from the quantity shipped: give the reason."),
                errors={"discrepancy_reason": [_("required")]},
            )
        shipment.quantity_received = quantity_received
        shipment.discrepancy_reason = (discrepancy_reason or "").strip()[:300] or None
        shipment.received_at = now
    shipment.status, shipment.updated_by_id = status, user.id
    db.session.commit()
    return shipment


def _issue(user, shipment: Shipment) -> None:
    """Departure: the lots the approval reserved leave the depot (drills move nothing)."""
    plan = db.session.get(PlanVersion, shipment.line.plan_id)
    if plan.incident.drill:
        return
    for allocation in db.session.execute(
        select(LineAllocation).filter_by(line_id=shipment.line_id, released=False)
    ).scalars():
        ledger.dispatch_in_transaction(
            user, allocation.lot_id, allocation.quantity, reference=shipment.batch_no
        )
        allocation.released = True


def late_shipments(incident_id: int, now=None) -> list[Shipment]:
    now = now or utcnow()
    return (
        db.session.execute(
            select(Shipment).where(
                Shipment.incident_id == incident_id,
                Shipment.status == ShipmentStatus.DEPARTED,
                Shipment.eta < now,
            )
        )
        .scalars()
        .all()
    )
