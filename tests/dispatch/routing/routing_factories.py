"""Small routing problems for the router tests (plain dicts, as a caller would send).

Places sit on a line of latitude; the tests that need exact hours give `travel` overrides
(`leg`), so every expected time below can be worked out by hand.
"""

from __future__ import annotations

import json

from dispatch.routing import check_routes


def depot(ident="D1", *, lon=112.0, opens=0, loading=0):
    return {"id": ident, "lat": 37.0, "lon": lon, "opens_h": opens, "loading_h_per_t": loading}


def vehicle(ident, payload, *, depot="D1", volume=None, **extra):
    return {"id": ident, "depot": depot, "payload_t": payload, "volume_m3": volume, **extra}


def point(ident, *, lon=112.5, unloading=0.5):
    return {"id": ident, "lat": 37.0, "lon": lon, "unloading_h": unloading}


def delivery(ident, point, quantity, *, depot="D1", weight=0.1, volume=0.1, due=24, priority=1):
    return {
        "id": ident,
        "depot": depot,
        "point": point,
        "material": "tent",
        "quantity": quantity,
        "unit_weight_t": weight,
        "unit_volume_m3": volume,
        "due_h": due,
        "priority": priority,
    }


def leg(a, b, hours, km=None):
    return {"from": a, "to": b, "hours": hours, "km": hours * 60 if km is None else km}


def problem(depots, vehicles, points, deliveries, travel=(), **top):
    return {
        "depots": depots,
        "vehicles": vehicles,
        "points": points,
        "deliveries": deliveries,
        "travel": list(travel),
        **top,
    }


def assert_valid(problem_dict, answer):
    """Every router test ends here: the answer must pass the solver-free checker."""
    assert answer["status"] in ("optimal", "feasible"), answer
    violations = check_routes(problem_dict, answer)
    assert violations == [], violations
    return answer


def loads(answer) -> dict[str, dict[str, int]]:
    """{vehicle: {delivery: units}} of an answer."""
    out: dict[str, dict[str, int]] = {}
    for route in answer["routes"]:
        for stop in route["stops"]:
            for drop in stop["drops"]:
                mine = out.setdefault(route["vehicle"], {})
                mine[drop["delivery"]] = mine.get(drop["delivery"], 0) + drop["quantity"]
    return out


def visits(answer) -> dict[str, list[str]]:
    """{vehicle: [point, ...]} in route order."""
    return {r["vehicle"]: [s["point"] for s in r["stops"]] for r in answer["routes"]}


def canonical(answer) -> str:
    """The answer's JSON without timings, for byte-level comparisons."""
    data = dict(answer)
    data.pop("timings", None)
    return json.dumps(data, sort_keys=True)
