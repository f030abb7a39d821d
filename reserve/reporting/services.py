"""Submissions: upload or push → validate → preview → confirm (apply all or nothing) → revert.

Each use case is one function that commits once. A submission is kept whatever becomes of it.
Confirming validates the stored file again against the database as it is now; if that gives
another change set than the preview the user saw, nothing is applied and the new preview is
shown instead (409).
"""

import hashlib
import json
import logging

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from core.audit import record_event, serialise_writes
from core.errors import Conflict, DomainError, Invalid, NotFound
from core.extensions import db
from core.scoping import Classification, can_read, scoped
from core.timeutil import utcnow

from core.organisation import Agency, Region
from ..models import Depot, Material, MaterialAlias
from ..services.access import agency_path, readable, require_write
from . import changes as change_sets
from . import retention
from .files import BadFile, read_table, sniff_format, text_size
from .models import STATUS_LABELS, Submission
from . import standard
from .standard import KINDS, MAX_PUSH_ROWS, MODES, TEMPLATE_VERSION
from .validation import MAX_ERRORS, CellError, Context, DepotRef, Validation, validate

log = logging.getLogger(__name__)
MAX_STORED_ERRORS = MAX_ERRORS  # checking stops after them (validation.MAX_ERRORS)
# A file is first read up to this many rows: if they already pass MAX_ERRORS or the header is
# wrong, it is refused on them and the rest is never parsed (a hostile file's cost is its head).
HEAD_ROWS = 2 * MAX_ERRORS + 2
PREVIEW_SAMPLE = 200
IN_BACKGROUND = (
    "checking",
    "applying",
)  # the worker has the submission (a report-check / report-apply job)


class SubmissionInvalid(Invalid):
    """The report has errors; the submission (kept, status invalid) carries them."""

    code = "submission-invalid"

    def __init__(self, submission: Submission):
        if submission.errors_capped:
            detail = _(
                "The report has more than %(n)s errors; nothing was changed. The first %(n)s errors are shown, "
                "the rest of the file was not checked. Fix them and upload it again.",
                n=MAX_STORED_ERRORS,
            )
        else:
            detail = _(
                "The report has %(n)s errors; nothing was changed. Fix them and upload it again.",
                n=submission.error_count,
            )
        super().__init__(
            detail,
            errors={
                "submission_id": submission.id,
                "errors_capped": submission.errors_capped,
                "cells": describe_errors(submission.errors or []),
            },
        )
        self.submission = submission


def build_context(agency_id: int) -> Context:
    depots, foreign = {}, set()
    for row in db.session.execute(
        select(Depot.id, Depot.code, Depot.agency_id, Depot.status, Depot.classification)
    ):
        if row.agency_id == agency_id:
            depots[row.code] = DepotRef(row.id, row.agency_id, row.status, row.classification)
        else:
            foreign.add(row.code)
    codes, names = {}, {}
    for material_id, code, name in db.session.execute(
        select(Material.id, Material.code, Material.name)
    ):
        codes[code] = material_id
        names.setdefault(name, []).append(material_id)
    aliases = dict(
        db.session.execute(
            select(MaterialAlias.alias, MaterialAlias.material_id).where(
                MaterialAlias.agency_id == agency_id
            )
        ).all()
    )
    regions = set(db.session.scalars(select(Region.code).where(Region.valid_to.is_(None))))
    return Context(agency_id, depots, foreign, codes, names, aliases, regions)


def _check_request(user, agency_id, kind, mode):
    if db.session.get(Agency, agency_id) is None:
        raise Invalid(_("Unknown agency."), errors={"agency_id": [_("not found")]})
    require_write(user, agency_id)
    if kind not in KINDS:
        raise Invalid(_("Unknown report kind."), errors={"kind": [" / ".join(KINDS)]})
    if mode not in MODES:
        raise Invalid(_("The mode is full or incremental."), errors={"mode": [" / ".join(MODES)]})


