"""Approving a plan version reserves every line's stock in one transaction: all lines or none.

Each depot line takes its units from that depot's lots of the material and reserve type,
first expiring first out, through the ledger's guarded UPDATE: two approvals competing for the
same lot can never both take its last units (PostgreSQL row locks; SQLite's write lock), and a
line that no longer finds its stock rolls the whole approval back (409: re-plan). Supplier
lines reserve nothing (the enterprise is called upon). Drill incidents record which lots they
would have used but move no stock. Cancelling releases what the approval reserved.
"""

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from core.audit import serialise_writes
from core.errors import Conflict, DomainError, Invalid, NotAllowed
from core.extensions import db
from core.policy import may_command_incidents
from core.timeutil import local_today, utcnow
from reserve.models import Depot, TransportCapacity
from reserve.stock import availability, ledger

from .. import rules
from ..models import PLAN_STATUS_LABELS, LineAllocation, PlanVersion, Shipment
from ..statuses import IncidentStatus, PlanStatus, ShipmentStatus
from .incidents import require_command
from .versions import get_plan


def _lots_for(line, held: dict[int, int]) -> list[tuple[int, int, object]]:
    """The line's lots, less the units `held` for earlier lines of the same approval."""
    lots = availability.lots_to_reserve(
        line.depot_id, line.material_id, line.source_kind, line.lead_time_h, local_today()
    )
    return [
        (lot_id, units - held.get(lot_id, 0), expiry)
        for lot_id, units, expiry in lots
        if units > held.get(lot_id, 0)
    ]


def approval_obstacle(user, plan: PlanVersion) -> DomainError | None:
    """Why `user` may not approve `plan` now, or None: the one rule behind the approve button
    and the approval itself (four eyes: the plan's author never approves it)."""
    if not may_command_incidents(user):
        return NotAllowed(_("Only command staff manage incidents, demands and plans."))
    if plan.status != PlanStatus.DRAFT:
        return Conflict(
            _(
                "Only a draft plan can be approved (this one is %(s)s).",
                s=str(PLAN_STATUS_LABELS.get(plan.status, plan.status)),
            )
        )
    if plan.incident.status == IncidentStatus.CLOSED:
        return Conflict(_("The incident is closed."))
    if current_app.config["DISPATCH_FOUR_EYES"] and plan.author_id == user.id:
        return NotAllowed(_("A plan is approved by a commander other than its author."))
    if db.session.execute(
        select(PlanVersion.id).where(
            PlanVersion.incident_id == plan.incident_id, PlanVersion.status == PlanStatus.APPROVED
        )
    ).first():
        return Conflict(_("The incident already has an approved plan; cancel it first."))
    return None


def can_approve(user, plan: PlanVersion) -> bool:
    return approval_obstacle(user, plan) is None


def approve(user, plan_id: int) -> PlanVersion:
    require_command(user)
    serialise_writes()  # before reading the plan's status: the same plan approved twice at once reserves once
    plan = get_plan(user, plan_id)
    incident = plan.incident
    if (obstacle := approval_obstacle(user, plan)) is not None:
        raise obstacle
    reference = f"PLAN-{plan.id}"
    held: dict[int, int] = {}  # lot id -> units taken by earlier lines (a drill holds nothing back)
    allocations = []
    for line in plan.lines:
        if line.source_kind == "supplier":
            continue
        taken = rules.fefo(_lots_for(line, held), line.quantity)
        if taken is None:
            db.session.rollback()
            raise Conflict(
                _(
                    "Depot %(depot)s no longer has %(n)s units of %(material)s available; nothing was "
                    "reserved. Plan again from the current stock.",
                    depot=line.depot.name,
                    n=line.quantity,
                    material=line.material.name,
                )
            )
        for lot_id, units in taken:
            if not incident.drill:
                held[lot_id] = held.get(lot_id, 0) + units
            allocations.append(
                LineAllocation(
                    line_id=line.id, lot_id=lot_id, quantity=units, released=incident.drill
                )
            )
    if (
        not incident.drill
    ):  # every lot's access checked at once (one query), then reserved in plan order
        ledger.reserve_many_in_transaction(
            user, [(a.lot_id, a.quantity) for a in allocations], reference=reference
        )
    db.session.add_all(allocations)
    plan.status, plan.approved_by_id, plan.approved_at = PlanStatus.APPROVED, user.id, utcnow()
    _create_shipments(plan)
    db.session.commit()
    return plan


