"""Faults injected into a running system, on SQLite and PostgreSQL: the database connection
killed mid-request, the process killed while it applies an import, the disk full, the active
scheduler killed. Each time: a clean refusal (503) or nothing at all, nothing half-written,
and the next attempt works and counts once.

The subprocess cases are bounded (an import of 20,000 rows, a scheduler poll of half a second)
and marked `slow`; they run in CI with the rest (about a minute together).
"""

import csv
import errno
import io
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from flask_security import hash_password
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from core.auth import OPERATOR
from core.extensions import db as _db
from core.extensions import security
from public_site.models import Supplier
from core.organisation import Agency
from reserve.stock.models import Movement, StockLot
from reserve.reporting.models import Submission
from reserve.stock import ledger
from reserve.stock.ledger import LotFacts
from reserve.services.reference import load_regions
from reserve.warnings.models import WarningScan
from tests import factories
from tests.public_site.portal_helpers import PNG, portal, register  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
DEADLINE = 90  # seconds any subprocess case may take before the test gives up


@pytest.fixture
def store(app, committed):
    """Committed for real (faults hit real connections and other processes): an agency with a
    depot, an operator with an API token, a lot of 100 tents."""
    with app.app_context():
        load_regions()
        agency = Agency(code="FAULT", name="故障注入单位", kind="city", path="")
        _db.session.add(agency)
        _db.session.flush()
        agency.path = f"/{agency.id}/"
        operator = security.datastore.create_user(
            email="fault-op@example.org",
            password=hash_password("x-Y-123456"),
            roles=[OPERATOR],
            agency_id=agency.id,
        )
        _db.session.commit()
        material = factories.catalog_material("001", "单帐篷")
        depot = factories.depot(agency.id, "FAULT-D1", "140105")
        lot_id = ledger.record_receipt(
            operator, depot_id=depot.id, material_id=material.id, quantity=100, facts=LotFacts("F1")
        ).lot_id
        token = operator.get_auth_token()
        _db.session.commit()
        return {
            "agency": agency.id,
            "depot": depot.id,
            "material": material.id,
            "lot": lot_id,
            "operator": operator.id,
            "email": operator.email,
            "headers": {"Authentication-Token": token},
        }


def _lot(app, lot_id):
    with app.app_context():
        lot = _db.session.get(StockLot, lot_id)
        moved = _db.session.scalar(
            select(func.coalesce(func.sum(Movement.on_hand_delta), 0)).where(
                Movement.lot_id == lot_id
            )
        )
        return lot.on_hand, moved


# --- the database connection killed mid-request ---------------------------------------------


def _kill_on_movement_insert(app):
    """Arm a hook that kills the request's own database connection just before it inserts the
    movement (after the guarded UPDATE of the lot): PostgreSQL's pg_terminate_backend from
    another connection; on SQLite, which has no server to lose, the driver's error for a
    database it cannot reach."""
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    state = {"armed": True, "killed": 0}

    def before(conn, cursor, statement, parameters, context, executemany):
        if not (state["armed"] and statement.lstrip().upper().startswith("INSERT INTO MOVEMENT")):
            return
        state["armed"] = False
        state["killed"] += 1
        if url.get_backend_name() == "postgresql":
            pid = conn.connection.dbapi_connection.info.backend_pid
            killer = create_engine(url, poolclass=NullPool)
            with killer.connect() as other:
                assert other.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar()
            killer.dispose()
            time.sleep(0.1)  # let the server close the socket
        else:
            raise sqlite3.OperationalError("unable to open database file")

    with app.app_context():
        engine = _db.engine
    event.listen(engine, "before_cursor_execute", before)
    return state, lambda: event.remove(engine, "before_cursor_execute", before)


def test_connection_killed_mid_request_answers_503_changes_nothing_and_the_retry_counts_once(
    app, store
):
    client = app.test_client()
    headers = {**store["headers"], "Idempotency-Key": "killed-1"}
    state, disarm = _kill_on_movement_insert(app)
    try:
        response = client.post(
            f"/api/v1/lots/{store['lot']}/issues", json={"quantity": 10}, headers=headers
        )
    finally:
        disarm()
    assert state["killed"] == 1
    assert response.status_code == 503, response.text
    assert response.mimetype == "application/problem+json" and response.headers["Retry-After"]
    assert response.json["type"] == "urn:emreserve:problem:database-unavailable"
    assert _lot(app, store["lot"]) == (
        100,
        100,
    )  # the guarded UPDATE before the kill was rolled back

    assert client.get("/healthz").status_code == 200
    retried = client.post(
        f"/api/v1/lots/{store['lot']}/issues", json={"quantity": 10}, headers=headers
    )
    assert retried.status_code == 201, retried.text  # a 5xx is not stored: the retry runs
    replayed = client.post(
        f"/api/v1/lots/{store['lot']}/issues", json={"quantity": 10}, headers=headers
    )
    assert replayed.status_code == 201 and replayed.headers["Idempotent-Replayed"] == "true"
    assert _lot(app, store["lot"]) == (90, 90)


