"""OpenAPI document, problem+json for every error, pagination, Idempotency-Key, request ids."""

import re

import pytest
from openapi_spec_validator import validate
from sqlalchemy import func, select

from core.auth import ADMIN, OPERATOR
from core.extensions import db as _db
from core.organisation import Agency

PROBLEM_KEYS = {"type", "title", "status", "instance", "request_id"}


def assert_problem(response, status):
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    assert PROBLEM_KEYS <= set(response.json)
    assert response.json["status"] == status
    return response.json


@pytest.fixture
def admin_token(app, make_user):
    user = make_user(ADMIN)
    token = app.test_cli_runner().invoke(args=["users", "token", user["email"]]).output.strip()
    return {"Authentication-Token": token}


def test_openapi_document_is_valid_openapi_3(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    spec = response.json
    validate(spec)
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/agencies" in spec["paths"]
    assert "apiToken" in spec["components"]["securitySchemes"]


def test_no_two_routes_answer_the_same_path_and_method(app):
    """A second registration of a rule is unreachable (the first wins): it happened once,
    when dispatch plan versions shared GET /api/v1/plans/<id> with emergency plans."""
    seen = {}
    for rule in app.url_map.iter_rules():
        shape = re.sub(r"<[^>]*>", "<>", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (shape, method) not in seen, (
                f"{method} {rule.rule}: {seen[(shape, method)]} and {rule.endpoint}"
            )
            seen[(shape, method)] = rule.endpoint


def test_api_docs_load_only_local_assets(client):
    page = client.get("/api/docs")
    assert page.status_code == 200
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in page.text
    assert "cdn" not in page.text.lower()
    assert client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js").status_code == 200


def test_unknown_api_path_is_a_404_problem(client):
    problem = assert_problem(client.get("/api/v1/nothing-here"), 404)
    assert problem["instance"] == "/api/v1/nothing-here"
    assert problem["title"] == "未找到"  # Chinese by default


def test_problem_title_follows_accept_language(client):
    problem = assert_problem(
        client.get("/api/v1/nothing-here", headers={"Accept-Language": "en"}), 404
    )
    assert problem["title"] == "Not found"


def test_405_keeps_the_allow_header(client):
    response = client.delete("/api/v1/agencies")
    assert_problem(response, 405)
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}


def test_validation_errors_are_422_with_field_errors(client, admin_token):
    response = client.post(
        "/api/v1/agencies", json={"code": "!", "kind": "planet"}, headers=admin_token
    )
    problem = assert_problem(response, 422)
    fields = problem["errors"]["json"]
    assert {"code", "kind", "name"} <= set(fields)


def test_malformed_json_is_a_400_problem(client, admin_token):
    response = client.post(
        "/api/v1/agencies", data="{not json", content_type="application/json", headers=admin_token
    )
    assert response.status_code in (400, 422)
    assert response.mimetype == "application/problem+json"


def test_conflict_is_409(client, admin_token):
    body = {"code": "DUP-1", "name": "重复", "kind": "city"}
    assert client.post("/api/v1/agencies", json=body, headers=admin_token).status_code == 201
    assert_problem(client.post("/api/v1/agencies", json=body, headers=admin_token), 409)


def test_unexpected_error_is_a_500_problem_without_internals(client, admin_token, monkeypatch):
    from reserve import services

    def broken(*args, **kwargs):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(services, "list_agencies", broken)
    problem = assert_problem(client.get("/api/v1/agencies", headers=admin_token), 500)
    assert "secret" not in str(problem)


def test_request_too_large_is_a_413_problem(app, client, admin_token, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1000)
    body = {"code": "BIG-1", "name": "x" * 5000, "kind": "city"}
    assert_problem(client.post("/api/v1/agencies", json=body, headers=admin_token), 413)


def test_login_rate_limit_answers_429_problem_to_json_clients(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "1 per minute")
    client.post("/login", json={"email": "nobody@example.org", "password": "x"})
    response = client.post("/login", json={"email": "nobody@example.org", "password": "x"})
    assert_problem(response, 429)
    assert int(response.headers["Retry-After"]) > 0


def test_pagination(client, admin_token, make_agency):
    root = make_agency("PG")
    for i in range(5):
        make_agency(f"PG-{i}", parent=root)
    page = client.get("/api/v1/agencies?q=PG&per_page=2&page=2", headers=admin_token).json
    assert (page["total"], page["pages"], page["page"], len(page["items"])) == (6, 3, 2, 2)
    assert [a["code"] for a in page["items"]] == ["PG-1", "PG-2"]
    beyond = client.get("/api/v1/agencies?q=PG&per_page=2&page=9", headers=admin_token).json
    assert beyond["items"] == [] and beyond["total"] == 6
    assert_problem(client.get("/api/v1/agencies?per_page=500", headers=admin_token), 422)
    assert_problem(client.get("/api/v1/agencies?page=0", headers=admin_token), 422)


def _agency_count(app) -> int:
    with app.app_context():
        return _db.session.scalar(select(func.count(Agency.id)))


def test_idempotent_replay_creates_once(app, client, admin_token):
    headers = {**admin_token, "Idempotency-Key": "create-IK-1"}
    body = {"code": "IK-1", "name": "幂等", "kind": "city"}
    before = _agency_count(app)
    first = client.post("/api/v1/agencies", json=body, headers=headers)
    second = client.post("/api/v1/agencies", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.json == first.json
    assert second.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert _agency_count(app) == before + 1


def test_same_key_with_another_body_is_422_and_changes_nothing(app, client, admin_token):
    headers = {**admin_token, "Idempotency-Key": "k-2"}
    assert (
        client.post(
            "/api/v1/agencies",
            json={"code": "IK-2", "name": "甲单位", "kind": "city"},
            headers=headers,
        ).status_code
        == 201
    )
    before = _agency_count(app)
    problem = assert_problem(
        client.post(
            "/api/v1/agencies",
            json={"code": "IK-3", "name": "乙单位", "kind": "city"},
            headers=headers,
        ),
        422,
    )
    assert problem["type"].endswith("idempotency-key-reused")
    assert _agency_count(app) == before


def test_keys_are_scoped_per_client(app, client, make_user, admin_token):
    other = make_user(ADMIN)
    other_token = (
        app.test_cli_runner().invoke(args=["users", "token", other["email"]]).output.strip()
    )
    mine = client.post(
        "/api/v1/agencies",
        json={"code": "IK-4", "name": "甲单位", "kind": "city"},
        headers={**admin_token, "Idempotency-Key": "shared"},
    )
    theirs = client.post(
        "/api/v1/agencies",
        json={"code": "IK-5", "name": "乙单位", "kind": "city"},
        headers={"Authentication-Token": other_token, "Idempotency-Key": "shared"},
    )
    assert mine.status_code == theirs.status_code == 201
    assert mine.json["code"] != theirs.json["code"]


def test_refused_request_is_replayed_as_refused(app, client, make_user, make_agency):
    """A 4xx answer is stored too: retrying the same key does not suddenly succeed or differ."""
    other = make_agency("IK-OTHER")
    mine = make_agency("IK-MINE")
    user = make_user(OPERATOR, agency=mine)
    token = app.test_cli_runner().invoke(args=["users", "token", user["email"]]).output.strip()
    headers = {"Authentication-Token": token, "Idempotency-Key": "k-403"}
    body = {"code": "IK-X", "name": "越权", "kind": "county", "parent_id": other}
    assert client.post("/api/v1/agencies", json=body, headers=headers).status_code == 404
    again = client.post("/api/v1/agencies", json=body, headers=headers)
    assert again.status_code == 404 and again.headers["Idempotent-Replayed"] == "true"


def test_overlong_idempotency_key_is_400(client, admin_token):
    response = client.post(
        "/api/v1/agencies", json={}, headers={**admin_token, "Idempotency-Key": "k" * 201}
    )
    assert_problem(response, 400)


def test_request_id_is_echoed_or_made(client):
    assert (
        client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"]
        == "abc-123"
    )
    generated = client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"}).headers[
        "X-Request-ID"
    ]
    assert generated and " " not in generated


def test_html_errors_are_pages_not_json(client, login_as):
    login_as(OPERATOR)
    response = client.get("/admin/audit")
    assert response.status_code == 403
    assert response.mimetype == "text/html"
    assert "无权访问" in response.text
