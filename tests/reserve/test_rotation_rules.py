"""Rotation rules, pure: the action each warning kind proposes, due dates from the warning
rules' thresholds, progress of partial steps, and the norm shortfall of a step."""

from datetime import date, timedelta

import pytest

from reserve.rotation import rules
from reserve.rotation.rules import NormFigure, norm_shortfalls
from reserve.warnings import rules as warning_rules

TODAY = date(2026, 12, 6)
POLICY = warning_rules.DEFAULT_POLICY


@pytest.mark.parametrize(
    "kind, action",
    [
        (warning_rules.EXPIRED, rules.REPLACEMENT),
        (warning_rules.EXPIRES_BEFORE_USE, rules.DONATION),
        (warning_rules.NEAR_EXPIRY, rules.ISSUE),
        (warning_rules.ROTATION_DUE, rules.TRANSFER),
        (warning_rules.BELOW_NORM, None),
        (warning_rules.STALE_REPORT, None),
    ],
)
def test_each_lot_warning_kind_proposes_its_action_and_others_none(kind, action):
    assert rules.default_action(kind) == action


def test_every_lot_expiry_kind_has_an_action():
    assert set(rules.DEFAULT_ACTIONS) == set(warning_rules.LOT_PRECEDENCE)
    assert set(rules.DEFAULT_ACTIONS.values()) <= set(rules.ACTIONS)


def test_due_dates_follow_the_warning_rules_lead_time():
    lead = POLICY.rotation_lead_days
    expired = TODAY - timedelta(days=3)
    assert rules.due_date(warning_rules.EXPIRED, expired, TODAY) == TODAY
    soon = TODAY + timedelta(days=lead - 5)
    assert rules.due_date(warning_rules.EXPIRES_BEFORE_USE, soon, TODAY) == soon - timedelta(days=1)
    near = TODAY + timedelta(days=50)
    assert rules.due_date(warning_rules.NEAR_EXPIRY, near, TODAY) == near - timedelta(days=lead)
    # a lot expiring tomorrow: due today, never in the past
    tomorrow = TODAY + timedelta(days=1)
    assert rules.due_date(warning_rules.EXPIRES_BEFORE_USE, tomorrow, TODAY) == TODAY
    assert rules.due_date(warning_rules.NEAR_EXPIRY, None, TODAY) == TODAY


def test_due_date_uses_the_category_policy_given():
    policy = warning_rules.ExpiryPolicy((120, 90, 60), 40, 200)
    expiry = TODAY + timedelta(days=100)
    assert rules.due_date(warning_rules.NEAR_EXPIRY, expiry, TODAY, policy) == expiry - timedelta(
        days=40
    )


def test_partial_steps_move_the_status_and_are_bounded_by_what_is_left():
    assert rules.status_after(10, 0) == rules.PLANNED
    assert rules.status_after(10, 4) == rules.IN_PROGRESS
    assert rules.status_after(10, 10) == rules.DONE
    assert rules.step_problem(6, 6) is None
    assert rules.step_problem(6, 7) and rules.step_problem(6, 0)


def test_done_is_left_only_by_undoing_and_cancelled_never():
    assert rules.can_transition(rules.PLANNED, rules.CANCELLED)
    assert not rules.can_transition(rules.DONE, rules.CANCELLED)
    assert rules.TRANSITIONS[rules.CANCELLED] == set()
    assert rules.is_overdue(rules.PLANNED, TODAY - timedelta(days=1), TODAY)
    assert not rules.is_overdue(rules.DONE, TODAY - timedelta(days=1), TODAY)


CITY_NORM = NormFigure(1, "140100", required=100.0, available=120)


def test_an_issue_that_takes_the_region_below_its_norm_is_a_shortfall():
    [found] = norm_shortfalls(
        [CITY_NORM],
        source_region="140105",
        destination_region=None,
        quantity_out=30,
        quantity_back=0,
    )
    assert (found.available_before, found.available_after, found.short) == (120, 90, 10)


def test_no_shortfall_when_enough_is_left_or_replaced_or_moved_inside_the_region():
    kwargs = {"source_region": "140105", "destination_region": None}
    assert norm_shortfalls([CITY_NORM], quantity_out=20, quantity_back=0, **kwargs) == []
    assert norm_shortfalls([CITY_NORM], quantity_out=30, quantity_back=30, **kwargs) == []
    inside = {"source_region": "140105", "destination_region": "140106"}
    assert norm_shortfalls([CITY_NORM], quantity_out=120, quantity_back=0, **inside) == []


def test_a_transfer_out_of_the_region_counts_and_other_regions_norms_do_not():
    out = norm_shortfalls(
        [CITY_NORM, NormFigure(2, "140200", 500.0, 0)],
        source_region="140105",
        destination_region="140213",
        quantity_out=50,
        quantity_back=0,
    )
    assert [s.norm_id for s in out] == [1]


def test_a_province_norm_covers_every_city_and_a_norm_already_short_is_named_only_if_worse():
    province = NormFigure(3, "140000", required=1000.0, available=400)
    assert (
        norm_shortfalls(
            [province],
            source_region="140105",
            destination_region=None,
            quantity_out=1,
            quantity_back=0,
        )[0].available_after
        == 399
    )
    assert (
        norm_shortfalls(
            [province],
            source_region="140105",
            destination_region=None,
            quantity_out=10,
            quantity_back=10,
        )
        == []
    )


def test_a_fractional_requirement_is_rounded_up():
    norm = NormFigure(4, "140100", required=99.2, available=100)
    [found] = norm_shortfalls(
        [norm], source_region="140105", destination_region=None, quantity_out=1, quantity_back=0
    )
    assert (found.required, found.short) == (100, 1)
