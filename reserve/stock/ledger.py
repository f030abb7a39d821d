"""The stock ledger: every change of a lot is an append-only Movement, applied with one guarded
UPDATE of the lot's cached balances.

The UPDATE's WHERE clause states the invariant (on_hand >= 0, reserved >= 0, reserved <=
on_hand after the change), so two concurrent requests can never both take the last units, on
PostgreSQL (row lock) or SQLite (BEGIN IMMEDIATE). The CHECK constraints repeat it.
"""

from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import gettext as _
from sqlalchemy import bindparam, func, literal, select, update

from core.audit import serialise_writes
from core.errors import Conflict, Invalid, NotFound
from core.extensions import db
from core.policy import may_move_stock_for_dispatch
from core.timeutil import utcnow

from .. import rules
from ..models import Depot, Material, ReserveType
from ..services.access import readable, readable_many, require_write
from . import bulk, rollup
from .models import Movement, MovementKind, StockLot


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
        raise QuantityTooLarge(
            _("A quantity is at most %(max)s units.", max=f"{rules.MAX_QUANTITY:,}"),
            errors={field: [_(rules.quantity_problem(abs(quantity)))]},
        )


def _when(occurred_at: datetime | None) -> datetime:
    now = utcnow()
    occurred_at = occurred_at or now
    if problem := rules.occurred_at_problem(occurred_at, now):
        raise Invalid(
            _("A movement cannot happen in the future."), errors={"occurred_at": [_(problem)]}
        )
    return occurred_at


def _guarded_update(lot_id: int, change: Change) -> None:
    dh, dr = change.on_hand, change.reserved
    serialise_writes()
    updated = (
        db.session.execute(
            update(StockLot)
            .where(
                StockLot.id == lot_id,
                StockLot.on_hand + dh >= 0,
                StockLot.on_hand + dh <= rules.MAX_QUANTITY,
                StockLot.reserved + dr >= 0,
                StockLot.reserved + dr <= StockLot.on_hand + dh,
            )
            .values(on_hand=StockLot.on_hand + dh, reserved=StockLot.reserved + dr)
            .returning(
                StockLot.on_hand,
                StockLot.depot_id,
                StockLot.material_id,
                StockLot.reserve_type,
                StockLot.classification,
                StockLot.owner_agency_id,
            )
            .execution_options(synchronize_session=False)
        )
        .mappings()
        .first()
    )
    if updated is None:
        db.session.rollback()
        held = db.session.scalar(select(StockLot.on_hand).where(StockLot.id == lot_id))
        if dh > 0 and held is not None and held + dh > rules.MAX_QUANTITY:
            raise QuantityTooLarge(
                _(
                    "A lot holds at most %(max)s units: this change would take it above.",
                    max=f"{rules.MAX_QUANTITY:,}",
                ),
                errors={"quantity": [_("too large")]},
            )
        raise InsufficientStock(_("Not enough available stock in this lot for this change."))
    rollup.apply(updated, dh, dr, updated["on_hand"])


def _refuse_negative_history(lot_id: int, occurred_at: datetime, on_hand_delta: int) -> None:
    """A back-dated decrease must not make the balance negative at any earlier point in time."""
    history = db.session.execute(
        select(Movement.occurred_at, Movement.on_hand_delta)
        .where(Movement.lot_id == lot_id, Movement.on_hand_delta != 0)
        .order_by(Movement.occurred_at, Movement.id)
    ).all()
    deltas = (
        [d for t, d in history if t <= occurred_at]
        + [on_hand_delta]
        + [d for t, d in history if t > occurred_at]
    )
    if rules.first_negative_balance(deltas) is not None:
        db.session.rollback()
        raise Invalid(
            _("This back-dated movement would make the balance negative at an earlier date."),
            errors={"occurred_at": [_("balance would go below zero")]},
        )


def balance_at(lot_id: int, moment: datetime) -> int:
    """On hand at `moment`: the sum of the movements dated at or before it."""
    return db.session.scalar(
        select(func.coalesce(func.sum(Movement.on_hand_delta), 0)).where(
            Movement.lot_id == lot_id, Movement.occurred_at <= moment
        )
    )


