"""Pages of the wartime response: the incident list and the command board (one screen per
incident: demands, plan, map, shipments, consultation, alerts, after-action)."""

import json
import math
from datetime import datetime, timedelta

from flask import flash, redirect, render_template, request, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_security import auth_required, current_user

from core import background
from core.policy import may_command_incidents
from core.background import STATUS_LABELS as JOB_STATUS_LABELS
from core.background import BackgroundJob
from core.errors import DomainError
from core.extensions import db
from core.pagination import paginate
from core.timeutil import local_now, local_to_utc, utcnow
from public_site.models import LABELS as PORTAL_LABELS
from reserve.models import LABELS
from reserve.services import catalog, depots
from reserve.services import plans as reserve_plans

from .models import (
    CALL_STATUS_LABELS,
    LEVEL_LABELS,
    METHOD_LABELS,
    PLAN_STATUS_LABELS,
    POSITION_LABELS,
    ROUTE_METHOD_LABELS,
    ROUTE_PLAN_LABELS,
    SHIPMENT_LABELS,
    STATUS_LABELS,
    STOP_LABELS,
    TRIP_LABELS,
    SUBTYPES,
)
from .statuses import PlanStatus
from . import rules
from .pages import _attempt, _back, _flash_error, bp
from . import supply_views
from .services import (
    after_action,
    approval,
    consultation,
    incidents,
    plan_jobs,
    problem,
    shipments,
    versions,
    visibility,
    waybills,
)


@bp.route("/incidents")
@auth_required("session")
def incident_list():
    result = paginate(
        incidents.list_incidents(current_user), request.args.get("page", 1, type=int), 30
    )
    return render_template(
        "dispatch/incidents.html",
        result=result,
        statuses=STATUS_LABELS,
        types=LABELS["incident_type"],
        subtypes=SUBTYPES,
        can_command=may_command_incidents(current_user),
        region_groups=depots.region_groups(),
        levels=LEVEL_LABELS,
        now_local=format_datetime(utcnow(), "yyyy-MM-dd'T'HH:mm"),
        plans=db.session.execute(reserve_plans.list_plans(current_user)).scalars().all(),
    )


@bp.route("/incidents", methods=["POST"])
@auth_required("session")
def incident_create():
    form = request.form
    if form.get("started_at") and _local_to_utc(form.get("started_at")) is None:
        flash(_("The start time is not a valid date and time."), "error")
        return redirect(url_for("dispatch.incident_list"), 303)
    try:
        incident = incidents.create_incident(
            current_user,
            title=form.get("title", ""),
            incident_type=form.get("incident_type", ""),
            subtype=form.get("subtype") or None,
            level=form.get("level", ""),
            region_code=form.get("region_code", ""),
            drill=form.get("drill") == "on",
            plan_id=form.get("plan_id", type=int),
            description=form.get("description"),
            started_at=_local_to_utc(form.get("started_at")),
        )
    except DomainError as exc:
        flash(exc.detail, "error")
        return redirect(url_for("dispatch.incident_list"), 303)
    return redirect(url_for("dispatch.board", incident_id=incident.id), 303)


def _left_out_reasons() -> dict:
    """Why a row was left out of a plan (problem.Index.leave_out's reason keys), in words."""
    return {
        "quantity out of range": _("quantity outside 0 to 1,000,000,000 units"),
        "above the quantity bound: planned with its first MAX_QUANTITY units": _(
            "above the quantity bound: planned with its first 1,000,000,000 units"
        ),
        problem.CREDIT_LISTED: _("the enterprise is on the dishonest-entity list"),
        problem.CREDIT_SUSPENDED: _("the enterprise is suspended by the credit check"),
    }


