"""装车方案 (route plans): from an approved dispatch plan to vehicles, stops and drops.

The problem is built from the plan's lines (each line a delivery: its depot, point, material,
quantity, unit weight and volume, the demand's deadline and priority) and the road vehicles
registered at each source depot (reserve's transport registry). The router (`dispatch.routing`,
pure) answers with routes; `check_routes` checks them, and what it finds is kept with the
version in people's words. Every version is kept; an edit (pin a vehicle's route, leave a
vehicle out, move a drop) makes a new one. Hours count from the version's `time_zero`.

Lines that cannot travel by our vehicles come back as unassigned with the reason: agreement
and capacity reserves and suppliers deliver themselves, a depot without registered vehicles or
without a place on the map cannot load, a line already on the road by itself is gone.
"""

import copy
import time
from typing import NamedTuple

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from core.errors import Conflict, Invalid, NotAllowed, NotFound
from core.policy import sees_whole_plans
from core.extensions import db
from core.timeutil import utcnow
from reserve.services.transport import road_fleets

from .. import rules
from ..models import Demand, PlanLine, PlanVersion, RoutePlan, Shipment, Trip, TripDrop
from ..statuses import RoutePlanStatus, TripStatus
from ..statuses import PlanStatus, ShipmentStatus
from . import routing_words
from .incidents import require_command
from .road_times import travel_for
from .versions import get_plan

MAX_DELIVERIES = 2_000  # plan lines in one 装车方案
MAX_VEHICLES = 500  # vehicles offered to the router, all depots together
MAX_PER_FLEET = 50  # vehicles taken from one capacity row (a row declaring more offers 50)
NO_DEADLINE_H = 72.0  # a line whose demand is no longer in force: due in three days
UNLOADING_H = 0.5
EDIT_ACTIONS = ("pin", "unpin", "exclude", "include", "move")


class Built(NamedTuple):
    problem: dict
    unassigned: list[dict]  # lines left out before routing: [{line_id, quantity, reason}]
    notes: dict  # where travel times came from, vehicles left out


def approved_plan(user, plan_id: int) -> PlanVersion:
    require_command(user)
    plan = get_plan(user, plan_id)
    if plan.status != PlanStatus.APPROVED:
        raise Conflict(_("A loading plan is made from an approved dispatch plan."))
    return plan


def _require_whole_plans(user) -> None:
    """A version names every line of its plan: for who reads whole plans (operators read their
    own agency's trips instead, trips.visible_trips)."""
    if not sees_whole_plans(user):
        raise NotAllowed(_("Only command staff and leaders read whole loading plans."))


def get_route_plan(user, route_plan_id: int) -> RoutePlan:
    """A version, for who may read its whole dispatch plan."""
    _require_whole_plans(user)
    route_plan = db.session.get(RoutePlan, route_plan_id)
    if route_plan is None:
        raise NotFound(_("Loading plan %(id)s not found.", id=route_plan_id))
    get_plan(user, route_plan.plan_id)
    return route_plan


def list_route_plans(user, plan_id: int) -> list[RoutePlan]:
    _require_whole_plans(user)
    get_plan(user, plan_id)
    return (
        db.session.execute(
            select(RoutePlan).where(RoutePlan.plan_id == plan_id).order_by(RoutePlan.version.desc())
        )
        .scalars()
        .all()
    )


# --- the problem --------------------------------------------------------------------------------


def _gone(plan: PlanVersion) -> tuple[dict[int, int], set[int], set[str]]:
    """What is already moving: units of each line in trips that left, lines whose own shipment
    left, and the vehicles on the road."""
    on_road = db.session.execute(
        select(TripDrop.line_id, func.sum(TripDrop.quantity))
        .join(Trip, Trip.id == TripDrop.trip_id)
        .where(
            TripDrop.line_id.in_([line.id for line in plan.lines]),
            Trip.status.in_([TripStatus.DEPARTED, TripStatus.COMPLETED]),
        )
        .group_by(TripDrop.line_id)
    ).all()
    shipped = set(
        db.session.execute(
            select(Shipment.line_id).where(
                Shipment.line_id.in_([line.id for line in plan.lines]),
                Shipment.status != ShipmentStatus.READY,
                ~Shipment.line_id.in_(select(TripDrop.line_id)),
            )
        ).scalars()
    )
    busy = set(
        db.session.execute(
            select(Trip.vehicle_key).where(
                Trip.incident_id == plan.incident_id, Trip.status == TripStatus.DEPARTED
            )
        ).scalars()
    )
    return {line_id: int(units) for line_id, units in on_road}, shipped, busy


