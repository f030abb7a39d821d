"""Calls for supply (供需发布): a plan's unmet line becomes a call for its demand point's city,
drafted by a commander, approved by another commander or an administrator (four eyes), then
published on the portal's supply/demand board as an incident demand; approved enterprises answer
with offers, staff accept them (they become planning sources of this incident, `problem.py`) and
record the goods' receipt into a depot through the ledger. A call is withdrawn when accepted
offers cover it, or by hand. The incident's public notice is drafted here too."""

from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from core.errors import Conflict, Invalid, NotFound
from core.extensions import db
from core.organisation import Region
from core.timeutil import local_text, to_local, utcnow
from public_site.services import board
from reserve.models import LABELS as RESERVE_LABELS
from reserve.models import Depot
from reserve.rules import MAX_QUANTITY
from reserve.stock.ledger import LotFacts, record_receipt

from .. import rules
from ..models import STATUS_LABELS, DemandPoint
from ..statuses import CallStatus, IncidentStatus, PlanStatus
from ..supply_models import SupplyCall
from .incidents import get_incident, require_command
from .versions import get_plan

WHY = {
    "drill": lambda: _("A drill is never published."),
    "not_draft": lambda: _("Only a drafted call is approved."),
    "same_person": lambda: _("A call is approved by a commander other than who drafted it."),
    "empty": lambda: _("Write the call's text."),
    "too_long": lambda: _("At most %(n)s characters.", n=rules.CALL_TEXT_MAX),
    "names_depot": lambda: _("The text names a depot: calls name the city only."),
    "foreign_figure": lambda: _(
        "The text carries a figure other than the call's quantity and deadline."
    ),
}


def list_calls(user, incident_id: int) -> list[SupplyCall]:
    get_incident(user, incident_id)
    return (
        db.session.execute(
            select(SupplyCall)
            .where(SupplyCall.incident_id == incident_id)
            .order_by(SupplyCall.id.desc())
        )
        .scalars()
        .all()
    )


def get_call(user, call_id: int) -> SupplyCall:
    call = db.session.get(SupplyCall, call_id)
    if call is None:
        raise NotFound(_("Call for supply %(id)s not found.", id=call_id))
    get_incident(user, call.incident_id)
    return call


def offers_by_call(calls) -> dict[int, list]:
    """call id -> its board offers (staff read them with the enterprise's terms)."""
    by_demand = {c.board_demand_id: c.id for c in calls if c.board_demand_id}
    result = {c.id: [] for c in calls}
    for offer in board.offers_of(list(by_demand)):
        result[by_demand[offer.demand_id]].append(offer)
    return result


def draft_call(
    user, plan_id: int, *, point_id: int, material_id: int, deadline, quantity=None, text=None
) -> SupplyCall:
    """A drafted call from one of the plan's unmet lines: quantity (default the unmet quantity,
    at most it), the point's city, a deadline within 90 days; the text drafted from these facts
    unless given (then checked: no depot, no other figure)."""
    require_command(user)
    plan = get_plan(user, plan_id)
    incident = plan.incident
    quantity = _checked_quantity(plan, point_id, material_id, quantity, deadline)
    point = db.session.get(DemandPoint, point_id)
    region = db.session.get(Region, rules.city_of(point.region_code or incident.region_code))
    material = _material(material_id)
    title = _("%(city)s needs %(material)s", city=region.name, material=material.name)
    drafted = _drafted_text(incident, region, material, quantity, deadline)
    call = SupplyCall(
        incident_id=incident.id,
        plan_id=plan.id,
        point_id=point.id,
        material_id=material.id,
        quantity=quantity,
        region_code=region.code,
        deadline=deadline,
        title=title[:200],
        text=drafted if text is None or not text.strip() else text.strip(),
        status=CallStatus.DRAFT,
        drafted_by_id=user.id,
    )
    _check_text(call)
    db.session.add(call)
    db.session.commit()
    return call