@bp.route("/incidents/<int:incident_id>")
@auth_required("session")
def board(incident_id):
    incident = incidents.get_incident(current_user, incident_id)
    plans = versions.list_plans(current_user, incident_id)
    current = next((p for p in plans if p.status == PlanStatus.APPROVED), None) or next(
        (p for p in plans if p.status == PlanStatus.DRAFT), None
    )
    lines = visibility.visible_lines(current_user, current) if current else []
    positions = consultation.positions(current_user, current.id) if current else {}
    compared = versions.compare(current_user, current.id) if current else None
    points = incidents.list_points(current_user, incident.id)
    materials = db.session.execute(catalog.list_materials()).scalars().all()
    point_names = {p.id: p.name for p in points}
    material_names = {m.id: m.name for m in materials}
    shown_shipments = shipments.list_shipments(current_user, incident.id)
    section = waybills.board_section(current_user, incident, current)
    supply = supply_views.board_section(current_user, incident, current)
    suggestions = {}
    if request.args.get("suggest", type=int) and may_command_incidents(current_user):
        point_id = request.args.get("suggest", type=int)
        try:
            suggestions = {point_id: incidents.suggest_demands(current_user, incident.id, point_id)}
        except DomainError as exc:
            flash(exc.detail, "error")
    return render_template(
        "dispatch/board.html",
        incident=incident,
        plans=plans,
        current=current,
        lines=lines,
        positions=positions,
        sources=visibility.source_names(lines),
        point_regions=incidents.point_regions(incident),
        can_approve=bool(current) and approval.can_approve(current_user, current),
        can_cancel=bool(current) and approval.can_cancel(current_user, current),
        lines_to_state=consultation.lines_to_state(current_user, current, lines) if current else [],
        compared=compared,
        points=points,
        materials=materials,
        point_names=point_names,
        material_names=material_names,
        demands=incidents.list_demands(current_user, incident.id),
        shipments=shown_shipments,
        movable=shipments.movable(current_user, shown_shipments),
        next_status=shipments.NEXT_STATUS,
        messages=consultation.thread(current_user, incident.id),
        statuses=STATUS_LABELS,
        plan_statuses=PLAN_STATUS_LABELS,
        shipment_labels=SHIPMENT_LABELS,
        position_labels=POSITION_LABELS,
        left_out_kinds={"demand": _("demand"), "lot": _("stock lot"), "source": _("source")},
        left_out_reasons=_left_out_reasons(),
        types=LABELS["incident_type"],
        subtypes=SUBTYPES,
        levels=LEVEL_LABELS,
        suggestions=suggestions,
        methods=METHOD_LABELS,
        next_statuses=sorted(rules.INCIDENT_NEXT[incident.status], key=list(STATUS_LABELS).index),
        can_command=may_command_incidents(current_user),
        plan_job=plan_jobs.plan_job_to_show(
            current_user, incident.id, request.args.get("job", type=int)
        ),
        job_statuses=JOB_STATUS_LABELS,
        loads=section,
        supply=supply,
        call_labels=CALL_STATUS_LABELS,
        offer_labels=PORTAL_LABELS["offer_status"],
        route_plan_labels=ROUTE_PLAN_LABELS,
        route_method_labels=ROUTE_METHOD_LABELS,
        trip_labels=TRIP_LABELS,
        stop_labels=STOP_LABELS,
        default_needed_by=(local_now() + timedelta(hours=24)).strftime("%Y-%m-%dT%H:%M"),
        map_data=json.dumps(
            {
                "incident": [incident.lat, incident.lon],
                "points": [{"name": p.name, "lat": p.lat, "lon": p.lon} for p in points],
                "routes": [
                    {
                        "from": [line.depot.lat, line.depot.lon],
                        "to": [line.point.lat, line.point.lon],
                        "label": f"{line.depot.name} → {line.point.name}: {line.material.name} "
                        f"{line.quantity}",
                    }
                    for line in lines
                    if line.depot is not None and line.depot.lat is not None
                ],
                "trips": waybills.map_routes(section),
            },
            ensure_ascii=False,
        ),
    )


