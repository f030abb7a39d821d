"""The checks against the credit lists: which codes are listed on a day (for registration,
review and every plan), the hits of the daily check, and their acknowledgement.

Only the dishonest list restricts; an entry restricts from its start date to its end date,
both included, unless an administrator ended it (rules.is_in_force). The daily check over the
agreement/capacity reserves' enterprises lives here; the one over approved suppliers is the
portal's (public_site/services/credit.py), which records its hits through `record_hits`."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import func, select

from core.errors import Conflict, NotFound
from core.extensions import db
from core.timeutil import utcnow

from ..stock import queries as stock_queries
from . import rules
from .models import LIST_LABELS, CreditEntry, CreditHit
from .services import require_hit_reader, require_reader, require_writer


def _in_force(today: date):
    return (
        (CreditEntry.status == rules.ACTIVE)
        & (CreditEntry.start_date <= today)
        & (CreditEntry.end_date.is_(None) | (CreditEntry.end_date >= today))
    )


def listings(codes, today: date) -> dict[str, list[CreditEntry]]:
    """The entries in force on `today` of each of these codes (both lists), latest first."""
    codes = sorted({c for c in codes if c})
    found: dict[str, list[CreditEntry]] = defaultdict(list)
    for start in range(0, len(codes), 500):
        stmt = select(CreditEntry).where(
            CreditEntry.credit_code.in_(codes[start : start + 500]), _in_force(today)
        )
        for entry in db.session.scalars(stmt.order_by(CreditEntry.start_date.desc())):
            found[entry.credit_code].append(entry)
    return dict(found)


def restrictions(codes, today: date) -> dict[str, CreditEntry]:
    """The dishonest-list entry in force for each listed code (codes not listed are absent)."""
    return {
        code: next(e for e in entries if e.restricts)
        for code, entries in listings(codes, today).items()
        if any(e.restricts for e in entries)
    }


def restriction(code: str, today: date) -> CreditEntry | None:
    return restrictions([code], today).get(code)


def red_listed(codes, today: date) -> set[str]:
    return {
        code
        for code, entries in listings(codes, today).items()
        if any(e.list == rules.RED for e in entries)
    }


def describe(entry: CreditEntry) -> str:
    """The listing in words, for a refusal, a suspension or a plan's left-out row."""
    until = (
        _("until %(day)s", day=entry.end_date.isoformat())
        if entry.end_date
        else _("with no end date")
    )
    return _(
        "%(list)s: listed by %(authority)s on %(start)s %(until)s; reason: %(reason)s",
        list=LIST_LABELS[entry.list],
        authority=entry.authority,
        start=entry.start_date.isoformat(),
        until=until,
        reason=entry.reason,
    )


@dataclass(frozen=True)
class Finding:
    entry: CreditEntry
    subject_kind: str  # supplier, reserve
    subject_ref: str
    subject_name: str
    detail: str = ""


def record_hits(findings: list[Finding]) -> int:
    """Add the findings not yet recorded (one per entry and subject); the caller commits.
    A hit already acknowledged is not raised again for the same listing."""
    if not findings:
        return 0
    known = set(
        db.session.execute(
            select(CreditHit.entry_id, CreditHit.subject_kind, CreditHit.subject_ref).where(
                CreditHit.entry_id.in_({f.entry.id for f in findings})
            )
        ).all()
    )
    added = 0
    for f in findings:
        if (f.entry.id, f.subject_kind, f.subject_ref) in known:
            continue
        known.add((f.entry.id, f.subject_kind, f.subject_ref))
        db.session.add(
            CreditHit(
                entry_id=f.entry.id,
                credit_code=f.entry.credit_code,
                subject_kind=f.subject_kind,
                subject_ref=f.subject_ref[:40],
                subject_name=f.subject_name[:200],
                detail=f.detail[:300],
            )
        )
        added += 1
    return added


def reserve_findings(today: date) -> list[Finding]:
    """Listed enterprises among the agreement/capacity reserves' (they are left out of every
    plan by dispatch's problem builder; here they reach the administrators)."""
    enterprises = stock_queries.reserve_enterprises()
    listed = restrictions([row[0] for row in enterprises], today)
    return [
        Finding(
            listed[code],
            "reserve",
            code,
            name or code,
            _("%(lots)s lots, %(units)s units on hand", lots=lots, units=units),
        )
        for code, name, lots, units in enterprises
        if code in listed
    ]


def check_reserves(today: date) -> dict:
    """The daily check of the reserves' enterprises: hits recorded, one commit."""
    findings = reserve_findings(today)
    added = record_hits(findings)
    db.session.commit()
    return {"listed_reserve_enterprises": len(findings), "hits_raised": added}


def open_hits(user):
    """Select of the hits waiting for an administrator, newest first."""
    require_hit_reader(user)
    return unacknowledged()


def unacknowledged():
    return (
        select(CreditHit)
        .where(CreditHit.acknowledged_at.is_(None))
        .order_by(CreditHit.found_at.desc(), CreditHit.id.desc())
    )


def open_hit_count() -> int:
    return db.session.scalar(
        select(func.count(CreditHit.id)).where(CreditHit.acknowledged_at.is_(None))
    )


def acknowledge_hit(user, hit_id: int) -> CreditHit:
    require_writer(user)
    hit = db.session.get(CreditHit, hit_id)
    if hit is None:
        raise NotFound(_("Credit check hit %(id)s not found.", id=hit_id))
    if hit.acknowledged_at is not None:
        raise Conflict(_("This hit has already been acknowledged."))
    hit.acknowledged_at, hit.acknowledged_by_id = utcnow(), user.id
    db.session.commit()
    return hit


def check_code(user, code: str, on: date) -> dict:
    """What the lists say of one code on a day (administrators and command staff)."""
    require_reader(user)
    code = rules.normalise_credit_code(code)
    entries = listings([code], on).get(code, [])
    return {
        "credit_code": code,
        "on": on,
        "restricted": any(e.restricts for e in entries),
        "red_listed": any(e.list == rules.RED for e in entries),
        "entries": entries,
    }
