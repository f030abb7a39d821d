"""Early-warning rules (预警规则): pure functions of plain values. No Flask, no database.

Severity uses the four national colours, most urgent first: red (红), orange (橙), yellow (黄),
blue (蓝). The scan (`scan.py`) evaluates the per-lot and per-depot rules in SQL; the SQL is
generated from the thresholds these functions define (`expiry_cutoffs`, `RATIO_BANDS`), and a
test checks that both agree on the same data. Thresholds are documented in docs/warnings.md.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from ..rules import N_

RED, ORANGE, YELLOW, BLUE = "red", "orange", "yellow", "blue"
SEVERITIES = (RED, ORANGE, YELLOW, BLUE)  # most urgent first
SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITIES)}
URGENCY = {
    s: len(SEVERITIES) - 1 - i for i, s in enumerate(SEVERITIES)
}  # red 3 ... blue 0: lists sort by it, descending

# Kinds, and for the same object (a lot) the precedence when several fire: only the first kept.
EXPIRED, EXPIRES_BEFORE_USE, NEAR_EXPIRY, ROTATION_DUE = (
    "expired",
    "expires_before_use",
    "near_expiry",
    "rotation_due",
)
CONTRACT_EXPIRING, BELOW_NORM, BELOW_MINIMUM = "contract_expiring", "below_norm", "below_minimum"
OVER_CAPACITY, STALE_REPORT = "over_capacity", "stale_report"
LOT_PRECEDENCE = (EXPIRED, EXPIRES_BEFORE_USE, NEAR_EXPIRY, ROTATION_DUE)
KINDS = LOT_PRECEDENCE + (CONTRACT_EXPIRING, BELOW_NORM, BELOW_MINIMUM, OVER_CAPACITY, STALE_REPORT)

SUGGESTIONS = {
    EXPIRED: N_("Take the lot out of the reserve (destroy or return) and replenish it."),
    EXPIRES_BEFORE_USE: N_(
        "Too late for a normal rotation: issue it now (training, donation) and replenish."
    ),
    NEAR_EXPIRY: N_("Plan its rotation: use, sell or donate before expiry, and replenish."),
    ROTATION_DUE: N_("The lot is inside its rotation window: schedule the rotation."),
    CONTRACT_EXPIRING: N_("Renew the agreement with the enterprise or replace the reserve."),
    BELOW_NORM: N_("Replenish to the plan's norm, or arrange agreement reserves."),
    BELOW_MINIMUM: N_("Replenish the depot to the agency's minimum level."),
    OVER_CAPACITY: N_("Move stock to another depot or raise the declared capacity."),
    STALE_REPORT: N_("Submit the report (full mode shows the complete current state)."),
}


@dataclass(frozen=True)
class ExpiryPolicy:
    """Near-expiry horizons in days (blue, yellow, orange), the rotation lead time (a lot
    expiring sooner cannot be rotated through the normal process) and the rotation window."""

    horizons: tuple[int, int, int] = (90, 60, 30)
    rotation_lead_days: int = 15
    rotation_window_days: int = 180

    def __post_init__(self):
        blue, yellow, orange = self.horizons
        if not (
            blue > yellow > orange > self.rotation_lead_days >= 0
            and self.rotation_window_days >= blue
        ):
            raise ValueError(
                "horizons must shrink (e.g. 90, 60, 30), then the rotation lead, "
                "and the rotation window must reach past the first horizon"
            )


DEFAULT_POLICY = ExpiryPolicy()


def lot_expiry_warning(expiry: date | None, today: date, policy: ExpiryPolicy = DEFAULT_POLICY):
    """(kind, severity) for a physical lot with stock on hand, or None. Precedence built in."""
    if expiry is None:
        return None
    days = (expiry - today).days
    blue, yellow, orange = policy.horizons
    if days < 0:
        return EXPIRED, RED
    if days < policy.rotation_lead_days:
        return EXPIRES_BEFORE_USE, ORANGE
    if days <= orange:
        return NEAR_EXPIRY, ORANGE
    if days <= yellow:
        return NEAR_EXPIRY, YELLOW
    if days <= blue:
        return NEAR_EXPIRY, BLUE
    if days <= policy.rotation_window_days:
        return ROTATION_DUE, BLUE
    return None


def expiry_cutoffs(today: date, policy: ExpiryPolicy = DEFAULT_POLICY) -> dict[str, date]:
    """The dates the SQL compares `expiry_date` with; same answers as lot_expiry_warning."""
    blue, yellow, orange = policy.horizons
    return {
        "expired": today,
        "before_use": today + timedelta(days=policy.rotation_lead_days),
        "orange": today + timedelta(days=orange),
        "yellow": today + timedelta(days=yellow),
        "blue": today + timedelta(days=blue),
        "rotation": today + timedelta(days=policy.rotation_window_days),
    }


CONTRACT_HORIZONS = (90, 60, 30)


def contract_warning(valid_to: date | None, today: date):
    """Severity for an agreement or capacity reserve whose contract ends, or None."""
    if valid_to is None:
        return None
    days = (valid_to - today).days
    if days < 0:
        return RED
    blue, yellow, orange = CONTRACT_HORIZONS
    return (
        ORANGE if days <= orange else YELLOW if days <= yellow else BLUE if days <= blue else None
    )


# Shortfall against a norm or minimum: severity by fill rate (available / required).
FILL_BANDS = ((0.25, RED), (0.5, ORANGE), (0.75, YELLOW), (1.0, BLUE))


def shortfall_severity(available: float, required: float | None):
    """None when nothing is required or the requirement is met."""
    if not required or required <= 0 or available >= required:
        return None
    rate = max(available, 0) / required
    for below, severity in FILL_BANDS:
        if rate < below:
            return severity
    return None


# Depot load against declared capacity: ratio used / capacity.
RATIO_BANDS = ((1.2, RED), (1.1, ORANGE), (1.0, YELLOW))


def capacity_severity(used: float, capacity: float | None):
    """Over capacity: above 100 % yellow, 110 % orange, 120 % red; None otherwise or unknown."""
    if not capacity or capacity <= 0:
        return None
    ratio = used / capacity
    for above, severity in RATIO_BANDS:
        if ratio > above:
            return severity
    return None


def stale_severity(statuses: list[str]):
    """From a reporting scoreboard row's period statuses (oldest first): the current and last
    closed periods. Overdue → yellow; missing → orange; missing twice in a row → red."""
    closed = [s for s in statuses if s not in ("open", "not_started")]
    if not closed:
        return None
    last = closed[-1]
    if last == "missing" and len(closed) > 1 and closed[-2] == "missing":
        return RED
    return {"missing": ORANGE, "overdue": YELLOW}.get(last)


def worst(severities) -> str | None:
    present = [s for s in severities if s]
    return min(present, key=SEVERITY_RANK.__getitem__) if present else None


# Lifecycle: open -> acknowledged -> resolved (automatically by a scan, or by a person with a reason).
TRANSITIONS = {
    "open": {"acknowledged", "resolved"},
    "acknowledged": {"resolved"},
    "resolved": set(),
}


def can_transition(current: str, target: str) -> bool:
    return target in TRANSITIONS.get(current, set())
