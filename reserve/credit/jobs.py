"""The credit lists' scheduled job: thin over checks (safe to run twice: hits are kept once per
listing and subject)."""

from datetime import datetime

from core.timeutil import to_local

from . import checks


def daily(now: datetime) -> dict:
    return checks.check_reserves(to_local(now).date())