def submit_file(
    user,
    *,
    agency_id: int,
    kind: str,
    mode: str,
    filename: str | None,
    data: bytes,
    channel: str = "web",
    inline: bool | None = None,
) -> Submission:
    """Validate an uploaded file and keep it as a submission: `ready` with a preview, or
    SubmissionInvalid (422) with the errors. Unreadable files are refused (400) and not kept.
    A file larger than REPORT_INLINE_MAX_BYTES (or `inline=False`) is kept as `checking` and
    checked by the worker (a `report-check` job); `inline=True` (the CLI) always checks here."""
    _check_request(user, agency_id, kind, mode)
    if inline is None:
        inline = text_size(data) <= current_app.config["REPORT_INLINE_MAX_BYTES"]
    if not inline:
        return _queue_check(user, agency_id, kind, mode, channel, filename, data)
    ctx = build_context(agency_id)
    release_read_transaction()
    table = _read_whole_or_head(data, kind, ctx)
    return _submit(
        user, agency_id, kind, mode, channel, filename, table.format, data, table.rows, ctx
    )


def _read_whole_or_head(data: bytes, kind: str, ctx: Context):
    """The file's rows; the first HEAD_ROWS only when they already give a reason to refuse it."""
    table = read_table(data, head=HEAD_ROWS)
    if not table.complete and validate(kind, table.rows, ctx).stopped_at is None:
        table = read_table(data)  # the head holds no reason to stop: read and check the whole file
    return table


def _queue_check(user, agency_id, kind, mode, channel, filename, data) -> Submission:
    """Keep the file as a submission being checked and queue its check; one transaction."""
    from core import background

    submission = Submission(
        agency_id=agency_id,
        kind=kind,
        mode=mode,
        channel=channel,
        filename=(filename or "")[:200] or None,
        file_format=sniff_format(data),
        file_hash=hashlib.sha256(data).hexdigest(),
        file_size=len(data),
        content=data,
        row_count=0,
        error_count=0,
        status="checking",
        created_by_id=getattr(user, "id", None),
    )
    db.session.add(submission)
    db.session.flush()
    background.enqueue(user, "report-check", subject=("submission", submission.id))  # commits both
    return submission


def release_read_transaction() -> None:
    """End the read-only transaction the request has open before seconds of work that need no
    database (reading and validating a file). On SQLite every transaction begins IMMEDIATE, so an
    open one holds the database's write lock and every other request, /healthz included, would
    wait for the upload; nothing is pending here, so the commit writes nothing."""
    db.session.commit()


def rows_from_json(kind: str, items: list[dict]) -> list[tuple[int, list]]:
    """A JSON push as table rows: a header of machine keys (row 0), then item i as row i + 1."""
    if not isinstance(items, list) or not items:
        raise Invalid(_("Send the rows as a non-empty list."), errors={"rows": [_("required")]})
    if len(items) > MAX_PUSH_ROWS:
        raise Invalid(
            _("At most %(n)s rows per push; send several pushes.", n=MAX_PUSH_ROWS),
            errors={"rows": [_("too many rows")]},
        )
    keys = [c.key for c in KINDS[kind].columns]
    extra = sorted({k for item in items if isinstance(item, dict) for k in item} - set(keys))
    if extra or not all(isinstance(item, dict) for item in items):
        raise Invalid(
            _("Each row is an object with the template's keys."),
            errors={
                "rows": [_("unknown keys: %(keys)s", keys=", ".join(extra))]
                if extra
                else [_("each row must be an object")]
            },
        )
    return [(0, keys)] + [(n, [item.get(k) for k in keys]) for n, item in enumerate(items, start=1)]


def submit_rows(
    user, *, agency_id: int, kind: str, mode: str, items: list[dict], confirm: bool
) -> Submission:
    """The JSON push from an agency's own system: same validation; with `confirm` the change set
    is applied in the same request (all or nothing)."""
    _check_request(user, agency_id, kind, mode)
    rows = rows_from_json(kind, items)
    data = json.dumps(items, ensure_ascii=False, sort_keys=True, default=str).encode()
    submission = _submit(user, agency_id, kind, mode, "push", None, "json", data, rows)
    if confirm:
        return confirm_submission(user, submission.id, fingerprint=submission.fingerprint)
    return submission


