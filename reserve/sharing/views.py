"""Sharing pages: the resource catalog (set attributes, request access, export), grants
(approve, reject, revoke) and the access log, external clients, and the data-quality report."""

import re
from datetime import date, timedelta
from types import SimpleNamespace

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_security import auth_required, current_user
from limits import parse_many

from core.errors import DomainError, Invalid
from core.exports import csv_bytes
from core.pagination import Page, paginate
from core.policy import may_oversee_sharing
from core.timeutil import local_today

from . import clients, quality
from . import services as service
from .models import ATTRIBUTE_LABELS, GRANT_STATUS_LABELS
from .resources import RESOURCES
from ..rules import N_
from .rules import SCOPES
from .schemas import record_url

bp = Blueprint(
    "sharing",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/sharing/static",
)
PER_PAGE = 50
CHECK_LABELS = {
    "depot_fields": N_("Depot lacks required fields"),
    "depot_without_stock": N_("Active depot holds no stock"),
    "lot_expiry": N_("Lot of a material with a shelf life has no expiry date"),
    "depot_values": N_("Depot value not valid"),
    "lot_values": N_("Lot value not valid"),
    "transport_values": N_("Transport capacity not valid"),
    "duplicate_depot": N_("Same site registered by two agencies"),
    "duplicate_lot": N_("Same lot held by two agencies"),
    "unit_conflict": N_("Same material in different units"),
    "total_jump": N_("Report moved a total beyond the threshold"),
}
# A finding's detail is a msgid for these checks; for the others it is a fact (codes, field
# names, numbers) that must never pass through gettext, where a "%" breaks the call.
MSGID_CHECKS = {"depot_values", "lot_values", "transport_values"}
FIELD_LABELS = {
    "address": N_("Address"),
    "region_code": N_("Region"),
    "lat": N_("Latitude"),
    "lon": N_("Longitude"),
    "contact_name": N_("Contact"),
    "contact_phone": N_("Contact phone"),
    "capacity_m3": N_("Capacity m³"),
    "capacity_t": N_("Capacity t"),
    "expiry_date": N_("Expiry date"),
}
SAME_SITE_LABELS = {
    "same_name": N_("same name"),
    "same_address": N_("same address"),
    "same_place": N_("within 100 m of each other"),
}
RECORD_LABELS = {
    "depot": N_("Depot"),
    "lot": N_("Lot"),
    "transport": N_("Transport capacity"),
    "material": N_("Material"),
    "submission": N_("Submission"),
    "agency": N_("Agency"),
}


def finding_text(issue, material_names: dict) -> str:
    """What a person reads in a finding's detail column, in the page's language."""
    if issue.check in MSGID_CHECKS:
        return _(issue.detail)
    if issue.check in ("depot_fields", "lot_expiry"):
        return "、".join(
            _(FIELD_LABELS[f]) if f in FIELD_LABELS else f for f in issue.detail.split(", ") if f
        )
    if issue.check == "duplicate_depot":
        return (
            _(SAME_SITE_LABELS.get(issue.detail, issue.detail))
            if issue.detail in SAME_SITE_LABELS
            else issue.detail
        )
    if issue.check == "total_jump" and issue.related:
        return f"{material_names.get(issue.related[0], '')} {issue.detail}".strip()
    return issue.detail or ""


def _kinds():
    return {k: r.title for k, r in RESOURCES.items()}


RATE_UNITS = {
    "second": N_("second"),
    "minute": N_("minute"),
    "hour": N_("hour"),
    "day": N_("day"),
    "month": N_("month"),
    "year": N_("year"),
}
RATE_PRESETS = (
    "10 per minute",
    "60 per minute",
    "300 per minute",
    "1000 per hour",
    "10000 per day",
)


def rate_text(limit: str | None) -> str:
    """A client's rate limit as people read it: 每分钟 60 次 (the stored form is "60 per minute")."""
    try:
        items = parse_many(limit or "")
    except ValueError:
        return limit or ""
    return "；".join(
        _(
            "%(n)s requests per %(every)s%(unit)s",
            n=f"{i.amount:,}",
            every=f"{i.multiples} " if i.multiples != 1 else "",
            unit=_(RATE_UNITS.get(i.GRANULARITY.name, i.GRANULARITY.name)),
        )
        for i in items
    )


def scope_label(scope: str) -> str:
    """An API scope in words: 读取：库存批次 for read:stock."""
    verb, _sep, kind = scope.partition(":")
    what = {
        **_kinds(),
        "incidents": _("Incidents"),
        "quality": _("Data quality"),
        "submissions": _("Submissions"),
    }.get(kind, kind)
    return _("read: %(what)s", what=what) if verb == "read" else _("push: %(what)s", what=what)


