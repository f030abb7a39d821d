"""The stock ledger: every change of a lot is an append-only Movement, applied with one guarded
UPDATE of the lot's cached balances.

The UPDATE's WHERE clause states the invariant (on_hand >= 0, reserved >= 0, reserved <=
on_hand after the change), so two concurrent requests can never both take the last units, on
PostgreSQL (row lock) or SQLite (BEGIN IMMEDIATE). The CHECK constraints repeat it.
"""

from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import gettext as _
from sqlalchemy import func, select, update

from core.audit import serialise_writes
from core.auth import COMMANDER
from core.errors import Conflict, Invalid, NotFound
from core.extensions import db
from core.timeutil import utcnow

from .. import rules
from ..models import Depot, Material, Movement, MovementKind, ReserveType, StockLot
from . import rollup
from .access import readable, require_write


class InsufficientStock(Conflict):
    code = "insufficient-stock"


@dataclass(frozen=True)
class Change:
    kind: MovementKind
    on_hand: int = 0
    reserved: int = 0


class QuantityTooLarge(Invalid):
    code = "quantity-too-large"


def _positive(quantity: int) -> int:
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0:
        raise Invalid(_("Quantity must be a whole number above zero."))
    _bounded(quantity)
    return quantity


def _bounded(quantity: int, field: str = "quantity") -> None:
    if abs(quantity) > rules.MAX_QUANTITY:
        raise QuantityTooLarge(_("A quantity is at most %(max)s units.", max=f"{rules.MAX_QUANTITY:,}"),
                               errors={field: [_(rules.quantity_problem(abs(quantity)))]})


def _when(occurred_at: datetime | None) -> datetime:
    now = utcnow()
    occurred_at = occurred_at or now
    if problem := rules.occurred_at_problem(occurred_at, now):
        raise Invalid(_("A movement cannot happen in the future."), errors={"occurred_at": [_(problem)]})
    return occurred_at


def _guarded_update(lot_id: int, change: Change) -> None:
    dh, dr = change.on_hand, change.reserved
    serialise_writes()
    updated = db.session.execute(
        update(StockLot)
        .where(StockLot.id == lot_id,
               StockLot.on_hand + dh >= 0,
               StockLot.on_hand + dh <= rules.MAX_QUANTITY,
               StockLot.reserved + dr >= 0,
               StockLot.reserved + dr <= StockLot.on_hand + dh)
        .values(on_hand=StockLot.on_hand + dh, reserved=StockLot.reserved + dr)
        .returning(StockLot.on_hand, StockLot.depot_id, StockLot.material_id, StockLot.reserve_type,
                   StockLot.classification, StockLot.owner_agency_id)
        .execution_options(synchronize_session=False)
    ).mappings().first()
    if updated is None:
        db.session.rollback()
        held = db.session.scalar(select(StockLot.on_hand).where(StockLot.id == lot_id))
        if dh > 0 and held is not None and held + dh > rules.MAX_QUANTITY:
            raise QuantityTooLarge(_("A lot holds at most %(max)s units: this change would take it above.",
                                     max=f"{rules.MAX_QUANTITY:,}"), errors={"quantity": [_("too large")]})
        raise InsufficientStock(_("Not enough available stock in this lot for this change."))
    rollup.apply(updated, dh, dr, updated["on_hand"])


def _refuse_negative_history(lot_id: int, occurred_at: datetime, on_hand_delta: int) -> None:
    """A back-dated decrease must not make the balance negative at any earlier point in time."""
    history = db.session.execute(
        select(Movement.occurred_at, Movement.on_hand_delta)
        .where(Movement.lot_id == lot_id, Movement.on_hand_delta != 0)
        .order_by(Movement.occurred_at, Movement.id)
    ).all()
    deltas = [d for t, d in history if t <= occurred_at] + [on_hand_delta] + [d for t, d in history if t > occurred_at]
    if rules.first_negative_balance(deltas) is not None:
        db.session.rollback()
        raise Invalid(_("This back-dated movement would make the balance negative at an earlier date."),
                      errors={"occurred_at": [_("balance would go below zero")]})


def balance_at(lot_id: int, moment: datetime) -> int:
    """On hand at `moment`: the sum of the movements dated at or before it."""
    return db.session.scalar(select(func.coalesce(func.sum(Movement.on_hand_delta), 0))
                             .where(Movement.lot_id == lot_id, Movement.occurred_at <= moment))