@bp.route("/incidents/<int:incident_id>/status", methods=["POST"])
@auth_required("session")
def incident_status(incident_id):
    _attempt(incidents.move_incident, incident_id, request.form.get("status", ""))
    return _back(incident_id)


@bp.route("/incidents/<int:incident_id>/points", methods=["POST"])
@auth_required("session")
def add_point(incident_id):
    form = request.form
    _attempt(
        incidents.add_point,
        incident_id,
        name=form.get("name", ""),
        lat=_degrees(form.get("lat")),
        lon=_degrees(form.get("lon")),
        population=form.get("population", type=int),
        region_code=form.get("region_code") or None,
        severity=form.get("severity", 2, type=int),
    )
    return _back(incident_id, "#demands")


def _degrees(text: str | None) -> float | None:
    """A coordinate as people type it: any number of decimals, a comma for the point, a ° sign."""
    try:
        value = float((text or "").strip().replace("，", ".").replace(",", ".").rstrip("°"))
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _local_to_utc(text: str | None):
    """The form's datetime-local is the province's local time; the database keeps naive UTC."""
    if not text:
        return None
    try:
        return local_to_utc(datetime.fromisoformat(text))
    except ValueError:
        return None


@bp.route("/incidents/<int:incident_id>/demands", methods=["POST"])
@auth_required("session")
def add_demand(incident_id):
    form = request.form
    _attempt(
        incidents.add_demand,
        incident_id,
        point_id=form.get("point_id", type=int) or 0,
        material_id=form.get("material_id", type=int) or 0,
        quantity=form.get("quantity", type=int) or 0,
        priority=form.get("priority", 2, type=int),
        needed_by=_local_to_utc(form.get("needed_by")),
    )
    return _back(incident_id, "#demands")


@bp.route("/demands/<int:demand_id>/cancel", methods=["POST"])
@auth_required("session")
def cancel_demand(demand_id):
    _attempt(incidents.cancel_demand, demand_id, reason=request.form.get("reason", ""))
    return _back(request.form.get("incident_id", 0, type=int), "#demands")


@bp.route("/incidents/<int:incident_id>/plan", methods=["POST"])
@auth_required("session")
def run_plan(incident_id):
    """Small problems are planned now; a large one becomes a job the board shows with a
    progress bar (board.js polls it and comes back to the plan when it is done)."""
    exclude = [
        key.strip()
        for value in request.form.getlist("exclude")
        for key in value.replace("，", ",").split(",")
        if key.strip()
    ]
    try:
        outcome = plan_jobs.plan_or_queue(
            current_user,
            incident_id,
            options={"exclude": exclude, "pin": []},
            greedy=request.form.get("greedy") == "on",
        )
    except DomainError as exc:
        _flash_error(exc)
        return _back(incident_id, "#plan")
    if isinstance(outcome, BackgroundJob):
        return redirect(
            url_for("dispatch.board", incident_id=incident_id, job=outcome.id) + "#plan", 303
        )
    return _back(incident_id, "#plan")


@bp.route("/plan-jobs/<int:job_id>/cancel", methods=["POST"])
@auth_required("session")
def cancel_plan_job(job_id):
    return _job_action(background.cancel, job_id)


@bp.route("/plan-jobs/<int:job_id>/retry", methods=["POST"])
@auth_required("session")
def retry_plan_job(job_id):
    return _job_action(background.retry, job_id)


def _job_action(action, job_id):
    job = background.get_job(current_user, job_id, "plan")
    incident_id = job.subject_id
    _attempt(action, job_id, "plan")
    return redirect(url_for("dispatch.board", incident_id=incident_id, job=job_id) + "#plan", 303)


@bp.route("/plans/<int:plan_id>/edit", methods=["POST"])
@auth_required("session")
def edit_plan(plan_id):
    version = versions.get_plan(current_user, plan_id)
    changes = [
        {"line_id": int(key.split("-")[1]), "quantity": int(value)}
        for key, value in request.form.items()
        if key.startswith("line-") and value.strip().isdigit()
    ]
    changes = [
        c
        for c in changes
        if any(line.id == c["line_id"] and line.quantity != c["quantity"] for line in version.lines)
    ]
    if not changes:
        flash(_("No quantity was changed."), "error")
    else:
        _attempt(versions.edit_plan, plan_id, changes)
    return _back(version.incident_id, "#plan")


