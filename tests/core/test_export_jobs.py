"""Large exports in the background (core/export_jobs.py), on SQLite and PostgreSQL: a small export
stays in the request; a large one is refused there with the way to /api/v1/export-jobs, runs in
the worker as the user who started it, and its file equals the inline export's; cancel, retry
after a failure, the limit per user, expiry and pruning; nobody but its owner sees a job or its
file, and another agency's restricted lots are never in it; bad input is a 4xx that changes nothing."""

import csv
import io
from datetime import timedelta

import pytest
from flask_security import hash_password
from openpyxl import load_workbook
from sqlalchemy import func, select

from core import export_jobs, scheduler, worker
from core.auth import ADMIN, COMMANDER, OPERATOR, SUPPLIER
from core.background import BackgroundJob
from core.extensions import db as _db
from core.extensions import security
from core.timeutil import utcnow
from core.organisation import Agency
from reserve.stock import ledger
from tests import factories

PASSWORD = "Export-Jobs-9-long"
LOTS = 12  # lots of agency A's internal depot
LIMIT = 5  # EXPORT_INLINE_MAX_ROWS in these tests


def _account(email, role, agency_id=None):
    user = security.datastore.create_user(
        email=email,
        password=hash_password(PASSWORD),
        roles=[role],
        agency_id=agency_id,
        display_name=f"{role}导出员",
    )
    _db.session.flush()
    return user


@pytest.fixture
def site(app, committed, monkeypatch):
    """Committed for real (the worker uses connections of its own): agency A with LOTS lots in an
    internal depot and 2 in a small one, agency B with a restricted lot; tokens per person."""
    monkeypatch.setitem(app.config, "EXPORT_INLINE_MAX_ROWS", LIMIT)
    with app.app_context():
        agencies = []
        for code in ("EX-A", "EX-B"):
            agency = Agency(code=code, name=f"{code}单位", kind="city", path="")
            _db.session.add(agency)
            _db.session.flush()
            agency.path = f"/{agency.id}/"
            agencies.append(agency)
        a, b = agencies
        people = {
            "operator": _account("ex-op@example.org", OPERATOR, a.id),
            "colleague": _account("ex-op2@example.org", OPERATOR, a.id),
            "stranger": _account("ex-other@example.org", OPERATOR, b.id),
            "commander": _account("ex-cmd@example.org", COMMANDER),
            "admin": _account("ex-admin@example.org", ADMIN),
            "supplier": _account("ex-supplier@example.org", SUPPLIER),
        }
        _db.session.commit()
        tent = factories.catalog_material("001", "单帐篷")
        big = factories.depot(a.id, "EX-D1")
        small = factories.depot(a.id, "EX-D2")
        secret = factories.depot(b.id, "EX-SECRET", classification="restricted")
        author_a, author_b = people["operator"], people["stranger"]
        for n in range(LOTS):
            ledger.record_receipt(
                author_a,
                depot_id=big.id,
                material_id=tent.id,
                quantity=10 + n,
                facts=ledger.LotFacts(lot_no=f"EX-L{n:03d}"),
            )
        for n in range(2):
            ledger.record_receipt(
                author_a,
                depot_id=small.id,
                material_id=tent.id,
                quantity=5,
                facts=ledger.LotFacts(lot_no=f"EX-S{n}"),
            )
        ledger.record_receipt(
            author_b,
            depot_id=secret.id,
            material_id=tent.id,
            quantity=3,
            facts=ledger.LotFacts(lot_no="EX-RESTRICTED-B"),
        )
        tokens = {
            who: {"Authentication-Token": user.get_auth_token()} for who, user in people.items()
        }
        ids = {who: user.id for who, user in people.items()}
        _db.session.commit()
        found = {
            "A": a.id,
            "B": b.id,
            "big": big.id,
            "small": small.id,
            "tokens": tokens,
            "ids": ids,
        }
        _db.session.remove()
        return found


