"""Accounts in the web app: administrators and agency administrators manage users.

Who manages whom (pure rules below, tested without a database):

| actor          | sees                             | may grant                                   |
|----------------|----------------------------------|---------------------------------------------|
| admin          | every account                    | admin, commander, viewer, operator, agency admin |
| agency_admin   | accounts of its agency subtree   | operator, agency admin (inside its subtree) |

An agency administrator touches only accounts whose every role it could grant itself (an
administrator or commander who happens to sit in its subtree is shown, not editable). Nobody
disables their own account or changes their own roles or agency (no lock-out by mistake).
Supplier accounts belong to their enterprise registration: the supplier role is never granted
or removed here. External system clients are managed on the sharing pages and not listed.

Passwords: an administrator issues a one-time password (shown once; the user must change it
at the next login, and the user's API tokens are refused until then) or sends a reset link.
Reset links are Flask-Security's (signed, bound to the current password hash, so they work
once, and expire after SECURITY_RESET_PASSWORD_WITHIN); every e-mail goes through our outbox
(reserve/warnings OutboxMessage), sent by the scheduler's sender job.
"""

import secrets

from email_validator import EmailNotValidError, validate_email
from flask import current_app, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_security import password_changed, password_reset
from flask_security.changeable import admin_change_password
from flask_security.recoverable import send_reset_password_instructions
from flask_security.utils import get_request_attr
from sqlalchemy import or_, select, update

from . import features
from .agencies import writable_agencies
from .audit import Actor, record_event
from .auth import ROLES, LoginSession, Role, User
from .errors import Conflict, Invalid, NotAllowed, NotFound, problem_response, wants_problem_json
from .exports import csv_bytes
from .extensions import db, security
from .passwords import password_problems
from .policy import administers_every_account, is_in_subtree, may_administer_accounts
from .scoping import subtree_ids
from .timeutil import utcnow

from .accounts_rules import (
    NEEDS_AGENCY,
    PASSWORD_METHODS,
    can_assign,
    can_manage,
    can_see,
    grantable_roles,
    issue_password,
    status_of,
)


# --- services ---------------------------------------------------------------------------------


def _actor_facts(actor) -> tuple[set[str], str | None]:
    agency = getattr(actor, "agency", None)
    return set(getattr(actor, "role_names", set())), (agency.path if agency is not None else None)


def require_manager(actor) -> None:
    if not may_administer_accounts(actor):
        raise NotAllowed(_("Only administrators and agency administrators manage user accounts."))


def list_users(
    actor,
    *,
    q: str | None = None,
    role: str | None = None,
    agency_id: int | None = None,
    status: str | None = None,
):
    """A select of the accounts the actor may see, filtered, by e-mail."""
    require_manager(actor)
    path = _actor_facts(actor)[1]
    stmt = select(User)
    for (
        service_accounts
    ) in features.service_account_ids():  # external systems' accounts are managed there
        stmt = stmt.where(User.id.not_in(service_accounts))
    if not administers_every_account(actor):
        stmt = stmt.where(User.agency_id.in_(subtree_ids(path))) if path else stmt.where(False)
    if q:
        stmt = stmt.where(
            or_(
                User.email.icontains(q, autoescape=True),
                User.display_name.icontains(q, autoescape=True),
            )
        )
    if role:
        stmt = stmt.where(User.roles.any(Role.name == role))
    if agency_id is not None:
        from .organisation import Agency

        agency = db.session.get(Agency, agency_id)
        stmt = (
            stmt.where(User.agency_id.in_(subtree_ids(agency.path)))
            if agency
            else stmt.where(False)
        )
    if status == "disabled":
        stmt = stmt.where(User.active.is_(False))
    elif status == "active":
        stmt = stmt.where(User.active.is_(True), User.must_change_password.is_(False))
    elif status == "must_change":
        stmt = stmt.where(User.active.is_(True), User.must_change_password.is_(True))
    return stmt.order_by(User.email)


def _is_client(user_id: int) -> bool:
    return any(
        db.session.scalar(select(User.id).where(User.id == user_id, User.id.in_(ids))) is not None
        for ids in features.service_account_ids()
    )


def get_user(actor, user_id: int) -> User:
    """The account, if the actor may see it; otherwise 404 (its existence is not revealed)."""
    require_manager(actor)
    user = db.session.get(User, user_id)
    roles, path = _actor_facts(actor)
    if (
        user is None
        or _is_client(user.id)
        or not can_see(roles, path, user.agency.path if user.agency else None)
    ):
        raise NotFound(_("No such user account."))
    return user


def _managed(actor, user_id: int) -> User:
    user = get_user(actor, user_id)
    roles, path = _actor_facts(actor)
    if not can_manage(roles, path, user.agency.path if user.agency else None, user.role_names):
        raise NotAllowed(
            _("This account holds a role you cannot grant; only an administrator may change it.")
        )
    return user


