"""Export jobs API: large exports written by the background worker (core/export_jobs.py)."""

from flask import Response, jsonify, url_for
from flask_security import auth_required, current_user
from flask_smorest import Blueprint

from . import export_jobs
from .export_jobs_schemas import ExportJobRequestSchema, ExportJobSchema
from .pagination import PageArgsSchema, page_schema

blp = Blueprint(
    "export_jobs",
    __name__,
    url_prefix="/api/v1/export-jobs",
    description="Large exports in the background (后台导出): start, follow, download, cancel, retry",
)


@blp.route("")
@auth_required("token", "session")
@blp.arguments(PageArgsSchema, location="query", as_kwargs=True)
@blp.response(200, page_schema(ExportJobSchema))
def list_exports(page, per_page):
    """The caller's export jobs, newest first."""
    return export_jobs.list_exports(current_user, page, per_page)


@blp.route("", methods=["POST"])
@auth_required("token", "session")
@blp.arguments(ExportJobRequestSchema)
@blp.alt_response(202, schema=ExportJobSchema, description="Queued; follow the job at `Location`")
@blp.doc(
    responses={"429": {"description": "EXPORT_JOBS_PER_USER exports already queued or running"}},
    **{"x-client-scope": "the export's: read:stock, or read:{kind} of a sharing export"},
)
def start(data):
    """Queue an export of any size for the worker, under the caller's access (the same rows as
    the inline export); the file is kept EXPORT_FILE_HOURS for the caller only. External clients
    need the export's scope (`read:stock`, `read:{kind}`)."""
    job = export_jobs.start_export(current_user, data["export"], data["format"], data["filters"])
    response = jsonify(ExportJobSchema().dump(export_jobs.describe(job, None)))
    response.status_code = 202
    response.headers["Location"] = url_for("export_jobs.get_export", job_id=job.id)
    return response


@blp.route("/<int:job_id>")
@auth_required("token", "session")
@blp.response(200, ExportJobSchema)
def get_export(job_id):
    """Status, progress, rows and, once done, the download URL (until the file expires)."""
    return export_jobs.describe(*export_jobs.get_export(current_user, job_id))


@blp.route("/<int:job_id>/file")
@auth_required("token", "session")
@blp.doc(
    responses={
        "200": {"description": "The file (CSV or XLSX)"},
        "409": {"description": "Not done yet"},
        "410": {"description": "The file expired"},
    }
)
def export_file(job_id):
    """The finished file."""
    file = export_jobs.download(current_user, job_id)
    headers = {
        "Content-Disposition": f"attachment; filename={file.filename}",
        "Cache-Control": "no-store",
    }
    return Response(file.content, mimetype=file.mimetype, headers=headers)


@blp.route("/<int:job_id>/cancel", methods=["POST"])
@auth_required("token", "session")
@blp.response(200, ExportJobSchema)
def cancel(job_id):
    """A queued export is cancelled now, a running one at its next progress step; 409 once finished."""
    export_jobs.cancel(current_user, job_id)
    return export_jobs.describe(*export_jobs.get_export(current_user, job_id))


@blp.route("/<int:job_id>/retry", methods=["POST"])
@auth_required("token", "session")
@blp.response(200, ExportJobSchema)
def retry(job_id):
    """Queue a failed or cancelled export again (the same id); 409 otherwise, 429 over the limit."""
    export_jobs.retry(current_user, job_id)
    return export_jobs.describe(*export_jobs.get_export(current_user, job_id))
