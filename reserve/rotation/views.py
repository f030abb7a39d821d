"""Rotation pages: the worklist, items created from the warnings page, one item with its steps
(complete, with a confirm step when a plan norm would fall short; undo; edit; cancel), and the
province's rotation calendar."""

from datetime import date

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_security import auth_required, current_user

from core import policy
from core.errors import DomainError
from core.pagination import paginate
from core.timeutil import local_today

from ..rules import MAX_QUANTITY
from . import calendar, completion, rules, services
from .models import ACTION_LABELS, STATUS_LABELS

bp = Blueprint("rotation_ui", __name__, template_folder="templates")
PER_PAGE = 50


def may_plan(user) -> bool:
    """Whether the user writes for some agency (operators of theirs, administrators): only then
    do the pages offer the forms."""
    agency = getattr(user, "agency", None)
    return policy.may_write_for_agency(user, agency.path if agency else None)


def _filter() -> services.ItemFilter:
    args = request.args
    status = args.get("status", "active")
    return services.ItemFilter(
        status=status if status in ("active", "all", *rules.STATUSES) else "active",
        action=args.get("action") if args.get("action") in rules.ACTIONS else None,
        overdue=args.get("overdue") == "1",
    )


@bp.route("/rotation")
@auth_required("session")
def worklist():
    f = _filter()
    result = paginate(
        services.list_items(current_user, f), request.args.get("page", 1, type=int), PER_PAGE
    )
    return render_template(
        "rotation/worklist.html",
        result=result,
        f=f,
        pager_args={k: v for k, v in vars(f).items() if v},
        counts=services.count_by_status(current_user),
        actions=ACTION_LABELS,
        statuses=STATUS_LABELS,
        today=local_today(),
        is_overdue=rules.is_overdue,
    )


def _int(value) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 <= number <= MAX_QUANTITY else None


def _date(value) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@bp.route("/rotation/from-warnings", methods=["POST"])
@auth_required("session")
def create_from_warnings():
    ids = [i for i in (_int(v) for v in request.form.getlist("warning_ids")) if i]
    try:
        outcome = services.create_from_warnings(
            current_user,
            ids,
            responsible=request.form.get("responsible", ""),
            due_date=_date(request.form.get("due_date")),
            note=request.form.get("note"),
        )
    except DomainError as exc:
        flash(exc.detail, "error")
        return redirect(url_for("warnings_ui.dashboard"), 303)
    flash(
        _(
            "%(n)s rotation items created, %(m)s warnings skipped.",
            n=len(outcome["created"]),
            m=len(outcome["skipped"]),
        ),
        "info",
    )
    if len(outcome["created"]) == 1:  # one lot planned: its page, to go on with it
        return redirect(url_for("rotation_ui.item_page", item_id=outcome["created"][0].id), 303)
    return redirect(url_for("rotation_ui.worklist"), 303)


def _render_item(item, **extra):
    may_write = policy.may_write_for_agency(current_user, item.agency.path if item.agency else None)
    return render_template(
        "rotation/item.html",
        item=item,
        actions=ACTION_LABELS,
        statuses=STATUS_LABELS,
        needs_recipient=rules.NEEDS_RECIPIENT,
        may_write=may_write,
        targets=services.transfer_targets(current_user, item)
        if may_write and item.status in rules.ACTIVE
        else [],
        today=local_today(),
        is_overdue=rules.is_overdue,
        **extra,
    )


@bp.route("/rotation/<int:item_id>")
@auth_required("session")
def item_page(item_id):
    return _render_item(services.get_item(current_user, item_id))


def _back(item_id):
    return redirect(url_for("rotation_ui.item_page", item_id=item_id), 303)


@bp.route("/rotation/<int:item_id>/edit", methods=["POST"])
@auth_required("session")
def edit(item_id):
    form = request.form
    changes = {
        "action": form.get("action"),
        "quantity": _int(form.get("quantity")),
        "due_date": _date(form.get("due_date")),
        "responsible": form.get("responsible"),
        "to_depot_id": _int(form.get("to_depot_id")) or None,
        "recipient": form.get("recipient"),
        "note": form.get("note"),
    }
    for key in ("action", "quantity", "due_date", "responsible"):
        if changes[key] is None:
            changes.pop(key)
    try:
        services.update_item(current_user, item_id, changes)
        flash(_("The rotation plan is saved."), "info")
    except DomainError as exc:
        flash(exc.detail, "error")
    return _back(item_id)


def _step_input() -> completion.StepInput:
    form = request.form
    return completion.StepInput(
        quantity=_int(form.get("quantity")) or 0,
        replacement_quantity=_int(form.get("replacement_quantity")) or 0,
        replacement_lot_no=form.get("replacement_lot_no") or None,
        replacement_expiry=_date(form.get("replacement_expiry")),
        confirm=form.get("confirm") == "1",
    )


@bp.route("/rotation/<int:item_id>/complete", methods=["POST"])
@auth_required("session")
def complete(item_id):
    """Book a step; when a plan norm would fall short and the form is not confirmed yet, the
    page shows the shortfall with a confirm button instead (nothing booked)."""
    step = _step_input()
    try:
        completion.complete_step(current_user, item_id, step)
    except completion.NormShortfall as exc:
        item = services.get_item(current_user, item_id)
        return _render_item(item, shortfalls=exc.errors["shortfalls"], pending=step)
    except DomainError as exc:
        flash(exc.detail, "error")
        return _back(item_id)
    flash(_("The step is booked in the stock ledger."), "info")
    return _back(item_id)


@bp.route("/rotation/<int:item_id>/steps/<int:step_id>/undo", methods=["POST"])
@auth_required("session")
def undo(item_id, step_id):
    try:
        completion.undo_step(current_user, item_id, step_id, request.form.get("reason", ""))
        flash(_("The step is undone: its movements are reversed."), "info")
    except DomainError as exc:
        flash(exc.detail, "error")
    return _back(item_id)


@bp.route("/rotation/<int:item_id>/cancel", methods=["POST"])
@auth_required("session")
def cancel(item_id):
    try:
        services.cancel_item(current_user, item_id, request.form.get("reason", ""))
    except DomainError as exc:
        flash(exc.detail, "error")
    return _back(item_id)


@bp.route("/rotation/calendar")
@auth_required("session")
def calendar_page():
    months = request.args.get("months", calendar.DEFAULT_MONTHS, type=int)
    months = min(max(months, 1), calendar.MAX_MONTHS)
    return render_template(
        "rotation/calendar.html",
        data=calendar.calendar(current_user, local_today(), months),
        months=months,
        earlier=calendar.EARLIER,
    )
