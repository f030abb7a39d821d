"""Notices, news and public incident notices, published by administrators."""

from flask_babel import gettext as _
from sqlalchemy import select

from core.errors import NotFound
from core.extensions import db
from core.policy import require_system_administration
from core.timeutil import utcnow

from ..models import Notice, NoticeKind


def list_published(*, kind: str | None = None):
    stmt = select(Notice).where(Notice.published.is_(True))
    if kind:
        stmt = stmt.where(Notice.kind == kind)
    return stmt.order_by(Notice.published_at.desc(), Notice.id.desc())


def get_published(notice_id: int) -> Notice:
    notice = db.session.get(Notice, notice_id)
    if notice is None or not notice.published:
        raise NotFound(_("Notice %(id)s not found.", id=notice_id))
    return notice


def list_all(user):
    require_system_administration(user)
    return select(Notice).order_by(Notice.created_at.desc(), Notice.id.desc())


def create_notice(user, *, kind: str, title: str, body: str, published: bool = False) -> Notice:
    require_system_administration(user)
    notice = Notice(
        kind=kind,
        title=title,
        body=body,
        published=published,
        created_by_id=user.id,
        published_at=utcnow() if published else None,
    )
    db.session.add(notice)
    db.session.commit()
    return notice


def set_published(user, notice_id: int, published: bool) -> Notice:
    require_system_administration(user)
    notice = db.session.get(Notice, notice_id)
    if notice is None:
        raise NotFound(_("Notice %(id)s not found.", id=notice_id))
    if published and not notice.published:
        notice.published_at = utcnow()
    notice.published = published
    db.session.commit()
    return notice


def add_incident_draft(user, *, title: str, body: str) -> Notice:
    """An unpublished incident notice drafted by dispatch from the live incident (uncommitted:
    dispatch's service checks who drafts it and commits). An administrator publishes it."""
    notice = Notice(
        kind=NoticeKind.INCIDENT.value,
        title=title,
        body=body,
        published=False,
        created_by_id=user.id,
    )
    db.session.add(notice)
    db.session.flush()
    return notice
