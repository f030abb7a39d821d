"""The scheduler process (`flask scheduler run`): APScheduler 3 running the jobs of `jobs(app)`
(core's and the features'), in a process of its own, never in web workers or tests.

Exactly one scheduler is active: it must hold a lock for as long as it runs, a PostgreSQL
session advisory lock (released by the server if the process dies) or, on SQLite, an
exclusive `flock` on a file next to the instance (released by the kernel likewise). A second
scheduler waits as a standby and takes over when the lock frees. Jobs receive `now` (UTC)
and run inside an app context; a failing job is logged and does not stop the others.
"""

import fcntl
import logging
import os
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from importlib import import_module

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from . import features
from .extensions import db
from .timeutil import DEFAULT_ZONE, utcnow

log = logging.getLogger(__name__)
LOCK_KEY = 7_406_221_003


@dataclass(frozen=True)
class Job:
    id: str
    target: str  # "package.module:function", called as function(now)
    trigger: str  # "interval" or "cron"
    schedule: dict = field(default_factory=dict)
    quiet: bool = False  # its outcome at DEBUG (a heartbeat every 30 s would fill the log)


def jobs(app) -> tuple[Job, ...]:
    """core's jobs and every feature's (its Feature's `scheduled`). Daily jobs run at their hour
    of the province's local time (DISPLAY_TIMEZONE) unless they name a zone of their own."""
    config = app.config
    zone = config.get("DISPLAY_TIMEZONE") or DEFAULT_ZONE
    declared = [job for feature in features.registered(app) for job in feature.scheduled(config)]
    declared += [
        Job(
            "scheduler-heartbeat",
            "core.jobs:scheduler_heartbeat",
            "interval",
            {"seconds": 30},
            quiet=True,
        ),
        Job("notifications-send", "core.jobs:send_notifications", "interval", {"minutes": 1}),
        Job("background-jobs-sweep", "core.jobs:sweep_jobs", "interval", {"minutes": 1}),
        Job("exports-prune", "core.jobs:prune_exports", "interval", {"minutes": 30}),
        Job("audit-verify", "core.jobs:verify_audit", "cron", {"hour": 2, "minute": 30}),
        Job("backup-verify", "core.jobs:verify_database", "cron", {"hour": 3, "minute": 30}),
    ]
    if config.get("DEPLOYMENT_ROLE", "combined") != "combined":
        every = {"seconds": config["EXCHANGE_SECONDS"]}
        declared += [
            Job("exchange-send", "core.jobs:exchange_send", "interval", every, quiet=True),
            Job("exchange-receive", "core.jobs:exchange_receive", "interval", every, quiet=True),
        ]
    return tuple(
        replace(job, schedule={"timezone": zone, **job.schedule}) if job.trigger == "cron" else job
        for job in declared
    )


def resolve(target: str):
    module, name = target.split(":")
    return getattr(import_module(module), name)


def run_job(app, job: Job):
    """Run one job now, inside an app context; errors are logged, never raised to the loop."""
    from flask import g

    from .audit import Actor

    with app.app_context():
        g.audit_actor = Actor(name=f"scheduler:{job.id}")
        started = time.perf_counter()
        try:
            outcome = resolve(job.target)(utcnow())
            log.log(
                logging.DEBUG if job.quiet else logging.INFO,
                "job %s done in %.2f s: %s",
                job.id,
                time.perf_counter() - started,
                outcome,
            )
            return outcome
        except Exception:
            db.session.rollback()
            log.exception("job %s failed", job.id)
            return None


class SingletonLock:
    """Held by the one active scheduler. `acquire()` does not block."""

    def __init__(self, app):
        self.app = app
        self._connection = self._engine = None
        self._file = None

    def acquire(self) -> bool:
        url = make_url(self.app.config["SQLALCHEMY_DATABASE_URI"])
        if url.get_backend_name() == "postgresql":
            # A connection of its own, outside any pool: the lock lives exactly as long as it.
            engine = create_engine(url, poolclass=NullPool)
            connection = engine.connect()
            got = connection.execute(
                text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_KEY}
            ).scalar()
            connection.commit()
            if got:
                self._connection, self._engine = connection, engine
            else:
                connection.close()
                engine.dispose()
            return bool(got)
        path = self.app.config.get("SCHEDULER_LOCK_FILE") or os.path.join(
            self.app.instance_path, "scheduler.lock"
        )
        os.makedirs(os.path.dirname(path), exist_ok=True)
        handle = open(path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._file = handle
        return True

    def release(self) -> None:
        if self._connection is not None:
            self._connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
            self._connection.close()
            self._engine.dispose()
            self._connection = self._engine = None
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    @property
    def held(self) -> bool:
        return self._connection is not None or self._file is not None


def run(app, *, once: bool = False, poll_seconds: float = 10.0, echo=print) -> None:
    """Wait for the lock (standby), then run the jobs until stopped. `once`: run each job one
    time (if the lock is free) and return."""
    from apscheduler.schedulers.blocking import BlockingScheduler

    lock = SingletonLock(app)
    while not lock.acquire():
        if once:
            echo("another scheduler holds the lock; nothing run")
            return
        echo(f"standby: another scheduler is active; retrying every {poll_seconds:.0f} s")
        time.sleep(poll_seconds)
    try:
        declared = jobs(app)
        if once:
            for job in declared:
                echo(f"{job.id}: {run_job(app, job)}")
            return
        scheduler = BlockingScheduler(timezone="UTC")
        for job in declared:
            # Interval jobs run at once when this scheduler becomes active: after a takeover the
            # scan the dead scheduler owed does not wait another interval (jobs are safe to repeat).
            first = {"next_run_time": datetime.now(UTC)} if job.trigger == "interval" else {}
            scheduler.add_job(
                run_job,
                job.trigger,
                args=[app, job],
                id=job.id,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=300,
                **first,
                **job.schedule,
            )
        echo(
            "scheduler active: " + ", ".join(f"{j.id} ({j.trigger} {j.schedule})" for j in declared)
        )
        scheduler.start()
    finally:
        lock.release()
