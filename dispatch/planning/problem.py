"""Problem loading: turn the problem dict into validated arrays.

The planner never works on the raw dict. `load_problem` checks every field once, raises
`ProblemError` naming the offending path, and returns a `Problem` whose numbers live in
numpy arrays indexed by position (sources, points, materials, demands). Travel times and
reachable arcs are derived here because every solver (LP, flow, greedy) and the validator
need exactly the same ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from core.limits import MAX_QUANTITY

STAGES = ("efficacy", "equity", "speed", "cost")
DEFAULT_ORDER = STAGES
DEFAULT_EQUITY_TOLERANCE = 0.02
DEFAULT_SPEED_KMH = 60.0
DEFAULT_ROAD_FACTOR = 1.3
DEFAULT_HANDLING_H = 0.0
EARTH_RADIUS_KM = 6371.0088


class ProblemError(ValueError):
    """The problem dict is malformed; the message starts with the offending path."""


@dataclass(frozen=True)
class Policy:
    """Stage order and the slack efficacy may give up to equity."""

    order: tuple[str, ...] = DEFAULT_ORDER
    equity_tolerance: float = DEFAULT_EQUITY_TOLERANCE


@dataclass
class Problem:
    """A validated problem. Arrays are indexed by position in the id lists.

    Demands are flattened: demand k asks `demand_qty[k]` units of material
    `demand_material[k]` at point `demand_point[k]` within `demand_deadline_h[k]` hours.
    `stock[s, m]` is the units source s holds of material m.
    """

    material_ids: list[str]
    unit_weight_t: np.ndarray
    criticality: np.ndarray
    source_ids: list[str]
    source_lat: np.ndarray
    source_lon: np.ndarray
    lead_time_h: np.ndarray
    transport_capacity_t: np.ndarray
    stock: np.ndarray
    point_ids: list[str]
    point_lat: np.ndarray
    point_lon: np.ndarray
    severity: np.ndarray
    demand_point: np.ndarray
    demand_material: np.ndarray
    demand_qty: np.ndarray
    demand_deadline_h: np.ndarray
    hours: np.ndarray
    km: np.ndarray
    policy: Policy = field(default_factory=Policy)

    @property
    def demand_priority(self) -> np.ndarray:
        """Priority weight of each demand: point severity x material criticality."""
        return (self.severity[self.demand_point] * self.criticality[self.demand_material]).astype(
            np.float64
        )

    @property
    def demand_weight_t(self) -> np.ndarray:
        return self.unit_weight_t[self.demand_material]


@dataclass
class Arcs:
    """Every (source, demand) pair that can arrive by the deadline and has stock.

    Sorted by demand, then arrival time, then source index, so that "nearest first" is just
    the order within a demand and results do not depend on hash or insertion order.
    """

    source: np.ndarray
    demand: np.ndarray
    arrival_h: np.ndarray
    km: np.ndarray

    def __len__(self) -> int:
        return int(self.source.size)


def haversine_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Great-circle distance in km; arguments broadcast like numpy arrays."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dlmb = np.radians(lon2) - np.radians(lon1)
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def load_problem(data) -> Problem:
    """Validate a problem dict (see docs/planner.md) and return a `Problem`.

    A `Problem` passes through unchanged. Raises `ProblemError` on any malformed field.
    """
    if isinstance(data, Problem):
        return data
    if not isinstance(data, dict):
        raise ProblemError("problem: expected a JSON object")
    mats = _load_materials(_list(data, "materials", "problem"))
    mat_index = {m: i for i, m in enumerate(mats["ids"])}
    srcs = _load_sources(_list(data, "sources", "problem"), mat_index)
    pts = _load_points(_list(data, "points", "problem"), mat_index)
    speed = _number(data, "speed_kmh", "problem", default=DEFAULT_SPEED_KMH, positive=True)
    road = _number(data, "road_factor", "problem", default=DEFAULT_ROAD_FACTOR, positive=True)
    handling = _number(data, "handling_h", "problem", default=DEFAULT_HANDLING_H)
    km = road * haversine_km(
        srcs["lat"][:, None], srcs["lon"][:, None], pts["lat"][None, :], pts["lon"][None, :]
    )
    hours = km / speed + handling
    _apply_travel(data.get("travel", []), srcs["ids"], pts["ids"], hours, km)
    return Problem(
        material_ids=mats["ids"],
        unit_weight_t=mats["weight"],
        criticality=mats["criticality"],
        source_ids=srcs["ids"],
        source_lat=srcs["lat"],
        source_lon=srcs["lon"],
        lead_time_h=srcs["lead"],
        transport_capacity_t=srcs["capacity"],
        stock=srcs["stock"],
        point_ids=pts["ids"],
        point_lat=pts["lat"],
        point_lon=pts["lon"],
        severity=pts["severity"],
        demand_point=pts["d_point"],
        demand_material=pts["d_material"],
        demand_qty=pts["d_qty"],
        demand_deadline_h=pts["d_deadline"],
        hours=hours,
        km=km,
        policy=_load_policy(data.get("policy", {})),
    )


def reachable_arcs(problem: Problem) -> Arcs:
    """All arcs with stock > 0 and lead time + travel hours <= the demand's deadline."""
    return sorted_arcs(problem, *reachable_pairs(problem))[0]


