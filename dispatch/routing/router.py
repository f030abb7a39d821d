"""Entry point: `plan_routes(problem)` returns the routes JSON (docs/routing.md).

Vehicles load only their own depot's deliveries, so every depot is routed on its own
(model.py), then a repair pass (`_repair`) puts back, whole units at a time, whatever the
search left out although a vehicle still has room; what is still left gets a reason code.
"""

from __future__ import annotations

import math
import time

from .model import Piece, solve_depot, split, units_fitting
from .problem import ProblemError, RoutingProblem, Vehicle, load_problem
from .routes import assemble, build_route, error_answer, is_late

# Reason codes of `unassigned` entries (docs/routing.md).
NO_VEHICLE = "no_vehicle_at_depot"
TOO_HEAVY = "unit_heavier_than_any_vehicle"
NO_CAPACITY = "no_capacity_left"
MAX_STOPS = "max_stops"
DELAYS_OTHERS = "would_make_others_late"
REASONS = (NO_VEHICLE, TOO_HEAVY, NO_CAPACITY, MAX_STOPS, DELAYS_OTHERS)
FORCED = (NO_VEHICLE, TOO_HEAVY)  # no plan at all could deliver these units


def plan_routes(problem, time_limit_s: float | None = None) -> dict:
    """Loads and routes for `problem` (a dict, or a loaded RoutingProblem); never raises for
    bad input: the answer is then status `error` with a reason naming the field.

    `time_limit_s`: the whole search's wall-clock budget, shared among depots in proportion
    to their size; None (default) lets every depot's search run to its local optimum, which
    makes the answer deterministic.
    """
    t0 = time.perf_counter()
    try:
        problem = load_problem(problem)
        _check_limit(time_limit_s)
    except ProblemError as exc:
        return error_answer(str(exc))
    t_load = time.perf_counter()
    work = {d: _pieces(problem, d) for d in problem.depots}
    left = sum(len(w[1]) for w in work.values())
    deadline = None if time_limit_s is None else t0 + time_limit_s
    routes, unassigned, proven, complete = [], [], True, True
    for depot_id, (vehicles, pieces, missing) in work.items():
        budget = None
        if deadline is not None and pieces:
            budget = max(0.01, (deadline - time.perf_counter()) * len(pieces) / left)
            left -= len(pieces)
        got, lost, done = _route_depot(problem, vehicles, pieces, budget)
        routes += got
        unassigned += missing + lost
        complete = complete and done
        proven = proven and _is_trivially_optimal(problem, got, lost)
    status = "optimal" if proven and complete else "feasible"
    t_end = time.perf_counter()
    timings = {
        "load_s": round(t_load - t0, 4),
        "solve_s": round(t_end - t_load, 4),
        "total_s": round(t_end - t0, 4),
        "depots": len(problem.depots),
        "largest_depot_pieces": max((len(w[1]) for w in work.values()), default=0),
        "search_complete": complete,
    }
    return assemble(problem, routes, _merge(unassigned), status, timings)


def _check_limit(time_limit_s) -> None:
    if time_limit_s is None:
        return
    ok = isinstance(time_limit_s, (int, float)) and not isinstance(time_limit_s, bool)
    if not ok or not math.isfinite(time_limit_s) or time_limit_s <= 0:
        raise ProblemError(
            f"time_limit_s: expected a positive number of seconds, got {time_limit_s!r}"
        )


def _pieces(problem: RoutingProblem, depot_id: str):
    """The depot's vehicles, its deliveries as pieces, and the units refused up front."""
    vehicles = [v for v in problem.vehicles.values() if v.depot == depot_id]
    pieces, missing = [], []
    for delivery in problem.deliveries.values():
        if delivery.depot != depot_id or delivery.quantity == 0:
            continue
        if not vehicles:
            missing.append(_entry(delivery.id, delivery.quantity, NO_VEHICLE))
        elif all(units_fitting(v, delivery) == 0 for v in vehicles):
            missing.append(_entry(delivery.id, delivery.quantity, TOO_HEAVY))
        else:
            cut, left = split(delivery, vehicles)
            pieces += cut
            if left:
                missing.append(_entry(delivery.id, left, NO_CAPACITY))
    return vehicles, pieces, missing


def _route_depot(problem, vehicles, pieces, budget):
    """Routes (dicts) and unassigned entries of one depot; and whether the search finished."""
    if not pieces:
        return [], [], True
    solution = solve_depot(problem, vehicles, pieces, budget)
    drops = {v.id: list(solution.routes.get(v.id, [])) for v in vehicles}
    lost = _repair(problem, vehicles, drops, solution.dropped)
    routes = [build_route(problem, v, drops[v.id]) for v in vehicles if drops[v.id]]
    return routes, lost, solution.complete


