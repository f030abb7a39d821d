"""Greedy allocation: highest priority demand first, nearest reachable source first.

This is the always-available fallback (no solver, no time limit to hit) and the baseline
the benchmark compares the optimiser against. It is what a dispatcher does by hand.
It works from the problem arrays directly, without the list of all reachable arcs, so that
it gives a first plan fast even at national scale (tens of millions of arcs).
"""

from __future__ import annotations

import numpy as np

from .problem import Problem


def greedy_lines(problem: Problem, *, stock=None, capacity=None, need=None):
    """Fill demands in priority order from their earliest-arriving reachable sources.

    Demands are served by priority (desc), then deadline (asc), then position; sources by
    arrival, then position. `stock` (S x M units), `capacity` (t per source) and `need`
    (units per demand) default to the problem's; the repair step passes what is left.
    Returns arrays (source, demand, quantity) of the lines, one per (source, demand).
    """
    stock = problem.stock.copy() if stock is None else stock.copy()
    capacity = problem.transport_capacity_t.copy() if capacity is None else capacity.copy()
    need = problem.demand_qty if need is None else need
    holders = [np.flatnonzero(problem.stock[:, m] > 0) for m in range(stock.shape[1])]
    src, dem, qty = [], [], []
    for d in priority_order(problem):
        if need[d] <= 0:
            continue
        m, p = problem.demand_material[d], problem.demand_point[d]
        cand = holders[m]
        cand = cand[
            (stock[cand, m] > 0) & (capacity[cand] * (1 + 1e-9) >= problem.unit_weight_t[m])
        ]
        arrival = problem.lead_time_h[cand] + problem.hours[cand, p]
        ok = arrival <= problem.demand_deadline_h[d]
        cand, arrival = cand[ok], arrival[ok]
        left = int(need[d])
        for s in cand[np.lexsort((cand, arrival))]:
            take = min(
                left, int(stock[s, m]), _units_fitting(capacity[s], problem.unit_weight_t[m])
            )
            if take > 0:
                src.append(s)
                dem.append(d)
                qty.append(take)
                stock[s, m] -= take
                capacity[s] -= take * problem.unit_weight_t[m]
                left -= take
                if left == 0:
                    break
    return np.array(src, np.int64), np.array(dem, np.int64), np.array(qty, np.int64)


def priority_order(problem: Problem) -> np.ndarray:
    """Demand positions by priority desc, deadline asc, position asc (deterministic)."""
    idx = np.arange(problem.demand_qty.size)
    return np.lexsort((idx, problem.demand_deadline_h, -problem.demand_priority))


def _units_fitting(capacity_t: float, unit_weight_t: float) -> int:
    """Whole units of this weight that still fit; weightless units always fit."""
    if unit_weight_t <= 0:
        return np.iinfo(np.int64).max
    # The 1e-9 keeps exact fits (3 x 0.1 t into 0.3 t) from losing a unit to rounding.
    return max(int(np.floor(capacity_t / unit_weight_t + 1e-9)), 0)
