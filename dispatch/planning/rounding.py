"""From a fractional (or capacity-free) flow to an integer plan that keeps every constraint.

LP vertices of the pure transportation problem are integral, but transport tonnage rows and
the equity rows break that, and the capacity-free flow relaxation ignores tonnage entirely.
So: round down, trim whatever still exceeds a limit (latest arrival first), then top up with
the greedy rule from what stock and tonnage are left, but only up to what the LP delivered to
each demand (rounded up): the repair restores what rounding lost and never overrides a
stage (with cost before efficacy, shipping nothing is the answer, not a rounding loss).
"""

from __future__ import annotations

import numpy as np

from .greedy import greedy_lines
from .problem import Arcs, Problem

# Stage caps leave the LP a little slack (about 1e-6 relative), which can show up as 4.99999
# units; values this close to a whole number are taken as that number, trims fix the rest.
INTEGRAL_TOL = 1e-3


def integer_lines(problem: Problem, arcs: Arcs, x: np.ndarray):
    """Feasible whole-unit lines (source, demand, quantity) close to `x` (units per arc).

    The top-up may use reachable arcs outside `arcs` (when `arcs` is a restricted subset).
    """
    nearest = np.rint(x)
    flow = np.where(np.abs(x - nearest) < INTEGRAL_TOL, nearest, np.floor(x)).astype(np.int64)
    flow = np.maximum(flow, 0)
    _trim_stock(problem, arcs, flow)
    _trim_demand(problem, arcs, flow)
    _trim_capacity(problem, arcs, flow)
    mat = problem.demand_material[arcs.demand]
    stock = problem.stock.copy()
    np.subtract.at(stock, (arcs.source, mat), flow)
    tonnes = np.bincount(
        arcs.source,
        weights=flow * problem.demand_weight_t[arcs.demand],
        minlength=len(problem.source_ids),
    )
    capacity = problem.transport_capacity_t - tonnes
    target = np.ceil(
        np.bincount(arcs.demand, weights=x, minlength=problem.demand_qty.size) - INTEGRAL_TOL
    ).astype(np.int64)
    got = np.bincount(arcs.demand, weights=flow, minlength=problem.demand_qty.size)
    need = np.minimum(target, problem.demand_qty) - got.astype(np.int64)
    src, dem, qty = greedy_lines(problem, stock=stock, capacity=capacity, need=need)
    used = flow > 0
    src = np.concatenate([arcs.source[used], src])
    dem = np.concatenate([arcs.demand[used], dem])
    qty = np.concatenate([flow[used], qty])
    # A top-up can add to an arc that already ships: one line per (source, demand).
    keys, inverse = np.unique(dem * len(problem.source_ids) + src, return_inverse=True)
    total = np.bincount(inverse, weights=qty).astype(np.int64)
    return keys % len(problem.source_ids), keys // len(problem.source_ids), total


def _trim(flow: np.ndarray, members: np.ndarray, excess: float, unit: np.ndarray) -> None:
    """Remove at least `excess` (in `unit` per unit of flow) from the last members first."""
    for a in members[::-1]:
        if excess <= 1e-12:
            return
        if flow[a] == 0:
            continue
        cut = flow[a] if unit[a] <= 0 else min(flow[a], int(np.ceil(excess / unit[a] - 1e-9)))
        flow[a] -= cut
        excess -= cut * unit[a]


def _trim_stock(problem: Problem, arcs: Arcs, flow: np.ndarray) -> None:
    mat = problem.demand_material[arcs.demand]
    shipped = np.zeros_like(problem.stock)
    np.add.at(shipped, (arcs.source, mat), flow)
    ones = np.ones(flow.size)
    sup = np.flatnonzero(flow > 0)
    for s, m in zip(*np.nonzero(shipped > problem.stock)):
        members = sup[(arcs.source[sup] == s) & (mat[sup] == m)]
        members = members[np.argsort(arcs.arrival_h[members], kind="stable")]
        _trim(flow, members, shipped[s, m] - problem.stock[s, m], ones)


def _trim_demand(problem: Problem, arcs: Arcs, flow: np.ndarray) -> None:
    got = np.bincount(arcs.demand, weights=flow, minlength=problem.demand_qty.size)
    ones = np.ones(flow.size)
    sup = np.flatnonzero(flow > 0)
    for d in np.flatnonzero(got > problem.demand_qty):
        members = sup[arcs.demand[sup] == d]  # arcs are already sorted by arrival
        _trim(flow, members, got[d] - problem.demand_qty[d], ones)


def _trim_capacity(problem: Problem, arcs: Arcs, flow: np.ndarray) -> None:
    """Overloaded sources drop their lowest-priority, then latest, shipments first."""
    unit = problem.demand_weight_t[arcs.demand]
    tonnes = np.bincount(arcs.source, weights=flow * unit, minlength=len(problem.source_ids))
    cap = problem.transport_capacity_t
    prio = problem.demand_priority[arcs.demand]
    sup = np.flatnonzero(flow > 0)
    for s in np.flatnonzero(tonnes > cap * (1 + 1e-12)):
        members = sup[arcs.source[sup] == s]
        members = members[np.lexsort((arcs.arrival_h[members], -prio[members]))]
        _trim(flow, members, tonnes[s] - cap[s], unit)
