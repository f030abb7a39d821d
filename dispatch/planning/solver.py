"""The lexicographic allocation LP: efficacy, equity, speed, cost in the policy's order.

Variables, one column each:
  u[d]        units of demand d left unmet, 0 <= u <= asked (so a shortage is an answer)
  z[m]        equity: the lowest fill rate among demands for material m, 0 <= z <= 1
  x[a]        units shipped on reachable arc a (source -> demand), 0 <= x <= min(stock, asked)
Rows:
  demand      sum_a x[a] + u[d] == asked[d]                  (never more than asked)
  stock       sum_a x[a] over (s, m) <= stock[s, m]          (only rows that can bind)
  tonnage     sum_a weight * x[a] over s <= capacity[s]       (only rows that can bind)
  equity      asked[d] * z[m] + u[d] <= asked[d]              (fill of d >= z[m])
  fixing      efficacy and equity (objectives over u, z): a cap row, stage objective <=
              its optimum + tolerance; speed and cost (objectives over every arc): no
              row, their optimal face is fixed by bounds instead (AllocationLP.fix_face)
Objectives (all minimised):
  efficacy    sum_d priority[d] * u[d]
  equity      -sum_m z[m]
  speed       sum_a priority * weight * arrival_h * x[a]     (priority-weighted tonne-hours)
  cost        sum_a weight * km * x[a]                       (tonne-km)

Re-planning: `AllocationLP` stays alive between solves. Editing a demand changes a few
bounds and one coefficient; the caps and faces are released and each stage is solved again
with the dual simplex from the basis it ended with last time (a few pivots after a small
edit; ~0.02 s per stage on a province model).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .lp import LPFailed, SparseLP, StagedLP
from .problem import Arcs, Problem

STAGE_RTOL = 1e-6  # larger than GLOP's own tolerances, so a fixed optimum stays feasible
# Reduced costs and duals below this share of the largest stage cost count as zero when a
# stage's optimal face is fixed (GLOP's own dual feasibility tolerance is 1e-8, scaled).
FACE_TOL = 1e-7
TINY_COEF = 1e-9  # stage objective coefficients below this share of the largest count as 0
# Stages whose objective runs over every arc: a cap row would be as dense as the arc list
# (it made every later pivot several times dearer), so their optimal face is fixed instead.
ARC_STAGES = ("speed", "cost")
STORED = object()  # minimise(start=STORED): from the stage's own last basis


@dataclass
class RowIndex:
    """Which stock and tonnage rows exist: row of each (source * M + material), of each
    source (-1: none, the row cannot bind)."""

    stock_row_of_key: np.ndarray
    tonnage_row_of_source: np.ndarray


@dataclass
class ArcRows:
    """For every column arc: its bound, weight and the rows it enters (-1: none)."""

    x_ub: np.ndarray
    weight: np.ndarray
    stock_row: np.ndarray
    tonnage_row: np.ndarray


@dataclass
class StageCost:
    """A stage objective split into its arc part (all arcs) and its u, z part."""

    arcs: np.ndarray
    uz: np.ndarray


@dataclass
class StageResult:
    name: str
    objective: float
    seconds: float
    proven: bool  # GLOP reported OPTIMAL (not merely IMPRECISE), or no LP was needed
    by_face: bool = False  # later stages were kept on its optimal face, not under a cap row


class AllocationLP:
    """The allocation LP inside GLOP.

    Columns: u[0..D), z[D..D+Z), x[D+Z..) one per arc in arc order. With `all_rows` every
    (source, material) stock row and every tonnage row exists even if it cannot bind now,
    so that demands can later be edited in place.
    """

    def __init__(
        self,
        problem: Problem,
        arcs: Arcs,
        with_equity: bool,
        all_rows: bool = False,
    ):
        """Columns for `arcs`; rows for every stock and tonnage limit they could reach."""
        self.problem, self.arcs = problem, arcs
        asked = problem.demand_qty.astype(float)
        d = np.arange(asked.size)
        self.num_demands = asked.size
        self.z_materials = (
            np.unique(problem.demand_material) if with_equity else np.zeros(0, np.int64)
        )
        self.x0 = self.num_demands + self.z_materials.size
        self.index, row_lb, row_ub = _row_index(problem, arcs, self.num_demands, all_rows)
        self.rows = self._arc_rows(arcs)
        self.equity_row0 = self.num_demands + row_lb.size
        equity = _equity_rows(problem, self.z_materials, asked, self.equity_row0)
        arc_part = self._arc_entries()
        lp = SparseLP(
            var_lb=np.zeros(self.x0 + len(arcs)),
            var_ub=np.concatenate([asked, np.ones(self.z_materials.size), self.rows.x_ub]),
            objective=np.zeros(self.x0 + len(arcs)),
            row_lb=np.concatenate([asked, row_lb, equity[0]]),
            row_ub=np.concatenate([asked, row_ub, equity[1]]),
            rows=np.concatenate([d, equity[2], arc_part[0]]),
            cols=np.concatenate([d, equity[3], arc_part[1]]),
            vals=np.concatenate([np.ones(d.size), equity[4], arc_part[2]]),
        )
        self.lp = StagedLP(lp)
        self._basis = None
        self._settled_basis = None  # where settle_equity_slack's solve ended last
        # Stage name -> (cap row or None, its cost, basis at that stage's optimum). The cap
        # rows are created once and only re-bounded, so a stored basis fits the next re-plan.
        self.stages: dict[str, tuple[int | None, StageCost, object]] = {}
        self.capped: list[str] = []
        # Bounds without any stage fixing (edits change them); the rows of the model as
        # built, before any cap row. `fix_face` narrows bounds, `release` restores these.
        self.base_var = (self.lp.var_lb.copy(), self.lp.var_ub.copy())
        self.base_row = (self.lp.row_lb.copy(), self.lp.row_ub.copy())
        self.narrowed = False

    def _arc_rows(self, arcs: Arcs) -> ArcRows:
        problem = self.problem
        mat = problem.demand_material[arcs.demand]
        weight = problem.demand_weight_t[arcs.demand]
        x_ub = np.minimum(problem.stock[arcs.source, mat], problem.demand_qty[arcs.demand])
        stock_row = self.index.stock_row_of_key[arcs.source * len(problem.material_ids) + mat]
        tonnage_row = np.where(weight > 0, self.index.tonnage_row_of_source[arcs.source], -1)
        return ArcRows(x_ub.astype(float), weight, stock_row, tonnage_row)

    def _arc_entries(self, rows: ArcRows | None = None, demand=None, first_col: int | None = None):
        """Matrix entries of x columns: demand row, stock row, tonnage row."""
        rows = self.rows if rows is None else rows
        demand = self.arcs.demand if demand is None else demand
        k = (self.x0 if first_col is None else first_col) + np.arange(demand.size)
        stock, tonnage = rows.stock_row >= 0, rows.tonnage_row >= 0
        r = np.concatenate([demand, rows.stock_row[stock], rows.tonnage_row[tonnage]])
        c = np.concatenate([k, k[stock], k[tonnage]])
        v = np.concatenate([np.ones(k.size), np.ones(int(stock.sum())), rows.weight[tonnage]])
        return r, c, v

    def minimise(
        self,
        name: str,
        cost: StageCost,
        deadline: float | None,
        first: bool = True,
        *,
        start=STORED,
    ) -> np.ndarray:
        """Column values at the optimum of `cost` under the current caps.

        GLOP starts from where it stopped (the previous stage); when this stage was solved
        before (re-planning), from that stage's last optimal basis instead (or from `start`:
        a basis, or None for where GLOP stopped). Only the
        `first` stage of a run scales the matrix: later stages restart from a basis and
        pivoted faster unscaled (province scarcity, speed stage: 0.98 -> 0.57 s; with the
        first stage unscaled too, that stage got slower).
        """
        remaining = None if deadline is None else deadline - time.perf_counter()
        if remaining is not None and remaining <= 0:
            raise LPFailed(f"time limit reached before the {name} stage")
        if start is STORED:
            previous = self.stages.get(name)
            start = None if previous is None else previous[2]
        x, self._basis = self.lp.minimise(self._objective(cost), remaining, start, scaled=first)
        return x

    def fix(
        self, name: str, cost: StageCost, x: np.ndarray, rel: float, pull_back: bool = True
    ) -> None:
        """Cap this stage's objective at its value in x (+ rel); pull earlier caps to x
        (unless not `pull_back`: then they keep the slack they had)."""
        if pull_back:
            self._pull_back_caps(x)
        ub = _cap(self.value(cost, x), rel)
        if self.stages.get(name, (None,))[0] is not None:
            row = self.stages[name][0]
            self.lp.set_row_bounds(row, -np.inf, ub)
        else:
            coef = self._objective(cost)
            nz = np.flatnonzero(coef)
            row = self.lp.add_row(nz, coef[nz], -np.inf, ub)
        self.stages[name] = (row, cost, self._basis)
        if name not in self.capped:
            self.capped.append(name)

    def settle_equity_slack(self, costs, x: np.ndarray, deadline: float | None) -> np.ndarray:
        """Equity right after efficacy may spend efficacy's `equity_tolerance` of slack. Its
        optimum is often not unique, and how much slack the optimal point GLOP returned spent
        depended on the basis it started from (a re-plan after an edit and back shipped less
        than a cold plan, for no gain in equity). So equity is held at its optimum (x) and
        efficacy minimised again; the caller's `fix` then pulls the efficacy cap back to the
        least equity needs, the same from any start."""
        equity_basis = self._basis
        self.fix("equity", costs["equity"], x, 0.0, pull_back=False)
        # The first time from equity's optimum, where GLOP stopped (0.13 s on a province
        # instance); in a re-plan from where this solve ended last time.
        x = self.minimise(
            "efficacy", costs["efficacy"], deadline, first=False, start=self._settled_basis
        )
        self._settled_basis = self._basis
        # A re-plan's equity stage restarts from equity's own optimum: from the basis above,
        # a province re-plan's equity stage took 2.2 s instead of 0.03 s.
        self._basis = equity_basis
        return x

    def fix_face(self, name: str, cost: StageCost, x: np.ndarray) -> None:
        """Keep later stages on this stage's optimal face, without a cap row.

        For an LP, the optimal solutions are exactly the feasible points that satisfy
        complementary slackness with one optimal dual: columns with a nonzero reduced cost
        stay at the bound they sit on, rows with a nonzero dual stay tight. So those columns
        and rows are fixed (bounds only: the model stays as sparse as it was, unlike a
        dense cap row over every arc). Reduced costs and duals within FACE_TOL of zero are
        left free, which can only leave more room; `solve_stages` checks the final values.
        """
        lp = self.lp
        scale = FACE_TOL * max(1.0, float(np.abs(self._objective(cost)).max(initial=0.0)))
        d, y = lp.last_reduced_costs, lp.last_duals
        at_lb = (d > scale) & (lp.var_lb < lp.var_ub) & (x <= lp.var_lb + 1e-9)
        at_ub = (d < -scale) & (lp.var_lb < lp.var_ub) & (x >= lp.var_ub - 1e-9)
        cols = np.flatnonzero(at_lb | at_ub)
        value = np.where(at_lb[cols], lp.var_lb[cols], lp.var_ub[cols])
        free = lp.row_lb < lp.row_ub
        low = free & (y > scale) & np.isfinite(lp.row_lb)
        high = free & (y < -scale) & np.isfinite(lp.row_ub)
        rows = np.flatnonzero(low | high)
        rvalue = np.where(low[rows], lp.row_lb[rows], lp.row_ub[rows])
        # Earlier cap rows left free by the face are pulled back to their value in x.
        self._pull_back_caps(x, skip=set(rows.tolist()))
        lp.set_bounds(cols, value, value, rows, rvalue, rvalue)
        self.narrowed = True
        self.stages[name] = (None, cost, self._basis)
        self.capped.append(name)

    def fix_full_equity(self, cost: StageCost, x: np.ndarray) -> np.ndarray:
        """Equity when an earlier efficacy stage left nothing unmet (optimum 0).

        Then every fill rate can be 1 (x itself has u = 0), which is the most equity can
        reach, and its optimal face is exactly u = 0, z = 1: fixed by bounds, no solve.
        Returns x with z = 1.
        """
        u = np.arange(self.num_demands)
        z = self.num_demands + np.arange(self.z_materials.size)
        cols = np.concatenate([u, z])
        value = np.concatenate([np.zeros(u.size), np.ones(z.size)])
        self._pull_back_caps(x)
        self.lp.set_bounds(cols, value, value)
        self.narrowed = True
        self.stages["equity"] = (None, cost, None)
        self.capped.append("equity")
        x = x.copy()
        x[cols] = value
        return x

    def _pull_back_caps(self, x: np.ndarray, skip=frozenset()) -> None:
        """Earlier cap rows now hold at their value in x (no slack left to spend)."""
        for earlier in self.capped:
            row, old, _ = self.stages[earlier]
            if row is not None and row not in skip:
                self.lp.set_row_bounds(row, -np.inf, _cap(self.value(old, x), 0.0))

    def release(self) -> None:
        """Lift every stage cap (the rows stay, free) and face fixing before the stages run
        again."""
        if self.narrowed:
            lp, n = self.lp, self.base_row[0].size
            base_lb, base_ub = self.base_var
            row_lb, row_ub = self.base_row
            cols = np.flatnonzero((lp.var_lb != base_lb) | (lp.var_ub != base_ub))
            rows = np.flatnonzero((lp.row_lb[:n] != row_lb) | (lp.row_ub[:n] != row_ub))
            lp.set_bounds(cols, base_lb[cols], base_ub[cols], rows, row_lb[rows], row_ub[rows])
            self.narrowed = False
        for name in self.capped:
            row = self.stages[name][0]
            if row is not None:
                self.lp.set_row_bounds(row, -np.inf, np.inf)
        self.capped = []

    def set_demand(self, d: int, quantity: int) -> None:
        """Demand d now asks `quantity` units: its row, u and x bounds, equity row."""
        arcs_of_d = np.flatnonzero(self.arcs.demand == d)
        mat = self.problem.demand_material[d]
        x_ub = np.minimum(self.problem.stock[self.arcs.source[arcs_of_d], mat], quantity)
        self.rows.x_ub[arcs_of_d] = x_ub
        z_col = None
        if self.z_materials.size:
            z_col = self.num_demands + int(np.searchsorted(self.z_materials, mat))
        self.lp.edit_demand(
            row=d,
            quantity=float(quantity),
            u_col=d,
            x_cols=self.x0 + arcs_of_d,
            x_ub=x_ub.astype(float),
            equity_row=None if z_col is None else self.equity_row0 + d,
            z_col=z_col,
        )
        cols = np.concatenate([[d], self.x0 + arcs_of_d])
        self.base_var[1][cols] = self.lp.var_ub[cols]
        rows = [d] if z_col is None else [d, self.equity_row0 + d]
        self.base_row[0][rows] = self.lp.row_lb[rows]
        self.base_row[1][rows] = self.lp.row_ub[rows]

    def value(self, cost: StageCost, x: np.ndarray) -> float:
        # einsum, not @: numpy hands @ to a multithreaded BLAS, whose threads cost ms to
        # wake on a busy machine (36 ms for the 8 calls of one re-plan), for a 50k-term sum
        return float(np.einsum("i,i->", cost.uz, x[: self.x0])) + float(
            np.einsum("i,i->", cost.arcs, x[self.x0 :])
        )

    def arc_flow(self, x: np.ndarray) -> np.ndarray:
        return x[self.x0 :]

    def _objective(self, cost: StageCost) -> np.ndarray:
        c = np.concatenate([cost.uz, cost.arcs])
        # Coefficients below TINY_COEF of the largest (a road of 1e-12 km) are noise to GLOP:
        # a cost stage made of them came back IMPRECISE without a solution (greedy fallback).
        c[np.abs(c) < TINY_COEF * max(1.0, float(np.abs(c).max(initial=0.0)))] = 0.0
        return c


def tonnage_can_bind(problem: Problem, arcs: Arcs) -> bool:
    """Could some source's reachable shipments exceed its transport tonnage?"""
    index, _, _ = _row_index(problem, arcs, 0, all_rows=False)
    return bool((index.tonnage_row_of_source >= 0).any())


