"""Durable background jobs (core/background.py, core/worker.py), on SQLite and PostgreSQL: a
planning job queued through the API is seen the same by every app instance (several gunicorn
workers), run by the worker process, cancelled, retried; a worker killed with SIGKILL in the
middle of saving leaves nothing written and the job failed after its lease; who may see a job."""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from flask_security import hash_password
from sqlalchemy import func, select

from core import background, create_app, worker
from core.auth import ADMIN, COMMANDER, OPERATOR, SUPPLIER, VIEWER
from core.extensions import db as _db
from core.extensions import security
from core.timeutil import utcnow
from dispatch.models import PlanLine, PlanVersion
from dispatch.services import incidents
from core.organisation import Agency
from reserve.models import TransportCapacity
from reserve.stock import ledger
from reserve.stock.ledger import LotFacts
from reserve.services.reference import load_regions
from tests import factories

ROOT = Path(__file__).resolve().parents[2]
DEADLINE = 90
PASSWORD = "Jobs-Horse-9-long"


def _account(email, role, agency_id=None):
    user = security.datastore.create_user(
        email=email,
        password=hash_password(PASSWORD),
        roles=[role] if role else [],
        agency_id=agency_id,
    )
    _db.session.flush()
    return user


@pytest.fixture
def site(app, committed):
    """Committed for real (other app instances and processes read it): an agency with a depot
    holding tents, an incident with a demand, and an API token per role."""
    with app.app_context():
        load_regions()
        agency = Agency(code="JOBS", name="作业测试单位", kind="city", path="")
        _db.session.add(agency)
        _db.session.flush()
        agency.path = f"/{agency.id}/"
        people = {
            role: _account(
                f"jobs-{role}@example.org", role, agency.id if role == OPERATOR else None
            )
            for role in (COMMANDER, ADMIN, VIEWER, OPERATOR, SUPPLIER)
        }
        _db.session.commit()
        tent = factories.catalog_material("001", "单帐篷", weight_kg=30)
        depot = factories.depot(agency.id, "JOBS-D1", "140105")
        depot.lat, depot.lon = 37.86, 112.55
        _db.session.add(
            TransportCapacity(
                agency_id=agency.id,
                depot_id=depot.id,
                mode="road",
                vehicle_type="货车",
                count=5,
                payload_t=10.0,
            )
        )
        _db.session.commit()
        ledger.record_receipt(
            people[OPERATOR],
            depot_id=depot.id,
            material_id=tent.id,
            quantity=100,
            facts=LotFacts("JOB-T1"),
        )
        commander = people[COMMANDER]
        incident = incidents.create_incident(
            commander,
            title="作业测试地震",
            incident_type="natural_disaster",
            level="II",
            region_code="140100",
        )
        point = incidents.add_point(
            commander, incident.id, name="安置点", lat=37.74, lon=112.56, population=5000
        )
        incidents.add_demand(
            commander,
            incident.id,
            point_id=point.id,
            material_id=tent.id,
            quantity=80,
            needed_by=utcnow() + timedelta(hours=24),
        )
        tokens = {
            role: {"Authentication-Token": user.get_auth_token()} for role, user in people.items()
        }
        _db.session.commit()
        return {"incident": incident.id, "tokens": tokens, "commander": commander.id}


def _start(app, site, **body):
    response = app.test_client().post(
        f"/api/v1/incidents/{site['incident']}/plans",
        json={"background": True, **body},
        headers=site["tokens"][COMMANDER],
    )
    assert response.status_code == 202, response.text
    return response.json


def _plans(app):
    with app.app_context():
        versions = _db.session.scalar(select(func.count()).select_from(PlanVersion))
        lines = _db.session.scalar(select(func.count()).select_from(PlanLine))
        _db.session.remove()
        return versions, lines


