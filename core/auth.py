"""Users, roles and server-side login sessions.

Flask's session is a signed cookie: on its own, a cookie captured before logout would still
work afterwards. Every login therefore opens a `LoginSession` row whose random id travels in
the cookie; logout revokes the row, and a request whose row is missing, revoked, expired or
idle too long is treated as anonymous.
"""

import hashlib
import secrets
from datetime import datetime, timedelta

from flask import current_app, g, request, session
from flask_babel import lazy_gettext as _l
from flask_login import user_logged_out
from flask_security import LoginForm as SecurityLoginForm
from flask_security import RoleMixin, UserMixin, user_authenticated
from sqlalchemy import ForeignKey, String, Table, Column, Integer
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db
from .organisation import Agency
from .timeutil import utcnow

ADMIN, OPERATOR, COMMANDER, VIEWER, SUPPLIER = (
    "admin",
    "agency_operator",
    "commander",
    "viewer",
    "supplier",
)
AGENCY_ADMIN = "agency_admin"  # manages the accounts of its agency subtree (core/accounts.py)
ROLES = {
    ADMIN: _l("Administrator"),
    OPERATOR: _l("Agency operator"),
    COMMANDER: _l("Command staff"),
    VIEWER: _l("Leader / viewer"),
    SUPPLIER: _l("Supplier enterprise"),
    AGENCY_ADMIN: _l("Agency administrator"),
}

roles_users = Table(
    "roles_users",
    db.metadata,
    Column("user_id", Integer, ForeignKey("user.id", ondelete="CASCADE"), primary_key=True),
    Column("role_id", Integer, ForeignKey("role.id", ondelete="CASCADE"), primary_key=True),
)


class Role(db.Model, RoleMixin):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    description: Mapped[str | None] = mapped_column(String(200))
    permissions: Mapped[str | None] = mapped_column(String(500))
    update_datetime: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class User(db.Model, UserMixin):
    __audit_exclude__ = {"password", "fs_uniquifier", "fs_token_uniquifier"}
    __audit_collections__ = ("roles",)  # who granted which role is part of the audit trail

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)
    display_name: Mapped[str] = mapped_column(String(100), default="")
    password: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    fs_uniquifier: Mapped[str] = mapped_column(String(64), unique=True)
    fs_token_uniquifier: Mapped[str | None] = mapped_column(String(64), unique=True)
    confirmed_at: Mapped[datetime | None]
    # A user belongs to at most one agency; an operator's scope is that agency's subtree.
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    current_login_at: Mapped[datetime | None]
    last_login_ip: Mapped[str | None] = mapped_column(String(64))
    current_login_ip: Mapped[str | None] = mapped_column(String(64))
    login_count: Mapped[int | None]
    # Set when an administrator issues a password: every page leads to the change-password page
    # and API tokens are refused until the user has chosen their own (core/accounts.py).
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    password_changed_at: Mapped[datetime | None]  # audited; the password column itself is not

    roles = relationship("Role", secondary=roles_users, lazy="selectin")
    agency = relationship(Agency, lazy="joined")

    @property
    def role_names(self) -> set[str]:
        return {role.name for role in self.roles}


class LoginSession(db.Model):
    """One web login. Only the SHA-256 of the cookie's session id is stored."""

    __audit__ = False

    id: Mapped[int] = mapped_column(primary_key=True)
    sid_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))


class LoginForm(SecurityLoginForm):
    """The login form without "remember me": a long-lived cookie would outlive logout."""

    remember = None


def _hash_sid(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


def open_login_session(sender, user, **_extra):
    """On every successful login, start a server-side session and put its id in the cookie."""
    from .audit import Actor

    g.audit_actor = Actor(
        user.id, user.agency_id, user.email
    )  # the login's own changes are the user's
    sid = secrets.token_urlsafe(32)
    now = utcnow()
    db.session.add(
        LoginSession(
            sid_hash=_hash_sid(sid),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + current_app.permanent_session_lifetime,
            ip=request.remote_addr,
            user_agent=(request.user_agent.string or "")[:300],
        )
    )
    db.session.commit()
    session["sid"] = sid
    session.permanent = True


def close_login_session(sender, user, **_extra):
    sid = session.pop("sid", None)
    if sid:
        revoke_login_session(sid)


def revoke_login_session(sid: str) -> None:
    row = db.session.execute(
        db.select(LoginSession).filter_by(sid_hash=_hash_sid(sid))
    ).scalar_one_or_none()
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
        db.session.commit()


def is_login_session_valid(row: LoginSession | None, now: datetime, idle: timedelta) -> bool:
    return (
        row is not None
        and row.revoked_at is None
        and now < row.expires_at
        and now - row.last_seen_at < idle
    )


def enforce_login_session():
    """before_request: drop a cookie session that the server no longer knows or has ended."""
    if request.endpoint == "static" or "_user_id" not in session:
        return
    sid = session.get("sid")
    row = None
    if sid:
        row = db.session.execute(
            db.select(LoginSession).filter_by(sid_hash=_hash_sid(sid))
        ).scalar_one_or_none()
    now = utcnow()
    if not is_login_session_valid(row, now, current_app.config["SESSION_IDLE_TIMEOUT"]):
        session.clear()
        g.pop("_login_user", None)
        g.session_ended = True
        return
    # Write at most once a minute: idle tracking needs minutes, not every request.
    if now - row.last_seen_at > timedelta(minutes=1):
        row.last_seen_at = now
        db.session.commit()


def init_auth(app):
    user_authenticated.connect(open_login_session, app)
    user_logged_out.connect(close_login_session, app)
    app.before_request(enforce_login_session)
