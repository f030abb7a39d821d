"""Pure rules of the registry: catalog codes, credit codes, ledger balances, availability."""

from datetime import date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.cn import uscc as stdnum_uscc

from reserve import rules


@pytest.mark.parametrize(
    "code, level, parent",
    [("1", 1, None), ("101", 2, "1"), ("10199", 3, "101"), ("1019901", 4, "10199")],
)
def test_category_code_levels(code, level, parent):
    assert rules.category_problem(code) is None
    assert rules.category_level(code) == level
    assert rules.category_parent(code) == parent


@pytest.mark.parametrize(
    "code, why",
    [
        ("", "digits"),
        ("1a1", "digits"),
        ("10", "length"),
        ("12345678", "length"),
        ("4", "top"),
        ("0", "top"),
        ("100", "00"),
        ("10100", "00"),
        (" 101", "digits"),
        ("1.01", "digits"),
    ],
)
def test_bad_category_codes_are_named(code, why):
    problem = rules.category_problem(code)
    assert problem is not None and why in problem


def test_category_code_that_arrived_as_a_float_is_refused():
    assert "digits" in rules.category_problem("1010101.0")


def _valid_uscc(body17: str) -> str:
    return body17 + stdnum_uscc.calc_check_digit(body17)


@pytest.mark.parametrize(
    "body", ["91110108551385082", "A1110108551385082", "N1110108551385082", "Y1110108551385082"]
)
def test_valid_credit_codes_pass_including_a_n_y_authorities(body):
    assert rules.credit_code_problem(_valid_uscc(body)) is None


@pytest.mark.parametrize(
    "code, why",
    [
        ("91110108551385082", "18"),
        ("9111O108551385082A", "character"),  # letter O is not used
        ("B1110108551385082Q", "authority"),
        ("911101085.13850820", "character"),
    ],
)
def test_bad_credit_codes_are_named(code, why):
    problem = rules.credit_code_problem(code)
    assert problem is not None and why in problem


def test_wrong_check_digit_is_caught():
    good = _valid_uscc("91110108551385082")
    wrong = good[:-1] + ("0" if good[-1] != "0" else "1")
    assert "check" in rules.credit_code_problem(wrong)


def test_first_negative_balance():
    assert rules.first_negative_balance([5, -3, -2]) is None
    assert rules.first_negative_balance([5, -6, 10]) == 1
    assert rules.first_negative_balance([]) is None


@given(st.lists(st.integers(-50, 50), max_size=40))
def test_first_negative_balance_agrees_with_running_sums(deltas):
    index = rules.first_negative_balance(deltas)
    running = 0
    for i, delta in enumerate(deltas):
        running += delta
        if running < 0:
            assert index == i
            return
    assert index is None


def test_available_within_hours():
    physical = rules.LotSupply(
        "physical", available=100, lead_time_h=None, units_per_day=None, contract_valid_to=None
    )
    assert rules.available_within(physical, hours=0, today=date(2026, 1, 1)) == 100
    agreement = rules.LotSupply(
        "agreement",
        available=500,
        lead_time_h=24,
        units_per_day=None,
        contract_valid_to=date(2026, 12, 31),
    )
    assert rules.available_within(agreement, hours=12, today=date(2026, 1, 1)) == 0
    assert rules.available_within(agreement, hours=24, today=date(2026, 1, 1)) == 500
    assert (
        rules.available_within(agreement, hours=48, today=date(2027, 1, 1)) == 0
    )  # contract expired
    capacity = rules.LotSupply(
        "capacity", available=10_000, lead_time_h=12, units_per_day=240, contract_valid_to=None
    )
    assert rules.available_within(capacity, hours=12, today=date(2026, 1, 1)) == 0
    assert rules.available_within(capacity, hours=36, today=date(2026, 1, 1)) == 240
    assert (
        rules.available_within(capacity, hours=10_000, today=date(2026, 1, 1)) == 10_000
    )  # capped


def test_region_prefix():
    assert rules.region_prefix("140000") == "14"
    assert rules.region_prefix("140100") == "1401"
    assert rules.region_prefix("140105") == "140105"


def test_norm_requirement():
    assert rules.norm_requirement("per_region", 500, population=None) == 500
    assert rules.norm_requirement("per_10k_people", 20, population=5_300_000) == 10_600
    assert rules.norm_requirement("per_10k_people", 20, population=None) is None


def test_spreadsheet_cells_cannot_start_formulas():
    from core.exports import safe_cell

    assert safe_cell("=1+1") == "'=1+1"
    assert safe_cell(12) == 12
    assert safe_cell(None) == ""


def test_movement_time_in_the_future_is_refused():
    now = datetime(2026, 1, 1, 12, 0)
    assert rules.occurred_at_problem(datetime(2026, 1, 1, 12, 4), now) is None
    assert rules.occurred_at_problem(datetime(2026, 1, 2), now) is not None


def test_a_relief_standard_sets_no_reserve_level():
    assert rules.norm_requirement("per_10k_affected", 3000, population=5_300_000) is None
