"""Flask-Security's e-mails (reset links, change notices) go through the outbox (core/outbox.py)."""

import uuid

from flask import current_app
from flask_security import MailUtil
from sqlalchemy import insert

TABLE = "outbox_message"  # core/outbox.py's OutboxMessage


class OutboxMailUtil(MailUtil):
    """Queued in the outbox instead of sent from the request: the scheduler's sender job
    delivers them (at most once), retries and records failures. Built with the extensions,
    before the models: it finds the table through the app's SQLAlchemy."""

    def send_mail(self, template, subject, recipient, sender, body, html, **kwargs):
        sqlalchemy = current_app.extensions["sqlalchemy"]
        user = kwargs.get("user")
        key = f"account:{template}:{getattr(user, 'id', '')}:{uuid.uuid4().hex}"
        sqlalchemy.session.execute(
            insert(sqlalchemy.metadata.tables[TABLE]).values(
                dedupe_key=key[:120],
                recipient=str(recipient),
                subject=str(subject)[:300],
                body=body or "",
            )
        )
        sqlalchemy.session.commit()  # Flask-Security's forgot-password view does not commit