def _client(app):
    return app.test_client()


def _start(app, site, who="operator", **body):
    body = {"export": "stock", "format": "csv", "filters": {"agency_id": site["A"]}, **body}
    return _client(app).post("/api/v1/export-jobs", json=body, headers=site["tokens"][who])


def _job(app, site, job_id, who="operator"):
    return _client(app).get(f"/api/v1/export-jobs/{job_id}", headers=site["tokens"][who])


def _run_worker(app) -> int:
    return worker.run(app, once=True, echo=lambda _line: None)


def _jobs(app) -> int:
    with app.app_context():
        count = _db.session.scalar(select(func.count()).select_from(BackgroundJob))
        _db.session.remove()
        return count


def _csv_rows(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def _sheets(body: bytes) -> dict[str, list[tuple]]:
    workbook = load_workbook(io.BytesIO(body), read_only=True)
    return {sheet.title: list(sheet.iter_rows(values_only=True)) for sheet in workbook.worksheets}


def test_a_small_export_stays_in_the_request_and_a_large_one_is_refused_there_with_the_way_to_the_job(
    app, site
):
    small = _client(app).get(
        f"/api/v1/stock/export?format=csv&depot_id={site['small']}",
        headers=site["tokens"]["operator"],
    )
    assert small.status_code == 200 and small.mimetype == "text/csv"
    assert [r[11] for r in _csv_rows(small.data)[1:]] == ["EX-S0", "EX-S1"]
    large = _client(app).get(
        f"/api/v1/stock/export?format=xlsx&agency_id={site['A']}",
        headers=site["tokens"]["operator"],
    )
    assert large.status_code == 422 and large.json["type"].endswith("export-too-large")
    assert "/api/v1/export-jobs" in large.json["detail"] and "后台" in large.json["detail"]
    shared = _client(app).get(
        f"/api/v1/sharing/exports/stock?format=csv&agency_id={site['A']}",
        headers=site["tokens"]["operator"],
    )
    assert shared.status_code == 422 and shared.json["type"].endswith("export-too-large")
    assert _jobs(app) == 0


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_a_large_export_is_written_by_the_worker_and_equals_the_inline_export(
    app, site, monkeypatch, file_format
):
    started = _start(app, site, format=file_format)
    assert started.status_code == 202, started.text
    job = started.json
    assert started.headers["Location"].endswith(f"/api/v1/export-jobs/{job['id']}")
    assert (
        job["status"] == "queued"
        and job["download_url"] is None
        and job["expected_rows"] == LOTS + 2
    )
    assert (
        _client(app)
        .get(f"/api/v1/export-jobs/{job['id']}/file", headers=site["tokens"]["operator"])
        .status_code
        == 409
    )

    assert _run_worker(app) == 1
    done = _job(app, site, job["id"]).json
    assert done["status"] == "done" and done["progress"] == 100 and done["rows"] == LOTS + 2
    assert (
        done["download_url"].endswith(f"/api/v1/export-jobs/{job['id']}/file")
        and not done["expired"]
    )
    file = _client(app).get(done["download_url"], headers=site["tokens"]["operator"])
    assert file.status_code == 200 and done["size"] == len(file.data)
    disposition = file.headers["Content-Disposition"]
    assert "filename=stock-" in disposition and disposition.endswith(file_format)

    monkeypatch.setitem(app.config, "EXPORT_INLINE_MAX_ROWS", 1000)
    inline = _client(app).get(
        f"/api/v1/stock/export?format={file_format}&agency_id={site['A']}",
        headers=site["tokens"]["operator"],
    )
    assert inline.status_code == 200 and inline.mimetype == file.mimetype
    if file_format == "csv":
        assert file.data == inline.data
        assert len(_csv_rows(file.data)) == LOTS + 3  # header and every lot
    else:
        assert _sheets(file.data) == _sheets(inline.data)
        assert len(_sheets(file.data)["stock"]) == LOTS + 3


def test_a_sharing_export_job_equals_the_inline_one_with_its_dictionary(app, site, monkeypatch):
    started = _start(
        app,
        site,
        export="sharing",
        format="xlsx",
        filters={"kind": "stock", "agency_id": site["A"]},
    )
    assert started.status_code == 202, started.text
    assert _run_worker(app) == 1
    done = _job(app, site, started.json["id"]).json
    assert done["status"] == "done", done
    assert (
        done["label"].startswith("共享数据 · ") and done["label"] != "共享数据 · "
    )  # the kind by its title
    file = _client(app).get(done["download_url"], headers=site["tokens"]["operator"])
    monkeypatch.setitem(app.config, "EXPORT_INLINE_MAX_ROWS", 1000)
    inline = _client(app).get(
        f"/api/v1/sharing/exports/stock?format=xlsx&agency_id={site['A']}",
        headers=site["tokens"]["operator"],
    )
    assert inline.status_code == 200
    assert _sheets(file.data) == _sheets(inline.data)
    assert (
        set(_sheets(file.data)) == {"stock", "dictionary"}
        and len(_sheets(file.data)["stock"]) == LOTS + 3
    )


def test_a_start_sent_twice_with_one_idempotency_key_queues_one_export(app, site):
    headers = {**site["tokens"]["operator"], "Idempotency-Key": "export-once-1"}
    body = {"export": "stock", "format": "csv", "filters": {"agency_id": site["A"]}}
    first = _client(app).post("/api/v1/export-jobs", json=body, headers=headers)
    again = _client(app).post("/api/v1/export-jobs", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (202, 202) and again.json["id"] == first.json[
        "id"
    ]
    assert again.headers.get("Idempotent-Replayed") == "true" and _jobs(app) == 1


def test_a_sharing_export_job_reads_through_a_grant_with_its_fields_and_logs_it(app, site):
    from core.timeutil import local_today

    owner, grantee = site["tokens"]["operator"], site["tokens"]["stranger"]
    made = _client(app).put(
        f"/api/v1/sharing/resources/{site['A']}/stock",
        json={"attribute": "conditional"},
        headers=owner,
    )
    assert made.status_code == 200, made.text
    asked = _client(app).post(
        "/api/v1/sharing/grants",
        headers=grantee,
        json={
            "owner_agency_id": site["A"],
            "kind": "stock",
            "purpose": "汛期联合调度",
            "fields": ["lot_no", "on_hand"],
            "requested_from": local_today().isoformat(),
            "requested_to": (local_today() + timedelta(days=7)).isoformat(),
        },
    )
    assert asked.status_code == 201, asked.text
    approved = _client(app).post(
        f"/api/v1/sharing/grants/{asked.json['id']}/approve", json={}, headers=owner
    )
    assert approved.status_code == 200, approved.text
    started = _start(
        app,
        site,
        who="stranger",
        export="sharing",
        filters={"kind": "stock", "agency_id": site["A"]},
    )
    assert started.status_code == 202, started.text
    assert _run_worker(app) == 1
    done = _job(app, site, started.json["id"], who="stranger").json
    rows = _csv_rows(_client(app).get(done["download_url"], headers=grantee).data)
    header = rows[0]
    assert done["rows"] == LOTS + 2 and {r[header.index("lot_no")] for r in rows[1:]} >= {
        "EX-L000",
        "EX-S1",
    }
    assert all(
        r[header.index("depot_code")] == "" for r in rows[1:]
    )  # a field the grant does not give
    log = _client(app).get("/api/v1/sharing/access-log", headers=owner).json["items"]
    assert [(e["channel"], e["rows"]) for e in log] == [("export", LOTS + 2)]


def test_cancel_a_queued_export_then_retry_it(app, site):
    job_id = _start(app, site).json["id"]
    cancelled = _client(app).post(
        f"/api/v1/export-jobs/{job_id}/cancel", headers=site["tokens"]["operator"]
    )
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    assert cancelled.json["can_retry"] and not cancelled.json["can_cancel"]
    assert _run_worker(app) == 0
    again = _client(app).post(
        f"/api/v1/export-jobs/{job_id}/retry", headers=site["tokens"]["operator"]
    )
    assert (
        again.status_code == 200 and again.json["status"] == "queued" and again.json["id"] == job_id
    )
    assert _run_worker(app) == 1
    assert _job(app, site, job_id).json["status"] == "done"
    late = _client(app).post(
        f"/api/v1/export-jobs/{job_id}/cancel", headers=site["tokens"]["operator"]
    )
    assert late.status_code == 409
    refused = _client(app).post(
        f"/api/v1/export-jobs/{job_id}/retry", headers=site["tokens"]["operator"]
    )
    assert refused.status_code == 409


def test_a_running_export_cancelled_keeps_no_file(app, site, monkeypatch):
    job_id = _start(app, site).json["id"]
    real = export_jobs.resolve

    def cancel_while_reading(target):
        found = real(target)
        if target.endswith(":export_table"):

            def reading(*args, **kwargs):
                with app.app_context():
                    _db.session.execute(
                        BackgroundJob.__table__.update()
                        .where(BackgroundJob.id == job_id)
                        .values(cancel_requested=True)
                    )
                    _db.session.commit()
                return found(*args, **kwargs)

            return reading
        return found

    monkeypatch.setattr(export_jobs, "resolve", cancel_while_reading)
    assert _run_worker(app) == 1
    ended = _job(app, site, job_id).json
    assert (
        ended["status"] == "cancelled" and ended["rows"] is None and ended["download_url"] is None
    )
    with app.app_context():
        assert _db.session.scalar(select(func.count()).select_from(export_jobs.ExportFile)) == 0


def test_a_failed_export_is_retried_and_then_done(app, site, monkeypatch):
    job_id = _start(app, site).json["id"]

    def broken(*_args, **_kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("reserve.services.stock.export_table", broken)
    assert _run_worker(app) == 1
    failed = _job(app, site, job_id).json
    assert (
        failed["status"] == "failed" and "RuntimeError" in failed["error"] and failed["can_retry"]
    )
    assert failed["download_url"] is None
    monkeypatch.undo()
    monkeypatch.setitem(app.config, "EXPORT_INLINE_MAX_ROWS", LIMIT)
    assert (
        _client(app)
        .post(f"/api/v1/export-jobs/{job_id}/retry", headers=site["tokens"]["operator"])
        .json["status"]
        == "queued"
    )
    assert _run_worker(app) == 1
    done = _job(app, site, job_id).json
    assert done["status"] == "done" and done["rows"] == LOTS + 2 and done["attempts"] == 2


def test_a_user_has_at_most_the_configured_exports_queued_or_running(app, site, monkeypatch):
    monkeypatch.setitem(app.config, "EXPORT_JOBS_PER_USER", 2)
    first, second = _start(app, site), _start(app, site)
    assert (first.status_code, second.status_code) == (202, 202)
    third = _start(app, site)
    assert third.status_code == 429 and third.json["type"].endswith("too-many-exports")
    assert "最多" in third.json["detail"], third.json["detail"]
    assert _jobs(app) == 2
    assert _start(app, site, who="colleague").status_code == 202  # the limit is per user
    _client(app).post(
        f"/api/v1/export-jobs/{first.json['id']}/cancel", headers=site["tokens"]["operator"]
    )
    blocked = _start(app, site)  # cancelled: room for one more
    assert blocked.status_code == 202
    again = _client(app).post(
        f"/api/v1/export-jobs/{first.json['id']}/retry", headers=site["tokens"]["operator"]
    )
    assert (
        again.status_code == 429 and _job(app, site, first.json["id"]).json["status"] == "cancelled"
    )


def test_files_expire_and_the_scheduled_prune_deletes_them(app, site):
    job_id = _start(app, site).json["id"]
    _run_worker(app)
    declared = {job.id: job for job in scheduler.jobs(app)}
    assert declared["exports-prune"].trigger == "interval" and declared[
        "exports-prune"
    ].schedule == {"minutes": 30}
    assert scheduler.run_job(app, declared["exports-prune"]) == {"deleted": 0}  # not yet expired
    with app.app_context():
        assert export_jobs.prune_expired(utcnow() + timedelta(hours=23)) == 0
        assert export_jobs.prune_expired(utcnow() + timedelta(hours=24, minutes=1)) == 1
        _db.session.remove()
    gone = _job(app, site, job_id).json
    assert (
        gone["status"] == "done"
        and gone["expired"]
        and gone["download_url"] is None
        and not gone["can_retry"]
    )
    file = _client(app).get(
        f"/api/v1/export-jobs/{job_id}/file", headers=site["tokens"]["operator"]
    )
    assert file.status_code == 410 and file.json["type"].endswith("export-expired")


def test_only_the_owner_sees_an_export_and_its_file_holds_only_what_they_may_read(app, site):
    job_id = _start(app, site, filters={}).json["id"]  # every lot the operator may read
    _run_worker(app)
    mine = _client(app).get(
        f"/api/v1/export-jobs/{job_id}/file", headers=site["tokens"]["operator"]
    )
    assert (
        mine.status_code == 200 and b"EX-L000" in mine.data and b"EX-RESTRICTED-B" not in mine.data
    )
    for who in ("colleague", "stranger", "commander", "admin"):
        for method, url in (("GET", ""), ("GET", "/file"), ("POST", "/cancel"), ("POST", "/retry")):
            response = _client(app).open(
                f"/api/v1/export-jobs/{job_id}{url}", method=method, headers=site["tokens"][who]
            )
            assert response.status_code == 404, (who, url, response.status_code)
        listed = _client(app).get("/api/v1/export-jobs", headers=site["tokens"][who]).json
        assert listed["total"] == 0, who
    assert (
        _client(app)
        .get(f"/api/v1/export-jobs/{job_id}", headers=site["tokens"]["supplier"])
        .status_code
        == 403
    )
    assert _client(app).get("/api/v1/export-jobs").status_code == 401
    assert (
        _client(app).get("/api/v1/export-jobs", headers=site["tokens"]["operator"]).json["total"]
        == 1
    )
    # the commander's own export reads B's restricted lot (command staff do); the operator's never did
    cmd_id = _start(app, site, who="commander", filters={}).json["id"]
    _run_worker(app)
    theirs = _client(app).get(
        f"/api/v1/export-jobs/{cmd_id}/file", headers=site["tokens"]["commander"]
    )
    assert b"EX-RESTRICTED-B" in theirs.data


@pytest.mark.parametrize(
    "body",
    [
        {"export": "everything"},
        {"export": "stock", "format": "pdf"},
        {"export": "stock", "filters": {"agency_id": "x"}},
        {"export": "stock", "filters": {"agency_id": 2**70}},
        {"export": "stock", "filters": {"expiring_within_days": 10**9}},
        {"export": "stock", "filters": {"secret_column": 1}},
        {"export": "stock", "filters": {f"k{n}": 1 for n in range(30)}},
        {"export": "sharing", "filters": {}},
        {"export": "sharing", "filters": {"kind": "passwords"}},
        {"export": "stock", "owner": 1},
    ],
)
def test_bad_input_is_refused_and_changes_nothing(app, site, body):
    response = _client(app).post(
        "/api/v1/export-jobs", json=body, headers=site["tokens"]["operator"]
    )
    assert response.status_code == 422, (body, response.status_code, response.text)
    assert response.json["detail"] and _jobs(app) == 0


def test_unknown_or_impossible_ids_answer_404(app, site):
    for url in (
        "/api/v1/export-jobs/999999",
        "/api/v1/export-jobs/999999/file",
        f"/api/v1/export-jobs/{2**70}",
    ):
        assert _client(app).get(url, headers=site["tokens"]["operator"]).status_code == 404, url


def test_an_external_client_exports_only_within_its_scopes(app, site):
    admin = site["tokens"]["admin"]
    made = _client(app).post(
        "/api/v1/sharing/clients",
        headers=admin,
        json={"name": "外部导出系统", "agency_id": site["A"], "scopes": ["read:depots"]},
    )
    assert made.status_code == 201, made.text
    headers = {"Authentication-Token": made.json["token"]}
    refused = _client(app).post(
        "/api/v1/export-jobs", headers=headers, json={"export": "stock", "filters": {}}
    )
    assert refused.status_code == 403 and "read:stock" in refused.json["detail"]
    refused = _client(app).post(
        "/api/v1/export-jobs",
        headers=headers,
        json={"export": "sharing", "filters": {"kind": "stock"}},
    )
    assert refused.status_code == 403 and _jobs(app) == 0
    allowed = _client(app).post(
        "/api/v1/export-jobs",
        headers=headers,
        json={"export": "sharing", "format": "csv", "filters": {"kind": "depots"}},
    )
    assert allowed.status_code == 202, allowed.text
    assert _run_worker(app) == 1
    done = _client(app).get(allowed.headers["Location"], headers=headers).json
    assert done["status"] == "done"
    assert _client(app).get(done["download_url"], headers=headers).status_code == 200
    assert _job(app, site, allowed.json["id"], who="operator").status_code == 404


def test_the_stock_page_downloads_a_small_export_and_starts_a_job_for_a_large_one(app, site):
    from tests.conftest import csrf_token, log_in

    client = _client(app)
    assert log_in(client, "ex-op@example.org", PASSWORD).status_code == 302
    page = client.get("/stock")
    assert page.status_code == 200 and 'action="/exports"' in page.text and "我的导出" in page.text
    token = csrf_token(page.text)
    small = client.post(
        "/exports",
        data={
            "csrf_token": token,
            "export": "stock",
            "format": "csv",
            "depot_id": str(site["small"]),
        },
    )
    assert small.status_code == 303 and "/api/v1/stock/export" in small.headers["Location"]
    assert _jobs(app) == 0
    large = client.post(
        "/exports",
        data={
            "csrf_token": token,
            "export": "stock",
            "format": "xlsx",
            "agency_id": str(site["A"]),
        },
    )
    assert large.status_code == 303 and "/exports/" in large.headers["Location"]
    followed = client.get(large.headers["Location"])
    assert (
        followed.status_code == 200
        and 'id="export-job"' in followed.text
        and "排队" in followed.text
    )
    bad = client.post(
        "/exports",
        data={
            "csrf_token": token,
            "export": "stock",
            "format": "csv",
            "expiring_within_days": "-3",
            "back": "/stock",
        },
    )
    assert bad.status_code == 303 and bad.headers["Location"].endswith("/stock") and _jobs(app) == 1
    for away in ("//evil.example/x", "/\\evil.example", "https://evil.example/"):
        sent = client.post(
            "/exports",
            data={
                "csrf_token": token,
                "export": "stock",
                "format": "csv",
                "expiring_within_days": "-3",
                "back": away,
            },
        )
        assert sent.headers["Location"].endswith("/exports"), away
    assert (
        client.post(
            "/exports", data={"csrf_token": token, "export": "passwords", "format": "csv"}
        ).status_code
        == 400
    )
    _run_worker(app)
    listing = client.get("/exports")
    assert listing.status_code == 200 and "库存批次" in listing.text and "下载" in listing.text
    assert "UTC" not in listing.text