def _checked_quantity(plan, point_id: int, material_id: int, quantity, deadline) -> int:
    """The call's quantity (default: what `plan` left unmet of the material at the point), once
    the rules allow a call: no drill, a current plan, something unmet, no other open call of the
    point and material, a quantity up to the unmet one, a deadline in the next 90 days."""
    _refuse_drill(plan.incident)
    if plan.status not in (PlanStatus.DRAFT, PlanStatus.APPROVED):
        raise Conflict(_("Calls are drafted from the current draft or the approved plan."))
    unmet = sum(
        int(u["quantity"])
        for u in plan.unmet or []
        if u.get("point_id") == point_id and u.get("material_id") == material_id
    )
    if unmet <= 0:
        raise Invalid(_("The plan leaves nothing of this material unmet at this point."))
    if db.session.execute(
        select(SupplyCall.id).where(
            SupplyCall.incident_id == plan.incident_id,
            SupplyCall.point_id == point_id,
            SupplyCall.material_id == material_id,
            SupplyCall.status.in_((CallStatus.DRAFT, CallStatus.PUBLISHED)),
        )
    ).first():
        raise Conflict(_("A call for this point and material is already open."))
    quantity = unmet if quantity is None else quantity
    now = utcnow()
    errors = {}
    if not 1 <= quantity <= min(unmet, MAX_QUANTITY):
        errors["quantity"] = [_("Between 1 and %(n)s.", n=f"{unmet:,}")]
    if not now < deadline <= now + timedelta(days=rules.CALL_DEADLINE_MAX_DAYS):
        errors["deadline"] = [_("A time in the next %(n)s days.", n=rules.CALL_DEADLINE_MAX_DAYS)]
    if errors:
        raise Invalid(_("The call is not valid."), errors=errors)
    return quantity


def approve_call(user, call_id: int) -> SupplyCall:
    """Approve a drafted call and publish it on the board (one transaction)."""
    require_command(user)
    call = get_call(user, call_id)
    why = rules.call_publish_obstacle(
        drill=call.incident.drill,
        status=call.status,
        drafted_by=call.drafted_by_id,
        approver=user.id,
        four_eyes=current_app.config["DISPATCH_FOUR_EYES"],
    )
    if why is not None:
        raise Conflict(WHY[why]())
    if call.incident.status == IncidentStatus.CLOSED:
        raise Conflict(_("The incident is closed."))
    _check_text(call)
    call.board_demand = board.add_incident_demand(
        user,
        title=call.title,
        material=call.material,
        quantity=call.quantity,
        region_code=call.region_code,
        needed_by=to_local(call.deadline).date(),
        text=call.text,
        ref=str(call.incident_id),
    )
    call.status, call.approved_by_id, call.approved_at = CallStatus.PUBLISHED, user.id, utcnow()
    db.session.commit()
    return call


def can_approve_call(user, call: SupplyCall) -> bool:
    return (
        rules.call_publish_obstacle(
            drill=call.incident.drill,
            status=call.status,
            drafted_by=call.drafted_by_id,
            approver=user.id,
            four_eyes=current_app.config["DISPATCH_FOUR_EYES"],
        )
        is None
    )


def withdraw_call(user, call_id: int, *, reason: str) -> SupplyCall:
    require_command(user)
    call = get_call(user, call_id)
    if call.status not in (CallStatus.DRAFT, CallStatus.PUBLISHED):
        raise Conflict(_("The call is already closed."))
    if not (reason or "").strip():
        raise Invalid(_("Say why."), errors={"reason": [_("required")]})
    call.status, call.closed_reason = CallStatus.WITHDRAWN, reason.strip()[:300]
    if call.board_demand is not None and call.board_demand.status == "open":
        call.board_demand.status = "closed"
    db.session.commit()
    return call


def _refuse_drill(incident) -> None:
    if incident.drill:
        raise Conflict(WHY["drill"]())


def _material(material_id: int):
    from reserve.models import Material

    material = db.session.get(Material, material_id)
    if material is None:
        raise Invalid(_("Unknown material."), errors={"material_id": [_("not in the catalog")]})
    return material


def _drafted_text(incident, region, material, quantity, deadline) -> str:
    kind = RESERVE_LABELS["incident_type"].get(incident.incident_type, incident.incident_type)
    return _(
        "For the %(kind)s response, %(city)s needs %(quantity)s %(unit)s of %(material)s by "
        "%(deadline)s. Approved enterprises may offer a quantity, a price if any, a lead time "
        "and where the goods come from.",
        kind=kind,
        city=region.name,
        quantity=quantity,
        unit=material.unit,
        material=material.name,
        deadline=local_text(deadline),
    )


