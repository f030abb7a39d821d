"""Pure rules of the wartime response: numbering, transitions, demand suggestions, vehicles,
lot choice, and the after-action figures. No Flask, no database."""

import math
import re
from datetime import datetime, timedelta

from .statuses import CallStatus, IncidentStatus, ShipmentStatus, TripStatus

TYPE_LETTERS = {
    "natural_disaster": "N",
    "accident": "A",
    "public_health": "H",
    "social_security": "S",
}
LEVELS = ("I", "II", "III", "IV")

INCIDENT_NEXT = {
    IncidentStatus.REPORTED: {IncidentStatus.RESPONDING, IncidentStatus.CLOSED},
    IncidentStatus.RESPONDING: {IncidentStatus.RECOVERY},
    IncidentStatus.RECOVERY: {IncidentStatus.CLOSED},
    IncidentStatus.CLOSED: set(),
}
SHIPMENT_NEXT = {
    ShipmentStatus.READY: {ShipmentStatus.DEPARTED},
    ShipmentStatus.DEPARTED: {ShipmentStatus.ARRIVED},
    ShipmentStatus.ARRIVED: {ShipmentStatus.RECEIVED},
    ShipmentStatus.RECEIVED: set(),
}


def incident_number(
    region_code: str, year: int, incident_type: str, sequence: int, drill: bool
) -> str:
    """`140000-2026-N003`: region, year, type letter (N natural, A accident, H public health,
    S social security) and the year's sequence; drills are prefixed `DRILL-`."""
    number = f"{region_code}-{year}-{TYPE_LETTERS[incident_type]}{sequence:03d}"
    return f"DRILL-{number}" if drill else number


def is_plausible_start(started_at: datetime, now: datetime) -> bool:
    """An incident's start: not in the future (five minutes' clock drift allowed), not before 2000."""
    return datetime(2000, 1, 1) <= started_at <= now + timedelta(minutes=5)


def demand_number(incident_number_: str, sequence: int) -> str:
    return f"{incident_number_}-D{sequence:04d}"


def batch_number(incident_number_: str, sequence: int) -> str:
    return f"{incident_number_}-S{sequence:04d}"


def can_move_incident(current: str, target: str) -> bool:
    return target in INCIDENT_NEXT.get(current, set())


def can_move_shipment(current: str, target: str) -> bool:
    return target in SHIPMENT_NEXT.get(current, set())


def hours_until(moment: datetime, now: datetime) -> float:
    """Hours from now to a deadline; a past deadline is 0 (the planner then finds no source
    fast enough and reports the demand unmet)."""
    return max((moment - now).total_seconds() / 3600.0, 0.0)


def suggested_quantity(basis: str, quantity: float, population: int | None) -> int | None:
    """What a norm suggests for a point: per 10,000 people × people affected; a per-region norm
    applies as it is. None without a population figure for a per-population norm. (A relief
    standard, per_10k_affected, and a reserve level per 10,000 residents compute alike; the
    service prefers the relief standard: a reserve level per resident under-sizes a point.)"""
    if basis == "per_region":
        return math.ceil(quantity)
    if not population:
        return None
    return math.ceil(quantity * population / 10_000)


def criticality(category_code: str) -> int:
    """Planner criticality of a material from its GB/T 38565 top class: basic living (1) → 3,
    emergency equipment (2) → 2, engineering materials (3) → 1."""
    return {"1": 3, "2": 2, "3": 1}.get((category_code or "9")[0], 1)


def vehicles_needed(weight_t: float, payload_t: float) -> int:
    if payload_t <= 0:
        return 1
    return max(1, math.ceil(weight_t / payload_t - 1e-9))


def fefo(lots: list[tuple[int, int, object]], quantity: int) -> list[tuple[int, int]] | None:
    """Take `quantity` from lots (id, available, expiry date or None), first expiring first out
    (lots without expiry last, then by id). [(lot id, units)] or None if they hold too little."""
    order = sorted(lots, key=lambda lot: (lot[2] is None, lot[2] or 0, lot[0]))
    taken, left = [], quantity
    for lot_id, available, _expiry in order:
        if left == 0:
            break
        units = min(available, left)
        if units > 0:
            taken.append((lot_id, units))
            left -= units
    return taken if left == 0 else None


