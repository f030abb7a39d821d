"""Restore drill on SQLite and PostgreSQL: back up a migrated database holding the demo
province and some ledger activity, restore it into a fresh database, and prove the copy:
same row counts and per-table checksums as the backup's manifest, every balance equal to the
sum of its movements and none negative, audit hash chain intact. Tampering is detected.

PostgreSQL runs need TEST_DATABASE_URL; scratch databases are created beside it, named
TEST_SCRATCH_DB_PREFIX (default "emreserve_scratch_") + a suffix, and dropped afterwards.
"""

import contextlib
import os
import uuid
from pathlib import Path

import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from core import backup, create_app
from core.auth import User
from core.demo import ensure_demo_accounts
from core.extensions import db as _db
from reserve import demo as reserve_demo
from reserve.stock.models import StockLot
from reserve.stock import ledger
from tests.conftest import POSTGRES_SKIP

ROOT = Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def scratch_database(backend: str, folder: Path):
    """A new, empty database; dropped on exit."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / (uuid.uuid4().hex + '.db')}"
        return
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        pytest.skip(POSTGRES_SKIP)
    name = os.environ.get("TEST_SCRATCH_DB_PREFIX", "emreserve_scratch_") + uuid.uuid4().hex[:10]
    admin = create_engine(base, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def load_source(url: str) -> None:
    """Migrations, the demo province, and movements of every kind a backup must keep balanced."""
    app = create_app({"APP_ENV": "test", "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        reserve_demo.build_demo("province")
        ensure_demo_accounts()
        admin = _db.session.scalar(select(User).filter_by(email="admin@example.org"))
        lots = _db.session.scalars(
            select(StockLot).where(StockLot.on_hand >= 10).order_by(StockLot.id).limit(20)
        ).all()
        for lot in lots:
            ledger.record_issue(admin, lot.id, 3, reason="drill")
            ledger.reserve_stock(admin, lot.id, 2, reference="drill")
        ledger.release_stock(admin, lots[0].id, 1, reference="drill")
        _db.session.remove()
        _db.engine.dispose()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def source(request, tmp_path_factory):
    """Loaded once per database kind; the tests only read it."""
    with scratch_database(request.param, tmp_path_factory.mktemp("source")) as url:
        load_source(url)
        yield request.param, url


@pytest.fixture
def drill(source, tmp_path):
    backend, url = source
    with scratch_database(backend, tmp_path) as target:
        yield {"source": url, "target": target, "file": tmp_path / f"backup.{backend}"}


def execute(url: str, sql: str) -> None:
    engine = create_engine(url, poolclass=NullPool)
    with engine.begin() as conn:
        conn.execute(text(sql))
    engine.dispose()


def test_restored_database_equals_the_backup_and_keeps_every_invariant(drill):
    manifest = backup.create_backup(drill["source"], drill["file"])
    assert (
        manifest.tables["stock_lot"].rows >= 1500
        and manifest.tables["movement"].rows > manifest.tables["stock_lot"].rows
    )
    assert manifest.tables["audit_log"].rows > 0 and manifest.tables["alembic_version"].rows == 1

    seconds = backup.restore_backup(drill["file"], drill["target"])
    report = backup.verify(drill["target"], backup.Manifest.read(drill["file"]).tables)

    assert report.mismatches == [] and report.ledger_problems == [] and report.audit_problem is None
    assert report.audit_rows == manifest.tables["audit_log"].rows
    assert {n: t.rows for n, t in report.tables.items()} == {
        n: t.rows for n, t in manifest.tables.items()
    }
    assert seconds < 60


def test_drill_detects_changed_balances_lost_rows_and_edited_audit_entries(drill):
    backup.create_backup(drill["source"], drill["file"])
    backup.restore_backup(drill["file"], drill["target"])
    execute(
        drill["target"],
        "UPDATE stock_lot SET on_hand = on_hand + 1 WHERE id = (SELECT MIN(id) FROM stock_lot)",
    )
    execute(
        drill["target"], "DELETE FROM reserve_norm WHERE id = (SELECT MIN(id) FROM reserve_norm)"
    )
    execute(
        drill["target"],
        "UPDATE audit_log SET actor = 'someone else' WHERE id = (SELECT MAX(id) FROM audit_log)",
    )

    report = backup.verify(drill["target"], backup.Manifest.read(drill["file"]).tables)

    assert not report.ok
    assert any(m.startswith("table stock_lot: same row count") for m in report.mismatches)
    assert any(m.startswith("table reserve_norm:") and "rows" in m for m in report.mismatches)
    assert len(report.ledger_problems) == 1 and report.ledger_problems[0].startswith("lot ")
    assert report.audit_problem and "edited" in report.audit_problem


def test_restore_refuses_a_database_that_is_not_empty(drill):
    backup.create_backup(drill["source"], drill["file"])
    with pytest.raises(RuntimeError, match="not empty"):
        backup.restore_backup(drill["file"], drill["source"])
    with pytest.raises(FileExistsError):
        backup.create_backup(drill["source"], drill["file"])


def test_cli_creates_restores_and_verifies(drill):
    app = create_app({"APP_ENV": "test", "SQLALCHEMY_DATABASE_URI": drill["source"]})
    runner = app.test_cli_runner()
    created = runner.invoke(args=["backup", "create", str(drill["file"])])
    assert created.exit_code == 0, created.output
    restored = runner.invoke(
        args=["backup", "restore", str(drill["file"]), "--into", drill["target"]]
    )
    assert restored.exit_code == 0, restored.output
    assert "OK: content equals the backup's manifest" in restored.output
    execute(
        drill["target"],
        "UPDATE stock_lot SET reserved = reserved + 1 WHERE id = (SELECT MIN(id) FROM stock_lot)",
    )
    checked = runner.invoke(args=["backup", "verify", "--url", drill["target"]])
    assert checked.exit_code == 1 and "PROBLEM lot" in checked.output
