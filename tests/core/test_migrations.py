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

MIGRATIONS = str(Path(__file__).resolve().parents[2] / "migrations")


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
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "compare_server_default": False}
            )
            differences = compare_metadata(context, db.metadata)
        db.engine.dispose()
    assert differences == []


def test_upgrade_keeps_existing_agencies_whose_region_codes_arrive_with_the_region_table(
    empty_database,
):
    """0002 adds agency.region_code -> region; agencies created under 0001 must survive it."""
    app = create_app({"APP_ENV": "test", "SQLALCHEMY_DATABASE_URI": empty_database})
    with app.app_context():
        upgrade(directory=MIGRATIONS, revision="0001_foundation")
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO agency (code, name, kind, region_code, path, created_at) "
                    "VALUES ('DT-PC', '大同市平城区应急管理局', 'county', '140213', '/1/', CURRENT_TIMESTAMP)"
                )
            )
        upgrade(directory=MIGRATIONS)
        with db.engine.connect() as conn:
            region = conn.execute(
                text("SELECT r.name FROM agency a JOIN region r ON r.code = a.region_code")
            ).scalar()
        db.engine.dispose()
    assert region == "平城区"


def test_upgrade_fills_the_stock_rollups_from_existing_lots(empty_database):
    app = create_app({"APP_ENV": "test", "SQLALCHEMY_DATABASE_URI": empty_database})
    with app.app_context():
        upgrade(directory=MIGRATIONS, revision="0002_registry")
        with db.engine.begin() as conn:
            run = conn.execute
            run(
                text(
                    "INSERT INTO agency (id, code, name, kind, path, created_at) VALUES (1, 'M', '单位', 'city', '/1/', CURRENT_TIMESTAMP)"
                )
            )
            for code, level, parent in (
                ("1", 1, None),
                ("101", 2, "1"),
                ("10101", 3, "101"),
                ("1010101", 4, "10101"),
            ):
                run(
                    text(
                        "INSERT INTO category (code, name, level, parent_code, illustrative) VALUES (:c, :c, :l, :p, false)"
                    ),
                    {"c": code, "l": level, "p": parent},
                )
            run(
                text(
                    "INSERT INTO material (id, code, name, unit, unit_weight_kg, unit_volume_m3, category_code) "
                    "VALUES (1, '1010101001', '帐篷', '顶', 30, 0.2, '1010101')"
                )
            )
            for depot_id, region in ((1, "140105"), (2, "140213")):
                run(
                    text(
                        "INSERT INTO depot (id, agency_id, code, name, region_code, classification, status, created_at) "
                        "VALUES (:i, 1, :c, :c, :r, 'internal', 'active', CURRENT_TIMESTAMP)"
                    ),
                    {"i": depot_id, "c": f"D{depot_id}", "r": region},
                )
            for lot_id, depot_id, on_hand, reserved in ((1, 1, 10, 2), (2, 1, 5, 0), (3, 2, 0, 0)):
                run(
                    text(
                        "INSERT INTO stock_lot (id, depot_id, material_id, lot_no, reserve_type, owner_agency_id, "
                        "classification, on_hand, reserved, created_at) VALUES (:i, :d, 1, :n, 'physical', 1, "
                        "'internal', :h, :r, CURRENT_TIMESTAMP)"
                    ),
                    {"i": lot_id, "d": depot_id, "n": f"L{lot_id}", "h": on_hand, "r": reserved},
                )
        upgrade(directory=MIGRATIONS)
        with db.engine.connect() as conn:
            cities = conn.execute(
                text(
                    "SELECT city_code, lots, on_hand, reserved FROM stock_rollup_city "
                    "ORDER BY city_code"
                )
            ).all()
            agency = conn.execute(
                text("SELECT lots, on_hand, reserved, weight_kg FROM stock_rollup_agency")
            ).one()
        db.engine.dispose()
    assert [tuple(r) for r in cities] == [("1401", 2, 15, 2), ("1402", 0, 0, 0)]
    assert tuple(agency) == (2, 15, 2, 450)
