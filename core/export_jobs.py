"""Large exports in the background (issue 16): an export of more than EXPORT_INLINE_MAX_ROWS rows
is written by the worker (`flask worker run`) as a job of kind `export` (core/background.py),
and its file is kept in `export_file` for EXPORT_FILE_HOURS, for the user who started it only.

Each export is declared by name, as data, in its feature's `exports` (core/features.py), as job
kinds are: the function that
gives its header and rows under the caller's access rules, the one that counts them without
reading them, the schema of its filters (those of its inline export) and the scope an external
client needs. The job runs as the user who started it, so its file holds exactly what the inline
export would give that user; the inline export and the job write the file with the same function
(core.exports.file_bytes).

Why the file is kept in the database and not under instance/: docs/operations.md ("Exports").
"""

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import ForeignKey, Index, LargeBinary, String, delete, func, select
from sqlalchemy.orm import Mapped, mapped_column

from . import background, exports, features
from .background import BackgroundJob, resolve
from .errors import Conflict, DomainError, Invalid, NotAllowed, NotFound
from .extensions import db
from .pagination import paginate
from .timeutil import local_today, utcnow

log = logging.getLogger(__name__)


class ExportFile(db.Model):
    """The finished file of an export job, until it expires."""

    __tablename__ = "export_file"
    __table_args__ = (Index("ix_export_file_expires_at", "expires_at"),)
    __audit__ = False  # the job that wrote it is audited; the file's bytes are no audit trail

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(
        ForeignKey("background_job.id", ondelete="CASCADE"), unique=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), index=True
    )  # owner
    filename: Mapped[str] = mapped_column(String(120))
    mimetype: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]  # bytes
    rows: Mapped[int]  # data rows, header aside
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)  # read only to download it
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]


@dataclass(frozen=True)
class Export:
    name: str
    label: str
    rows: str  # "module:function"(user, filters, today) -> (header, rows), scoped to the user
    size: str  # "module:function"(user, filters, today) -> at most how many rows, not reading them
    filters: str  # "module:Schema" of its filters (the inline export's query, `format` aside)
    title: str  # sheet and file name; may name a filter: "{kind}"
    scope: str  # the scope an external client needs: "read:stock", "read:{kind}"
    inline: str  # endpoint of the inline export (the web page goes there below the limit)
    appendix: str | None = (
        None  # "module:function"(filters) -> (title, header, rows): XLSX's second sheet
    )
    caption: str | None = None  # "module:function"(filters) -> what the pages name beside the label


def declared_exports() -> dict[str, Export]:
    """Every export that may run in the background, by name (the features' `exports`)."""
    return {export.name: export for export in features.declared("exports")}


class TooLargeForInline(DomainError):
    status, code = 422, "export-too-large"


class TooManyExports(DomainError):
    status, code = 429, "too-many-exports"


class ExportExpired(DomainError):
    status, code = 410, "export-expired"


def check_inline(rows: int) -> None:
    """Refuse to write in the request an export of more than EXPORT_INLINE_MAX_ROWS rows."""
    limit = current_app.config["EXPORT_INLINE_MAX_ROWS"]
    if rows > limit:
        raise TooLargeForInline(
            _(
                "This export holds %(n)s rows, more than the %(limit)s written at once. Export "
                "it in the background: POST /api/v1/export-jobs, or the export button of the "
                "page (My exports follows it).",
                n=format(rows, ","),
                limit=format(limit, ","),
            )
        )


def load_filters(name: str, filters: dict) -> dict:
    """The export's filters, checked by the schema of its inline export (422 with each field's error)."""
    declared = declared_exports()
    if name not in declared:
        raise Invalid(
            _("There is no export named %(name)s.", name=name), errors={"export": [_("unknown")]}
        )
    try:
        return resolve(declared[name].filters)().load(filters or {})
    except ValidationError as exc:
        raise Invalid(
            _("The export's filters are not valid; see errors."),
            errors={"filters": exc.normalized_messages()},
        ) from exc


