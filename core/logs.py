"""Logging: one handler on the root logger, to standard error, at LOG_LEVEL (default INFO),
as text or as JSON lines (LOG_FORMAT=json, one object per line for a log shipper).

Every line carries the request id (the X-Request-ID the response echoes) when it is written
during a request, and the job id and the request id that queued the job when it is written
while the worker runs a background job. Set up by create_app; creating a second app replaces
the handler, never adds one.
"""

import contextlib
import contextvars
import json
import logging
import sys
from datetime import UTC, datetime

from flask import g, has_request_context

_JOB = contextvars.ContextVar("emreserve_job", default=(None, None))
TEXT_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s%(job_suffix)s] %(name)s: %(message)s"


@contextlib.contextmanager
def job_context(job_id: int, request_id: str | None):
    """Lines written inside carry the job's id and the id of the request that queued it."""
    token = _JOB.set((job_id, request_id))
    try:
        yield
    finally:
        _JOB.reset(token)


class ContextFilter(logging.Filter):
    """Adds `request_id` and `job_id` to every record (a dash when there is none)."""

    def filter(self, record):
        job_id, job_request = _JOB.get()
        request_id = g.get("request_id") if has_request_context() else job_request
        record.request_id = request_id or "-"
        record.job_id = job_id
        record.job_suffix = f" job {job_id}" if job_id else ""
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record):
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        if getattr(record, "job_id", None):
            entry["job_id"] = record.job_id
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def init_logging(app, stream=None) -> None:
    """Install the handler (not in tests, whose output pytest captures, unless LOG_HANDLER is set)."""
    if not app.config.get("LOG_HANDLER", True):
        return
    level = str(app.config.get("LOG_LEVEL") or "INFO").upper()
    if level not in logging.getLevelNamesMapping():
        raise RuntimeError(f"LOG_LEVEL={level!r} is not a logging level")
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name("emreserve")
    handler.addFilter(ContextFilter())
    handler.setFormatter(
        JsonFormatter()
        if str(app.config.get("LOG_FORMAT", "text")).lower() == "json"
        else logging.Formatter(TEXT_FORMAT)
    )
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "emreserve"]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # APScheduler says "Running job …" and "… executed successfully" for every run (the heartbeat
    # every 30 s); the scheduler logs each job's outcome itself (core/scheduler.py).
    logging.getLogger("apscheduler").setLevel(level if level == "DEBUG" else "WARNING")