def _left_out(line: PlanLine, quantity: int, reason: str) -> dict:
    return {"line_id": line.id, "quantity": quantity, "reason": reason}


def _delivery(line: PlanLine, quantity: int, now) -> dict:
    demand = db.session.get(Demand, line.demand_id) if line.demand_id else None
    due = (
        rules.hours_until(demand.needed_by, now)
        if demand is not None and demand.status == "active"
        else NO_DEADLINE_H
    )
    return {
        "id": f"L{line.id}",
        "depot": f"D{line.depot_id}",
        "point": f"P{line.point_id}",
        "material": f"M{line.material_id}",
        "quantity": quantity,
        "unit_weight_t": (line.material.unit_weight_kg or 0) / 1000.0,
        "unit_volume_m3": line.material.unit_volume_m3 or 0,
        "due_h": round(due, 3),
        "priority": demand.priority if demand is not None else 1,
    }


def _vehicles(user, depot_ids: set[int], busy: set[str], notes: dict) -> list[dict]:
    vehicles = []
    for depot_id, fleets in sorted(road_fleets(user, depot_ids).items()):
        for fleet in fleets:
            for n in range(1, min(fleet.count, MAX_PER_FLEET) + 1):
                key = f"V{fleet.capacity_id}-{n}"
                if key in busy:
                    continue
                if len(vehicles) >= MAX_VEHICLES:
                    notes["vehicles_left_out"] = notes.get("vehicles_left_out", 0) + 1
                    continue
                vehicles.append(
                    {
                        "id": key,
                        "depot": f"D{depot_id}",
                        "payload_t": fleet.payload_t,
                        "volume_m3": fleet.volume_m3,
                    }
                )
    return vehicles


def build_problem(user, plan: PlanVersion, now) -> Built:
    """The router's problem for `plan` at `now` (hour 0), and the lines left out of it."""
    if len(plan.lines) > MAX_DELIVERIES:
        raise Invalid(
            _("A loading plan takes at most %(n)s plan lines.", n=f"{MAX_DELIVERIES:,}"),
            errors={"plan": [_("too many lines")]},
        )
    on_road, shipped, busy = _gone(plan)
    unassigned, deliveries, depots, points = [], [], {}, {}
    notes: dict = {}
    for line in plan.lines:
        quantity = line.quantity - on_road.get(line.id, 0)
        if quantity <= 0:
            continue
        if line.source_kind != "physical" or line.depot is None:
            unassigned.append(_left_out(line, quantity, routing_words.reason("not_physical")))
        elif line.id in shipped:
            unassigned.append(_left_out(line, quantity, routing_words.reason("shipped_alone")))
        elif line.depot.lat is None or line.depot.lon is None:
            unassigned.append(_left_out(line, quantity, routing_words.reason("depot_not_placed")))
        else:
            deliveries.append(_delivery(line, quantity, now))
            depots[line.depot_id] = line.depot
            points[line.point_id] = line.point
    vehicles = _vehicles(user, set(depots), busy, notes)
    with_vehicles = {v["depot"] for v in vehicles}
    for delivery in list(deliveries):
        if delivery["depot"] not in with_vehicles:
            deliveries.remove(delivery)
            line_id = int(delivery["id"][1:])
            unassigned.append(
                {
                    "line_id": line_id,
                    "quantity": delivery["quantity"],
                    "reason": routing_words.reason("no_vehicles"),
                }
            )
    handling = current_app.config["DISPATCH_HANDLING_H"]
    places = {f"D{d.id}": (d.lat, d.lon) for d in depots.values()}
    places |= {f"P{p.id}": (p.lat, p.lon) for p in points.values()}
    travel, notes["travel"] = travel_for(places)
    problem = {
        "depots": [
            {"id": f"D{d.id}", "lat": d.lat, "lon": d.lon, "opens_h": handling}
            for d in depots.values()
        ],
        "vehicles": vehicles,
        "points": [
            {"id": f"P{p.id}", "lat": p.lat, "lon": p.lon, "unloading_h": UNLOADING_H}
            for p in points.values()
        ],
        "deliveries": deliveries,
        "travel": travel,
        "road_factor": current_app.config["DISPATCH_ROAD_FACTOR"],
        "speed_kmh": current_app.config["DISPATCH_SPEED_KMH"],
        "policy": {"objective": ["late", "vehicles", "km"]},
    }
    return Built(problem, sorted(unassigned, key=lambda u: u["line_id"]), notes)