# --- the process killed during an import ----------------------------------------------------

ROWS = 20_000


def _big_report(path: Path) -> None:
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
    for n in range(ROWS):
        writer.writerow(["FAULT-D1", "1010101001", "", f"K{n:06d}", str(1 + n % 500), "", ""])
    path.write_bytes(out.getvalue().encode())


def _cli_env(app) -> dict:
    env = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "APP_ENV": "development",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("FLASK_DEBUG", None)
    return env


def _submit_command(path: Path, store) -> list[str]:
    return [
        sys.executable,
        "-m",
        "flask",
        "--app",
        "core:create_app",
        "report",
        "submit",
        str(path),
        "--agency",
        "FAULT",
        "--kind",
        "stock",
        "--as",
        store["email"],
        "--yes",
    ]


def _submitted(app, database: Path | None) -> bool:
    """Has the import stored its validated submission? (On SQLite read with a plain connection:
    the app's sessions begin with BEGIN IMMEDIATE and would wait for the import's write lock.)"""
    if database is None:
        return bool(_state(app)[2])
    probe = sqlite3.connect(database, timeout=5, isolation_level=None)
    try:
        return probe.execute("SELECT count(*) FROM submission").fetchone()[0] > 0
    finally:
        probe.close()


def _sqlite_confirming(database: Path) -> bool:
    """Is the import inside its confirming transaction? Another connection holds SQLite's write
    lock (BEGIN IMMEDIATE is refused)."""
    probe = sqlite3.connect(database, timeout=0, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        probe.close()


IMPORT_APP_NAME = "fault-import"  # the killed import's PostgreSQL sessions carry this name


def _pg_import_blocked_after_writing(conn) -> bool:
    """Is the import's session waiting for a lock while it holds write locks on the lots and the
    movements, i.e. has it written the change set and not committed?"""
    return bool(
        conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity a WHERE a.application_name = :name AND a.wait_event_type = 'Lock' "
                "AND (SELECT count(DISTINCT l.relation) FROM pg_locks l WHERE l.pid = a.pid AND l.granted "
                "     AND l.mode = 'RowExclusiveLock' AND l.relation IN ('stock_lot'::regclass, 'movement'::regclass)) = 2"
            ),
            {"name": IMPORT_APP_NAME},
        ).scalar()
    )


def _pg_import_sessions(conn) -> int:
    return conn.execute(
        text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :name"),
        {"name": IMPORT_APP_NAME},
    ).scalar()


def _state(app):
    with app.app_context():
        lots = _db.session.scalar(
            select(func.count()).select_from(StockLot).where(StockLot.lot_no.like("K%"))
        )
        movements = _db.session.scalar(
            select(func.count()).select_from(Movement).where(Movement.reference.like("SUB-%"))
        )
        submissions = _db.session.execute(
            select(Submission.id, Submission.status).order_by(Submission.id)
        ).all()
        return lots, movements, [tuple(s) for s in submissions]


@pytest.mark.slow
def test_import_killed_while_applying_leaves_nothing_and_a_rerun_applies_once(app, store, tmp_path):
    report = tmp_path / "big.csv"
    _big_report(report)
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("sqlite"):
        _kill_sqlite_import(app, store, report, Path(make_url(uri).database))
    else:
        _kill_postgresql_import(app, store, report)

    lots, movements, submissions = _state(app)
    assert (lots, movements) == (0, 0)  # nothing of the change set survived
    assert [status for _id, status in submissions] == ["ready"]  # validated, never applied
    assert _lot(app, store["lot"]) == (100, 100)

    rerun = subprocess.run(
        _submit_command(report, store),
        env=_cli_env(app),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=DEADLINE,
    )
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert f"{ROWS} new" in rerun.stdout
    lots, movements, submissions = _state(app)
    assert (lots, movements) == (ROWS, ROWS)
    assert [status for _id, status in submissions] == ["ready", "applied"]

    again = subprocess.run(
        _submit_command(report, store),
        env=_cli_env(app),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=DEADLINE,
    )
    assert again.returncode == 0 and "0 new, 0 changed" in again.stdout, again.stdout + again.stderr
    assert _state(app)[:2] == (ROWS, ROWS)  # the same file again: applied once
    with app.app_context():
        total = _db.session.scalar(
            select(func.sum(StockLot.on_hand)).where(StockLot.lot_no.like("K%"))
        )
        assert total == sum(1 + n % 500 for n in range(ROWS))


