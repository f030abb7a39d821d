"""Reading the audit log (administrators only); core/audit_reading.py puts its rows in words."""

from flask_babel import gettext as _
from sqlalchemy import select

from .audit import AuditLog, ChainReport, verify_chain
from .errors import NotAllowed
from .exports import csv_bytes, readable_json
from .extensions import db
from .policy import may_administer_system
from .timeutil import to_local


def _require_admin(user):
    if not may_administer_system(user):
        raise NotAllowed(_("Only administrators may read the audit log."))


def list_audit_entries(user, *, entity=None, entity_id=None, user_id=None):
    _require_admin(user)
    stmt = select(AuditLog)
    if entity:
        stmt = stmt.where(AuditLog.entity == entity)
    if entity_id:
        stmt = stmt.where(AuditLog.entity_id == entity_id)
    if user_id is not None:
        stmt = stmt.where(AuditLog.user_id == user_id)
    return stmt.order_by(AuditLog.id.desc())


AUDIT_CSV_HEADER = [
    "id",
    "at_utc",
    "actor",
    "action",
    "entity",
    "entity_id",
    "before",
    "after",
    "ip",
    "request_id",
    "row_hash",
]


def export_audit_csv(user, *, entity=None, limit: int = 100_000) -> bytes:
    """The audit entries (newest first, at most `limit`) as CSV, changes as readable JSON, times in the
    province's zone with their offset (unambiguous evidence that a person reads)."""
    rows = db.session.execute(list_audit_entries(user, entity=entity).limit(limit)).scalars()
    return csv_bytes(
        AUDIT_CSV_HEADER,
        (
            [
                r.id,
                to_local(r.at).isoformat(),
                r.actor,
                r.action,
                r.entity,
                r.entity_id,
                readable_json(r.before) if r.before else None,
                readable_json(r.after) if r.after else None,
                r.ip,
                r.request_id,
                r.row_hash,
            ]
            for r in rows
        ),
    )


def check_audit_chain(user) -> ChainReport:
    _require_admin(user)
    return verify_chain()
