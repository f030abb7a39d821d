"""Problem loading: turn the routing problem dict into validated records.

The router never works on the raw dict. `load_problem` checks every field once and raises
`ProblemError` whose message starts with the offending path (`vehicles[2].payload_t: ...`).
Every number has an upper bound (the `MAX_*` constants, docs/routing.md "Bounds"), so that
the solver's integer objective cannot overflow and a hostile file cannot ask for hours of
work. Travel between two places is derived here, once, for the solver, the baseline and the
checker alike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from core.limits import MAX_QUANTITY

# Counts
MAX_DEPOTS = 2_000
MAX_VEHICLES = 10_000
MAX_POINTS = 20_000
MAX_DELIVERIES = 50_000
MAX_TRAVEL = 200_000
# Values
MAX_HOURS = 10_000.0  # opens_h, available_from_h, due_h, unloading_h, travel hours (~14 months)
MAX_KM = 100_000.0  # a travel override's km
MAX_PAYLOAD_T = 1_000.0
MAX_VOLUME_M3 = 10_000.0
MAX_UNIT_WEIGHT_T = 1_000.0
MAX_UNIT_VOLUME_M3 = 10_000.0
MAX_LOADING_H_PER_T = 100.0
MAX_SPEED_KMH = 1_000.0
MAX_ROAD_FACTOR = 10.0
MAX_STOPS = 1_000
MAX_PRIORITY = 100

DEFAULT_SPEED_KMH = 60.0
DEFAULT_ROAD_FACTOR = 1.3
DEFAULT_UNLOADING_H = 0.5
CRITERIA = ("late", "vehicles", "km")
EARTH_RADIUS_KM = 6371.0088


class ProblemError(ValueError):
    """The problem dict is malformed; the message starts with the offending path."""


@dataclass(frozen=True)
class Depot:
    id: str
    lat: float
    lon: float
    opens_h: float
    loading_h_per_t: float


@dataclass(frozen=True)
class Vehicle:
    """`volume_m3` None: no volume limit. `speed_kmh` None: the problem's speed.
    `max_stops` None: no limit."""

    id: str
    depot: str
    payload_t: float
    volume_m3: float | None
    speed_kmh: float | None
    available_from_h: float
    max_stops: int | None


@dataclass(frozen=True)
class Point:
    id: str
    lat: float
    lon: float
    unloading_h: float


@dataclass(frozen=True)
class Delivery:
    id: str
    depot: str
    point: str
    material: str
    quantity: int
    unit_weight_t: float
    unit_volume_m3: float
    due_h: float
    priority: int


@dataclass
class RoutingProblem:
    """A validated problem. Records keep the input order; `travel` maps (from, to) ids to
    measured (hours, km) and wins over the haversine estimate for that direction."""

    depots: dict[str, Depot]
    vehicles: dict[str, Vehicle]
    points: dict[str, Point]
    deliveries: dict[str, Delivery]
    travel: dict[tuple[str, str], tuple[float, float]] = field(default_factory=dict)
    speed_kmh: float = DEFAULT_SPEED_KMH
    road_factor: float = DEFAULT_ROAD_FACTOR
    objective: tuple[str, ...] = CRITERIA

    def km(self, a: str, b: str) -> float:
        """Road km from place a to place b (depot or point ids)."""
        if a == b:
            return 0.0
        measured = self.travel.get((a, b))
        if measured is not None:
            return measured[1]
        pa, pb = self._place(a), self._place(b)
        return self.road_factor * haversine_km(pa.lat, pa.lon, pb.lat, pb.lon)

    def hours(self, a: str, b: str, vehicle: Vehicle) -> float:
        """Driving hours from a to b for this vehicle: a travel override's hours as given
        (whatever the vehicle), else km / the vehicle's speed (or the problem's)."""
        if a == b:
            return 0.0
        measured = self.travel.get((a, b))
        if measured is not None:
            return measured[0]
        return self.km(a, b) / (vehicle.speed_kmh or self.speed_kmh)

    def _place(self, ident: str) -> Depot | Point:
        return self.depots.get(ident) or self.points[ident]


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dphi, dlmb = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, max(0.0, a))))


def load_problem(data) -> RoutingProblem:
    """Validate a problem dict (docs/routing.md) and return a `RoutingProblem`.

    A `RoutingProblem` passes through unchanged. Raises `ProblemError` on any malformed field.
    """
    if isinstance(data, RoutingProblem):
        return data
    if not isinstance(data, dict):
        raise ProblemError("problem: expected a JSON object")
    depots = _records(data, "depots", MAX_DEPOTS, _depot)
    points = _records(data, "points", MAX_POINTS, _point)
    for i, ident in enumerate(points):
        if ident in depots:
            raise ProblemError(f"points[{i}].id: {ident!r} is also a depot id")
    vehicles = _records(data, "vehicles", MAX_VEHICLES, lambda v, p: _vehicle(v, p, depots))
    deliveries = _records(
        data, "deliveries", MAX_DELIVERIES, lambda d, p: _delivery(d, p, depots, points)
    )
    places = depots.keys() | points.keys()
    return RoutingProblem(
        depots=depots,
        vehicles=vehicles,
        points=points,
        deliveries=deliveries,
        travel=_travel(data.get("travel", []), places),
        speed_kmh=_number(data, "speed_kmh", "problem", DEFAULT_SPEED_KMH, MAX_SPEED_KMH, True),
        road_factor=_number(
            data, "road_factor", "problem", DEFAULT_ROAD_FACTOR, MAX_ROAD_FACTOR, True
        ),
        objective=_objective(data.get("policy", {})),
    )


# --- sections ------------------------------------------------------------------------------


def _records(data: dict, key: str, limit: int, read) -> dict:
    """The list at `key`, each item read by `read(item, path)`, keyed by unique id."""
    items = data.get(key)
    if not isinstance(items, list):
        raise ProblemError(f"problem.{key}: expected a list")
    if len(items) > limit:
        raise ProblemError(f"problem.{key}: at most {limit} entries, got {len(items)}")
    out = {}
    for i, raw in enumerate(items):
        path = f"{key}[{i}]"
        if not isinstance(raw, dict):
            raise ProblemError(f"{path}: expected an object")
        record = read(raw, path)
        if record.id in out:
            raise ProblemError(f"{path}.id: duplicate id {record.id!r}")
        out[record.id] = record
    return out


def _depot(item: dict, path: str) -> Depot:
    lat, lon = _coordinate(item, path)
    return Depot(
        id=_ident(item, "id", path),
        lat=lat,
        lon=lon,
        opens_h=_number(item, "opens_h", path, 0.0, MAX_HOURS),
        loading_h_per_t=_number(item, "loading_h_per_t", path, 0.0, MAX_LOADING_H_PER_T),
    )


def _point(item: dict, path: str) -> Point:
    lat, lon = _coordinate(item, path)
    return Point(
        id=_ident(item, "id", path),
        lat=lat,
        lon=lon,
        unloading_h=_number(item, "unloading_h", path, DEFAULT_UNLOADING_H, MAX_HOURS),
    )


def _vehicle(item: dict, path: str, depots: dict) -> Vehicle:
    depot = _ident(item, "depot", path)
    if depot not in depots:
        raise ProblemError(f"{path}.depot: unknown depot id {depot!r}")
    volume = item.get("volume_m3")
    speed = item.get("speed_kmh")
    stops = item.get("max_stops")
    if stops is not None and (
        isinstance(stops, bool) or not isinstance(stops, int) or not 1 <= stops <= MAX_STOPS
    ):
        raise ProblemError(f"{path}.max_stops: expected a whole number from 1 to {MAX_STOPS}")
    return Vehicle(
        id=_ident(item, "id", path),
        depot=depot,
        payload_t=_number(item, "payload_t", path, None, MAX_PAYLOAD_T, True),
        volume_m3=None
        if volume is None
        else _number(item, "volume_m3", path, None, MAX_VOLUME_M3, True),
        speed_kmh=None
        if speed is None
        else _number(item, "speed_kmh", path, None, MAX_SPEED_KMH, True),
        available_from_h=_number(item, "available_from_h", path, 0.0, MAX_HOURS),
        max_stops=stops,
    )


def _delivery(item: dict, path: str, depots: dict, points: dict) -> Delivery:
    depot, point = _ident(item, "depot", path), _ident(item, "point", path)
    if depot not in depots:
        raise ProblemError(f"{path}.depot: unknown depot id {depot!r}")
    if point not in points:
        raise ProblemError(f"{path}.point: unknown point id {point!r}")
    priority = item.get("priority", 1)
    if (
        isinstance(priority, bool)
        or not isinstance(priority, int)
        or not 1 <= priority <= MAX_PRIORITY
    ):
        raise ProblemError(f"{path}.priority: expected a whole number from 1 to {MAX_PRIORITY}")
    return Delivery(
        id=_ident(item, "id", path),
        depot=depot,
        point=point,
        material=_ident(item, "material", path),
        quantity=_whole(item.get("quantity"), f"{path}.quantity"),
        unit_weight_t=_number(item, "unit_weight_t", path, None, MAX_UNIT_WEIGHT_T),
        unit_volume_m3=_number(item, "unit_volume_m3", path, None, MAX_UNIT_VOLUME_M3),
        due_h=_number(item, "due_h", path, None, MAX_HOURS),
        priority=priority,
    )


def _travel(items, places) -> dict:
    if not isinstance(items, list):
        raise ProblemError("problem.travel: expected a list")
    if len(items) > MAX_TRAVEL:
        raise ProblemError(f"problem.travel: at most {MAX_TRAVEL} entries, got {len(items)}")
    out = {}
    for i, raw in enumerate(items):
        path = f"travel[{i}]"
        if not isinstance(raw, dict):
            raise ProblemError(f"{path}: expected an object")
        a, b = _ident(raw, "from", path), _ident(raw, "to", path)
        for key, ident in (("from", a), ("to", b)):
            if ident not in places:
                raise ProblemError(f"{path}.{key}: unknown depot or point id {ident!r}")
        if (a, b) in out:
            raise ProblemError(f"{path}: a second entry from {a!r} to {b!r}")
        out[(a, b)] = (
            _number(raw, "hours", path, None, MAX_HOURS),
            _number(raw, "km", path, None, MAX_KM),
        )
    return out


def _objective(raw) -> tuple[str, ...]:
    if not isinstance(raw, dict):
        raise ProblemError("policy: expected an object")
    order = raw.get("objective", list(CRITERIA))
    if not isinstance(order, list) or not order:
        raise ProblemError(f"policy.objective: expected a non-empty list of {list(CRITERIA)}")
    for i, name in enumerate(order):
        if name not in CRITERIA:
            raise ProblemError(f"policy.objective[{i}]: unknown criterion {name!r}")
    if len(set(order)) != len(order):
        raise ProblemError("policy.objective: a criterion appears twice")
    return tuple(order)


# --- field readers -------------------------------------------------------------------------


def _ident(obj: dict, key: str, path: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise ProblemError(f"{path}.{key}: expected a non-empty string")
    return value


def _number(obj: dict, key: str, path: str, default, upper: float, positive=False) -> float:
    """A finite number from 0 (exclusive if `positive`) to `upper`; `default` if absent
    (None: required)."""
    value = obj.get(key, default)
    where = f"{path}.{key}"
    if value is None:
        raise ProblemError(f"{where}: required")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ProblemError(f"{where}: expected a finite number")
    if value < 0 or (positive and value == 0):
        raise ProblemError(f"{where}: must be {'positive' if positive else 'non-negative'}")
    if value > upper:
        raise ProblemError(f"{where}: must be at most {upper:g}")
    return float(value)


def _whole(value, where: str) -> int:
    """A whole number of units from 0 to MAX_QUANTITY (JSON 3 or 3.0, never 2.5 or true)."""
    ok = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if value is None:
        raise ProblemError(f"{where}: required")
    if isinstance(value, bool) or not ok:
        raise ProblemError(f"{where}: expected a whole number of units")
    if value < 0:
        raise ProblemError(f"{where}: must be non-negative")
    if value > MAX_QUANTITY:
        raise ProblemError(f"{where}: must be at most {MAX_QUANTITY} units")
    return int(value)


def _coordinate(obj: dict, path: str) -> tuple[float, float]:
    out = []
    for key, limit in (("lat", 90.0), ("lon", 180.0)):
        value = obj.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ProblemError(f"{path}.{key}: expected a number")
        if not math.isfinite(value) or abs(value) > limit:
            raise ProblemError(f"{path}.{key}: must be within +-{limit:g}")
        out.append(float(value))
    return out[0], out[1]
