"""Warning rules, hand-checked, without a database."""

from datetime import date, timedelta

import pytest

from reserve.warnings import rules
from reserve.warnings.rules import BLUE, ORANGE, RED, YELLOW

TODAY = date(2026, 11, 21)


@pytest.mark.parametrize(
    "days, expected",
    [
        (-1, (rules.EXPIRED, RED)),
        (0, (rules.EXPIRES_BEFORE_USE, ORANGE)),  # expires today: too late to rotate
        (14, (rules.EXPIRES_BEFORE_USE, ORANGE)),
        (15, (rules.NEAR_EXPIRY, ORANGE)),
        (30, (rules.NEAR_EXPIRY, ORANGE)),
        (31, (rules.NEAR_EXPIRY, YELLOW)),
        (60, (rules.NEAR_EXPIRY, YELLOW)),
        (61, (rules.NEAR_EXPIRY, BLUE)),
        (90, (rules.NEAR_EXPIRY, BLUE)),
        (91, (rules.ROTATION_DUE, BLUE)),
        (180, (rules.ROTATION_DUE, BLUE)),
        (181, None),
    ],
)
def test_expiry_kinds_and_severities_with_their_precedence(days, expected):
    assert rules.lot_expiry_warning(TODAY + timedelta(days=days), TODAY) == expected


def test_no_expiry_date_no_warning():
    assert rules.lot_expiry_warning(None, TODAY) is None


def test_a_category_policy_moves_the_horizons():
    policy = rules.ExpiryPolicy((30, 20, 10), rotation_lead_days=3, rotation_window_days=45)
    assert rules.lot_expiry_warning(TODAY + timedelta(days=25), TODAY, policy) == (
        rules.NEAR_EXPIRY,
        BLUE,
    )
    assert rules.lot_expiry_warning(TODAY + timedelta(days=40), TODAY, policy) == (
        rules.ROTATION_DUE,
        BLUE,
    )
    assert rules.lot_expiry_warning(TODAY + timedelta(days=60), TODAY, policy) is None


def test_inconsistent_policies_are_refused():
    with pytest.raises(ValueError):
        rules.ExpiryPolicy((30, 60, 90))
    with pytest.raises(ValueError):
        rules.ExpiryPolicy((90, 60, 30), rotation_lead_days=40)


def test_the_sql_cutoffs_give_the_same_answers_as_the_rule():
    cut = rules.expiry_cutoffs(TODAY)
    for days in range(-3, 200):
        expiry = TODAY + timedelta(days=days)
        if expiry < cut["expired"]:
            sql = (rules.EXPIRED, RED)
        elif expiry > cut["rotation"]:
            sql = None
        else:
            kind = (
                rules.EXPIRES_BEFORE_USE
                if expiry < cut["before_use"]
                else rules.NEAR_EXPIRY
                if expiry <= cut["blue"]
                else rules.ROTATION_DUE
            )
            severity = (
                ORANGE if expiry <= cut["orange"] else YELLOW if expiry <= cut["yellow"] else BLUE
            )
            sql = (kind, severity)
        assert sql == rules.lot_expiry_warning(expiry, TODAY), days


@pytest.mark.parametrize(
    "days, expected", [(-1, RED), (0, ORANGE), (30, ORANGE), (45, YELLOW), (90, BLUE), (91, None)]
)
def test_contract_expiry(days, expected):
    assert rules.contract_warning(TODAY + timedelta(days=days), TODAY) == expected


@pytest.mark.parametrize(
    "available, required, expected",
    [
        (0, 100, RED),
        (24, 100, RED),
        (25, 100, ORANGE),
        (49, 100, ORANGE),
        (50, 100, YELLOW),
        (74, 100, YELLOW),
        (75, 100, BLUE),
        (99, 100, BLUE),
        (100, 100, None),
        (150, 100, None),
        (5, 0, None),
        (5, None, None),
        (-3, 10, RED),
    ],
)
def test_shortfall_against_norms_and_minimums(available, required, expected):
    assert rules.shortfall_severity(available, required) == expected


@pytest.mark.parametrize(
    "used, capacity, expected",
    [
        (100, 100, None),
        (101, 100, YELLOW),
        (110, 100, YELLOW),
        (111, 100, ORANGE),
        (121, 100, RED),
        (50, None, None),
        (50, 0, None),
    ],
)
def test_over_capacity(used, capacity, expected):
    assert rules.capacity_severity(used, capacity) == expected


@pytest.mark.parametrize(
    "statuses, expected",
    [
        (["on_time", "on_time", "open"], None),
        (["on_time", "overdue", "open"], YELLOW),
        (["on_time", "missing", "open"], ORANGE),
        (["missing", "missing", "open"], RED),
        (["missing", "late", "on_time"], None),
        (["open"], None),
    ],
)
def test_stale_reports(statuses, expected):
    assert rules.stale_severity(statuses) == expected


def test_worst_and_transitions():
    assert rules.worst([BLUE, None, ORANGE, YELLOW]) == ORANGE
    assert rules.worst([None]) is None
    assert rules.can_transition("open", "acknowledged") and rules.can_transition(
        "acknowledged", "resolved"
    )
    assert not rules.can_transition("resolved", "open") and not rules.can_transition(
        "acknowledged", "acknowledged"
    )
