"""The supply/demand board across the two networks (core/exchange/, docs/operations.md §10).

- out `board`: the board's demands (those an administrator posted and the approved calls for
  supply, 供需发布), with the decision on each offer made outside (matched, how many, declined);
  the extranet shows them and their progress as the private network decides;
- in `board_offers`: offers made on the extranet, checked again inside with the forms' own
  schemas and the board's rules (an open demand; a call for supply answered only by an
  enterprise approved and not suspended inside, for at most what it asks), then left for staff
  to match or accept as an offer made inside would be.
"""

import logging
from datetime import date, datetime

from marshmallow import ValidationError
from sqlalchemy import select

from core.exchange.bundles import INBOUND, OUTBOUND
from core.exchange.service import ExchangeKind, sent_state, snapshot_kind, unsent
from core.extensions import db
from core.organisation import Region

from .models import BoardDemand, BoardOffer, DemandStatus, OfferStatus, Supplier, SupplierStatus
from .schemas import BoardOfferInSchema, CallOfferInSchema
from .services.board import INCIDENT

log = logging.getLogger(__name__)
DEMANDS_PUBLISHED = 2000  # the newest; older demands stay outside as last published
OFFERS_PER_BUNDLE = 500
DEMAND_FIELDS = ("title", "material_id", "material_text", "unit", "quantity", "region_code",
                 "description", "status", "source_kind")  # fmt: skip


def _read_board() -> list:
    demands = db.session.execute(
        select(BoardDemand).order_by(BoardDemand.id.desc()).limit(DEMANDS_PUBLISHED)
    ).scalars()
    return [
        {**{k: getattr(d, k) for k in DEMAND_FIELDS}, "id": d.id,
         "needed_by": d.needed_by.isoformat() if d.needed_by else None,
         "created_at": d.created_at.isoformat(timespec="seconds"),
         "decisions": [[o.external_ref, o.status, o.matched_quantity]
                       for o in d.offers if o.external_ref is not None]}
        for d in demands
    ]  # fmt: skip


def _apply_board(rows: list) -> int:
    for row in rows:
        demand = db.session.get(BoardDemand, row["id"]) or BoardDemand(id=row["id"])
        for key in DEMAND_FIELDS:
            setattr(demand, key, row[key])
        demand.needed_by = date.fromisoformat(row["needed_by"]) if row["needed_by"] else None
        demand.created_at = datetime.fromisoformat(row["created_at"])
        db.session.add(demand)
        db.session.flush()
        for ref, status, matched in row["decisions"]:
            offer = db.session.get(BoardOffer, ref)
            if offer is not None and offer.demand_id == demand.id and status in set(OfferStatus):
                offer.status, offer.matched_quantity = status, int(matched)
    db.session.flush()
    return len(rows)


def _collect_offers(state: dict):
    rows = unsent(BoardOffer, state, OFFERS_PER_BUNDLE)
    if not rows:
        return None
    items = [
        {"ref": o.id, "demand": o.demand_id, "supplier": o.supplier_id,
         "offerer_name": o.offerer_name, "contact": o.contact, "quantity": o.quantity,
         "note": o.note or None, "price_yuan": o.price_yuan, "lead_time_h": o.lead_time_h,
         "from_region_code": o.from_region_code,
         "created_at": o.created_at.isoformat(timespec="seconds")}
        for o in rows
    ]  # fmt: skip
    return items, sent_state(state, rows)


def _apply_offers(items: list) -> int:
    taken = 0
    for item in items[:OFFERS_PER_BUNDLE]:
        try:
            offer = _checked_offer(item)
        except (ValidationError, KeyError, TypeError, ValueError) as refused:
            log.warning("exchange: board offer %r not taken: %s", item.get("ref"), refused)
            continue
        if offer is not None:
            db.session.add(offer)
            taken += 1
    db.session.flush()
    return taken


def _checked_offer(item: dict) -> BoardOffer | None:
    """The offer to store inside, or None when it is already here; ValueError when a rule
    refuses it (every field comes from the extranet, untrusted)."""
    ref = item["ref"]
    if not isinstance(ref, int) or isinstance(ref, bool) or ref < 1:
        raise ValueError("no reference")
    if db.session.execute(select(BoardOffer.id).where(BoardOffer.external_ref == ref)).first():
        return None
    demand = db.session.get(BoardDemand, item["demand"])
    if demand is None or demand.status != DemandStatus.OPEN.value:
        raise ValueError("no open demand")
    created = datetime.fromisoformat(item["created_at"])
    if demand.source_kind != INCIDENT:
        fields = BoardOfferInSchema().load(
            {k: item[k] for k in ("offerer_name", "contact", "quantity", "note") if item[k]}
        )
        fields.pop("website", None)
        return BoardOffer(external_ref=ref, demand_id=demand.id, created_at=created, **fields)
    outside = item["supplier"]
    if not isinstance(outside, int) or isinstance(outside, bool) or outside < 1:
        raise ValueError("a call for supply is answered by a registered enterprise")
    supplier = db.session.execute(
        select(Supplier).where(Supplier.external_ref == outside)
    ).scalar()  # fmt: skip
    if supplier is None or supplier.status != SupplierStatus.APPROVED.value:
        raise ValueError("a call for supply is answered by an enterprise approved here")
    if supplier.suspended_at is not None:
        raise ValueError("the enterprise is suspended")
    keys = ("quantity", "price_yuan", "lead_time_h", "from_region_code", "note")
    fields = CallOfferInSchema().load({k: item[k] for k in keys if item[k] is not None})
    fields.pop("website", None)
    if not 1 <= fields["quantity"] <= demand.quantity:
        raise ValueError("more than the call asks")
    if db.session.get(Region, fields["from_region_code"]) is None:
        raise ValueError("unknown region")
    return BoardOffer(external_ref=ref, demand_id=demand.id, supplier_id=supplier.id,
                      offerer_name=supplier.name, contact=supplier.contact_mobile,
                      created_at=created, **fields)  # fmt: skip


KINDS = (
    snapshot_kind("board", OUTBOUND, _read_board, _apply_board),
    ExchangeKind("board_offers", INBOUND, _collect_offers, _apply_offers),
)
