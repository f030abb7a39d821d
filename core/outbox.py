"""The e-mail outbox: every e-mail of the app is queued here (Flask-Security's reset links and
change notices, the warnings' digests) and delivered by the scheduler's sender job
(reserve/warnings/notify.py), at most once."""

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .extensions import db
from .timeutil import utcnow


class OutboxMessage(db.Model):
    """An e-mail waiting to be sent. `dedupe_key` is unique: the same message is never queued
    twice. Sending marks it `sending` (committed) before the SMTP call, so a crash mid-send
    leaves it visible instead of sending it again (at most once)."""

    __audit__ = False

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(120), unique=True)
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(
        String(10), default="pending", index=True
    )  # pending/sending/sent/failed
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
