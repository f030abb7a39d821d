"""Trips (车次): a 装车方案 version adopted becomes one trip per vehicle used, with its stops
and drops; a trip is a shipment of a vehicle.

- Adopting a version (command staff) makes its trips and cancels the trips of the version
  adopted before that have not left; it is refused while the version breaks a rule
  (`check_routes`) or names a line that has left meanwhile. Each drop takes its lots from what
  the approval reserved for its line (the lots the waybill names).
- Crew (plate, driver, phone) is entered when known by command staff or the sending agency.
- Departure issues the lots of all the trip's drops in one transaction through the ledger
  (drills move nothing) and gives each stop its ETA from the real departure.
- Receipt is per stop: each drop's quantity received, and the reason for any difference.

A line in a trip that is not cancelled travels only by trips: its own shipment (发运) mirrors
them (departed with the first trip, received with the last drop) and cannot be moved by hand
(`line_in_trips`, shipments.move_obstacle). A line whose own shipment left is never put in a
trip (loads.build_problem).
"""

from collections import defaultdict

from flask_babel import gettext as _
from sqlalchemy import func, select

from core.audit import serialise_writes
from core.errors import Conflict, DomainError, Invalid, NotAllowed, NotFound
from core.extensions import db
from core.policy import is_in_subtree, may_command_incidents, may_write_for_agency, sees_whole_plans
from core.timeutil import utcnow
from reserve.rules import quantity_problem
from reserve.services.access import agency_path
from reserve.stock import ledger

from .. import rules
from ..models import LineAllocation, RoutePlan, Shipment, Trip, TripDrop, TripStop, TRIP_LABELS
from ..statuses import RoutePlanStatus, StopStatus, TripStatus
from ..statuses import PlanStatus, ShipmentStatus
from .incidents import get_incident, require_command
from .loads import approved_plan, get_route_plan

MAX_REASON = 300


# --- reading -------------------------------------------------------------------------------------


def visible_trips(user, incident_id: int) -> list[Trip]:
    """The incident's trips (cancelled ones aside) that `user` may see: command staff, leaders
    and administrators all; an agency's operators those leaving their subtree's depots."""
    get_incident(user, incident_id)
    rows = (
        db.session.execute(
            select(Trip)
            .where(Trip.incident_id == incident_id, Trip.status != TripStatus.CANCELLED)
            .order_by(Trip.id)
        )
        .scalars()
        .all()
    )
    return [row for row in rows if _may_read(user, row)]


def _may_read(user, trip: Trip) -> bool:
    if sees_whole_plans(user):
        return True
    mine = getattr(getattr(user, "agency", None), "path", None)
    return trip.agency_id is not None and is_in_subtree(agency_path(trip.agency_id), mine)


def get_trip(user, trip_id: int) -> Trip:
    trip = db.session.get(Trip, trip_id)
    if trip is None:
        raise NotFound(_("Trip %(id)s not found.", id=trip_id))
    get_incident(user, trip.incident_id)
    if not _may_read(user, trip):
        raise NotFound(_("Trip %(id)s not found.", id=trip_id))
    return trip


def line_in_trips(line_id: int) -> str | None:
    """The number of a trip (not cancelled) that carries the line, or None."""
    return db.session.scalar(
        select(Trip.number)
        .join(TripDrop, TripDrop.trip_id == Trip.id)
        .where(TripDrop.line_id == line_id, Trip.status != TripStatus.CANCELLED)
        .limit(1)
    )


# --- adopting a version ---------------------------------------------------------------------------


def adopt_obstacle(user, route_plan: RoutePlan) -> DomainError | None:
    """Why `user` may not adopt `route_plan` now, or None (the button and the service)."""
    if not may_command_incidents(user):
        return NotAllowed(_("Only command staff manage incidents, demands and plans."))
    if route_plan.plan.status != PlanStatus.APPROVED:
        return Conflict(_("A loading plan is made from an approved dispatch plan."))
    if route_plan.status != RoutePlanStatus.DRAFT:
        return Conflict(_("Only the newest proposal can be adopted."))
    if route_plan.violations:
        return Conflict(_("This version breaks a rule (listed with it): edit it or route again."))
    if not any(r["stops"] for r in (route_plan.routes or {}).get("routes") or []):
        return Conflict(_("This version puts nothing on a vehicle."))
    return None


def can_adopt(user, route_plan: RoutePlan) -> bool:
    return adopt_obstacle(user, route_plan) is None