def field_names(kind: str, keys) -> str:
    """A resource's fields as people read them (在库数量、有效期至), never its keys (on_hand, agency_id)."""
    # A label may go on to document the codes ("状态：active 在用、closed 停用"): the name is before the colon.
    labels = (
        {
            f.key: re.split("[：:]", str(f.label))[0].replace("（UTC）", "").replace(" (UTC)", "")
            for f in RESOURCES[kind].fields
        }
        if kind in RESOURCES
        else {}
    )
    return "、".join(labels.get(k, k) for k in keys or ())


def _page_of(items: list, page: int) -> Page:
    start = (max(page, 1) - 1) * PER_PAGE
    return Page(items[start : start + PER_PAGE], len(items), max(page, 1), PER_PAGE)


def _date(name: str) -> date | None:
    try:
        return date.fromisoformat(request.form.get(name, ""))
    except ValueError:
        return None


def _act(action, target, *args, **kwargs):
    try:
        action(current_user, *args, **kwargs)
        flash(_("Saved."), "success")
    except DomainError as exc:
        flash(exc.detail, "error")
    return redirect(target, 303)


@bp.route("/sharing")
@auth_required("session")
def catalog():
    filters = {
        "agency_id": request.args.get("agency_id", type=int),
        "kind": request.args.get("kind") or None,
        "attribute": request.args.get("attribute") or None,
    }
    filters = {k: v for k, v in filters.items() if v and (k != "kind" or v in RESOURCES)}
    entries = service.catalog(current_user, local_today(), **filters)
    summary = service.sharing_summary(current_user) if may_oversee_sharing(current_user) else None
    return render_template(
        "sharing/catalog.html",
        result=_page_of(entries, request.args.get("page", 1, type=int)),
        filters=filters,
        kinds=_kinds(),
        attributes=ATTRIBUTE_LABELS,
        summary=summary,
        field_names=field_names,
    )


@bp.route("/sharing/resources/<int:agency_id>/<kind>", methods=["POST"])
@auth_required("session")
def set_attribute(agency_id, kind):
    return _act(
        service.set_attribute,
        url_for("sharing.catalog", agency_id=agency_id),
        agency_id,
        kind,
        attribute=request.form.get("attribute", ""),
        legal_reason=request.form.get("legal_reason"),
        description=request.form.get("description"),
    )


@bp.route("/sharing/request/<int:agency_id>/<kind>", methods=["GET", "POST"])
@auth_required("session")
def request_access(agency_id, kind):
    resource = RESOURCES.get(kind) or service._require_kind(kind)
    if request.method == "POST":
        try:
            start, end = _date("requested_from"), _date("requested_to")
            if start is None or end is None:
                raise Invalid(_("Give the period as two dates."))
            grant = service.request_grant(
                current_user,
                owner_agency_id=agency_id,
                kind=kind,
                purpose=request.form.get("purpose", ""),
                fields=request.form.getlist("fields"),
                requested_from=start,
                requested_to=end,
                today=local_today(),
            )
            flash(
                _("Request %(id)s sent; the owner answers within 14 days.", id=grant.id), "success"
            )
            return redirect(url_for("sharing.grants"), 303)
        except DomainError as exc:
            flash(exc.detail, "error")
    owner = service._agency(agency_id)
    return render_template(
        "sharing/request.html",
        resource=resource,
        owner=owner,
        today=local_today(),
        until=local_today() + timedelta(days=90),
        field_label=lambda key: field_names(resource.kind, [key]),
    )


@bp.route("/sharing/grants")
@auth_required("session")
def grants():
    direction = (
        request.args.get("direction")
        if request.args.get("direction") in ("incoming", "outgoing")
        else None
    )
    result = paginate(
        service.list_grants(current_user, direction=direction),
        request.args.get("page", 1, type=int),
        PER_PAGE,
    )
    states = {g.id: service.grant_state(g, local_today()) for g in result.items}
    return render_template(
        "sharing/grants.html",
        result=result,
        direction=direction or "",
        states=states,
        labels=GRANT_STATUS_LABELS,
        kinds=_kinds(),
        fields=lambda k: RESOURCES[k].field_keys,
        field_names=field_names,
        field_label=lambda kind, key: field_names(kind, [key]),
    )


@bp.route("/sharing/grants/<int:grant_id>/<action>", methods=["POST"])
@auth_required("session")
def decide(grant_id, action):
    target, today = url_for("sharing.grants", direction="incoming"), local_today()
    if action == "approve":
        return _act(
            service.approve_grant,
            target,
            grant_id,
            fields=request.form.getlist("fields") or None,
            valid_from=_date("valid_from"),
            valid_to=_date("valid_to"),
            today=today,
        )
    if action in ("reject", "revoke"):
        decide_with = service.reject_grant if action == "reject" else service.revoke_grant
        return _act(
            decide_with, target, grant_id, reason=request.form.get("reason", ""), today=today
        )
    return redirect(target, 303)


