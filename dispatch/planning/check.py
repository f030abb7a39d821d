"""Validate a plan against its problem without any solver.

Used by every planner test and by anyone who receives a plan from elsewhere (an edited plan,
another tool). It re-derives everything from the problem and the plan's lines: stock,
demand, transport capacity, reachability by deadline, arrival times, unmet list, metrics.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .plan import Plan, compute_metrics, efficacy_gap
from .problem import Problem, demand_index, load_problem

ABS_TOL = 1e-6
REL_TOL = 1e-9


@dataclass
class PlanCheck:
    """Outcome of `check_plan`: `errors` is empty when the plan is valid."""

    errors: list[str]
    metrics: dict

    @property
    def ok(self) -> bool:
        return not self.errors


def check_plan(problem, plan) -> PlanCheck:
    """Check every constraint and recompute metrics; never raises for a bad plan.

    `problem` is a dict or `Problem`; `plan` a `Plan` or its `to_dict()` form.
    """
    problem = load_problem(problem)
    data = plan.to_dict() if isinstance(plan, Plan) else plan
    errors: list[str] = []
    kept, rows = _line_arrays(problem, data.get("lines", []), errors)
    src, dem, qty, arrival, km = rows
    _check_arrivals(problem, kept, rows, errors)
    _check_totals(problem, src, dem, qty, errors)
    _check_unmet(problem, dem, qty, data.get("unmet", []), errors)
    metrics = compute_metrics(problem, src, dem, qty, arrival, km)
    _check_metrics(data.get("metrics", {}), metrics, errors)
    return PlanCheck(errors, metrics)


def _line_arrays(problem: Problem, lines: list, errors: list) -> tuple:
    """Resolve ids to indices; lines with unknown ids or bad quantities are reported.

    Returns the resolved lines and, aligned with them, arrays of source, demand, quantity
    and the arrival time and km the problem implies.
    """
    s_index = {s: i for i, s in enumerate(problem.source_ids)}
    d_index = demand_index(problem)
    kept, src, dem, qty, seen = [], [], [], [], set()
    for i, line in enumerate(lines):
        key = (line.get("point"), line.get("material"))
        q = line.get("quantity")
        if line.get("source") not in s_index or key not in d_index:
            errors.append(f"lines[{i}]: no such source or demand {line.get('source')!r} -> {key}")
            continue
        if isinstance(q, bool) or not isinstance(q, int) or q <= 0:
            errors.append(f"lines[{i}].quantity: expected a positive whole number, got {q!r}")
            continue
        if (line["source"], key) in seen:
            errors.append(f"lines[{i}]: duplicate line {line['source']!r} -> {key}")
        seen.add((line["source"], key))
        kept.append(line)
        src.append(s_index[line["source"]])
        dem.append(d_index[key])
        qty.append(q)
    src, dem = np.array(src, np.int64), np.array(dem, np.int64)
    arrival = problem.lead_time_h[src] + problem.hours[src, problem.demand_point[dem]]
    km = problem.km[src, problem.demand_point[dem]]
    return kept, (src, dem, np.array(qty, np.int64), arrival, km)


def _check_arrivals(problem: Problem, valid: list, rows: tuple, errors: list) -> None:
    src, dem, _, arrival, km = rows
    deadline = problem.demand_deadline_h[dem]
    for i in np.flatnonzero(arrival > deadline + ABS_TOL):
        errors.append(
            f"reachability: {problem.source_ids[src[i]]} arrives at {arrival[i]:.3f} h, "
            f"after the {deadline[i]:g} h deadline of {valid[i]['point']}/{valid[i]['material']}"
        )
    for i, line in enumerate(valid):
        if abs(line.get("arrival_h", -1) - arrival[i]) > 1e-5:
            errors.append(
                f"arrival_h: line {i} says {line.get('arrival_h')}, expected {arrival[i]:.6f}"
            )
        if abs(line.get("km", -1) - km[i]) > 1e-5:
            errors.append(f"km: line {i} says {line.get('km')}, expected {km[i]:.6f}")


def _check_totals(problem: Problem, src, dem, qty, errors: list) -> None:
    """Stock per (source, material), demand per (point, material), tonnage per source."""
    mat = problem.demand_material[dem]
    shipped = np.zeros_like(problem.stock)
    np.add.at(shipped, (src, mat), qty)
    for s, m in zip(*np.nonzero(shipped > problem.stock)):
        errors.append(
            f"stock: {problem.source_ids[s]} ships {shipped[s, m]} {problem.material_ids[m]}, "
            f"holds {problem.stock[s, m]}"
        )
    delivered = np.bincount(dem, weights=qty, minlength=problem.demand_qty.size)
    for d in np.flatnonzero(delivered > problem.demand_qty):
        errors.append(
            f"demand: {problem.point_ids[problem.demand_point[d]]} receives {int(delivered[d])} "
            f"{problem.material_ids[problem.demand_material[d]]}, asked {problem.demand_qty[d]}"
        )
    tonnes = np.bincount(
        src, weights=qty * problem.unit_weight_t[mat], minlength=len(problem.source_ids)
    )
    cap = problem.transport_capacity_t
    for s in np.flatnonzero(tonnes > cap * (1 + REL_TOL) + ABS_TOL):
        errors.append(
            f"capacity: {problem.source_ids[s]} ships {tonnes[s]:.6f} t, can {cap[s]:g} t"
        )


def _check_unmet(problem: Problem, dem, qty, unmet: list, errors: list) -> None:
    delivered = np.bincount(dem, weights=qty, minlength=problem.demand_qty.size)
    short = problem.demand_qty - delivered.astype(np.int64)
    expected = {
        (
            problem.point_ids[problem.demand_point[d]],
            problem.material_ids[problem.demand_material[d]],
        ): int(short[d])
        for d in np.flatnonzero(short > 0)
    }
    stated = {(u.get("point"), u.get("material")): u.get("quantity") for u in unmet}
    if stated != expected:
        errors.append(
            f"unmet: plan lists {len(stated)} entries that differ from demand - delivered"
        )


def _check_metrics(stated: dict, recomputed: dict, errors: list) -> None:
    """Stated metrics must match the recomputed ones; a bound may not beat the plan."""
    for name, value in recomputed.items():
        if name in stated and not _close(stated[name], value):
            errors.append(f"metrics.{name}: plan says {stated[name]}, recomputed {value}")
    bound = stated.get("efficacy_bound")
    if bound is not None:
        if bound > recomputed["weighted_unmet"] + 1e-6 * max(1.0, bound):
            errors.append(f"metrics.efficacy_bound {bound} exceeds the plan's weighted unmet")
        gap = efficacy_gap(recomputed["weighted_unmet"], bound)
        if "efficacy_gap" in stated and not _close(stated["efficacy_gap"], gap):
            errors.append(
                f"metrics.efficacy_gap: plan says {stated['efficacy_gap']}, recomputed {gap}"
            )


def _close(a, b) -> bool:
    if a is None or b is None:
        return a is b
    return abs(float(a) - float(b)) <= 1e-6 * max(1.0, abs(float(b)))
