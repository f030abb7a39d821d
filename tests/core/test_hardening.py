"""Web hardening: security headers, caching of non-public answers, inline scripts, password
policy, session lifetime, generic error pages."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from flask import request
from sqlalchemy import select

from core import create_app
from core.auth import ADMIN, COMMANDER, VIEWER, LoginSession, User
from core.extensions import db as _db
from tests.conftest import log_in
from tests.public_site.portal_helpers import portal, register  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parents[2]
GOOD_PRODUCTION = {
    "APP_ENV": "production",
    "SECRET_KEY": "s" * 40,
    "SECURITY_PASSWORD_SALT": "t" * 40,
}


def csp_directives(response) -> dict[str, list[str]]:
    policy = response.headers["Content-Security-Policy"]
    return {
        part.split()[0]: part.split()[1:] for part in (p.strip() for p in policy.split(";")) if part
    }


def assert_security_headers(response):
    csp = csp_directives(response)
    assert csp["script-src"] == ["'self'"]  # no 'unsafe-inline', no 'unsafe-eval', no other origin
    assert csp["default-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["style-src"] == ["'self'"] and "style-src-attr" not in csp  # no inline styles at all
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/login",
        "/portal/",
        "/api/openapi.json",
        "/api/docs",
        "/healthz",
        "/static/css/app.css",
        "/no-such-page",
        "/api/v1/no-such-thing",
    ],
)
def test_every_answer_carries_the_security_headers(client, path):
    assert_security_headers(client.get(path))


def test_errors_and_refusals_carry_them_too(client):
    assert_security_headers(client.get("/api/v1/me"))  # 401 problem+json
    assert_security_headers(client.post("/healthz"))  # 405


def test_hsts_only_in_production(client, tmp_path):
    assert "Strict-Transport-Security" not in client.get("/").headers
    app = create_app(
        {**GOOD_PRODUCTION, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.db'}"}
    )
    with app.app_context():
        _db.create_all()
    hsts = (
        app.test_client()
        .get("/healthz", base_url="https://localhost")
        .headers["Strict-Transport-Security"]
    )
    assert re.fullmatch(r"max-age=(\d+); includeSubDomains", hsts)
    assert int(hsts.split("=")[1].split(";")[0]) >= 180 * 24 * 3600


@pytest.mark.parametrize(
    "path", ["/", "/agencies", "/admin/audit", "/api/v1/me", "/api/v1/agencies"]
)
def test_pages_and_api_answers_with_agency_data_are_not_stored(client, login_as, path):
    login_as(ADMIN)
    response = client.get(path)
    assert response.status_code == 200, path
    assert response.headers["Cache-Control"] == "no-store"


def test_login_page_and_refusals_are_not_stored(client):
    assert client.get("/login").headers["Cache-Control"] == "no-store"
    assert client.get("/api/v1/me").headers["Cache-Control"] == "no-store"


def test_public_portal_keeps_its_etag_caching(client):
    first = client.get("/portal/")
    assert first.headers["Cache-Control"].startswith("public, max-age=")
    assert first.headers["ETag"]
    again = client.get("/portal/", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


def test_signed_in_readers_of_the_portal_are_not_served_from_a_shared_cache(client, login_as):
    login_as(VIEWER)
    assert "public" not in client.get("/portal/").headers["Cache-Control"]


def test_static_files_keep_conditional_caching(client):
    response = client.get("/static/css/app.css")
    assert "no-store" not in response.headers.get("Cache-Control", "")
    assert response.headers.get("ETag") or response.headers.get("Last-Modified")


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)
JS_URL = re.compile(r"""(href|src|action)\s*=\s*["']\s*javascript:""", re.I)
STYLE = re.compile(r"<style\b|<[^>]+\sstyle\s*=", re.I)  # the policy allows neither


def templates() -> list[Path]:
    return [p for p in ROOT.glob("**/templates/**/*.html") if ".venv" not in p.parts]


def test_no_template_has_an_inline_script_event_handler_or_style():
    assert len(templates()) > 30
    offenders = [
        (str(p.relative_to(ROOT)), pattern.pattern)
        for p in templates()
        for pattern in (INLINE_SCRIPT, HANDLER, JS_URL, STYLE)
        if pattern.search(p.read_text())
    ]
    assert offenders == []


def test_api_docs_start_swagger_ui_from_a_static_script(client):
    page = client.get("/api/docs").text
    assert not INLINE_SCRIPT.search(page)
    assert 'data-spec-url="/api/openapi.json"' in page
    assert client.get("/static/js/swagger_init.js").status_code == 200


def test_forwarded_headers_are_believed_only_from_configured_proxies(tmp_path):
    def client_address(trusted: int) -> str:
        app = create_app(
            {
                "APP_ENV": "development",
                "TRUSTED_PROXIES": trusted,
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / f'{trusted}.db'}",
            }
        )
        app.add_url_rule("/whoami", "whoami", lambda: request.remote_addr)
        return (
            app.test_client()
            .get(
                "/whoami",
                headers={"X-Forwarded-For": "203.0.113.7"},
                environ_base={"REMOTE_ADDR": "10.0.0.2"},
            )
            .text
        )

    assert client_address(0) == "10.0.0.2"
    assert client_address(1) == "203.0.113.7"


