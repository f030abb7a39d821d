"""Submissions (报送) and the reporting calendar."""

from datetime import date, datetime

from flask_babel import lazy_gettext as _l

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from core.extensions import db
from core.timeutil import utcnow

from .validation import MAX_ERRORS

# invalid: refused, nothing changed; ready: valid, waiting for the user to confirm the preview;
# applied; discarded: the user did not confirm; reverted: applied, then undone by reversal;
# checking / applying: a large report the worker is checking or applying (a background job).
STATUSES = ("checking", "invalid", "ready", "applying", "applied", "discarded", "reverted")
PERIODS = ("weekly", "monthly", "quarterly")
STATUS_LABELS = {
    "checking": _l("Being checked"),
    "applying": _l("Being applied"),
    "invalid": _l("Has errors"),
    "ready": _l("Waiting for confirmation"),
    "applied": _l("Applied"),
    "discarded": _l("Discarded"),
    "reverted": _l("Reverted"),
}
KIND_LABELS = {
    "depots": _l("Depots"),
    "stock": _l("Stock lots"),
    "transport": _l("Transport capacity"),
    "norms": _l("Plan norms"),
}
MODE_LABELS = {
    "full": _l("Full (complete current state)"),
    "incremental": _l("Incremental (listed rows only)"),
}
ACTION_LABELS = {"new": _l("new"), "changed": _l("changed"), "closed": _l("closed")}
PERIOD_LABELS = {"weekly": _l("Weekly"), "monthly": _l("Monthly"), "quarterly": _l("Quarterly")}


class Submission(db.Model):
    """One report by an agency, kept whatever became of it: who, when, the file and its hash,
    what validation found, the preview, and what applying it changed."""

    __audit_exclude__ = {"content", "errors", "preview", "changes", "coverage"}
    __table_args__ = (
        Index("ix_submission_agency_kind_created", "agency_id", "kind", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    kind: Mapped[str] = mapped_column(String(12))
    mode: Mapped[str] = mapped_column(String(12))
    channel: Mapped[str] = mapped_column(String(8))  # web / api / push / cli
    status: Mapped[str] = mapped_column(String(10), index=True)
    filename: Mapped[str | None] = mapped_column(String(200))
    file_format: Mapped[str] = mapped_column(String(8))  # xlsx / xls / csv / json
    file_hash: Mapped[str] = mapped_column(String(64), index=True)
    file_size: Mapped[int]
    content: Mapped[bytes | None] = deferred(
        mapped_column(LargeBinary)
    )  # None once a refused file is pruned
    template_version: Mapped[int | None]
    row_count: Mapped[int] = mapped_column(default=0)
    error_count: Mapped[int] = mapped_column(default=0)
    errors: Mapped[list | None] = deferred(mapped_column(JSON))  # the first MAX_STORED_ERRORS
    preview: Mapped[dict | None] = deferred(mapped_column(JSON))  # counts, per group
    fingerprint: Mapped[str | None] = mapped_column(String(64))  # of the previewed change set
    changes: Mapped[list | None] = deferred(mapped_column(JSON))  # a sample of what changed
    coverage: Mapped[dict | None] = deferred(mapped_column(JSON))  # depots and materials reported
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    applied_at: Mapped[datetime | None] = mapped_column(index=True)
    applied_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    closed_at: Mapped[datetime | None]  # discarded or reverted
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    close_reason: Mapped[str | None] = mapped_column(String(300))

    agency = relationship("Agency", lazy="joined")
    created_by = relationship("User", foreign_keys=[created_by_id], lazy="joined")

    @property
    def errors_capped(self) -> bool:
        """Checking stopped after MAX_ERRORS errors: the rest of the file was not checked."""
        return self.error_count > MAX_ERRORS

    @property
    def reference(self) -> str:
        """What the ledger's movements of this submission carry in `reference`."""
        return f"SUB-{self.id}"


class ReportCadence(db.Model):
    """How often an agency must report a kind. A row without agency is the default for all."""

    __table_args__ = (UniqueConstraint("agency_id", "kind", name="uq_report_cadence_agency_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    kind: Mapped[str] = mapped_column(String(12))
    period: Mapped[str] = mapped_column(String(10), default="monthly")
    grace_days: Mapped[int] = mapped_column(default=5)  # after the period ends, before "late"
    # The calendar's first day: periods that end before it owe nothing (a new system, or the demo,
    # does not show every agency missing for the months before it existed).
    starts_on: Mapped[date | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
