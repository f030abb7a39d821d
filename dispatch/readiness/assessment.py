"""One scenario against one stock snapshot: the planner (efficacy only) run once per window, and
the coverage it reaches. Pure: plain dicts in, plain dicts out; no Flask, no database.

A scenario here is a dict:
    {"points": [{"id": county code, "lat", "lon", "severity"}],
     "demands": [{"county", "material", "asked", "weight"}]}
A snapshot is {window hours: [planner sources]} (docs/planner.md, `sources`), each source carrying
its `depot_id` and `kind` beside the planner's fields (the planner ignores extra fields).
"""

from collections import defaultdict

from dispatch.planning import plan_allocation

from . import rules


def problem_for(
    scenario: dict, sources: list[dict], materials: list[dict], window: int, settings: dict
) -> dict:
    """The planner's problem: every demand due within `window` hours; efficacy only (the
    coverage question: how much arrives in time, weighted by priority; no equity give-up)."""
    by_point = defaultdict(list)
    for demand in scenario["demands"]:
        if demand["asked"] > 0:
            by_point[demand["county"]].append(
                {
                    "material": demand["material"],
                    "quantity": demand["asked"],
                    "needed_within_h": window,
                }
            )
    used = {d["material"] for d in scenario["demands"]}
    return {
        "materials": [m for m in materials if m["id"] in used],
        "sources": [
            {**s, "stock": {m: q for m, q in s["stock"].items() if m in used}} for s in sources
        ],
        "points": [
            {**{k: p[k] for k in ("id", "lat", "lon", "severity")}, "demands": by_point[p["id"]]}
            for p in scenario["points"]
            if by_point[p["id"]]
        ],
        "speed_kmh": settings["speed_kmh"],
        "road_factor": settings["road_factor"],
        "handling_h": settings["handling_h"],
        "policy": {"order": ["efficacy"], "equity_tolerance": 0.0},
    }


def delivered_by_window(
    scenario: dict, snapshot: dict, materials: list[dict], settings: dict, windows=rules.WINDOWS_H
) -> dict:
    """{(county, material): {window: units arriving in time}} from one planner run per window."""
    delivered: dict = defaultdict(dict)
    for window in windows:
        problem = problem_for(scenario, snapshot[window], materials, window, settings)
        if not problem["points"]:
            continue
        plan = plan_allocation(problem).to_dict()
        for line in plan["lines"]:
            cell = delivered[(line["point"], line["material"])]
            cell[window] = cell.get(window, 0) + int(line["quantity"])
    return delivered


def assess(scenario: dict, snapshot: dict, materials: list[dict], settings: dict) -> dict:
    """The cells (one per county and material, with units delivered per window) and their
    summary (rules.summarise)."""
    delivered = delivered_by_window(scenario, snapshot, materials, settings)
    cells = [
        {
            "county": d["county"],
            "material": d["material"],
            "asked": d["asked"],
            "weight": d["weight"],
            "delivered": {
                w: delivered.get((d["county"], d["material"]), {}).get(w, 0)
                for w in rules.WINDOWS_H
            },
        }
        for d in scenario["demands"]
    ]
    summary = rules.summarise(cells)
    return {
        "cells": [
            {**c, "delivered": {str(w): q for w, q in c["delivered"].items()}} for c in cells
        ],
        **summary,
    }
