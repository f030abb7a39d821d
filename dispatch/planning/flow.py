"""Efficacy at large scale as one min-cost flow, transport tonnage included.

Counted in units, the efficacy LP is not a network: a source's tonnage row adds up units of
different materials with different weights. Counted in *tonnes* it is one, because each
stock row, each demand and each arc carries a single material: a tonne of material m is
1 / weight[m] units everywhere. So, in tonnes (scaled to whole numbers):

    super source -> source s          capacity: its transport tonnage
    source s -> key (s, m)            capacity: its stock of m, in tonnes
    key (s, m) -> demand d            one per reachable arc (material m)
    demand d -> sink                  capacity: the demand in tonnes; reward: priority per tonne
    super source -> sink              the tonnage nobody ships (free)

`SimpleMinCostFlow` solves it exactly, in integers. Weightless materials (and weights below
the scale's resolution) bypass the tonnage: their keys hang off the super source directly.

Rounding is done so that the result is a valid bound: weights are scaled down to whole
numbers (a unit takes at most its true tonnage, so every real plan fits the network), the
reward per scaled tonne is rounded up (every plan is worth at least its real value), and
capacities up. So the flow's value, divided back, is an upper bound on the priority-weighted
delivery of any plan, hence a lower bound on weighted unmet. The flow itself is turned into
whole units and repaired (rounding.py) like an LP solution.

Many flows reach the same optimum (under ample supply, any source in time will do), and the
solver picks one without regard to distance. So a second flow over the same network keeps
what each demand receives, hence efficacy, and finds the cheapest way to deliver exactly that
for the policy's next arc stage: least priority-weighted tonne-hours (speed) or tonne-km
(cost), any source within its stock and tonnage.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ortools.graph.python import min_cost_flow

from .problem import Problem

TONNE_SCALE = 10_000  # whole scaled units per tonne: weights to 0.1 kg are exact
REWARD_SCALE = 10_000_000  # reward per unit is priority x this (before the int64 check)
INT64_HEADROOM = 2**62


class FlowFailed(RuntimeError):
    """The min-cost flow solver gave no optimal flow (should not happen for valid data)."""


@dataclass
class Scaled:
    """The network's numbers in whole scaled tonnes (see the module docstring)."""

    per_unit: np.ndarray  # scaled tonnes per unit of each material (1 if weightless)
    dem_cap: np.ndarray  # per demand
    src_cap: np.ndarray  # per source
    key_src: np.ndarray
    key_mat: np.ndarray
    key_cap: np.ndarray
    free: np.ndarray  # per key: weightless, hangs off the super source
    total: int  # all the tonnage the super source can send
    scale: float
    reward: np.ndarray  # per demand, per scaled tonne


