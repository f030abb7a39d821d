"""The two deployment roles (issue 21): the extranet's app serves the portal and nothing of the
registry or of the staff; the private network's app serves everything but the public pages.
Checked on the URL map, the OpenAPI document and real requests."""

import re

import pytest

from core import create_app
from core.extensions import db
from core.scheduler import jobs

STAFF_PAGES = ("/", "/depots", "/warnings", "/incidents", "/admin/users", "/exports", "/todos")
STAFF_API = ("/api/v1/depots", "/api/v1/stock", "/api/v1/users", "/api/v1/warnings")
PUBLIC_PAGES = (
    "/portal/",
    "/portal/board",
    "/portal/notices",
    "/portal/suppliers",
    "/portal/register",
)


def _role_app(tmp_path_factory, role):
    url = "sqlite:///" + str(tmp_path_factory.mktemp(role) / f"{role}.db")
    app = create_app({"APP_ENV": "test", "SQLALCHEMY_DATABASE_URI": url, "DEPLOYMENT_ROLE": role})
    with app.app_context():
        db.create_all()
    return app


@pytest.fixture(scope="module")
def public_app(tmp_path_factory):
    app = _role_app(tmp_path_factory, "public")
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="module")
def internal_app(tmp_path_factory):
    app = _role_app(tmp_path_factory, "internal")
    yield app
    with app.app_context():
        db.engine.dispose()


PUBLIC_RULES = re.compile(
    r"^/(portal(/(?!admin(/|$)).*)?|api/v1/public(/.*)?|api/v1/portal/suppliers/me|static/.*|"
    r"fs-static/.*|lang/.*|login|logout|change|reset(/.*)?|verify|healthz|metrics|version|"
    r"api/openapi\.json|api/docs.*)?$"
)


def test_the_extranet_serves_no_staff_or_registry_route(public_app):
    rules = sorted(rule.rule for rule in public_app.url_map.iter_rules())
    assert [rule for rule in rules if not PUBLIC_RULES.match(rule)] == []
    assert "/portal/register" in rules and "/api/v1/public/overview" in rules


def test_the_extranet_documents_only_the_public_api(public_app):
    paths = public_app.test_client().get("/api/openapi.json").get_json()["paths"]
    assert paths and all(
        p.startswith("/api/v1/public/") or p == "/api/v1/portal/suppliers/me" for p in paths
    )


@pytest.mark.parametrize("path", STAFF_PAGES[1:] + STAFF_API)
def test_the_extranet_answers_404_to_staff_routes(public_app, path):
    assert public_app.test_client().get(path).status_code == 404


def test_the_extranet_leads_from_its_root_to_the_portal(public_app):
    response = public_app.test_client().get("/")
    assert response.status_code == 302 and response.location.endswith("/portal/")


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_the_extranet_shows_the_public_pages(public_app, path):
    response = public_app.test_client().get(path)
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]


def test_the_extranet_runs_no_registry_job(public_app):
    names = {job.id for job in jobs(public_app)}
    assert {"exchange-send", "exchange-receive"} <= names
    assert not [n for n in names if n.startswith(("warning", "report", "sharing", "digest"))]


@pytest.mark.parametrize("path", PUBLIC_PAGES + ("/api/v1/public/overview", "/portal/enterprise"))
def test_the_private_network_does_not_serve_the_public_pages(internal_app, path):
    assert internal_app.test_client().get(path).status_code == 404


def test_the_private_network_keeps_the_portal_desk(internal_app):
    rules = {rule.rule for rule in internal_app.url_map.iter_rules()}
    assert {"/portal/admin/suppliers", "/portal/documents/<int:document_id>", "/depots"} <= rules
    paths = internal_app.test_client().get("/api/openapi.json").get_json()["paths"]
    assert "/api/v1/portal/suppliers" in paths
    assert not [p for p in paths if p.startswith("/api/v1/public") or p.endswith("suppliers/me")]


def test_the_combined_role_serves_both(app):
    rules = {rule.rule for rule in app.url_map.iter_rules()}
    assert {"/portal/", "/portal/admin/suppliers", "/depots", "/"} <= rules
