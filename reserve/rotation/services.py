"""Rotation items: the worklist, bulk creation from expiry warnings, editing and cancelling.
Completing steps (the ledger movements) is completion.py's; the province's calendar is
calendar.py's. Items are read like their lots (core/scoping.py) and written by whoever may
write for the lot's agency (reserve/services/access.py)."""

from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import func, select

from core.errors import Conflict, Invalid, NotFound
from core.extensions import db
from core.scoping import scoped
from core.timeutil import local_today

from ..models import Depot
from ..services.access import readable, require_write
from ..stock.queries import get_lot
from ..warnings.models import ReserveWarning
from ..warnings.scan import policy_for
from . import rules
from .models import RotationItem

MAX_BULK = 200  # warnings per bulk creation


@dataclass
class ItemFilter:
    status: str | None = "active"  # active = planned or in progress; "all"; or one status
    action: str | None = None
    agency_id: int | None = None
    depot_id: int | None = None
    overdue: bool = False


def list_items(user, f: ItemFilter, today: date | None = None):
    """A select of the items the user reads, the most urgent (earliest due) first."""
    stmt = scoped(select(RotationItem), user, RotationItem.agency_id, RotationItem.classification)
    if f.status == "active" or f.overdue:
        stmt = stmt.where(RotationItem.status.in_(rules.ACTIVE))
    elif f.status and f.status != "all":
        stmt = stmt.where(RotationItem.status == f.status)
    if f.overdue:
        stmt = stmt.where(RotationItem.due_date < (today or local_today()))
    for column, value in (
        (RotationItem.action, f.action),
        (RotationItem.agency_id, f.agency_id),
        (RotationItem.depot_id, f.depot_id),
    ):
        if value:
            stmt = stmt.where(column == value)
    return stmt.order_by(RotationItem.due_date, RotationItem.id)


def count_by_status(user) -> dict[str, int]:
    stmt = scoped(
        select(RotationItem.status, func.count()),
        user,
        RotationItem.agency_id,
        RotationItem.classification,
    ).group_by(RotationItem.status)
    counts = dict(db.session.execute(stmt).all())
    return {status: counts.get(status, 0) for status in rules.STATUSES}


def get_item(user, item_id: int) -> RotationItem:
    return readable(user, RotationItem, item_id, label=_("Rotation item"))


def writable_item(user, item_id: int) -> RotationItem:
    item = get_item(user, item_id)
    require_write(user, item.agency_id)
    return item


def planned_warning_ids(warning_ids) -> set[int]:
    """Of these warnings, those an active rotation item answers (the warnings page marks them)."""
    return _active_item_ids(list(warning_ids)) if warning_ids else set()


def _active_item_ids(warning_ids) -> set[int]:
    return set(
        db.session.scalars(
            select(RotationItem.warning_id).where(
                RotationItem.warning_id.in_(warning_ids), RotationItem.status.in_(rules.ACTIVE)
            )
        )
    )


def _load_warnings(user, warning_ids: list[int]) -> list[ReserveWarning]:
    """The warnings, each readable (404), of a lot's expiry (422) and writable (403)."""
    if not 1 <= len(warning_ids) <= MAX_BULK:
        raise Invalid(
            _("Choose between 1 and %(n)s warnings.", n=MAX_BULK),
            errors={"warning_ids": [_("invalid")]},
        )
    warnings = [
        readable(user, ReserveWarning, wid, label=_("Warning"))
        for wid in dict.fromkeys(warning_ids)
    ]
    wrong = [w.id for w in warnings if w.kind not in rules.ROTATABLE_KINDS or w.lot_id is None]
    if wrong:
        raise Invalid(
            _("Only warnings about a lot's expiry become rotation items."),
            errors={"warning_ids": [str(i) for i in wrong]},
        )
    for warning in warnings:
        require_write(user, warning.agency_id)
    return warnings


def create_from_warnings(
    user,
    warning_ids: list[int],
    *,
    responsible: str,
    due_date: date | None = None,
    note: str | None = None,
    today: date | None = None,
) -> dict:
    """One planned item per lot warning, with the action its kind proposes, the lot's available
    units and the due date of the rules (or the one given). Warnings that already have an active
    item, resolved ones and lots with nothing available are skipped and named. One commit."""
    today = today or local_today()
    responsible = _required_text(responsible, "responsible", 60)
    warnings = _load_warnings(user, warning_ids)
    planned = _active_item_ids([w.id for w in warnings])
    created, skipped = [], []
    for warning in warnings:
        lot = get_lot(warning.lot_id)
        available = lot.on_hand - lot.reserved if lot else 0
        reason = (
            _("already planned")
            if warning.id in planned
            else _("resolved")
            if warning.status == "resolved"
            else _("nothing available in the lot")
            if available <= 0
            else None
        )
        if reason:
            skipped.append({"warning_id": warning.id, "reason": reason})
            continue
        item = _item_for(user, warning, lot, available, responsible, due_date, note, today)
        db.session.add(item)
        created.append(item)
    db.session.commit()
    return {"created": created, "skipped": skipped}


