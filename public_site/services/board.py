"""The supply/demand board (供求信息): published demands, offers against them, and the
administrators' matching. Demands are posted by administrators; a demand generated from an
incident records `source_kind="incident"` and the incident's id in `source_ref`."""

from flask_babel import gettext as _
from sqlalchemy import select

from core.errors import Conflict, Invalid, NotAllowed, NotFound
from core.extensions import db
from core.policy import is_supplier_account, require_system_administration
from core.timeutil import utcnow
from core.organisation import Region
from reserve.models import Material

from .. import rules
from ..models import (
    BoardDemand,
    BoardOffer,
    DemandStatus,
    OfferStatus,
    Supplier,
    SupplierStatus,
)

INCIDENT = "incident"  # source_kind of a demand published from an incident's call for supply


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
    if demand.source_kind == INCIDENT:
        raise NotAllowed(
            _(
                "A call for supply is answered by an approved enterprise, signed in, with its "
                "lead time and where the goods come from."
            )
        )
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


# --- calls for supply (供需发布): the board side of dispatch's SupplyCall ----------------------


def add_incident_demand(user, *, title, material, quantity, region_code, needed_by, text, ref):
    """The board demand of an approved call for supply, uncommitted (dispatch's service checks
    who publishes and commits once). Only allow-listed facts: no depot, no point, no stock."""
    demand = BoardDemand(
        title=title,
        unit=material.unit,
        quantity=quantity,
        material_id=material.id,
        region_code=region_code,
        needed_by=needed_by,
        description=text,
        source_kind=INCIDENT,
        source_ref=ref,
        created_by_id=user.id,
    )
    db.session.add(demand)
    db.session.flush()
    return demand


def call_offer_obstacle(user, demand: BoardDemand) -> Exception | None:
    """Why `user` may not answer this call for supply, or None: only a signed-in enterprise
    whose registration is approved (pending, asked for changes, rejected or suspended: refused,
    saying why), and only while the call is open."""
    supplier = (
        db.session.execute(select(Supplier).where(Supplier.user_id == user.id)).scalar_one_or_none()
        if is_supplier_account(user)
        else None
    )
    if supplier is None:
        return NotAllowed(_("Sign in with an enterprise account to answer a call for supply."))
    if supplier.status != SupplierStatus.APPROVED.value:
        return NotAllowed(
            _("Only approved enterprises answer calls for supply; yours is not approved now.")
        )
    if demand.source_kind != INCIDENT:
        return Invalid(_("This demand is not a call for supply."))
    if demand.status != DemandStatus.OPEN.value:
        return Conflict(_("This demand is no longer open for offers."))
    return None


def answer_call(
    user,
    demand_id: int,
    *,
    quantity,
    lead_time_h,
    from_region_code,
    price_yuan=None,
    note=None,
    website=None,
) -> BoardOffer | None:
    """An approved enterprise's offer against a call for supply: quantity (1 up to what the call
    asks), price per unit if any, lead time in hours, the region the goods come from."""
    if rules.is_bot_submission(website):
        return None
    demand = get_demand(demand_id)
    if (obstacle := call_offer_obstacle(user, demand)) is not None:
        raise obstacle
    errors = {}
    if not 1 <= quantity <= demand.quantity:
        errors["quantity"] = [_("Between 1 and %(n)s.", n=f"{demand.quantity:,}")]
    if db.session.get(Region, from_region_code) is None:
        errors["from_region_code"] = [_("not a known GB/T 2260 code")]
    if errors:
        raise Invalid(_("The offer is not valid."), errors=errors)
    supplier = db.session.execute(select(Supplier).where(Supplier.user_id == user.id)).scalar_one()
    offer = BoardOffer(
        demand_id=demand.id,
        supplier_id=supplier.id,
        offerer_name=supplier.name,
        contact=supplier.contact_mobile,
        quantity=quantity,
        note=note or "",
        price_yuan=price_yuan,
        lead_time_h=lead_time_h,
        from_region_code=from_region_code,
    )
    db.session.add(offer)
    db.session.commit()
    return offer


def offers_of(demand_ids) -> list[BoardOffer]:
    if not demand_ids:
        return []
    return (
        db.session.execute(
            select(BoardOffer)
            .where(BoardOffer.demand_id.in_(demand_ids))
            .order_by(BoardOffer.demand_id, BoardOffer.id)
        )
        .scalars()
        .all()
    )


def match_offer(user, offer: BoardOffer, quantity: int | None) -> BoardOffer:
    """Accept `quantity` units of a pending offer (default: all of it, up to what is still
    needed), uncommitted. The demand row is locked so two acceptances cannot overfill it; a
    demand whose remaining quantity reaches zero becomes fulfilled."""
    demand = db.session.execute(
        select(BoardDemand).where(BoardDemand.id == offer.demand_id).with_for_update(of=BoardDemand)
    ).scalar_one()
    db.session.refresh(offer)
    if offer.status != OfferStatus.PENDING.value:
        raise Conflict(_("This offer has already been decided."))
    if demand.status != DemandStatus.OPEN.value:
        raise Conflict(_("This demand is no longer open for offers."))
    remaining = demand.progress.remaining
    taken = rules.match_quantity(offer.quantity if quantity is None else quantity, remaining)
    if quantity is not None and not 1 <= quantity <= min(offer.quantity, remaining):
        raise Invalid(
            _("Accept between 1 and %(n)s units.", n=f"{min(offer.quantity, remaining):,}"),
            errors={"quantity": [_("invalid")]},
        )
    if taken == 0:
        raise Conflict(_("The demand is already fully matched."))
    offer.status, offer.matched_quantity = OfferStatus.MATCHED.value, taken
    offer.decided_by_id, offer.decided_at = user.id, utcnow()
    db.session.flush()
    db.session.refresh(demand)
    if demand.progress.remaining == 0:
        demand.status = DemandStatus.FULFILLED.value
    return offer


def accepted_offers(demand_ids, material_ids) -> list[dict]:
    """Plain facts of the accepted offers of these demands (planning sources): what was
    accepted and not yet received, the lead time, the region the goods come from, and the
    enterprise's credit code and suspension (a listed enterprise supplies nothing)."""
    if not demand_ids:
        return []
    rows = db.session.execute(
        select(BoardOffer, BoardDemand.material_id, Supplier)
        .join(BoardDemand, BoardDemand.id == BoardOffer.demand_id)
        .outerjoin(Supplier, Supplier.id == BoardOffer.supplier_id)
        .where(
            BoardOffer.demand_id.in_(demand_ids),
            BoardOffer.status == OfferStatus.MATCHED.value,
            BoardOffer.received_at.is_(None),
            BoardDemand.material_id.in_(material_ids),
        )
        .order_by(BoardOffer.id)
    )
    return [
        {
            "offer_id": offer.id,
            "material_id": material_id,
            "open_quantity": offer.matched_quantity,
            "lead_time_h": offer.lead_time_h,
            "from_region_code": offer.from_region_code,
            # the enterprise, for the credit check of every plan
            "credit_code": supplier.credit_code if supplier else None,
            "supplier_name": supplier.name if supplier else offer.offerer_name,
            "suspended_reason": supplier.suspended_reason if supplier else None,
        }
        for offer, material_id, supplier in rows
    ]
