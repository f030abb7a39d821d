"""The worker process (`flask worker run`): takes queued background jobs (core/background.py)
one at a time and runs them, outside the web workers.

Each loop: beat this process's heartbeat, mark failed the jobs of workers that stopped beating
(their lease ran out), claim the oldest queued job and run it while a thread beats its
heartbeat. Any number of workers may run, on SQLite and PostgreSQL; a job is claimed once.
SIGTERM (systemd stop) lets the running job finish and then stops; SIGKILL loses the running
job's transaction, and the job ends failed (retryable) when its lease runs out.
"""

import logging
import signal
import threading
import time

from flask import g
from flask_babel import gettext as _

from . import background
from .audit import Actor
from .errors import DomainError
from .extensions import db
from .logs import job_context

log = logging.getLogger(__name__)


class _Heartbeat(threading.Thread):
    """Beats the running job's heartbeat every quarter lease, on connections of its own."""

    def __init__(self, app, job_id: int, worker: str):
        super().__init__(name=f"heartbeat-{job_id}", daemon=True)
        self.app, self.job_id, self.worker = app, job_id, worker
        self.stopped = threading.Event()

    def run(self):
        with self.app.app_context():
            interval = max(background.lease().total_seconds() / 4, 0.2)
            while not self.stopped.wait(interval):
                try:
                    background.beat(self.job_id, self.worker)
                    background.record_heartbeat("worker", self.worker)
                except Exception:  # noqa: BLE001 - a missed beat is retried; the lease allows three
                    log.warning("heartbeat of job %s failed", self.job_id, exc_info=True)


def run_job(app, job_id: int, worker: str) -> str:
    """Run one claimed job to its end; returns its final status."""
    with app.app_context():
        job = db.session.get(background.BackgroundJob, job_id)
        kind = background.kinds()[job.kind]
        context = background.Context(job, worker)
        user = db.session.get(_user_model(), job.user_id) if job.user_id else None
        g.audit_actor = Actor(
            user_id=job.user_id,
            agency_id=getattr(user, "agency_id", None),
            name=f"worker:{job.kind}#{job.id}",
            request_id=job.request_id,
        )
        description = (
            f"job {job.id} ({job.kind} {job.subject_kind} {job.subject_id}, attempt {job.attempts})"
        )
        db.session.commit()  # end the read transaction (on SQLite it would hold the write lock)
        heartbeat = _Heartbeat(app, job_id, worker)
        heartbeat.start()
        started = time.perf_counter()
        with job_context(job_id, context.request_id):
            log.info("%s started on %s", description, worker)
            try:
                background.resolve(kind.run)(context)
                log.info("%s done in %.1f s", description, time.perf_counter() - started)
                return "done"
            except background.JobLost:
                db.session.rollback()
                log.warning(
                    "%s was taken from this worker (its lease ran out); its work is dropped",
                    description,
                )
                return "lost"
            except background.JobCancelled:
                db.session.rollback()
                background.record_outcome(job_id, worker, "cancelled")
                log.info("%s cancelled after %.1f s", description, time.perf_counter() - started)
                return "cancelled"
            except DomainError as exc:
                db.session.rollback()
                reason = exc.detail + ("" if not exc.errors else " " + str(exc.errors)[:500])
                background.record_outcome(job_id, worker, "failed", reason)
                log.info(
                    "%s failed after %.1f s: %s", description, time.perf_counter() - started, reason
                )
                return "failed"
            except Exception as exc:  # noqa: BLE001 - the job records it; the worker goes on
                db.session.rollback()
                reason = _(
                    "Unexpected error (%(error)s); the worker's log has the details.",
                    error=type(exc).__name__,
                )
                background.record_outcome(job_id, worker, "failed", reason)
                log.exception("%s failed after %.1f s", description, time.perf_counter() - started)
                return "failed"
            finally:
                heartbeat.stopped.set()
                heartbeat.join(timeout=10)
                db.session.remove()


def _user_model():
    from .auth import User

    return User


def run(app, *, once: bool = False, poll_seconds: float = 2.0, echo=print) -> int:
    """Take and run jobs until stopped (`once`: until the queue is empty). Returns the number
    of jobs run."""
    worker = background.worker_name()
    stopping = threading.Event()

    def stop(signum, _frame):
        echo(f"worker {worker}: signal {signum}, stopping after the running job")
        stopping.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, stop)
    with app.app_context():
        echo(
            f"worker {worker} running (lease {background.lease().total_seconds():.0f} s, poll {poll_seconds:g} s)"
        )
    ran = 0
    while not stopping.is_set():
        with app.app_context():
            background.record_heartbeat("worker", worker)
            background.reclaim_stale()
            job_id = background.claim(worker)
            db.session.remove()
        if job_id is None:
            if once:
                break
            stopping.wait(poll_seconds)
            continue
        run_job(app, job_id, worker)
        ran += 1
    return ran
