"""Reading the audit log (administrators only)."""

from flask_babel import gettext as _
from sqlalchemy import select

from .audit import AuditLog, ChainReport, verify_chain
from .auth import ADMIN
from .errors import NotAllowed


def _require_admin(user):
    if ADMIN not in user.role_names:
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


def check_audit_chain(user) -> ChainReport:
    _require_admin(user)
    return verify_chain()
