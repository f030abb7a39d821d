"""Durable background jobs: long work (a plan of a large problem, large report checks and applies,
large exports, re-plans) stored as rows of `background_job` and run by the worker process
(`flask worker run`, core/worker.py), never inside a web worker.

Why a table of our own and not a queue library: docs/operations.md ("Background jobs").

A job kind is declared by name in KINDS, as data: the function that runs it and the function
that decides who may see it (access to a job follows access to what it works on). A job goes
queued → running → done / failed / cancelled; failed and cancelled jobs may be retried (the
same job, queued again). The running job's worker beats a heartbeat; a job whose heartbeat is
older than JOB_LEASE_SECONDS was lost with its worker (killed, machine gone) and is marked
failed by the next worker or the scheduler's sweep. A job's handler writes its result in one
transaction together with the job's `done`, so a killed worker leaves nothing half-applied.
"""

import logging
import os
import socket
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import import_module

from flask import current_app, g, has_request_context
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, func, select, update
from sqlalchemy.orm import Mapped, mapped_column

from .errors import Conflict, Invalid, NotFound
from .extensions import db
from .timeutil import utcnow

log = logging.getLogger(__name__)

STATUSES = ("queued", "running", "done", "failed", "cancelled")
ACTIVE = ("queued", "running")
FINISHED = ("done", "failed", "cancelled")
RETRYABLE = ("failed", "cancelled")
STATUS_LABELS = {
    "queued": _l("Queued"),
    "running": _l("Running"),
    "done": _l("Done"),
    "failed": _l("Failed"),
    "cancelled": _l("Cancelled"),
}


class BackgroundJob(db.Model):
    """One unit of long work and what became of it."""

    __tablename__ = "background_job"
    __table_args__ = (
        CheckConstraint(
            "status IN ('queued', 'running', 'done', 'failed', 'cancelled')", name="status_known"
        ),
        CheckConstraint("progress >= 0 AND progress <= 100", name="progress_percent"),
        Index("ix_background_job_status_id", "status", "id"),
        Index("ix_background_job_subject", "subject_kind", "subject_id"),
    )
    __audit_exclude__ = {"params", "heartbeat_at", "progress", "step"}

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))  # a name in KINDS
    status: Mapped[str] = mapped_column(String(12), default="queued")
    subject_kind: Mapped[str | None] = mapped_column(String(30))  # what it works on: "incident" ...
    subject_id: Mapped[int | None]
    params: Mapped[dict | None] = mapped_column(JSON)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id")
    )  # who started it; it runs as them
    progress: Mapped[int] = mapped_column(default=0)  # percent
    step: Mapped[str | None] = mapped_column(String(200))
    result: Mapped[dict | None] = mapped_column(JSON)  # a reference: {"plan_id": 7}
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    worker: Mapped[str | None] = mapped_column(String(100))  # host:pid of the worker running it
    request_id: Mapped[str | None] = mapped_column(String(64))  # the request that started it (logs)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


@dataclass(frozen=True)
class Kind:
    name: str
    run: str  # "module:function", called as function(job, context) inside an app context
    can_see: str  # "module:function", called as function(user, job); raises NotFound / NotAllowed


# Every kind of background job, by name. A new kind of long work gets one line here.
KINDS = {
    "plan": Kind(
        "plan",
        "dispatch.services.plan_jobs:run_plan_job",
        "dispatch.services.plan_jobs:check_plan_job",
    ),
    "route": Kind(
        "route",
        "dispatch.services.loads:run_route_job",
        "dispatch.services.loads:check_route_job",
    ),
    "report-check": Kind(
        "report-check",
        "reserve.reporting.services:run_check_job",
        "reserve.reporting.services:check_submission_job",
    ),
    "report-apply": Kind(
        "report-apply",
        "reserve.reporting.services:run_apply_job",
        "reserve.reporting.services:check_submission_job",
    ),
    "export": Kind(
        "export", "core.export_jobs:run_export_job", "core.export_jobs:check_export_job"
    ),
}


