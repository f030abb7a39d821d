"""Scheduled jobs of data sharing (declared in core/scheduler.py): `flask sharing daily` as a
job. Safe to run twice: the snapshot is keyed by day, timed-out requests are only closed once."""

from datetime import datetime

from core.timeutil import to_local


def daily(now: datetime) -> dict:
    """The quality snapshot of the local day and the grant requests that timed out."""
    from .quality import take_snapshot
    from .services import time_out_requests

    today = to_local(now).date()
    return {
        "day": today.isoformat(),
        "snapshot_rows": take_snapshot(today),
        "timed_out": time_out_requests(today),
    }
