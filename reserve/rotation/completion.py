"""Completing a rotation item, step by step: the ledger movements of the action (a transfer's
two legs, or an issue) and of the replacement lot received, booked through reserve.stock.ledger
in the same transaction as the step and the item's progress; the warning resolved when the item
is done. A step that would leave a plan norm short is refused until it is confirmed. A step is
undone by reversing its movements (ledger.reverse_in_transaction)."""

from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select

from core.audit import serialise_writes
from core.errors import Conflict, Invalid
from core.extensions import db
from core.organisation import Agency
from core.scoping import can_read
from core.timeutil import local_today, utcnow

from ..models import EmergencyPlan
from ..rules import MAX_QUANTITY
from ..stock import ledger
from ..warnings.models import ReserveWarning
from ..warnings.scan import norm_status
from ..warnings.services import resolve_in_transaction
from . import rules
from .models import ACTION_LABELS, RotationItem, RotationStep
from .services import _check_destination, _required_text, writable_item


class NormShortfall(Conflict):
    code = "norm-shortfall"


@dataclass
class StepInput:
    quantity: int
    replacement_quantity: int = 0
    replacement_lot_no: str | None = None
    replacement_expiry: date | None = None
    confirm: bool = False


def _checked(item: RotationItem, step: StepInput, today: date) -> StepInput:
    """The step with the replacement's defaults filled in; Invalid (nothing booked) otherwise."""
    if item.status not in rules.ACTIVE:
        raise Conflict(_("Only a planned or started rotation can be completed."))
    problem = (
        rules.step_problem(item.remaining, step.quantity)
        if isinstance(step.quantity, int) and not isinstance(step.quantity, bool)
        else rules.step_problem(0, 0)
    )
    if problem:
        raise Invalid(_(problem), errors={"quantity": [_("invalid")]})
    lot_no = (step.replacement_lot_no or "").strip() or None
    back = step.replacement_quantity or 0
    if item.action == rules.REPLACEMENT and not back:
        back = step.quantity
    errors = {}
    if back and not lot_no:
        errors["replacement_lot_no"] = [_("The replacement lot needs its lot number.")]
    if lot_no and (len(lot_no) > 60 or lot_no == item.lot.lot_no):
        errors["replacement_lot_no"] = [_("A new lot number, at most 60 characters.")]
    if not 0 <= back <= MAX_QUANTITY:
        errors["replacement_quantity"] = [_("invalid")]
    if step.replacement_expiry and step.replacement_expiry <= today:
        errors["replacement_expiry"] = [_("The replacement must not be expired.")]
    if item.action == rules.TRANSFER and not item.to_depot_id:
        errors["to_depot_id"] = [_("A transfer needs the depot it goes to.")]
    if item.action in rules.NEEDS_RECIPIENT and not item.recipient:
        errors["recipient"] = [_("Name who receives the units.")]
    if errors:
        raise Invalid(_("The step cannot be booked; see errors."), errors=errors)
    return StepInput(step.quantity, back, lot_no, step.replacement_expiry, step.confirm)


def shortfalls(user, item: RotationItem, step: StepInput) -> list[dict]:
    """The plan norms of the item's agency (and the agencies above it) that the step would leave
    below their requirement, as rows for a person: region, plan (when the user may read it),
    required, available before and after, short."""
    owners = [int(i) for i in item.agency.path.strip("/").split("/") if i]
    rows = [n for n in norm_status(item.material_id) if n["agency_id"] in owners]
    if not rows or not item.depot.region_code:
        return []
    figures = [
        rules.NormFigure(n["norm_id"], n["region_code"], n["required"], n["available"])
        for n in rows
        if n["required"] is not None
    ]
    found = rules.norm_shortfalls(
        figures,
        source_region=item.depot.region_code,
        destination_region=item.to_depot.region_code
        if item.action == rules.TRANSFER and item.to_depot
        else None,
        quantity_out=step.quantity,
        quantity_back=step.replacement_quantity,
    )
    plans = {n["norm_id"]: n["plan_id"] for n in rows}
    return [_shortfall_row(user, s, plans[s.norm_id]) for s in found]


def _shortfall_row(user, shortfall: rules.Shortfall, plan_id: int) -> dict:
    from core.agencies import region_names

    plan = db.session.get(EmergencyPlan, plan_id)
    owner = db.session.get(Agency, plan.agency_id)
    readable = can_read(user, owner.path if owner else None, plan.classification)
    return {
        "region": region_names([shortfall.region_code]).get(shortfall.region_code)
        or shortfall.region_code,
        "plan": plan.name if readable else _("a plan of a higher agency"),
        "required": shortfall.required,
        "available_before": shortfall.available_before,
        "available_after": shortfall.available_after,
        "short": shortfall.short,
    }


