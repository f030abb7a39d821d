"""Pure rules of data sharing: grant states, client scopes, and the data-quality checks.
No Flask, no database; time comes in as `today` / `now`."""

import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta

from ..rules import N_

GRANT_REQUEST_TIMEOUT_DAYS = 14  # a request the owner has not answered by then times out
MAX_GRANT_DAYS = 366
READ_KINDS = ("depots", "stock", "transport", "plans", "submissions", "credit")
SCOPES = tuple(f"read:{k}" for k in READ_KINDS) + (
    "read:incidents",
    "read:quality",
    "push:submissions",
    "push:credit",  # a credit-sharing partner pushes list entries (reserve/credit)
)


# --- grants ---------------------------------------------------------------------------------


def grant_state(
    status: str,
    valid_from: date | None,
    valid_to: date | None,
    requested_on: date,
    today: date,
    timeout_days: int = GRANT_REQUEST_TIMEOUT_DAYS,
) -> str:
    """What a grant is today: pending, timed_out, rejected, revoked, scheduled, active, expired."""
    if status == "pending":
        return "timed_out" if today > requested_on + timedelta(days=timeout_days) else "pending"
    if status != "approved":
        return status
    if valid_from and today < valid_from:
        return "scheduled"
    if valid_to and today > valid_to:
        return "expired"
    return "active"


def is_grant_active(status, valid_from, valid_to, requested_on, today) -> bool:
    return grant_state(status, valid_from, valid_to, requested_on, today) == "active"


def request_problem(
    fields: list[str], known: list[str], start: date, end: date, today: date
) -> str | None:
    """Why a grant request cannot be made, or None."""
    if not fields:
        return N_("name at least one field")
    if set(fields) - set(known):
        return N_("some fields are not fields of this resource")
    return period_problem(start, end, today)


def period_problem(start: date, end: date, today: date) -> str | None:
    if end < start:
        return N_("the period ends before it starts")
    if end < today:
        return N_("the period is already over")
    if (end - start).days > MAX_GRANT_DAYS:
        return N_("a grant lasts at most one year")
    return None


def approval_problem(
    requested_fields, requested_from, requested_to, fields, valid_from, valid_to
) -> str | None:
    """An owner may approve the request as asked or narrower, never wider."""
    if not fields:
        return N_("grant at least one field")
    if set(fields) - set(requested_fields):
        return N_("a grant may only narrow the requested fields")
    if valid_from < requested_from or valid_to > requested_to:
        return N_("a grant may only narrow the requested period")
    if valid_to < valid_from:
        return N_("the period ends before it starts")
    return None


# --- external clients -----------------------------------------------------------------------

# (method, path pattern, scope). None: any client may call it. Anything not listed is refused.
CLIENT_ROUTES = (
    ("GET", r"/api/v1/me$", None),
    ("GET", r"/api/v1/sharing/resources(/.*)?$", None),
    ("GET", r"/api/v1/sharing/grants(/\d+)?$", None),
    ("POST", r"/api/v1/sharing/grants$", None),
    ("GET", r"/api/v1/sharing/(feeds|exports|dictionary)/(?P<kind>[a-z_]+)$", "read:{kind}"),
    ("GET", r"/api/v1/sharing/quality(/.*)?$", "read:quality"),
    ("GET", r"/api/v1/(stock|lots)(/.*)?$", "read:stock"),
    ("GET", r"/api/v1/depots(/\d+)?$", "read:depots"),
    ("GET", r"/api/v1/transport(/\d+)?$", "read:transport"),
    ("GET", r"/api/v1/plans(/.*)?$", "read:plans"),
    ("GET", r"/api/v1/(materials|categories|regions)(/.*)?$", None),
    ("GET", r"/api/v1/incidents(/.*)?$", "read:incidents"),
    ("POST", r"/api/v1/submissions/push$", "push:submissions"),
    ("POST", r"/api/v1/submissions/\d+/(confirm|discard)$", "push:submissions"),
    ("GET", r"/api/v1/submissions(/\d+)?$", "push:submissions"),
    ("GET", r"/api/v1/report-templates/[a-z]+$", "push:submissions"),
    ("POST", r"/api/v1/credit/entries/push$", "push:credit"),
    # background exports: the scope is the export's (read:stock, read:{kind}), checked by
    # core/export_jobs.py from the body; a client sees only its own jobs
    ("POST", r"/api/v1/export-jobs$", None),
    ("GET", r"/api/v1/export-jobs(/\d+(/file)?)?$", None),
    ("POST", r"/api/v1/export-jobs/\d+/(cancel|retry)$", None),
)
DENIED = "denied"


