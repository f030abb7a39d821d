"""Large reports in the background, on SQLite and PostgreSQL: a file over REPORT_INLINE_MAX_BYTES
is kept as `checking` and checked by the worker, a report over REPORT_INLINE_APPLY_ROWS rows is
applied by it; every app instance answers the same status; the result equals the inline one;
discarding a queued check cancels it; a report that no longer applies goes back to `ready` with
the job's reason; a worker killed with SIGKILL while applying leaves nothing written and the
retry applies once; who may see and act; the page follows the job. And /healthz never waits for
a writer."""

import csv
import io
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from flask_security import hash_password
from sqlalchemy import func, select, text

from core import background, create_app, worker
from core.auth import ADMIN, OPERATOR, SUPPLIER, VIEWER
from core.extensions import db as _db
from core.extensions import security
from core.organisation import Agency
from reserve.stock.models import Movement, StockLot
from reserve.reporting.models import Submission
from reserve.services.reference import load_regions
from tests import factories
from tests.conftest import csrf_token, log_in

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "Report-Jobs-9-long"
DEADLINE = 90
ROWS = 60


def _account(email, role, agency_id=None):
    user = security.datastore.create_user(
        email=email,
        password=hash_password(PASSWORD),
        roles=[role],
        agency_id=agency_id,
        display_name=f"{role}测试员",
    )
    _db.session.flush()
    return user


@pytest.fixture
def site(app, committed, monkeypatch):
    """Committed for real: two agencies, a depot with a material, tokens per role; every file
    goes to the worker (checking and applying thresholds at their lowest)."""
    monkeypatch.setitem(app.config, "REPORT_INLINE_MAX_BYTES", 100)
    monkeypatch.setitem(app.config, "REPORT_INLINE_APPLY_ROWS", 10)
    with app.app_context():
        load_regions()
        agencies = []
        for code in ("RJ-MINE", "RJ-OTHER"):
            agency = Agency(code=code, name=f"{code}单位", kind="city", path="")
            _db.session.add(agency)
            _db.session.flush()
            agency.path = f"/{agency.id}/"
            agencies.append(agency)
        mine, other = agencies
        people = {
            "operator": _account("rj-op@example.org", OPERATOR, mine.id),
            "stranger": _account("rj-other@example.org", OPERATOR, other.id),
            "admin": _account("rj-admin@example.org", ADMIN),
            "viewer": _account("rj-viewer@example.org", VIEWER),
            "supplier": _account("rj-supplier@example.org", SUPPLIER),
        }
        _db.session.commit()
        tent = factories.catalog_material("001", "单帐篷")
        factories.depot(mine.id, "RJ-D1", "140105")
        tokens = {
            who: {"Authentication-Token": user.get_auth_token()} for who, user in people.items()
        }
        _db.session.commit()
        return {"agency": mine.id, "material": tent.code, "tokens": tokens}


def _csv(rows=ROWS, quantity=10, bad=False) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "depot_code",
            "material_code",
            "material_name",
            "lot_no",
            "quantity",
            "expiry_date",
            "production_date",
        ]
    )
    for n in range(rows):
        writer.writerow(
            [
                "RJ-D1",
                "1010101001",
                "单帐篷",
                f"RJ-L{n:04d}",
                "很多" if bad else quantity + n,
                "2030-01-01",
                "2024-01-01",
            ]
        )
    return out.getvalue().encode("utf-8")


def _upload(app, site, data, who="operator", filename="big.csv"):
    return app.test_client().post(
        "/api/v1/submissions",
        headers=site["tokens"][who],
        data={
            "agency_id": str(site["agency"]),
            "kind": "stock",
            "mode": "incremental",
            "file": (io.BytesIO(data), filename),
        },
        content_type="multipart/form-data",
    )


def _get(app, site, submission_id, who="operator"):
    return app.test_client().get(
        f"/api/v1/submissions/{submission_id}", headers=site["tokens"][who]
    )


def _run_worker(app) -> int:
    return worker.run(app, once=True, echo=lambda _line: None)


def _ledger(app, submission_id):
    with app.app_context():
        reference = f"SUB-{submission_id}"
        movements = _db.session.scalar(
            select(func.count()).select_from(Movement).where(Movement.reference == reference)
        )
        total = _db.session.scalar(select(func.coalesce(func.sum(StockLot.on_hand), 0)))
        _db.session.remove()
        return movements, total


