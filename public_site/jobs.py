"""The portal's scheduled job: thin over services (safe to run twice)."""

from datetime import datetime

from core.timeutil import to_local

from .services import credit


def check_credit(now: datetime) -> dict:
    return credit.check_suppliers(to_local(now).date())