def fill_and_on_time(demands: list[dict], deliveries: list[dict]) -> list[dict]:
    """Per demand: `demanded`, `received` (sum of received quantities), fill rate, and on time
    (everything received arrived by the deadline). `demands`: id, quantity, needed_by;
    `deliveries`: demand_id, quantity_received, arrived_at."""
    by_demand: dict[int, list[dict]] = {}
    for delivery in deliveries:
        by_demand.setdefault(delivery["demand_id"], []).append(delivery)
    rows = []
    for demand in demands:
        got = by_demand.get(demand["id"], [])
        received = sum(d["quantity_received"] or 0 for d in got)
        arrived = [d["arrived_at"] for d in got if d["arrived_at"] is not None]
        rows.append(
            {
                **demand,
                "received": received,
                "fill_rate": round(min(received / demand["quantity"], 1.0), 3)
                if demand["quantity"]
                else None,
                "on_time": bool(arrived) and max(arrived) <= demand["needed_by"],
            }
        )
    return rows


def stage_times(demanded_at, planned_at, approved_at, departed_at, arrived_at) -> dict:
    """Hours between the response's milestones (None where a milestone is missing)."""

    def hours(start, end):
        return round((end - start).total_seconds() / 3600, 2) if start and end else None

    return {
        "demand_to_plan_h": hours(demanded_at, planned_at),
        "plan_to_approval_h": hours(planned_at, approved_at),
        "approval_to_departure_h": hours(approved_at, departed_at),
        "departure_to_arrival_h": hours(departed_at, arrived_at),
        "demand_to_arrival_h": hours(demanded_at, arrived_at),
    }


# --- 装车方案: trips, their crews and the lots their drops carry ---------------------------------

TRIP_NEXT = {
    TripStatus.READY: {TripStatus.DEPARTED},
    TripStatus.DEPARTED: {TripStatus.COMPLETED},
    TripStatus.COMPLETED: set(),
    TripStatus.CANCELLED: set(),
}
PHONE = re.compile(r"^(?:\+?86[- ]?)?(?:1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")
PLATE = re.compile(r"^[\u4e00-\u9fff][A-Z][A-Z0-9]{4,6}[\u4e00-\u9fff]?$")
MAX_DRIVER = 50


def trip_number(incident_number_: str, sequence: int) -> str:
    return f"{incident_number_}-T{sequence:04d}"


def normal_phone(text: str | None) -> str | None:
    """A phone number as typed (spaces allowed) if it is a mainland mobile or landline number,
    else None."""
    cleaned = re.sub(r"\s+", "", text or "")
    return cleaned if PHONE.match(cleaned) else None


def normal_plate(text: str | None) -> str | None:
    """A licence plate (晋A12345, 晋AD12345, 晋A1234挂) without spaces or dots, upper case, or None."""
    cleaned = re.sub(r"[\s·.\-]+", "", text or "").upper()
    return cleaned if PLATE.match(cleaned) else None


def split_lots(
    lots: list[tuple[int, int]], wanted: list[int]
) -> list[list[tuple[int, int]]] | None:
    """Share a line's lots (lot id, units; in reservation order) among its drops (units each, in
    trip order): each drop takes what is left of the earliest lots. None if they hold too little."""
    left = [[lot_id, units] for lot_id, units in lots if units > 0]
    shares = []
    for units in wanted:
        share, need = [], units
        for lot in left:
            if need == 0:
                break
            take = min(lot[1], need)
            if take:
                share.append((lot[0], take))
                lot[1] -= take
                need -= take
        if need:
            return None
        shares.append(share)
    return shares


