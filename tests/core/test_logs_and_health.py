"""Logging (LOG_LEVEL, LOG_FORMAT=json, the request id on every line of a request, job start and
end at INFO), /version, the heartbeat gauges at /metrics and the scheduler's declared jobs."""

import io
import json
import logging
import re
import time
from datetime import timedelta

import pytest

from core import background, create_app, scheduler
from core.auth import COMMANDER
from core.extensions import db as _db
from core.logs import init_logging
from core.timeutil import utcnow


@pytest.fixture
def captured(app):
    """The app's log handler installed (as outside tests) into a buffer, JSON lines."""
    stream = io.StringIO()
    app.config.update(LOG_HANDLER=True, LOG_FORMAT="json", LOG_LEVEL="INFO")
    init_logging(app, stream=stream)
    yield stream
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h.get_name() == "emreserve"]:
        root.removeHandler(handler)
    app.config.update(LOG_HANDLER=False, LOG_FORMAT="text")


def lines(stream) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_every_line_of_a_request_carries_its_request_id(app, db, client, captured, monkeypatch):
    def noisy():
        logging.getLogger("probe").info("first line")
        logging.getLogger("probe.deeper").warning("second line")
        return {"status": "ok"}

    monkeypatch.setitem(app.view_functions, "core.healthz", noisy)
    response = client.get("/healthz", headers={"X-Request-ID": "req-abc-123"})
    assert response.headers["X-Request-ID"] == "req-abc-123"
    mine = [line for line in lines(captured) if line["logger"].startswith("probe")]
    assert [(line["message"], line["request_id"], line["level"]) for line in mine] == [
        ("first line", "req-abc-123", "INFO"),
        ("second line", "req-abc-123", "WARNING"),
    ]


def test_text_format_and_level(app):
    stream = io.StringIO()
    probe = create_app(
        {
            "APP_ENV": "test",
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "LOG_HANDLER": True,
            "LOG_LEVEL": "warning",
        }
    )
    try:
        init_logging(probe, stream=stream)
        logging.getLogger("probe").info("dropped")
        logging.getLogger("probe").warning("kept")
        assert "dropped" not in stream.getvalue()
        assert re.search(r" WARNING \[-\] probe: kept", stream.getvalue())
        with pytest.raises(RuntimeError):
            create_app(
                {
                    "APP_ENV": "test",
                    "LOG_HANDLER": True,
                    "LOG_LEVEL": "chatty",
                    "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                }
            )
    finally:
        root = logging.getLogger()
        for handler in [h for h in root.handlers if h.get_name() == "emreserve"]:
            root.removeHandler(handler)
        root.setLevel(logging.WARNING)


def test_a_job_logs_its_start_and_end_with_its_id_and_the_request_that_queued_it(
    app, committed, captured
):
    from flask_security import hash_password

    from core import worker
    from core.extensions import security
    from dispatch.services import incidents
    from reserve.services.reference import load_regions

    with app.app_context():
        load_regions()
        commander = security.datastore.create_user(
            email="log-cmd@example.org", password=hash_password("x-Y-123456789"), roles=[COMMANDER]
        )
        _db.session.commit()
        token = commander.get_auth_token()
        incident = incidents.create_incident(
            commander,
            title="日志测试",
            incident_type="natural_disaster",
            level="II",
            region_code="140100",
        )
        incident_id = incident.id
    queued = app.test_client().post(
        f"/api/v1/incidents/{incident_id}/plans",
        json={"background": True},
        headers={"Authentication-Token": token, "X-Request-ID": "req-plan-1"},
    )
    assert queued.status_code == 202
    worker.run(app, once=True, echo=lambda _line: None)
    job_lines = [line for line in lines(captured) if line.get("job_id") == queued.json["id"]]
    messages = " | ".join(line["message"] for line in job_lines)
    assert "started" in messages and "failed" in messages, (
        messages
    )  # no demand: it fails, with its reason
    assert {line["request_id"] for line in job_lines} == {"req-plan-1"}
    assert all(line["level"] == "INFO" for line in job_lines)


def test_version_names_the_app_and_the_migration_head(client):
    answer = client.get("/version")
    assert answer.status_code == 200
    body = answer.json
    assert set(body) == {"version", "migration_head", "database_revision", "migrations_current"}
    assert body["version"] and re.match(r"^\d{4}_", body["migration_head"])
    assert (
        "SECRET" not in answer.text
        and "postgres" not in answer.text
        and "sqlite" not in answer.text
    )


def test_metrics_export_job_counts_and_process_heartbeats(app, committed):
    with app.app_context():
        background.record_heartbeat("worker", "host:1")
        background.record_heartbeat("scheduler", "host:2", utcnow() - timedelta(hours=2))
    text = app.test_client().get("/metrics").text
    assert re.search(r'emreserve_processes_alive\{process="worker"\} 1\.0', text)
    assert re.search(r'emreserve_processes_alive\{process="scheduler"\} 0\.0', text)
    beat = float(
        re.search(
            r'emreserve_process_heartbeat_timestamp_seconds\{process="worker"\} (\S+)', text
        ).group(1)
    )
    assert abs(beat - time.time()) < 60
    assert 'emreserve_background_jobs{status="queued"} 0.0' in text


def test_the_scheduler_declares_the_daily_checks_and_runs_them(app, committed):
    declared = {job.id: job for job in scheduler.jobs(app)}
    names = (
        "sharing-daily",
        "audit-verify",
        "backup-verify",
        "scheduler-heartbeat",
        "background-jobs-sweep",
    )
    assert set(names) <= set(declared)
    for name in names:
        outcome = scheduler.run_job(app, declared[name])
        assert outcome is not None, name
    assert scheduler.run_job(app, declared["audit-verify"])["ok"] is True
    assert scheduler.run_job(app, declared["backup-verify"])["ok"] is True
    with app.app_context():
        assert background.heartbeats()["scheduler"][1] == 1


def test_daily_jobs_run_at_their_hour_of_the_configured_zone(app, monkeypatch):
    """core's daily jobs and the features' alike (a feature declares none with a zone)."""
    monkeypatch.setitem(app.config, "DISPLAY_TIMEZONE", "Asia/Urumqi")
    daily = {
        job.id: job.schedule.get("timezone") for job in scheduler.jobs(app) if job.trigger == "cron"
    }
    assert {"audit-verify", "warnings-digest", "sharing-daily", "submissions-prune"} <= set(daily)
    assert set(daily.values()) == {"Asia/Urumqi"}, daily
