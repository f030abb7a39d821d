"""Warnings API: list, detail with history, acknowledge, resolve, dashboard summary, a scan on
demand (administrators), minimum levels, expiry policies, in-app notifications."""

from flask_babel import gettext as _
from flask_security import auth_required, current_user
from flask_smorest import Blueprint

from core.policy import may_administer_system
from core.errors import NotAllowed
from core.pagination import PageArgsSchema, page_schema, paginate

from . import services
from .schemas import (
    AcknowledgeSchema,
    MinimumSchema,
    NotificationSchema,
    PolicySchema,
    ResolveSchema,
    ScanResultSchema,
    WarningDetailSchema,
    WarningQuerySchema,
    WarningSchema,
)

warnings = Blueprint(
    "warnings", __name__, url_prefix="/api/v1/warnings", description="Early warnings (预警)"
)
settings = Blueprint(
    "warning_settings", __name__, url_prefix="/api/v1", description="Minimum levels and thresholds"
)
notifications = Blueprint(
    "notifications",
    __name__,
    url_prefix="/api/v1/notifications",
    description="In-app notifications",
)


@warnings.route("")
@auth_required("token", "session")
@warnings.arguments(WarningQuerySchema, location="query")
@warnings.arguments(PageArgsSchema, location="query", as_kwargs=True)
@warnings.response(200, page_schema(WarningSchema))
def list_warnings(query, page, per_page):
    """Warnings in scope, most severe first; `status=active` (default) is open + acknowledged."""
    f = services.WarningFilter(**query)
    return paginate(
        services.list_warnings(current_user, f),
        page,
        per_page,
        count=services.count_warnings(current_user, f),
    )


@warnings.route("/summary")
@auth_required("token", "session")
@warnings.response(200)
def summary():
    """Dashboard figures: counts by severity and kind, depots with their worst warning, the
    30-day trend of active warnings, stock vs norm by category and region."""
    return services.summary(current_user)


@warnings.route("/scan", methods=["POST"])
@auth_required("token", "session")
@warnings.response(200, ScanResultSchema)
def scan_now():
    """Run a full scan now (administrators); the scheduler does it every 15 minutes."""
    if not may_administer_system(current_user):
        raise NotAllowed(_("Only administrators start a scan."))
    return services.scan()


@warnings.route("/<int:warning_id>")
@auth_required("token", "session")
@warnings.response(200, WarningDetailSchema)
def get_warning(warning_id):
    warning = services.get_warning(current_user, warning_id)
    warning.history = services.history(current_user, warning_id)
    return warning


@warnings.route("/<int:warning_id>/acknowledge", methods=["POST"])
@auth_required("token", "session")
@warnings.arguments(AcknowledgeSchema)
@warnings.response(200, WarningSchema)
def acknowledge(data, warning_id):
    return services.acknowledge(current_user, warning_id, data["note"])


@warnings.route("/<int:warning_id>/resolve", methods=["POST"])
@auth_required("token", "session")
@warnings.arguments(ResolveSchema)
@warnings.response(200, WarningSchema)
def resolve(data, warning_id):
    """Close by hand with a reason; if the condition still holds, the next scan opens a new one."""
    return services.resolve(current_user, warning_id, data["reason"])


@settings.route("/stock-minimums")
@auth_required("token", "session")
@settings.arguments(PageArgsSchema, location="query", as_kwargs=True)
@settings.response(200, page_schema(MinimumSchema))
def list_minimums(page, per_page):
    return paginate(services.list_minimums(current_user), page, per_page)


@settings.route("/stock-minimums", methods=["PUT"])
@auth_required("token", "session")
@settings.arguments(MinimumSchema)
@settings.response(200, MinimumSchema)
def set_minimum(data):
    """Set an agency's minimum level of a material at its depot (0 removes it)."""
    return services.set_minimum(current_user, **data) or {**data, "id": None}


@settings.route("/expiry-policies")
@auth_required("token", "session")
@settings.arguments(PageArgsSchema, location="query", as_kwargs=True)
@settings.response(200, page_schema(PolicySchema))
def list_policies(page, per_page):
    return paginate(services.list_policies(), page, per_page)


@settings.route("/expiry-policies", methods=["PUT"])
@auth_required("token", "session")
@settings.arguments(PolicySchema)
@settings.response(200, PolicySchema)
def set_policy(data):
    """Near-expiry horizons for a category code prefix (administrators)."""
    return services.set_policy(current_user, **data)


@notifications.route("")
@auth_required("token", "session")
@notifications.arguments(PageArgsSchema, location="query", as_kwargs=True)
@notifications.response(200, page_schema(NotificationSchema))
def list_notifications(page, per_page):
    return paginate(services.list_notifications(current_user), page, per_page)


@notifications.route("/<int:notification_id>/read", methods=["POST"])
@auth_required("token", "session")
@notifications.response(200)
def mark_read(notification_id):
    return {"marked": services.mark_read(current_user, notification_id)}


BLUEPRINTS = [warnings, settings, notifications]
