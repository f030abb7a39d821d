"""My exports (我的导出): the user's export jobs, one export's progress, and the export buttons of
the pages (a large export becomes a job; a small one is downloaded at once, as before)."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_security import auth_required, current_user

from . import background, export_jobs
from .errors import DomainError
from .export_jobs_schemas import FORMATS
from .hardening import is_same_site_path

bp = Blueprint("exports", __name__)

PER_PAGE = 30
NOT_FILTERS = {"csrf_token", "export", "format", "back"}


def _flash_error(exc: DomainError) -> None:
    """The refusal and, for bad filters, the fields it names."""
    fields = sorted((exc.errors or {}).get("filters") or {})
    flash(exc.detail + (f"（{'、'.join(fields)}）" if fields else ""), "error")


def _back() -> str:
    target = request.form.get("back")
    return target if is_same_site_path(target) else url_for("exports.export_list")


@bp.route("/exports")
@auth_required("session")
def export_list():
    result = export_jobs.list_exports(current_user, request.args.get("page", 1, type=int), PER_PAGE)
    return render_template("exports/list.html", result=result, statuses=background.STATUS_LABELS)


@bp.route("/exports/<int:job_id>")
@auth_required("session")
def export_page(job_id):
    item = export_jobs.describe(*export_jobs.get_export(current_user, job_id))
    return render_template("exports/export.html", item=item, statuses=background.STATUS_LABELS)


@bp.route("/exports", methods=["POST"])
@auth_required("session")
def start():
    """An export button: below EXPORT_INLINE_MAX_ROWS the file downloads at once (the inline
    export), above it the export becomes a job and this page follows it."""
    name, file_format = request.form.get("export", ""), request.form.get("format", "")
    if name not in export_jobs.declared_exports() or file_format not in FORMATS:
        abort(400)
    filters = {k: v for k, v in request.form.items() if k not in NOT_FILTERS and v != ""}
    try:
        outcome = export_jobs.start_or_inline(current_user, name, file_format, filters)
    except DomainError as exc:
        _flash_error(exc)
        return redirect(_back(), 303)
    if isinstance(outcome, background.BackgroundJob):
        flash(
            _("The export is large: the background worker writes it; this page follows it."), "info"
        )
        return redirect(url_for("exports.export_page", job_id=outcome.id), 303)
    query = {k: v for k, v in outcome.items() if v is not None and v is not False}
    return redirect(
        url_for(export_jobs.declared_exports()[name].inline, format=file_format, **query), 303
    )


@bp.route("/exports/<int:job_id>/cancel", methods=["POST"])
@auth_required("session")
def cancel(job_id):
    return _act(export_jobs.cancel, job_id)


@bp.route("/exports/<int:job_id>/retry", methods=["POST"])
@auth_required("session")
def retry(job_id):
    return _act(export_jobs.retry, job_id)


def _act(action, job_id):
    try:
        action(current_user, job_id)
    except DomainError as exc:
        if exc.status == 404:
            raise
        _flash_error(exc)
    return redirect(
        _back() if request.form.get("back") else url_for("exports.export_page", job_id=job_id), 303
    )
