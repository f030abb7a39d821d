"""Rotation rules (轮换规则): pure functions of plain values. No Flask, no database.

Which action a lot warning proposes, by when the action is due, how a partial step moves an
item's progress, and whether a rotation leaves a plan norm short. The thresholds are the
warning rules' (reserve/warnings/rules.py): nothing here restates a number of days.
"""

import math
from dataclasses import dataclass
from datetime import date, timedelta

from ..rules import N_, region_prefix
from ..warnings import rules as warning_rules

TRANSFER, ISSUE, DONATION, SALE, REPLACEMENT = (
    "transfer",
    "issue",
    "donation",
    "sale",
    "replacement",
)
ACTIONS = (TRANSFER, ISSUE, DONATION, SALE, REPLACEMENT)
# Donation and sale hand the units to someone named; a transfer needs a destination depot;
# a replacement purchase takes the old lot out and receives the new one into the same depot.
NEEDS_RECIPIENT = frozenset({DONATION, SALE})

PLANNED, IN_PROGRESS, DONE, CANCELLED = "planned", "in_progress", "done", "cancelled"
STATUSES = (PLANNED, IN_PROGRESS, DONE, CANCELLED)
ACTIVE = (PLANNED, IN_PROGRESS)
TRANSITIONS = {
    PLANNED: {IN_PROGRESS, DONE, CANCELLED},
    IN_PROGRESS: {PLANNED, DONE, CANCELLED},
    DONE: {IN_PROGRESS, PLANNED},  # only by undoing a step
    CANCELLED: set(),
}

# The warning kinds a rotation item answers (the per-lot expiry kinds), and the action each
# proposes, following the warning's own advice (warning_rules.SUGGESTIONS):
DEFAULT_ACTIONS = {
    warning_rules.EXPIRED: REPLACEMENT,  # unusable: take it out and buy new stock
    warning_rules.EXPIRES_BEFORE_USE: DONATION,  # too late to rotate normally: give it away now
    warning_rules.NEAR_EXPIRY: ISSUE,  # still usable: issue it for consumption (training, use)
    warning_rules.ROTATION_DUE: TRANSFER,  # months left: a user who consumes it takes it over
}
ROTATABLE_KINDS = warning_rules.LOT_PRECEDENCE


def default_action(kind: str) -> str | None:
    """The action proposed for a warning kind; None for warnings that concern no lot's expiry."""
    return DEFAULT_ACTIONS.get(kind)


def due_date(
    kind: str,
    expiry: date | None,
    today: date,
    policy: warning_rules.ExpiryPolicy = warning_rules.DEFAULT_POLICY,
) -> date:
    """By when the action is done. An expired lot: today. A lot expiring inside the rotation
    lead time: the day before it expires. Otherwise the lead time before expiry (the rotation
    process needs it), never before today."""
    if expiry is None or kind == warning_rules.EXPIRED or expiry <= today:
        return today
    if kind == warning_rules.EXPIRES_BEFORE_USE:
        return max(today, expiry - timedelta(days=1))
    return max(today, expiry - timedelta(days=policy.rotation_lead_days))


def is_overdue(status: str, due: date, today: date) -> bool:
    return status in ACTIVE and due < today


def can_transition(current: str, target: str) -> bool:
    return target in TRANSITIONS.get(current, set())


def status_after(quantity: int, done: int) -> str:
    """The status an active item has once `done` of its `quantity` units are rotated."""
    if done >= quantity:
        return DONE
    return IN_PROGRESS if done > 0 else PLANNED


def step_problem(remaining: int, step: int) -> str | None:
    """Why a step of `step` units cannot be booked on an item with `remaining` units, or None."""
    if step <= 0:
        return N_("A step rotates at least one unit.")
    if step > remaining:
        return N_("A step rotates at most the units the item has left.")
    return None


@dataclass(frozen=True)
class NormFigure:
    """One plan norm the rotated lot counts toward: its region, what it requires and what the
    region has available now (reserve/warnings/scan.py norm_status)."""

    norm_id: int
    region_code: str
    required: float
    available: int


@dataclass(frozen=True)
class Shortfall:
    norm_id: int
    region_code: str
    required: int
    available_before: int
    available_after: int

    @property
    def short(self) -> int:
        return self.required - self.available_after


def covers(norm_region: str, region: str | None) -> bool:
    """Whether stock in `region` counts toward a norm of `norm_region`."""
    return bool(region) and region.startswith(region_prefix(norm_region))


def norm_shortfalls(
    norms: list[NormFigure],
    *,
    source_region: str,
    destination_region: str | None,
    quantity_out: int,
    quantity_back: int,
) -> list[Shortfall]:
    """The norms a rotation step leaves below their requirement: `quantity_out` units leave a
    depot in `source_region` (a transfer brings them to `destination_region`; other actions take
    them out of the reserve) and `quantity_back` replacement units arrive at the same depot.
    Only norms the step makes worse are named: a norm already short stays the warning's matter."""
    result = []
    for norm in norms:
        if not covers(norm.region_code, source_region):
            continue
        change = quantity_back - quantity_out
        if covers(norm.region_code, destination_region):
            change += quantity_out
        after = norm.available + change
        required = math.ceil(norm.required)
        if change < 0 and after < required:
            result.append(
                Shortfall(norm.norm_id, norm.region_code, required, norm.available, after)
            )
    return result