def _kill_sqlite_import(app, store, report: Path, database: Path) -> None:
    """The confirmation's transaction holds the write lock from its first read, validates the
    file again (about as long as the upload took), then writes; the kill comes half-way through
    the validation time so it is surely still inside."""
    started = time.monotonic()
    child = subprocess.Popen(
        _submit_command(report, store),
        env=_cli_env(app),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = started + DEADLINE
    try:
        while (
            not _submitted(app, database) and child.poll() is None and time.monotonic() < deadline
        ):
            time.sleep(0.05)
        validating = time.monotonic() - started
        while (
            not _sqlite_confirming(database)
            and child.poll() is None
            and time.monotonic() < deadline
        ):
            time.sleep(0.02)
        time.sleep(min(max(validating / 20, 0.1), 1.0))
        assert child.poll() is None, (
            f"the import finished before it could be killed (ready after {validating:.1f} s, "
            f"now {time.monotonic() - started:.1f} s): " + child.stdout.read().decode()
        )
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL


def _kill_postgresql_import(app, store, report: Path) -> None:
    """Not a race: once the validated submission is stored, the test locks its row. The
    confirmation writes the lots, the movements and the rollups, then waits for that lock to
    mark the submission applied; it is killed while it waits, holding everything uncommitted."""
    engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"], poolclass=NullPool)
    child = subprocess.Popen(
        _submit_command(report, store),
        env={**_cli_env(app), "PGAPPNAME": IMPORT_APP_NAME},
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + DEADLINE
    try:
        with engine.connect() as holder:
            locked = None
            while locked is None and child.poll() is None and time.monotonic() < deadline:
                locked = holder.execute(
                    text("SELECT id FROM submission ORDER BY id LIMIT 1 FOR UPDATE")
                ).scalar()
                if locked is None:
                    holder.rollback()
                    time.sleep(0.02)
            with engine.connect() as probe:
                while (
                    not _pg_import_blocked_after_writing(probe)
                    and child.poll() is None
                    and time.monotonic() < deadline
                ):
                    probe.rollback()
                    time.sleep(0.05)
                assert child.poll() is None and _pg_import_blocked_after_writing(probe), (
                    "the import did not stop at the submission's lock: "
                    + child.stdout.read().decode()
                )
            os.kill(child.pid, signal.SIGKILL)
            child.wait(timeout=30)
            holder.rollback()  # the orphaned server session goes on, finds its client gone, rolls back
        with engine.connect() as probe:
            while _pg_import_sessions(probe) and time.monotonic() < deadline:
                probe.rollback()
                time.sleep(0.05)
            assert _pg_import_sessions(probe) == 0, (
                "the killed import's server session is still there"
            )
    finally:
        child.kill()
        child.wait(timeout=30)
        engine.dispose()
    assert child.returncode == -signal.SIGKILL


# --- disk full ------------------------------------------------------------------------------


def test_disk_full_while_storing_an_upload_is_refused_cleanly_and_then_works(
    app, db, portal, monkeypatch
):
    """The licence file hits ENOSPC half-way: 503, no partial file, no enterprise, no account;
    once there is space again the same registration goes through."""
    import builtins

    from public_site.services import uploads

    def full_disk_open(path, mode="r", *args, **kwargs):
        handle = builtins.open(path, mode, *args, **kwargs)
        if "b" in mode and "x" in mode:
            real_write = handle.write

            def write(data):
                real_write(data[: len(data) // 2])
                raise OSError(errno.ENOSPC, "No space left on device")

            return _Wrapped(handle, write)
        return handle

    client = app.test_client()
    with monkeypatch.context() as patched:
        patched.setattr(uploads, "open", full_disk_open, raising=False)
        refused = register(client, portal)
    assert refused.status_code == 503
    assert list(portal["uploads"].iterdir()) == []
    with app.app_context():
        assert _db.session.scalar(select(func.count()).select_from(Supplier)) == 0

    assert register(client, portal).status_code == 302
    assert len(list(portal["uploads"].iterdir())) == 1


class _Wrapped:
    def __init__(self, handle, write):
        self._handle, self.write = handle, write

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._handle.close()

    def __getattr__(self, name):
        return getattr(self._handle, name)


def test_database_full_is_refused_cleanly_and_writes_resume_when_space_returns(app, store):
    """SQLite: the database file may not grow (PRAGMA max_page_count, SQLite's own 'database or
    disk is full'). PostgreSQL's disk cannot be filled without root; its write errors take the
    same path (OperationalError -> 503), tested above with a killed connection."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("filling PostgreSQL's disk needs root; the SQLite file is limited instead")
    with app.app_context():
        engine = _db.engine
    raw = sqlite3.connect(
        make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database, isolation_level=None
    )
    raw.execute("VACUUM")  # no free pages left inside the file: the next write must grow it
    raw.close()

    def no_growth(conn):
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar()
        conn.exec_driver_sql(f"PRAGMA max_page_count = {pages}")

    def room(conn):
        conn.exec_driver_sql("PRAGMA max_page_count = 1073741823")

    client = app.test_client()
    rows = "\n".join(f"FAULT-D1,1010101001,,Z{n:05d},{n + 1},," for n in range(3000))
    body = (
        "depot_code,material_code,material_name,lot_no,quantity,expiry_date,production_date\n"
        + rows
    ).encode()

    def upload():
        return client.post(
            "/api/v1/submissions",
            headers=store["headers"],
            content_type="multipart/form-data",
            data={
                "file": (io.BytesIO(body), "full.csv"),
                "agency_id": str(store["agency"]),
                "kind": "stock",
                "mode": "incremental",
            },
        )

    try:
        event.listen(engine, "begin", no_growth)
        try:
            refused = upload()
        finally:
            event.remove(engine, "begin", no_growth)
        assert refused.status_code == 503, refused.text
        assert refused.json["type"] == "urn:emreserve:problem:database-unavailable"
        event.listen(engine, "begin", room)
        try:
            with app.app_context():
                assert _db.session.scalar(select(func.count()).select_from(Submission)) == 0
            accepted = upload()
        finally:
            event.remove(engine, "begin", room)
        assert accepted.status_code == 201, accepted.text
        assert _lot(app, store["lot"]) == (100, 100)
    finally:
        # Pooled connections that began while the file could not grow keep that page limit;
        # closed here, or a later test on this session's engine fails with "database is full".
        engine.dispose()


# --- the scheduler killed -------------------------------------------------------------------


def _scans(app) -> int:
    with app.app_context():
        return _db.session.scalar(select(func.count()).select_from(WarningScan))


def _wait_for_line(child, needle: str, deadline: float) -> str:
    seen = []
    while time.monotonic() < deadline:
        line = child.stdout.readline()
        if not line:
            break
        seen.append(line)
        if needle in line:
            return line
    raise AssertionError(f"no {needle!r} in: {''.join(seen)}")


@pytest.mark.slow
def test_killed_scheduler_is_replaced_by_the_standby(app, store, tmp_path):
    env = {**_cli_env(app), "SCHEDULER_LOCK_FILE": str(tmp_path / "scheduler.lock")}
    command = [
        sys.executable,
        "-m",
        "flask",
        "--app",
        "core:create_app",
        "scheduler",
        "run",
        "--poll",
        "0.5",
    ]
    deadline = time.monotonic() + DEADLINE
    active = subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    standby = None
    try:
        _wait_for_line(active, "scheduler active", deadline)
        while _scans(app) < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _scans(app) == 1  # the active one scanned at once
        standby = subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        _wait_for_line(standby, "standby", deadline)
        assert _scans(app) == 1  # the standby runs nothing

        os.kill(active.pid, signal.SIGKILL)
        active.wait(timeout=10)
        _wait_for_line(standby, "scheduler active", deadline)
        while _scans(app) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _scans(app) == 2  # it took over the lock and ran the jobs
    finally:
        for child in (active, standby):
            if child is not None and child.poll() is None:
                child.send_signal(signal.SIGKILL)
                child.wait(timeout=10)