def required_scope(method: str, path: str) -> str | None:
    """The scope a client needs for this call; None when any client may; DENIED when no client may."""
    method = "GET" if method in ("HEAD", "OPTIONS") else method
    for route_method, pattern, scope in CLIENT_ROUTES:
        match = re.match(pattern, path)
        if route_method == method and match:
            return scope.format(**match.groupdict()) if scope else None
    return DENIED


def is_scope_allowed(scopes, method: str, path: str) -> bool:
    needed = required_scope(method, path)
    return needed is None or (needed != DENIED and needed in set(scopes or ()))


# --- data quality ---------------------------------------------------------------------------

DEPOT_REQUIRED = ("address", "region_code", "lat", "lon", "contact_name", "contact_phone")
CHINA_BOUNDS = (3.5, 53.6, 73.4, 135.1)  # lat min, lat max, lon min, lon max
TOTAL_JUMP_THRESHOLD = 0.5  # a report that moves a material's total by more than 50 %
NEAR_METRES = 100.0


def missing_fields(values: dict, required=DEPOT_REQUIRED) -> list[str]:
    return [k for k in required if values.get(k) in (None, "")]


def depot_problems(values: dict, regions: set[str]) -> list[str]:
    """Validity of one depot's values (completeness is checked apart)."""
    problems = []
    code = values.get("region_code")
    if code and code not in regions:
        problems.append(N_("region code is not a current GB/T 2260 division"))
    lat, lon = values.get("lat"), values.get("lon")
    if lat is not None and lon is not None:
        lat_min, lat_max, lon_min, lon_max = CHINA_BOUNDS
        if not (lat_min <= lat <= lat_max and lon_min <= lon <= lon_max):
            problems.append(N_("coordinates lie outside China (latitude and longitude swapped?)"))
    for key in ("capacity_m3", "capacity_t"):
        if values.get(key) is not None and values[key] < 0:
            problems.append(N_("capacity is negative"))
    return problems


def lot_problems(values: dict, today: date) -> list[str]:
    problems = []
    made, expires = values.get("production_date"), values.get("expiry_date")
    if made and expires and expires < made:
        problems.append(N_("expires before it was produced"))
    if made and made > today:
        problems.append(N_("production date lies in the future"))
    if expires and expires < today and (values.get("on_hand") or 0) > 0:
        problems.append(N_("expired stock still on hand"))
    if values.get("reserve_type") in ("agreement", "capacity") and not values.get(
        "enterprise_name"
    ):
        problems.append(N_("an agreement or capacity reserve names no enterprise"))
    return problems