def _submit(
    user, agency_id, kind, mode, channel, filename, file_format, data, rows, ctx=None
) -> Submission:
    if ctx is None:
        ctx = build_context(agency_id)
    release_read_transaction()
    checked = _check(kind, rows, ctx, mode)
    submission = Submission(
        agency_id=agency_id,
        kind=kind,
        mode=mode,
        channel=channel,
        filename=(filename or "")[:200] or None,
        file_format=file_format,
        file_hash=hashlib.sha256(data).hexdigest(),
        file_size=len(data),
        content=data,
        created_by_id=getattr(user, "id", None),
    )
    db.session.add(submission)
    _record_check(submission, rows, *checked)
    db.session.commit()
    if submission.status == "invalid":
        raise SubmissionInvalid(submission)
    return submission


def _record_check(submission: Submission, rows, validation, changeset, errors) -> None:
    """What checking found, on the submission: `invalid` with its errors (the agency's quota of
    refused files enforced) or `ready` with the preview. The caller commits."""
    submission.template_version = validation.version
    submission.row_count = max(len(rows) - validation.header_rows, 0)
    submission.error_count = len(errors)
    submission.errors = [_error_json(e) for e in errors[:MAX_STORED_ERRORS]]
    submission.status = "invalid" if errors else "ready"
    if errors:
        db.session.flush()
        retention.enforce_quota(submission.agency_id, retention.quota_bytes())
    else:
        _set_preview(
            submission,
            changeset,
            _same_file_applied(
                submission.agency_id, submission.kind, submission.mode, submission.file_hash
            ),
        )


def _check(
    kind, rows, ctx, mode
) -> tuple[Validation, change_sets.ChangeSet | None, list[CellError]]:
    """Validate the rows and compute the change set: (validation, change set or None, all errors).
    The validated records are dropped once the change set holds what applying needs, so a
    100,000-row report is not kept twice over while it is applied."""
    validation = validate(kind, rows, ctx)
    changeset = change_sets.compute(kind, validation.records, ctx, mode) if validation.ok else None
    validation.records = []
    return validation, changeset, validation.errors + (changeset.errors if changeset else [])


def _same_file_applied(agency_id, kind, mode, digest) -> dict | None:
    earlier = db.session.execute(
        select(Submission.id, Submission.applied_at)
        .where(
            Submission.agency_id == agency_id,
            Submission.kind == kind,
            Submission.mode == mode,
            Submission.file_hash == digest,
            Submission.status == "applied",
        )
        .order_by(Submission.id.desc())
        .limit(1)
    ).first()
    return {"id": earlier.id, "applied_at": earlier.applied_at.isoformat()} if earlier else None


def _set_preview(submission, changeset, same_as=None) -> None:
    submission.fingerprint = changeset.fingerprint()
    submission.preview = {
        "counts": changeset.counts(),
        "groups": changeset.per_group(),
        "sample": [c.to_json() for c in changeset.changes[:PREVIEW_SAMPLE]],
        "same_file_applied": same_as,
    }


def _error_json(error: CellError) -> dict:
    value = error.value
    if not isinstance(value, (str, int, float, bool)) and value is not None:
        value = str(value)
    return {
        "row": error.row,
        "column": error.column,
        "cell": error.cell,
        "key": error.key,
        "header": error.header,
        "value": value,
        "message": error.problem.message,
        "params": error.problem.params,
    }


def group_names(item: Submission) -> dict[str, str]:
    """The preview's groups by name: depot codes of the submitting agency's depots -> their names
    (a plan group keeps its own label)."""
    codes = [g["group"] for g in ((item.preview or {}).get("groups") or []) if g.get("group")]
    if not codes or item.kind == "norms":
        return {}
    rows = db.session.execute(
        select(Depot.code, Depot.name).where(Depot.code.in_(codes[:1000]))
    ).all()
    return {code: name for code, name in rows}


def describe_errors(errors: list[dict]) -> list[dict]:
    """Stored errors with their message translated into the reader's language."""
    described = []
    for error in errors:
        msgid, params = error["message"], error.get("params") or {}
        described.append(
            {k: v for k, v in error.items() if k not in ("message", "params")}
            | {"message": _(msgid, **params)}
        )
    return described


def _stored_rows(submission: Submission) -> list[tuple[int, list]]:
    if submission.file_format == "json":
        return rows_from_json(submission.kind, json.loads(submission.content))
    try:
        return read_table(submission.content).rows
    except BadFile:  # it was readable when submitted; only a changed reader could get here
        raise Conflict(_("The stored file can no longer be read; upload it again.")) from None


