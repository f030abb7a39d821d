"""Scheduled jobs of the warnings feature: thin wrappers that take `now` and call services.
Each is safe to run twice: scans reconcile, digests are keyed per recipient and day, the
sender only takes pending messages."""

from datetime import datetime

from . import notify, services


def scan(now: datetime) -> dict:
    result = services.scan(now)
    return {
        "opened": result.opened,
        "kept": result.kept,
        "resolved": result.resolved,
        "seconds": result.seconds,
    }


def queue_digests(now: datetime) -> dict:
    return {"queued": notify.queue_digests(now)}