def test_every_app_instance_answers_the_same_status_and_the_plan(app, site):
    job = _start(app, site)
    assert (
        job["status"] == "queued"
        and job["progress"] == 0
        and job["plan_id"] is None
        and job["error"] is None
    )
    others = [
        create_app(
            {"APP_ENV": "test", "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"]}
        )
        for _ in range(3)
    ]
    instances = [app, *others]
    headers = site["tokens"][COMMANDER]
    try:
        polls = [
            instances[n % 4].test_client().get(f"/api/v1/plan-jobs/{job['id']}", headers=headers)
            for n in range(10)
        ]
        assert [p.status_code for p in polls] == [200] * 10
        assert {p.json["status"] for p in polls} == {"queued"}

        assert worker.run(app, once=True, echo=lambda _line: None) == 1

        polls = [
            instances[n % 4].test_client().get(f"/api/v1/plan-jobs/{job['id']}", headers=headers)
            for n in range(10)
        ]
        assert [p.status_code for p in polls] == [200] * 10
        assert {(p.json["status"], p.json["progress"], p.json["plan_id"]) for p in polls} == {
            ("done", 100, polls[0].json["plan_id"])
        }
        plan_id = polls[0].json["plan_id"]
        for instance in instances:
            plan = instance.test_client().get(f"/api/v1/dispatch-plans/{plan_id}", headers=headers)
            assert plan.status_code == 200 and plan.json["incident_id"] == site["incident"]
        assert _plans(app)[0] == 1
    finally:
        for other in others:
            with other.app_context():
                _db.session.remove()
                _db.engine.dispose()


def test_only_command_staff_see_cancel_and_retry_jobs(app, site):
    job = _start(app, site)
    client = app.test_client()
    for role in (VIEWER, OPERATOR, SUPPLIER):
        headers = site["tokens"][role]
        assert client.get(f"/api/v1/plan-jobs/{job['id']}", headers=headers).status_code == 403, (
            role
        )
        assert (
            client.post(f"/api/v1/plan-jobs/{job['id']}/cancel", headers=headers).status_code == 403
        ), role
        assert (
            client.post(f"/api/v1/plan-jobs/{job['id']}/retry", headers=headers).status_code == 403
        ), role
        assert (
            client.post(
                f"/api/v1/incidents/{site['incident']}/plans",
                json={"background": True},
                headers=headers,
            ).status_code
            == 403
        ), role
    assert client.get(f"/api/v1/plan-jobs/{job['id']}").status_code == 401
    assert (
        client.get(
            f"/api/v1/plan-jobs/{job['id'] + 1000}", headers=site["tokens"][ADMIN]
        ).status_code
        == 404
    )
    assert (
        client.get(f"/api/v1/plan-jobs/{job['id']}", headers=site["tokens"][ADMIN]).json["status"]
        == "queued"
    )
    with app.app_context():
        assert (
            _db.session.get(background.BackgroundJob, job["id"]).status == "queued"
        )  # nothing changed


def test_a_sharing_client_token_cannot_read_a_job(app, site):
    from reserve.sharing.clients import register_client

    job = _start(app, site)
    with app.app_context():
        admin = _db.session.execute(
            select(security.datastore.user_model).filter_by(email=f"jobs-{ADMIN}@example.org")
        ).scalar_one()
        _client, token = register_client(
            admin, name="外部系统", agency_id=None, scopes=["read:incidents"]
        )
    for method, url in (
        ("GET", f"/api/v1/plan-jobs/{job['id']}"),
        ("POST", f"/api/v1/plan-jobs/{job['id']}/cancel"),
        ("POST", f"/api/v1/plan-jobs/{job['id']}/retry"),
    ):
        response = app.test_client().open(
            url, method=method, headers={"Authentication-Token": token}
        )
        assert response.status_code in (403, 404), (url, response.status_code)
        assert "queued" not in response.text


