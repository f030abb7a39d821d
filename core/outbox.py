"""The e-mail outbox: every e-mail of the app is queued here (Flask-Security's reset links and
change notices, the warnings' digests) and delivered by the scheduler's sender job
(`notifications-send`: `send_pending`), at most once."""

import smtplib
from datetime import datetime
from email.message import EmailMessage

from flask import current_app
from sqlalchemy import String, Text, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from .extensions import db
from .timeutil import utcnow

MAX_ATTEMPTS = 3


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


def queue(key: str, recipient: str, subject: str, body: str) -> int:
    """Queue a message once per `key` (1 queued, 0 already there); the caller commits."""
    if db.session.execute(select(OutboxMessage.id).filter_by(dedupe_key=key)).first():
        return 0
    try:
        with db.session.begin_nested():
            db.session.add(
                OutboxMessage(dedupe_key=key, recipient=recipient, subject=subject[:300], body=body)
            )
        return 1
    except IntegrityError:  # queued by another process meanwhile
        return 0


def send_pending(now: datetime, limit: int = 100) -> dict:
    """Send queued messages through the configured SMTP server. Without MAIL_SERVER nothing is sent."""
    config = current_app.config
    if not config.get("MAIL_SERVER"):
        return {"sent": 0, "failed": 0, "skipped": "MAIL_SERVER not set"}
    ids = db.session.scalars(
        select(OutboxMessage.id)
        .where(OutboxMessage.status == "pending")
        .order_by(OutboxMessage.id)
        .limit(limit)
    ).all()
    sent = failed = 0
    for message_id in ids:
        message = db.session.get(OutboxMessage, message_id)
        message.status, message.attempts = "sending", message.attempts + 1
        db.session.commit()
        try:
            _deliver(config, message)
        except (smtplib.SMTPException, OSError) as exc:
            message.status = "pending" if message.attempts < MAX_ATTEMPTS else "failed"
            message.last_error = str(exc)[:300]
            failed += 1
        else:
            message.status, message.sent_at = "sent", now
            sent += 1
        db.session.commit()
    return {"sent": sent, "failed": failed}


def _deliver(config, message: OutboxMessage) -> None:
    email = EmailMessage()
    email["From"], email["To"], email["Subject"] = (
        config["MAIL_SENDER"],
        message.recipient,
        message.subject,
    )
    email.set_content(message.body)
    with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=30) as smtp:
        if config.get("MAIL_USE_TLS"):
            smtp.starttls()
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
        smtp.send_message(email)
