"""Migrations: a single head, and `upgrade` from an empty database yields exactly the models' schema."""

import os
import uuid
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import upgrade
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from core import create_app
from core.extensions import db
from tests.conftest import POSTGRES_SKIP

MIGRATIONS = str(Path(__file__).resolve().parent.parent / "migrations")


def test_there_is_exactly_one_head():
    config = Config(os.path.join(MIGRATIONS, "alembic.ini"))
    config.set_main_option("script_location", MIGRATIONS)
    assert len(ScriptDirectory.from_config(config).get_heads()) == 1


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrated.db'}"
        return
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        pytest.skip(POSTGRES_SKIP)
    name = f"emreserve_mig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_upgrade_from_empty_yields_the_models_schema(empty_database):
    app = create_app({"APP_ENV": "test", "SQLALCHEMY_DATABASE_URI": empty_database})
    with app.app_context():
        upgrade(directory=MIGRATIONS)
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": False})
            differences = compare_metadata(context, db.metadata)
        db.engine.dispose()
    assert differences == []


def test_upgrade_keeps_existing_agencies_whose_region_codes_arrive_with_the_region_table(empty_database):
    """0002 adds agency.region_code -> region; agencies created under 0001 must survive it."""
    app = create_app({"APP_ENV": "test", "SQLALCHEMY_DATABASE_URI": empty_database})
    with app.app_context():
        upgrade(directory=MIGRATIONS, revision="0001_foundation")
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO agency (code, name, kind, region_code, path, created_at) "
                              "VALUES ('DT-PC', '大同市平城区应急管理局', 'county', '140213', '/1/', CURRENT_TIMESTAMP)"))
        upgrade(directory=MIGRATIONS)
        with db.engine.connect() as conn:
            region = conn.execute(text("SELECT r.name FROM agency a JOIN region r ON r.code = a.region_code")).scalar()
        db.engine.dispose()
    assert region == "平城区"
