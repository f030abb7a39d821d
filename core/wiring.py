"""What create_app wires, kept out of __init__ so the factory reads as a table of contents."""

import functools
import os
import re
import uuid

from flask import abort, current_app, g, has_request_context, request, session
from flask_login import current_user
from flask_security import SQLAlchemyUserDatastore
from flask_security.decorators import default_unauthn_handler
from flask_security.views import default_render_json
from sqlalchemy import event
from werkzeug.routing import IntegerConverter

from . import audit, auth, errors, gate, hardening, idempotency, metrics, tokens  # noqa: F401
from . import background, export_jobs, outbox  # noqa: F401 (their tables)
from .exchange import models as exchange_models  # noqa: F401 (its tables)
from . import features, roles
from .extensions import api, babel, csrf, db, limiter, migrate, security


def FEATURES():  # noqa: N802  (a list, built on first use so the features load after core)
    """The feature packages the app is made of, in registration order. The only place core
    names them: everything else a feature adds comes through its `Feature` (core/features.py)."""
    from dispatch.feature import FEATURE as dispatch
    from public_site.feature import FEATURE as public_site
    from reserve.feature import FEATURE as reserve

    return (reserve, dispatch, public_site)


REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
MAX_ID = 2**63 - 1  # the largest integer SQLite and PostgreSQL (bigint) store


class IdConverter(IntegerConverter):
    """`<int:...>` of every route: a number no database integer can hold names no record (404);
    unbounded, it reached the driver and failed there (OverflowError, a 500)."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def _sqlite_pragmas(dbapi_connection, _record):
    # pysqlite's own transaction handling breaks SAVEPOINTs; we emit BEGIN ourselves (below).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(conn):
    # IMMEDIATE takes the write lock up front: a read-then-write transaction cannot be
    # overtaken between its read and its write (no lost updates, no oversell). A connection
    # marked `read_only` (the health check) begins deferred and never waits for a writer.
    if conn.get_execution_options().get("read_only"):
        conn.exec_driver_sql("BEGIN")
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def init_database(app):
    db.init_app(app)
    import migrations

    # The folder of the installed package, not ./migrations: `flask db upgrade` works from any
    # directory and from a wheel.
    migrate.init_app(
        app,
        db,
        directory=os.path.dirname(migrations.__file__),
        render_as_batch=True,
        compare_type=True,
    )
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
            event.listen(engine, "begin", _sqlite_begin)
    audit.install_audit_hooks()


def select_locale():
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    if request.path.startswith("/api/"):
        best = request.accept_languages.best_match(["zh", "zh-CN", "en"], default="zh")
        return "en" if best == "en" else "zh_Hans_CN"
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def _unauthenticated(mechanisms=None, headers=None):
    if errors.wants_problem_json():
        abort(401)
    return default_unauthn_handler(mechanisms, headers)


def _unauthorized(func_name, params):
    abort(403)


def _render_security_json(payload, code, headers, user):
    """Flask-Security's JSON answers; its errors (bad CSRF token, bad login) as problem+json."""
    if code < 400:
        return default_render_json(payload, code, headers, user)
    messages = [str(m) for m in payload.get("errors") or []]
    extra = {k: v for k, v in (headers or {}).items() if k.lower() != "content-type"}
    return errors.problem_response(
        code, detail=" ".join(messages) or None, errors=payload.get("field_errors"), headers=extra
    )


@functools.cache
def _rate_limited(login_view):
    """The login view under LOGIN_RATE_LIMIT. Cached: Flask-Limiter registers limits by view
    name, so wrapping the same view again for a second app would count every attempt twice."""
    return limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])(
        login_view
    )


def init_security(app):
    # The server-side session check must run before Flask-Principal's before_request (installed
    # by Flask-Security), which loads the user from the cookie.
    auth.init_auth(app)
    csrf.init_app(app)  # before Flask-Security, which checks for it
    datastore = SQLAlchemyUserDatastore(db, auth.User, auth.Role)
    security.init_app(app, datastore, login_form=auth.LoginForm)
    security.unauthn_handler(_unauthenticated)
    security.unauthz_handler(_unauthorized)
    security.render_json(_render_security_json)
    limiter.init_app(app)
    app.view_functions["security.login"] = _rate_limited(app.view_functions["security.login"])
    from . import accounts

    accounts.init_accounts(app)  # the forced password change, after the login-session check


def assign_request_id():
    incoming = request.headers.get("X-Request-ID", "")
    g.request_id = incoming if REQUEST_ID.match(incoming) else uuid.uuid4().hex


def remember_actor():
    """Record who acts on this request, for the audit log (loaded once, before any flush)."""
    if request.endpoint == "static":
        return
    if current_user.is_authenticated:
        g.audit_actor = audit.Actor(current_user.id, current_user.agency_id, current_user.email)


def echo_request_id(response):
    response.headers["X-Request-ID"] = g.get("request_id", "")
    return response


def init_extensions(app):
    from .logs import init_logging

    init_logging(app)
    app.url_map.converters["int"] = IdConverter  # before any route is added
    init_database(app)
    babel.init_app(app, locale_selector=select_locale)
    app.before_request(assign_request_id)
    tokens.init_tokens(app)  # a token outside the header is refused before any user is loaded
    metrics.init_metrics(app)
    init_security(app)  # registers the login-session check (before_request) after the request id
    app.before_request(remember_actor)
    gate.init_gate(app)  # suppliers' accounts stop here on every registry route
    api.init_app(app)
    errors.init_errors(app)  # after api: our problem+json handler replaces flask-smorest's
    features.install(app, roles.features_of(roles.role(app), FEATURES()))
    for feature in features.registered(app):
        feature.init(
            app
        )  # e.g. external clients' scope and rate-limit check, before Idempotency-Key storage
    idempotency.init_idempotency(app)
    app.after_request(echo_request_id)
    hardening.init_hardening(app)
    from .views import template_globals

    app.context_processor(template_globals)


def register_blueprints(app):
    from . import accounts_api, accounts_views, export_jobs_api, export_jobs_views
    from . import api as core_api
    from . import views

    api.register_blueprint(core_api.blp)
    api.register_blueprint(accounts_api.blp)
    app.register_blueprint(accounts_views.bp)
    api.register_blueprint(export_jobs_api.blp)
    app.register_blueprint(export_jobs_views.bp)
    app.register_blueprint(views.bp)
    for feature in features.registered(app):
        feature.blueprints(app, api)
    roles.add_outside_home(app)


def register_cli(app):
    from . import cli

    cli.register(app)
