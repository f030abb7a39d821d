"""Time helpers. The database stores naive UTC; pages show Asia/Shanghai via Babel."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def local_today(zone: str = "Asia/Shanghai") -> date:
    """Today's date where the reserves are: expiry and "days left" count in local days."""
    return datetime.now(ZoneInfo(zone)).date()
