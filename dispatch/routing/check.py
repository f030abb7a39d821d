"""Validate a routes answer against its problem without any solver.

Used by every router test, by the benchmark on both the router's and the per-line
baseline's answers, and by anyone who receives routes from elsewhere (an edited plan). It
checks every rule of docs/routing.md and recomputes what the answer states: each stop's
arrival and departure, each route's km and loads, and the metrics. A stated value that
differs from the recomputed one is a violation too.
"""

from __future__ import annotations

from .problem import ProblemError, RoutingProblem, load_problem
from .router import REASONS
from .routes import compute_metrics, timeline

STATUSES = ("optimal", "feasible", "infeasible", "error")
TOL = 1e-5  # stated figures are rounded to 6 decimals
CAP_TOL = 1e-9


def check_routes(problem, routes) -> list[str]:
    """Violations in plain words; empty when `routes` is a valid answer to `problem`.

    Never raises for a bad answer. A problem that does not load is one violation.
    """
    try:
        problem = load_problem(problem)
    except ProblemError as exc:
        return [f"problem: {exc}"]
    if not isinstance(routes, dict):
        return ["answer: expected a JSON object"]
    errors: list[str] = []
    if routes.get("status") not in STATUSES:
        errors.append(f"status: {routes.get('status')!r} is not one of {list(STATUSES)}")
    elif routes["status"] == "error":
        errors.append(f"status: error ({routes.get('reason')}) for a problem that loads")
    items = routes.get("routes")
    if not isinstance(items, list):
        return errors + ["routes: expected a list"]
    carried: dict[str, int] = {}
    valid = [r for i, r in enumerate(items) if _check_route(problem, i, r, carried, errors)]
    _check_used_once(valid, errors)
    missing = _check_unassigned(problem, routes.get("unassigned"), errors)
    for ident, delivery in problem.deliveries.items():
        got = carried.get(ident, 0) + missing.get(ident, 0)
        if got != delivery.quantity:
            errors.append(
                f"delivery {ident}: {carried.get(ident, 0)} units on routes + "
                f"{missing.get(ident, 0)} unassigned = {got}, not its quantity {delivery.quantity}"
            )
    if not errors:
        _check_metrics(problem, routes, errors)
    return errors


def _check_route(problem: RoutingProblem, i: int, route, carried: dict, errors: list) -> bool:
    """Structure, own depot, capacity, max_stops and times of one route."""
    where = f"routes[{i}]"
    if not isinstance(route, dict):
        errors.append(f"{where}: expected an object")
        return False
    vehicle = problem.vehicles.get(route.get("vehicle"))
    if vehicle is None:
        errors.append(f"{where}.vehicle: {route.get('vehicle')!r} is not a vehicle of the problem")
        _count_loose(route, carried)  # so that its units are not reported missing as well
        return False
    where = f"{where} (vehicle {vehicle.id})"
    if route.get("depot") != vehicle.depot:
        errors.append(
            f"{where}.depot: says {route.get('depot')!r}, the vehicle is at {vehicle.depot}"
        )
    if route.get("return") is not False:
        errors.append(f"{where}.return: routes end at the last drop (return must be false)")
    stops = route.get("stops")
    if not isinstance(stops, list) or not stops:
        errors.append(f"{where}.stops: expected a non-empty list")
        return False
    if not all(
        _check_stop(problem, vehicle, f"{where}.stops[{j}]", s, carried, errors)
        for j, s in enumerate(stops)
    ):
        return False
    if vehicle.max_stops is not None and len(stops) > vehicle.max_stops:
        errors.append(f"{where}: {len(stops)} stops, the vehicle makes at most {vehicle.max_stops}")
    figures = timeline(problem, vehicle, stops)
    if figures["load_t"] > vehicle.payload_t * (1 + CAP_TOL) + CAP_TOL:
        errors.append(f"{where}: carries {figures['load_t']:g} t, payload {vehicle.payload_t:g} t")
    if (
        vehicle.volume_m3 is not None
        and figures["load_m3"] > vehicle.volume_m3 * (1 + CAP_TOL) + CAP_TOL
    ):
        errors.append(
            f"{where}: carries {figures['load_m3']:g} m3, volume {vehicle.volume_m3:g} m3"
        )
    for key in ("km", "load_t", "load_m3"):
        if not _close(route.get(key), figures[key]):
            errors.append(f"{where}.{key}: says {route.get(key)!r}, recomputed {figures[key]}")
    for j, (stop, (arrival, departure)) in enumerate(zip(stops, figures["times"])):
        for key, value in (("arrival_h", arrival), ("departure_h", departure)):
            if not _close(stop.get(key), value):
                errors.append(
                    f"{where}.stops[{j}].{key}: says {stop.get(key)!r}, recomputed {value:.6f}"
                )
    return True