def _agency(actor, agency_id: int | None, new_roles: set[str]):
    from .organisation import Agency

    path = _actor_facts(actor)[1]
    agency = db.session.get(Agency, agency_id) if agency_id is not None else None
    if agency_id is not None and agency is None:
        raise Invalid(_("The account is not valid."), errors={"agency_id": [_("not found")]})
    if not administers_every_account(actor) and (
        agency is None or not is_in_subtree(agency.path, path)
    ):
        raise Invalid(
            _("The account is not valid."),
            errors={"agency_id": [_("choose an agency inside your own agency's subtree")]},
        )
    if agency is None and new_roles & NEEDS_AGENCY:
        raise Invalid(
            _("The account is not valid."),
            errors={"agency_id": [_("agency operators and agency administrators need an agency")]},
        )
    return agency


def _check_roles(actor, current: set[str], new: set[str]) -> None:
    unknown = new - set(ROLES)
    if unknown or not new:
        raise Invalid(
            _("The account is not valid."), errors={"roles": [_("choose at least one known role")]}
        )
    if not can_assign(_actor_facts(actor)[0], current, new):
        raise NotAllowed(
            _(
                "You cannot grant or remove these roles: %(roles)s",
                roles="、".join(str(ROLES[r]) for r in sorted(new ^ current)),
            )
        )


def _role_objects(names: set[str]) -> list[Role]:
    return list(db.session.scalars(select(Role).where(Role.name.in_(names))))


def create_user(
    actor,
    *,
    email: str,
    display_name: str,
    roles: list[str],
    agency_id: int | None,
    password_method: str = "issue",
) -> tuple[User, str | None]:
    """A new account; returns it and the issued one-time password (None when a link was sent)."""
    require_manager(actor)
    try:  # no DNS lookup: the private network has none, and the address is the administrator's word
        email = validate_email(email, check_deliverability=False).normalized
    except EmailNotValidError:
        raise Invalid(
            _("The account is not valid."), errors={"email": [_("not a valid e-mail address")]}
        )
    if (
        security.datastore.find_user(case_insensitive=True, email=email) is not None
    ):  # as the login looks up
        raise Conflict(_("An account with this e-mail address exists already."))
    new = set(roles)
    _check_roles(actor, set(), new)
    agency = _agency(actor, agency_id, new)
    from .demo import ensure_roles

    ensure_roles()  # a database set up before agency_admin existed
    user = security.datastore.create_user(
        email=email,
        display_name=display_name.strip(),
        roles=_role_objects(new),
        agency=agency,
        password=None,
    )
    db.session.flush()
    issued = _set_password(user, password_method)
    db.session.commit()
    return user, issued


def _set_password(user: User, method: str) -> str | None:
    if method not in PASSWORD_METHODS:
        raise Invalid(_("The account is not valid."), errors={"method": [_("issue or link")]})
    if method == "link":
        # An unknown random password until the user sets theirs through the link.
        admin_change_password(user, secrets.token_urlsafe(32), notify=False)
        user.must_change_password, user.password_changed_at = False, utcnow()
        _end_sessions(user)
        send_reset_password_instructions(user)
        record_event("reset-link", "user", {"email": user.email}, entity_id=str(user.id))
        return None
    password = issue_password()
    while password_problems(password, email=user.email, name=user.display_name):
        password = issue_password()
    admin_change_password(user, password, notify=False)
    user.must_change_password, user.password_changed_at = True, utcnow()
    user.fs_token_uniquifier = secrets.token_hex(32)  # tokens issued before stop working
    _end_sessions(user)
    return password


