"""Fixtures: `app` (once per database: SQLite and PostgreSQL), `db` (each test inside a
transaction that is rolled back), `client`, `login_as(role, agency)`, `make_agency`.

No fixture keeps an application context pushed while the test client runs requests: a
request reuses a pushed context and its `g`, and a logged-in user would leak (DESIGN trap 9).
"""

import os
import re

import pytest
from flask_security import hash_password

from core import create_app
from core.extensions import db as _db
from core.extensions import limiter, security

PASSWORD = "Correct-Horse-9"
POSTGRES_SKIP = (
    "PostgreSQL run skipped: TEST_DATABASE_URL is not set (.ci/run sets it; locally: "
    "TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test make test)"
)


_OUTCOMES: dict[str, dict[str, int]] = {}


def _backend_of(nodeid: str) -> str:
    for backend in ("sqlite", "postgresql"):
        if f"[{backend}" in nodeid or f"-{backend}]" in nodeid or f"-{backend}-" in nodeid:
            return backend
    return "no database"


def pytest_runtest_logreport(report):
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        counts = _OUTCOMES.setdefault(_backend_of(report.nodeid), {})
        counts[report.outcome] = counts.get(report.outcome, 0) + 1


def pytest_terminal_summary(terminalreporter):
    terminalreporter.section("tests per database")
    for backend, counts in sorted(_OUTCOMES.items()):
        terminalreporter.write_line(
            f"{backend:<12} " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
        )


def database_url(backend: str, tmp_path_factory) -> str:
    if backend == "sqlite":
        return "sqlite:///" + str(tmp_path_factory.mktemp("sqlite") / "test.db")
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        pytest.skip(POSTGRES_SKIP)
    return url


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def app(request, tmp_path_factory):
    app = create_app(
        {
            "APP_ENV": "test",
            "SQLALCHEMY_DATABASE_URI": database_url(request.param, tmp_path_factory),
            "LOGIN_RATE_LIMIT": "10000 per minute",
        }
    )
    with app.app_context():
        _db.drop_all()
        _db.create_all()
        from core.demo import ensure_roles

        ensure_roles()
    yield app
    with app.app_context():
        _db.session.remove()
        _db.drop_all()
        _db.engine.dispose()


@pytest.fixture
def db(app):
    """Run the test inside one outer transaction, rolled back at the end (DESIGN trap 1).

    Every session of every request binds to this connection; their commits only release
    SAVEPOINTs (join_transaction_mode="create_savepoint")."""
    engines = _db._app_engines[app]
    engine = engines[None]
    connection = engine.connect()
    outer = connection.begin()
    engines[None] = connection
    limiter.reset()
    try:
        yield _db
    finally:
        with app.app_context():
            _db.session.remove()
        engines[None] = engine
        outer.rollback()
        connection.close()


@pytest.fixture
def client(app, db):
    return app.test_client()


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert match, "no CSRF token in the page"
    return match.group(1)


@pytest.fixture
def make_agency(app, db):
    from core.organisation import Agency

    def make(code: str, name: str | None = None, parent=None, kind: str = "city"):
        with app.app_context():
            parent_obj = _db.session.get(Agency, parent) if parent else None
            agency = Agency(code=code, name=name or code, kind=kind, parent=parent_obj)
            _db.session.add(agency)
            _db.session.flush()
            agency.path = f"{parent_obj.path if parent_obj else '/'}{agency.id}/"
            _db.session.commit()
            return agency.id

    return make


@pytest.fixture
def make_user(app, db):
    counter = iter(range(1, 10_000))

    def make(*roles: str, agency: int | None = None, email: str | None = None) -> dict:
        email = email or f"user{next(counter)}-{'-'.join(roles) or 'none'}@example.org"
        with app.app_context():
            user = security.datastore.create_user(
                email=email, password=hash_password(PASSWORD), roles=list(roles), agency_id=agency
            )
            _db.session.commit()
            return {"id": user.id, "email": email}

    return make


def log_in(client, email: str, password: str = PASSWORD):
    page = client.get("/login")
    return client.post(
        "/login", data={"email": email, "password": password, "csrf_token": csrf_token(page.text)}
    )


@pytest.fixture
def login_as(client, make_user):
    """Log the test client in as a new user with `role` in `agency`; returns the user's id and email."""

    def login(role: str, agency: int | None = None) -> dict:
        user = make_user(role, agency=agency)
        response = log_in(client, user["email"])
        assert response.status_code == 302, response.text
        return user

    return login


@pytest.fixture
def committed(app):
    """Data committed for real (threads need their own connections); every table is emptied after."""
    yield
    with app.app_context():
        _db.session.remove()
        with _db.engine.begin() as conn:
            for table in reversed(_db.metadata.sorted_tables):
                if table.name not in ("role",):
                    conn.execute(table.delete())