def lots_left(
    allocated: list[tuple[int, int]], used: list[tuple[int, int]]
) -> list[tuple[int, int]]:
    """What a line's allocations (lot id, units) still hold once `used` (lot id, units) is taken."""
    taken: dict[int, int] = {}
    for lot_id, units in used:
        taken[lot_id] = taken.get(lot_id, 0) + units
    left = []
    for lot_id, units in allocated:
        gone = min(units, taken.get(lot_id, 0))
        taken[lot_id] = taken.get(lot_id, 0) - gone
        if units - gone > 0:
            left.append((lot_id, units - gone))
    return left


def stop_eta(departed_at: datetime, arrival_h: float, ready_h: float) -> datetime:
    """A stop's expected arrival once its trip has left: the planned hours from the moment the
    vehicle was planned to be loaded (`ready_h`) to the stop, counted from the real departure."""
    return departed_at + timedelta(hours=max(arrival_h - ready_h, 0.0))


def can_move_trip(current: str, target: str) -> bool:
    return target in TRIP_NEXT.get(current, set())


# --- calls for supply (供需发布) ----------------------------------------------------------------

CALL_TEXT_MAX = 2000
CALL_DEADLINE_MAX_DAYS = 90


def city_of(region_code: str | None) -> str | None:
    """The city (prefecture) of a GB/T 2260 code: a county's city, a city itself; a province's
    code stays the province (never finer than a city)."""
    if not region_code or len(region_code) != 6 or not region_code.isdigit():
        return None
    if region_code[2:] == "0000":
        return region_code
    return region_code[:4] + "00"


def call_text_problem(
    text: str, forbidden_words: list[str], allowed_numbers: set[int]
) -> str | None:
    """Why a call's public text may not go out, or None. It names no depot (`forbidden_words`:
    depot names and codes) and no figure except its own (`allowed_numbers`: the quantity, the
    deadline's parts): a stock or restricted figure never reaches the portal."""
    if not text.strip():
        return "empty"
    if len(text) > CALL_TEXT_MAX:
        return "too_long"
    lowered = text.lower()
    if any(word and len(word) >= 2 and word.lower() in lowered for word in forbidden_words):
        return "names_depot"
    for number in re.findall(r"\d[\d,，]*", text):
        value = int(re.sub(r"[,，]", "", number))
        if value not in allowed_numbers:
            return "foreign_figure"
    return None


def call_publish_obstacle(
    *, drill: bool, status: str, drafted_by: int | None, approver: int, four_eyes: bool
) -> str | None:
    """Why a drafted call may not be approved and published now, or None: drills are never
    published; only a draft is approved; with four eyes, by someone other than who drafted it."""
    if drill:
        return "drill"
    if status != CallStatus.DRAFT:
        return "not_draft"
    if four_eyes and drafted_by == approver:
        return "same_person"
    return None


def position_bounds(
    lines: list[tuple[str | None, str, int, int, int | None, float | None]],
) -> dict:
    """The re-plan's options from the agencies' positions on a version's lines, each (position or
    None, source key, material id, line quantity, position quantity, available in hours):
    - cannot supply on any line → at most 0 of that material from that source (left out);
    - partial → at most the stated quantities plus the other lines' own quantities;
    - later → the source's lead time at least the hours.
    Sources and materials without such a position get no bound."""
    groups: dict[tuple[str, int], list] = {}
    leads: dict[str, float] = {}
    for position, source, material, quantity, stated, hours in lines:
        groups.setdefault((source, material), []).append((position, quantity, stated))
        if position == "later" and hours is not None:
            leads[source] = max(leads.get(source, 0.0), float(hours))
    bounds = []
    for (source, material), group in sorted(groups.items()):
        said = {position for position, _, _ in group}
        if "cannot_supply" in said:
            bounds.append({"source": source, "material": material, "at_most": 0})
        elif "partial" in said:
            at_most = sum(
                int(stated or 0) if position == "partial" else quantity
                for position, quantity, stated in group
            )
            bounds.append({"source": source, "material": material, "at_most": at_most})
    return {"bounds": bounds, "lead": [{"source": s, "hours": h} for s, h in sorted(leads.items())]}
