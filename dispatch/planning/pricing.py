"""Efficacy at national scale: a restricted LP, certified by a Lagrangian bound.

With tens of millions of reachable arcs the full LP does not fit the time budget, yet an
optimal plan uses a few arcs per demand. So: solve the efficacy LP over each demand's
nearest arcs (enough to cover its quantity a few times), then price *every* arc with the
duals y. For any y (with the signs of the rows respected),

    bound(y) = sum_rows y_r * rhs_r + sum_columns min over [0, ub] of (c_j - A_j^T y) * x_j

is a lower bound on the full LP, hence on any plan (weak duality; no accuracy assumption on
y). If the gap is too large, the arcs that price out most join and the LP is solved again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .lp import LPFailed
from .problem import Arcs, Problem
from .solver import AllocationLP, stage_costs

NEAREST_ARCS = 6  # each demand starts with at least its nearest arcs,
COVER = 2.0  # and more, nearest first, until their stock covers COVER x the quantity;
SOURCE_ARCS = 3  # and each (source, material) its earliest arcs, so all stock can move
TARGET_GAP = 1e-3  # stop adding arcs once bound and LP value are this close (relative)
ARCS_PER_ROUND = 10.0  # x number of demands: most negative reduced costs added per round


@dataclass
class RestrictedResult:
    arcs: Arcs  # the restricted arc set of the last round
    x: np.ndarray  # LP units per arc of `arcs`
    lp_value: float
    bound: float
    rounds: int


def restricted_efficacy(problem: Problem, arcs: Arcs, deadline: float | None):
    """Efficacy LP over a growing subset of arcs until certified or out of time.

    The LP stays in one GLOP instance; priced-in arcs join as new columns, so each round
    restarts from the previous basis. Returns the last completed round (None if not even
    the first finished in time).
    """
    chosen = np.zeros(len(arcs), bool)
    start = nearest_arcs(problem, arcs)
    chosen[start] = True
    try:
        model = AllocationLP(problem, _subset(arcs, start), with_equity=False, row_arcs=arcs)
    except LPFailed:
        return None
    best = None
    while True:
        cost = stage_costs(problem, model.arcs, model)["efficacy"]
        try:
            x = model.minimise("efficacy", cost, deadline)
        except LPFailed:
            return best  # out of time inside GLOP: keep the last finished round
        bound, reduced = lagrangian_bound(problem, arcs, model)
        rounds = 1 if best is None else best.rounds + 1
        best = RestrictedResult(model.arcs, model.arc_flow(x), model.value(cost, x), bound, rounds)
        out_of_time = deadline is not None and time.perf_counter() > deadline
        if best.lp_value - bound <= TARGET_GAP * max(bound, 1.0) or out_of_time:
            return best
        entering = np.flatnonzero((reduced < 0) & ~chosen)
        if entering.size == 0:
            return best
        limit = int(ARCS_PER_ROUND * max(problem.demand_qty.size, 1))
        if entering.size > limit:
            entering = entering[np.argpartition(reduced[entering], limit)[:limit]]
        chosen[entering] = True
        model.add_arcs(_subset(arcs, np.sort(entering)))


def nearest_arcs(problem: Problem, arcs: Arcs) -> np.ndarray:
    """Per demand: its NEAREST_ARCS earliest arcs, then more until COVER x covered."""
    n = len(arcs)
    if n == 0:
        return np.zeros(0, np.int64)
    held = problem.stock[arcs.source, problem.demand_material[arcs.demand]].astype(float)
    first = np.searchsorted(arcs.demand, arcs.demand)  # arcs are sorted by demand
    rank = np.arange(n) - first
    running = np.cumsum(held)
    before = running - held - (running[first] - held[first])
    asked = problem.demand_qty[arcs.demand]
    by_demand = (rank < NEAREST_ARCS) | (before < COVER * asked)
    # Scarce stock far from every demand's nearest set would otherwise stay idle.
    key = arcs.source * len(problem.material_ids) + problem.demand_material[arcs.demand]
    order = np.lexsort((arcs.arrival_h, key))
    first_of_key = np.searchsorted(key[order], key[order])
    by_source = np.zeros(n, bool)
    by_source[order[np.arange(n) - first_of_key < SOURCE_ARCS]] = True
    return np.flatnonzero(by_demand | by_source)


def lagrangian_bound(problem: Problem, arcs: Arcs, model: AllocationLP):
    """Lower bound on the full efficacy LP (all `arcs`) from the model's last duals.

    Returns (bound, reduced cost of every arc in `arcs`).
    """
    y = np.append(model.lp.last_duals, 0.0)  # index -1 ("no such row") reads this 0
    n_mat = len(problem.material_ids)
    y_dem = y[: model.num_demands]
    # Duals of <= rows are <= 0 in a minimisation; clamping keeps the bound valid anyway.
    y_stock_of_key = np.minimum(y[model.index.stock_row_of_key], 0.0)
    y_ton = np.minimum(y[model.index.tonnage_row_of_source], 0.0)
    mat = problem.demand_material[arcs.demand]
    weight = problem.demand_weight_t[arcs.demand]
    reduced = (
        -y_dem[arcs.demand]
        - y_stock_of_key[arcs.source * n_mat + mat]
        - weight * y_ton[arcs.source]
    )
    x_ub = np.minimum(problem.stock[arcs.source, mat], problem.demand_qty[arcs.demand])
    asked = problem.demand_qty.astype(float)
    reduced_u = problem.demand_priority - y_dem
    bound = (
        float(y_dem @ asked)
        + float(y_stock_of_key @ problem.stock.ravel())
        + float(y_ton @ problem.transport_capacity_t)
        + float(np.minimum(reduced_u, 0.0) @ asked)
        + float(np.minimum(reduced, 0.0) @ x_ub)
    )
    return bound, reduced


def _subset(arcs: Arcs, idx: np.ndarray) -> Arcs:
    return Arcs(arcs.source[idx], arcs.demand[idx], arcs.arrival_h[idx], arcs.km[idx])
