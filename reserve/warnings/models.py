"""Warnings (预警), their history, agencies' minimum levels, per-category expiry policies,
in-app notifications (the e-mail outbox is core's: core/outbox.py)."""

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.extensions import db
from core.scoping import classification_column
from core.timeutil import utcnow

from . import rules

STATUSES = ("open", "acknowledged", "resolved")
STATUS_LABELS = {
    "open": _l("Not handled"),
    "acknowledged": _l("Acknowledged"),
    "resolved": _l("Resolved"),
}
EVENT_LABELS = {
    "opened": _l("Warning raised"),
    "severity": _l("Severity changed"),
    "acknowledged": _l("Acknowledged"),
    "resolved": _l("Resolved"),
}
SEVERITY_LABELS = {
    "red": _l("Red"),
    "orange": _l("Orange"),
    "yellow": _l("Yellow"),
    "blue": _l("Blue"),
}
KIND_LABELS = {
    "expired": _l("Expired"),
    "expires_before_use": _l("Expires before it can be rotated"),
    "near_expiry": _l("Near expiry"),
    "rotation_due": _l("Rotation due"),
    "contract_expiring": _l("Reserve agreement expiring"),
    "below_norm": _l("Below the plan's norm"),
    "below_minimum": _l("Below the agency's minimum"),
    "over_capacity": _l("Over depot capacity"),
    "stale_report": _l("Report overdue or missing"),
}


class ReserveWarning(db.Model):
    """A warning (预警): one condition on one object, from when a scan first saw it until it cleared.

    At most one unresolved warning per (kind, object_key): the partial unique index states it
    and the scan's reconciliation relies on it. `agency_id` and `classification` scope it like
    the data it concerns."""

    __table_args__ = (
        Index(
            "uq_warning_unresolved",
            "kind",
            "object_key",
            unique=True,
            postgresql_where=text("status <> 'resolved'"),
            sqlite_where=text("status <> 'resolved'"),
        ),
        Index("ix_warning_agency_status", "agency_id", "status"),
        # The list's order (most urgent, newest first), walked backwards: no sort of every active warning.
        Index(
            "ix_warning_active_order",
            "urgency",
            "opened_at",
            "id",
            postgresql_where=text("status <> 'resolved'"),
            sqlite_where=text("status <> 'resolved'"),
        ),
    )
    __tablename__ = "warning"
    __audit__ = False  # written in bulk by scans; its own history table is the record

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    object_key: Mapped[str] = mapped_column(
        String(80)
    )  # lot:12, depot:5, norm:3:140100, agency:7:stock
    severity: Mapped[str] = mapped_column(String(8), index=True)
    # rules.URGENCY of the severity, set with it (the scan writes both; ORM inserts by default)
    urgency: Mapped[int] = mapped_column(
        Integer,
        default=lambda context: rules.URGENCY.get(
            context.get_current_parameters().get("severity"), -1
        ),
    )
    status: Mapped[str] = mapped_column(String(14), default="open", index=True)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    depot_id: Mapped[int | None] = mapped_column(ForeignKey("depot.id"), index=True)
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("stock_lot.id"))
    material_id: Mapped[int | None] = mapped_column(ForeignKey("material.id"))
    region_code: Mapped[str | None] = mapped_column(String(6))
    classification: Mapped[str] = classification_column()
    facts: Mapped[dict | None] = mapped_column(JSON)  # numbers behind it: days left, fill rate...
    opened_at: Mapped[datetime]
    opened_scan: Mapped[int | None] = mapped_column(Integer, index=True)
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    acknowledge_note: Mapped[str | None] = mapped_column(String(300))
    resolved_at: Mapped[datetime | None]
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    resolution: Mapped[str | None] = mapped_column(
        String(300)
    )  # "cleared" (by a scan) or a person's reason
    resolved_scan: Mapped[int | None] = mapped_column(Integer, index=True)

    agency = relationship("Agency", lazy="joined")
    depot = relationship("Depot", lazy="joined")
    material = relationship("Material", lazy="joined")


class WarningEvent(db.Model):
    """History of a warning: opened, severity changed, acknowledged, resolved."""

    __audit__ = False
    __table_args__ = (Index("ix_warning_event_warning", "warning_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    warning_id: Mapped[int] = mapped_column(ForeignKey("warning.id"))
    action: Mapped[str] = mapped_column(String(20))
    severity: Mapped[str | None] = mapped_column(String(8))
    at: Mapped[datetime] = mapped_column(index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    note: Mapped[str | None] = mapped_column(String(300))


class WarningScan(db.Model):
    """One scan: when, what it covered, what it changed. A warning still open after a scan
    was seen by it (rows are not rewritten just to say so)."""

    __audit__ = False

    id: Mapped[int] = mapped_column(primary_key=True)
    scan_id: Mapped[int] = mapped_column(Integer, unique=True)
    agency_id: Mapped[int | None] = mapped_column(Integer)  # None: the whole province
    started_at: Mapped[datetime] = mapped_column(index=True)
    seconds: Mapped[float]
    candidates: Mapped[int]
    opened: Mapped[int]
    kept: Mapped[int]
    resolved: Mapped[int]


class WarningCandidate(db.Model):
    """Scratch rows of one scan (keyed by scan id), reconciled with `warning` in SQL, then deleted."""

    __audit__ = False
    __table_args__ = (Index("ix_warning_candidate_scan_key", "scan_id", "kind", "object_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scan_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    object_key: Mapped[str] = mapped_column(String(80))
    severity: Mapped[str] = mapped_column(String(8))
    agency_id: Mapped[int | None] = mapped_column(Integer)
    depot_id: Mapped[int | None] = mapped_column(Integer)
    lot_id: Mapped[int | None] = mapped_column(Integer)
    material_id: Mapped[int | None] = mapped_column(Integer)
    region_code: Mapped[str | None] = mapped_column(String(6))
    classification: Mapped[str] = mapped_column(String(12), default="internal")
    facts: Mapped[dict | None] = mapped_column(JSON)


class StockMinimum(db.Model):
    """A minimum level an agency sets for a material at one of its depots."""

    __table_args__ = (
        UniqueConstraint("depot_id", "material_id", name="uq_stock_minimum_depot_material"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    depot_id: Mapped[int] = mapped_column(ForeignKey("depot.id"))
    material_id: Mapped[int] = mapped_column(ForeignKey("material.id"))
    minimum: Mapped[int]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    depot = relationship("Depot", lazy="joined")
    material = relationship("Material", lazy="joined")


class ExpiryPolicyOverride(db.Model):
    """Near-expiry horizons for the categories under a GB/T 38565 code prefix (longest prefix wins)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    category_prefix: Mapped[str] = mapped_column(String(7), unique=True)
    blue_days: Mapped[int]
    yellow_days: Mapped[int]
    orange_days: Mapped[int]
    rotation_lead_days: Mapped[int] = mapped_column(default=15)
    rotation_window_days: Mapped[int] = mapped_column(default=180)


class Notification(db.Model):
    """An in-app notification for one user."""

    __audit__ = False
    __table_args__ = (
        UniqueConstraint("user_id", "dedupe_key", name="uq_notification_user_dedupe"),
        Index("ix_notification_user_read", "user_id", "read_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    warning_id: Mapped[int | None] = mapped_column(ForeignKey("warning.id"))
    kind: Mapped[str] = mapped_column(String(20))  # the warning kind, shown translated
    severity: Mapped[str] = mapped_column(String(8))
    dedupe_key: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]
