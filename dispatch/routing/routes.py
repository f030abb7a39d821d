"""A route from an ordered list of drops: stops, times, km, loads; and the answer's metrics.

The solver, the per-line baseline and `check_routes` all time a route here, so "arriving
when" has one definition:

- the vehicle starts loading at max(depot opens_h, vehicle available_from_h) and loads for
  loading_h_per_t x tonnes on board; then it drives;
- consecutive drops at the same point form one stop; a stop's departure is its arrival plus
  the point's unloading_h, counted once per stop;
- the route ends at the last stop (no return trip);
- a drop is late when its stop's arrival_h is after the delivery's due_h.
"""

from __future__ import annotations

from .problem import Delivery, RoutingProblem, Vehicle

DECIMALS = 6  # JSON floats are rounded so that equal answers print byte-identical
LATE_TOL_H = 1e-9


def r6(x: float) -> float:
    return round(float(x), DECIMALS)


def build_route(problem: RoutingProblem, vehicle: Vehicle, drops: list[tuple[str, int]]) -> dict:
    """The route dict (docs/routing.md) of `vehicle` dropping (delivery id, units) in order."""
    stops: list[dict] = []
    for delivery_id, qty in drops:
        point = problem.deliveries[delivery_id].point
        if not stops or stops[-1]["point"] != point:
            stops.append({"point": point, "drops": []})
        same = [d for d in stops[-1]["drops"] if d["delivery"] == delivery_id]
        if same:
            same[0]["quantity"] += qty
        else:
            stops[-1]["drops"].append({"delivery": delivery_id, "quantity": qty})
    route = {"vehicle": vehicle.id, "depot": vehicle.depot, "stops": stops, "return": False}
    route.update(timeline(problem, vehicle, stops))
    for stop, (arrival, departure) in zip(stops, route.pop("times")):
        stop["arrival_h"], stop["departure_h"] = r6(arrival), r6(departure)
    return route


def timeline(problem: RoutingProblem, vehicle: Vehicle, stops: list[dict]) -> dict:
    """Loads, km, tonne-km and (arrival, departure) per stop of a route's `stops` (each a
    dict with `point` and `drops`); ids must be known."""
    depot = problem.depots[vehicle.depot]
    weights = [_stop_weight(problem, s) for s in stops]
    load_t = sum(weights)
    load_m3 = sum(
        problem.deliveries[d["delivery"]].unit_volume_m3 * d["quantity"]
        for s in stops
        for d in s["drops"]
    )
    t = max(depot.opens_h, vehicle.available_from_h) + depot.loading_h_per_t * load_t
    here, km, tonne_km, on_board, times = depot.id, 0.0, 0.0, load_t, []
    for stop, weight in zip(stops, weights):
        leg = problem.km(here, stop["point"])
        km += leg
        tonne_km += on_board * leg
        t += problem.hours(here, stop["point"], vehicle)
        departure = t + problem.points[stop["point"]].unloading_h
        times.append((t, departure))
        t, here, on_board = departure, stop["point"], on_board - weight
    return {
        "km": r6(km),
        "tonne_km": r6(tonne_km),
        "load_t": r6(load_t),
        "load_m3": r6(load_m3),
        "times": times,
    }


def _stop_weight(problem: RoutingProblem, stop: dict) -> float:
    return sum(
        problem.deliveries[d["delivery"]].unit_weight_t * d["quantity"] for d in stop["drops"]
    )


def is_late(delivery: Delivery, arrival_h: float) -> bool:
    return arrival_h > delivery.due_h + LATE_TOL_H


def compute_metrics(problem: RoutingProblem, routes: list[dict], unassigned: list[dict]) -> dict:
    """The answer's metrics from its routes (already timed) and unassigned list."""
    late = on_time = 0
    weighted = 0
    for route in routes:
        for stop in route["stops"]:
            for drop in stop["drops"]:
                delivery = problem.deliveries[drop["delivery"]]
                if is_late(delivery, stop["arrival_h"]):
                    late += drop["quantity"]
                    weighted += delivery.priority * drop["quantity"]
                else:
                    on_time += drop["quantity"]
    missing = sum(u["quantity"] for u in unassigned)
    weighted += sum(problem.deliveries[u["delivery"]].priority * u["quantity"] for u in unassigned)
    return {
        "vehicles_used": sum(1 for r in routes if r["stops"]),
        "km": r6(sum(r["km"] for r in routes)),
        "tonne_km": r6(sum(r["tonne_km"] for r in routes)),
        "units_total": sum(d.quantity for d in problem.deliveries.values()),
        "units_on_time": on_time,
        "units_late": late,
        "units_unassigned": missing,
        "weighted_late_or_unassigned": weighted,
    }


def assemble(problem, routes, unassigned, status, timings, extra=None) -> dict:
    """The routes JSON: routes by vehicle order in the problem, unassigned by delivery order."""
    order = {v: i for i, v in enumerate(problem.vehicles)}
    routes = sorted(
        (r for r in routes if r["stops"]),
        key=lambda r: (order.get(r["vehicle"], len(order)), r["vehicle"]),
    )
    d_order = {d: i for i, d in enumerate(problem.deliveries)}
    unassigned = sorted(unassigned, key=lambda u: (d_order[u["delivery"]], u["reason"]))
    answer = {
        "status": status,
        "routes": routes,
        "unassigned": unassigned,
        "metrics": compute_metrics(problem, routes, unassigned),
        "timings": timings,
    }
    if extra:
        answer.update(extra)
    return answer


def error_answer(reason: str) -> dict:
    """The answer to bad input: status `error` and a reason naming the field."""
    return {"status": "error", "reason": reason, "routes": [], "unassigned": [], "metrics": {}}