def preview(user, item_id: int, step: StepInput, today: date | None = None) -> list[dict]:
    """What the page shows before a step is confirmed: the shortfalls it would cause."""
    item = writable_item(user, item_id)
    return shortfalls(user, item, _checked(item, step, today or local_today()))


def complete_step(user, item_id: int, step: StepInput, today: date | None = None) -> RotationItem:
    """Book a step: movements, the step, the item's progress, the warning resolved when the item
    is done; one commit. A norm shortfall without `confirm` raises NormShortfall (409) and
    books nothing; so does any refusal of the ledger (stock, access, a closed depot). The
    write lock comes first, so two people booking the same item see each other's progress."""
    serialise_writes()
    item = writable_item(user, item_id)
    step = _checked(item, step, today or local_today())
    if item.action == rules.TRANSFER:
        _check_destination(user, item, item.to_depot_id)
    found = shortfalls(user, item, step)
    if found and not step.confirm:
        raise NormShortfall(
            _("This rotation leaves the plan norm short; confirm it to go ahead."),
            errors={"shortfalls": found},
        )
    record = RotationStep(
        item_id=item.id,
        quantity=step.quantity,
        replacement_quantity=step.replacement_quantity,
        replacement_lot_no=step.replacement_lot_no if step.replacement_quantity else None,
        replacement_expiry=step.replacement_expiry if step.replacement_quantity else None,
        reference="",
        movement_ids=[],
        shortfall_confirmed=bool(found),
        user_id=user.id,
    )
    db.session.add(record)
    db.session.flush()
    record.reference = f"ROT-{item.id}-{record.id}"
    record.movement_ids = _book(user, item, step, record.reference)
    item.done_quantity += step.quantity
    item.status = rules.status_after(item.quantity, item.done_quantity)
    if item.status == rules.DONE:
        _finish(user, item)
    db.session.commit()
    return item


def _book(user, item: RotationItem, step: StepInput, reference: str) -> list[int]:
    reason = _("Rotation: %(action)s", action=ACTION_LABELS[item.action])
    if item.recipient and item.action in rules.NEEDS_RECIPIENT:
        reason = f"{reason} → {item.recipient}"
    if item.action == rules.TRANSFER:
        out, into = ledger.transfer_in_transaction(
            user, item.lot_id, item.to_depot_id, step.quantity, reason=reason, reference=reference
        )
        ids = [out.id, into.id]
    else:
        ids = [
            ledger.issue_in_transaction(
                user, item.lot_id, step.quantity, reason=reason, reference=reference
            ).id
        ]
    if step.replacement_quantity:
        facts = ledger.LotFacts(
            step.replacement_lot_no,
            expiry_date=step.replacement_expiry,
            classification=item.classification,
        )
        receipt = ledger.receipt_in_transaction(
            user,
            depot_id=item.depot_id,
            material_id=item.material_id,
            quantity=step.replacement_quantity,
            facts=facts,
            reason=_("Rotation: replacement purchase (rotation item %(id)s)", id=item.id),
            reference=reference,
        )
        ids.append(receipt.id)
    return ids


def _finish(user, item: RotationItem) -> None:
    item.completed_at = utcnow()
    if item.warning_id:
        warning = db.session.get(ReserveWarning, item.warning_id)
        resolve_in_transaction(
            user,
            warning,
            _(
                "Rotated: %(action)s, %(n)s units",
                action=ACTION_LABELS[item.action],
                n=item.quantity,
            ),
        )


def undo_step(user, item_id: int, step_id: int, reason: str) -> RotationItem:
    """Reverse a step's movements (newest first) and take its units off the item's progress; one
    commit. The warning an item resolved stays resolved: the next scan opens a new one if the
    lot still expires."""
    serialise_writes()  # before reading the step: undone once, even by two at the same time
    item = writable_item(user, item_id)
    reason = _required_text(reason, "reason", 300)
    step = db.session.execute(
        select(RotationStep).filter_by(id=step_id, item_id=item.id)
    ).scalar_one_or_none()
    if step is None:
        raise Invalid(_("Unknown step."), errors={"step_id": [_("not found")]})
    if step.reversed_at is not None or item.status == rules.CANCELLED:
        raise Conflict(_("This step is already undone, or the rotation is cancelled."))
    reversed_ids: set[int] = set()
    for movement_id in reversed(step.movement_ids):
        if movement_id not in reversed_ids:
            legs = ledger.reverse_in_transaction(user, movement_id, reason=reason)
            reversed_ids |= {leg.reverses_id for leg in legs}
    step.reversed_at, step.reversed_by_id, step.reverse_reason = utcnow(), user.id, reason
    item.done_quantity -= step.quantity
    item.status = rules.status_after(item.quantity, item.done_quantity)
    item.completed_at = None
    db.session.commit()
    return item
