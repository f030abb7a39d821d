"""The registry's door: which routes an account outside the registry (a supplier enterprise,
core.policy.is_outside_registry) may use at all. Everything else answers 403 before any view
or service runs, so a new registry route is closed to suppliers without anyone remembering to.

What a supplier keeps: the public portal and its API (public aggregates, notices, the
supply/demand board, feedback), its own registration, enterprise page, offers and documents
(public_site and the portal desk, whose services check ownership and administrators), the
reference vocabularies also open to anonymous callers (regions, material catalog), its own
identity, sign-in and sign-out, the language switch, the API description and health checks.
"""

from flask import request
from flask_babel import gettext as _
from flask_login import current_user

from .errors import problem_response
from .policy import is_outside_registry

OPEN_BLUEPRINTS = frozenset(
    {
        "public_site",
        "public",
        "portal-desk",
        "regions",
        "categories",
        "materials",
        "security",
        "api-docs",
    }
)
OPEN_ENDPOINTS = frozenset(
    {
        "core.home",
        "core.set_language",
        "core.healthz",
        "metrics.metrics",
        "identity.me",
        "reserve.catalog_browser",
    }
)


def is_open_to_outsiders(endpoint: str | None) -> bool:
    """Routes an account outside the registry may use. Unknown routes (404/405) pass on to
    answer as they would for anyone."""
    if endpoint is None or endpoint == "static" or endpoint.endswith(".static"):
        return True
    return endpoint in OPEN_ENDPOINTS or endpoint.split(".", 1)[0] in OPEN_BLUEPRINTS


def refuse_outsiders():
    """before_request: a supplier's account gets 403 on every registry route."""
    if is_open_to_outsiders(request.endpoint) or not current_user.is_authenticated:
        return None
    if not is_outside_registry(current_user.role_names):
        return None
    return problem_response(
        403,
        detail=_(
            "A supplier account uses the public portal and its own enterprise "
            "pages only; the reserve registry is closed to it."
        ),
        code="registry-closed",
    )


def init_gate(app) -> None:
    app.before_request(refuse_outsiders)
