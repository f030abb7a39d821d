"""HTTP helpers shared by the portal's pages and API: public caching with ETags, and the rate
limits of its public forms."""

import functools

from flask import current_app, make_response, request, session
from flask_security import current_user

from core.extensions import limiter


def public_cache(max_age: int = 60):
    """Cacheable for anonymous readers (Cache-Control public, ETag, 304 on If-None-Match);
    private when the answer is someone's (signed in, or a flash message in the session)."""

    def decorator(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            response = make_response(view(*args, **kwargs))
            if response.status_code != 200:
                return response
            personal = current_user.is_authenticated or session.modified
            response.headers["Cache-Control"] = "private, no-cache" if personal else f"public, max-age={max_age}"
            response.vary.update(("Cookie", "Accept-Language"))
            response.add_etag()
            return response.make_conditional(request.environ)

        return wrapped

    return decorator


def registration_limit():
    return current_app.config.get("PORTAL_REGISTER_RATE_LIMIT", "3 per minute;20 per hour")


def form_limit():
    return current_app.config.get("PORTAL_FORM_RATE_LIMIT", "5 per minute;30 per hour")


limit_registration = limiter.limit(registration_limit, methods=["POST"])
limit_forms = limiter.limit(form_limit, methods=["POST"])
