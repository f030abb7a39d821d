"""HTML pages of the shell: home per role, language switch, agencies, audit log, health."""

from typing import NamedTuple

from flask import (
    Blueprint,
    Response,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_security import auth_required, current_user
from sqlalchemy import text

from . import audit_reading, audit_service, dashboard, features, policy, todos
from .agencies import list_agencies, region_names
from .auth import ADMIN, AGENCY_ADMIN, COMMANDER, OPERATOR, ROLES, SUPPLIER, VIEWER
from .exports import readable_json
from .extensions import db
from .hardening import is_same_site_path
from .organisation import AGENCY_KIND_LABELS
from .pagination import paginate

bp = Blueprint("core", __name__)
bp.add_app_template_filter(readable_json, "as_json")  # Jinja escapes the result


@bp.app_template_filter("local_time")
def local_time(value, pattern: str = "yyyy-MM-dd HH:mm") -> str:
    """A stored naive-UTC time in the province's zone (config DISPLAY_TIMEZONE): the one clock of every page."""
    return format_datetime(value, pattern) if value else ""


PER_PAGE = 50


def template_globals():
    return {
        "languages": current_app.config["LANGUAGES"],
        "current_locale": session.get("lang") or current_app.config["BABEL_DEFAULT_LOCALE"],
        "role_labels": ROLES,
        "nav": navigation(),
        "agency_kind_labels": AGENCY_KIND_LABELS,
        "todo_badge": todo_badge,
        "policy": policy,
        "home_url": home_url,
    }


def todo_badge() -> int | None:
    """The menu's 待办 count (None: the user has no to-do list), asked by the template only."""
    if not policy.works_in_registry(current_user):
        return None
    return todos.todo_count(current_user)


class Nav(NamedTuple):
    """The menu: daily work in the bar, the rest under "More" (one row at 1280 px)."""

    main: list[tuple[str, str]]
    more: list[tuple[str, str]]


def _served(endpoint: str, **values) -> str | None:
    """The URL of `endpoint`, or None where the deployment role does not serve it (core/roles.py):
    the menu leaves such pages out."""
    if endpoint not in current_app.view_functions:
        return None
    return url_for(endpoint, **values)


def home_url() -> str:
    """The staff home page, or on the extranet its front page (which "/" leads to)."""
    return _served("core.home") or url_for("outside_home")


def navigation() -> Nav:
    """(label, url) of the pages the current user can use, in menu order."""
    portal = (_("Public portal"), _served("public_site.index"))
    api_docs = (_("API docs"), _served("api-docs.openapi_swagger_ui"))
    if not current_user.is_authenticated:
        return Nav([portal], [])
    main, more = [(_("Home"), home_url())], []
    if policy.is_supplier_account(current_user):
        main.append((_("My enterprise"), _served("public_site.enterprise")))
    staff = policy.works_in_registry(current_user)
    if staff:
        unread = features.counter("unread_notifications", current_user)
        main += [
            (_("Incidents"), _served("dispatch.incident_list")),
            (_("Warnings"), _served("warnings_ui.dashboard")),
            (
                _("Notifications (%(n)s)", n=unread) if unread else _("Notifications"),
                _served("warnings_ui.notifications"),
            ),
            (_("Depots"), _served("reserve.depot_list")),
            (_("Stock"), _served("reserve.stock_query")),
            (_("Plans"), _served("reserve.plan_list")),
            (_("Reporting"), _served("reporting.index")),
        ]
        # transport under "More": the 待办 link with its count takes its place in the bar;
        # readiness heads the list (the bar is full at 1280 px in English)
        if policy.may_read_readiness(current_user):
            more.append((_("Readiness"), _served("readiness.page")))
        more += [
            (_("Transport"), _served("reserve.transport_list")),
            (_("Rotation"), _served("rotation_ui.worklist")),
            (_("Data sharing"), _served("sharing.catalog")),
            (_("Credit lists"), _served("credit_ui.entries")),
            (_("Agencies"), _served("core.agencies")),
            (_("My exports"), _served("exports.export_list")),
        ]
    more.append((_("Catalog"), _served("reserve.catalog_browser")))
    if policy.may_administer_accounts(current_user):
        more.append((_("User management"), _served("accounts.user_list")))
    if policy.may_administer_system(current_user):
        more += [
            (_("Audit log"), _served("core.audit_log")),
            (_("Portal administration"), _served("public_site.admin_suppliers")),
        ]
    more += [portal, api_docs]
    main, more = [e for e in main if e[1]], [e for e in more if e[1]]
    return (
        Nav(main, more) if staff else Nav(main + more, [])
    )  # a supplier's few pages fit in the bar


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths, so the language switch cannot be an open redirect."""
    return target if is_same_site_path(target) else home_url()


@bp.route("/")
def home():
    if not current_user.is_authenticated:
        return render_template("core/landing.html", session_ended=g.get("session_ended"))
    roles = current_user.role_names
    visible = paginate(list_agencies(current_user), 1, 1)
    board = dashboard.home_figures(current_user) if policy.works_in_registry(current_user) else None
    return render_template(
        "core/home.html",
        roles=roles,
        visible_agencies=visible.total,
        board=board,
        ADMIN=ADMIN,
        OPERATOR=OPERATOR,
        COMMANDER=COMMANDER,
        VIEWER=VIEWER,
        SUPPLIER=SUPPLIER,
        AGENCY_ADMIN=AGENCY_ADMIN,
    )


@bp.route("/todos")
@auth_required("session")
def todo_page():
    return render_template("core/todos.html", groups=todos.todo_list(current_user))


@bp.route("/lang/<code>")
def set_language(code):
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
    return redirect(_safe_next(request.args.get("next")))


@bp.route("/agencies")
@auth_required("session")
def agencies():
    q = (request.args.get("q") or "").strip()[:100] or None
    page = request.args.get("page", 1, type=int)
    result = paginate(list_agencies(current_user, q=q), page, PER_PAGE)
    return render_template(
        "core/agencies.html",
        result=result,
        q=q or "",
        region_names=region_names(a.region_code for a in result.items),
    )


@bp.route("/admin/audit")
@auth_required("session")
def audit_log():
    entity = request.args.get("entity") or None
    page = request.args.get("page", 1, type=int)
    stmt = audit_service.list_audit_entries(current_user, entity=entity)
    result = paginate(stmt, page, PER_PAGE)
    report = audit_service.check_audit_chain(current_user) if request.args.get("verify") else None
    return render_template(
        "core/audit.html",
        result=result,
        entity=entity or "",
        report=report,
        readable_entries=audit_reading.readable_entries,
        entity_labels={k: str(v) for k, v in audit_reading.ENTITY_LABELS.items()},
    )


@bp.route("/admin/audit.csv")
@auth_required("session")
def audit_csv():
    body = audit_service.export_audit_csv(current_user, entity=request.args.get("entity") or None)
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=audit-log.csv"},
    )


@bp.route("/healthz")
def healthz():
    """The database answers. Read on a connection of its own that never waits for a writer
    (on SQLite the session's transactions take the write lock, so a report being applied would
    hold the health check until it commits)."""
    engine = (
        db.engine.engine
    )  # a Connection's engine when the tests bind one; the Engine's own otherwise
    with engine.connect().execution_options(read_only=True) as connection:
        connection.execute(text("SELECT 1"))
    return {"status": "ok"}


@bp.route("/version")
def version():
    """What is deployed, for operators and health checks: the app's version, the newest
    migration it ships and the one the database is at (equal when `flask db upgrade` ran).
    Public, and nothing secret in it."""
    from .release import describe

    return describe()