# Password policy -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "password", ["password123", "1234567890", "qwertyuiop", "Ent@Example.org", "ent-example-org"]
)
def test_common_or_email_based_passwords_are_refused_at_registration(client, app, portal, password):  # noqa: F811
    response = register(client, portal, password=password, password_confirm=password)
    assert response.status_code == 422
    assert "太容易被猜到" in response.text
    with app.app_context():
        assert _db.session.scalar(select(User).filter_by(email="ent@example.org")) is None


def test_short_password_is_refused_and_a_strong_one_accepted(client, app, portal):  # noqa: F811
    assert register(client, portal, password="Sh0rt!", password_confirm="Sh0rt!").status_code == 422
    assert (
        register(
            client, portal, password="Tarmac-Violin-Harbor", password_confirm="Tarmac-Violin-Harbor"
        ).status_code
        == 302
    )


def test_policy_names_length_and_guessability(app):
    from core.passwords import password_problems

    with app.test_request_context():
        assert password_problems("Tarmac-Violin-Harbor", email="a@example.org") == []
        assert password_problems("short", email="a@example.org")
        assert password_problems("wang.lei.2026", email="wang.lei@example.org", name="Wang Lei")
        assert password_problems("iloveyou12", email="a@example.org")


def test_users_create_refuses_a_weak_password(app, db):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["users", "create", "weak@example.org", "--role", "viewer"],
        input="password123\npassword123\n",
    )
    assert result.exit_code != 0
    with app.app_context():
        assert _db.session.scalar(select(User).filter_by(email="weak@example.org")) is None


# Sessions -------------------------------------------------------------------------------------


def test_session_ends_at_its_absolute_lifetime_even_when_active(app, client, make_user):
    user = make_user(COMMANDER)
    log_in(client, user["email"])
    assert client.get("/api/v1/me").status_code == 200
    with app.app_context():
        for row in _db.session.execute(select(LoginSession)).scalars():
            row.expires_at = row.created_at  # as if PERMANENT_SESSION_LIFETIME had passed
            row.last_seen_at = row.created_at
        _db.session.commit()
    assert client.get("/api/v1/me").status_code == 401


def test_session_lifetimes_are_short(app):
    assert app.config["PERMANENT_SESSION_LIFETIME"] <= timedelta(hours=12)
    assert app.config["SESSION_IDLE_TIMEOUT"] <= timedelta(hours=1)
    assert app.config["SECURITY_DEFAULT_REMEMBER_ME"] is False


def test_activity_keeps_a_session_alive_within_its_lifetime(app, client, make_user):
    user = make_user(VIEWER)
    log_in(client, user["email"])
    with app.app_context():
        for row in _db.session.execute(select(LoginSession)).scalars():
            row.last_seen_at -= app.config["SESSION_IDLE_TIMEOUT"] - timedelta(minutes=5)
        _db.session.commit()
    assert client.get("/api/v1/me").status_code == 200
    with app.app_context():
        row = _db.session.execute(select(LoginSession)).scalars().first()
        assert row.last_seen_at > row.created_at  # the request counted as activity


# Error pages ----------------------------------------------------------------------------------


@pytest.fixture
def failing_app(tmp_path):
    app = create_app(
        {"APP_ENV": "development", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'e.db'}"}
    )
    with app.app_context():
        _db.create_all()

    def explode():
        raise RuntimeError("secret-internal-detail in /srv/app/core/x.py line 42")

    app.add_url_rule("/boom", "boom", explode)
    app.add_url_rule("/api/v1/boom", "api_boom", explode)
    return app


def test_an_unexpected_error_shows_a_generic_page_without_a_trace(failing_app):
    response = failing_app.test_client().get("/boom")
    assert response.status_code == 500
    assert "text/html" in response.content_type
    for leak in ("Traceback", "secret-internal-detail", "RuntimeError", ".py", "Werkzeug Debugger"):
        assert leak not in response.text
    assert response.headers["X-Request-ID"] in response.text  # what the user quotes to support
    assert_security_headers(response)


def test_an_unexpected_api_error_is_a_generic_problem(failing_app):
    response = failing_app.test_client().get("/api/v1/boom")
    assert response.status_code == 500 and response.mimetype == "application/problem+json"
    body = response.get_json()
    assert set(body) <= {"type", "title", "status", "instance", "request_id", "detail"}
    assert "secret-internal-detail" not in response.text and "Traceback" not in response.text


def test_not_found_page_is_generic(client):
    response = client.get("/definitely/not/here", headers={"Accept": "text/html"})
    assert response.status_code == 404 and "Traceback" not in response.text