def _refuse_before_a_count(lot_id: int, occurred_at: datetime) -> None:
    """A count settles the quantity at its moment: a movement dated before a later count would
    change a quantity the count already found on the shelf (it was counted with it), so it is
    refused; booked with a date after the count, it moves today's balance as it should."""
    counted_at = db.session.scalar(
        select(func.max(Movement.occurred_at)).where(
            Movement.lot_id == lot_id,
            Movement.kind == MovementKind.COUNT.value,
            Movement.occurred_at > occurred_at,
        )
    )
    if counted_at is not None:
        db.session.rollback()
        raise Invalid(
            _(
                "This lot was counted on %(date)s, after this movement's date: the count already settled "
                "the quantity. Record the movement with a date after the count.",
                date=f"{counted_at:%Y-%m-%d %H:%M}",
            ),
            errors={"occurred_at": [_("before the lot's latest stock count")]},
        )


def _record(
    user,
    lot: StockLot,
    change: Change,
    *,
    occurred_at: datetime,
    reason=None,
    reference=None,
    reverses_id=None,
) -> Movement:
    """Apply `change` to `lot` and append its movement. The caller commits."""
    if change.on_hand or change.kind == MovementKind.COUNT:
        serialise_writes()
        _refuse_before_a_count(lot.id, occurred_at)
    _guarded_update(lot.id, change)
    if change.on_hand < 0:
        _refuse_negative_history(lot.id, occurred_at, change.on_hand)
    movement = Movement(
        lot_id=lot.id,
        kind=change.kind.value,
        on_hand_delta=change.on_hand,
        reserved_delta=change.reserved,
        occurred_at=occurred_at,
        reason=reason,
        reference=reference,
        reverses_id=reverses_id,
        user_id=getattr(user, "id", None),
    )
    db.session.add(movement)
    db.session.flush()
    db.session.expire(lot)
    return movement


def _lot_for_write(user, lot_id: int) -> StockLot:
    lot = readable(user, StockLot, lot_id, "owner_agency_id", _("Stock lot"))
    require_write(user, lot.owner_agency_id)
    return lot


def _lots_for_reservation(user, lot_ids: list[int]) -> dict[int, StockLot]:
    """Command staff reserve across agencies for dispatch; operators within their own subtree.
    One query for all the lots and their owners' paths."""
    return readable_many(
        user,
        StockLot,
        lot_ids,
        "owner_agency_id",
        _("Stock lot"),
        writing=not may_move_stock_for_dispatch(user),
    )


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
    if facts.enterprise_credit_code and (
        problem := rules.credit_code_problem(facts.enterprise_credit_code)
    ):
        errors["enterprise_credit_code"] = [_(problem)]
    if facts.reserve_type != ReserveType.PHYSICAL.value and not facts.enterprise_name:
        errors["enterprise_name"] = [
            _("Agreement and capacity reserves name the enterprise that holds them.")
        ]
    if errors:
        raise Invalid(_("The lot's details are not valid."), errors=errors)


def find_or_open_lot(depot: Depot, material: Material, facts: LotFacts) -> StockLot:
    serialise_writes()  # before looking: two writers opening the same new lot would collide
    lot = db.session.execute(
        select(StockLot).filter_by(depot_id=depot.id, material_id=material.id, lot_no=facts.lot_no)
    ).scalar_one_or_none()
    if lot is not None:
        return lot
    _check_lot_facts(facts)
    values = {**vars(facts), "classification": facts.classification or depot.classification}
    lot = StockLot(
        depot_id=depot.id,
        material_id=material.id,
        owner_agency_id=depot.agency_id,
        on_hand=0,
        reserved=0,
        **values,
    )
    db.session.add(lot)
    db.session.flush()
    return lot


def record_receipt(
    user,
    *,
    depot_id: int,
    material_id: int,
    quantity: int,
    facts: LotFacts,
    occurred_at: datetime | None = None,
    reason: str | None = None,
    reference: str | None = None,
    dispatch_return: bool = False,
) -> Movement:
    """Stock arrives at a depot: into the depot x material x lot, opened if new. Materials
    returned after an incident (`dispatch_return`) may also be booked by command staff."""
    movement = receipt_in_transaction(
        user,
        depot_id=depot_id,
        material_id=material_id,
        quantity=quantity,
        facts=facts,
        occurred_at=occurred_at,
        reason=reason,
        reference=reference,
        dispatch_return=dispatch_return,
    )
    db.session.commit()
    return movement