def _refuse_before_a_count(lot_id: int, occurred_at: datetime) -> None:
    """A count settles the quantity at its moment: a movement dated before a later count would
    change a quantity the count already found on the shelf (it was counted with it), so it is
    refused; booked with a date after the count, it moves today's balance as it should."""
    counted_at = db.session.scalar(select(func.max(Movement.occurred_at)).where(
        Movement.lot_id == lot_id, Movement.kind == MovementKind.COUNT.value, Movement.occurred_at > occurred_at))
    if counted_at is not None:
        db.session.rollback()
        raise Invalid(_("This lot was counted on %(date)s, after this movement's date: the count already settled "
                        "the quantity. Record the movement with a date after the count.",
                        date=f"{counted_at:%Y-%m-%d %H:%M}"),
                      errors={"occurred_at": [_("before the lot's latest stock count")]})


def _record(user, lot: StockLot, change: Change, *, occurred_at: datetime, reason=None, reference=None,
            reverses_id=None) -> Movement:
    """Apply `change` to `lot` and append its movement. The caller commits."""
    if change.on_hand or change.kind == MovementKind.COUNT:
        serialise_writes()
        _refuse_before_a_count(lot.id, occurred_at)
    _guarded_update(lot.id, change)
    if change.on_hand < 0:
        _refuse_negative_history(lot.id, occurred_at, change.on_hand)
    movement = Movement(lot_id=lot.id, kind=change.kind.value, on_hand_delta=change.on_hand,
                        reserved_delta=change.reserved, occurred_at=occurred_at, reason=reason,
                        reference=reference, reverses_id=reverses_id,
                        user_id=getattr(user, "id", None))
    db.session.add(movement)
    db.session.flush()
    db.session.expire(lot)
    return movement


def _lot_for_write(user, lot_id: int) -> StockLot:
    lot = readable(user, StockLot, lot_id, "owner_agency_id", _("Stock lot"))
    require_write(user, lot.owner_agency_id)
    return lot


def _lot_for_reservation(user, lot_id: int) -> StockLot:
    """Command staff reserve across agencies for dispatch; operators within their own subtree."""
    lot = readable(user, StockLot, lot_id, "owner_agency_id", _("Stock lot"))
    if COMMANDER not in getattr(user, "role_names", set()):
        require_write(user, lot.owner_agency_id)
    return lot


@dataclass
class LotFacts:
    lot_no: str
    production_date: date | None = None
    expiry_date: date | None = None
    reserve_type: str = ReserveType.PHYSICAL.value
    classification: str | None = None  # None: the depot's classification
    enterprise_name: str | None = None
    enterprise_credit_code: str | None = None
    units_per_day: int | None = None
    lead_time_h: float | None = None
    contract_valid_from: date | None = None
    contract_valid_to: date | None = None


def _check_lot_facts(facts: LotFacts) -> None:
    errors = {}
    if facts.production_date and facts.expiry_date and facts.expiry_date <= facts.production_date:
        errors["expiry_date"] = [_("The expiry date must be after the production date.")]
    if facts.enterprise_credit_code and (problem := rules.credit_code_problem(facts.enterprise_credit_code)):
        errors["enterprise_credit_code"] = [_(problem)]
    if facts.reserve_type != ReserveType.PHYSICAL.value and not facts.enterprise_name:
        errors["enterprise_name"] = [_("Agreement and capacity reserves name the enterprise that holds them.")]
    if errors:
        raise Invalid(_("The lot's details are not valid."), errors=errors)


def find_or_open_lot(depot: Depot, material: Material, facts: LotFacts) -> StockLot:
    serialise_writes()  # before looking: two writers opening the same new lot would collide
    lot = db.session.execute(select(StockLot).filter_by(
        depot_id=depot.id, material_id=material.id, lot_no=facts.lot_no)).scalar_one_or_none()
    if lot is not None:
        return lot
    _check_lot_facts(facts)
    values = {**vars(facts), "classification": facts.classification or depot.classification}
    lot = StockLot(depot_id=depot.id, material_id=material.id, owner_agency_id=depot.agency_id,
                   on_hand=0, reserved=0, **values)
    db.session.add(lot)
    db.session.flush()
    return lot