@bp.route("/sharing/access-log")
@auth_required("session")
def access_log():
    try:
        stmt = service.access_log(current_user, grant_id=request.args.get("grant_id", type=int))
    except DomainError as exc:
        flash(exc.detail, "error")
        return redirect(url_for("sharing.catalog"), 303)
    result = paginate(stmt, request.args.get("page", 1, type=int), PER_PAGE)
    return render_template("sharing/access_log.html", result=result, kinds=_kinds())


@bp.route("/sharing/clients", methods=["GET", "POST"])
@auth_required("session")
def clients_page():
    token = None
    try:
        if request.method == "POST":
            form = request.form
            if form.get("action") == "register":
                client, token = clients.register_client(
                    current_user,
                    name=form.get("name", ""),
                    agency_id=form.get("agency_id", type=int) or None,
                    scopes=form.getlist("scopes"),
                    rate_limit=form.get("rate_limit") or "60 per minute",
                    contact=form.get("contact"),
                )
            elif form.get("action") == "rotate":
                client, token = clients.rotate_token(
                    current_user, form.get("client_id", type=int) or 0
                )
            elif form.get("action") == "revoke":
                client = clients.revoke_client(
                    current_user,
                    form.get("client_id", type=int) or 0,
                    reason=form.get("reason", ""),
                )
                flash(
                    _("Client %(name)s revoked; its token no longer works.", name=client.name),
                    "success",
                )
        result = paginate(
            clients.list_clients(current_user), request.args.get("page", 1, type=int), PER_PAGE
        )
    except DomainError as exc:
        flash(exc.detail, "error")
        if request.method == "POST":
            return redirect(url_for("sharing.clients_page"), 303)
        return redirect(url_for("sharing.catalog"), 303)
    from core.agencies import writable_agencies

    return render_template(
        "sharing/clients.html",
        result=result,
        token=token,
        scopes=SCOPES,
        agencies=writable_agencies(current_user),
        rate_text=rate_text,
        scope_label=scope_label,
        rate_presets=RATE_PRESETS,
    )


ISSUE_HEADER = [
    "dimension",
    "check",
    "agency_id",
    "record_type",
    "record_id",
    "related",
    "detail",
    "url",
]


def record_label(record_type: str, record_id: int, names: dict) -> str:
    """A finding's record as people know it: its kind and name (the id only if it has none)."""
    return f"{_(RECORD_LABELS.get(record_type, record_type))} {names.get((record_type, record_id), record_id)}"


def related_records(issue, names: dict) -> list[tuple[str, str | None]]:
    """The other records of a conflict: (label, page), the material of a total jump being named already."""
    if issue.check == "total_jump":
        return []
    return [
        (
            record_label(issue.record_type, record_id, names),
            record_url(SimpleNamespace(record_type=issue.record_type, record_id=record_id)),
        )
        for record_id in issue.related
    ]


def _material_names(issues) -> dict:
    ids = {i.related[0] for i in issues if i.check == "total_jump" and i.related}
    return quality.material_names(ids)


@bp.route("/sharing/quality")
@auth_required("session")
def quality_page():
    agency_id = request.args.get("agency_id", type=int)
    dimension = (
        request.args.get("dimension")
        if request.args.get("dimension") in quality.DIMENSIONS
        else None
    )
    report = quality.report(current_user, local_today(), agency_id=agency_id)
    issues = [i for i in report.issues if dimension is None or i.dimension == dimension]
    if request.args.get("format") == "csv":
        materials = _material_names(issues)
        rows = (
            [
                i.dimension,
                i.check,
                i.agency_id,
                i.record_type,
                i.record_id,
                " ".join(map(str, i.related)),
                finding_text(i, materials),
                record_url(i),
            ]
            for i in issues
        )
        return Response(
            csv_bytes(ISSUE_HEADER, rows),
            mimetype="text/csv; charset=utf-8",
            headers={"Content-Disposition": "attachment; filename=data-quality.csv"},
        )
    trend = quality.trend(current_user, agency_id=agency_id, days=180, today=local_today())
    names = {q.agency_id: q.agency_name for q in report.agencies}
    shown = _page_of(issues, request.args.get("page", 1, type=int))
    materials = _material_names(shown.items)
    return render_template(
        "sharing/quality.html",
        report=report,
        agency_id=agency_id,
        dimension=dimension or "",
        issues=shown,
        names=names,
        record_names=quality.record_names(current_user, shown.items),
        record_label=record_label,
        details=[finding_text(i, materials) for i in shown.items],
        related_records=related_records,
        checks={k: _(v) for k, v in CHECK_LABELS.items()},
        record_url=record_url,
        trend=[
            {
                "day": s.day.isoformat(),
                "score": s.score,
                "completeness": s.completeness,
                "validity": s.validity,
                "freshness": s.freshness,
            }
            for s in trend
        ],
    )