def receipt_in_transaction(
    user,
    *,
    depot_id: int,
    material_id: int,
    quantity: int,
    facts: LotFacts,
    occurred_at: datetime | None = None,
    reason: str | None = None,
    reference: str | None = None,
    dispatch_return: bool = False,
) -> Movement:
    """`record_receipt` as a step of a larger use case: the caller commits."""
    depot = readable(user, Depot, depot_id, label=_("Depot"))
    if not (dispatch_return and may_move_stock_for_dispatch(user)):
        require_write(user, depot.agency_id)
    if depot.status != "active":
        raise Conflict(_("The depot is closed."))
    material = db.session.get(Material, material_id)
    if material is None:
        raise Invalid(_("Unknown material."), errors={"material_id": [_("not in the catalog")]})
    quantity = _positive(quantity)  # before a lot is opened for it
    lot = find_or_open_lot(depot, material, facts)
    return _record(
        user,
        lot,
        Change(MovementKind.RECEIPT, on_hand=quantity),
        occurred_at=_when(occurred_at),
        reason=reason,
        reference=reference,
    )


def record_issue(
    user, lot_id: int, quantity: int, *, occurred_at=None, reason=None, reference=None
) -> Movement:
    movement = issue_in_transaction(
        user, lot_id, quantity, occurred_at=occurred_at, reason=reason, reference=reference
    )
    db.session.commit()
    return movement


def issue_in_transaction(
    user, lot_id: int, quantity: int, *, occurred_at=None, reason=None, reference=None
) -> Movement:
    """`record_issue` as a step of a larger use case: the caller commits."""
    lot = _lot_for_write(user, lot_id)
    return _record(
        user,
        lot,
        Change(MovementKind.ISSUE, on_hand=-_positive(quantity)),
        occurred_at=_when(occurred_at),
        reason=reason,
        reference=reference,
    )


def record_adjustment(
    user, lot_id: int, delta: int, *, reason: str, occurred_at=None, reference=None
) -> Movement:
    if not reason or not reason.strip():
        raise Invalid(_("An adjustment needs a reason."), errors={"reason": [_("required")]})
    if not isinstance(delta, int) or isinstance(delta, bool) or delta == 0:
        raise Invalid(_("An adjustment changes the quantity by a whole number other than zero."))
    _bounded(delta, "delta")
    lot = _lot_for_write(user, lot_id)
    movement = _record(
        user,
        lot,
        Change(MovementKind.ADJUSTMENT, on_hand=delta),
        occurred_at=_when(occurred_at),
        reason=reason,
        reference=reference,
    )
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
    movement = _record(
        user,
        lot,
        Change(MovementKind.COUNT, on_hand=delta),
        occurred_at=when,
        reason=reason or _("stock count"),
    )
    db.session.commit()
    return movement


def record_transfer(
    user,
    lot_id: int,
    to_depot_id: int,
    quantity: int,
    *,
    occurred_at=None,
    reason=None,
    reference=None,
) -> tuple[Movement, Movement]:
    """Move stock to another depot: both legs in one transaction, linked by one reference."""
    legs = transfer_in_transaction(
        user,
        lot_id,
        to_depot_id,
        quantity,
        occurred_at=occurred_at,
        reason=reason,
        reference=reference,
    )
    db.session.commit()
    return legs


def transfer_in_transaction(
    user,
    lot_id: int,
    to_depot_id: int,
    quantity: int,
    *,
    occurred_at=None,
    reason=None,
    reference=None,
) -> tuple[Movement, Movement]:
    """`record_transfer` as a step of a larger use case: the caller commits."""
    lot = _lot_for_write(user, lot_id)
    target = readable(user, Depot, to_depot_id, label=_("Depot"))
    require_write(user, target.agency_id)  # stock is not pushed into depots the user cannot manage
    if target.id == lot.depot_id or target.status != "active":
        raise Invalid(
            _("Choose another, active depot to transfer to."),
            errors={"to_depot_id": [_("invalid")]},
        )
    when, quantity = _when(occurred_at), _positive(quantity)
    reference = reference or f"TRF-{lot.id}-{utcnow():%Y%m%d%H%M%S%f}"
    facts = LotFacts(
        lot.lot_no, lot.production_date, lot.expiry_date, lot.reserve_type, lot.classification
    )
    destination = find_or_open_lot(target, lot.material, facts)
    out = _record(
        user,
        lot,
        Change(MovementKind.TRANSFER_OUT, on_hand=-quantity),
        occurred_at=when,
        reason=reason,
        reference=reference,
    )
    into = _record(
        user,
        destination,
        Change(MovementKind.TRANSFER_IN, on_hand=quantity),
        occurred_at=when,
        reason=reason,
        reference=reference,
    )
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