def get_submission(user, submission_id: int) -> Submission:
    """A submission carries the agency's whole file, restricted depots' lots included: it is read
    as restricted data of its agency (its existence is not shared otherwise)."""
    submission = readable(user, Submission, submission_id, label=_("Submission"))
    if not can_read(user, agency_path(submission.agency_id), Classification.RESTRICTED.value):
        raise NotFound(_("%(what)s %(id)s not found.", what=_("Submission"), id=submission_id))
    return submission


def _for_write(user, submission_id: int) -> Submission:
    submission = get_submission(user, submission_id)
    require_write(user, submission.agency_id)
    return submission


def confirm_submission(
    user, submission_id: int, *, fingerprint: str | None = None, inline: bool | None = None
) -> Submission:
    """Apply a ready submission: all its changes or none. `fingerprint`, when given, must be the
    preview's: the user confirms what they saw. Writers are serialised before the status is
    read and the file validated again: two confirmations of the same file (or submission)
    apply once, the second sees the first's result. A report of more than
    REPORT_INLINE_APPLY_ROWS rows (or `inline=False`) is applied by the worker: the submission
    turns `applying` and a `report-apply` job is queued."""
    serialise_writes()
    submission = _for_write(user, submission_id)
    if submission.status != "ready":
        raise Conflict(
            _(
                "Only a validated submission waiting for confirmation can be applied (this one is %(s)s).",
                s=STATUS_LABELS[submission.status],
            )
        )
    if fingerprint and fingerprint != submission.fingerprint:
        raise Conflict(_("The preview you confirmed is not the current one; reload the page."))
    if inline is None:
        inline = submission.row_count <= current_app.config["REPORT_INLINE_APPLY_ROWS"]
    if not inline:
        from core import background

        submission.status = "applying"
        background.enqueue(
            user,
            "report-apply",
            subject=("submission", submission.id),
            params={"fingerprint": submission.fingerprint},
        )  # commits both
        return submission
    _apply(user, submission)
    return submission


def _apply(user, submission: Submission, finish=None) -> None:
    """Check the stored file again against the database as it is now and apply its change set;
    commits once. `finish()` runs inside the applying transaction (a job's `done`). Conflict or
    SubmissionInvalid when the data changed."""
    ctx = build_context(submission.agency_id)
    _validation, changeset, errors = _check(
        submission.kind, _stored_rows(submission), ctx, submission.mode
    )
    if errors or changeset.fingerprint() != submission.fingerprint:
        _refresh_preview(submission, errors, changeset)
    try:
        change_sets.apply(
            submission.kind,
            changeset,
            ctx,
            reference=submission.reference,
            user_id=getattr(user, "id", None),
        )
    except change_sets.StaleState:
        db.session.rollback()
        raise Conflict(
            _(
                "Stock changed while the report was being applied; nothing was changed. "
                "Confirm again to apply it to the current stock."
            )
        ) from None
    submission.status, submission.applied_at = "applied", utcnow()
    submission.applied_by_id = getattr(user, "id", None)
    submission.changes = [c.to_json() for c in changeset.changes[: change_sets.SAMPLE]]
    submission.coverage = changeset.coverage
    record_event(
        "submission.applied",
        "submission",
        {"kind": submission.kind, "mode": submission.mode, **changeset.counts()},
        str(submission.id),
    )
    if finish is not None:
        finish()
    db.session.commit()
    _scan_after_apply(submission.agency_id)


# --- large reports in the background (core/background.py runs them in the worker) -----------------


