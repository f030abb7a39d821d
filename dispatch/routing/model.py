"""One depot's loads and routes as an OR-Tools routing model (pywrapcp).

Data: the depot's vehicles and its deliveries, each split into whole-unit pieces (`split`).
Variables (OR-Tools' own): for every piece two optional nodes, an on-time copy (arrival
bounded by due_h) and a late copy (no bound, a late cost on entering it); at most one of the
two is visited (a disjunction whose penalty is the piece left undelivered). Every vehicle
starts at the depot node and ends at a dummy end node reached at no cost (open routes).
Constraints: payload (grams) and volume (cm³) dimensions, a stop-count dimension for
max_stops, a time dimension in seconds. Objective: one integer sum whose weights make the
criteria lexicographic (`weights`).

Integers are rounded so the model is never optimistic: travel, unloading and start times up,
capacities down, piece sizes up. Times and lateness in the answer are recomputed exactly
(routes.py), so a rounding second can only make the model miss an on-time option.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from ortools.constraint_solver import pywrapcp, routing_enums_pb2
from ortools.util.optional_boolean_pb2 import BOOL_FALSE

from .problem import Delivery, RoutingProblem, Vehicle

SECONDS_PER_H = 3600
GRAMS_PER_T = 1_000_000
CM3_PER_M3 = 1_000_000
COST_LIMIT = 2**62  # the objective's bound; OR-Tools sums in int64 (saturating)
FIT_TOL = 1e-9
START, END = 0, 1  # node numbers of the depot and of the dummy end


@dataclass(frozen=True)
class Piece:
    """`quantity` whole units of one delivery, carried by one vehicle as a whole."""

    delivery: Delivery
    quantity: int

    @property
    def grams(self) -> int:
        return _up(self.quantity * self.delivery.unit_weight_t * GRAMS_PER_T)

    @property
    def cm3(self) -> int:
        return _up(self.quantity * self.delivery.unit_volume_m3 * CM3_PER_M3)

    @property
    def weight(self) -> int:
        """Priority-weighted units: what leaving this piece late or undelivered costs."""
        return self.quantity * self.delivery.priority


def units_fitting(vehicle: Vehicle, delivery: Delivery) -> int | None:
    """Whole units of the delivery the vehicle can carry alone (None: no limit)."""
    caps = []
    if delivery.unit_weight_t > 0:
        caps.append(math.floor(vehicle.payload_t / delivery.unit_weight_t + FIT_TOL))
    if delivery.unit_volume_m3 > 0 and vehicle.volume_m3 is not None:
        caps.append(math.floor(vehicle.volume_m3 / delivery.unit_volume_m3 + FIT_TOL))
    return min(caps) if caps else None


def split(delivery: Delivery, vehicles: list[Vehicle]) -> tuple[list[Piece], int]:
    """Pieces of the delivery, and the units no vehicle of the depot has room for even if it
    carried nothing else.

    One piece per vehicle that can carry the material, smallest vehicle first, each as large
    as that vehicle holds: small pieces combine on a large vehicle (one stop, no extra time)
    and every piece fits at least one vehicle.
    """
    fits = [units_fitting(v, delivery) for v in vehicles]
    sizes = sorted(delivery.quantity if f is None else f for f in fits)
    pieces, left = [], delivery.quantity
    for size in sizes:
        if left == 0:
            break
        if size > 0:
            pieces.append(Piece(delivery, min(size, left)))
            left -= pieces[-1].quantity
    return pieces, left


def _up(x: float) -> int:
    """Ceiling that ignores float noise (0.1 * 3 * 1e6 is 300000.00000000006)."""
    return max(0, math.ceil(x - 1e-6))


def _down(x: float) -> int:
    return math.floor(x + 1e-6)


@dataclass
class DepotSolution:
    """Drops per vehicle (delivery id, units) in route order, the pieces left out, and
    whether the search ran to a local optimum (False: stopped by the time limit)."""

    routes: dict[str, list[tuple[str, int]]]
    dropped: list[Piece]
    complete: bool


def solve_depot(
    problem: RoutingProblem,
    vehicles: list[Vehicle],
    pieces: list[Piece],
    time_limit_s: float | None,
) -> DepotSolution:
    """Route the pieces on the vehicles (all of one depot)."""
    depot = problem.depots[vehicles[0].depot]
    places = [depot.id, depot.id] + [p.delivery.point for p in pieces for _ in (0, 1)]
    n = len(places)
    manager = pywrapcp.RoutingIndexManager(
        n, len(vehicles), [START] * len(vehicles), [END] * len(vehicles)
    )
    routing = pywrapcp.RoutingModel(manager)
    metres = _km_matrix(problem, places)
    w = weights(problem.objective, pieces, vehicles, metres)

    # Cost: km (scaled) on every arc, the late cost on entering a late copy, a fixed cost per
    # vehicle used, the undelivered penalty on each disjunction.
    value = [_scaled(p.weight, w["late_unit"]) for p in pieces]  # priority-units, maybe coarsened
    late_cost = [0, 0] + [c for v in value for c in (0, w["late"] * v)]
    cost = [
        [_scaled(metres[i][j], w["km_unit"]) * w["km"] + late_cost[j] for j in range(n)]
        for i in range(n)
    ]
    routing.SetArcCostEvaluatorOfAllVehicles(routing.RegisterTransitMatrix(cost))
    routing.SetFixedCostOfAllVehicles(w["vehicles"])
    for k, piece in enumerate(pieces):
        nodes = [manager.NodeToIndex(2 + 2 * k), manager.NodeToIndex(3 + 2 * k)]
        routing.AddDisjunction(nodes, (w["late"] + w["unassigned"]) * value[k], 1)

    _capacity(routing, manager, vehicles, pieces)
    _stops(routing, vehicles, places)
    _time(problem, routing, manager, depot, vehicles, pieces, places)

    params = search_parameters(time_limit_s)
    t0 = time.perf_counter()
    solution = routing.SolveWithParameters(params)
    elapsed = time.perf_counter() - t0
    complete = time_limit_s is None or elapsed < time_limit_s * 0.95
    return _extract(routing, manager, solution, vehicles, pieces, complete)


def weights(objective, pieces, vehicles, metres) -> dict:
    """Integer weights that make the criteria lexicographic within this depot.

    Levels, most important first, in the policy's order; "late" stands for two levels:
    priority-weighted units late or undelivered, then priority-weighted units undelivered
    (delivering late beats not delivering). Each level's weight exceeds the largest possible
    total of all levels below it, so no trade between levels is possible. If the top weight
    would pass COST_LIMIT, the model coarsens, in this order, until it fits: km counted in
    10 m, 100 m, ... units (up to the longest leg); the undelivered sub-level dropped (the
    repair pass still prefers late to undelivered); priority-units counted in tens,
    hundreds, ... Realistic depots (docs/routing.md) never get past the first step.
    """
    units = sum(p.weight for p in pieces)
    longest = max((max(row) for row in metres), default=0)
    km_unit, late_unit, sublevel = 1, 1, True
    while True:
        late = -(-units // late_unit) + len(pieces)
        bounds = {
            "late": late,
            "unassigned": late if sublevel else 0,
            "vehicles": len(vehicles),
            "km": len(pieces) * longest // km_unit + len(pieces),
        }
        out, weight = {"late": 0, "unassigned": 0, "vehicles": 0, "km": 0}, 1
        for level in reversed(_levels(objective, sublevel)):
            out[level] = weight
            weight *= bounds[level] + 1
        if weight <= COST_LIMIT:
            return {**out, "km_unit": km_unit, "late_unit": late_unit}
        if km_unit <= longest:
            km_unit *= 10
        elif sublevel:
            sublevel = False
        else:
            late_unit *= 10


def _levels(objective, sublevel: bool) -> list[str]:
    out = []
    for criterion in objective:
        out += ["late", "unassigned"] if criterion == "late" and sublevel else [criterion]
    return out


def _scaled(metres: int, unit: int) -> int:
    return -(-metres // unit)


def _km_matrix(problem: RoutingProblem, places: list[str]) -> list[list[int]]:
    """Road metres between nodes, 0 into the end node."""
    n = len(places)
    out = [[0] * n for _ in range(n)]
    cache: dict[tuple[str, str], int] = {}
    for i, a in enumerate(places):
        if i == END:
            continue
        for j in range(2, n):
            key = (a, places[j])
            if key not in cache:
                cache[key] = _up(problem.km(a, places[j]) * 1000)
            out[i][j] = cache[key]
    return out


def _capacity(routing, manager, vehicles, pieces) -> None:
    grams = [0, 0] + [g for p in pieces for g in (p.grams, p.grams)]
    cm3 = [0, 0] + [c for p in pieces for c in (p.cm3, p.cm3)]
    unlimited = sum(cm3) + 1
    payload = [_down(v.payload_t * GRAMS_PER_T) for v in vehicles]
    volume = [
        unlimited if v.volume_m3 is None else _down(v.volume_m3 * CM3_PER_M3) for v in vehicles
    ]
    routing.AddDimensionWithVehicleCapacity(
        routing.RegisterUnaryTransitVector(grams), 0, payload, True, "load"
    )
    routing.AddDimensionWithVehicleCapacity(
        routing.RegisterUnaryTransitVector(cm3), 0, volume, True, "volume"
    )
    # Vehicles too small for a piece never carry it (-1: the piece is not performed). The
    # Python binding of SetAllowedVehiclesForIndex refuses lists in OR-Tools 9.15.
    for k, piece in enumerate(pieces):
        allowed = [
            i
            for i, v in enumerate(vehicles)
            if piece.grams <= payload[i] and piece.cm3 <= volume[i]
        ]
        if len(allowed) < len(vehicles):
            for node in (2 + 2 * k, 3 + 2 * k):
                routing.VehicleVar(manager.NodeToIndex(node)).SetValues([-1] + allowed)


def _stops(routing, vehicles, places) -> None:
    """A stop is an arrival at a point other than the one the vehicle is at."""
    if all(v.max_stops is None for v in vehicles):
        return
    n = len(places)
    arrivals = [
        [1 if j >= 2 and (i == START or places[i] != places[j]) else 0 for j in range(n)]
        for i in range(n)
    ]
    limit = [n if v.max_stops is None else v.max_stops for v in vehicles]
    routing.AddDimensionWithVehicleCapacity(
        routing.RegisterTransitMatrix(arrivals), 0, limit, True, "stops"
    )


def _time(problem, routing, manager, depot, vehicles, pieces, places) -> None:
    """Seconds: the start after opening, availability and loading; driving; unloading once
    per stop (on leaving the last piece of a stop for another point); no waiting."""
    n = len(places)
    unload = [0, 0] + [
        _up(problem.points[p.delivery.point].unloading_h * SECONDS_PER_H)
        for p in pieces
        for _ in (0, 1)
    ]
    callbacks, by_speed = [], {}
    for vehicle in vehicles:
        key = vehicle.speed_kmh or problem.speed_kmh
        if key not in by_speed:
            matrix = [[0] * n for _ in range(n)]
            for i in range(n):
                for j in range(2, n):
                    if i != END and places[i] != places[j]:
                        drive = problem.hours(places[i], places[j], vehicle) * SECONDS_PER_H
                        matrix[i][j] = _up(drive) + (unload[i] if i >= 2 else 0)
            by_speed[key] = (routing.RegisterTransitMatrix(matrix), max(map(max, matrix)))
        callbacks.append(by_speed[key][0])
    longest = max(m for _, m in by_speed.values())
    rate = _up(depot.loading_h_per_t * SECONDS_PER_H)  # seconds per tonne
    payload_max = max(v.payload_t for v in vehicles)
    starts = [_up(max(depot.opens_h, v.available_from_h) * SECONDS_PER_H) for v in vehicles]
    horizon = max(starts) + _up(rate * payload_max) + (len(pieces) + 1) * longest + 1
    routing.AddDimensionWithVehicleTransits(callbacks, 0, horizon, False, "time")
    clock = routing.GetDimensionOrDie("time")
    load = routing.GetDimensionOrDie("load")
    solver = routing.solver()
    for i, start in enumerate(starts):
        begin = clock.CumulVar(routing.Start(i))
        begin.SetMin(start)
        if rate:
            # grams x seconds-per-tonne / 10^6 = loading seconds
            solver.Add(
                begin * GRAMS_PER_T >= start * GRAMS_PER_T + rate * load.CumulVar(routing.End(i))
            )
    for k, piece in enumerate(pieces):
        clock.CumulVar(manager.NodeToIndex(2 + 2 * k)).SetMax(
            _down(piece.delivery.due_h * SECONDS_PER_H)
        )


def search_parameters(time_limit_s: float | None):
    """Deterministic search: a cheapest-insertion first solution, then greedy descent to a
    local optimum. The LNS operators (which stop on an internal wall-clock limit) are off, so
    without a time limit the same model always gives the same solution."""
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = (
        routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION
    )
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GREEDY_DESCENT
    ops = params.local_search_operators
    for name in (
        "use_global_cheapest_insertion_path_lns",
        "use_local_cheapest_insertion_path_lns",
        "use_relocate_path_global_cheapest_insertion_insert_unperformed",
        "use_global_cheapest_insertion_visit_types_lns",
        "use_local_cheapest_insertion_visit_types_lns",
    ):
        setattr(ops, name, BOOL_FALSE)
    if time_limit_s is not None:
        params.time_limit.FromMilliseconds(max(1, int(time_limit_s * 1000)))
    return params


def _extract(routing, manager, solution, vehicles, pieces, complete) -> DepotSolution:
    if solution is None:  # no assignment at all: nothing is routed
        return DepotSolution({}, list(pieces), False)
    routes, served = {}, set()
    for i, vehicle in enumerate(vehicles):
        index, drops = solution.Value(routing.NextVar(routing.Start(i))), []
        while not routing.IsEnd(index):
            k = (manager.IndexToNode(index) - 2) // 2
            served.add(k)
            drops.append((pieces[k].delivery.id, pieces[k].quantity))
            index = solution.Value(routing.NextVar(index))
        if drops:
            routes[vehicle.id] = drops
    dropped = [p for k, p in enumerate(pieces) if k not in served]
    return DepotSolution(routes, dropped, complete)