def reserve_in_transaction(
    user, lot_id: int, quantity: int, *, reference: str | None = None
) -> Movement:
    return reserve_many_in_transaction(user, [(lot_id, quantity)], reference=reference)[0]


def reserve_many_in_transaction(
    user, takes: list[tuple[int, int]], *, reference: str | None = None
) -> list[Movement]:
    """Reserve (lot id, units) for each of `takes`, in order; access to all the lots is checked
    first, with one query. The caller commits."""
    lots = _lots_for_reservation(user, [lot_id for lot_id, _units in takes])
    return [
        _record(
            user,
            lots[lot_id],
            Change(MovementKind.RESERVATION, reserved=_positive(units)),
            occurred_at=utcnow(),
            reference=reference,
        )
        for lot_id, units in takes
    ]


def release_in_transaction(
    user, lot_id: int, quantity: int, *, reference: str | None = None
) -> Movement:
    lot = _lots_for_reservation(user, [lot_id])[lot_id]
    return _record(
        user,
        lot,
        Change(MovementKind.RELEASE, reserved=-_positive(quantity)),
        occurred_at=utcnow(),
        reference=reference,
    )


def dispatch_in_transaction(user, lot_id: int, quantity: int, *, reference: str) -> Movement:
    """Reserved units leave the depot: on hand and reserved both go down (an issue)."""
    lot = readable(user, StockLot, lot_id, "owner_agency_id", _("Stock lot"))
    quantity = _positive(quantity)
    return _record(
        user,
        lot,
        Change(MovementKind.ISSUE, on_hand=-quantity, reserved=-quantity),
        occurred_at=utcnow(),
        reason=_("dispatched"),
        reference=reference,
    )


def reverse_movement(user, movement_id: int, *, reason: str) -> list[Movement]:
    """Undo a movement by appending its opposite (both legs of a transfer). Each movement can be
    reversed once; a reversal cannot itself be reversed."""
    reversals = reverse_in_transaction(user, movement_id, reason=reason)
    db.session.commit()
    return reversals


def reverse_in_transaction(user, movement_id: int, *, reason: str) -> list[Movement]:
    """`reverse_movement` as a step of a larger use case: the caller commits."""
    if not reason or not reason.strip():
        raise Invalid(_("A reversal needs a reason."), errors={"reason": [_("required")]})
    original = db.session.get(Movement, movement_id)
    if original is None:
        raise NotFound(_("Unknown movement."))
    _lot_for_write(user, original.lot_id)
    if original.kind == MovementKind.REVERSAL.value:
        raise Conflict(_("A reversal cannot be reversed; record a new movement instead."))
    legs = [original]
    if (
        original.kind in (MovementKind.TRANSFER_OUT.value, MovementKind.TRANSFER_IN.value)
        and original.reference
    ):
        legs = (
            db.session.execute(
                select(Movement).where(
                    Movement.reference == original.reference,
                    Movement.kind.in_(
                        [MovementKind.TRANSFER_OUT.value, MovementKind.TRANSFER_IN.value]
                    ),
                )
            )
            .scalars()
            .all()
        )
    if db.session.execute(
        select(Movement.id).where(Movement.reverses_id.in_([m.id for m in legs]))
    ).first():
        raise Conflict(_("This movement has already been reversed."))
    now = utcnow()
    reversals = [
        _record(
            user,
            leg.lot,
            Change(MovementKind.REVERSAL, -leg.on_hand_delta, -leg.reserved_delta),
            occurred_at=now,
            reason=reason,
            reference=leg.reference,
            reverses_id=leg.id,
        )
        for leg in legs
    ]
    return reversals


def lot_movements(user, lot_id: int):
    """Select of a readable lot's movements, newest first."""
    get_lot(user, lot_id)
    return (
        select(Movement)
        .where(Movement.lot_id == lot_id)
        .order_by(Movement.occurred_at.desc(), Movement.id.desc())
    )


def get_lot(user, lot_id: int) -> StockLot:
    return readable(user, StockLot, lot_id, "owner_agency_id", _("Stock lot"))


def depot_movements(user, depot_id: int, limit: int = 50) -> list[Movement]:
    """The latest movements of all lots of a readable depot, newest first."""
    readable(user, Depot, depot_id, label=_("Depot"))
    return (
        db.session.execute(
            select(Movement)
            .join(StockLot, Movement.lot_id == StockLot.id)
            .where(StockLot.depot_id == depot_id)
            .order_by(Movement.recorded_at.desc(), Movement.id.desc())
            .limit(limit)
        )
        .scalars()
        .all()
    )