def scaled(problem: Problem, keys: np.ndarray) -> Scaled:
    """Capacities and rewards for the keys (source * M + material) given."""
    n_mat = len(problem.material_ids)
    key_src, key_mat = keys // n_mat, keys % n_mat
    weight = np.floor(problem.unit_weight_t * TONNE_SCALE + 1e-9).astype(np.int64)
    weightless = weight <= 0
    per_unit = np.where(weightless, 1, weight)  # scaled units per unit of material
    dem_per_unit = per_unit[problem.demand_material]
    dem_cap = problem.demand_qty.astype(np.int64) * dem_per_unit
    key_cap = problem.stock[key_src, key_mat].astype(np.int64) * per_unit[key_mat]
    src_cap = np.ceil(problem.transport_capacity_t * TONNE_SCALE - 1e-9).astype(np.int64)
    src_cap = np.maximum(src_cap, 0)
    free = weightless[key_mat]
    total = int(src_cap.sum()) + int(key_cap[free].sum())
    prio = problem.demand_priority
    scale = min(REWARD_SCALE, INT64_HEADROOM // max(total * int(prio.max(initial=1)), 1))
    reward = np.ceil(prio * scale / dem_per_unit - 1e-9).astype(np.int64)
    return Scaled(per_unit, dem_cap, src_cap, key_src, key_mat, key_cap, free, total, scale, reward)


def supply_arcs(sc: Scaled, n_src: int):
    """super -> source, source -> key (super -> key when weightless): tails, heads, caps.
    Nodes: 0 super source, 1..S sources, then the keys."""
    key0 = 1 + n_src
    tails = np.concatenate([np.zeros(n_src, np.int64), np.where(sc.free, 0, 1 + sc.key_src)])
    heads = np.concatenate([1 + np.arange(n_src), key0 + np.arange(sc.key_src.size)])
    return tails, heads, np.concatenate([sc.src_cap, sc.key_cap])


def flow_bound(problem: Problem, solver, sc: Scaled) -> float:
    best_value = -solver.optimal_cost() / sc.scale  # >= the weighted delivery of any plan
    # The rounding can put the bound a little below 0 when everything can be delivered.
    return max(float(problem.demand_priority @ problem.demand_qty) - best_value, 0.0)


def efficacy_flow(
    problem: Problem, source: np.ndarray, demand: np.ndarray, then: str | None = None
):
    """Maximum priority-weighted delivery over the arcs source[i] -> demand[i]; with `then`
    ("speed" or "cost"), the best flow for that stage among those with the same receipts.

    Returns (units per arc as floats, lower bound on the weighted unmet of any plan).
    The units respect demand and stock exactly and tonnage up to the weight scale;
    rounding.integer_lines makes them whole and feasible. One arc per reachable pair: the
    reference for `hubflow.hub_efficacy_flow`, which gives the same optimum over far fewer arcs.
    """
    n_src, n_mat = len(problem.source_ids), len(problem.material_ids)
    n_dem = problem.demand_qty.size
    mat = problem.demand_material[demand]
    keys, key_of_arc = np.unique(source * n_mat + mat, return_inverse=True)
    sc = scaled(problem, keys)
    key0 = 1 + n_src
    dem0 = key0 + keys.size
    sink = dem0 + n_dem
    tails, heads, caps = supply_arcs(sc, n_src)
    first_arc = tails.size  # of the key -> demand arcs
    # Efficacy: + demand -> sink (reward) and super -> sink (free), all supply reaches the sink.
    solver = solve_flow(
        np.concatenate([tails, key0 + key_of_arc, dem0 + np.arange(n_dem), [0]]),
        np.concatenate([heads, dem0 + demand, np.full(n_dem, sink), [sink]]),
        np.concatenate(
            [caps, np.minimum(sc.key_cap[key_of_arc], sc.dem_cap[demand])]
            + [sc.dem_cap, [sc.total]]
        ),
        np.concatenate([np.zeros(first_arc + demand.size, np.int64), -sc.reward, [0]]),
        {0: sc.total, sink: -sc.total},
    )
    flows = np.asarray(solver.flows(np.arange(first_arc, first_arc + demand.size)), np.int64)
    bound = flow_bound(problem, solver, sc)
    if then is not None:
        received = np.bincount(demand, weights=flows, minlength=n_dem).astype(np.int64)
        flows = cheapest_delivery(problem, source, demand, received, then)
    return flows / sc.per_unit[problem.demand_material[demand]], bound


def cheapest_delivery(problem, source, demand, received, then: str) -> np.ndarray:
    """Scaled tonnes per arc: each demand receives exactly `received`, at the least cost for
    stage `then`, any source within its stock and tonnage (arcs source[i] -> demand[i])."""
    n_src, n_mat = len(problem.source_ids), len(problem.material_ids)
    keys, key_of_arc = np.unique(
        source * n_mat + problem.demand_material[demand], return_inverse=True
    )
    sc = scaled(problem, keys)
    key0 = 1 + n_src
    dem0 = key0 + keys.size
    tails, heads, caps = supply_arcs(sc, n_src)
    cost = _stage_cost(problem, source, demand, then)
    supplies = {dem0 + d: -int(received[d]) for d in np.flatnonzero(received)}
    supplies[0] = int(received.sum())
    solver = solve_flow(
        np.concatenate([tails, key0 + key_of_arc]),
        np.concatenate([heads, dem0 + demand]),
        np.concatenate([caps, np.minimum(sc.key_cap[key_of_arc], sc.dem_cap[demand])]),
        np.concatenate([np.zeros(tails.size, np.int64), cost]),
        supplies,
    )
    return np.asarray(solver.flows(np.arange(tails.size, tails.size + demand.size)), np.int64)


def _stage_cost(problem: Problem, source, demand, stage: str) -> np.ndarray:
    """Cost per scaled tonne of each arc: priority x arrival minutes (speed: priority-weighted
    tonne-hours) or 0.1 km (cost: tonne-km)."""
    point = problem.demand_point[demand]
    if stage == "speed":
        arrival = problem.lead_time_h[source] + problem.hours[source, point]
        minutes = np.rint(arrival * 60).astype(np.int64)
        return problem.demand_priority[demand].astype(np.int64) * minutes
    return np.rint(problem.km[source, point] * 10).astype(np.int64)


def solve_flow(tails, heads, caps, costs, supplies: dict):
    """An optimal min-cost flow; `supplies` maps node -> supply (negative: demand)."""
    solver = min_cost_flow.SimpleMinCostFlow()
    solver.add_arcs_with_capacity_and_unit_cost(
        tails.astype(np.int32), heads.astype(np.int32), caps, costs
    )
    nodes = np.fromiter(supplies.keys(), np.int64, len(supplies))
    amounts = np.fromiter(supplies.values(), np.int64, len(supplies))
    solver.set_nodes_supplies(nodes.astype(np.int32), amounts)
    status = solver.solve()
    if status != solver.OPTIMAL:
        raise FlowFailed(f"min-cost flow: {status}")
    return solver
