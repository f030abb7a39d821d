"""Today's rule, as a reference: one shipment per delivery, never combining loads.

Each delivery goes straight from its depot to its point on ceil(units / units per vehicle)
vehicles, where "units per vehicle" is what the depot's largest vehicle (by payload) holds
in whole units; with volume not binding and unit weights dividing the payload, that is
ceil(weight / largest payload). Trips take the depot's real vehicles, largest first, while
some are left that can carry them; beyond that the rule counts copies of the largest
vehicle (ids `<vehicle>*2`, `*3`, ...) that do not exist, and the answer says so: status
`infeasible`, `baseline.vehicles_missing` > 0. Such an answer is a yardstick, not a plan;
`check_routes` reports the copies as unknown vehicles.
"""

from __future__ import annotations

import dataclasses
import time

from .model import units_fitting
from .problem import ProblemError, RoutingProblem, Vehicle, load_problem
from .router import NO_VEHICLE, TOO_HEAVY
from .routes import assemble, build_route, error_answer


def per_line(problem) -> dict:
    """The per-line rule's answer in the routes JSON format (docs/routing.md)."""
    t0 = time.perf_counter()
    try:
        problem = load_problem(problem)
    except ProblemError as exc:
        return error_answer(str(exc))
    pools = {d: _fleet(problem, d) for d in problem.depots}
    copies = {d: 0 for d in problem.depots}
    routes, unassigned, needed = [], [], 0
    for delivery in problem.deliveries.values():
        fleet = pools[delivery.depot]
        template = _largest(problem, delivery.depot)
        if delivery.quantity == 0:
            continue
        if template is None:
            unassigned.append(
                {"delivery": delivery.id, "quantity": delivery.quantity, "reason": NO_VEHICLE}
            )
            continue
        per_trip = units_fitting(template, delivery)
        if per_trip == 0:
            unassigned.append(
                {"delivery": delivery.id, "quantity": delivery.quantity, "reason": TOO_HEAVY}
            )
            continue
        per_trip = per_trip or delivery.quantity
        left = delivery.quantity
        while left:
            units = min(per_trip, left)
            vehicle = _take(fleet, delivery, units)
            if vehicle is None:
                copies[delivery.depot] += 1
                vehicle = dataclasses.replace(
                    template, id=f"{template.id}*{copies[delivery.depot] + 1}"
                )
            routes.append(build_route(problem, vehicle, [(delivery.id, units)]))
            needed += 1
            left -= units
    missing = sum(copies.values())
    extra = {
        "baseline": {"rule": "per_line", "vehicles_needed": needed, "vehicles_missing": missing}
    }
    status = "feasible"
    if missing:
        status = "infeasible"
        extra["reason"] = (
            f"the per-line rule needs {needed} vehicles, {missing} more than the depots have"
        )
    timings = {"total_s": round(time.perf_counter() - t0, 4)}
    return assemble(problem, routes, unassigned, status, timings, extra)


def _fleet(problem: RoutingProblem, depot_id: str) -> list[Vehicle]:
    """The depot's vehicles, largest payload first (input order among equals)."""
    own = [v for v in problem.vehicles.values() if v.depot == depot_id]
    return sorted(own, key=lambda v: -v.payload_t)


def _largest(problem: RoutingProblem, depot_id: str) -> Vehicle | None:
    fleet = _fleet(problem, depot_id)
    return fleet[0] if fleet else None


def _take(fleet: list[Vehicle], delivery, units: int) -> Vehicle | None:
    """The first unused vehicle that holds `units` of the delivery, removed from the pool."""
    for i, vehicle in enumerate(fleet):
        fits = units_fitting(vehicle, delivery)
        if fits is None or fits >= units:
            return fleet.pop(i)
    return None