def _require_scope(user, export: Export, filters: dict) -> None:
    """An external client's service account exports only what its scopes let it read."""
    scopes = features.token_scopes(user)
    needed = export.scope.format(**filters)
    if scopes is not None and needed not in scopes:
        raise NotAllowed(_("This client lacks the scope %(scope)s.", scope=needed))


def export_size(user, name: str, filters: dict, today: date) -> int:
    """At most how many rows the export gives this user (its access is checked on the way)."""
    export = declared_exports()[name]
    _require_scope(user, export, filters)
    return resolve(export.size)(user, filters, today)


def _check_quota(user) -> None:
    limit = current_app.config["EXPORT_JOBS_PER_USER"]
    active = db.session.scalar(
        select(func.count())
        .select_from(BackgroundJob)
        .where(
            BackgroundJob.kind == "export",
            BackgroundJob.user_id == user.id,
            BackgroundJob.status.in_(background.ACTIVE),
        )
    )
    if active >= limit:
        raise TooManyExports(
            _(
                "You already have %(n)s exports queued or running (at most %(limit)s at a time). "
                "Wait for one to finish, or cancel one under My exports.",
                n=active,
                limit=limit,
            )
        )


def start_export(user, name: str, file_format: str, filters: dict) -> BackgroundJob:
    """Queue an export for the worker, whatever its size; commits."""
    filters, today = load_filters(name, filters), local_today()
    return _queue(user, name, file_format, filters, today, export_size(user, name, filters, today))


def start_or_inline(user, name: str, file_format: str, filters: dict) -> BackgroundJob | dict:
    """The web page's export button: a job when the export is large, else the checked filters
    (the page then downloads the inline export)."""
    filters, today = load_filters(name, filters), local_today()
    expected = export_size(user, name, filters, today)
    if expected <= current_app.config["EXPORT_INLINE_MAX_ROWS"]:
        return filters
    return _queue(user, name, file_format, filters, today, expected)


def _queue(
    user, name: str, file_format: str, filters: dict, today: date, expected: int
) -> BackgroundJob:
    _check_quota(user)
    return background.enqueue(
        user,
        "export",
        params={
            "export": name,
            "format": file_format,
            "filters": filters,
            "today": today.isoformat(),
            "expected_rows": expected,
        },
    )


def check_export_job(user, job: BackgroundJob) -> None:
    """Who may see an export job (its status, its file): the user who started it, nobody else
    (the file holds what that user may read)."""
    if job.user_id is None or job.user_id != getattr(user, "id", None):
        raise NotFound(_("Job %(id)s not found.", id=job.id))


def get_export(user, job_id: int) -> tuple[BackgroundJob, ExportFile | None]:
    job = background.get_job(user, job_id, "export")
    return job, db.session.execute(select(ExportFile).filter_by(job_id=job.id)).scalar_one_or_none()


def list_exports(user, page: int, per_page: int):
    """A page of the user's export jobs, newest first, each as `describe` gives it."""
    result = paginate(
        select(BackgroundJob)
        .where(BackgroundJob.kind == "export", BackgroundJob.user_id == user.id)
        .order_by(BackgroundJob.id.desc()),
        page,
        per_page,
    )
    ids = [job.id for job in result.items]
    found = (
        db.session.execute(select(ExportFile).where(ExportFile.job_id.in_(ids))).scalars()
        if ids
        else []
    )
    files = {f.job_id: f for f in found}
    result.items = [describe(job, files.get(job.id)) for job in result.items]
    return result


def download(user, job_id: int) -> ExportFile:
    """The finished file (409 while the job is not done, 410 once it expired)."""
    job, file = get_export(user, job_id)
    if job.status != "done":
        raise Conflict(
            _(
                "The export is not finished (%(status)s).",
                status=background.STATUS_LABELS[job.status],
            )
        )
    if file is None or file.expires_at <= utcnow():
        raise ExportExpired(_("The export's file expired and was deleted; start the export again."))
    return file


