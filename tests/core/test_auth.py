"""Login, logout, cookie replay, CSRF, API tokens, rate limiting, idle timeout, roles."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from core.auth import ADMIN, COMMANDER, OPERATOR, SUPPLIER, VIEWER, LoginSession, User
from core.extensions import db as _db
from tests.conftest import PASSWORD, csrf_token, log_in


def test_login_shows_home_with_the_users_roles(client, make_user):
    user = make_user(COMMANDER)
    response = log_in(client, user["email"])
    assert response.status_code == 302
    home = client.get("/")
    assert user["email"] in home.text
    assert "应急指挥人员" in home.text  # role label, Chinese by default


def test_wrong_password_does_not_log_in(client, make_user):
    user = make_user(VIEWER)
    response = log_in(client, user["email"], password="wrong-password-1")
    assert response.status_code == 200
    assert client.get("/api/v1/me").status_code == 401


def test_passwords_are_stored_as_argon2_hashes(app, make_user):
    user = make_user(VIEWER)
    with app.app_context():
        assert _db.session.get(User, user["id"]).password.startswith("$argon2")


def test_login_form_without_csrf_token_is_refused(client, make_user):
    user = make_user(VIEWER)
    response = client.post("/login", data={"email": user["email"], "password": PASSWORD})
    assert response.status_code != 302
    assert client.get("/api/v1/me").status_code == 401


def test_cookie_captured_before_logout_does_not_work_after(app, client, make_user):
    user = make_user(OPERATOR)
    log_in(client, user["email"])
    captured = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    assert client.get("/api/v1/me").status_code == 200

    home = client.get("/")
    assert client.post("/logout", data={"csrf_token": csrf_token(home.text)}).status_code == 302
    assert client.get("/api/v1/me").status_code == 401

    client.set_cookie(app.config["SESSION_COOKIE_NAME"], captured)
    assert client.get("/api/v1/me").status_code == 401


def test_idle_session_expires(app, client, make_user):
    user = make_user(VIEWER)
    log_in(client, user["email"])
    with app.app_context():
        for row in _db.session.execute(select(LoginSession)).scalars():
            row.last_seen_at -= app.config["SESSION_IDLE_TIMEOUT"] + timedelta(minutes=1)
        _db.session.commit()
    assert client.get("/api/v1/me").status_code == 401


def test_session_cookie_flags(app, client, make_user):
    user = make_user(VIEWER)
    response = log_in(client, user["email"])
    cookie = next(
        c
        for c in response.headers.getlist("Set-Cookie")
        if c.startswith(app.config["SESSION_COOKIE_NAME"])
    )
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_remember_me_is_not_offered(client):
    assert 'name="remember"' not in client.get("/login").text


def test_session_json_post_needs_csrf_header(client, login_as):
    login_as(ADMIN)
    body = {"code": "X-1", "name": "新单位", "kind": "city"}
    refused = client.post("/api/v1/agencies", json=body)
    assert refused.status_code == 400
    assert refused.mimetype == "application/problem+json"
    token = csrf_token(client.get("/").text)
    assert (
        client.post("/api/v1/agencies", json=body, headers={"X-CSRF-Token": token}).status_code
        == 201
    )


def test_api_token_authenticates_without_csrf_and_can_be_revoked(app, client, make_user):
    user = make_user(ADMIN)
    runner = app.test_cli_runner()
    token = runner.invoke(args=["users", "token", user["email"]]).output.strip()
    headers = {"Authentication-Token": token}
    assert client.get("/api/v1/me", headers=headers).json["email"] == user["email"]
    created = client.post(
        "/api/v1/agencies",
        json={"code": "T-1", "name": "令牌创建", "kind": "city"},
        headers=headers,
    )
    assert created.status_code == 201

    assert runner.invoke(args=["users", "revoke-tokens", user["email"]]).exit_code == 0
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_login_is_rate_limited(app, client, make_user, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "3 per minute")
    user = make_user(VIEWER)
    statuses = [
        log_in(client, user["email"], password="wrong-password-1").status_code for _ in range(4)
    ]
    assert statuses[:3] == [200, 200, 200]
    assert statuses[3] == 429
    # even the right password is refused while the limit holds
    assert log_in(client, user["email"]).status_code == 429


@pytest.mark.parametrize(
    "role, status",
    [(ADMIN, 200), (OPERATOR, 403), (COMMANDER, 403), (VIEWER, 403), (SUPPLIER, 403)],
)
def test_only_administrators_read_the_audit_log(client, login_as, role, status):
    login_as(role)
    response = client.get("/api/v1/audit")
    assert response.status_code == status
    if status == 403:
        assert response.mimetype == "application/problem+json"


def test_anonymous_api_call_gets_401_problem(client):
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.json["status"] == 401


def test_anonymous_page_redirects_to_login(client):
    response = client.get("/agencies")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