def test_cancel_a_queued_job_and_a_running_one_and_retry(app, site):
    client, headers = app.test_client(), site["tokens"][COMMANDER]
    job = _start(app, site)
    cancelled = client.post(f"/api/v1/plan-jobs/{job['id']}/cancel", headers=headers)
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    assert client.post(f"/api/v1/plan-jobs/{job['id']}/cancel", headers=headers).status_code == 409
    assert worker.run(app, once=True, echo=lambda _line: None) == 0  # a cancelled job is never run

    again = client.post(f"/api/v1/plan-jobs/{job['id']}/retry", headers=headers)
    assert again.status_code == 200 and again.json["status"] == "queued"
    assert client.post(f"/api/v1/plan-jobs/{job['id']}/retry", headers=headers).status_code == 409
    with app.app_context():
        assert background.claim("test:1") == job["id"]  # a worker has it now
    running = client.post(f"/api/v1/plan-jobs/{job['id']}/cancel", headers=headers)
    assert running.json["status"] == "running" and running.json["cancel_requested"] is True
    assert worker.run_job(app, job["id"], "test:1") == "cancelled"  # at its first checkpoint
    final = client.get(f"/api/v1/plan-jobs/{job['id']}", headers=headers).json
    assert final["status"] == "cancelled" and final["plan_id"] is None
    assert _plans(app) == (0, 0)

    assert client.post(f"/api/v1/plan-jobs/{job['id']}/retry", headers=headers).status_code == 200
    assert worker.run(app, once=True, echo=lambda _line: None) == 1
    done = client.get(f"/api/v1/plan-jobs/{job['id']}", headers=headers).json
    assert done["status"] == "done" and done["attempts"] == 2 and done["plan_id"]
    assert _plans(app)[0] == 1


def test_a_job_that_cannot_plan_fails_with_its_reason(app, site):
    with app.app_context():
        from dispatch.models import Demand

        for demand in _db.session.execute(select(Demand)).scalars():
            demand.status = "cancelled"
        _db.session.commit()
    job = _start(app, site)
    worker.run(app, once=True, echo=lambda _line: None)
    failed = (
        app.test_client()
        .get(f"/api/v1/plan-jobs/{job['id']}", headers=site["tokens"][COMMANDER])
        .json
    )
    assert failed["status"] == "failed" and failed["error"] and failed["plan_id"] is None
    assert _plans(app) == (0, 0)


def test_a_stale_running_job_is_reclaimed_as_failed(app, site):
    job = _start(app, site)
    with app.app_context():
        assert background.claim("gone:1") == job["id"]
        assert background.reclaim_stale() == 0  # its lease has not run out
        later = utcnow() + timedelta(seconds=app.config["JOB_LEASE_SECONDS"] + 1)
        assert background.reclaim_stale(later) == 1
        assert background.reclaim_stale(later) == 0  # safe to run twice
        reclaimed = _db.session.get(background.BackgroundJob, job["id"])
        assert reclaimed.status == "failed" and reclaimed.error


# --- a worker process killed with SIGKILL while it saves the plan -------------------------------------


def _worker_env(app, **extra) -> dict:
    env = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "APP_ENV": "development",
        "PYTHONUNBUFFERED": "1",
        "JOB_LEASE_SECONDS": "1",
        "JOB_POLL_SECONDS": "0.1",
        **extra,
    }
    env.pop("FLASK_DEBUG", None)
    return env


WORKER = [sys.executable, "-m", "flask", "--app", "core:create_app", "worker", "run"]