def _count_loose(route: dict, carried: dict) -> None:
    for stop in route.get("stops") or []:
        for drop in (stop.get("drops") or []) if isinstance(stop, dict) else []:
            qty = drop.get("quantity") if isinstance(drop, dict) else None
            if isinstance(qty, int) and not isinstance(qty, bool) and qty > 0:
                carried[drop.get("delivery")] = carried.get(drop.get("delivery"), 0) + qty


def _check_stop(problem, vehicle, where: str, stop, carried: dict, errors: list) -> bool:
    if not isinstance(stop, dict) or stop.get("point") not in problem.points:
        errors.append(f"{where}.point: not a point of the problem")
        return False
    drops = stop.get("drops")
    if not isinstance(drops, list) or not drops:
        errors.append(f"{where}.drops: expected a non-empty list")
        return False
    ok = True
    for k, drop in enumerate(drops):
        delivery = problem.deliveries.get(drop.get("delivery")) if isinstance(drop, dict) else None
        qty = drop.get("quantity") if isinstance(drop, dict) else None
        if delivery is None:
            errors.append(f"{where}.drops[{k}].delivery: not a delivery of the problem")
            ok = False
            continue
        if isinstance(qty, bool) or not isinstance(qty, int) or qty <= 0:
            errors.append(
                f"{where}.drops[{k}].quantity: expected a positive whole number, got {qty!r}"
            )
            ok = False
            continue
        if delivery.depot != vehicle.depot:
            errors.append(
                f"{where}: delivery {delivery.id} leaves from depot {delivery.depot}, "
                f"vehicle {vehicle.id} loads only at {vehicle.depot}"
            )
        if delivery.point != stop["point"]:
            errors.append(
                f"{where}: delivery {delivery.id} goes to {delivery.point}, not {stop['point']}"
            )
        carried[delivery.id] = carried.get(delivery.id, 0) + qty
    return ok


def _check_used_once(routes: list, errors: list) -> None:
    seen = set()
    for route in routes:
        if route["vehicle"] in seen:
            errors.append(f"vehicle {route['vehicle']}: on more than one route (one trip each)")
        seen.add(route["vehicle"])


def _check_unassigned(problem, items, errors: list) -> dict[str, int]:
    if not isinstance(items, list):
        errors.append("unassigned: expected a list")
        return {}
    missing: dict[str, int] = {}
    for i, item in enumerate(items):
        where = f"unassigned[{i}]"
        if not isinstance(item, dict) or item.get("delivery") not in problem.deliveries:
            errors.append(f"{where}.delivery: not a delivery of the problem")
            continue
        qty = item.get("quantity")
        if isinstance(qty, bool) or not isinstance(qty, int) or qty <= 0:
            errors.append(f"{where}.quantity: expected a positive whole number, got {qty!r}")
            continue
        if item.get("reason") not in REASONS:
            errors.append(f"{where}.reason: {item.get('reason')!r} is not a known reason code")
        missing[item["delivery"]] = missing.get(item["delivery"], 0) + qty
    return missing


def _check_metrics(problem, routes: dict, errors: list) -> None:
    recomputed = compute_metrics(problem, routes["routes"], routes["unassigned"])
    stated = routes.get("metrics")
    if not isinstance(stated, dict):
        errors.append("metrics: expected an object")
        return
    for key, value in recomputed.items():
        if key in stated and not _close(stated[key], value):
            errors.append(f"metrics.{key}: says {stated[key]!r}, recomputed {value}")


def _close(a, b) -> bool:
    if isinstance(a, bool) or not isinstance(a, (int, float)):
        return False
    return abs(float(a) - float(b)) <= TOL * max(1.0, abs(float(b)))
