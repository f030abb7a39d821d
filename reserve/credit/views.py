"""Credit list pages (/credit): the entries with filters and the import form, the daily
check's open hits, one entry with its history and the end by reversal. Administrators write;
administrators and command staff read."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_security import auth_required, current_user

from core.errors import DomainError
from core.pagination import paginate
from core.policy import may_administer_system, may_read_planning_sources
from core.timeutil import local_today

from . import checks, rules, services
from .models import (
    ACTION_LABELS,
    LIST_LABELS,
    ORIGIN_LABELS,
    STATUS_LABELS,
    SUBJECT_LABELS,
)

bp = Blueprint("credit_ui", __name__, template_folder="templates")
PER_PAGE = 50


def _field_labels() -> dict:
    """A field's name in the file headings (the data standard's Chinese), and the status."""
    return {**rules.COLUMNS, "status": _("Status")}


def _filter() -> services.EntryFilter:
    args = request.args
    return services.EntryFilter(
        list=args.get("list") if args.get("list") in rules.LISTS else None,
        status=args.get("status") if args.get("status") in STATUS_LABELS else None,
        code=(args.get("code") or "").strip()[:18] or None,
        q=(args.get("q") or "").strip()[:100] or None,
    )


def _page(import_errors=None, import_message=None, status=200):
    f = _filter()
    result = paginate(
        services.list_entries(current_user, f),
        request.args.get("page", 1, type=int),
        PER_PAGE,
        count=services.count_entries(current_user, f),
    )
    hits = (
        paginate(checks.open_hits(current_user), 1, 20)
        if may_read_planning_sources(current_user)
        else None
    )
    return render_template(
        "credit/entries.html",
        result=result,
        f=f,
        hits=hits,
        today=local_today(),
        status_on=rules.status_on,
        lists=LIST_LABELS,
        statuses=STATUS_LABELS,
        origins=ORIGIN_LABELS,
        subjects=SUBJECT_LABELS,
        field_labels=_field_labels(),
        can_write=may_administer_system(current_user),
        import_errors=import_errors,
        import_message=import_message,
    ), status


@bp.route("/credit")
@auth_required("session")
def entries():
    return _page()


@bp.route("/credit/import", methods=["POST"])
@auth_required("session")
def import_entries():
    upload = request.files.get("file")
    try:
        recorded = services.import_file(
            current_user,
            upload.filename if upload else "",
            upload.read() if upload and upload.filename else b"",
        )
    except DomainError as exc:
        return _page((exc.errors or {}).get("rows") or [], exc.detail, exc.status)
    flash(
        _(
            "Imported: %(created)s new, %(updated)s changed, %(unchanged)s unchanged.",
            created=recorded.created,
            updated=recorded.updated,
            unchanged=recorded.unchanged,
        ),
        "success",
    )
    return redirect(url_for("credit_ui.entries"), 303)


@bp.route("/credit/<int:entry_id>")
@auth_required("session")
def detail(entry_id):
    entry = services.get_entry(current_user, entry_id)
    return render_template(
        "credit/detail.html",
        entry=entry,
        state=rules.status_on(entry.status, entry.start_date, entry.end_date, local_today()),
        lists=LIST_LABELS,
        statuses=STATUS_LABELS,
        origins=ORIGIN_LABELS,
        actions=ACTION_LABELS,
        field_labels=_field_labels(),
        can_write=may_administer_system(current_user),
    )


@bp.route("/credit/<int:entry_id>/end", methods=["POST"])
@auth_required("session")
def end(entry_id):
    try:
        services.end_entry(current_user, entry_id, request.form.get("reason", "")[:500])
        flash(_("The entry has been ended; it no longer restricts."), "success")
    except DomainError as exc:
        flash(exc.detail, "error")
    return redirect(url_for("credit_ui.detail", entry_id=entry_id), 303)


@bp.route("/credit/hits/<int:hit_id>/acknowledge", methods=["POST"])
@auth_required("session")
def acknowledge_hit(hit_id):
    try:
        checks.acknowledge_hit(current_user, hit_id)
    except DomainError as exc:
        flash(exc.detail, "error")
    return redirect(url_for("credit_ui.entries"), 303)
