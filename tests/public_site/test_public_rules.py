"""Pure rules of the public portal: credit codes, mobile numbers, uploads, review, board."""

import pytest
from stdnum.cn.uscc import calc_check_digit

from public_site import rules
from tests.public_site.portal_helpers import PDF, PNG, REAL_CODES


@pytest.mark.parametrize("code", sorted(REAL_CODES))
def test_real_published_credit_codes_are_valid(code):
    assert rules.credit_code_problem(code) is None


def _other_check_digit(code: str) -> str:
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    return code[:17] + alphabet[(alphabet.index(code[17]) + 1) % len(alphabet)]


@pytest.mark.parametrize("code", sorted(REAL_CODES))
def test_corrupted_credit_codes_are_invalid(code):
    assert rules.credit_code_problem(_other_check_digit(code)) is not None  # wrong check digit
    swapped = code[:9] + code[10] + code[9] + code[11:]
    if swapped != code:
        assert rules.credit_code_problem(swapped) is not None  # two characters transposed
    assert rules.credit_code_problem(code[:17]) is not None  # one character short
    assert (
        rules.credit_code_problem(code[:10] + "O" + code[11:]) is not None
    )  # O is not in the alphabet
    assert rules.credit_code_problem(code.lower()) is not None or code == code.lower()


@pytest.mark.parametrize("authority", ["A", "N", "Y"])
def test_registration_authorities_a_n_y_are_accepted(authority):
    body = f"{authority}1140100MA0XXXXX1"
    assert rules.credit_code_problem(body + calc_check_digit(body)) is None


def test_unknown_registration_authority_is_refused():
    body = "B1140100MA0XXXXX1"
    assert rules.credit_code_problem(body + calc_check_digit(body)) is not None


def test_credit_codes_are_normalised_before_checking():
    assert rules.normalise_credit_code(" 9144 0300 7152 6726xg ") == "9144030071526726XG"


@pytest.mark.parametrize(
    "raw, ok",
    [
        ("13903510001", True),
        ("+86 139-0351-0001", True),
        ("0086 199 0000 0000", True),
        ("12903510001", False),
        ("1390351000", False),
        ("0351-1234567", False),
        ("139035100011", False),
    ],
)
def test_mobile_numbers(raw, ok):
    assert (rules.mobile_problem(rules.normalise_mobile(raw)) is None) is ok


@pytest.mark.parametrize(
    "data, media_type",
    [(PNG, "image/png"), (PDF, "application/pdf"), (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg")],
)
def test_documents_are_recognised_by_content(data, media_type):
    assert rules.sniff_document(data)[0] == media_type
    assert rules.upload_problem(data, 1024) is None


@pytest.mark.parametrize(
    "data",
    [
        b"GIF89a....",
        b"<html><script>alert(1)</script>",
        b"MZ\x90\x00 exe",
        b"PK\x03\x04 zip",
        b"not a png but named .png",
    ],
)
def test_other_content_is_refused_whatever_its_name(data):
    assert rules.upload_problem(data, 1024) is not None


def test_empty_and_oversized_uploads_are_refused():
    assert rules.upload_problem(b"", 1024) is not None
    assert rules.upload_problem(PNG + b"\x00" * 2000, 1024) is not None


@pytest.mark.parametrize(
    "status, action, reason, ok",
    [
        ("pending", "approve", None, True),
        ("pending", "reject", "证照过期", True),
        ("pending", "reject", "  ", False),
        ("pending", "request_changes", None, False),
        ("pending", "request_changes", "请补充执照", True),
        ("approved", "reject", "理由", False),
        ("changes_requested", "approve", None, False),
        ("pending", "delete", "x", False),
    ],
)
def test_review_rules(status, action, reason, ok):
    assert (rules.review_problem(status, action, reason) is None) is ok


def test_only_pending_or_returned_registrations_can_be_resubmitted():
    assert rules.can_resubmit("changes_requested") and rules.can_resubmit("pending")
    assert not rules.can_resubmit("approved") and not rules.can_resubmit("rejected")


def test_demand_progress_counts_matched_units_and_waiting_offers():
    progress = rules.demand_progress(
        1000, [("matched", 400, 400), ("pending", 300, 0), ("declined", 900, 0)]
    )
    assert (progress.matched, progress.offered, progress.remaining, progress.percent) == (
        400,
        300,
        600,
        40,
    )
    assert rules.demand_progress(100, [("matched", 150, 100)]).remaining == 0


def test_a_match_takes_at_most_what_is_still_needed():
    assert rules.match_quantity(500, 200) == 200
    assert rules.match_quantity(50, 200) == 50
    assert rules.match_quantity(50, 0) == 0


def test_honeypot():
    assert rules.is_bot_submission("http://spam.example")
    assert not rules.is_bot_submission("") and not rules.is_bot_submission(None)
