"""The credit lists at the portal's gates (docs/credit.md): a listed enterprise cannot register,
cannot be approved, and an approved one is suspended by the daily check while it is listed
(its offers stop being planning sources; its board offers are marked). The lists themselves
are the registry's (reserve/credit)."""

from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select

from core.errors import Conflict, Invalid
from core.extensions import db
from core.timeutil import utcnow
from reserve.credit import checks

from ..models import Supplier, SupplierStatus


def refuse_listed(credit_code: str | None, today: date, *, at_review: bool = False) -> None:
    """422 at registration (409 at review) naming the list, the authority and the reason when
    the code is on the dishonest list today."""
    entry = checks.restriction(credit_code, today) if credit_code else None
    if entry is None:
        return
    words = checks.describe(entry)
    if at_review:
        raise Conflict(
            _("This enterprise cannot be approved. %(listing)s", listing=words),
            errors={"credit_code": [words]},
        )
    raise Invalid(
        _("An enterprise on the dishonest-entity list cannot register. %(listing)s", listing=words),
        errors={"credit_code": [words]},
    )


def listings_of(supplier: Supplier, today: date) -> list:
    """The entries in force for the enterprise (both lists), for the review page."""
    return checks.listings([supplier.credit_code], today).get(supplier.credit_code, [])


def listed_codes(codes, today: date) -> set[str]:
    """The codes on the dishonest list today (the mark in the review queue)."""
    return set(checks.restrictions(codes, today))


def red_codes(codes, today: date) -> set[str]:
    """The codes on the red list today (the mark in the review queue and the public list)."""
    return checks.red_listed(codes, today)


def suspended_suppliers(supplier_ids) -> dict[int, str]:
    """{supplier id: why} of the suspended among these (the board's offers are marked)."""
    ids = {i for i in supplier_ids if i}
    if not ids:
        return {}
    return dict(
        db.session.execute(
            select(Supplier.id, Supplier.suspended_reason).where(
                Supplier.id.in_(ids), Supplier.suspended_at.is_not(None)
            )
        ).all()
    )


def _approved() -> list[Supplier]:
    return list(
        db.session.scalars(select(Supplier).where(Supplier.status == SupplierStatus.APPROVED.value))
    )


def check_suppliers(today: date) -> dict:
    """The daily check of the approved enterprises: a listed one is suspended (its offers leave
    the planning sources) and raises a hit for the administrators; one whose listing has ended
    is reinstated. One commit; safe to run twice."""
    suppliers = _approved()
    listed = checks.restrictions([s.credit_code for s in suppliers], today)
    findings, suspended, lifted = [], 0, 0
    for supplier in suppliers:
        entry = listed.get(supplier.credit_code)
        if entry is None:
            if supplier.suspended_at is not None:
                supplier.suspended_at, supplier.suspended_reason = None, None
                lifted += 1
            continue
        if supplier.suspended_at is None:
            supplier.suspended_at = utcnow()
            suspended += 1
        supplier.suspended_reason = checks.describe(entry)[:500]
        findings.append(
            checks.Finding(
                entry,
                "supplier",
                str(supplier.id),
                supplier.name,
                _("%(count)s offers suspended", count=len(supplier.offers)),
            )
        )
    added = checks.record_hits(findings)
    db.session.commit()
    return {
        "listed_suppliers": len(findings),
        "suspended": suspended,
        "reinstated": lifted,
        "hits_raised": added,
    }
