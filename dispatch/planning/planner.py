"""Entry points: `plan_allocation` (one problem, one plan) and `Replanner` (edit, re-plan).

Which engine runs:
- `greedy=True`: the greedy rule only (no solver, no arc list).
- up to `LP_ARC_LIMIT` reachable arcs: the staged LP on every arc, then rounding + repair.
  Stage optima are proven by GLOP; the efficacy LP optimum is the bound.
- beyond it: efficacy as one min-cost flow in tonnes (flow.py), transport tonnage included,
  rounded + repaired; its optimum is the bound. A second flow serves the same receipts at
  the least cost for the policy's next arc stage (speed or cost); equity is not optimised.
- when the flow is estimated (`FLOW_SECONDS_PER_PAIR`) not to finish within the time budget
  (`time_limit_s`, default `LARGE_TIME_S`): greedy at once, status "feasible", no bound.
If GLOP runs out of time before any usable result, the plan is greedy, status "time_limit".
"""

from __future__ import annotations

import dataclasses
import time


from .hubflow import hub_efficacy_flow
from .greedy import greedy_lines
from .lp import LPFailed
from .plan import Plan, assemble_plan
from .problem import (
    Problem,
    ProblemError,
    demand_index,
    load_problem,
    reachable_arcs,
    reachable_pairs,
    sorted_arcs,
)
from .rounding import integer_lines
from .solver import AllocationLP, solve_stages

LP_ARC_LIMIT = 400_000
LARGE_TIME_S = 50.0  # default budget above LP_ARC_LIMIT arcs when no time limit is given
# Seconds of the min-cost flow per (source, demand) candidate pair, measured on this 2-core
# machine (docs/benchmarks.md), both flows: mid scale 1.8 M pairs ~10 s, national 45 M ~8 min.
FLOW_SECONDS_PER_PAIR = 1.2e-5
# The speed or cost flow after efficacy runs over the arcs efficacy used and each demand's
# this many cheapest reachable arcs for that stage (not over every reachable arc).
CHEAPEST_ARCS = 30


def plan_allocation(problem, *, greedy: bool = False, time_limit_s: float | None = None) -> Plan:
    """Plan the allocation of `problem` (dict or `Problem`). Raises `ProblemError` on bad input.

    `time_limit_s` bounds the LP stages; the plan is always feasible and complete.
    """
    t0 = time.perf_counter()
    problem = load_problem(problem)
    t_load = time.perf_counter()
    if greedy:  # no arc list: the greedy rule finds its own sources, fast at any scale
        return _finish(
            problem, greedy_lines(problem), "greedy", None, {}, (t0, t_load, t_load), None
        )
    deadline = None if time_limit_s is None else t0 + time_limit_s
    pairs = candidate_pairs(problem)
    if pairs > LP_ARC_LIMIT:
        budget = LARGE_TIME_S if time_limit_s is None else time_limit_s
        estimate = FLOW_SECONDS_PER_PAIR * pairs
        if estimate > budget:
            extra = {
                "engine": "greedy",
                "fallback_reason": f"too large for the time budget ({budget:.0f} s): "
                f"the exact flow would take about {estimate:.0f} s",
            }
            lines = greedy_lines(problem)
            return _finish(problem, lines, "feasible", None, extra, (t0, t_load, t_load), None)
    source, demand = reachable_pairs(problem)
    if source.size > LP_ARC_LIMIT:
        t_arcs = time.perf_counter()
        lines, status, bound, extra, _ = _flow_plan(problem)
        return _finish(problem, lines, status, bound, extra, (t0, t_load, t_arcs), source.size)
    arcs, _ = sorted_arcs(problem, source, demand)
    t_arcs = time.perf_counter()
    lines, status, bound, extra = _staged_plan(problem, arcs, deadline)
    return _finish(problem, lines, status, bound, extra, (t0, t_load, t_arcs), len(arcs))


def candidate_pairs(problem: Problem) -> int:
    """(source, demand) pairs with stock of the demanded material: reachable arcs or more."""
    holders = (problem.stock > 0).sum(axis=0)
    return int(holders[problem.demand_material].sum())