def size_of(problem: dict) -> int:
    return len(problem["deliveries"]) * max(len(problem["vehicles"]), 1)


# --- solving and saving ---------------------------------------------------------------------------


def _solve(problem: dict, pinned: list[dict]) -> dict:
    """Route `problem`, keeping the `pinned` routes as given: their vehicles and the units they
    carry are taken out before the router runs, and their routes put back after."""
    from dispatch.routing import plan_routes

    rest = copy.deepcopy(problem)
    carried: dict[str, int] = {}
    for route in pinned:
        for stop in route["stops"]:
            for drop in stop["drops"]:
                carried[drop["delivery"]] = carried.get(drop["delivery"], 0) + drop["quantity"]
    pinned_ids = {route["vehicle"] for route in pinned}
    rest["vehicles"] = [v for v in rest["vehicles"] if v["id"] not in pinned_ids]
    for delivery in rest["deliveries"]:
        delivery["quantity"] -= carried.get(delivery["id"], 0)
    rest["deliveries"] = [d for d in rest["deliveries"] if d["quantity"] > 0]
    if not rest["deliveries"]:
        answer = {"status": "optimal", "routes": [], "unassigned": [], "metrics": {}, "timings": {}}
    else:
        answer = plan_routes(rest, time_limit_s=current_app.config["DISPATCH_ROUTE_TIME_LIMIT_S"])
    if answer.get("status") == "error" or not pinned:
        return answer
    return _with_metrics(
        problem, {**answer, "routes": copy.deepcopy(pinned) + list(answer["routes"])}
    )


def _with_metrics(problem: dict, answer: dict) -> dict:
    """The answer's metrics recomputed over all its routes (pinned or edited ones included)."""
    from dispatch.routing import load_problem
    from dispatch.routing.routes import compute_metrics

    routes = [r for r in answer["routes"] if r["stops"]]
    unassigned = list(answer.get("unassigned") or [])
    return {
        **answer,
        "status": "feasible" if answer.get("status") == "optimal" else answer.get("status"),
        "routes": routes,
        "metrics": compute_metrics(load_problem(problem), routes, unassigned),
    }


def _save(
    user, plan, built: Built, answer: dict, *, method: str, edit: dict | None, based_on, time_zero
) -> RoutePlan:
    """A new version (uncommitted), checked with check_routes; older proposals are superseded."""
    from dispatch.routing import check_routes

    started = time.perf_counter()
    violations = check_routes(built.problem, answer)
    unassigned = built.unassigned + routing_words.unassigned(answer.get("unassigned") or [])
    previous = db.session.scalar(
        select(func.max(RoutePlan.version)).where(RoutePlan.plan_id == plan.id)
    )
    for draft in db.session.execute(
        select(RoutePlan).where(
            RoutePlan.plan_id == plan.id, RoutePlan.status == RoutePlanStatus.DRAFT
        )
    ).scalars():
        draft.status = RoutePlanStatus.SUPERSEDED
    route_plan = RoutePlan(
        incident_id=plan.incident_id,
        plan_id=plan.id,
        version=(previous or 0) + 1,
        status=RoutePlanStatus.DRAFT,
        method=method,
        based_on_id=based_on.id if based_on else None,
        edit=edit,
        time_zero=time_zero,
        problem=built.problem,
        routes={
            k: answer.get(k)
            for k in ("status", "reason", "routes", "unassigned", "metrics", "timings")
        },
        unassigned=unassigned,
        violations=[routing_words.violation(v) for v in violations][:200],
        metrics={
            **(answer.get("metrics") or {}),
            **built.notes,
            "status": answer.get("status"),
            "check_s": round(time.perf_counter() - started, 4),
        },
        author_id=user.id,
    )
    db.session.add(route_plan)
    db.session.flush()
    return route_plan


