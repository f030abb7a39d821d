"""Data sharing (数据共享): the resource catalog's sharing attributes, grants and their access
log, external system clients, the change log behind the feeds, and data-quality snapshots."""

from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Float, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.extensions import db
from core.timeutil import utcnow

UNCONDITIONAL, CONDITIONAL, NOT_SHARED = "unconditional", "conditional", "not_shared"
ATTRIBUTES = (UNCONDITIONAL, CONDITIONAL, NOT_SHARED)
ATTRIBUTE_LABELS = {
    UNCONDITIONAL: _l("Unconditional sharing"),
    CONDITIONAL: _l("Conditional sharing"),
    NOT_SHARED: _l("Not shared"),
}
GRANT_STATUS_LABELS = {
    "pending": _l("Pending"),
    "approved": _l("Approved"),
    "active": _l("Active"),
    "expired": _l("Expired"),
    "rejected": _l("Rejected"),
    "revoked": _l("Revoked"),
    "timed_out": _l("Timed out"),
    "scheduled": _l("Not yet valid"),
}


class SharedResource(db.Model):
    """An agency's sharing attribute for one kind of its data. No row: unconditional (shared by
    default, restricted by exception)."""

    __table_args__ = (UniqueConstraint("agency_id", "kind", name="uq_shared_resource_agency_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    kind: Mapped[str] = mapped_column(String(20))
    attribute: Mapped[str] = mapped_column(String(14), default=UNCONDITIONAL)
    legal_reason: Mapped[str | None] = mapped_column(String(300))  # required when not shared
    description: Mapped[str | None] = mapped_column(String(500))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    agency = relationship("Agency", lazy="joined")


class ExternalClient(db.Model):
    """An external system calling the API. It authenticates as its own service account (a
    Flask-Security token), acts for one agency or only through its grants, within its scopes
    and rate limit. Rotating or revoking changes the account's token uniquifier: every token
    issued before stops working at once."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), unique=True)
    scopes: Mapped[list] = mapped_column(JSON, default=list)
    rate_limit: Mapped[str] = mapped_column(String(60), default="60 per minute")
    contact: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    token_issued_at: Mapped[datetime | None]
    token_count: Mapped[int] = mapped_column(default=0)  # tokens issued so far (1 + rotations)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    revoked_at: Mapped[datetime | None]
    revoke_reason: Mapped[str | None] = mapped_column(String(300))

    agency = relationship("Agency", lazy="joined")
    user = relationship("User", foreign_keys=[user_id], lazy="joined")


class SharingGrant(db.Model):
    """A request for a conditional resource (owner agency x kind) and the owner's answer."""

    __table_args__ = (Index("ix_sharing_grant_owner_kind", "owner_agency_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    kind: Mapped[str] = mapped_column(String(20))
    grantee_agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"), index=True)
    grantee_client_id: Mapped[int | None] = mapped_column(
        ForeignKey("external_client.id"), index=True
    )
    purpose: Mapped[str] = mapped_column(String(500))
    requested_fields: Mapped[list] = mapped_column(JSON, default=list)
    requested_from: Mapped[date]
    requested_to: Mapped[date]
    status: Mapped[str] = mapped_column(
        String(10), default="pending", index=True
    )  # pending/approved/rejected/revoked/timed_out
    fields: Mapped[list | None] = mapped_column(JSON)  # granted (possibly narrower)
    valid_from: Mapped[date | None]
    valid_to: Mapped[date | None]
    reason: Mapped[str | None] = mapped_column(String(300))  # of a rejection or revocation
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    revoked_at: Mapped[datetime | None]

    owner = relationship("Agency", foreign_keys=[owner_agency_id], lazy="joined")
    grantee_agency = relationship("Agency", foreign_keys=[grantee_agency_id], lazy="joined")
    grantee_client = relationship("ExternalClient", lazy="joined")


class SharingAccess(db.Model):
    """One read of shared data through a grant: who, what, when, which grant, how many rows."""

    __audit__ = (
        False  # a log itself, append-only; the audit log records changes, this records reads
    )
    __table_args__ = (Index("ix_sharing_access_owner_at", "owner_agency_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    grant_id: Mapped[int] = mapped_column(ForeignKey("sharing_grant.id"), index=True)
    owner_agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    kind: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    client_id: Mapped[int | None] = mapped_column(ForeignKey("external_client.id"))
    actor: Mapped[str | None] = mapped_column(String(255))
    channel: Mapped[str] = mapped_column(String(10))  # feed / export
    rows: Mapped[int] = mapped_column(default=0)
    restricted_rows: Mapped[int] = mapped_column(default=0)
    record_ids: Mapped[list | None] = mapped_column(JSON)  # the first 1,000
    fields: Mapped[list | None] = mapped_column(JSON)
    ip: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(64))

    grant = relationship("SharingGrant", lazy="joined")


class SharedChange(db.Model):
    """The latest change of each shareable record, in commit order: the change feeds read it.

    One row per (kind, record): a new change deletes the record's row and appends a new one,
    so `seq` only grows (AUTOINCREMENT on SQLite, a sequence on PostgreSQL) and appends are
    serialised with the audit log's lock, so a reader never sees a lower `seq` commit later."""

    __audit__ = False
    __table_args__ = (
        UniqueConstraint("kind", "record_id", name="uq_shared_change_kind_record_id"),
        Index("ix_shared_change_kind_seq", "kind", "seq"),
        {"sqlite_autoincrement": True},
    )

    seq: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    record_id: Mapped[int]
    agency_id: Mapped[int | None] = mapped_column(index=True)  # owner when the change was made
    classification: Mapped[str] = mapped_column(String(12), default="internal")
    deleted: Mapped[bool] = mapped_column(default=False)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


class QualitySnapshot(db.Model):
    """One day's data-quality scores of an agency (agency_id NULL: the whole province)."""

    __audit__ = False
    __table_args__ = (
        UniqueConstraint("day", "agency_id", name="uq_quality_snapshot_day_agency_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(index=True)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    completeness: Mapped[float | None] = mapped_column(Float)
    validity: Mapped[float | None] = mapped_column(Float)
    freshness: Mapped[float | None] = mapped_column(Float)
    conflicts: Mapped[int] = mapped_column(default=0)
    score: Mapped[float | None] = mapped_column(Float)
    taken_at: Mapped[datetime] = mapped_column(default=utcnow)