def reachable_pairs(problem: Problem) -> tuple[np.ndarray, np.ndarray]:
    """(source, demand) of every reachable arc, grouped by material, unsorted (sorting
    24 M national arcs takes longer than listing them)."""
    parts = []
    for m in np.unique(problem.demand_material):
        dem = np.flatnonzero(problem.demand_material == m)
        src = np.flatnonzero(problem.stock[:, m] > 0)
        if src.size == 0:
            continue
        pts = problem.demand_point[dem]
        arrival = problem.lead_time_h[src, None] + problem.hours[np.ix_(src, pts)]
        si, di = np.nonzero(arrival <= problem.demand_deadline_h[dem][None, :])
        parts.append((src[si], dem[di]))
    if not parts:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    source, demand = (np.concatenate(c) for c in zip(*parts))
    return source, demand


def sorted_arcs(
    problem: Problem, source: np.ndarray, demand: np.ndarray
) -> tuple[Arcs, np.ndarray]:
    """The arcs source[i] -> demand[i], by demand, then arrival, then source; and the order
    (arcs[k] is pair order[k]) for values that come with the pairs."""
    point = problem.demand_point[demand]
    arrival_h = problem.lead_time_h[source] + problem.hours[source, point]
    order = np.lexsort((source, arrival_h, demand))
    source, demand, point = source[order], demand[order], point[order]
    return Arcs(source, demand, arrival_h[order], problem.km[source, point]), order


def demand_index(problem: Problem) -> dict[tuple[str, str], int]:
    """Map (point id, material id) to the demand position."""
    return {
        (problem.point_ids[p], problem.material_ids[m]): k
        for k, (p, m) in enumerate(zip(problem.demand_point, problem.demand_material))
    }


# --- field readers -------------------------------------------------------------------------


def _list(obj: dict, key: str, path: str) -> list:
    value = obj.get(key)
    if not isinstance(value, list):
        raise ProblemError(f"{path}.{key}: expected a list")
    return value


def _obj(value, path: str) -> dict:
    if not isinstance(value, dict):
        raise ProblemError(f"{path}: expected an object")
    return value


