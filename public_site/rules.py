"""Pure rules of the public portal: plain values in, answers out. No Flask, no database.

Messages are English msgids marked with N_; the services translate them."""

import re
from dataclasses import dataclass

from reserve.rules import (  # noqa: F401  (one credit-code validator and normaliser for the system)
    N_,
    credit_code_problem,
    normalise_credit_code,
)

# Mainland mobile numbers: 11 digits, 1 then 3-9 (GB/T 2260-independent numbering plan).
_MOBILE = re.compile(r"^1[3-9]\d{9}$")


def normalise_mobile(text: str) -> str:
    """Digits only, without a +86/0086 prefix, spaces or dashes."""
    digits = re.sub(r"[\s\-()]", "", text or "")
    for prefix in ("+86", "0086"):
        if digits.startswith(prefix):
            digits = digits[len(prefix) :]
    return digits


def mobile_problem(number: str) -> str | None:
    if not _MOBILE.match(number or ""):
        return N_("a mobile number has 11 digits and starts with 13-19")
    return None


# --- uploads ---------------------------------------------------------------------------

# What a file is, from its first bytes; the name and the declared type are not trusted.
SIGNATURES = [
    (b"%PDF-", "application/pdf", "pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
]


def sniff_document(head: bytes) -> tuple[str, str] | None:
    """(media type, extension) of a licence scan (PDF, PNG or JPEG) from its first bytes."""
    for magic, media_type, extension in SIGNATURES:
        if head.startswith(magic):
            return media_type, extension
    return None


def upload_problem(data: bytes, max_bytes: int) -> str | None:
    if not data:
        return N_("the file is empty")
    if len(data) > max_bytes:
        return N_("the file is larger than the limit")
    if sniff_document(data[:16]) is None:
        return N_("only PDF, PNG or JPEG files are accepted (checked by content, not by name)")
    return None


# --- supplier review -------------------------------------------------------------------

APPROVE, REJECT, REQUEST_CHANGES = "approve", "reject", "request_changes"
REVIEW_OUTCOME = {APPROVE: "approved", REJECT: "rejected", REQUEST_CHANGES: "changes_requested"}


def review_problem(status: str, action: str, reason: str | None) -> str | None:
    """Why an administrator may not take `action` on a supplier in `status`, or None."""
    if action not in REVIEW_OUTCOME:
        return N_("unknown review action")
    if status != "pending":
        return N_("only a registration waiting for review can be reviewed")
    if action != APPROVE and not (reason or "").strip():
        return N_("give the enterprise a reason")
    return None


def can_resubmit(status: str) -> bool:
    """An enterprise edits and resubmits after a request for changes (or while still pending)."""
    return status in ("changes_requested", "pending")


# --- supply/demand board ---------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    quantity: int
    matched: int
    offered: int  # pending offers, not yet matched

    @property
    def remaining(self) -> int:
        return max(self.quantity - self.matched, 0)

    @property
    def percent(self) -> int:
        return min(100, int(100 * self.matched / self.quantity)) if self.quantity else 0


def demand_progress(quantity: int, offers: list[tuple[str, int, int]]) -> Progress:
    """Progress of a demand from its offers' (status, quantity, matched quantity)."""
    matched = sum(m for status, _q, m in offers if status == "matched")
    offered = sum(q for status, q, _m in offers if status == "pending")
    return Progress(quantity, matched, offered)


def match_quantity(offered: int, remaining: int) -> int:
    """Units of an offer an administrator's match takes: what is offered, up to what is still needed."""
    return max(min(offered, remaining), 0)


# --- abuse resistance ------------------------------------------------------------------


def is_bot_submission(honeypot_value: str | None) -> bool:
    """A person never fills the hidden field; a form-filling robot usually does."""
    return bool((honeypot_value or "").strip())
