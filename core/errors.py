"""Domain exceptions and the one place that turns any error into a response.

API requests (under /api/ or asking for JSON) get RFC 9457 `application/problem+json`;
browser requests get a generic HTML page. Services raise `DomainError` subclasses and never
build responses themselves.
"""

import errno
import logging

from flask import g, jsonify, make_response, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError
from sqlalchemy.exc import DataError, DisconnectionError, OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

TITLES = {
    400: _l("Bad request"),
    401: _l("Authentication required"),
    403: _l("Forbidden"),
    404: _l("Not found"),
    405: _l("Method not allowed"),
    409: _l("Conflict"),
    413: _l("Request too large"),
    415: _l("Unsupported media type"),
    422: _l("Unprocessable request"),
    429: _l("Too many requests"),
    500: _l("Internal server error"),
    503: _l("Service unavailable"),
}


class DomainError(Exception):
    """A rule of the domain refused the request. `code` names the problem type."""

    status = 422
    code = "unprocessable"

    def __init__(self, detail: str, *, errors: dict | None = None):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors


class NotFound(DomainError):
    status, code = 404, "not-found"


class NotAllowed(DomainError):
    status, code = 403, "not-allowed"


class Conflict(DomainError):
    status, code = 409, "conflict"


class Invalid(DomainError):
    status, code = 422, "invalid"


def wants_problem_json() -> bool:
    if request.path.startswith("/api/") or request.is_json:
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json", PROBLEM_JSON])
    return best in ("application/json", PROBLEM_JSON)


def problem_response(
    status: int,
    *,
    detail: str | None = None,
    code: str | None = None,
    errors: dict | None = None,
    headers: dict | None = None,
):
    title = str(TITLES.get(status, _l("Error")))
    if wants_problem_json():
        body = {
            "type": f"urn:emreserve:problem:{code}" if code else "about:blank",
            "title": title,
            "status": status,
            "instance": request.path,
            "request_id": g.get("request_id"),
        }
        if detail:
            body["detail"] = detail
        if errors:
            body["errors"] = errors
        response = jsonify(body)
        response.mimetype = PROBLEM_JSON
    else:
        response = make_response(
            render_template("core/error.html", status=status, title=title, detail=detail)
        )
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def handle_http_exception(exc: HTTPException):
    if (
        exc.code == 429 and exc.response is not None
    ):  # a limit's own answer (e.g. the form again, as typed)
        return exc.response
    data = getattr(exc, "data", None) or {}
    errors = data.get("errors") or data.get("messages")
    # webargs nests errors by location ("json", "query"); keep that: it tells the client where.
    headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
    headers.update(data.get("headers") or {})
    detail = data.get("message") or _detail_for(exc)
    return problem_response(exc.code or 500, detail=detail, errors=errors, headers=headers)


def _detail_for(exc: HTTPException) -> str | None:
    if exc.code == 422:
        return _("The request did not pass validation; see errors.")
    if exc.code == 405:
        return _(
            "Allowed methods: %(allowed)s",
            allowed=", ".join(getattr(exc, "valid_methods", None) or []),
        )
    if exc.code == 429:
        return _("Too many attempts; wait and try again.")
    if exc.code == 413:
        return _("The upload is larger than this server accepts.")
    return None


def handle_domain_error(exc: DomainError):
    return problem_response(exc.status, detail=exc.detail, code=exc.code, errors=exc.errors)


def handle_validation_error(exc: ValidationError):
    return problem_response(
        422,
        detail=_("The request did not pass validation; see errors."),
        code="invalid",
        errors=exc.normalized_messages(),
    )


def handle_out_of_range(exc: Exception):
    """A number (or text) the database cannot hold came from the request: SQLite's driver raises
    OverflowError past 64 bits, PostgreSQL DataError past a column's type. The client's error."""
    return problem_response(
        422, detail=_("The request did not pass validation; see errors."), code="invalid"
    )


def handle_database_unavailable(exc: Exception):
    """The database went away, refused the connection, is locked or full: nothing was committed
    (the session is rolled back when the request ends); the client may retry."""
    log.error(
        "database unavailable (request %s): %s", g.get("request_id"), str(exc).splitlines()[0][:300]
    )
    return problem_response(
        503,
        detail=_("The database is unavailable; nothing was changed. Try again shortly."),
        code="database-unavailable",
        headers={"Retry-After": "5"},
    )


def handle_storage_full(exc: OSError):
    if exc.errno != errno.ENOSPC:
        return handle_unexpected(exc)
    log.error("no space left on device (request %s): %s", g.get("request_id"), exc)
    return problem_response(
        503,
        detail=_(
            "The server has no space left to store this; nothing was changed. Try again later."
        ),
        code="storage-full",
        headers={"Retry-After": "60"},
    )


def handle_unexpected(exc: Exception):
    if isinstance(exc, HTTPException):
        return handle_http_exception(exc)
    log.exception("unhandled error (request %s)", g.get("request_id"))
    return problem_response(500, detail=_("Something went wrong on our side; it has been logged."))


def init_errors(app):
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(ValidationError, handle_validation_error)
    app.register_error_handler(OperationalError, handle_database_unavailable)
    app.register_error_handler(DisconnectionError, handle_database_unavailable)
    app.register_error_handler(OSError, handle_storage_full)
    app.register_error_handler(InternalServerError, handle_unexpected)
    app.register_error_handler(OverflowError, handle_out_of_range)
    app.register_error_handler(DataError, handle_out_of_range)
    app.register_error_handler(Exception, handle_unexpected)
