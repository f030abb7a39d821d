"""Reporting pages: templates and upload (with a progress bar), a submission's errors, preview
and result, and the freshness scoreboard."""

from flask import Blueprint, Response, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_security import auth_required, current_user

from core.agencies import writable_agencies
from core.background import STATUS_LABELS as JOB_STATUS_LABELS
from core.errors import DomainError
from core.exports import csv_bytes
from core.pagination import paginate
from core.timeutil import local_today

from . import freshness
from . import services as service
from .models import ACTION_LABELS, KIND_LABELS, MODE_LABELS, PERIOD_LABELS, STATUS_LABELS
from .standard import KINDS

bp = Blueprint(
    "reporting",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/reporting/static",
)
PER_PAGE = 30
ERRORS_SHOWN = 500


def _agency_id(agencies) -> int | None:
    wanted = request.args.get("agency_id", type=int)
    ids = [a.id for a in agencies]
    return wanted if wanted in ids else (ids[0] if ids else None)


@bp.route("/reporting")
@auth_required("session")
def index():
    agencies = writable_agencies(current_user)
    agency_id = _agency_id(agencies)
    stmt = service.list_submissions(
        current_user, agency_id=request.args.get("filter_agency", type=int)
    )
    result = paginate(stmt, request.args.get("page", 1, type=int), PER_PAGE)
    return render_template(
        "reporting/index.html",
        agencies=agencies,
        agency_id=agency_id,
        kinds=KIND_LABELS,
        modes=MODE_LABELS,
        result=result,
        statuses=STATUS_LABELS,
    )


@bp.route("/reporting/upload", methods=["POST"])
@auth_required("session")
def upload():
    """The upload form posts here (by XHR with a progress bar, or plainly without JavaScript).
    A file with errors is kept and shown; an unreadable one is refused with its reason."""
    wants_json = request.accept_mimetypes.best == "application/json"
    upload = request.files.get("file")
    try:
        if upload is None or not upload.filename:
            raise service.Invalid(_("Choose a file to upload."))
        submission = service.submit_file(
            current_user,
            agency_id=request.form.get("agency_id", type=int) or 0,
            kind=request.form.get("kind", ""),
            mode=request.form.get("mode", ""),
            filename=upload.filename,
            data=upload.read(),
            channel="web",
        )
    except service.SubmissionInvalid as exc:
        submission = exc.submission
    except DomainError as exc:
        if wants_json:
            return jsonify({"error": exc.detail}), exc.status
        flash(exc.detail, "error")
        return redirect(url_for("reporting.index")), 303
    target = url_for("reporting.submission", submission_id=submission.id)
    return jsonify({"url": target}) if wants_json else redirect(target, 303)


@bp.route("/reporting/submissions/<int:submission_id>")
@auth_required("session")
def submission(submission_id):
    item = service.get_submission(current_user, submission_id)
    errors = service.describe_errors((item.errors or [])[:ERRORS_SHOWN])
    previous = (
        service.previous_applied(item) if item.status in ("applied", "reverted", "ready") else None
    )
    job = service.submission_job(item) if item.status in service.IN_BACKGROUND else None
    return render_template(
        "reporting/submission.html",
        item=item,
        errors=errors,
        kind=KINDS[item.kind],
        job=job,
        job_labels=JOB_STATUS_LABELS,
        kinds=KIND_LABELS,
        modes=MODE_LABELS,
        statuses=STATUS_LABELS,
        previous=previous,
        actions=ACTION_LABELS,
        readable_changes=service.readable_changes,
        group_names=service.group_names(item),
        errors_shown=ERRORS_SHOWN,
    )


def _act(action, submission_id, **kwargs):
    try:
        action(current_user, submission_id, **kwargs)
    except service.SubmissionInvalid:
        flash(
            _(
                "The data changed since the preview and the report now has errors; nothing was applied."
            ),
            "error",
        )
    except DomainError as exc:
        flash(exc.detail, "error")
    return redirect(url_for("reporting.submission", submission_id=submission_id), 303)


@bp.route("/reporting/submissions/<int:submission_id>/confirm", methods=["POST"])
@auth_required("session")
def confirm(submission_id):
    return _act(
        service.confirm_submission, submission_id, fingerprint=request.form.get("fingerprint")
    )


@bp.route("/reporting/submissions/<int:submission_id>/discard", methods=["POST"])
@auth_required("session")
def discard(submission_id):
    return _act(service.discard_submission, submission_id)


@bp.route("/reporting/submissions/<int:submission_id>/retry", methods=["POST"])
@auth_required("session")
def retry(submission_id):
    return _act(service.retry_submission, submission_id)


@bp.route("/reporting/submissions/<int:submission_id>/revert", methods=["POST"])
@auth_required("session")
def revert(submission_id):
    return _act(service.revert_submission, submission_id, reason=request.form.get("reason", ""))


SCORE_HEADER = (
    "agency_code",
    "agency_name",
    "period",
    "last_applied_at",
    "current",
    "on_time_share",
    "depots_share",
    "materials_share",
    "quality_score",
)


@bp.route("/reporting/scoreboard")
@auth_required("session")
def scoreboard():
    kind = request.args.get("kind", "stock")
    kind = kind if kind in KINDS else "stock"
    rows = freshness.scoreboard(current_user, kind, local_today())
    if request.args.get("format") == "csv":
        body = csv_bytes(SCORE_HEADER, ([getattr(r, k) for k in SCORE_HEADER] for r in rows))
        return Response(
            body,
            mimetype="text/csv; charset=utf-8",
            headers={"Content-Disposition": f"attachment; filename=scoreboard-{kind}.csv"},
        )
    periods = freshness.recent_periods(rows[0].period if rows else "monthly", local_today(), 6)
    return render_template(
        "reporting/scoreboard.html",
        rows=rows,
        kind=kind,
        kinds=KIND_LABELS,
        periods=periods,
        statuses=freshness.STATUS_LABELS,
        period_labels=PERIOD_LABELS,
    )