@bp.route("/plans/<int:plan_id>/approve", methods=["POST"])
@auth_required("session")
def approve(plan_id):
    version = versions.get_plan(current_user, plan_id)
    if _attempt(approval.approve, plan_id):
        flash(_("Plan approved: stock reserved and shipments created."), "info")
    return _back(version.incident_id, "#plan")


@bp.route("/plans/<int:plan_id>/cancel", methods=["POST"])
@auth_required("session")
def cancel_plan(plan_id):
    version = versions.get_plan(current_user, plan_id)
    _attempt(approval.cancel, plan_id, reason=request.form.get("reason", ""))
    return _back(version.incident_id, "#plan")


@bp.route("/shipments/<int:shipment_id>", methods=["POST"])
@auth_required("session")
def update_shipment(shipment_id):
    _attempt(
        shipments.advance,
        shipment_id,
        request.form.get("status", ""),
        quantity_received=request.form.get("quantity_received", type=int),
        discrepancy_reason=request.form.get("discrepancy_reason"),
    )
    return _back(request.form.get("incident_id", 0, type=int), "#shipments")


@bp.route("/incidents/<int:incident_id>/messages", methods=["POST"])
@auth_required("session")
def post_message(incident_id):
    _attempt(
        consultation.post_message,
        incident_id,
        request.form.get("body", ""),
        plan_id=request.form.get("plan_id", type=int),
        decision=request.form.get("decision") == "on",
    )
    return _back(incident_id, "#consultation")


@bp.route("/plan-lines/<int:line_id>/position", methods=["POST"])
@auth_required("session")
def set_position(line_id):
    _attempt(
        consultation.set_position,
        line_id,
        position=request.form.get("position", ""),
        quantity=request.form.get("quantity", type=int),
        reason=request.form.get("reason"),
        available_in_h=request.form.get("available_in_h", type=float),
    )
    return _back(request.form.get("incident_id", 0, type=int), "#plan")


@bp.route("/incidents/<int:incident_id>/report")
@auth_required("session")
def report(incident_id):
    incident = incidents.get_incident(current_user, incident_id)
    can_record = may_command_incidents(current_user)
    return render_template(
        "dispatch/report.html",
        report=after_action.report(current_user, incident_id),
        incident=incident,
        types=LABELS["incident_type"],
        statuses=STATUS_LABELS,
        can_record=can_record,
        points=incidents.list_points(current_user, incident.id) if can_record else [],
        depots=after_action.return_depots(current_user, incident.id) if can_record else [],
        materials=after_action.incident_materials(incident.id) if can_record else [],
        max_quantity=after_action.MAX_RECORD_QUANTITY,
        max_note=after_action.MAX_NOTE,
    )


def _record(action, incident_id, **where):
    form = request.form
    if _attempt(
        action,
        incident_id,
        material_id=form.get("material_id", type=int) or 0,
        quantity=form.get("quantity", type=int),
        note=(form.get("note") or "").strip() or None,
        **where,
    ):
        flash(_("Recorded."), "success")
    return redirect(url_for("dispatch.report", incident_id=incident_id) + "#records", 303)


@bp.route("/incidents/<int:incident_id>/returns", methods=["POST"])
@auth_required("session")
def record_return(incident_id):
    return _record(
        after_action.record_return,
        incident_id,
        depot_id=request.form.get("depot_id", type=int) or 0,
    )


@bp.route("/incidents/<int:incident_id>/consumption", methods=["POST"])
@auth_required("session")
def record_consumption(incident_id):
    return _record(
        after_action.record_consumption,
        incident_id,
        point_id=request.form.get("point_id", type=int) or 0,
    )
