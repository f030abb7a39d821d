"""The plan: an integer flow on arcs, turned into lines, unmet demand and metrics.

Every solver ends here, and `check_plan` recomputes the same metrics from a plan's lines,
so the formulas exist once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .problem import Problem

DECIMALS = 6  # JSON floats are rounded so that equal plans print byte-identical


@dataclass
class Plan:
    """A dispatch plan. `to_dict()` gives the documented JSON shape."""

    status: str
    lines: list[dict]
    unmet: list[dict]
    metrics: dict
    timings: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "status": self.status,
            "lines": self.lines,
            "unmet": self.unmet,
            "metrics": self.metrics,
            "timings": self.timings,
        }


def compute_metrics(problem: Problem, src, dem, qty, arrival_h, km) -> dict:
    """Plan quality from per-line arrays (line i ships qty[i] units on arc src[i] -> dem[i])."""
    qty = np.asarray(qty, dtype=np.float64)
    prio = problem.demand_priority
    need = problem.demand_qty.astype(np.float64)
    delivered = np.bincount(dem, weights=qty, minlength=need.size)
    unmet = need - delivered
    tonnes = qty * problem.demand_weight_t[dem]
    asked = need > 0
    fill = delivered[asked] / need[asked]
    return {
        "weighted_unmet": _r(float(prio @ unmet)),
        "unmet_units": int(round(unmet.sum())),
        "unmet_t": _r(float(problem.demand_weight_t @ unmet)),
        "delivered_t": _r(float(tonnes.sum())),
        "fill_rate_min": _r(float(fill.min())) if fill.size else 1.0,
        "fill_rate_mean": _r(float(fill.mean())) if fill.size else 1.0,
        "jain_index": _r(_jain(fill)),
        "weighted_tonne_hours": _r(float((tonnes * prio[dem] * arrival_h).sum())),
        "tonne_km": _r(float((tonnes * km).sum())),
    }


def efficacy_gap(weighted_unmet: float, bound: float | None) -> float | None:
    """Relative gap of the plan's weighted unmet to a lower bound.

    Divided by max(bound, 1): weights and units are whole numbers, so below 1 the absolute
    difference is the meaningful figure.
    """
    if bound is None:
        return None
    return _r(max(weighted_unmet - bound, 0.0) / max(bound, 1.0))


def assemble_plan(
    problem: Problem, src, dem, qty, *, status: str, bound: float | None, extra: dict | None = None
) -> Plan:
    """Build the Plan from lines (source, demand, whole quantity); sorted by id."""
    keep = qty > 0
    src, dem, qty = src[keep], dem[keep], qty[keep].astype(np.int64)
    point = problem.demand_point[dem]
    arrival = problem.lead_time_h[src] + problem.hours[src, point]
    km = problem.km[src, point]
    metrics = compute_metrics(problem, src, dem, qty, arrival, km)
    metrics["efficacy_bound"] = None if bound is None else _r(bound)
    metrics["efficacy_gap"] = efficacy_gap(metrics["weighted_unmet"], bound)
    metrics.update(extra or {})
    lines = [
        {
            "source": problem.source_ids[s],
            "point": problem.point_ids[p],
            "material": problem.material_ids[problem.demand_material[d]],
            "quantity": int(q),
            "arrival_h": _r(float(a)),
            "km": _r(float(k)),
        }
        for s, p, d, q, a, k in zip(src, point, dem, qty, arrival, km)
    ]
    lines.sort(key=lambda ln: (ln["point"], ln["material"], ln["source"]))
    delivered = np.bincount(dem, weights=qty, minlength=problem.demand_qty.size)
    short = problem.demand_qty - delivered.astype(np.int64)
    unmet = [
        {
            "point": problem.point_ids[problem.demand_point[d]],
            "material": problem.material_ids[problem.demand_material[d]],
            "quantity": int(short[d]),
        }
        for d in np.flatnonzero(short > 0)
    ]
    unmet.sort(key=lambda u: (u["point"], u["material"]))
    return Plan(status, lines, unmet, metrics)


def _jain(x: np.ndarray) -> float:
    """Jain's fairness index (sum x)^2 / (n sum x^2); 1.0 when all are equal (or none)."""
    square = float((x * x).sum())
    if x.size == 0 or square == 0.0:
        return 1.0
    return float(x.sum()) ** 2 / (x.size * square)


def _r(value: float) -> float:
    return round(float(value), DECIMALS) + 0.0  # + 0.0 turns -0.0 into 0.0