def _check_text(call: SupplyCall) -> None:
    """The text names no depot and carries no figure but the call's own (quantity, deadline)."""
    depots = db.session.execute(select(Depot.name, Depot.code)).all()
    local = to_local(call.deadline)
    allowed = {call.quantity, local.year, local.month, local.day, local.hour, local.minute}
    why = rules.call_text_problem(call.text, [w for row in depots for w in row if w], allowed | {0})
    if why is not None:
        raise Invalid(WHY[why](), errors={"text": [WHY[why]()]})


# --- offers: acceptance and receipt -------------------------------------------------------------


def call_offer_of(user, offer_id: int):
    """The board offer and its call, for command staff; 404 for an offer not on a call."""
    from public_site.models import BoardOffer

    offer = db.session.get(BoardOffer, offer_id)
    call = (
        db.session.execute(
            select(SupplyCall).where(SupplyCall.board_demand_id == offer.demand_id)
        ).scalar_one_or_none()
        if offer is not None
        else None
    )
    if call is None:
        raise NotFound(_("Offer %(id)s not found.", id=offer_id))
    get_incident(user, call.incident_id)
    return offer, call


def accept_offer(user, offer_id: int, *, quantity: int | None = None):
    """Accept an enterprise's offer, whole or in part: from now on it is a source of this
    incident's planning (`B<offer>`). A call whose accepted offers cover it is met: withdrawn
    from the board."""
    require_command(user)
    offer, call = call_offer_of(user, offer_id)
    if call.status != CallStatus.PUBLISHED:
        raise Conflict(_("The call is no longer published."))
    board.match_offer(user, offer, quantity)
    if call.board_demand.status == "fulfilled":
        call.status, call.closed_reason = CallStatus.MET, None
    db.session.commit()
    return offer


def receive_offer(user, offer_id: int, *, depot_id: int, quantity: int | None = None):
    """The accepted goods arrived: a receipt into `depot_id` through the ledger (lot
    `CALL-<offer>`), and the offer shows as received (it stops being a planning source)."""
    require_command(user)
    offer, call = call_offer_of(user, offer_id)
    if offer.status != "matched":
        raise Conflict(_("Only an accepted offer is received."))
    if offer.received_at is not None:
        raise Conflict(_("This offer has already been received."))
    quantity = offer.matched_quantity if quantity is None else quantity
    if not 1 <= quantity <= offer.matched_quantity:
        raise Invalid(
            _("Between 1 and %(n)s.", n=f"{offer.matched_quantity:,}"),
            errors={"quantity": [_("invalid")]},
        )
    record_receipt(
        user,
        depot_id=depot_id,
        material_id=call.material_id,
        quantity=quantity,
        facts=LotFacts(lot_no=f"CALL-{offer.id}", enterprise_name=offer.offerer_name),
        reason=_("Call for supply %(title)s", title=call.title)[:300],
        reference=f"CALL-{call.id}",
        dispatch_return=True,  # booked by command staff for the incident, like a return
    )
    offer.received_quantity, offer.received_depot_id = quantity, depot_id
    offer.received_at = utcnow()
    db.session.commit()
    return offer


def receiving_depots(user) -> list:
    """Depots `user` may book a receipt into (the receipt form's choices)."""
    from reserve.services import depots

    return db.session.execute(depots.list_depots(user, status="active")).scalars().all()


# --- the incident's public notice -----------------------------------------------------------


def draft_notice(user, incident_id: int):
    """A public incident notice drafted from the live incident: type, level, city, status; never
    a figure of stock, never a drill. Unpublished: an administrator publishes it (the approval)
    on the portal's notice desk."""
    from public_site.services import notices

    require_command(user)
    incident = get_incident(user, incident_id)
    _refuse_drill(incident)
    region = db.session.get(Region, rules.city_of(incident.region_code))
    kind = RESERVE_LABELS["incident_type"].get(incident.incident_type, incident.incident_type)
    level = RESERVE_LABELS["level"].get(incident.level, incident.level)
    status = STATUS_LABELS.get(incident.status, incident.status)
    title = _("%(city)s: %(kind)s (%(level)s)", city=region.name, kind=kind, level=level)
    body = _(
        "A %(kind)s of %(level)s has occurred in %(city)s. Response status: %(status)s.\n\n"
        "Enterprises able to supply materials may answer the open calls for supply on the "
        "supply and demand board.",
        kind=kind,
        level=level,
        city=region.name,
        status=status,
    )
    notice = notices.add_incident_draft(user, title=title[:200], body=body)
    db.session.commit()
    return notice
