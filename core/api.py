from flask_security import auth_required, current_user
from flask_smorest import Blueprint

from . import audit_service, todos
from .pagination import PageArgsSchema, page_schema, paginate
from .schemas import (
    AuditEntrySchema,
    AuditQuerySchema,
    ChainReportSchema,
    MeSchema,
    TodoGroupSchema,
)

blp = Blueprint("identity", __name__, url_prefix="/api/v1", description="Identity and audit")


@blp.route("/me")
@auth_required("token", "session")
@blp.response(200, MeSchema)
def me():
    """The caller: roles and agency (which sets the caller's data scope)."""
    return current_user


@blp.route("/audit")
@auth_required("token", "session")
@blp.arguments(AuditQuerySchema, location="query")
@blp.arguments(PageArgsSchema, location="query", as_kwargs=True)
@blp.response(200, page_schema(AuditEntrySchema))
def audit_entries(query, page, per_page):
    """Audit log, newest first (administrators)."""
    return paginate(audit_service.list_audit_entries(current_user, **query), page, per_page)


@blp.route("/audit/verify")
@auth_required("token", "session")
@blp.response(200, ChainReportSchema)
def audit_verify():
    """Walk the hash chain and report the first broken row, if any (administrators)."""
    return audit_service.check_audit_chain(current_user)


@blp.route("/todos")
@auth_required("token", "session")
@blp.response(200, TodoGroupSchema(many=True))
def todo_list():
    """The caller's to-dos (待办), by kind: what waits for the caller, scoped like the data."""
    return todos.todo_list(current_user)
