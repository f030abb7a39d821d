"""Where an API token may travel: the `Authentication-Token` header, nowhere else.

Flask-Security also reads a token from the query string (`?auth_token=`, the key is
SECURITY_TOKEN_AUTHENTICATION_KEY) and from the `auth_token` field of a JSON body. A token in a
URL lands in access logs (ours, gunicorn's, the reverse proxy's), browser history and Referer
headers, and each extra way in is one more way around checks keyed to the header. So:

- `redact_environ` (WSGI, before Flask parses anything): the value of an `auth_token` query
  parameter is replaced in QUERY_STRING, RAW_URI and REQUEST_URI. gunicorn's access log reads
  the same environ after the answer, so it logs the redacted form; the token never reaches the
  application at all.
- `refuse_misplaced_token` (the first before_request): a request with `auth_token` in its query
  or its JSON body is refused with 400 before any user is loaded, whatever else it carries.
- `RedactingFilter`: werkzeug's development server logs the raw request line; the filter on its
  logger redacts it there too.
"""

import logging
import re
from urllib.parse import unquote_plus

from flask import current_app, request
from flask_babel import gettext as _

from .errors import problem_response

DEFAULT_KEY = "auth_token"
REDACTED = "[redacted]"


def redact_query(query: str, key: str = DEFAULT_KEY) -> str:
    """`query` with the value of every `key` parameter replaced (the key compared decoded, as
    werkzeug reads it: `auth%5Ftoken` is `auth_token` too)."""
    if not query:
        return query
    parts = query.split("&")
    changed = False
    for n, part in enumerate(parts):
        name = part.split("=", 1)[0]
        if unquote_plus(name).strip() == key:
            parts[n], changed = f"{key}={REDACTED}", True
    return "&".join(parts) if changed else query


def _redact_uri(uri: str, key: str) -> str:
    path, mark, query = uri.partition("?")
    return path + mark + redact_query(query, key) if mark else uri


class TokenRedactingMiddleware:
    """WSGI middleware: no `auth_token` query value survives into the app or the access log."""

    def __init__(self, wsgi_app, key: str = DEFAULT_KEY):
        self.wsgi_app, self.key = wsgi_app, key

    def __call__(self, environ, start_response):
        redact_environ(environ, self.key)
        return self.wsgi_app(environ, start_response)


def redact_environ(environ: dict, key: str = DEFAULT_KEY) -> None:
    environ["QUERY_STRING"] = redact_query(environ.get("QUERY_STRING", ""), key)
    for name in ("RAW_URI", "REQUEST_URI"):
        if name in environ:
            environ[name] = _redact_uri(environ[name], key)


def _token_key() -> str:
    return current_app.config.get("SECURITY_TOKEN_AUTHENTICATION_KEY") or DEFAULT_KEY


def is_misplaced_token(key: str) -> bool:
    """True when this request offers a token anywhere but the header."""
    if key in request.args:
        return True
    if request.is_json:
        body = request.get_json(silent=True)
        return isinstance(body, dict) and key in body
    return False


def refuse_misplaced_token():
    """before_request: refuse (400) a token in the query string or the JSON body."""
    if not is_misplaced_token(_token_key()):
        return None
    header = current_app.config["SECURITY_TOKEN_AUTHENTICATION_HEADER"]
    return problem_response(
        400,
        detail=_(
            "Send the API token in the %(header)s header only, never in the URL "
            "or the request body.",
            header=header,
        ),
        code="token-not-in-header",
    )


class RedactingFilter(logging.Filter):
    """Redacts `auth_token=...` in a log record's message and arguments."""

    PATTERN = re.compile(r"(auth(?:_|%5[fF])token=)[^&\s\"']*", re.IGNORECASE)

    def _clean(self, value):
        return self.PATTERN.sub(r"\1" + REDACTED, value) if isinstance(value, str) else value

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self._clean(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(self._clean(arg) for arg in record.args)
        return True


def init_tokens(app) -> None:
    """Call before any other before_request is registered, so the refusal runs first."""
    app.wsgi_app = TokenRedactingMiddleware(
        app.wsgi_app, app.config.get("SECURITY_TOKEN_AUTHENTICATION_KEY") or DEFAULT_KEY
    )
    app.before_request(refuse_misplaced_token)
    for name in ("werkzeug", "gunicorn.access", "gunicorn.error"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())
