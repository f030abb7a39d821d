"""Scheduled jobs of the core (declared in core/scheduler.py): thin wrappers that take `now`.
Each is safe to run twice. A failed check is logged at ERROR (alert on it) and returned."""

import logging
from datetime import datetime

from flask import current_app

from . import background, outbox

log = logging.getLogger(__name__)


def scheduler_heartbeat(now: datetime) -> dict:
    """The scheduler's sign of life, exported at /metrics."""
    background.record_heartbeat("scheduler", background.worker_name(), now)
    return {"beat": now.isoformat(timespec="seconds")}


def send_notifications(now: datetime) -> dict:
    return outbox.send_pending(now)


def sweep_jobs(now: datetime) -> dict:
    """Background jobs whose worker died are marked failed (retryable), even with no worker left."""
    return {"reclaimed": background.reclaim_stale(now)}


def prune_exports(now: datetime) -> dict:
    """Export files past EXPORT_FILE_HOURS are deleted (core/export_jobs.py)."""
    from .export_jobs import prune_expired

    return {"deleted": prune_expired(now)}


def verify_audit(now: datetime) -> dict:
    """`flask audit verify`, daily: the audit log's hash chain."""
    from .audit import verify_chain

    report = verify_chain()
    if not report.ok:
        log.error("audit chain BROKEN at row id %s: %s", report.broken_id, report.reason)
    return {"ok": report.ok, "rows": report.rows}


def verify_database(now: datetime) -> dict:
    """`flask backup verify`, daily: ledger balances equal their movements, audit chain intact."""
    from . import backup

    report = backup.verify(current_app.config["SQLALCHEMY_DATABASE_URI"])
    problems = report.ledger_problems + ([report.audit_problem] if report.audit_problem else [])
    for problem in problems:
        log.error("database check: %s", problem)
    return {
        "ok": report.ok,
        "tables": len(report.tables),
        "problems": len(problems),
        "seconds": round(report.seconds, 2),
    }


def exchange_send(now: datetime) -> dict:
    """Seal and drop what this side has new for the other network (core/exchange/)."""
    from .exchange import service

    return service.send(now)


def exchange_receive(now: datetime) -> dict:
    """Apply the bundles the gateway brought from the other network, in sequence."""
    from .exchange import service

    return service.receive(now)
