"""Feedback and supervision (社会监督): anyone writes, administrators answer, answered items
may be made public (never the sender's contact)."""

from flask_babel import gettext as _
from sqlalchemy import select

from core.errors import NotFound
from core.extensions import db
from core.policy import require_system_administration
from core.timeutil import utcnow

from .. import rules
from ..models import Feedback


def submit_feedback(
    *, category: str, text: str, contact: str | None = None, website: str | None = None
) -> Feedback | None:
    """Store a message; a robot's submission stores nothing (None)."""
    if rules.is_bot_submission(website):
        return None
    item = Feedback(category=category, text=text, contact=contact or None)
    db.session.add(item)
    db.session.commit()
    return item


def list_public():
    return (
        select(Feedback)
        .where(Feedback.is_public.is_(True), Feedback.answer.is_not(None))
        .order_by(Feedback.answered_at.desc(), Feedback.id.desc())
    )


def list_feedback(user, *, unanswered: bool = False):
    require_system_administration(user)
    stmt = select(Feedback)
    if unanswered:
        stmt = stmt.where(Feedback.answer.is_(None))
    return stmt.order_by(
        Feedback.answer.is_not(None), Feedback.created_at.desc(), Feedback.id.desc()
    )


def answer_feedback(user, feedback_id: int, *, answer: str, is_public: bool = False) -> Feedback:
    require_system_administration(user)
    item = db.session.get(Feedback, feedback_id)
    if item is None:
        raise NotFound(_("Message %(id)s not found.", id=feedback_id))
    item.answer, item.is_public = answer, is_public
    item.answered_at, item.answered_by_id = utcnow(), user.id
    db.session.commit()
    return item