def test_a_large_report_is_checked_and_applied_by_the_worker_and_every_instance_sees_it(app, site):
    started = _upload(app, site, _csv())
    assert started.status_code == 202, started.text
    body = started.json
    assert (
        body["status"] == "checking"
        and body["job"]["status"] == "queued"
        and body["job"]["kind"] == "report-check"
    )
    assert started.headers["Location"].endswith(f"/api/v1/submissions/{body['id']}")
    others = [
        create_app(
            {"APP_ENV": "test", "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"]}
        )
        for _ in range(2)
    ]
    polls = [
        instance.test_client().get(
            f"/api/v1/submissions/{body['id']}", headers=site["tokens"]["operator"]
        )
        for instance in (app, *others)
    ]
    assert {(p.status_code, p.json["status"], p.json["job"]["status"]) for p in polls} == {
        (200, "checking", "queued")
    }

    assert _run_worker(app) == 1
    ready = _get(app, site, body["id"]).json
    assert ready["status"] == "ready" and ready["job"] is None and ready["row_count"] == ROWS
    assert ready["preview"]["counts"]["new"] == ROWS and ready["fingerprint"]
    assert _ledger(app, body["id"]) == (0, 0)  # checking changes nothing

    confirmed = app.test_client().post(
        f"/api/v1/submissions/{body['id']}/confirm",
        headers=site["tokens"]["operator"],
        json={"fingerprint": ready["fingerprint"]},
    )
    assert confirmed.status_code == 202 and confirmed.json["status"] == "applying", confirmed.text
    assert confirmed.json["job"]["kind"] == "report-apply"
    assert _run_worker(app) == 1
    applied = _get(app, site, body["id"]).json
    assert applied["status"] == "applied" and applied["applied_at"] and applied["job"] is None
    assert _ledger(app, body["id"]) == (ROWS, sum(10 + n for n in range(ROWS)))
    again = app.test_client().post(
        f"/api/v1/submissions/{body['id']}/confirm",
        headers=site["tokens"]["operator"],
        json={"fingerprint": ready["fingerprint"]},
    )
    assert again.status_code == 409  # applied once


def test_the_worker_finds_the_same_errors_as_an_inline_check(app, site, monkeypatch):
    queued = _upload(app, site, _csv(bad=True))
    assert queued.status_code == 202
    assert _run_worker(app) == 1
    checked = _get(app, site, queued.json["id"]).json
    monkeypatch.setitem(app.config, "REPORT_INLINE_MAX_BYTES", 10**9)
    inline = _upload(app, site, _csv(bad=True))
    assert inline.status_code == 422
    assert (
        checked["status"] == "invalid"
        and checked["error_count"] == inline.json["errors"]["cells"].__len__() == ROWS
    )
    assert [e["message"] for e in checked["errors"]] == [
        e["message"] for e in inline.json["errors"]["cells"]
    ]


def test_an_unreadable_large_file_is_kept_invalid_with_its_reason(app, site):
    queued = _upload(app, site, b"PK\x03\x04" + b"\x00" * 400, filename="broken.xlsx")
    assert queued.status_code == 202
    assert _run_worker(app) == 1
    checked = _get(app, site, queued.json["id"]).json
    assert checked["status"] == "invalid" and checked["error_count"] == 1
    assert checked["errors"][0]["message"] and checked["errors"][0]["row"] is None


def test_discarding_a_queued_check_cancels_it(app, site):
    queued = _upload(app, site, _csv()).json
    refused = app.test_client().post(
        f"/api/v1/submissions/{queued['id']}/discard", headers=site["tokens"]["viewer"]
    )
    assert refused.status_code in (403, 404)
    discarded = app.test_client().post(
        f"/api/v1/submissions/{queued['id']}/discard", headers=site["tokens"]["operator"]
    )
    assert discarded.status_code == 200 and discarded.json["status"] == "discarded"
    assert _run_worker(app) == 0  # its job was cancelled with it
    with app.app_context():
        job = _db.session.get(background.BackgroundJob, queued["job"]["id"])
        assert job.status == "cancelled"
        _db.session.remove()


def test_a_report_that_no_longer_applies_goes_back_to_ready_with_the_reason(app, site):
    queued = _upload(app, site, _csv()).json
    _run_worker(app)
    ready = _get(app, site, queued["id"]).json
    app.test_client().post(
        f"/api/v1/submissions/{queued['id']}/confirm",
        headers=site["tokens"]["operator"],
        json={"fingerprint": ready["fingerprint"]},
    )
    with (
        app.app_context()
    ):  # another report changes a lot of this one between confirming and applying
        submission = _db.session.get(Submission, queued["id"])
        submission.fingerprint = "0" * 64
        _db.session.commit()
    assert _run_worker(app) == 1
    with app.app_context():
        job = _db.session.execute(
            select(background.BackgroundJob).order_by(background.BackgroundJob.id.desc()).limit(1)
        ).scalar_one()
        assert job.kind == "report-apply" and job.status == "failed" and job.error
        assert _db.session.get(Submission, queued["id"]).status == "ready"
        _db.session.remove()
    assert _ledger(app, queued["id"]) == (0, 0)


