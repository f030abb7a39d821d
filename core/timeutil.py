"""Time helpers. The database stores naive UTC; pages show Asia/Shanghai via Babel."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
