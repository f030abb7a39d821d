"""Reporting API: templates, submissions (upload, JSON push, confirm, discard, revert), the
reporting calendar and the scoreboard."""

from flask import Response, request, url_for
from flask_babel import gettext as _
from flask_security import auth_required, current_user
from flask_smorest import Blueprint

from core.errors import Invalid
from core.pagination import PageArgsSchema, page_schema, paginate
from core.timeutil import local_today

from . import freshness
from . import services as service
from .schemas import (
    CadenceSchema,
    ConfirmSchema,
    PushSchema,
    RevertSchema,
    ScoreQuerySchema,
    ScoreRowSchema,
    SubmissionDetailSchema,
    SubmissionQuerySchema,
    SubmissionSchema,
    TemplateQuerySchema,
    UploadFormSchema,
)
from .standard import KINDS, MODES

templates = Blueprint(
    "report_templates",
    __name__,
    url_prefix="/api/v1/report-templates",
    description="Versioned report templates (报送模板), blank or prefilled",
)
submissions = Blueprint(
    "submissions",
    __name__,
    url_prefix="/api/v1/submissions",
    description="Submissions (报送): validate, preview, confirm, revert",
)
calendar = Blueprint(
    "reporting_calendar",
    __name__,
    url_prefix="/api/v1/reporting",
    description="Reporting calendar and freshness scoreboard",
)


def _download(content: bytes, filename: str, mimetype: str) -> Response:
    return Response(
        content,
        mimetype=mimetype,
        headers={
            "Content-Disposition": f"attachment; filename={filename}",
            "Cache-Control": "no-store",
        },
    )


@templates.route("/<kind>")
@auth_required("token", "session")
@templates.arguments(TemplateQuerySchema, location="query")
@templates.response(200, description="The template file (XLSX or CSV)")
def get_template(query, kind):
    """The kind's template (`depots`, `stock`, `transport`, `norms`); with `agency_id`, prefilled
    with the agency's current data, so exporting and re-uploading reports no change."""
    return _download(
        *service.template_file(current_user, kind, query["format"], agency_id=query["agency_id"])
    )


@submissions.route("")
@auth_required("token", "session")
@submissions.arguments(SubmissionQuerySchema, location="query")
@submissions.arguments(PageArgsSchema, location="query", as_kwargs=True)
@submissions.response(200, page_schema(SubmissionSchema))
def list_submissions(query, page, per_page):
    return paginate(service.list_submissions(current_user, **query), page, per_page)


@submissions.route("", methods=["POST"])
@auth_required("token", "session")
@submissions.doc(
    requestBody={
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file", "agency_id", "kind"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "agency_id": {"type": "integer"},
                        "kind": {"type": "string", "enum": list(KINDS)},
                        "mode": {"type": "string", "enum": list(MODES), "default": "incremental"},
                    },
                }
            }
        },
    }
)
@submissions.response(201, SubmissionDetailSchema)
@submissions.alt_response(
    202,
    schema=SubmissionDetailSchema,
    description="A large file: kept as `checking`, the worker checks it; poll the submission",
)
@submissions.alt_response(
    422, description="The report has errors (cells in `errors.cells`); nothing changed"
)
def upload():
    """Upload a report file (multipart: `file` XLSX/XLS/CSV, `agency_id`, `kind`, `mode`
    full|incremental). Valid: 201, status `ready` with a preview; confirm it to apply. A file
    whose text is over REPORT_INLINE_MAX_BYTES (1 MB by default) is checked by the worker: 202,
    status `checking`; poll `GET /submissions/{id}` (Location) until it is `ready` or `invalid`."""
    form = UploadFormSchema().load(request.form.to_dict())
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise Invalid(_("Attach the report as the multipart field 'file'."))
    submission = service.submit_file(
        current_user, data=upload.read(), filename=upload.filename, channel="api", **form
    )
    return _queued_or(submission, 201)


def _queued_or(submission, status: int):
    """The submission; 202 with its Location while the worker has it."""
    if submission.status in service.IN_BACKGROUND:
        return (
            submission,
            202,
            {"Location": url_for("submissions.get_submission", submission_id=submission.id)},
        )
    return submission, status


