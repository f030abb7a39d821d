"""Flask-Security's e-mails (reset links, change notices) go through our outbox."""

import uuid

from flask_security import MailUtil


class OutboxMailUtil(MailUtil):
    """Queued in reserve/warnings' OutboxMessage instead of sent from the request: the
    scheduler's sender job delivers them (at most once), retries and records failures."""

    def send_mail(self, template, subject, recipient, sender, body, html, **kwargs):
        from reserve.warnings.models import OutboxMessage

        from .extensions import db

        user = kwargs.get("user")
        key = f"account:{template}:{getattr(user, 'id', '')}:{uuid.uuid4().hex}"
        db.session.add(OutboxMessage(dedupe_key=key[:120], recipient=str(recipient), subject=str(subject)[:300],
                                     body=body or ""))
        db.session.commit()  # Flask-Security's forgot-password view does not commit
