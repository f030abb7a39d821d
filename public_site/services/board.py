"""The supply/demand board (供求信息): published demands, offers against them, and the
administrators' matching. Demands are posted by administrators; a demand generated from an
incident records `source_kind="incident"` and the incident's id in `source_ref`."""

from flask_babel import gettext as _
from sqlalchemy import select

from core.errors import Conflict, Invalid, NotFound
from core.extensions import db
from core.policy import is_supplier_account, require_system_administration
from core.timeutil import utcnow
from core.organisation import Region
from reserve.models import Material

from .. import rules
from ..models import BoardDemand, BoardOffer, DemandStatus, OfferStatus, Supplier


def list_demands(*, status: str | None = None):
    """Select of the demands, open first then newest (public)."""
    stmt = select(BoardDemand)
    if status:
        stmt = stmt.where(BoardDemand.status == status)
    return stmt.order_by(
        (BoardDemand.status != DemandStatus.OPEN.value),
        BoardDemand.created_at.desc(),
        BoardDemand.id.desc(),
    )


def get_demand(demand_id: int) -> BoardDemand:
    demand = db.session.get(BoardDemand, demand_id)
    if demand is None:
        raise NotFound(_("Demand %(id)s not found.", id=demand_id))
    return demand


def create_demand(
    user,
    *,
    title: str,
    unit: str,
    quantity: int,
    material_id: int | None = None,
    material_text: str | None = None,
    region_code: str | None = None,
    needed_by=None,
    description: str | None = None,
    source_kind: str = "admin",
    source_ref: str | None = None,
) -> BoardDemand:
    require_system_administration(user)
    errors = {}
    if material_id is None and not material_text:
        errors["material_text"] = [_("choose a catalog material or describe it")]
    if material_id is not None and db.session.get(Material, material_id) is None:
        errors["material_id"] = [_("unknown catalog material")]
    if region_code and db.session.get(Region, region_code) is None:
        errors["region_code"] = [_("not a known GB/T 2260 code")]
    if errors:
        raise Invalid(_("The demand is not valid."), errors=errors)
    demand = BoardDemand(
        title=title,
        unit=unit,
        quantity=quantity,
        material_id=material_id,
        material_text=material_text,
        region_code=region_code,
        needed_by=needed_by,
        description=description or "",
        source_kind=source_kind,
        source_ref=source_ref,
        created_by_id=user.id,
    )
    db.session.add(demand)
    db.session.commit()
    return demand


def offer_supply(
    user,
    demand_id: int,
    *,
    offerer_name: str,
    contact: str,
    quantity: int,
    note: str | None = None,
    website: str | None = None,
) -> BoardOffer | None:
    """Anyone offers to supply against an open demand; a signed-in enterprise's offer is
    linked to its registration. A robot's submission stores nothing (None)."""
    if rules.is_bot_submission(website):
        return None
    demand = get_demand(demand_id)
    if demand.status != DemandStatus.OPEN.value:
        raise Conflict(_("This demand is no longer open for offers."))
    supplier_id = None
    if is_supplier_account(user):
        supplier_id = db.session.scalar(select(Supplier.id).where(Supplier.user_id == user.id))
    offer = BoardOffer(
        demand_id=demand.id,
        supplier_id=supplier_id,
        offerer_name=offerer_name,
        contact=contact,
        quantity=quantity,
        note=note or "",
    )
    db.session.add(offer)
    db.session.commit()
    return offer


def list_offers(user, *, status: str | None = None):
    require_system_administration(user)
    stmt = select(BoardOffer)
    if status:
        stmt = stmt.where(BoardOffer.status == status)
    return stmt.order_by(BoardOffer.created_at.desc(), BoardOffer.id.desc())


def decide_offer(user, offer_id: int, *, decision: str, note: str | None = None) -> BoardOffer:
    """Match an offer (taking what is offered, up to what is still needed) or decline it.
    The demand row is locked so two matches cannot overfill it."""
    require_system_administration(user)
    offer = db.session.get(BoardOffer, offer_id)
    if offer is None:
        raise NotFound(_("Offer %(id)s not found.", id=offer_id))
    demand = db.session.execute(
        select(BoardDemand).where(BoardDemand.id == offer.demand_id).with_for_update(of=BoardDemand)
    ).scalar_one()
    if offer.status != OfferStatus.PENDING.value:
        raise Conflict(_("This offer has already been decided."))
    if decision == "match":
        taken = rules.match_quantity(offer.quantity, demand.progress.remaining)
        if taken == 0:
            raise Conflict(_("The demand is already fully matched."))
        offer.status, offer.matched_quantity = OfferStatus.MATCHED.value, taken
    else:
        offer.status = OfferStatus.DECLINED.value
    offer.decision_note, offer.decided_by_id, offer.decided_at = note, user.id, utcnow()
    db.session.flush()
    db.session.refresh(demand)
    if demand.progress.remaining == 0:
        demand.status = DemandStatus.FULFILLED.value
    db.session.commit()
    return offer


def close_demand(user, demand_id: int) -> BoardDemand:
    require_system_administration(user)
    demand = get_demand(demand_id)
    demand.status = DemandStatus.CLOSED.value
    db.session.commit()
    return demand