def cancel(user, job_id: int) -> BackgroundJob:
    return background.cancel(user, job_id, "export")


def retry(user, job_id: int) -> BackgroundJob:
    """Queue a failed or cancelled export again, within the user's limit of running exports."""
    background.get_job(user, job_id, "export")
    _check_quota(user)
    return background.retry(user, job_id, "export")


def describe(job: BackgroundJob, file: ExportFile | None, now: datetime | None = None) -> dict:
    """An export job as the API and the pages show it: what would the server accept next."""
    now = now or utcnow()
    params = job.params or {}
    export = declared_exports().get(params.get("export"))
    available = job.status == "done" and file is not None and file.expires_at > now
    label = str(export.label) if export else ""
    if export and export.caption:
        label += " · " + resolve(export.caption)(params.get("filters") or {})
    return {
        **background.as_dict(job),
        "export": params.get("export"),
        "label": label,
        "format": params.get("format"),
        "filters": params.get("filters") or {},
        "expected_rows": params.get("expected_rows"),
        "rows": file.rows if file else None,
        "size": file.size if file else None,
        "filename": file.filename if file else None,
        "expires_at": file.expires_at if file else None,
        "available": available,
        "expired": job.status == "done" and not available,
        "can_cancel": job.status in background.ACTIVE and not job.cancel_requested,
        "can_retry": job.status in background.RETRYABLE,
    }


def prune_expired(now: datetime | None = None) -> int:
    """Delete every file past its expiry (their jobs stay, marked expired on the pages). Safe to run twice."""
    gone = db.session.execute(
        delete(ExportFile).where(ExportFile.expires_at <= (now or utcnow()))
    ).rowcount
    db.session.commit()
    return gone


# --- what the worker does -------------------------------------------------------------------------


def run_export_job(context) -> None:
    """The worker's handler of `export`: read the rows as the user who started it, write the file,
    keep it; the file and the job's `done` commit together."""
    params = context.params
    export, filters, file_format = (
        declared_exports()[params["export"]],
        params["filters"],
        params["format"],
    )
    today = date.fromisoformat(params["today"])
    user = context.user()
    _require_scope(user, export, filters)
    db.session.commit()  # nothing written yet: end the read (on SQLite, its lock) before progress
    context.progress(5, _("Reading the rows"))
    header, rows = resolve(export.rows)(user, filters, today)
    rows = list(rows)
    db.session.commit()
    total = len(rows)
    context.progress(40, _("Writing the file (%(n)s rows)", n=format(total, ",")))
    title = export.title.format(**filters)
    sheets = [(title, header, rows)] + (
        [resolve(export.appendix)(filters)] if export.appendix else []
    )

    def written(n: int) -> None:
        context.progress(
            40 + 55 * n // max(total, 1),
            _(
                "Writing the file: %(n)s of %(total)s rows",
                n=format(n, ","),
                total=format(total, ","),
            ),
        )

    body, mimetype = exports.file_bytes(file_format, sheets, on_row=written)
    context.checkpoint("export-written")
    now = utcnow()
    file = ExportFile(
        job_id=context.job_id,
        user_id=user.id,
        filename=f"{title}-{today:%Y%m%d}.{file_format}",
        mimetype=mimetype,
        size=len(body),
        rows=total,
        content=body,
        created_at=now,
        expires_at=now + timedelta(hours=current_app.config["EXPORT_FILE_HOURS"]),
    )
    db.session.add(file)
    db.session.flush()
    context.finish({"export_file_id": file.id, "rows": total})
    db.session.commit()
    log.info(
        "export %s (%s, %s rows, %s bytes) written for user %s",
        context.job_id,
        export.name,
        total,
        len(body),
        user.id,
    )