def submission_job(submission: Submission):
    """The newest check or apply job of the submission (None when it had none)."""
    from core.background import BackgroundJob

    return db.session.execute(
        select(BackgroundJob)
        .where(
            BackgroundJob.subject_kind == "submission", BackgroundJob.subject_id == submission.id
        )
        .order_by(BackgroundJob.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def retry_submission(user, submission_id: int) -> Submission:
    """Queue again the check or application that failed or was cancelled (a worker killed
    mid-way leaves it failed: nothing of it was applied)."""
    from core import background

    submission = _for_write(user, submission_id)
    job = submission_job(submission) if submission.status in IN_BACKGROUND else None
    if job is None:
        raise Conflict(_("Only a submission whose check or application failed can be tried again."))
    background.retry(user, job.id)
    return submission


def check_submission_job(user, job) -> None:
    """Who may see a report job: who may read its submission."""
    get_submission(user, job.subject_id)


def _job_submission(context, status: str):
    """(user, submission) of a report job, or (None, None) when there is nothing left to do (the
    submission was discarded meanwhile): the job then ends done with `skipped`."""

    submission = db.session.get(Submission, context.subject_id)
    if submission is None or submission.status != status:
        context.finish({"submission_id": context.subject_id, "skipped": True})
        db.session.commit()
        return None, None
    return context.user(), submission


def run_check_job(context) -> None:
    """The worker's handler of `report-check`: read and check the kept file as submit_file
    would, without holding the database while the file is read."""

    def report(percent, step):
        db.session.commit()  # nothing written yet: end the read (on SQLite, its lock)
        context.progress(percent, step)

    user, submission = _job_submission(context, "checking")
    if submission is None:
        return
    agency_id, kind, mode, data = (
        submission.agency_id,
        submission.kind,
        submission.mode,
        submission.content,
    )
    ctx = build_context(agency_id)
    report(10, _("Reading the file"))
    try:
        table = _read_whole_or_head(data, kind, ctx)
    except BadFile as exc:
        table, unreadable = None, exc.detail
    report(40, _("Checking the rows"))
    checked = _check(kind, table.rows, ctx, mode) if table is not None else None
    submission = db.session.get(Submission, context.subject_id)
    if submission.status != "checking":  # discarded while it was being checked
        context.finish({"submission_id": submission.id, "skipped": True})
        db.session.commit()
        return
    if table is None:  # kept, unlike an unreadable file refused at once: the user sees why here
        submission.status, submission.error_count = "invalid", 1
        submission.errors = [
            {
                "row": None,
                "column": None,
                "cell": None,
                "key": None,
                "header": None,
                "value": None,
                "message": unreadable,
                "params": {},
            }
        ]
        db.session.flush()
        retention.enforce_quota(submission.agency_id, retention.quota_bytes())
    else:
        _record_check(submission, table.rows, *checked)
    context.checkpoint("report-checked")
    context.finish({"submission_id": submission.id, "status": submission.status})
    db.session.commit()


def run_apply_job(context) -> None:
    """The worker's handler of `report-apply`: apply as confirm_submission would, the job's
    `done` in the applying transaction. When it cannot apply (the data changed, stock moved,
    the user may no longer write) the submission goes back to `ready` (or `invalid`) and the
    job fails with the reason."""
    from core.background import JobCancelled

    def report(percent, step):
        db.session.commit()
        context.progress(percent, step)

    serialise_writes()
    user, submission = _job_submission(context, "applying")
    if submission is None:
        return
    try:
        require_write(user, submission.agency_id)
        if context.params.get("fingerprint") != submission.fingerprint:
            raise Conflict(_("The preview you confirmed is not the current one; reload the page."))
        report(20, _("Checking the report again against current stock"))
        serialise_writes()
        submission = db.session.get(Submission, context.subject_id)
        _apply(
            user,
            submission,
            finish=lambda: (
                context.checkpoint("report-applying"),
                context.finish({"submission_id": submission.id, "status": "applied"}),
            ),
        )
    except (DomainError, JobCancelled):
        db.session.rollback()
        _back_to_ready(context.subject_id)
        raise


def _back_to_ready(submission_id: int) -> None:
    """A report the worker could not apply waits for confirmation again (unless checking it
    again found errors: it stays invalid)."""
    submission = db.session.get(Submission, submission_id)
    if submission is not None and submission.status == "applying":
        submission.status = "ready"
    db.session.commit()


def _scan_after_apply(agency_id: int) -> None:
    """Warnings follow the report at once (the scheduled scan would within minutes). A failed
    scan must not undo an applied report: it is logged and the scheduler catches up."""
    from ..warnings import services as warnings

    try:
        warnings.scan(agency_id=agency_id)
    except Exception:  # noqa: BLE001 - the report is committed; the next scheduled scan repeats this
        db.session.rollback()
        log.exception("warning scan after applying a report of agency %s failed", agency_id)


def _refresh_preview(submission, errors, changeset):
    """The data changed since the preview: show the new preview (or the new errors), apply nothing."""
    if errors:
        submission.status, submission.error_count = "invalid", len(errors)
        submission.errors = [_error_json(e) for e in errors[:MAX_STORED_ERRORS]]
        db.session.commit()
        raise SubmissionInvalid(submission)
    _set_preview(
        submission,
        changeset,
        submission.preview.get("same_file_applied") if submission.preview else None,
    )
    submission.status = "ready"  # it may have been `applying`: the user confirms the new preview
    db.session.commit()
    raise Conflict(
        _(
            "The data changed since the preview was made; nothing was applied. "
            "Review the new preview and confirm again."
        ),
        errors={"submission_id": submission.id},
    )


def discard_submission(user, submission_id: int) -> Submission:
    """Close a submission nobody will apply: one waiting for confirmation, or one whose check
    or application in the background is not running (queued: cancelled with it; failed)."""
    submission = _for_write(user, submission_id)
    job = submission_job(submission) if submission.status in IN_BACKGROUND else None
    if submission.status != "ready" and not (job is not None and job.status != "running"):
        raise Conflict(_("Only a submission waiting for confirmation can be discarded."))
    if job is not None and job.status == "queued":
        job.status, job.step, job.finished_at = "cancelled", _("Cancelled"), utcnow()
    submission.status, submission.closed_at, submission.closed_by_id = (
        "discarded",
        utcnow(),
        getattr(user, "id", None),
    )
    db.session.commit()
    return submission


def revert_submission(user, submission_id: int, *, reason: str) -> Submission:
    """Undo an applied stock report by reversing each of its ledger movements (nothing is
    deleted). Other kinds are corrected by submitting again."""
    if not reason or not reason.strip():
        raise Invalid(_("Say why the submission is reverted."), errors={"reason": [_("required")]})
    serialise_writes()
    submission = _for_write(user, submission_id)
    if submission.status != "applied" or submission.kind != "stock":
        raise Conflict(
            _(
                "Only an applied stock report can be reverted; correct other reports by submitting again."
            )
        )
    try:
        count = change_sets.undo_movements(
            submission.reference, reason=reason.strip()[:300], user_id=getattr(user, "id", None)
        )
    except change_sets.StaleState:
        db.session.rollback()
        raise Conflict(
            _(
                "Some lots of this report have changed since; they no longer hold what the report put "
                "there. Correct the stock with a new report instead."
            )
        ) from None
    submission.status, submission.closed_at = "reverted", utcnow()
    submission.closed_by_id, submission.close_reason = (
        getattr(user, "id", None),
        reason.strip()[:300],
    )
    record_event(
        "submission.reverted",
        "submission",
        {"movements": count, "reason": reason},
        str(submission.id),
    )
    db.session.commit()
    return submission


def list_submissions(user, *, agency_id=None, kind=None, status=None):
    stmt = scoped(select(Submission), user, Submission.agency_id)
    if agency_id:
        stmt = stmt.where(Submission.agency_id == agency_id)
    if kind:
        stmt = stmt.where(Submission.kind == kind)
    if status:
        stmt = stmt.where(Submission.status == status)
    return stmt.order_by(Submission.id.desc())


def previous_applied(submission: Submission) -> Submission | None:
    return db.session.execute(
        select(Submission)
        .where(
            Submission.agency_id == submission.agency_id,
            Submission.kind == submission.kind,
            Submission.status == "applied",
            Submission.id < submission.id,
        )
        .order_by(Submission.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def require_submission_file(user, submission_id: int) -> Submission:
    submission = get_submission(user, submission_id)
    if submission.content is None:
        raise NotFound(_("The file of this submission is not available."))
    return submission


FORMATS = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}


def template_file(
    user, kind: str, fmt: str, *, agency_id: int | None = None
) -> tuple[bytes, str, str]:
    """(content, file name, MIME type) of the kind's template; with `agency_id`, prefilled with
    that agency's current data (the agency must be one the user reports for)."""
    from . import workbooks

    if kind not in KINDS:
        raise NotFound(_("Unknown report kind."))
    if fmt not in FORMATS:
        raise Invalid(_("The format is xlsx or csv."), errors={"format": list(FORMATS)})
    records = None
    name = f"{kind}-template-v{TEMPLATE_VERSION}"
    if agency_id is not None:
        agency = db.session.get(Agency, agency_id)
        if agency is None:
            raise Invalid(_("Unknown agency."), errors={"agency_id": [_("not found")]})
        require_write(user, agency_id)
        records = change_sets.current_report_rows(kind, build_context(agency_id))
        name = f"{kind}-{agency.code}-{utcnow():%Y%m%d}"
    content = (workbooks.template_xlsx if fmt == "xlsx" else workbooks.template_csv)(
        KINDS[kind], records
    )
    return content, f"{name}.{fmt}", FORMATS[fmt]


def annotated_file(user, submission_id: int) -> tuple[bytes, str]:
    """The submitted file as XLSX with its bad cells highlighted and commented."""
    from . import workbooks

    submission = require_submission_file(user, submission_id)
    if submission.status != "invalid":
        raise Conflict(_("Only a submission with errors has an annotated copy."))
    content = workbooks.annotated_xlsx(
        _stored_rows(submission), describe_errors(submission.errors or [])
    )
    return content, f"submission-{submission.id}-errors.xlsx"


# Keys of a change that are not columns of the data standard, as people read them.
EXTRA_LABELS = {
    "material_id": "物资",
    "depot_id": "储备库",
    "on_hand": "在库数量",
    "reserved": "预留数量",
    "owner_agency_id": "所属单位",
    "agency_id": "所属单位",
    "status": "状态",
    "available": "可用",
}
HIDDEN_KEYS = {"id", "lot_id", "owner_agency_id", "agency_id"}


def readable_changes(kind: str, sample: list[dict]) -> list[dict]:
    """A preview's rows as people read them: the data standard's column headers and choice labels,
    material, depot and region names in place of internal ids and codes, e.g. 在库数量 800 · 储备方式 实物."""
    report = KINDS[kind]
    columns = {c.key: c for c in report.columns}
    wanted: dict[str, set] = {"material_id": set(), "depot_id": set()}
    regions: set = set()
    depot_codes: set = set()
    for change in sample:
        for values in (
            change.get("before") or {},
            change.get("after") or {},
            dict(zip(report.key, change["key"])),
        ):
            for k in wanted:
                if isinstance(values.get(k), int):
                    wanted[k].add(values[k])
            regions |= {v for k, v in values.items() if k.endswith("region_code") and v}
            if kind != "depots" and isinstance(values.get("depot_code"), str):
                depot_codes.add(values["depot_code"])
    names = {
        "material_id": dict(
            db.session.execute(
                select(Material.id, Material.name).where(Material.id.in_(wanted["material_id"]))
            ).all()
        )
        if wanted["material_id"]
        else {},
        "depot_id": dict(
            db.session.execute(
                select(Depot.id, Depot.name).where(Depot.id.in_(wanted["depot_id"]))
            ).all()
        )
        if wanted["depot_id"]
        else {},
        "region": dict(
            db.session.execute(
                select(Region.code, Region.name).where(Region.code.in_(regions))
            ).all()
        )
        if regions
        else {},
        "depot_code": dict(
            db.session.execute(
                select(Depot.code, Depot.name).where(Depot.code.in_(depot_codes))
            ).all()
        )
        if depot_codes
        else {},
    }

    def shown(key, value):
        if key in ("material_id", "depot_id"):
            return names[key].get(value, value)
        if key.endswith("region_code"):
            return names["region"].get(value, value)
        if (
            key == "depot_code" and value in names["depot_code"]
        ):  # a lot's depot by name (a depot report keeps its code)
            return names["depot_code"][value]
        if isinstance(value, bool):
            return "是" if value else "否"
        return standard.cell_label(columns[key], value) if key in columns else value

    def label(key):
        return columns[key].header if key in columns else EXTRA_LABELS.get(key, key)

    def differing(mine, other):
        return " · ".join(
            f"{label(k)} {shown(k, v)}"
            for k, v in (mine or {}).items()
            if v is not None and k not in HIDDEN_KEYS and (not other or other.get(k) != v)
        )

    return [
        {
            "action": c["action"],
            "row": c.get("row"),
            "key": " · ".join(
                str(shown(k, v)) for k, v in zip(report.key, c["key"]) if v is not None
            ),
            "before": differing(c.get("before"), c.get("after")),
            "after": differing(c.get("after"), c.get("before")),
        }
        for c in sample
    ]
