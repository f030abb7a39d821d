"""API of the calls for supply (供需发布): draft from a plan's unmet line, approve (publishes on
the portal's board), withdraw; accept an enterprise's offer, record its receipt; re-plan with the
positions and accepted offers; draft the incident's public notice."""

from flask_security import auth_required, current_user
from flask_smorest import Blueprint

from .schemas import DispatchReasonSchema
from .services import replan, supply_calls
from .supply_schemas import (
    AcceptSchema,
    CallDraftSchema,
    CallOfferSchema,
    DiffSchema,
    NoticeDraftSchema,
    ReceiveSchema,
    ReplanSchema,
    SupplyCallSchema,
)

blp = Blueprint(
    "supply", __name__, url_prefix="/api/v1", description="Calls for supply (供需发布) and re-plans"
)


@blp.route("/incidents/<int:incident_id>/supply-calls")
@auth_required("token", "session")
@blp.response(200, SupplyCallSchema(many=True))
def list_calls(incident_id):
    return supply_calls.list_calls(current_user, incident_id)


@blp.route("/dispatch-plans/<int:plan_id>/supply-calls", methods=["POST"])
@auth_required("token", "session")
@blp.arguments(CallDraftSchema)
@blp.response(201, SupplyCallSchema)
def draft_call(data, plan_id):
    """Draft a call from one of the plan's unmet lines (command staff; drills refused)."""
    return supply_calls.draft_call(current_user, plan_id, **data)


@blp.route("/supply-calls/<int:call_id>/offers")
@auth_required("token", "session")
@blp.response(200, CallOfferSchema(many=True))
def call_offers(call_id):
    call = supply_calls.get_call(current_user, call_id)
    return supply_calls.offers_by_call([call])[call.id]


@blp.route("/supply-calls/<int:call_id>/approve", methods=["POST"])
@auth_required("token", "session")
@blp.response(200, SupplyCallSchema)
def approve_call(call_id):
    """Approve and publish (a commander other than who drafted it, or an administrator)."""
    return supply_calls.approve_call(current_user, call_id)


@blp.route("/supply-calls/<int:call_id>/withdraw", methods=["POST"])
@auth_required("token", "session")
@blp.arguments(DispatchReasonSchema)
@blp.response(200, SupplyCallSchema)
def withdraw_call(data, call_id):
    return supply_calls.withdraw_call(current_user, call_id, reason=data["reason"])


@blp.route("/call-offers/<int:call_offer_id>/accept", methods=["POST"])
@auth_required("token", "session")
@blp.arguments(AcceptSchema)
@blp.response(200, CallOfferSchema)
def accept_offer(data, call_offer_id):
    """Accept an offer, whole or in part: a planning source of this incident from now on."""
    return supply_calls.accept_offer(current_user, call_offer_id, **data)


@blp.route("/call-offers/<int:call_offer_id>/receive", methods=["POST"])
@auth_required("token", "session")
@blp.arguments(ReceiveSchema)
@blp.response(200, CallOfferSchema)
def receive_offer(data, call_offer_id):
    """The goods arrived: a receipt into a depot through the ledger."""
    return supply_calls.receive_offer(current_user, call_offer_id, **data)


@blp.route("/dispatch-plans/<int:plan_id>/replan", methods=["POST"])
@auth_required("token", "session")
@blp.response(201, ReplanSchema)
def replan_plan(plan_id):
    """A new version with the positions as bounds and the accepted offers as sources, and what
    changed against this one."""
    version, diff = replan.replan(current_user, plan_id)
    return {"plan": version, "diff": diff}


@blp.route("/dispatch-plans/<int:plan_id>/replan-diff")
@auth_required("token", "session")
@blp.response(200, DiffSchema)
def replan_diff(plan_id):
    """What a re-plan changed against the version it started from (404-free: empty when the
    version is no re-plan)."""
    version = replan.get_plan(current_user, plan_id)
    base = replan.replan_base(current_user, version)
    return replan.differences(current_user, version, base) if base else {}


@blp.route("/incidents/<int:incident_id>/notice-draft", methods=["POST"])
@auth_required("token", "session")
@blp.response(201, NoticeDraftSchema)
def draft_notice(incident_id):
    """An unpublished public notice from the live incident; an administrator publishes it."""
    return supply_calls.draft_notice(current_user, incident_id)
