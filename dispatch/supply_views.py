"""Pages of the calls for supply (供需发布) on the command board: draft a call from an unmet
line, approve and publish it, withdraw it, accept an offer, record its receipt, re-plan with the
positions and the accepted offers, draft the incident's public notice."""

from flask import flash, request
from flask_babel import gettext as _
from flask_security import auth_required, current_user

from core.errors import DomainError, Invalid
from core.timeutil import local_to_utc

from .pages import _attempt, _back, _flash_error, bp
from .services import replan, supply_calls, versions
from .statuses import CallStatus, PlanStatus


def board_section(user, incident, current) -> dict:
    """What the board's 供需发布 section shows: the calls with their offers, who may approve,
    the depots a receipt may go to, and the re-plan's differences when the plan is one."""
    calls = supply_calls.list_calls(user, incident.id)
    base = replan.replan_base(user, current) if current else None
    return {
        "calls": calls,
        "offers": supply_calls.offers_by_call(calls),
        "approvable": {c.id for c in calls if supply_calls.can_approve_call(user, c)},
        "depots": supply_calls.receiving_depots(user) if calls else [],
        "diff": replan.differences(user, current, base) if base else None,
        "can_replan": current is not None
        and current.status in (PlanStatus.DRAFT, PlanStatus.APPROVED),
        "open_statuses": (CallStatus.DRAFT, CallStatus.PUBLISHED),
        "uncalled": _uncalled(incident, current, calls),
    }


def _uncalled(incident, current, calls) -> list[dict]:
    """The version's unmet lines a call may still be drafted for (the service refuses a drill,
    a plan no longer current and a second open call of one point and material)."""
    if current is None or incident.drill or current.status not in PLAN_CURRENT:
        return []
    called = {
        (c.point_id, c.material_id)
        for c in calls
        if c.status in (CallStatus.DRAFT, CallStatus.PUBLISHED)
    }
    return [u for u in current.unmet or [] if (u["point_id"], u["material_id"]) not in called]


PLAN_CURRENT = (PlanStatus.DRAFT, PlanStatus.APPROVED)


@bp.route("/plans/<int:plan_id>/supply-calls", methods=["POST"])
@auth_required("session")
def draft_call(plan_id):
    plan = versions.get_plan(current_user, plan_id)
    form = request.form
    try:
        deadline = local_to_utc(_local(form.get("deadline")))
        supply_calls.draft_call(
            current_user,
            plan_id,
            point_id=form.get("point_id", type=int) or 0,
            material_id=form.get("material_id", type=int) or 0,
            quantity=form.get("quantity", type=int),
            deadline=deadline,
            text=form.get("text") or None,
        )
    except DomainError as exc:
        _flash_error(exc)
    else:
        flash(
            _("Call for supply drafted: another commander approves it before it goes out."), "info"
        )
    return _back(plan.incident_id, "#supply")


def _local(text):
    from datetime import datetime

    try:
        return datetime.fromisoformat((text or "").strip())
    except ValueError:
        raise Invalid(_("The call is not valid."), errors={"deadline": [_("invalid")]}) from None


@bp.route("/supply-calls/<int:call_id>/approve", methods=["POST"])
@auth_required("session")
def approve_call(call_id):
    call = supply_calls.get_call(current_user, call_id)
    if _attempt(supply_calls.approve_call, call_id):
        flash(_("Call for supply approved and published on the portal."), "info")
    return _back(call.incident_id, "#supply")


@bp.route("/supply-calls/<int:call_id>/withdraw", methods=["POST"])
@auth_required("session")
def withdraw_call(call_id):
    call = supply_calls.get_call(current_user, call_id)
    _attempt(supply_calls.withdraw_call, call_id, reason=request.form.get("reason", ""))
    return _back(call.incident_id, "#supply")


@bp.route("/call-offers/<int:call_offer_id>/accept", methods=["POST"])
@auth_required("session")
def accept_offer(call_offer_id):
    call = supply_calls.call_offer_of(current_user, call_offer_id)[1]
    if _attempt(
        supply_calls.accept_offer, call_offer_id, quantity=request.form.get("quantity", type=int)
    ):
        flash(_("Offer accepted: it is a source of this incident's next plan."), "info")
    return _back(call.incident_id, "#supply")


@bp.route("/call-offers/<int:call_offer_id>/receive", methods=["POST"])
@auth_required("session")
def receive_offer(call_offer_id):
    call = supply_calls.call_offer_of(current_user, call_offer_id)[1]
    if _attempt(
        supply_calls.receive_offer,
        call_offer_id,
        depot_id=request.form.get("depot_id", type=int) or 0,
        quantity=request.form.get("quantity", type=int),
    ):
        flash(_("Receipt recorded in the depot's stock."), "info")
    return _back(call.incident_id, "#supply")


@bp.route("/plans/<int:plan_id>/replan", methods=["POST"])
@auth_required("session")
def replan_plan(plan_id):
    plan = versions.get_plan(current_user, plan_id)
    _attempt(replan.replan, plan_id)
    return _back(plan.incident_id, "#supply")


@bp.route("/incidents/<int:incident_id>/notice-draft", methods=["POST"])
@auth_required("session")
def draft_notice(incident_id):
    if _attempt(supply_calls.draft_notice, incident_id):
        flash(_("Public notice drafted: an administrator publishes it on the portal."), "info")
    return _back(incident_id, "#supply")