def _ident(obj: dict, key: str, path: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise ProblemError(f"{path}.{key}: expected a non-empty string")
    return value


def _number(obj, key, path, *, default=None, positive=False, upper=None) -> float:
    """A finite non-negative number (strictly positive if asked); `default` if absent."""
    value = obj.get(key, default)
    where = f"{path}.{key}"
    if value is None:
        raise ProblemError(f"{where}: required")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ProblemError(f"{where}: expected a finite number")
    if value < 0 or (positive and value == 0):
        raise ProblemError(f"{where}: must be {'positive' if positive else 'non-negative'}")
    if upper is not None and value > upper:
        raise ProblemError(f"{where}: must be at most {upper}")
    return float(value)


def _whole(value, where: str) -> int:
    """A whole number of units from 0 to MAX_QUANTITY, the bound of every quantity (JSON 3 or
    3.0, never 2.5 or true)."""
    ok = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if isinstance(value, bool) or not ok:
        raise ProblemError(f"{where}: expected a whole number of units")
    if value < 0:
        raise ProblemError(f"{where}: must be non-negative")
    if value > MAX_QUANTITY:
        raise ProblemError(f"{where}: must be at most {MAX_QUANTITY} units")
    return int(value)


def _level(obj: dict, key: str, path: str) -> int:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 3:
        raise ProblemError(f"{path}.{key}: expected an integer 1, 2 or 3")
    return value


def _coordinate(obj: dict, path: str) -> tuple[float, float]:
    lat = _signed(obj, "lat", path, 90.0)
    lon = _signed(obj, "lon", path, 180.0)
    return lat, lon


def _signed(obj: dict, key: str, path: str, limit: float) -> float:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ProblemError(f"{path}.{key}: expected a number")
    if abs(value) > limit:
        raise ProblemError(f"{path}.{key}: must be within +-{limit:g}")
    return float(value)


def _unique(ids: list[str], path: str) -> None:
    seen = set()
    for i, ident in enumerate(ids):
        if ident in seen:
            raise ProblemError(f"{path}[{i}].id: duplicate id {ident!r}")
        seen.add(ident)


# --- sections ------------------------------------------------------------------------------


def _load_materials(items: list) -> dict:
    ids, weight, crit = [], [], []
    for i, raw in enumerate(items):
        path = f"materials[{i}]"
        item = _obj(raw, path)
        ids.append(_ident(item, "id", path))
        weight.append(_number(item, "unit_weight_t", path))
        _number(item, "unit_volume_m3", path, default=0.0)
        crit.append(_level(item, "criticality", path))
    _unique(ids, "materials")
    return {"ids": ids, "weight": np.array(weight, float), "criticality": np.array(crit, np.int64)}


def _load_sources(items: list, mat_index: dict) -> dict:
    n = len(items)
    out = {
        "ids": [],
        "lat": np.zeros(n),
        "lon": np.zeros(n),
        "lead": np.zeros(n),
        "capacity": np.zeros(n),
        "stock": np.zeros((n, len(mat_index)), np.int64),
    }
    for i, raw in enumerate(items):
        path = f"sources[{i}]"
        item = _obj(raw, path)
        out["ids"].append(_ident(item, "id", path))
        out["lat"][i], out["lon"][i] = _coordinate(item, path)
        out["lead"][i] = _number(item, "lead_time_h", path, default=0.0)
        out["capacity"][i] = _number(item, "transport_capacity_t", path)
        stock = _obj(item.get("stock", {}), f"{path}.stock")
        for mat, qty in stock.items():
            if mat not in mat_index:
                raise ProblemError(f"{path}.stock.{mat}: unknown material id")
            out["stock"][i, mat_index[mat]] = _whole(qty, f"{path}.stock.{mat}")
    _unique(out["ids"], "sources")
    return out


def _load_points(items: list, mat_index: dict) -> dict:
    n = len(items)
    out = {"ids": [], "lat": np.zeros(n), "lon": np.zeros(n), "severity": np.zeros(n, np.int64)}
    d_point, d_mat, d_qty, d_deadline = [], [], [], []
    for i, raw in enumerate(items):
        path = f"points[{i}]"
        item = _obj(raw, path)
        out["ids"].append(_ident(item, "id", path))
        out["lat"][i], out["lon"][i] = _coordinate(item, path)
        out["severity"][i] = _level(item, "severity", path)
        seen = set()
        for j, draw in enumerate(_list(item, "demands", path)):
            dpath = f"{path}.demands[{j}]"
            demand = _obj(draw, dpath)
            mat = _ident(demand, "material", dpath)
            if mat not in mat_index:
                raise ProblemError(f"{dpath}.material: unknown material id {mat!r}")
            if mat in seen:
                raise ProblemError(f"{dpath}.material: {mat!r} already demanded by this point")
            seen.add(mat)
            d_point.append(i)
            d_mat.append(mat_index[mat])
            d_qty.append(_whole(demand.get("quantity"), f"{dpath}.quantity"))
            d_deadline.append(_number(demand, "needed_within_h", dpath))
    _unique(out["ids"], "points")
    out["d_point"] = np.array(d_point, np.int64)
    out["d_material"] = np.array(d_mat, np.int64)
    out["d_qty"] = np.array(d_qty, np.int64)
    out["d_deadline"] = np.array(d_deadline, float)
    return out


def _apply_travel(items, source_ids, point_ids, hours, km) -> None:
    """Overwrite the haversine estimate with measured travel where given."""
    if not isinstance(items, list):
        raise ProblemError("problem.travel: expected a list")
    s_index = {s: i for i, s in enumerate(source_ids)}
    p_index = {p: i for i, p in enumerate(point_ids)}
    for i, raw in enumerate(items):
        path = f"travel[{i}]"
        item = _obj(raw, path)
        src, pt = _ident(item, "source", path), _ident(item, "point", path)
        if src not in s_index:
            raise ProblemError(f"{path}.source: unknown source id {src!r}")
        if pt not in p_index:
            raise ProblemError(f"{path}.point: unknown point id {pt!r}")
        hours[s_index[src], p_index[pt]] = _number(item, "hours", path)
        if "km" in item:
            km[s_index[src], p_index[pt]] = _number(item, "km", path)


def _load_policy(raw) -> Policy:
    policy = _obj(raw, "policy")
    order = policy.get("order", list(DEFAULT_ORDER))
    if not isinstance(order, list) or not order:
        raise ProblemError("policy.order: expected a non-empty list of stage names")
    for i, stage in enumerate(order):
        if stage not in STAGES:
            raise ProblemError(f"policy.order[{i}]: unknown stage {stage!r}; use {list(STAGES)}")
    if len(set(order)) != len(order):
        raise ProblemError("policy.order: a stage appears twice")
    tol = _number(policy, "equity_tolerance", "policy", default=DEFAULT_EQUITY_TOLERANCE, upper=1.0)
    return Policy(order=tuple(order), equity_tolerance=tol)