def _repair(problem, vehicles: list[Vehicle], drops: dict, dropped: list[Piece]) -> list[dict]:
    """Insert left-out units where a vehicle has room and the lexicographic objective does
    not get worse (late-or-undelivered first); returns what stays unassigned."""
    order = sorted(dropped, key=lambda p: (-p.delivery.priority, p.delivery.due_h))
    lost = []
    for piece in order:
        left = piece.quantity
        while left:
            best = _best_insertion(problem, vehicles, drops, piece.delivery, left)
            if best is None:
                break
            vehicle_id, new_drops, units = best
            drops[vehicle_id] = new_drops
            left -= units
        if left:
            reason = _why_left(problem, vehicles, drops, piece.delivery)
            lost.append(_entry(piece.delivery.id, left, reason))
    return lost


def _best_insertion(problem, vehicles, drops, delivery, units):
    """The cheapest (late-or-undelivered, undelivered, new vehicle, km) insertion of up to
    `units` of the delivery: merged into a stop at its point, or appended as a last stop."""
    best, best_key = None, None
    for vehicle in vehicles:
        room = _room(problem, vehicle, drops[vehicle.id], delivery)
        if room is not None and room <= 0:
            continue
        k = units if room is None else min(units, room)
        before = build_route(problem, vehicle, drops[vehicle.id]) if drops[vehicle.id] else None
        for candidate in _placements(problem, vehicle, drops[vehicle.id], delivery, k):
            after = build_route(problem, vehicle, candidate)
            key = _insertion_key(problem, before, after, delivery, k)
            if key is not None and (best_key is None or key < best_key):
                best, best_key = (vehicle.id, candidate, k), key
    return best


def _placements(problem, vehicle, current, delivery, k):
    """Drop lists with k units added: beside an existing drop at the delivery's point (no new
    stop), or at the end (a new stop, if max_stops allows)."""
    out = []
    for i, (other, _) in enumerate(current):
        if problem.deliveries[other].point == delivery.point:
            out.append(current[: i + 1] + [(delivery.id, k)] + current[i + 1 :])
            break
    stops = len(build_route(problem, vehicle, current)["stops"]) if current else 0
    ends_there = current and problem.deliveries[current[-1][0]].point == delivery.point
    if ends_there or vehicle.max_stops is None or stops < vehicle.max_stops:
        out.append(current + [(delivery.id, k)])
    return out


def _insertion_key(problem, before, after, delivery, k):
    """None when the insertion makes late-or-undelivered worse; else the sort key."""

    def late_weight(route):
        if route is None:
            return 0
        return sum(
            problem.deliveries[d["delivery"]].priority * d["quantity"]
            for s in route["stops"]
            for d in s["drops"]
            if is_late(problem.deliveries[d["delivery"]], s["arrival_h"])
        )

    change = late_weight(after) - late_weight(before) - delivery.priority * k
    if change > 0:
        return None
    return (change, -k, before is None, after["km"] - (before["km"] if before else 0.0))


def _room(problem, vehicle: Vehicle, current, delivery) -> int | None:
    """Whole units of the delivery that still fit the vehicle (None: no limit)."""
    weight = sum(problem.deliveries[d].unit_weight_t * q for d, q in current)
    volume = sum(problem.deliveries[d].unit_volume_m3 * q for d, q in current)
    caps = []
    if delivery.unit_weight_t > 0:
        caps.append(math.floor((vehicle.payload_t - weight) / delivery.unit_weight_t + 1e-9))
    if delivery.unit_volume_m3 > 0 and vehicle.volume_m3 is not None:
        caps.append(math.floor((vehicle.volume_m3 - volume) / delivery.unit_volume_m3 + 1e-9))
    return min(caps) if caps else None


def _why_left(problem, vehicles, drops, delivery) -> str:
    """The reason code for units no insertion took."""
    rooms = [(v, _room(problem, v, drops[v.id], delivery)) for v in vehicles]
    roomy = [v for v, room in rooms if room is None or room > 0]
    if not roomy:
        return NO_CAPACITY
    if all(not _placements(problem, v, drops[v.id], delivery, 1) for v in roomy):
        return MAX_STOPS
    return DELAYS_OTHERS


def _is_trivially_optimal(problem, routes, lost) -> bool:
    """Provably optimal for the default objective order: nothing late or left out that a
    plan could have delivered, at most one vehicle, one point (the direct leg is the km)."""
    if problem.objective[0] != "late" or lost:
        return False
    if len(routes) > 1:
        return False
    for route in routes:
        if len(route["stops"]) > 1:
            return False
        stop = route["stops"][0]
        if any(
            is_late(problem.deliveries[d["delivery"]], stop["arrival_h"]) for d in stop["drops"]
        ):
            return False
    return True


def _entry(delivery_id: str, quantity: int, reason: str) -> dict:
    return {"delivery": delivery_id, "quantity": quantity, "reason": reason}


def _merge(entries: list[dict]) -> list[dict]:
    """One entry per (delivery, reason)."""
    out: dict[tuple[str, str], dict] = {}
    for e in entries:
        key = (e["delivery"], e["reason"])
        if key in out:
            out[key]["quantity"] += e["quantity"]
        else:
            out[key] = dict(e)
    return list(out.values())