def normalise(text: str | None) -> str:
    """Name comparison key: width-folded, lower-case, without spaces and punctuation."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    return re.sub(r"[\s\W_]+", "", text)


def distance_m(lat1, lon1, lat2, lon2) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 6_371_000 * 2 * math.asin(math.sqrt(a))


@dataclass(frozen=True)
class DepotFacts:
    id: int
    agency_id: int
    name: str
    address: str | None
    lat: float | None
    lon: float | None


def duplicate_depots(
    depots: list[DepotFacts], near_m: float = NEAR_METRES
) -> list[tuple[int, int, str]]:
    """Pairs (depot id, depot id, why) of depots of *different* agencies that look like one site:
    the same name, the same address, or within `near_m` metres of each other."""
    pairs: dict[tuple[int, int], str] = {}

    def add(a, b, why):
        if a.agency_id != b.agency_id:
            pairs.setdefault((min(a.id, b.id), max(a.id, b.id)), why)

    for key_of, why in (
        (lambda d: normalise(d.name), "same_name"),
        (lambda d: normalise(d.address), "same_address"),
    ):
        groups: dict[str, list] = {}
        for d in depots:
            if key := key_of(d):
                groups.setdefault(key, []).append(d)
        for group in groups.values():
            for i, a in enumerate(group):
                for b in group[i + 1 :]:
                    add(a, b, why)
    cells: dict[tuple[int, int], list] = {}  # ~1 km grid, so only neighbours are compared
    for d in depots:
        if d.lat is not None and d.lon is not None:
            cells.setdefault((int(d.lat * 100), int(d.lon * 100)), []).append(d)
    for (ci, cj), members in cells.items():
        for a in members:
            for di in (-1, 0, 1):
                for dj in (-1, 0, 1):
                    for b in cells.get((ci + di, cj + dj), ()):
                        if a.id < b.id and distance_m(a.lat, a.lon, b.lat, b.lon) <= near_m:
                            add(a, b, "same_place")
    return [(a, b, why) for (a, b), why in sorted(pairs.items())]


def duplicate_lots(lots: list[tuple[int, int, int, str]]) -> list[list[int]]:
    """Groups of lot ids with the same material and lot number held by different agencies.
    `lots`: (lot id, owner agency id, material id, lot number)."""
    groups: dict[tuple, list] = {}
    for lot_id, agency_id, material_id, lot_no in lots:
        if normalise(lot_no):
            groups.setdefault((material_id, normalise(lot_no)), []).append((lot_id, agency_id))
    return [
        sorted(i for i, _ in members)
        for members in groups.values()
        if len({a for _, a in members}) > 1
    ]


def unit_conflicts(materials: list[tuple[int, str, str | None, str]]) -> list[list[int]]:
    """Groups of material ids naming the same thing (name and spec) in different units.
    `materials`: (id, name, spec, unit)."""
    groups: dict[tuple, list] = {}
    for material_id, name, spec, unit in materials:
        groups.setdefault((normalise(name), normalise(spec)), []).append(
            (material_id, normalise(unit))
        )
    return [
        sorted(i for i, _ in members)
        for members in groups.values()
        if len({u for _, u in members}) > 1
    ]


def total_jump(before: int, after: int, threshold: float = TOTAL_JUMP_THRESHOLD) -> float | None:
    """The relative change a report made to a material's total, if it exceeds `threshold`."""
    if before <= 0:
        return None
    change = (after - before) / before
    return change if abs(change) > threshold else None


FRESHNESS_SCORES = {"on_time": 1.0, "open": 1.0, "late": 0.5, "overdue": 0.25, "missing": 0.0}


def freshness_score(current: str, previous: str | None, has_reported: bool) -> float:
    """Score of an agency's stock reporting: the current period, or the last closed one while
    the current is still open."""
    if not has_reported:
        return 0.0
    if current == "open" and previous is not None:
        return FRESHNESS_SCORES.get(previous, 0.0)
    return FRESHNESS_SCORES.get(current, 0.0)


def share(good: int, total: int) -> float | None:
    return round(good / total, 3) if total else None


def overall_score(completeness, validity, freshness, conflicts: int, records: int) -> float | None:
    """Mean of the known dimensions; conflicts count as the share of records not in conflict."""
    conflict_part = 1.0 - min(conflicts / records, 1.0) if records else None
    parts = [p for p in (completeness, validity, freshness, conflict_part) if p is not None]
    return round(sum(parts) / len(parts), 3) if parts else None
