"""External system clients (外部系统接入): registration, tokens, scopes and rate limits.

A client is a service account (a User without password) plus its ExternalClient row. Its token
is a Flask-Security token of that account, sent as `Authentication-Token` (core/tokens.py refuses
it anywhere else). Rotating gives the
account a new token uniquifier (every older token stops working) and returns the new token;
revoking also deactivates the account. Each API request of a client passes `check_request`:
the route must be one its scopes allow (rules.CLIENT_ROUTES; anything else is refused) and
within its own rate limit, counted by Flask-Limiter's storage under the client's id.
"""

import secrets
import time
import uuid

from flask import request
from flask_babel import gettext as _
from flask_login import current_user
from flask_security.utils import get_request_attr
from limits import parse_many
from sqlalchemy import select

from core.auth import OPERATOR
from core.policy import may_administer_system
from core.errors import Conflict, Invalid, NotAllowed, NotFound, problem_response
from core.extensions import db, limiter, security
from core.timeutil import utcnow

from core.organisation import Agency
from . import rules
from .access import client_of
from .models import ExternalClient

CLIENT_EMAIL_DOMAIN = "clients.invalid"  # RFC 2606: never a deliverable address


def _require_admin(user) -> None:
    if not may_administer_system(user):
        raise NotAllowed(_("Only administrators manage external system clients."))


def _check(name: str, scopes: list[str], rate_limit: str, agency_id: int | None) -> None:
    errors = {}
    if not (name or "").strip():
        errors["name"] = [_("required")]
    if unknown := sorted(set(scopes or ()) - set(rules.SCOPES)):
        errors["scopes"] = [_("unknown scopes: %(scopes)s", scopes=", ".join(unknown))]
    try:
        if not parse_many(rate_limit or ""):
            raise ValueError
    except ValueError:
        errors["rate_limit"] = [_("a limit such as '60 per minute' or '1000/day'")]
    if agency_id is not None and db.session.get(Agency, agency_id) is None:
        errors["agency_id"] = [_("not found")]
    if errors:
        raise Invalid(_("The client's settings are not valid."), errors=errors)


def _new_token(client: ExternalClient) -> str:
    client.user.fs_token_uniquifier = secrets.token_hex(32)
    client.token_issued_at = utcnow()
    client.token_count += 1
    return client.user.get_auth_token()


def register_client(
    user,
    *,
    name: str,
    agency_id: int | None,
    scopes: list[str],
    rate_limit: str = "60 per minute",
    contact: str | None = None,
) -> tuple[ExternalClient, str]:
    """Administrators register a system; the token is shown once (only its issue time is kept)."""
    _require_admin(user)
    _check(name, scopes, rate_limit, agency_id)
    if db.session.execute(select(ExternalClient).filter_by(name=name.strip())).scalar_one_or_none():
        raise Conflict(_("A client with this name exists already."))
    account = security.datastore.create_user(
        email=f"client-{uuid.uuid4().hex[:12]}@{CLIENT_EMAIL_DOMAIN}",
        password=None,
        display_name=name.strip()[:100],
        roles=[OPERATOR] if agency_id is not None else [],
        agency_id=agency_id,
    )
    client = ExternalClient(
        name=name.strip(),
        agency_id=agency_id,
        user=account,
        scopes=sorted(set(scopes)),
        rate_limit=rate_limit,
        contact=(contact or "").strip() or None,
        created_by_id=getattr(user, "id", None),
    )
    db.session.add(client)
    db.session.flush()
    token = _new_token(client)
    db.session.commit()
    return client, token


def get_client(user, client_id: int) -> ExternalClient:
    _require_admin(user)
    client = db.session.get(ExternalClient, client_id)
    if client is None:
        raise NotFound(_("%(what)s %(id)s not found.", what=_("Client"), id=client_id))
    return client


def list_clients(user):
    _require_admin(user)
    return select(ExternalClient).order_by(ExternalClient.id)


def update_client(
    user,
    client_id: int,
    *,
    scopes: list[str] | None = None,
    rate_limit: str | None = None,
    contact: str | None = None,
) -> ExternalClient:
    client = get_client(user, client_id)
    scopes = client.scopes if scopes is None else scopes
    rate_limit = rate_limit or client.rate_limit
    _check(client.name, scopes, rate_limit, client.agency_id)
    client.scopes, client.rate_limit = sorted(set(scopes)), rate_limit
    if contact is not None:
        client.contact = contact.strip() or None
    db.session.commit()
    return client


def rotate_token(user, client_id: int) -> tuple[ExternalClient, str]:
    client = get_client(user, client_id)
    if not client.active:
        raise Conflict(_("A revoked client gets no new token."))
    token = _new_token(client)
    db.session.commit()
    return client, token


def revoke_client(user, client_id: int, *, reason: str) -> ExternalClient:
    client = get_client(user, client_id)
    if not (reason or "").strip():
        raise Invalid(_("Give the reason for the revocation."), errors={"reason": [_("required")]})
    client.active, client.user.active = False, False
    client.user.fs_token_uniquifier = secrets.token_hex(32)
    client.revoked_at, client.revoke_reason = utcnow(), reason.strip()[:300]
    db.session.commit()
    return client


def check_request():
    """before_request: a client's call counts against its rate limit (refused calls too) and must be
    in its scopes."""
    # Keyed to how the caller signed in (a token, wherever Flask-Security found it), not to
    # the header: a check that looks at one way in is skipped by every other.
    if (
        request.endpoint == "static"
        or not current_user.is_authenticated
        or get_request_attr("fs_authn_via") != "token"
    ):
        return None
    client = client_of(current_user)
    if client is None:
        return None
    if limiter.enabled:
        for item in parse_many(client.rate_limit):
            if not limiter.limiter.hit(item, "external-client", str(client.id)):
                reset = limiter.limiter.get_window_stats(
                    item, "external-client", str(client.id)
                ).reset_time
                wait = max(int(reset - time.time()) + 1, 1)
                return problem_response(
                    429,
                    detail=_(
                        "This client's rate limit (%(limit)s) is used up.", limit=client.rate_limit
                    ),
                    code="rate-limited",
                    headers={"Retry-After": str(wait)},
                )
    if not rules.is_scope_allowed(client.scopes, request.method, request.path):
        needed = rules.required_scope(request.method, request.path)
        detail = (
            _("This client may not call this endpoint.")
            if needed == rules.DENIED
            else _("This client lacks the scope %(scope)s.", scope=needed)
        )
        return problem_response(403, detail=detail, code="scope")
    return None