@submissions.route("/push", methods=["POST"])
@auth_required("token", "session")
@submissions.arguments(PushSchema)
@submissions.response(201, SubmissionDetailSchema)
@submissions.alt_response(
    422, description="The rows have errors (`errors.cells`, row = position in `rows`)"
)
def push(data):
    """Push up to 10,000 rows as JSON from an agency's own system (keys as in the template's
    machine row). With `confirm: true` a valid push is applied at once, all or nothing. Send an
    `Idempotency-Key` header so a retry is applied once."""
    return service.submit_rows(
        current_user,
        agency_id=data["agency_id"],
        kind=data["kind"],
        mode=data["mode"],
        items=data["rows"],
        confirm=data["confirm"],
    )


@submissions.route("/<int:submission_id>")
@auth_required("token", "session")
@submissions.response(200, SubmissionDetailSchema)
def get_submission(submission_id):
    return service.get_submission(current_user, submission_id)


@submissions.route("/<int:submission_id>/confirm", methods=["POST"])
@auth_required("token", "session")
@submissions.arguments(ConfirmSchema)
@submissions.response(200, SubmissionDetailSchema)
@submissions.alt_response(
    202,
    schema=SubmissionDetailSchema,
    description="A large report: `applying`, the worker applies it; poll the submission",
)
def confirm(data, submission_id):
    """Apply a ready submission: every change or none. 409 if the data changed since the preview
    (the submission then carries the new preview). A report of more than REPORT_INLINE_APPLY_ROWS
    rows (5,000 by default) is applied by the worker: 202, status `applying`, then `applied` (or
    back to `ready` with the job's reason in `job.error`)."""
    return _queued_or(
        service.confirm_submission(current_user, submission_id, fingerprint=data["fingerprint"]),
        200,
    )


@submissions.route("/<int:submission_id>/retry", methods=["POST"])
@auth_required("token", "session")
@submissions.response(202, SubmissionDetailSchema)
def retry(submission_id):
    """Queue again the check or application that failed (a worker stopped mid-way leaves
    nothing applied) or was cancelled; 409 otherwise."""
    return service.retry_submission(current_user, submission_id)


@submissions.route("/<int:submission_id>/discard", methods=["POST"])
@auth_required("token", "session")
@submissions.response(200, SubmissionSchema)
def discard(submission_id):
    return service.discard_submission(current_user, submission_id)


@submissions.route("/<int:submission_id>/revert", methods=["POST"])
@auth_required("token", "session")
@submissions.arguments(RevertSchema)
@submissions.response(200, SubmissionSchema)
def revert(data, submission_id):
    """Undo an applied stock report by reversal movements."""
    return service.revert_submission(current_user, submission_id, reason=data["reason"])


@submissions.route("/<int:submission_id>/annotated.xlsx")
@auth_required("token", "session")
@submissions.response(200, description="The upload with bad cells highlighted and commented")
def annotated(submission_id):
    content, filename = service.annotated_file(current_user, submission_id)
    return _download(content, filename, service.FORMATS["xlsx"])


@submissions.route("/<int:submission_id>/file")
@auth_required("token", "session")
@submissions.response(200, description="The file as it was submitted")
def original(submission_id):
    submission = service.require_submission_file(current_user, submission_id)
    extension = submission.file_format
    return _download(
        submission.content, f"submission-{submission.id}.{extension}", "application/octet-stream"
    )


@calendar.route("/scoreboard")
@auth_required("token", "session")
@calendar.arguments(ScoreQuerySchema, location="query")
@calendar.response(200, ScoreRowSchema(many=True))
def scoreboard(query):
    """Per agency: status in each recent period (on_time, late, overdue, missing, open), share on
    time, and completeness of the current period (stock)."""
    return freshness.scoreboard(current_user, query["kind"], local_today(), query["periods"])


@calendar.route("/cadences")
@auth_required("token", "session")
@calendar.arguments(PageArgsSchema, location="query", as_kwargs=True)
@calendar.response(200, page_schema(CadenceSchema))
def list_cadences(page, per_page):
    return paginate(freshness.list_cadences(), page, per_page)


@calendar.route("/cadences", methods=["PUT"])
@auth_required("token", "session")
@calendar.arguments(CadenceSchema)
@calendar.response(200, CadenceSchema)
def set_cadence(data):
    """Set the cadence of a kind for one agency, or for all (no `agency_id`); administrators."""
    return freshness.set_cadence(current_user, **data)


BLUEPRINTS = [templates, submissions, calendar]
