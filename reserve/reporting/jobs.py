"""Scheduled jobs of the reporting feature: thin wrappers that take `now` and call services."""

from datetime import datetime

from . import retention


def prune_refused_files(now: datetime) -> dict:
    return retention.prune_refused_files(now)