def _row_index(problem: Problem, arcs: Arcs, first_row: int, all_rows: bool):
    """Stock and tonnage rows: those `arcs` could make binding (or all, with `all_rows`).

    Returns (RowIndex, row lower bounds, row upper bounds); stock rows come first.
    """
    n_mat, n_src = len(problem.material_ids), len(problem.source_ids)
    mat = problem.demand_material[arcs.demand]
    x_ub = np.minimum(problem.stock[arcs.source, mat], problem.demand_qty[arcs.demand]).astype(
        float
    )
    keys, inverse = np.unique(arcs.source * n_mat + mat, return_inverse=True)
    reach = np.bincount(inverse, weights=x_ub, minlength=keys.size)
    held = problem.stock.ravel()[keys].astype(float)
    stock_keys = np.arange(keys.size) if all_rows else np.flatnonzero(reach > held)
    stock_row = np.full(n_src * n_mat, -1)
    stock_row[keys[stock_keys]] = first_row + np.arange(stock_keys.size)
    # Tonnage a source could ship if every reachable demand took all it could.
    tonnes = np.minimum(reach, held) * problem.unit_weight_t[keys % n_mat]
    reach_t = np.bincount(keys // n_mat, weights=tonnes, minlength=n_src)
    cap = problem.transport_capacity_t
    busy = np.unique(keys // n_mat) if all_rows else np.flatnonzero(reach_t > cap * (1 + 1e-9))
    tonnage_row = np.full(n_src, -1)
    tonnage_row[busy] = first_row + stock_keys.size + np.arange(busy.size)
    lb = np.full(stock_keys.size + busy.size, -np.inf)
    ub = np.concatenate([held[stock_keys], cap[busy]])
    return RowIndex(stock_row, tonnage_row), lb, ub


def _equity_rows(problem: Problem, z_materials: np.ndarray, asked, first_row: int):
    """asked[d] * z[m] + u[d] <= asked[d] (fill of d >= z[m]), one row per demand.

    A demand asking 0 gets the harmless row u[d] <= 0, so that editing it later is a
    coefficient change, not a new row.
    """
    if z_materials.size == 0:
        empty = np.zeros(0)
        return empty, empty, empty.astype(np.int64), empty.astype(np.int64), empty
    dem = np.arange(asked.size)
    z_col = asked.size + np.searchsorted(z_materials, problem.demand_material[dem])
    r = first_row + np.arange(dem.size)
    rows = np.concatenate([r, r])
    cols = np.concatenate([z_col, dem])
    vals = np.concatenate([asked[dem], np.ones(dem.size)])
    return np.full(dem.size, -np.inf), asked[dem], rows, cols, vals


def stage_costs(problem: Problem, arcs: Arcs, model: AllocationLP) -> dict[str, StageCost]:
    """The four stage objectives, all minimised."""
    weight = problem.demand_weight_t[arcs.demand]
    prio = problem.demand_priority
    zeros_arcs, zeros_uz = np.zeros(len(arcs)), np.zeros(model.x0)
    efficacy = zeros_uz.copy()
    efficacy[: model.num_demands] = prio
    equity = zeros_uz.copy()
    equity[model.num_demands :] = -1.0
    return {
        "efficacy": StageCost(zeros_arcs, efficacy),
        "equity": StageCost(zeros_arcs, equity),
        "speed": StageCost(_clean(prio[arcs.demand] * weight * arcs.arrival_h), zeros_uz),
        "cost": StageCost(_clean(weight * arcs.km), zeros_uz),
    }


def _clean(cost: np.ndarray) -> np.ndarray:
    """Zero negligible coefficients (below 1e-12, or 1e-9 of the largest): GLOP calls a
    model with a 1e-178 tonne-km coefficient imprecise."""
    cost = cost.copy()
    cost[np.abs(cost) < max(1e-12, 1e-9 * np.abs(cost).max(initial=0.0))] = 0.0
    return cost


def solve_stages(
    problem: Problem,
    arcs: Arcs,
    *,
    deadline: float | None = None,
    model: AllocationLP | None = None,
    faces: bool = True,
):
    """Run the policy's stages; return (flow per arc, stage results, bound).

    `bound` is the efficacy LP optimum when efficacy is the first stage (a lower bound on
    the weighted unmet of any plan), else None.

    After each stage but the last, later stages are kept (near) optimal for it. Efficacy
    followed by equity gets `equity_tolerance` of slack through a cap row; once equity is
    solved, efficacy is minimised again with equity held at its optimum and the cap pulled
    back to that value (`settle_equity_slack`), so later stages cannot spend slack equity did
    not need, and a warm re-plan ends where a cold plan does. Other stages fix their optimal face
    (`AllocationLP.fix_face`) when `faces`, else get a cap row at optimum + tolerance; if a
    face-fixed stage's value has drifted beyond that cap at the end, the stages run again
    with cap rows. Pass `model` to re-solve a kept model (its caps are released first).
    Raises `LPFailed` when GLOP stops early; the caller falls back.
    """
    order = problem.policy.order
    if model is None:
        model = AllocationLP(problem, arcs, with_equity="equity" in order)
    model.release()
    costs = stage_costs(problem, arcs, model)
    results, bound, x = [], None, None
    for i, name in enumerate(order):
        t0 = time.perf_counter()
        if name == "equity" and any(r.name == "efficacy" and r.objective == 0.0 for r in results):
            x = model.fix_full_equity(costs[name], x)  # no LP needed, see there
            results.append(StageResult(name, model.value(costs[name], x), 0.0, True, True))
            continue
        x = model.minimise(name, costs[name], deadline, first=i == 0)
        value = model.value(costs[name], x)
        proven = model.lp.last_precise
        if name == "equity" and i > 0 and order[i - 1] == "efficacy" and i + 1 < len(order):
            x = model.settle_equity_slack(costs, x, deadline)
            proven = proven and model.lp.last_precise
        if name == "efficacy" and i == 0 and proven:
            bound = value  # later, earlier caps bind it and integer plans may beat it
        if i + 1 == len(order):
            pass  # nothing follows: no cap
        elif faces and name in ARC_STAGES:
            model.fix_face(name, costs[name], x)
        else:
            rel = problem.policy.equity_tolerance if _slack_for_equity(order, i) else 0.0
            model.fix(name, costs[name], x, rel)
        by_face = faces and name in ARC_STAGES and i + 1 < len(order)
        results.append(StageResult(name, value, time.perf_counter() - t0, proven, by_face))
    if faces and _face_drifted(model, costs, results, x):
        return solve_stages(problem, arcs, deadline=deadline, model=model, faces=False)
    return model.arc_flow(x), results, bound


def _face_drifted(model: AllocationLP, costs, results: list[StageResult], x) -> bool:
    """Did a face-fixed stage end above the cap a row would have enforced?"""
    return any(
        model.value(costs[r.name], x) > _cap(r.objective, 0.0) for r in results[:-1] if r.by_face
    )


def _slack_for_equity(order: tuple[str, ...], i: int) -> bool:
    return order[i] == "efficacy" and "equity" in order[i + 1 :]


def _cap(value: float, rel: float) -> float:
    return value + rel * abs(value) + STAGE_RTOL * max(1.0, abs(value))
