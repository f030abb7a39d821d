"""Which routes a deployment role serves (DEPLOYMENT_ROLE, issue 21; docs/operations.md §10).

- `combined` (the demo, one network): every route.
- `public` (extranet): core's sign-in, language and health routes, and the paths each feature
  declares in `Feature.outside` (the portal's public pages and API, the enterprise's own pages);
  no staff route, no registry route.
- `internal` (private network): every route but those a feature declares `outside_only` (the
  public pages live on the extranet; the desk that reviews and publishes stays inside).

A route the role does not serve is never added to the app: it is absent from the URL map and
from the OpenAPI document (core/extensions.py), so it answers 404, whoever asks.
"""

import re
from collections.abc import Iterable

from flask import Flask

from . import features

COMBINED, INTERNAL, PUBLIC = "combined", "internal", "public"
# core's routes the extranet serves: signing in and out (suppliers), changing and resetting a
# password, the language switch, static files, health, metrics (loopback or token), the API
# document (which then lists the public API only)
CORE_OUTSIDE = (
    r"/static/",
    r"/fs-static/",
    r"/lang/",
    r"/login$",
    r"/logout$",
    r"/change$",
    r"/reset(/|$)",
    r"/verify$",
    r"/healthz$",
    r"/metrics$",
    r"/version$",
    r"/api/openapi\.json$",
    r"/api/docs(/|$)",
)
UNSERVED = "emreserve.unserved_endpoints"


def role(app: Flask) -> str:
    return app.config.get("DEPLOYMENT_ROLE", COMBINED)


def _matches(patterns: Iterable[str], rule: str) -> bool:
    return any(re.match(pattern, rule) for pattern in patterns)


def serves(app: Flask, rule: str) -> bool:
    """Whether `app`'s role serves the URL rule `rule` (e.g. "/portal/board/<int:demand_id>")."""
    current = role(app)
    if current == COMBINED:
        return True
    installed = app.extensions.get(features.KEY, ())
    if current == PUBLIC:
        outside = CORE_OUTSIDE + tuple(p for f in installed for p in f.outside)
        return _matches(outside, rule)
    return not _matches((p for f in installed for p in f.outside_only), rule)


def features_of(app_role: str, every: Iterable) -> tuple:
    """The features a role runs: the extranet runs only those that serve something outside
    (their jobs, demo steps and to-dos with them); the other roles run them all."""
    if app_role != PUBLIC:
        return tuple(every)
    return tuple(f for f in every if f.outside)


def remember_unserved(app: Flask, endpoint: str | None) -> None:
    app.extensions.setdefault(UNSERVED, set()).add(endpoint)


def unserved(app: Flask) -> set:
    return app.extensions.get(UNSERVED, set())


class RoleApp(Flask):
    """The app: a Flask that adds only the routes its deployment role serves."""

    def add_url_rule(self, rule, endpoint=None, view_func=None, *args, **options):
        if not serves(self, rule):
            remember_unserved(self, endpoint or getattr(view_func, "__name__", None))
            return None
        return super().add_url_rule(rule, endpoint, view_func, *args, **options)


def add_outside_home(app: Flask) -> None:
    """The extranet's "/" leads to the front page its features name (core's home is staff's)."""
    from flask import redirect

    homes = [f.outside_home for f in app.extensions.get(features.KEY, ()) if f.outside_home]
    if role(app) == PUBLIC and homes:
        target = homes[0]
        Flask.add_url_rule(app, "/", "outside_home", lambda: redirect(target))