# --- many lots at once: a report's counts and new lots, a submission's reversal ------------------
# The same invariant as _guarded_update, stated for a batch: each lot must still hold the balance
# it was read with, and its reserved units must fit under the new one; otherwise StaleBalance and
# nothing of the batch may be kept (the caller rolls back).


class StaleBalance(Exception):
    """A lot moved between reading and writing a batch; the caller rolls back."""


def movement_row(
    lot_id: int,
    kind: MovementKind,
    on_hand_delta: int,
    at: datetime,
    reference: str | None,
    user_id: int | None,
    reason: str | None = None,
    reverses_id: int | None = None,
) -> dict:
    """A movement as a row for book_batch."""
    return {
        "lot_id": lot_id,
        "kind": kind.value,
        "on_hand_delta": on_hand_delta,
        "reserved_delta": 0,
        "occurred_at": at,
        "recorded_at": at,
        "reason": reason,
        "reference": reference,
        "reverses_id": reverses_id,
        "user_id": user_id,
    }


def lot_share(lot: dict, sign: int) -> dict:
    """What a lot (depot_id, material_id, reserve_type, classification, owner_agency_id,
    on_hand, reserved) adds to the rollups (sign +1), or takes away (-1)."""
    return {
        "depot_id": lot["depot_id"],
        "material_id": lot["material_id"],
        "reserve_type": lot["reserve_type"],
        "classification": lot["classification"],
        "owner_agency_id": lot["owner_agency_id"],
        "lots": sign * int(lot["on_hand"] > 0),
        "on_hand": sign * lot["on_hand"],
        "reserved": sign * lot.get("reserved", 0),
    }


def open_lots(lots: list[dict]) -> dict[tuple, int]:
    """Insert new lots holding their first balance (COPY on PostgreSQL); their ids by (depot id,
    material id, lot no). book_batch then appends their receipts and adds them to the rollups."""
    if not lots:
        return {}
    bulk.insert_rows(StockLot.__table__, lots)
    rows = db.session.execute(
        select(StockLot.depot_id, StockLot.material_id, StockLot.lot_no, StockLot.id).where(
            StockLot.depot_id.in_({lot["depot_id"] for lot in lots})
        )
    )
    return {
        (depot_id, material_id, lot_no): lot_id for depot_id, material_id, lot_no, lot_id in rows
    }


def set_lot_terms(rows: list[dict]) -> None:
    """Change lots' terms (expiry, reserve type, classification ...) in one statement, never
    their balances: rows of {"b_id": lot id, "b_<column>": value}, the same columns in each."""
    if not rows:
        return
    names = [k for k in rows[0] if k != "b_id"]
    if {"b_on_hand", "b_reserved"} & set(names):
        raise ValueError("a lot's balances change only through movements")
    db.session.execute(
        update(StockLot.__table__)
        .where(StockLot.id == bindparam("b_id"))
        .values({n[2:]: bindparam(n) for n in names}),
        rows,
    )


def load_opening_lots(
    batches, *, occurred_at: datetime, reason: str, reference: str
) -> tuple[int, int]:
    """A register loaded in bulk (the demo's generator): each batch of lot rows, holding their
    opening balances, is inserted as it comes; then one receipt for every lot that holds units
    and has no movement yet, so each balance equals the sum of its movements. Returns (lots,
    receipts). The rollups are rebuilt by the caller once everything is loaded."""
    lots = 0
    for batch in batches:
        if batch:
            bulk.insert_rows(StockLot.__table__, batch)
            lots += len(batch)
    has_movement = select(Movement.id).where(Movement.lot_id == StockLot.id).exists()
    unopened = (StockLot.on_hand > 0, ~has_movement)
    receipts = db.session.scalar(select(func.count()).select_from(StockLot).where(*unopened))
    db.session.execute(
        Movement.__table__.insert().from_select(
            [
                "lot_id",
                "kind",
                "on_hand_delta",
                "reserved_delta",
                "occurred_at",
                "recorded_at",
                "reason",
                "reference",
            ],
            select(
                StockLot.id,
                literal(MovementKind.RECEIPT.value),
                StockLot.on_hand,
                literal(0),
                literal(occurred_at),
                literal(utcnow()),
                literal(reason),
                literal(reference),
            ).where(*unopened),
        )
    )
    return lots, receipts