@pytest.mark.slow
def test_worker_killed_while_saving_leaves_nothing_and_the_retry_succeeds(app, site, tmp_path):
    hold = tmp_path / "hold"
    hold.write_text(
        "plan-saved"
    )  # the job waits after flushing its version and lines, before committing
    reached = Path(str(hold) + ".reached")
    job = _start(app, site)
    child = subprocess.Popen(
        WORKER,
        env=_worker_env(app, JOB_HOLD_FILE=str(hold)),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + DEADLINE
    try:
        while not reached.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert reached.exists() and child.poll() is None, child.stdout.read().decode()
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        child.kill()
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    hold.unlink()
    time.sleep(1.5)  # the lease (1 s) runs out

    nxt = subprocess.run(
        [*WORKER, "--once"],
        env=_worker_env(app),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=DEADLINE,
    )
    assert nxt.returncode == 0, nxt.stdout + nxt.stderr
    headers = site["tokens"][COMMANDER]
    failed = app.test_client().get(f"/api/v1/plan-jobs/{job['id']}", headers=headers).json
    assert failed["status"] == "failed" and failed["error"], failed
    assert _plans(app) == (0, 0)  # the flushed version and lines died with the worker's transaction

    retried = app.test_client().post(f"/api/v1/plan-jobs/{job['id']}/retry", headers=headers)
    assert retried.status_code == 200 and retried.json["status"] == "queued"
    last = subprocess.run(
        [*WORKER, "--once"],
        env=_worker_env(app),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=DEADLINE,
    )
    assert last.returncode == 0 and "1 jobs run" in last.stdout, last.stdout + last.stderr
    done = app.test_client().get(f"/api/v1/plan-jobs/{job['id']}", headers=headers).json
    assert done["status"] == "done" and done["attempts"] == 2 and done["error"] is None
    versions, lines = _plans(app)
    assert versions == 1 and lines >= 1
    plan = app.test_client().get(f"/api/v1/dispatch-plans/{done['plan_id']}", headers=headers)
    assert plan.status_code == 200 and sum(line["quantity"] for line in plan.json["lines"]) == 80


def test_the_board_plans_a_large_problem_as_a_job_with_a_progress_bar(app, site, monkeypatch):
    import re

    from tests.conftest import csrf_token, log_in

    monkeypatch.setitem(app.config, "DISPATCH_BACKGROUND_ARCS", 0)  # every problem is "large"
    client = app.test_client()
    assert log_in(client, f"jobs-{COMMANDER}@example.org", PASSWORD).status_code == 302
    board = f"/incidents/{site['incident']}"
    page = client.get(board)
    sent = client.post(f"{board}/plan", data={"csrf_token": csrf_token(page.text)})
    assert sent.status_code == 303 and "?job=" in sent.headers["Location"]
    assert _plans(app) == (0, 0)  # queued, not planned in the web worker
    shown = client.get(sent.headers["Location"]).text
    job_id = int(re.search(r"\?job=(\d+)", sent.headers["Location"]).group(1))
    assert f'data-url="/api/v1/plan-jobs/{job_id}"' in shown and 'data-status="queued"' in shown
    assert re.search(r'<progress id="plan-job-progress"[^>]* max="100" value="0"', shown)
    assert " style=" not in shown and "<script>" not in shown  # CSP: no inline styles or scripts
    assert (
        client.get(board).text.count('id="plan-job"') == 1
    )  # an unfinished job shows without ?job= too

    worker.run(app, once=True, echo=lambda _line: None)
    done = client.get(sent.headers["Location"]).text
    assert 'data-status="done"' in done and 'value="100"' in done and _plans(app)[0] == 1
    assert (
        'id="plan-job"' not in client.get(board).text
    )  # finished: the board shows the plan itself


def test_a_worker_whose_job_was_taken_away_applies_nothing(app, site):
    """Its lease ran out (a stalled worker) and another worker has the job now: the first one's
    finished work is rolled back, not applied a second time."""
    from sqlalchemy import update

    job = _start(app, site)
    with app.app_context():
        assert background.claim("stalled:1") == job["id"]
        _db.session.execute(
            update(background.BackgroundJob)
            .where(background.BackgroundJob.id == job["id"])
            .values(worker="other:2")
        )
        _db.session.commit()
    assert worker.run_job(app, job["id"], "stalled:1") == "lost"
    assert _plans(app) == (0, 0)
    with app.app_context():
        kept = _db.session.get(background.BackgroundJob, job["id"])
        assert (kept.status, kept.worker) == ("running", "other:2")  # the other worker's, untouched