def _payload_of(depot_id: int | None) -> float:
    if depot_id is None:
        return current_app.config["DISPATCH_SUPPLIER_CAPACITY_T"]
    payload = db.session.scalar(
        select(func.max(TransportCapacity.payload_t)).where(
            TransportCapacity.depot_id == depot_id, TransportCapacity.available.is_(True)
        )
    )
    if payload is None:
        agency = db.session.scalar(select(Depot.agency_id).where(Depot.id == depot_id))
        payload = db.session.scalar(
            select(func.max(TransportCapacity.payload_t)).where(
                TransportCapacity.agency_id == agency, TransportCapacity.available.is_(True)
            )
        )
    return payload or 10.0


def _create_shipments(plan: PlanVersion) -> None:
    start = (
        db.session.scalar(
            select(func.count())
            .select_from(Shipment)
            .where(Shipment.incident_id == plan.incident_id)
        )
        or 0
    )
    for n, line in enumerate(plan.lines, start=start + 1):
        db.session.add(
            Shipment(
                batch_no=rules.batch_number(plan.incident.number, n),
                line_id=line.id,
                incident_id=plan.incident_id,
                agency_id=line.agency_id,
                quantity=line.quantity,
                vehicles=rules.vehicles_needed(line.weight_t, _payload_of(line.depot_id)),
                status=ShipmentStatus.READY,
            )
        )


def _shipments_of(plan: PlanVersion) -> dict[int, Shipment]:
    return {
        s.line_id: s
        for s in db.session.execute(
            select(Shipment).where(Shipment.line_id.in_([line.id for line in plan.lines]))
        ).scalars()
    }


def cancel_obstacle(user, plan: PlanVersion, shipments=None) -> DomainError | None:
    """Why `user` may not cancel `plan` now, or None: the rule behind the cancel button and the
    cancellation (once a shipment has left, receipts and returns take over)."""
    if not may_command_incidents(user):
        return NotAllowed(_("Only command staff manage incidents, demands and plans."))
    if plan.status not in (PlanStatus.APPROVED, PlanStatus.DRAFT):
        return Conflict(_("Only a draft or approved plan can be cancelled."))
    if shipments is None:
        shipments = _shipments_of(plan).values()
    if any(s.status != ShipmentStatus.READY for s in shipments):
        return Conflict(
            _(
                "Some shipments have left; record their receipt or return instead of cancelling the plan."
            )
        )
    return None


def _cancel_trips(plan: PlanVersion) -> None:
    """A cancelled plan's trips go with it (none has left: cancel_obstacle saw their shipments)."""
    from ..models import RoutePlan, Trip
    from ..statuses import RoutePlanStatus, TripStatus

    for route_plan in db.session.execute(select(RoutePlan).filter_by(plan_id=plan.id)).scalars():
        route_plan.status = RoutePlanStatus.SUPERSEDED
    for trip in db.session.execute(
        select(Trip).where(
            Trip.route_plan_id.in_(select(RoutePlan.id).filter_by(plan_id=plan.id)),
            Trip.status == TripStatus.READY,
        )
    ).scalars():
        trip.status = TripStatus.CANCELLED


def can_cancel(user, plan: PlanVersion) -> bool:
    return cancel_obstacle(user, plan) is None


def cancel(user, plan_id: int, *, reason: str) -> PlanVersion:
    """Cancel an approved plan: reserved units of lines not yet departed are released."""
    require_command(user)
    if not reason or not reason.strip():
        raise Invalid(_("Say why the plan is cancelled."), errors={"reason": [_("required")]})
    serialise_writes()
    plan = get_plan(user, plan_id)
    shipments = _shipments_of(plan)
    if (obstacle := cancel_obstacle(user, plan, shipments.values())) is not None:
        raise obstacle
    for line in plan.lines:
        for allocation in db.session.execute(
            select(LineAllocation).filter_by(line_id=line.id, released=False)
        ).scalars():
            ledger.release_in_transaction(
                user, allocation.lot_id, allocation.quantity, reference=f"PLAN-{plan.id}"
            )
            allocation.released = True
        if line.id in shipments:
            db.session.delete(shipments[line.id])
    _cancel_trips(plan)
    plan.status, plan.cancelled_by_id, plan.cancelled_at = PlanStatus.CANCELLED, user.id, utcnow()
    plan.cancel_reason = reason.strip()[:300]
    db.session.commit()
    return plan