def book_batch(balances: list[dict], movements: list[dict], shares: list[dict]) -> None:
    """Write many lots' new balances ({"lot_id", "old", "new"}: one guarded UPDATE), append their
    movements (one bulk insert) and move the rollups by `shares` (lot_share rows), in the
    caller's transaction. StaleBalance when a lot no longer holds `old` or its reserved units do
    not fit under `new`."""
    if any(b["new"] < 0 or b["new"] > rules.MAX_QUANTITY for b in balances):
        raise StaleBalance()
    if balances:
        result = db.session.execute(
            update(StockLot.__table__)
            .where(
                StockLot.id == bindparam("b_id"),
                StockLot.on_hand == bindparam("b_old"),
                StockLot.reserved <= bindparam("b_new"),
            )
            .values(on_hand=bindparam("b_new")),
            [{"b_id": b["lot_id"], "b_old": b["old"], "b_new": b["new"]} for b in balances],
        )
        if result.rowcount != len(balances):
            raise StaleBalance()
        _date_counts_after_later_movements(movements)
    bulk.insert_rows(Movement.__table__, movements)  # the change log records the lots through these
    _add_to_rollups(shares)


def _date_counts_after_later_movements(movements: list[dict]) -> None:
    """A report's row is a count of the lot as it is when applied, booked as the difference to
    its balance now. A lot may hold movements dated a few minutes ahead (the ledger's clock
    tolerance); its count is then dated at the latest of them, so the balance it is booked
    against is the balance of its moment and a replay in time order agrees."""
    counts = {m["lot_id"]: m for m in movements if m["kind"] == MovementKind.COUNT.value}
    ids = list(counts)
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        earliest = min(counts[lot_id]["occurred_at"] for lot_id in chunk)
        for lot_id, latest in db.session.execute(
            select(Movement.lot_id, func.max(Movement.occurred_at))
            .where(Movement.lot_id.in_(chunk), Movement.occurred_at > earliest)
            .group_by(Movement.lot_id)
        ):
            if latest > counts[lot_id]["occurred_at"]:
                counts[lot_id]["occurred_at"] = latest


def _add_to_rollups(shares: list[dict]) -> None:
    if not shares:
        return
    depot_ids = {s["depot_id"] for s in shares}
    regions = dict(
        db.session.execute(select(Depot.id, Depot.region_code).where(Depot.id.in_(depot_ids))).all()
    )
    weights = dict(
        db.session.execute(
            select(Material.id, Material.unit_weight_kg).where(
                Material.id.in_({s["material_id"] for s in shares})
            )
        ).all()
    )
    rollup.add_contributions(
        {
            **s,
            "city_code": rollup.city_of(regions.get(s["depot_id"])),
            "weight_kg": s["on_hand"] * (weights.get(s["material_id"]) or 0),
        }
        for s in shares
    )


def reverse_reference(reference: str, *, reason: str, user_id: int | None) -> int:
    """Reverse every movement booked under `reference` (a submission's `SUB-{id}`), newest state
    back to the one before it: opposite movements, guarded like any other batch (StaleBalance if
    a lot no longer holds what the reversal would take out). Returns the movements appended."""
    now = utcnow()
    originals = db.session.execute(
        select(Movement.id, Movement.lot_id, Movement.on_hand_delta).where(
            Movement.reference == reference, Movement.kind != MovementKind.REVERSAL.value
        )
    ).all()
    if not originals:
        return 0
    lots = {
        r["id"]: dict(r)
        for r in db.session.execute(
            select(
                StockLot.id,
                StockLot.depot_id,
                StockLot.material_id,
                StockLot.on_hand,
                StockLot.reserved,
                StockLot.reserve_type,
                StockLot.classification,
                StockLot.owner_agency_id,
            ).where(StockLot.id.in_({o.lot_id for o in originals}))
        ).mappings()
    }
    balances, movements, shares = [], [], []
    for original in originals:
        lot = lots[original.lot_id]
        new_on_hand = lot["on_hand"] - original.on_hand_delta
        balances.append({"lot_id": lot["id"], "old": lot["on_hand"], "new": new_on_hand})
        movements.append(
            movement_row(
                lot["id"],
                MovementKind.REVERSAL,
                -original.on_hand_delta,
                now,
                reference,
                user_id,
                reason=reason,
                reverses_id=original.id,
            )
        )
        shares += [lot_share(lot, -1), lot_share({**lot, "on_hand": new_on_hand}, +1)]
        lot["on_hand"] = new_on_hand
    book_batch(balances, movements, shares)
    return len(movements)
