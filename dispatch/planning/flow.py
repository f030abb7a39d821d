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

import numpy as np
from ortools.graph.python import min_cost_flow

from .problem import Problem

TONNE_SCALE = 10_000  # whole scaled units per tonne: weights to 0.1 kg are exact
REWARD_SCALE = 10_000_000  # reward per unit is priority x this (before the int64 check)
INT64_HEADROOM = 2**62


class FlowFailed(RuntimeError):
    """The min-cost flow solver gave no optimal flow (should not happen for valid data)."""


def efficacy_flow(
    problem: Problem, source: np.ndarray, demand: np.ndarray, then: str | None = None
):
    """Maximum priority-weighted delivery over the arcs source[i] -> demand[i]; with `then`
    ("speed" or "cost"), the best flow for that stage among those with the same receipts.

    Returns (units per arc as floats, lower bound on the weighted unmet of any plan).
    The units respect demand and stock exactly and tonnage up to the weight scale;
    rounding.integer_lines makes them whole and feasible.
    """
    n_src, n_mat = len(problem.source_ids), len(problem.material_ids)
    n_dem = problem.demand_qty.size
    mat = problem.demand_material[demand]
    keys, key_of_arc = np.unique(source * n_mat + mat, return_inverse=True)
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

    # Nodes: 0 super source, 1..S sources, then keys, then demands, then the sink.
    key0 = 1 + n_src
    dem0 = key0 + keys.size
    sink = dem0 + n_dem
    # super -> source, source -> key (super -> key when weightless), key -> demand
    tails = np.concatenate(
        [np.zeros(n_src, np.int64), np.where(free, 0, 1 + key_src), key0 + key_of_arc]
    )
    heads = np.concatenate([1 + np.arange(n_src), key0 + np.arange(keys.size), dem0 + demand])
    caps = np.concatenate([src_cap, key_cap, np.minimum(key_cap[key_of_arc], dem_cap[demand])])
    first_arc = n_src + keys.size  # of the key -> demand arcs
    # Efficacy: + demand -> sink (reward) and super -> sink (free), all supply reaches the sink.
    solver = _solve(
        np.concatenate([tails, dem0 + np.arange(n_dem), [0]]),
        np.concatenate([heads, np.full(n_dem, sink), [sink]]),
        np.concatenate([caps, dem_cap, [total]]),
        np.concatenate([np.zeros(tails.size, np.int64), -reward, [0]]),
        {0: total, sink: -total},
    )
    flows = np.asarray(solver.flows(np.arange(first_arc, first_arc + demand.size)), np.int64)
    best_value = -solver.optimal_cost() / scale  # >= the weighted delivery of any plan
    if then is not None:
        # The next stage: each demand receives exactly what it received; any source may ship.
        received = np.bincount(demand, weights=flows, minlength=n_dem).astype(np.int64)
        cost = _stage_cost(problem, source, demand, then)
        supplies = {dem0 + d: -int(received[d]) for d in np.flatnonzero(received)}
        supplies[0] = int(received.sum())
        costs = np.concatenate([np.zeros(first_arc, np.int64), cost])
        again = _solve(tails, heads, caps, costs, supplies)
        flows = np.asarray(again.flows(np.arange(first_arc, first_arc + demand.size)), np.int64)
    units = flows / dem_per_unit[demand]
    # The rounding can put the bound a little below 0 when everything can be delivered.
    return units, max(float(prio @ problem.demand_qty) - best_value, 0.0)


def _stage_cost(problem: Problem, source, demand, stage: str) -> np.ndarray:
    """Cost per scaled tonne of each arc: priority x arrival minutes (speed: priority-weighted
    tonne-hours) or 0.1 km (cost: tonne-km)."""
    point = problem.demand_point[demand]
    if stage == "speed":
        arrival = problem.lead_time_h[source] + problem.hours[source, point]
        minutes = np.rint(arrival * 60).astype(np.int64)
        return problem.demand_priority[demand].astype(np.int64) * minutes
    return np.rint(problem.km[source, point] * 10).astype(np.int64)


def _solve(tails, heads, caps, costs, supplies: dict):
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
