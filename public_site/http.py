"""HTTP helpers shared by the portal's pages and API: public caching with ETags, and the rate
limits of its public forms."""

import functools
import time

from flask import current_app, make_response, request, session
from flask_babel import get_locale
from flask_security import current_user

from core.extensions import limiter


MAX_CACHED_PAGES = 500


def _personal() -> bool:
    """Is the answer someone's: signed in, or a message waiting in the session for them?"""
    return current_user.is_authenticated or "_flashes" in session


def _page_cache() -> dict:
    return current_app.extensions.setdefault("public_page_cache", {})


def public_cache(max_age: int = 60):
    """Cacheable for anonymous readers (Cache-Control public, ETag, 304 on If-None-Match);
    private when the answer is someone's (signed in, or a flash message in the session).

    Anonymous answers are also kept in the worker for PUBLIC_CACHE_SECONDS (default: as long as
    the max-age a proxy may keep them; 0 turns it off), keyed by path, query and language: the
    portal's pages aggregate national data and a citizen's reload must not recompute them."""

    def decorator(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            seconds = current_app.config.get("PUBLIC_CACHE_SECONDS", max_age)
            key = None
            if seconds and request.method in ("GET", "HEAD") and not _personal():
                key = (request.path, request.query_string, str(get_locale()))
                cached = _page_cache().get(key)
                if cached is not None and cached[0] > time.monotonic():
                    response = current_app.response_class(cached[1], status=200, headers=cached[2])
                    return response.make_conditional(request.environ)
            response = make_response(view(*args, **kwargs))
            if response.status_code != 200:
                return response
            personal = current_user.is_authenticated or session.modified
            response.headers["Cache-Control"] = (
                "private, no-cache" if personal else f"public, max-age={max_age}"
            )
            response.vary.update(("Cookie", "Accept-Language"))
            response.add_etag()
            if (
                key is not None
                and not personal
                and not response.is_streamed
                and "Set-Cookie" not in response.headers
            ):
                cache = _page_cache()
                if len(cache) >= MAX_CACHED_PAGES:
                    cache.clear()
                cache[key] = (
                    time.monotonic() + min(seconds, max_age),
                    response.get_data(),
                    list(response.headers.items()),
                )
            return response.make_conditional(request.environ)

        return wrapped

    return decorator


def registration_limit():
    return current_app.config.get("PORTAL_REGISTER_RATE_LIMIT", "3 per minute;20 per hour")


def registration_failure_limit():
    return current_app.config.get(
        "PORTAL_REGISTER_FAILURE_RATE_LIMIT", "20 per minute;100 per hour"
    )


def form_limit():
    return current_app.config.get("PORTAL_FORM_RATE_LIMIT", "5 per minute;30 per hour")


def limit_registration(on_breach):
    """Registrations that went through count against PORTAL_REGISTER_RATE_LIMIT; refused tries
    (a person correcting the form) against the higher PORTAL_REGISTER_FAILURE_RATE_LIMIT. Over
    either, `on_breach(limit)` answers (the form again, as it was typed)."""
    succeeded = limiter.limit(
        registration_limit,
        methods=["POST"],
        on_breach=on_breach,
        deduct_when=lambda response: response.status_code < 400,
    )
    failed = limiter.limit(
        registration_failure_limit,
        methods=["POST"],
        on_breach=on_breach,
        deduct_when=lambda response: response.status_code >= 400,
    )
    return lambda view: succeeded(failed(view))


limit_forms = limiter.limit(form_limit, methods=["POST"])
