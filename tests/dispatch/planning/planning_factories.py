"""Small problem builders for the planner tests (plain dicts, as a caller would send)."""

from __future__ import annotations

import json

from dispatch.planning import check_plan


def material(ident="tent", weight=0.03, criticality=3):
    return {"id": ident, "unit_weight_t": weight, "unit_volume_m3": 0.1, "criticality": criticality}


def source(ident, stock, *, capacity=1000.0, lead=0.0, lat=37.0, lon=112.0):
    return {
        "id": ident,
        "lat": lat,
        "lon": lon,
        "lead_time_h": lead,
        "transport_capacity_t": capacity,
        "stock": stock,
    }


def point(ident, demands, *, severity=3, lat=37.0, lon=112.0):
    return {
        "id": ident,
        "lat": lat,
        "lon": lon,
        "severity": severity,
        "demands": [{"material": m, "quantity": q, "needed_within_h": h} for m, q, h in demands],
    }


def travel(src, pt, hours, km=None):
    return {"source": src, "point": pt, "hours": hours, "km": hours * 60 if km is None else km}


def problem(materials, sources, points, travels=(), order=None, tolerance=0.02):
    data = {
        "materials": materials,
        "sources": sources,
        "points": points,
        "travel": list(travels),
        "speed_kmh": 60,
        "road_factor": 1.3,
        "handling_h": 1,
    }
    if order is not None:
        data["policy"] = {"order": order, "equity_tolerance": tolerance}
    return data


def shipped(plan) -> dict[tuple[str, str, str], int]:
    """{(source, point, material): quantity} of a plan."""
    return {(ln["source"], ln["point"], ln["material"]): ln["quantity"] for ln in plan.lines}


def assert_valid(problem_dict, plan):
    """Every planner test ends here: the plan must pass the solver-free validator."""
    result = check_plan(problem_dict, plan)
    assert result.errors == [], result.errors
    return result


def canonical(plan) -> str:
    """The plan's JSON without timings, for byte-level comparisons."""
    data = plan.to_dict()
    data.pop("timings")
    return json.dumps(data, sort_keys=True)