def resolve(target: str):
    module, name = target.split(":")
    return getattr(import_module(module), name)


class JobCancelled(Exception):
    """Raised inside a handler at a checkpoint once its job's cancellation was asked for."""


class JobLost(Exception):
    """Raised when a handler finishes a job that is no longer its worker's (reclaimed after
    its lease ran out): its work is rolled back, never applied twice."""


# --- what users do ------------------------------------------------------------------------------


def enqueue(
    user, kind: str, *, subject: tuple[str, int] | None = None, params: dict | None = None
) -> BackgroundJob:
    """Queue a job (the caller has checked the user may start it); commits."""
    if kind not in KINDS:
        raise ValueError(f"unknown job kind {kind!r}")
    job = BackgroundJob(
        kind=kind,
        status="queued",
        subject_kind=subject[0] if subject else None,
        subject_id=subject[1] if subject else None,
        params=params,
        user_id=getattr(user, "id", None),
        step=_("Queued"),
        progress=0,
        attempts=0,
        cancel_requested=False,
        request_id=g.get("request_id") if has_request_context() else None,
    )
    db.session.add(job)
    db.session.commit()
    log.info("job %s (%s) queued for %s %s", job.id, kind, job.subject_kind, job.subject_id)
    return job


def get_job(user, job_id: int, kind: str | None = None) -> BackgroundJob:
    """The job (of `kind`, when given), if the user may see what it works on (404 otherwise, or
    403 for a role that may never see such jobs)."""
    job = db.session.get(BackgroundJob, job_id)
    if job is None or job.kind not in KINDS or (kind is not None and job.kind != kind):
        raise NotFound(_("Job %(id)s not found.", id=job_id))
    resolve(KINDS[job.kind].can_see)(user, job)
    return job


def cancel(user, job_id: int, kind: str | None = None) -> BackgroundJob:
    """A queued job is cancelled at once; a running one at its handler's next checkpoint (a
    plan: before it is saved). Finished jobs cannot be cancelled (409)."""
    job = get_job(user, job_id, kind)
    if job.status in FINISHED:
        raise Conflict(
            _("The job has finished already (%(status)s).", status=STATUS_LABELS[job.status])
        )
    if job.status == "queued":
        job.status, job.step, job.finished_at = "cancelled", _("Cancelled"), utcnow()
    else:
        job.cancel_requested = True
        job.step = _("Cancelling")
    db.session.commit()
    log.info("job %s cancel asked (%s)", job.id, job.status)
    return job


def retry(user, job_id: int, kind: str | None = None) -> BackgroundJob:
    """Queue a failed or cancelled job again (the same job, its attempts counted)."""
    job = get_job(user, job_id, kind)
    if job.status not in RETRYABLE:
        raise Conflict(_("Only a failed or cancelled job can be retried."))
    job.status, job.progress, job.step, job.error, job.result = "queued", 0, _("Queued"), None, None
    job.cancel_requested, job.worker, job.started_at, job.finished_at, job.heartbeat_at = (
        False,
        None,
        None,
        None,
        None,
    )
    job.request_id = g.get("request_id") if has_request_context() else job.request_id
    job.user_id = getattr(user, "id", job.user_id)  # it runs again as the user who asked
    db.session.commit()
    log.info("job %s (%s) queued again", job.id, job.kind)
    return job


def as_dict(job: BackgroundJob) -> dict:
    """The job's JSON, the same from every web worker."""
    return {
        "id": job.id,
        "kind": job.kind,
        "status": job.status,
        "progress": job.progress,
        "step": job.step,
        "plan_id": (job.result or {}).get("plan_id"),
        "result": job.result,
        "error": job.error,
        "incident_id": job.subject_id if job.subject_kind == "incident" else None,
        "attempts": job.attempts,
        "cancel_requested": job.cancel_requested,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
    }


# --- what the worker does -------------------------------------------------------------------------


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:100]


