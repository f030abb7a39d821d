"""Warning pages: the dashboard (counts, map, charts, trend, reporting freshness) with the list,
one warning with its history and actions, and the user's notifications."""

import json

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_security import auth_required, current_user

from core import policy
from core.errors import DomainError
from core.pagination import paginate
from core.timeutil import local_today

from ..reporting import freshness
from core.agencies import region_names
from ..rotation.services import planned_warning_ids
from . import rules, services
from .models import EVENT_LABELS, KIND_LABELS, SEVERITY_LABELS, STATUS_LABELS

bp = Blueprint(
    "warnings_ui",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/warnings/static",
)
PER_PAGE = 50


def _filter() -> services.WarningFilter:
    args = request.args
    return services.WarningFilter(
        kind=args.get("kind") if args.get("kind") in rules.KINDS else None,
        severity=args.get("severity") if args.get("severity") in rules.SEVERITIES else None,
        status=args.get("status")
        if args.get("status") in ("active", "all", *STATUS_LABELS)
        else "active",
        agency_id=args.get("agency_id", type=int),
        depot_id=args.get("depot_id", type=int),
    )


@bp.route("/warnings")
@auth_required("session")
def dashboard():
    f = _filter()
    result = paginate(
        services.list_warnings(current_user, f),
        request.args.get("page", 1, type=int),
        PER_PAGE,
        count=services.count_warnings(current_user, f),
    )
    figures = services.summary(current_user)
    freshness_counts = freshness.current_counts(current_user, "stock", local_today())
    names = region_names(w.region_code for w in result.items)
    chart = {
        "trend": figures["trend"],
        "by_category": figures["norms"]["by_category"],
        "by_region": figures["norms"]["by_region"],
        "labels": {
            "required": _("Required by norms"),
            "available": _("Available (up to the norm)"),
            "active": _("Active warnings"),
        },
    }
    pager_args = {k: v for k, v in vars(f).items() if v}
    return render_template(
        "warnings/dashboard.html",
        result=result,
        figures=figures,
        f=f,
        pager_args=pager_args,
        regions=names,
        kinds=KIND_LABELS,
        severities=SEVERITY_LABELS,
        statuses=STATUS_LABELS,
        map_points=json.dumps(figures["depots"], ensure_ascii=False),
        chart=json.dumps(chart, ensure_ascii=False),
        freshness_counts=freshness_counts,
        freshness_labels=freshness.STATUS_LABELS,
        may_plan_rotation=_may_plan_rotation(current_user),
        planned=planned_warning_ids([w.id for w in result.items]),
        rotatable=rules.LOT_PRECEDENCE,
    )


def _may_plan_rotation(user) -> bool:
    """The page offers to plan rotations (reserve/rotation) to those who write for an agency."""
    agency = getattr(user, "agency", None)
    return policy.may_write_for_agency(user, agency.path if agency else None)


@bp.route("/warnings/<int:warning_id>")
@auth_required("session")
def detail(warning_id):
    warning = services.get_warning(current_user, warning_id)
    region = region_names([warning.region_code]).get(warning.region_code)
    return render_template(
        "warnings/detail.html",
        warning=warning,
        history=services.history(current_user, warning_id),
        kinds=KIND_LABELS,
        severities=SEVERITY_LABELS,
        statuses=STATUS_LABELS,
        events=EVENT_LABELS,
        region=region,
        last_scan=services.last_scan(),
        facts=services.warning_facts(warning),
        suggestion=rules.SUGGESTIONS.get(warning.kind),
    )


def _act(action, warning_id, **kwargs):
    try:
        action(current_user, warning_id, **kwargs)
    except DomainError as exc:
        flash(exc.detail, "error")
    return redirect(url_for("warnings_ui.detail", warning_id=warning_id), 303)


@bp.route("/warnings/<int:warning_id>/acknowledge", methods=["POST"])
@auth_required("session")
def acknowledge(warning_id):
    return _act(services.acknowledge, warning_id, note=request.form.get("note"))


@bp.route("/warnings/<int:warning_id>/resolve", methods=["POST"])
@auth_required("session")
def resolve(warning_id):
    return _act(services.resolve, warning_id, reason=request.form.get("reason", ""))


@bp.route("/notifications", methods=["GET", "POST"])
@auth_required("session")
def notifications():
    if request.method == "POST":
        services.mark_read(current_user)
        return redirect(url_for("warnings_ui.notifications"), 303)
    result = paginate(
        services.list_notifications(current_user), request.args.get("page", 1, type=int), PER_PAGE
    )
    return render_template(
        "warnings/notifications.html", result=result, kinds=KIND_LABELS, severities=SEVERITY_LABELS
    )