def _end_sessions(user: User) -> None:
    db.session.execute(
        update(LoginSession)
        .where(LoginSession.user_id == user.id, LoginSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def update_user(
    actor,
    user_id: int,
    *,
    display_name: str | None = None,
    roles: list[str] | None = None,
    agency_id: int | None = None,
    agency_given: bool = False,
) -> User:
    """Name, roles and agency; an unchanged field may be left out (None / agency_given=False)."""
    user = _managed(actor, user_id)
    current = user.role_names
    new = set(roles) if roles is not None else current
    own = user.id == actor.id
    if own and (new != current or (agency_given and agency_id != user.agency_id)):
        raise NotAllowed(
            _("You cannot change your own roles or agency; ask another administrator.")
        )
    _check_roles(actor, current, new)
    if agency_given or new != current:
        user.agency = _agency(actor, agency_id if agency_given else user.agency_id, new)
    if new != current:
        user.roles = _role_objects(new)
    if display_name is not None:
        user.display_name = display_name.strip()
    db.session.commit()
    return user


def set_active(actor, user_id: int, active: bool) -> User:
    """Disable (every session ends, logins and tokens are refused) or re-enable an account."""
    user = _managed(actor, user_id)
    if user.id == actor.id:
        raise NotAllowed(_("You cannot disable your own account."))
    if user.active != active:
        user.active = active
        if not active:
            _end_sessions(user)
            security.datastore.set_uniquifier(user)
            user.fs_token_uniquifier = secrets.token_hex(32)  # tokens stay dead after a re-enable
    db.session.commit()
    return user


def reset_password(actor, user_id: int, method: str) -> tuple[User, str | None]:
    """Issue a one-time password (returned, shown once) or e-mail a reset link."""
    user = _managed(actor, user_id)
    if user.id == actor.id:
        raise NotAllowed(_("Change your own password on the change-password page."))
    if not user.active:
        raise Conflict(_("The account is disabled; enable it first."))
    issued = _set_password(user, method)
    db.session.commit()
    return user, issued


def assignable(actor) -> tuple[list[str], list]:
    """The roles the actor may grant and the agencies it may place accounts in, for forms."""
    roles = _actor_facts(actor)[0]
    grantable = [r for r in ROLES if r in grantable_roles(roles)]
    agencies = writable_agencies(actor) if may_administer_accounts(actor) else []
    return grantable, agencies


USERS_CSV_HEADER = [
    "email",
    "display_name",
    "roles",
    "agency_code",
    "agency",
    "status",
    "created_at_utc",
    "last_login_at_utc",
    "password_changed_at_utc",
]


def export_users_csv(actor, limit: int = 100_000, **filters) -> bytes:
    rows = db.session.execute(list_users(actor, **filters).limit(limit)).scalars()
    return csv_bytes(
        USERS_CSV_HEADER,
        (
            [
                u.email,
                u.display_name,
                " ".join(str(ROLES.get(r, r)) for r in sorted(u.role_names)),
                u.agency.code if u.agency else "",
                u.agency.name if u.agency else "",
                status_label(status_of(u.active, u.must_change_password)),
                u.created_at.isoformat() if u.created_at else "",
                u.current_login_at.isoformat() if u.current_login_at else "",
                u.password_changed_at.isoformat() if u.password_changed_at else "",
            ]
            for u in rows
        ),
    )


def status_label(status: str) -> str:
    return {
        "active": _("Active"),
        "disabled": _("Disabled"),
        "must_change": _("Must change password"),
    }[status]


# --- the forced change and the password signals ---------------------------

EXEMPT_ENDPOINTS = {
    "security.change_password",
    "security.logout",
    "security.forgot_password",
    "security.reset_password",
    "core.set_language",
    "core.healthz",
    "metrics",
}


def enforce_password_change():
    """before_request: an account with an issued password uses nothing but the change page;
    its API tokens are refused, whatever the route."""
    endpoint = request.endpoint or ""
    if endpoint == "static" or endpoint.endswith(".static"):
        return None
    if not current_user.is_authenticated or not getattr(
        current_user, "must_change_password", False
    ):
        return None
    if get_request_attr("fs_authn_via") == "token":
        return problem_response(
            403,
            code="password-change-required",
            detail=_(
                "This account's password was issued by an administrator and must be changed first: log in on the "
                "web and choose a new password. Until then its API tokens are refused."
            ),
        )
    if endpoint in EXEMPT_ENDPOINTS:
        return None
    if wants_problem_json():
        return problem_response(
            403,
            code="password-change-required",
            detail=_(
                "Change the password issued to you before anything else (the change-password page)."
            ),
        )
    return redirect(url_for("security.change_password"))


def _password_chosen(sender, user, **_extra):
    """The user set their own password (change page or reset link): the forced change is over."""
    if (
        g.get("audit_actor") is None or g.audit_actor.user_id is None
    ):  # a reset link: no one is logged in
        g.audit_actor = Actor(user.id, user.agency_id, user.email)
    user.must_change_password = False
    user.password_changed_at = utcnow()


def init_accounts(app) -> None:
    app.before_request(enforce_password_change)
    password_changed.connect(_password_chosen, app)
    password_reset.connect(_password_chosen, app)
    app.view_functions["security.forgot_password"] = _reset_rate_limited(
        app.view_functions["security.forgot_password"]
    )


def _reset_limit():
    return current_app.config["PASSWORD_RESET_RATE_LIMIT"]


_LIMITED = {}


def _reset_rate_limited(view):
    """Cached per view, like the login's limit (core/wiring.py): wrapped twice it counts twice."""
    from .extensions import limiter

    if view not in _LIMITED:
        _LIMITED[view] = limiter.limit(_reset_limit, methods=["POST"])(view)
    return _LIMITED[view]