def test_who_may_see_and_act_on_a_report_job(app, site):
    queued = _upload(app, site, _csv()).json
    for who in (
        "stranger",
        "supplier",
        "admin",
        "viewer",
    ):  # a submission is restricted data of its agency
        assert _get(app, site, queued["id"], who).status_code in (403, 404)
        assert app.test_client().post(
            f"/api/v1/submissions/{queued['id']}/retry", headers=site["tokens"][who]
        ).status_code in (403, 404)
    assert _get(app, site, queued["id"]).json["job"]["status"] == "queued"
    not_failed = app.test_client().post(
        f"/api/v1/submissions/{queued['id']}/retry", headers=site["tokens"]["operator"]
    )
    assert not_failed.status_code == 409  # only a failed or cancelled job is tried again
    assert _upload(app, site, _csv(), who="stranger").status_code == 403  # not its agency


def test_the_submission_page_follows_the_job_and_offers_a_retry_once_it_failed(app, site):
    queued = _upload(app, site, _csv()).json
    client = app.test_client()
    assert log_in(client, "rj-op@example.org", PASSWORD).status_code == 302
    page = client.get(f"/reporting/submissions/{queued['id']}").get_data(as_text=True)
    assert 'id="submission-job"' in page and 'data-status="queued"' in page and "正在检查" in page
    submitted = page[
        page.index("<dt>提交时间</dt>") : page.index("</dd>", page.index("<dt>提交时间</dt>"))
    ]
    assert "operator测试员" in submitted and "@" not in submitted  # the person, not their e-mail
    with app.app_context():
        background.claim("gone:1")
        background.reclaim_stale(background.utcnow() + background.lease() * 2)
        _db.session.remove()
    page = client.get(f"/reporting/submissions/{queued['id']}").get_data(as_text=True)
    assert "再试一次" in page and "均未生效" in page
    retried = client.post(
        f"/reporting/submissions/{queued['id']}/retry", data={"csrf_token": csrf_token(page)}
    )
    assert retried.status_code == 303
    assert _run_worker(app) == 1
    assert _get(app, site, queued["id"]).json["status"] == "ready"


# --- a worker process killed with SIGKILL while it applies ------------------------------------------


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
def test_worker_killed_while_applying_leaves_nothing_and_the_retry_applies_once(
    app, site, tmp_path
):
    queued = _upload(app, site, _csv()).json
    _run_worker(app)
    ready = _get(app, site, queued["id"]).json
    app.test_client().post(
        f"/api/v1/submissions/{queued['id']}/confirm",
        headers=site["tokens"]["operator"],
        json={"fingerprint": ready["fingerprint"]},
    )
    hold = tmp_path / "hold"
    hold.write_text(
        "report-applying"
    )  # the job waits with every movement written, before committing
    reached = Path(str(hold) + ".reached")
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
    hold.unlink()
    time.sleep(1.5)  # the lease (1 s) runs out
    assert (
        subprocess.run(
            [*WORKER, "--once"],
            env=_worker_env(app),
            cwd=ROOT,
            capture_output=True,
            timeout=DEADLINE,
        ).returncode
        == 0
    )
    stopped = _get(app, site, queued["id"]).json
    assert (
        stopped["status"] == "applying"
        and stopped["job"]["status"] == "failed"
        and stopped["job"]["error"]
    )
    assert _ledger(app, queued["id"]) == (
        0,
        0,
    )  # the written movements died with the worker's transaction

    retried = app.test_client().post(
        f"/api/v1/submissions/{queued['id']}/retry", headers=site["tokens"]["operator"]
    )
    assert retried.status_code == 202 and retried.json["job"]["status"] == "queued"
    last = subprocess.run(
        [*WORKER, "--once"],
        env=_worker_env(app),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=DEADLINE,
    )
    assert last.returncode == 0 and "1 jobs run" in last.stdout, last.stdout + last.stderr
    assert _get(app, site, queued["id"]).json["status"] == "applied"
    assert _ledger(app, queued["id"]) == (ROWS, sum(10 + n for n in range(ROWS)))


def test_healthz_does_not_wait_for_a_writer_on_sqlite(tmp_path):
    app = create_app(
        {"APP_ENV": "test", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'health.db'}"}
    )
    answers = []
    with app.app_context():
        _db.create_all()
        writer = _db.engine.connect()
        writer.begin()  # BEGIN IMMEDIATE: the write lock, as while a report is applied
        writer.execute(text("SELECT 1"))
        probe = threading.Thread(
            target=lambda: answers.append(app.test_client().get("/healthz").status_code)
        )
        probe.start()
        probe.join(timeout=10)  # before: it waited for the lock (busy_timeout 30 s), then 500
        finished = not probe.is_alive()
        writer.rollback()
        writer.close()
        probe.join()
        _db.engine.dispose()
    assert finished and answers == [200]
