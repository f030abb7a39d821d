"""Pure rules of the reserve registry. No Flask, no database: plain values in, answers out."""

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from stdnum.cn.uscc import calc_check_digit

from core.limits import MAX_QUANTITY  # the one bound of every quantity (core/limits.py)


def N_(message: str) -> str:
    """Marks a message for translation without importing Flask: services translate it."""
    return message


def quantity_problem(value, *, minimum: int = 0) -> str | None:
    """What is wrong with a quantity of units (a whole number from `minimum`, 0 or 1, to
    MAX_QUANTITY), or None."""
    if isinstance(value, bool) or not isinstance(value, int):
        return N_("a quantity is a whole number")
    if value < minimum:
        return N_("a quantity is above zero") if minimum else N_("a quantity cannot be negative")
    if value > MAX_QUANTITY:
        return N_("a quantity is at most 1,000,000,000 units")
    return None


TOP_CLASSES = {"1": "基本生活保障物资", "2": "应急装备及配套物资", "3": "工程材料与机械加工设备"}
_CATEGORY_LENGTHS = {1: 1, 3: 2, 5: 3, 7: 4}


def category_problem(code: str) -> str | None:
    """What is wrong with a GB/T 38565 category code (1+2+2+2 digits), or None.

    Only the structure is checked here; that the parent exists is the service's business."""
    if not isinstance(code, str) or not code.isascii() or not code.isdigit():
        return N_(
            "a category code has digits only (a code read from a number cell arrives as 1010101.0)"
        )
    if len(code) not in _CATEGORY_LENGTHS:
        return N_("a category code has length 1, 3, 5 or 7 (levels 1 to 4)")
    if code[0] not in TOP_CLASSES:
        return N_("the top class must be 1, 2 or 3")
    segments = [code[i : i + 2] for i in range(1, len(code), 2)]
    if "00" in segments:
        return N_("a level segment is 01 to 99, never 00")
    return None


def category_level(code: str) -> int:
    return _CATEGORY_LENGTHS[len(code)]


def category_parent(code: str) -> str | None:
    return code[:-2] if len(code) > 1 else None


_USCC = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{18}$")
# GB 32100 registration authorities: 1-9, plus A (central military), N (agriculture), Y (other).
_AUTHORITIES = set("123456789ANY")


def normalise_credit_code(text: str) -> str:
    """A credit code as typed or pasted: whitespace removed, letters in capitals."""
    return re.sub(r"\s", "", text or "").upper()


def credit_code_problem(code: str) -> str | None:
    """What is wrong with a unified social credit code (GB 32100), or None.

    Our own rules around python-stdnum's check digit: its own validator refuses valid codes
    whose authority is A, N or Y (DESIGN trap 4)."""
    if not isinstance(code, str) or len(code) != 18:
        return N_("a unified social credit code has 18 characters")
    if not _USCC.match(code):
        return N_(
            "a unified social credit code uses digits and capital letters except I, O, S, V, Z (invalid character)"
        )
    if code[0] not in _AUTHORITIES:
        return N_("the first character (registration authority) must be 1-9, A, N or Y")
    if not code[2:8].isdigit():
        return N_("characters 3-8 are the region code and must be digits")
    if calc_check_digit(code[:17]) != code[17]:
        return N_("the check digit (last character) does not match")
    return None


def first_negative_balance(deltas: list[int]) -> int | None:
    """Index of the first movement after which the running balance is negative, or None."""
    running = 0
    for index, delta in enumerate(deltas):
        running += delta
        if running < 0:
            return index
    return None


FUTURE_TOLERANCE = timedelta(minutes=5)


def occurred_at_problem(occurred_at: datetime, now: datetime) -> str | None:
    if occurred_at > now + FUTURE_TOLERANCE:
        return N_("a movement cannot happen in the future")
    return None


@dataclass(frozen=True)
class LotSupply:
    reserve_type: str
    available: int
    lead_time_h: float | None
    units_per_day: int | None
    contract_valid_to: date | None


def available_within(lot: LotSupply, hours: float, today: date) -> int:
    """Units of a lot that can be had within `hours`: physical stock at once; agreement stock
    after its lead time; production capacity at units_per_day after its lead time. An expired
    contract supplies nothing."""
    if lot.reserve_type == "physical":
        return max(lot.available, 0)
    if lot.contract_valid_to is not None and lot.contract_valid_to < today:
        return 0
    lead = lot.lead_time_h or 0
    if hours < lead:
        return 0
    if lot.reserve_type == "agreement":
        return max(lot.available, 0)
    produced = int((lot.units_per_day or 0) * (hours - lead) / 24)
    return max(min(produced, lot.available), 0)


def region_prefix(code: str) -> str:
    """The code prefix shared by a region and everything inside it (14, 1401, 140105)."""
    if code.endswith("0000"):
        return code[:2]
    if code.endswith("00"):
        return code[:4]
    return code


def norm_requirement(basis: str, quantity: float, population: int | None) -> float | None:
    """Units a norm requires; None when a per-population norm has no population to apply to, and
    for a relief standard (per_10k_affected), which sizes an incident's demands, not the reserve."""
    if basis == "per_10k_affected":
        return None
    if basis == "per_region":
        return quantity
    if population is None:
        return None
    return quantity * population / 10_000
