"""Logging out needs the page's CSRF token (issue 15, item 8): a cross-site form cannot sign a
user out, the menu's 退出登录 form still does."""

from core.auth import OPERATOR
from tests.conftest import csrf_token, log_in


def signed_in(client, make_user):
    user = make_user(OPERATOR)
    assert log_in(client, user["email"]).status_code == 302
    assert client.get("/api/v1/me").status_code == 200


def test_logout_without_a_csrf_token_signs_nobody_out(client, make_user):
    signed_in(client, make_user)
    page = client.post("/logout")
    assert page.status_code == 200 and "退出登录" in page.text
    assert 'name="csrf_token"' in page.text  # the confirmation carries the token
    assert client.get("/api/v1/me").status_code == 200
    assert client.post("/logout", data={"csrf_token": "forged"}).status_code == 200
    assert client.get("/api/v1/me").status_code == 200
    refused = client.post("/logout", json={}, headers={"Accept": "application/json"})
    assert refused.status_code == 400
    assert client.get("/api/v1/me").status_code == 200


def test_the_menus_logout_form_signs_out(client, make_user):
    signed_in(client, make_user)
    home = client.get("/")
    assert 'action="/logout"' in home.text
    assert client.post("/logout", data={"csrf_token": csrf_token(home.text)}).status_code == 302
    assert client.get("/api/v1/me").status_code == 401


def test_the_confirmation_page_signs_out(client, make_user):
    signed_in(client, make_user)
    page = client.post("/logout")
    assert client.post("/logout", data={"csrf_token": csrf_token(page.text)}).status_code == 302
    assert client.get("/api/v1/me").status_code == 401
