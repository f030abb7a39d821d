"""Credit list entries with their history, and the hits the daily check found.

An entry is one authority's listing of one enterprise on one list from one date. It is never
overwritten: a change (a re-imported or re-pushed row with new values, an administrator's end
by reversal) appends a `CreditEntryChange` with the values before and after, who or what made
it (user, file, partner) and when."""

from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.extensions import db
from core.timeutil import utcnow

from . import rules


class CreditEntry(db.Model):
    """A listing (失信 or 红名单) of an enterprise by its unified social credit code."""

    __table_args__ = (
        UniqueConstraint(
            "credit_code", "list", "authority", "start_date", name="uq_credit_entry_listing"
        ),
        CheckConstraint("list IN ('dishonest', 'red')", name="list_known"),
        CheckConstraint("status IN ('active', 'ended')", name="status_known"),
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="end_after_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    credit_code: Mapped[str] = mapped_column(String(18), index=True)
    name: Mapped[str] = mapped_column(String(200))
    list: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str] = mapped_column(String(500))
    authority: Mapped[str] = mapped_column(String(200))
    start_date: Mapped[date]
    end_date: Mapped[date | None]
    source_document: Mapped[str | None] = mapped_column(String(200))
    # no index on list, status or end date: a lookup by code (ix_credit_entry_credit_code) must
    # not be planned through them (SQLite took the status index: 34 ms per plan on 27,000 rows)
    status: Mapped[str] = mapped_column(String(8), default=rules.ACTIVE)
    # provenance of the listing as first recorded: import (file name), push (partner), manual
    origin: Mapped[str] = mapped_column(String(8))
    origin_ref: Mapped[str] = mapped_column(String(200))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # the agency that holds the lists (the province's), owner of the shared resource `credit`
    owner_agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))

    changes = relationship(
        "CreditEntryChange",
        back_populates="entry",
        lazy="selectin",
        order_by="CreditEntryChange.id",
    )

    def is_in_force(self, today: date) -> bool:
        return rules.is_in_force(self.status, self.start_date, self.end_date, today)

    @property
    def restricts(self) -> bool:
        return rules.restricts(self.list)


class CreditEntryChange(db.Model):
    """One change of an entry (created, updated, ended): before and after, by whom, from what."""

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("credit_entry.id"), index=True)
    action: Mapped[str] = mapped_column(String(10))  # created, updated, ended
    fields: Mapped[dict] = mapped_column(JSON, default=dict)  # {field: [before, after]}
    origin: Mapped[str] = mapped_column(String(8))  # import, push, manual
    origin_ref: Mapped[str] = mapped_column(String(200))  # file name, partner, page
    reason: Mapped[str | None] = mapped_column(String(500))  # an end's reason
    by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)

    entry = relationship("CreditEntry", back_populates="changes")
    by = relationship("User", lazy="joined")


class CreditHit(db.Model):
    """The daily check found a listed enterprise among the approved suppliers or the
    agreement/capacity reserves' enterprises. One row per (entry, subject); open until an
    administrator acknowledges it (the to-do `credit_hit`)."""

    __table_args__ = (
        UniqueConstraint("entry_id", "subject_kind", "subject_ref", name="uq_credit_hit_subject"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("credit_entry.id"), index=True)
    credit_code: Mapped[str] = mapped_column(String(18), index=True)
    subject_kind: Mapped[str] = mapped_column(String(10))  # supplier, reserve
    subject_ref: Mapped[str] = mapped_column(String(40))  # supplier id; the code for reserves
    subject_name: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str] = mapped_column(String(300), default="")  # e.g. "3 offers suspended"
    found_at: Mapped[datetime] = mapped_column(default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column(index=True)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    entry = relationship("CreditEntry", lazy="joined")


LIST_LABELS = {rules.DISHONEST: _l("Dishonest-entity list"), rules.RED: _l("Red list")}
STATUS_LABELS = {
    "in_force": _l("In force"),
    "not_yet": _l("Not yet in force"),
    "expired": _l("Expired"),
    rules.ENDED: _l("Ended"),
}
ORIGIN_LABELS = {"import": _l("Import"), "push": _l("Partner push"), "manual": _l("Manual")}
ACTION_LABELS = {"created": _l("First recorded"), "updated": _l("Changed"), "ended": _l("Ended")}
SUBJECT_LABELS = {"supplier": _l("Supplier"), "reserve": _l("Agreement or capacity reserve")}