def adopt(user, route_plan_id: int) -> RoutePlan:
    """Make the version's trips (one transaction); the trips of the previously adopted version
    that have not left are cancelled, that version is superseded."""
    require_command(user)
    serialise_writes()
    route_plan = get_route_plan(user, route_plan_id)
    plan = approved_plan(user, route_plan.plan_id)
    if (obstacle := adopt_obstacle(user, route_plan)) is not None:
        raise obstacle
    _retire_adopted(plan.id)
    lots = _lots_left(plan)
    start = db.session.scalar(
        select(func.count()).select_from(Trip).where(Trip.incident_id == plan.incident_id)
    )
    types = _vehicle_types(route_plan)
    vehicles = {v["id"]: v for v in route_plan.problem["vehicles"]}
    for n, route in enumerate(
        (r for r in route_plan.routes["routes"] if r["stops"]), start=start + 1
    ):
        _make_trip(plan, route_plan, route, vehicles[route["vehicle"]], types, lots, n)
    route_plan.status = RoutePlanStatus.ADOPTED
    db.session.commit()
    return route_plan


def _retire_adopted(plan_id: int) -> None:
    for older in db.session.execute(
        select(RoutePlan).where(
            RoutePlan.plan_id == plan_id, RoutePlan.status == RoutePlanStatus.ADOPTED
        )
    ).scalars():
        older.status = RoutePlanStatus.SUPERSEDED
        for trip in db.session.execute(
            select(Trip).where(Trip.route_plan_id == older.id, Trip.status == TripStatus.READY)
        ).scalars():
            trip.status = TripStatus.CANCELLED
    db.session.flush()


def _lots_left(plan) -> dict[int, list[tuple[int, int]]]:
    """Per line: the lots its approval reserved, less what trips that left have taken."""
    line_ids = [line.id for line in plan.lines]
    allocated = defaultdict(list)
    for allocation in db.session.execute(
        select(LineAllocation)
        .where(LineAllocation.line_id.in_(line_ids))
        .order_by(LineAllocation.id)
    ).scalars():
        allocated[allocation.line_id].append((allocation.lot_id, allocation.quantity))
    used = defaultdict(list)
    for drop in db.session.execute(
        select(TripDrop)
        .join(Trip, Trip.id == TripDrop.trip_id)
        .where(
            TripDrop.line_id.in_(line_ids),
            Trip.status.in_([TripStatus.DEPARTED, TripStatus.COMPLETED]),
        )
    ).scalars():
        used[drop.line_id].extend((lot_id, units) for lot_id, units in drop.lots)
    return {line_id: rules.lots_left(allocated[line_id], used[line_id]) for line_id in line_ids}


def _vehicle_types(route_plan: RoutePlan) -> dict[str, str]:
    from reserve.services.transport import vehicle_types

    ids = {int(v["id"][1:].split("-")[0]) for v in route_plan.problem["vehicles"]}
    by_row = vehicle_types(ids)
    return {
        v["id"]: by_row.get(int(v["id"][1:].split("-")[0]), "")
        for v in route_plan.problem["vehicles"]
    }


def _make_trip(plan, route_plan, route, vehicle, types, lots, n) -> Trip:
    from datetime import timedelta

    depot_id = int(route["depot"][1:])
    lines = {line.id: line for line in plan.lines}
    first = lines[int(route["stops"][0]["drops"][0]["delivery"][1:])]
    trip = Trip(
        number=rules.trip_number(plan.incident.number, n),
        route_plan_id=route_plan.id,
        incident_id=plan.incident_id,
        depot_id=depot_id,
        agency_id=first.agency_id,
        vehicle_key=vehicle["id"],
        vehicle_type=types.get(vehicle["id"]) or _("Truck"),
        payload_t=vehicle["payload_t"],
        volume_m3=vehicle.get("volume_m3"),
        status=TripStatus.READY,
        km=float(route.get("km") or 0),
        load_t=float(route.get("load_t") or 0),
    )
    db.session.add(trip)
    db.session.flush()
    for sequence, stop in enumerate(route["stops"], start=1):
        row = TripStop(
            trip_id=trip.id,
            sequence=sequence,
            point_id=int(stop["point"][1:]),
            arrival_h=float(stop["arrival_h"]),
            departure_h=float(stop["departure_h"]),
            eta=route_plan.time_zero + timedelta(hours=float(stop["arrival_h"])),
            status=StopStatus.PENDING,
        )
        db.session.add(row)
        db.session.flush()
        for drop in stop["drops"]:
            line_id = int(drop["delivery"][1:])
            share = rules.split_lots(lots.get(line_id, []), [int(drop["quantity"])])
            if share is None or line_in_shipment_gone(line_id):
                db.session.rollback()
                raise Conflict(
                    _(
                        "Line %(line)s has left or lost its reserved stock since this version was made: route again.",
                        line=line_id,
                    )
                )
            lots[line_id] = rules.lots_left(lots[line_id], share[0])
            db.session.add(
                TripDrop(
                    stop_id=row.id,
                    trip_id=trip.id,
                    line_id=line_id,
                    quantity=int(drop["quantity"]),
                    lots=[list(t) for t in share[0]],
                )
            )
    return trip