def draft_routes(user, plan_id: int, report=None) -> RoutePlan:
    """Build, route and save a new version, uncommitted (a background job reports progress)."""
    plan = approved_plan(user, plan_id)
    now = utcnow()
    built = build_problem(user, plan, now)
    if report:
        report(30, _("Routing the vehicles"))
    answer = _solve(built.problem, [])
    if report:
        report(80, _("Checking and saving the routes"))
    return _save(
        user, plan, built, answer, method="router", edit=None, based_on=None, time_zero=now
    )


def route_or_queue(user, plan_id: int, *, background: bool | None = None):
    """Route now (the new version) or, above DISPATCH_ROUTE_BACKGROUND_PAIRS deliveries ×
    vehicles or when asked, queue a job for the worker (the job)."""
    plan = approved_plan(user, plan_id)
    if background is None:
        built = build_problem(user, plan, utcnow())
        background = size_of(built.problem) > current_app.config["DISPATCH_ROUTE_BACKGROUND_PAIRS"]
        db.session.rollback()  # only read so far
    if background:
        from core import background as jobs

        return jobs.enqueue(user, "route", subject=("plan", plan.id), params={})
    route_plan = draft_routes(user, plan_id)
    db.session.commit()
    return route_plan


# --- edits: every edit is a new version ----------------------------------------------------------


def _route_of(routes: list[dict], vehicle: str) -> dict | None:
    return next((r for r in routes if r["vehicle"] == vehicle), None)


def _check_edit(base: RoutePlan, edit: dict) -> dict:
    action = edit.get("action")
    if action not in EDIT_ACTIONS:
        raise Invalid(_("Unknown edit."), errors={"action": [_("invalid")]})
    vehicles = {v["id"] for v in _all_vehicles(base)}
    for field in ("vehicle", "to_vehicle") if action == "move" else ("vehicle",):
        if edit.get(field) not in vehicles:
            raise Invalid(
                _("No such vehicle in this loading plan."), errors={field: [_("not found")]}
            )
    if action == "move":
        quantity = edit.get("quantity")
        if quantity is not None and (
            not isinstance(quantity, int)
            or isinstance(quantity, bool)
            or not 1 <= quantity <= 10**9
        ):
            raise Invalid(
                _("Move a whole number of units, at least one."),
                errors={"quantity": [_("invalid")]},
            )
        if not isinstance(edit.get("delivery"), str) or not isinstance(edit.get("point"), str):
            raise Invalid(
                _("Name the drop to move: its line and stop."), errors={"delivery": [_("required")]}
            )
    return {
        k: edit.get(k)
        for k in ("action", "vehicle", "to_vehicle", "delivery", "point", "quantity")
        if edit.get(k) is not None
    }


def edit_routes(user, route_plan_id: int, edit: dict) -> RoutePlan:
    """A new version from `base` with one edit: pin (keep a vehicle's route while the rest is
    routed again) or unpin, exclude (leave a vehicle out, e.g. broken down) or include it again,
    or move a drop (some or all units of a line at a stop) to another vehicle. Checked with
    check_routes; what breaks is kept with the version and shown."""
    require_command(user)
    base = get_route_plan(user, route_plan_id)
    plan = approved_plan(user, base.plan_id)
    if base.status == RoutePlanStatus.SUPERSEDED:
        raise Conflict(_("Edit the newest loading plan or the adopted one."))
    change = _check_edit(base, edit)
    pinned = set((base.edit or {}).get("pinned", []))
    excluded = set((base.edit or {}).get("excluded", []))
    action, vehicle = change["action"], change["vehicle"]
    pinned = (
        pinned | {vehicle}
        if action == "pin"
        else pinned - {vehicle}
        if action in ("unpin", "exclude")
        else pinned
    )
    excluded = (
        excluded | {vehicle}
        if action == "exclude"
        else excluded - {vehicle}
        if action == "include"
        else excluded
    )
    problem = copy.deepcopy(base.problem)
    problem["vehicles"] = _all_vehicles(base, excluded)
    built = Built(problem, _pre_unassigned(base), _notes(base))
    routes = base.routes["routes"] or []
    if action == "move":
        answer = _moved(problem, routes, change, base.routes)
        method = "manual"
    else:
        answer = _solve(
            problem, [r for r in routes if r["vehicle"] in pinned and r["vehicle"] not in excluded]
        )
        method = "router"
    record = {**change, "pinned": sorted(pinned), "excluded": sorted(excluded)}
    version = _save(
        user,
        plan,
        built,
        answer,
        method=method,
        edit=record,
        based_on=base,
        time_zero=base.time_zero,
    )
    db.session.commit()
    return version


