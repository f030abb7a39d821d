"""Time helpers. The database stores naive UTC; people read the province's local time
(config DISPLAY_TIMEZONE, default Asia/Shanghai) on every page, in exports meant for people and
in the after-action report. API answers keep UTC with an explicit offset (core/schemas.py)."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

DEFAULT_ZONE = "Asia/Shanghai"


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def display_zone() -> ZoneInfo:
    """The zone every time is shown in: the app's DISPLAY_TIMEZONE, else the default."""
    name = current_app.config.get("DISPLAY_TIMEZONE") if has_app_context() else None
    return ZoneInfo(name or DEFAULT_ZONE)


def to_local(value: datetime | None) -> datetime | None:
    """A stored naive-UTC (or aware) time as an aware time in the display zone."""
    if value is None:
        return None
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(display_zone())


def local_text(value: datetime | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
    """A stored time as people read it (exports, spreadsheets): local, without a zone suffix."""
    local = to_local(value)
    return local.strftime(pattern) if local else ""


def local_to_utc(value: datetime) -> datetime:
    """A naive local time a person typed (a datetime-local input) as naive UTC for the database."""
    return value.replace(tzinfo=display_zone()).astimezone(UTC).replace(tzinfo=None)


def local_now() -> datetime:
    return datetime.now(display_zone())


def local_today(zone: str | None = None) -> date:
    """Today's date where the reserves are: expiry and "days left" count in local days."""
    return datetime.now(ZoneInfo(zone) if zone else display_zone()).date()