def line_in_shipment_gone(line_id: int) -> bool:
    """Whether the line's own shipment has left without trips (then no trip may carry it)."""
    status = db.session.scalar(select(Shipment.status).where(Shipment.line_id == line_id))
    return status not in (None, ShipmentStatus.READY) and line_in_trips(line_id) is None


# --- crew, departure, receipt ----------------------------------------------------------------------


def move_obstacle(user, trip: Trip) -> DomainError | None:
    """Why `user` may not change or move `trip` now, or None: command staff any trip, the sending
    agency's operators their own (as with shipments)."""
    if not may_command_incidents(user) and not (
        trip.agency_id is not None and may_write_for_agency(user, agency_path(trip.agency_id))
    ):
        return NotAllowed(
            _("You may only change data of your own agency and the agencies below it.")
        )
    if trip.status == TripStatus.CANCELLED:
        return Conflict(_("The trip was cancelled."))
    if db.session.get(RoutePlan, trip.route_plan_id).plan.status != PlanStatus.APPROVED:
        return Conflict(_("Only trips of an approved plan move."))
    return None


def movable(user, trips: list[Trip]) -> set[int]:
    return {
        t.id for t in trips if t.status != TripStatus.COMPLETED and move_obstacle(user, t) is None
    }


def _trip_for_update(user, trip_id: int) -> Trip:
    trip = get_trip(user, trip_id)
    if (obstacle := move_obstacle(user, trip)) is not None:
        raise obstacle
    return trip


def set_crew(user, trip_id: int, *, plate=None, driver=None, phone=None) -> Trip:
    """Plate, driver and phone as known (blank clears one); checked before anything is kept."""
    trip = _trip_for_update(user, trip_id)
    errors = {}
    values = {}
    if plate is not None:
        values["plate"] = rules.normal_plate(plate) if plate.strip() else ""
        if values["plate"] is None:
            errors["plate"] = [_("a licence plate such as 晋A12345")]
    if driver is not None:
        values["driver"] = driver.strip()
        if len(values["driver"]) > rules.MAX_DRIVER:
            errors["driver"] = [_("at most %(n)s characters", n=rules.MAX_DRIVER)]
    if phone is not None:
        values["phone"] = rules.normal_phone(phone) if phone.strip() else ""
        if values["phone"] is None:
            errors["phone"] = [_("a mobile or landline number")]
    if errors:
        raise Invalid(_("The crew's details are not valid."), errors=errors)
    for key, value in values.items():
        setattr(trip, key, value or None)
    trip.updated_by_id = user.id
    db.session.commit()
    return trip


def depart(user, trip_id: int) -> Trip:
    """The trip leaves: every drop's lots are issued in one transaction (all or none)."""
    serialise_writes()
    trip = _trip_for_update(user, trip_id)
    if not rules.can_move_trip(trip.status, TripStatus.DEPARTED):
        raise Conflict(_("A trip leaves once (it is %(s)s).", s=str(TRIP_LABELS[trip.status])))
    now = utcnow()
    incident = get_incident(user, trip.incident_id)
    drops = db.session.execute(select(TripDrop).where(TripDrop.trip_id == trip.id)).scalars().all()
    if not incident.drill:
        for drop in drops:
            for lot_id, units in drop.lots:
                ledger.dispatch_in_transaction(user, lot_id, units, reference=trip.number)
    ready_h = _ready_h(trip)
    for stop in trip.stops:
        stop.eta = rules.stop_eta(now, stop.arrival_h, ready_h)
    trip.status, trip.departed_at, trip.updated_by_id = TripStatus.DEPARTED, now, user.id
    db.session.flush()
    _mirror_departure(trip, drops, now)
    db.session.commit()
    return trip


def _ready_h(trip: Trip) -> float:
    """The hour the route was planned to leave its depot (the depot's opening hour)."""
    route_plan = db.session.get(RoutePlan, trip.route_plan_id)
    depot = next((d for d in route_plan.problem["depots"] if d["id"] == f"D{trip.depot_id}"), {})
    return float(depot.get("opens_h") or 0)