def record_receipt(user, *, depot_id: int, material_id: int, quantity: int, facts: LotFacts,
                   occurred_at: datetime | None = None, reason: str | None = None,
                   reference: str | None = None, dispatch_return: bool = False) -> Movement:
    """Stock arrives at a depot: into the depot x material x lot, opened if new. Materials
    returned after an incident (`dispatch_return`) may also be booked by command staff."""
    depot = readable(user, Depot, depot_id, label=_("Depot"))
    if not (dispatch_return and COMMANDER in getattr(user, "role_names", set())):
        require_write(user, depot.agency_id)
    if depot.status != "active":
        raise Conflict(_("The depot is closed."))
    material = db.session.get(Material, material_id)
    if material is None:
        raise Invalid(_("Unknown material."), errors={"material_id": [_("not in the catalog")]})
    quantity = _positive(quantity)  # before a lot is opened for it
    lot = find_or_open_lot(depot, material, facts)
    movement = _record(user, lot, Change(MovementKind.RECEIPT, on_hand=quantity),
                       occurred_at=_when(occurred_at), reason=reason, reference=reference)
    db.session.commit()
    return movement


def record_issue(user, lot_id: int, quantity: int, *, occurred_at=None, reason=None, reference=None) -> Movement:
    lot = _lot_for_write(user, lot_id)
    movement = _record(user, lot, Change(MovementKind.ISSUE, on_hand=-_positive(quantity)),
                       occurred_at=_when(occurred_at), reason=reason, reference=reference)
    db.session.commit()
    return movement


def record_adjustment(user, lot_id: int, delta: int, *, reason: str, occurred_at=None, reference=None) -> Movement:
    if not reason or not reason.strip():
        raise Invalid(_("An adjustment needs a reason."), errors={"reason": [_("required")]})
    if not isinstance(delta, int) or isinstance(delta, bool) or delta == 0:
        raise Invalid(_("An adjustment changes the quantity by a whole number other than zero."))
    _bounded(delta, "delta")
    lot = _lot_for_write(user, lot_id)
    movement = _record(user, lot, Change(MovementKind.ADJUSTMENT, on_hand=delta),
                       occurred_at=_when(occurred_at), reason=reason, reference=reference)
    db.session.commit()
    return movement


def record_count(user, lot_id: int, counted: int, *, reason=None, occurred_at=None) -> Movement:
    """A stock count (盘点) states the quantity on the shelf at its moment: the ledger moves by
    the difference to the balance of that moment, so a back-dated count keeps the movements
    dated after it (see docs/registry.md, "Stock counts")."""
    if not isinstance(counted, int) or isinstance(counted, bool) or counted < 0:
        raise Invalid(_("The counted quantity is a whole number, zero or more."))
    _bounded(counted, "counted")
    lot = _lot_for_write(user, lot_id)
    when = _when(occurred_at)
    serialise_writes()  # the balance is read under the write lock, so no movement slips in between
    delta = counted - balance_at(lot.id, when)
    _bounded(delta, "counted")  # a movement moves at most MAX_QUANTITY (the CHECK says so too)
    movement = _record(user, lot, Change(MovementKind.COUNT, on_hand=delta), occurred_at=when,
                       reason=reason or _("stock count"))
    db.session.commit()
    return movement


def record_transfer(user, lot_id: int, to_depot_id: int, quantity: int, *, occurred_at=None, reason=None,
                    reference=None) -> tuple[Movement, Movement]:
    """Move stock to another depot: both legs in one transaction, linked by one reference."""
    lot = _lot_for_write(user, lot_id)
    target = readable(user, Depot, to_depot_id, label=_("Depot"))
    require_write(user, target.agency_id)  # stock is not pushed into depots the user cannot manage
    if target.id == lot.depot_id or target.status != "active":
        raise Invalid(_("Choose another, active depot to transfer to."), errors={"to_depot_id": [_("invalid")]})
    when, quantity = _when(occurred_at), _positive(quantity)
    reference = reference or f"TRF-{lot.id}-{utcnow():%Y%m%d%H%M%S%f}"
    facts = LotFacts(lot.lot_no, lot.production_date, lot.expiry_date, lot.reserve_type, lot.classification)
    destination = find_or_open_lot(target, lot.material, facts)
    out = _record(user, lot, Change(MovementKind.TRANSFER_OUT, on_hand=-quantity), occurred_at=when,
                  reason=reason, reference=reference)
    into = _record(user, destination, Change(MovementKind.TRANSFER_IN, on_hand=quantity), occurred_at=when,
                   reason=reason, reference=reference)
    db.session.commit()
    return out, into