def _finish(problem, lines, status, bound, extra, marks, n_arcs) -> Plan:
    """Assemble the plan and its timings (marks: start, loaded, arcs built)."""
    t_solve = time.perf_counter()
    src, dem, qty = lines
    plan = assemble_plan(problem, src, dem, qty, status=status, bound=bound, extra=extra)
    t0, t_load, t_arcs = marks
    plan.timings = {
        "load_s": round(t_load - t0, 4),
        "arcs_s": round(t_arcs - t_load, 4),
        "solve_s": round(t_solve - t_arcs, 4),
        "total_s": round(time.perf_counter() - t0, 4),
        "arcs": n_arcs,
    }
    return plan


def _staged_plan(problem: Problem, arcs, deadline, model=None):
    """Staged LP, rounded; on a time limit, the greedy plan."""
    try:
        x, stages, bound = solve_stages(problem, arcs, deadline=deadline, model=model)
    except LPFailed as exc:
        extra = {"engine": "greedy", "fallback_reason": str(exc).strip()}
        return greedy_lines(problem), "time_limit", None, extra
    extra = {
        "engine": "lp",
        "stage_objectives": {
            s.name: round(-s.objective if s.name == "equity" else s.objective, 6) for s in stages
        },
    }
    unproven = [s.name for s in stages if not s.proven]
    if unproven:
        extra["unproven_stages"] = unproven
    status = "feasible" if unproven else "optimal"
    return integer_lines(problem, arcs, x), status, bound, extra


def _flow_plan(problem: Problem):
    """Efficacy by the min-cost flow in tonnes over the hub network (hubs.py), the next arc
    stage over each demand's CHEAPEST_ARCS cheapest arcs, made whole and feasible."""
    then = next((s for s in problem.policy.order if s in ("speed", "cost")), None)
    source, demand, units, bound, reachable = hub_efficacy_flow(problem, then, CHEAPEST_ARCS)
    used = units > 0
    arcs, order = sorted_arcs(problem, source[used], demand[used])
    lines = integer_lines(problem, arcs, units[used][order])
    extra = {"engine": "flow", "arcs_in_flow": reachable}
    return lines, "feasible", bound, extra, reachable


class Replanner:
    """Plan once, then re-plan quickly after demands change (same LP engine as above).

    The LP stays inside GLOP between plans; an edit changes a few bounds and the stages
    restart from the previous basis. Sources, stock and travel are fixed for the
    Replanner's life: build a new one when they change.

        replanner = Replanner(problem)
        first = replanner.plan
        second = replanner.set_demand("P1", "tent", 350)
    """

    def __init__(self, problem, *, time_limit_s: float | None = None):
        t0 = time.perf_counter()
        problem = load_problem(problem)
        # Own copy of the demand quantities: edits must not leak into the caller's Problem.
        self.problem = dataclasses.replace(problem, demand_qty=problem.demand_qty.copy())
        t_load = time.perf_counter()
        self.arcs = reachable_arcs(self.problem)
        t_arcs = time.perf_counter()
        self.time_limit_s = time_limit_s
        self._index = demand_index(self.problem)
        self._model = AllocationLP(
            self.problem, self.arcs, "equity" in self.problem.policy.order, all_rows=True
        )
        self.plan = self._solve((t0, t_load, t_arcs))

    def set_demand(self, point: str, material: str, quantity: int) -> Plan:
        """Change one existing demand's quantity and return the new plan."""
        if (point, material) not in self._index:
            raise ProblemError(f"demand {point}/{material}: no such demand in this problem")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
            raise ProblemError(f"demand {point}/{material}.quantity: expected a whole number >= 0")
        t0 = time.perf_counter()
        d = self._index[(point, material)]
        self.problem.demand_qty[d] = quantity
        self._model.set_demand(d, quantity)
        self.plan = self._solve((t0, t0, t0))
        return self.plan

    def _solve(self, marks) -> Plan:
        deadline = None if self.time_limit_s is None else marks[0] + self.time_limit_s
        lines, status, bound, extra = _staged_plan(self.problem, self.arcs, deadline, self._model)
        return _finish(self.problem, lines, status, bound, extra, marks, len(self.arcs))