def _item_for(user, warning, lot, available, responsible, due, note, today) -> RotationItem:
    policy = policy_for(lot.material.category_code)
    return RotationItem(
        agency_id=lot.owner_agency_id,
        lot_id=lot.id,
        depot_id=lot.depot_id,
        material_id=lot.material_id,
        classification=lot.classification,
        warning_id=warning.id,
        warning_kind=warning.kind,
        expiry_date=lot.expiry_date,
        action=rules.default_action(warning.kind),
        quantity=available,
        due_date=due or rules.due_date(warning.kind, lot.expiry_date, today, policy),
        responsible=responsible,
        note=_optional_text(note, 300),
        status=rules.PLANNED,
        created_by_id=user.id,
    )


def _required_text(value, field: str, limit: int) -> str:
    value = (value or "").strip()
    if not value:
        raise Invalid(_("Please fill in the required fields."), errors={field: [_("required")]})
    if len(value) > limit:
        raise Invalid(_("At most %(n)s characters.", n=limit), errors={field: [_("too long")]})
    return value


def _optional_text(value, limit: int) -> str | None:
    value = (value or "").strip()
    if len(value) > limit:
        raise Invalid(_("At most %(n)s characters.", n=limit), errors={"note": [_("too long")]})
    return value or None


EDITABLE = ("action", "quantity", "due_date", "responsible", "to_depot_id", "recipient", "note")


def update_item(user, item_id: int, changes: dict) -> RotationItem:
    """Change an active item's plan: action, units (never below those done), due date, the
    person responsible, a transfer's destination, a donation's or sale's recipient, the note."""
    item = writable_item(user, item_id)
    if item.status not in rules.ACTIVE:
        raise Conflict(_("Only a planned or started rotation can be changed."))
    changes = {k: v for k, v in changes.items() if k in EDITABLE}
    if "action" in changes and changes["action"] not in rules.ACTIONS:
        raise Invalid(_("Unknown action."), errors={"action": [_("invalid")]})
    if "quantity" in changes:
        _check_quantity(item, changes["quantity"])
    if "responsible" in changes:
        changes["responsible"] = _required_text(changes["responsible"], "responsible", 60)
    for key, limit in (("recipient", 120), ("note", 300)):
        if key in changes:
            changes[key] = _optional_text(changes[key], limit)
    if changes.get("to_depot_id"):
        _check_destination(user, item, changes["to_depot_id"])
    for key, value in changes.items():
        setattr(item, key, value)
    db.session.commit()
    return item


def _check_quantity(item: RotationItem, quantity) -> None:
    from ..rules import MAX_QUANTITY

    if not isinstance(quantity, int) or not max(item.done_quantity, 1) <= quantity <= MAX_QUANTITY:
        raise Invalid(
            _("The units to rotate are a whole number, at least those already done."),
            errors={"quantity": [_("invalid")]},
        )


def _check_destination(user, item: RotationItem, depot_id: int) -> Depot:
    try:
        depot = readable(user, Depot, depot_id, label=_("Depot"))
    except NotFound:
        raise Invalid(_("Unknown depot."), errors={"to_depot_id": [_("not found")]}) from None
    if depot.id == item.depot_id or depot.status != "active":
        raise Invalid(
            _("Choose another, active depot to transfer to."),
            errors={"to_depot_id": [_("invalid")]},
        )
    return depot


def cancel_item(user, item_id: int, reason: str) -> RotationItem:
    """Cancel an active item (its booked steps stay booked; undo them first to take them back)."""
    item = writable_item(user, item_id)
    reason = _required_text(reason, "reason", 300)
    if not rules.can_transition(item.status, rules.CANCELLED):
        raise Conflict(_("Only a planned or started rotation can be cancelled."))
    item.status, item.cancel_reason = rules.CANCELLED, reason
    db.session.commit()
    return item


def transfer_targets(user, item: RotationItem) -> list[Depot]:
    """Active depots a transfer of this item may go to: those the user may write for."""
    from core.policy import may_write_for_agency

    depots = db.session.execute(
        scoped(select(Depot), user, Depot.agency_id, Depot.classification)
        .where(Depot.status == "active", Depot.id != item.depot_id)
        .order_by(Depot.name)
        .limit(500)
    ).scalars()
    return [d for d in depots if may_write_for_agency(user, d.agency.path if d.agency else None)]