def reserve_stock(user, lot_id: int, quantity: int, *, reference: str | None = None) -> Movement:
    """Set units aside (e.g. for an approved dispatch plan); they stay on hand but not available."""
    movement = reserve_in_transaction(user, lot_id, quantity, reference=reference)
    db.session.commit()
    return movement


def release_stock(user, lot_id: int, quantity: int, *, reference: str | None = None) -> Movement:
    movement = release_in_transaction(user, lot_id, quantity, reference=reference)
    db.session.commit()
    return movement


# Steps of a larger use case (approving a dispatch plan reserves many lots at once): they
# write in the caller's transaction and leave the commit to it. A refused step rolls the whole
# transaction back and raises, so the use case is all or nothing.

def reserve_in_transaction(user, lot_id: int, quantity: int, *, reference: str | None = None) -> Movement:
    lot = _lot_for_reservation(user, lot_id)
    return _record(user, lot, Change(MovementKind.RESERVATION, reserved=_positive(quantity)),
                   occurred_at=utcnow(), reference=reference)


def release_in_transaction(user, lot_id: int, quantity: int, *, reference: str | None = None) -> Movement:
    lot = _lot_for_reservation(user, lot_id)
    return _record(user, lot, Change(MovementKind.RELEASE, reserved=-_positive(quantity)),
                   occurred_at=utcnow(), reference=reference)


def dispatch_in_transaction(user, lot_id: int, quantity: int, *, reference: str) -> Movement:
    """Reserved units leave the depot: on hand and reserved both go down (an issue)."""
    lot = readable(user, StockLot, lot_id, "owner_agency_id", _("Stock lot"))
    quantity = _positive(quantity)
    return _record(user, lot, Change(MovementKind.ISSUE, on_hand=-quantity, reserved=-quantity),
                   occurred_at=utcnow(), reason=_("dispatched"), reference=reference)


def reverse_movement(user, movement_id: int, *, reason: str) -> list[Movement]:
    """Undo a movement by appending its opposite (both legs of a transfer). Each movement can be
    reversed once; a reversal cannot itself be reversed."""
    if not reason or not reason.strip():
        raise Invalid(_("A reversal needs a reason."), errors={"reason": [_("required")]})
    original = db.session.get(Movement, movement_id)
    if original is None:
        raise NotFound(_("Unknown movement."))
    _lot_for_write(user, original.lot_id)
    if original.kind == MovementKind.REVERSAL.value:
        raise Conflict(_("A reversal cannot be reversed; record a new movement instead."))
    legs = [original]
    if original.kind in (MovementKind.TRANSFER_OUT.value, MovementKind.TRANSFER_IN.value) and original.reference:
        legs = db.session.execute(select(Movement).where(
            Movement.reference == original.reference,
            Movement.kind.in_([MovementKind.TRANSFER_OUT.value, MovementKind.TRANSFER_IN.value]))).scalars().all()
    if db.session.execute(select(Movement.id).where(Movement.reverses_id.in_([m.id for m in legs]))).first():
        raise Conflict(_("This movement has already been reversed."))
    now = utcnow()
    reversals = [_record(user, leg.lot, Change(MovementKind.REVERSAL, -leg.on_hand_delta, -leg.reserved_delta),
                         occurred_at=now, reason=reason, reference=leg.reference, reverses_id=leg.id)
                 for leg in legs]
    db.session.commit()
    return reversals


def lot_movements(user, lot_id: int):
    """Select of a readable lot's movements, newest first."""
    get_lot(user, lot_id)
    return select(Movement).where(Movement.lot_id == lot_id).order_by(Movement.occurred_at.desc(), Movement.id.desc())


def get_lot(user, lot_id: int) -> StockLot:
    return readable(user, StockLot, lot_id, "owner_agency_id", _("Stock lot"))


def depot_movements(user, depot_id: int, limit: int = 50) -> list[Movement]:
    """The latest movements of all lots of a readable depot, newest first."""
    readable(user, Depot, depot_id, label=_("Depot"))
    return db.session.execute(
        select(Movement).join(StockLot, Movement.lot_id == StockLot.id).where(StockLot.depot_id == depot_id)
        .order_by(Movement.recorded_at.desc(), Movement.id.desc()).limit(limit)).scalars().all()
