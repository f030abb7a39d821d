"""Every way an API token can arrive (issue 15, item 1).

Flask-Security reads a token from the `Authentication-Token` header, the `auth_token` query
parameter and the `auth_token` field of a JSON body. Only the header is accepted: the other two
are refused with 400 (core/tokens.py), so an external client's scopes and rate limit
(reserve/sharing/clients.py) cannot be gone around, and a token never lands in a log.
"""

import logging
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core import tokens
from core.auth import ADMIN
from core.extensions import db as _db
from reserve.stock.models import Movement
from reserve.stock import ledger
from reserve.sharing import clients as sharing_clients
from tests import factories

HEADER = "Authentication-Token"


@pytest.fixture
def scene(app, db, make_agency, make_user):
    """A client of agency A with scope read:stock only, and a lot of A's it has no right to reserve."""
    agency = make_agency("TK-A")
    admin = make_user(ADMIN)
    with app.app_context():
        tent = factories.catalog_material("001", "单帐篷")
        depot = factories.depot(agency, "TK-D1")
        user = factories.user(admin["id"])
        lot = ledger.record_receipt(
            user,
            depot_id=depot.id,
            material_id=tent.id,
            quantity=100,
            facts=ledger.LotFacts(lot_no="TK-L1"),
        ).lot_id
        client, token = sharing_clients.register_client(
            user,
            name="只读库存系统",
            agency_id=agency,
            scopes=["read:stock"],
            rate_limit="5 per minute",
        )
        return {"lot": lot, "token": token, "client": client.id}


def movements(app) -> int:
    with app.app_context():
        count = _db.session.scalar(select(func.count()).select_from(Movement))
        _db.session.remove()
        return count


def test_header_token_meets_the_clients_scopes(client, scene):
    assert client.get("/api/v1/stock", headers={HEADER: scene["token"]}).status_code == 200
    refused = client.get("/api/v1/warnings", headers={HEADER: scene["token"]})
    assert refused.status_code == 403 and refused.json["type"].endswith(":scope")


@pytest.mark.parametrize("path", ["/api/v1/warnings", "/api/v1/stock", "/api/v1/me"])
def test_a_token_in_the_query_string_is_refused(client, scene, path):
    response = client.get(f"{path}?auth_token={scene['token']}")
    assert response.status_code == 400, response.text
    assert (
        response.json["type"].endswith("token-not-in-header") and HEADER in response.json["detail"]
    )
    assert scene["token"] not in response.text


def test_a_token_in_the_query_is_refused_even_with_a_valid_header(client, scene):
    response = client.get(
        f"/api/v1/stock?auth_token={scene['token']}", headers={HEADER: scene["token"]}
    )
    assert response.status_code == 400


def test_an_encoded_query_key_is_refused_too(client, scene):
    assert client.get(f"/api/v1/warnings?auth%5Ftoken={scene['token']}").status_code == 400


def test_a_token_in_a_json_body_is_refused(app, client, scene):
    before = movements(app)
    response = client.post(
        f"/api/v1/lots/{scene['lot']}/reservations",
        json={"auth_token": scene["token"], "quantity": 5},
    )
    assert response.status_code == 400
    assert movements(app) == before


def test_a_reservation_with_the_token_in_the_query_is_refused(app, client, scene):
    before = movements(app)
    response = client.post(
        f"/api/v1/lots/{scene['lot']}/reservations?auth_token={scene['token']}",
        json={"quantity": 5},
    )
    assert response.status_code == 400
    assert movements(app) == before
    # and with the header: a client with read:stock may not reserve
    response = client.post(
        f"/api/v1/lots/{scene['lot']}/reservations",
        json={"quantity": 5},
        headers={HEADER: scene["token"]},
    )
    assert response.status_code == 403
    assert movements(app) == before


def test_no_query_token_request_is_served_past_the_rate_limit(client, scene):
    answers = [
        client.get(f"/api/v1/stock?auth_token={scene['token']}").status_code for _ in range(12)
    ]
    assert set(answers) == {400}
    header = [
        client.get("/api/v1/stock", headers={HEADER: scene["token"]}).status_code for _ in range(7)
    ]
    assert header.count(429) == 2 and header[:5] == [200] * 5


def test_the_client_check_holds_for_a_token_found_anywhere(app, client, scene, monkeypatch):
    """Second line: even if the refusal were gone, a token Flask-Security finds in a JSON body
    meets the client's scopes and its rate limit (the check keys on the sign-in mechanism)."""
    monkeypatch.setattr(tokens, "is_misplaced_token", lambda key: False)
    before = movements(app)
    response = client.post(
        f"/api/v1/lots/{scene['lot']}/reservations",
        json={"auth_token": scene["token"], "quantity": 5},
    )
    assert response.status_code == 403
    assert movements(app) == before
    answers = [
        client.get("/api/v1/me", json={"auth_token": scene["token"]}).status_code for _ in range(6)
    ]
    assert answers.count(429) == 2  # the reservation above was the first of five calls


@pytest.mark.parametrize(
    "query, expected",
    [
        ("auth_token=abc.def", "auth_token=[redacted]"),
        ("a=1&auth_token=abc&b=2", "a=1&auth_token=[redacted]&b=2"),
        ("auth%5Ftoken=abc", "auth_token=[redacted]"),
        ("auth_token", "auth_token=[redacted]"),
        ("q=auth_token%3Dx", "q=auth_token%3Dx"),
        ("", ""),
    ],
)
def test_redact_query(query, expected):
    assert tokens.redact_query(query) == expected


def test_the_development_servers_request_line_is_redacted(app, caplog):
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with caplog.at_level(logging.INFO, logger="werkzeug"):
            url = f"http://127.0.0.1:{server.server_port}/api/v1/me?auth_token=SECRET-TOKEN-123&x=1"
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(
                    urllib.request.Request(url, headers={"Accept": "application/json"}), timeout=10
                )
            assert refused.value.code == 400
            time.sleep(0.2)
    finally:
        server.shutdown()
    assert "/api/v1/me?auth_token=[redacted]&x=1" in caplog.text
    assert "SECRET-TOKEN-123" not in caplog.text


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_gunicorns_access_log_has_no_token(tmp_path):
    pytest.importorskip("gunicorn")
    port, log = _free_port(), tmp_path / "access.log"
    env = {
        **os.environ,
        "APP_ENV": "development",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
        "METRICS_ENABLED": "0",
    }
    root = Path(__file__).resolve().parents[2]
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            "1",
            "--access-logfile",
            str(log),
            "--access-logformat",
            '%(h)s "%(r)s" %(s)s q=%(q)s',
            "--error-logfile",
            str(tmp_path / "error.log"),
            "core:create_app()",
        ],
        cwd=root,
        env=env,
    )
    try:
        url = f"http://127.0.0.1:{port}/api/v1/me?auth_token=SECRET-TOKEN-456"
        for _ in range(100):
            try:
                urllib.request.urlopen(
                    urllib.request.Request(url, headers={"Accept": "application/json"}), timeout=5
                )
            except urllib.error.HTTPError as refused:
                assert refused.code == 400
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("gunicorn did not answer")
    finally:
        server.terminate()
        server.wait(timeout=10)
    text = log.read_text() + (tmp_path / "error.log").read_text()
    assert "auth_token=[redacted]" in text and '" 400 ' in text
    assert "SECRET-TOKEN-456" not in text