def lease() -> timedelta:
    return timedelta(seconds=current_app.config["JOB_LEASE_SECONDS"])


def claim(worker: str, now: datetime | None = None) -> int | None:
    """Take the oldest queued job for this worker; its id, or None. PostgreSQL: FOR UPDATE SKIP
    LOCKED, so workers never wait for each other's claims; SQLite: the transaction's BEGIN
    IMMEDIATE serialises them. The guarded UPDATE makes a double claim impossible on both."""
    now = now or utcnow()
    job_id = db.session.execute(
        select(BackgroundJob.id)
        .where(BackgroundJob.status == "queued")
        .order_by(BackgroundJob.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    ).scalar()
    if job_id is None:
        db.session.rollback()
        return None
    taken = db.session.execute(
        update(BackgroundJob)
        .where(BackgroundJob.id == job_id, BackgroundJob.status == "queued")
        .values(
            status="running",
            worker=worker,
            started_at=now,
            heartbeat_at=now,
            progress=0,
            step=_("Started"),
            attempts=BackgroundJob.attempts + 1,
        )
    ).rowcount
    db.session.commit()
    return job_id if taken else None


def beat(job_id: int, worker: str, now: datetime | None = None) -> bool:
    """Refresh the running job's heartbeat (called from the heartbeat thread, whose app
    context has a session of its own); False when the job is no longer this worker's."""
    done = db.session.execute(
        update(BackgroundJob)
        .where(
            BackgroundJob.id == job_id,
            BackgroundJob.status == "running",
            BackgroundJob.worker == worker,
        )
        .values(heartbeat_at=now or utcnow())
    ).rowcount
    db.session.commit()
    return bool(done)


def reclaim_stale(now: datetime | None = None) -> int:
    """Mark failed every running job whose heartbeat is older than the lease: its worker died
    (its transaction died with it, so nothing of its work was applied). Safe to run twice."""
    now = now or utcnow()
    stale = (
        db.session.execute(
            select(BackgroundJob.id).where(
                BackgroundJob.status == "running", BackgroundJob.heartbeat_at < now - lease()
            )
        )
        .scalars()
        .all()
    )
    for job_id in stale:
        db.session.execute(
            update(BackgroundJob)
            .where(
                BackgroundJob.id == job_id,
                BackgroundJob.status == "running",
                BackgroundJob.heartbeat_at < now - lease(),
            )
            .values(
                status="failed",
                finished_at=now,
                step=_("Failed"),
                error=_(
                    "The worker running the job stopped (no heartbeat for %(s)s s); "
                    "nothing of it was applied. Retry the job.",
                    s=int(lease().total_seconds()),
                ),
            )
        )
        log.warning("job %s reclaimed: its worker stopped beating", job_id)
    db.session.commit()
    return len(stale)


def counts() -> dict[str, int]:
    """Jobs per status (for /metrics)."""
    found = dict(
        db.session.execute(
            select(BackgroundJob.status, func.count()).group_by(BackgroundJob.status)
        ).all()
    )
    return {status: found.get(status, 0) for status in STATUSES}


class Context:
    """What a running handler sees: its job's parameters, a way to report progress (which
    also checks for cancellation) and to finish inside the handler's own transaction."""

    def __init__(self, job: BackgroundJob, worker: str):
        self.job_id, self.worker = job.id, worker
        self.params = dict(job.params or {})
        self.subject_id = job.subject_id
        self.user_id = job.user_id
        self.request_id = job.request_id

    def user(self):
        """The user who started the job, as whom it runs; Invalid (the job fails with that reason)
        when the account is gone or disabled."""
        from .auth import User

        user = db.session.get(User, self.user_id) if self.user_id else None
        if user is None or not user.active:
            raise Invalid(_("The user who started the job no longer exists or is disabled."))
        return user

    def progress(self, percent: int, step: str) -> None:
        """Record progress on a connection of its own (visible at once to every web worker);
        raise JobCancelled when cancellation was asked for. Call it outside a write transaction."""
        with db.engine.connect() as conn:
            conn.execute(
                update(BackgroundJob)
                .where(BackgroundJob.id == self.job_id)
                .values(
                    progress=max(0, min(100, int(percent))), step=step[:200], heartbeat_at=utcnow()
                )
            )
            cancelled = conn.execute(
                select(BackgroundJob.cancel_requested).where(BackgroundJob.id == self.job_id)
            ).scalar()
            conn.commit()
        if cancelled:
            raise JobCancelled()

    def checkpoint(self, name: str) -> None:
        """Test hook (JOB_HOLD_FILE, never set in production): while that file exists and
        names this checkpoint the job waits here, after writing `<file>.reached`, so a test can
        kill the worker at a known point without depending on timing."""
        hold = current_app.config.get("JOB_HOLD_FILE")
        try:
            with open(hold or "", encoding="utf-8") as held:
                if held.read().strip() != name:
                    return
        except OSError:
            return
        with open(hold + ".reached", "w", encoding="utf-8") as marker:
            marker.write(name)
        while os.path.exists(hold):
            time.sleep(0.05)

    def finish(self, result: dict) -> None:
        """Mark the job done in the handler's transaction: its work and its `done` commit together
        (JobLost, and nothing committed, when the job was taken from this worker meanwhile)."""
        done = db.session.execute(
            update(BackgroundJob)
            .where(
                BackgroundJob.id == self.job_id,
                BackgroundJob.status == "running",
                BackgroundJob.worker == self.worker,
            )
            .values(
                status="done",
                progress=100,
                step=_("Done"),
                result=result,
                error=None,
                finished_at=utcnow(),
            )
        ).rowcount
        if not done:
            raise JobLost()


def record_outcome(job_id: int, worker: str, status: str, error: str | None = None) -> None:
    """Failed or cancelled: recorded after the handler's transaction was rolled back (only
    while the job is still this worker's)."""
    db.session.execute(
        update(BackgroundJob)
        .where(
            BackgroundJob.id == job_id,
            BackgroundJob.status == "running",
            BackgroundJob.worker == worker,
        )
        .values(
            status=status,
            error=error[:2000] if error else None,
            finished_at=utcnow(),
            step=str(STATUS_LABELS[status]),
        )
    )
    db.session.commit()


class ProcessHeartbeat(db.Model):
    """The last sign of life of each worker and scheduler process (exported at /metrics)."""

    __tablename__ = "process_heartbeat"
    __audit__ = False

    name: Mapped[str] = mapped_column(String(100), primary_key=True)  # host:pid
    role: Mapped[str] = mapped_column(String(20))  # worker / scheduler
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    beat_at: Mapped[datetime] = mapped_column(default=utcnow)


def record_heartbeat(role: str, name: str, now: datetime | None = None) -> None:
    """Upsert this process's heartbeat; forget processes silent for a day. Commits."""
    now = now or utcnow()
    table = ProcessHeartbeat.__table__
    if not db.session.execute(
        update(table).where(table.c.name == name).values(beat_at=now, role=role)
    ).rowcount:
        db.session.execute(table.insert().values(name=name, role=role, started_at=now, beat_at=now))
    db.session.execute(table.delete().where(table.c.beat_at < now - timedelta(days=1)))
    db.session.commit()


def heartbeats() -> dict[str, tuple[datetime | None, int]]:
    """Per role: the newest heartbeat and how many processes beat within the lease."""
    horizon = utcnow() - max(lease(), timedelta(seconds=120))
    found = {}
    for role in ("worker", "scheduler"):
        newest, alive = db.session.execute(
            select(
                func.max(ProcessHeartbeat.beat_at),
                func.count().filter(ProcessHeartbeat.beat_at >= horizon),
            ).where(ProcessHeartbeat.role == role)
        ).one()
        found[role] = (newest, alive or 0)
    return found