def _mirror_departure(trip: Trip, drops, now) -> None:
    """Each line's own shipment follows its trips: departed with the first, its allocations
    released (issued) once every unit of the line has left."""
    for line_id in {d.line_id for d in drops}:
        shipment = db.session.execute(
            select(Shipment).where(Shipment.line_id == line_id)
        ).scalar_one_or_none()
        carried = _carried(line_id)
        if shipment is not None:
            if shipment.status == ShipmentStatus.READY:
                shipment.status, shipment.departed_at = ShipmentStatus.DEPARTED, now
            shipment.vehicles = carried["trips"]
            shipment.eta = carried["eta"]
        if carried["left"] >= sum(
            a.quantity
            for a in db.session.execute(select(LineAllocation).filter_by(line_id=line_id)).scalars()
        ):
            for allocation in db.session.execute(
                select(LineAllocation).filter_by(line_id=line_id, released=False)
            ).scalars():
                allocation.released = True


def _carried(line_id: int) -> dict:
    """Units of the line in trips that left, how many trips carry it, its latest ETA."""
    rows = db.session.execute(
        select(TripDrop.quantity, Trip.id, TripStop.eta)
        .join(Trip, Trip.id == TripDrop.trip_id)
        .join(TripStop, TripStop.id == TripDrop.stop_id)
        .where(
            TripDrop.line_id == line_id,
            Trip.status.in_([TripStatus.DEPARTED, TripStatus.COMPLETED]),
        )
    ).all()
    return {
        "left": sum(r[0] for r in rows),
        "trips": len({r[1] for r in rows}) or 1,
        "eta": max((r[2] for r in rows), default=None),
    }


def receive_stop(user, stop_id: int, received: dict[int, dict]) -> TripStop:
    """Record a stop's receipt: `received` maps each drop id to {quantity_received, reason}; a
    drop left out is taken as received in full. A difference needs its reason."""
    stop = db.session.get(TripStop, stop_id)
    if stop is None:
        raise NotFound(_("Stop %(id)s not found.", id=stop_id))
    trip = _trip_for_update(user, stop.trip_id)
    if trip.status != TripStatus.DEPARTED or stop.status != StopStatus.PENDING:
        raise Conflict(_("A stop is received once, after its trip has left."))
    unknown = set(received) - {d.id for d in stop.drops}
    if unknown:
        raise Invalid(_("Receipts name drops of this stop."), errors={"drops": sorted(unknown)})
    now = utcnow()
    for drop in stop.drops:
        _receive_drop(drop, received.get(drop.id) or {})
    stop.status, stop.received_at, stop.received_by_id = StopStatus.RECEIVED, now, user.id
    if all(s.status == StopStatus.RECEIVED for s in trip.stops):
        trip.status, trip.completed_at = TripStatus.COMPLETED, now
    trip.updated_by_id = user.id
    db.session.flush()
    for line_id in {d.line_id for d in stop.drops}:
        _mirror_receipt(line_id, now)
    db.session.commit()
    return stop


def _receive_drop(drop: TripDrop, answer: dict) -> None:
    quantity = answer.get("quantity_received", drop.quantity)
    reason = (answer.get("reason") or "").strip()
    if quantity is None or quantity_problem(quantity):
        raise Invalid(
            _("Record the quantity received."), errors={"quantity_received": [_("required")]}
        )
    if quantity != drop.quantity and not reason:
        raise Invalid(
            _("The quantity received differs from the quantity shipped: give the reason."),
            errors={"discrepancy_reason": [_("required")]},
        )
    if len(reason) > MAX_REASON:
        raise Invalid(
            _("The reason is too long."),
            errors={"discrepancy_reason": [_("at most 300 characters")]},
        )
    drop.quantity_received, drop.discrepancy_reason = quantity, reason or None


def _mirror_receipt(line_id: int, now) -> None:
    """The line's own shipment is received once every unit of the line went by trips and every
    one of its drops was received: the sum received, the reasons given."""
    shipment = db.session.execute(
        select(Shipment).where(Shipment.line_id == line_id)
    ).scalar_one_or_none()
    if shipment is None:
        return
    drops = (
        db.session.execute(
            select(TripDrop)
            .join(Trip, Trip.id == TripDrop.trip_id)
            .where(TripDrop.line_id == line_id, Trip.status != TripStatus.CANCELLED)
        )
        .scalars()
        .all()
    )
    if sum(d.quantity for d in drops) < shipment.quantity or any(
        d.quantity_received is None for d in drops
    ):
        return
    shipment.quantity_received = sum(d.quantity_received for d in drops)
    reasons = "；".join(d.discrepancy_reason for d in drops if d.discrepancy_reason)
    shipment.discrepancy_reason = reasons[:300] or None
    shipment.status, shipment.arrived_at, shipment.received_at = ShipmentStatus.RECEIVED, now, now