def _pre_unassigned(base: RoutePlan) -> list[dict]:
    """The lines the version left out before routing (never the router's own unassigned)."""
    return [u for u in (base.unassigned or []) if not u.get("from_router")]


def _notes(base: RoutePlan) -> dict:
    return {k: v for k, v in (base.metrics or {}).items() if k in ("travel", "vehicles_left_out")}


def _all_vehicles(base: RoutePlan, excluded: set[str] | None = None) -> list[dict]:
    """The vehicles of the first version of the chain (excluded ones are dropped from later
    problems), less `excluded`."""
    first = base
    while first.based_on_id is not None:
        first = db.session.get(RoutePlan, first.based_on_id)
    return [v for v in first.problem["vehicles"] if v["id"] not in (excluded or set())]


def _moved(problem: dict, routes: list[dict], change: dict, base_answer: dict) -> dict:
    """The base routes with one drop moved from one vehicle to another: the receiving vehicle
    unloads it at its stop at that point, or at a new last stop; both routes are timed again."""
    routes = copy.deepcopy(routes)
    source, target = _route_of(routes, change["vehicle"]), _route_of(routes, change["to_vehicle"])
    stop = next((s for s in (source or {}).get("stops", []) if s["point"] == change["point"]), None)
    drop = next(
        (d for d in (stop or {}).get("drops", []) if d["delivery"] == change["delivery"]), None
    )
    if drop is None:
        raise Invalid(
            _("That vehicle carries no such drop."), errors={"delivery": [_("not found")]}
        )
    units = change.get("quantity") or drop["quantity"]
    if units > drop["quantity"]:
        raise Invalid(
            _("The drop holds only %(n)s units.", n=drop["quantity"]),
            errors={"quantity": [_("invalid")]},
        )
    drop["quantity"] -= units
    stop["drops"] = [d for d in stop["drops"] if d["quantity"] > 0]
    source["stops"] = [s for s in source["stops"] if s["drops"]]
    if target is None:
        vehicle = next(v for v in problem["vehicles"] if v["id"] == change["to_vehicle"])
        target = {"vehicle": vehicle["id"], "depot": vehicle["depot"], "stops": [], "return": False}
        routes.append(target)
    there = next((s for s in target["stops"] if s["point"] == change["point"]), None)
    if there is None:
        there = {"point": change["point"], "drops": []}
        target["stops"].append(there)
    same = next((d for d in there["drops"] if d["delivery"] == change["delivery"]), None)
    if same is None:
        there["drops"].append({"delivery": change["delivery"], "quantity": units})
    else:
        same["quantity"] += units
    return _with_metrics(
        problem, {**base_answer, "status": "feasible", "routes": _retimed(problem, routes)}
    )


def _retimed(problem: dict, routes: list[dict]) -> list[dict]:
    """Routes timed again by the router's one definition of "arriving when" after a hand edit."""
    from dispatch.routing import load_problem
    from dispatch.routing.routes import build_route

    loaded = load_problem(problem)
    timed = []
    for route in routes:
        drops = [(d["delivery"], d["quantity"]) for s in route["stops"] for d in s["drops"]]
        if drops:
            timed.append(build_route(loaded, loaded.vehicles[route["vehicle"]], drops))
    return timed


# --- the background job ---------------------------------------------------------------------------


def check_route_job(user, job) -> None:
    """Who may see a routing job: who may make the 装车方案 of its plan."""
    approved_plan(user, job.subject_id)


def run_route_job(context) -> None:
    def report(percent, step):
        db.session.commit()
        context.progress(percent, step)

    user = context.user()
    report(10, _("Building the problem from the approved plan"))
    route_plan = draft_routes(user, context.subject_id, report=report)
    context.checkpoint("routes-saved")
    context.finish({"route_plan_id": route_plan.id, "plan_id": route_plan.plan_id})
    db.session.commit()
