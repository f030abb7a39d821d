"""Bulk inserts: on PostgreSQL COPY writes exactly the rows an executemany INSERT writes (and
raises the same errors); the change log sees COPYed movements."""

from datetime import date, datetime

import pytest
from sqlalchemy import exc, insert, select

from core.extensions import db as _db
from reserve.stock.models import Movement, StockLot
from reserve.stock import bulk
from reserve.sharing.models import SharedChange
from tests import factories

ODD_TEXT = ["tab\there", "new\nline", "back\\slash", "\\N", "引号\"和'逗号,", "", " spaced "]


@pytest.fixture
def place(app, make_agency):
    agency = make_agency("BK-A")
    with app.app_context():
        return {
            "agency": agency,
            "depot": factories.depot(agency, "BK-D1").id,
            "material": factories.catalog_material("001").id,
        }


def lot_rows(place, prefix: str) -> list[dict]:
    now = datetime(2026, 11, 21, 8, 30, 15, 123456)
    return [
        {
            "depot_id": place["depot"],
            "material_id": place["material"],
            "lot_no": f"{prefix}{n}",
            "owner_agency_id": place["agency"],
            "on_hand": n * 7,
            "reserved": 0,
            "created_at": now,
            "reserve_type": "agreement" if n % 2 else "physical",
            "classification": "restricted" if n % 3 else "public",
            "production_date": date(2026, 1, n + 1) if n % 2 else None,
            "expiry_date": date(2028, 2, 28),
            "enterprise_name": text,
            "enterprise_credit_code": None,
            "units_per_day": n or None,
            "lead_time_h": n / 3 if n else None,
            "contract_valid_from": None,
            "contract_valid_to": date(2027, 1, 1),
        }
        for n, text in enumerate(ODD_TEXT)
    ]


def stored_lots(prefix: str) -> list[dict]:
    columns = [c for c in StockLot.__table__.columns if c.name not in ("id", "lot_no")]
    rows = _db.session.execute(
        select(StockLot.lot_no, *columns)
        .where(StockLot.lot_no.like(f"{prefix}%"))
        .order_by(StockLot.lot_no)
    ).mappings()
    return [{**row, "lot_no": row["lot_no"][len(prefix) :]} for row in rows]


def is_postgresql() -> bool:
    return _db.session.get_bind().dialect.name == "postgresql"


def test_copy_writes_the_same_rows_as_an_insert(app, place):
    with app.app_context():
        if not is_postgresql():
            pytest.skip("COPY is the PostgreSQL path; SQLite inserts with executemany")
        _db.session.execute(insert(StockLot.__table__), lot_rows(place, "I"))
        bulk.insert_rows(StockLot.__table__, lot_rows(place, "C"))
        assert stored_lots("C") == stored_lots("I") and len(stored_lots("C")) == len(ODD_TEXT)
        lots = dict(_db.session.execute(select(StockLot.id, StockLot.lot_no)).all())
        by_no = {no: lot_id for lot_id, no in lots.items()}

        def moves(prefix):
            return [
                {
                    "lot_id": by_no[f"{prefix}{n}"],
                    "kind": "receipt",
                    "on_hand_delta": n * 7,
                    "reserved_delta": 0,
                    "occurred_at": datetime(2026, 11, 20),
                    "recorded_at": datetime(2026, 11, 21, 1, 2, 3, 4),
                    "reason": text or None,
                    "reference": f"{prefix}-{n}",
                    "reverses_id": None,
                    "user_id": None,
                }
                for n, text in enumerate(ODD_TEXT)
            ]

        _db.session.execute(insert(Movement.__table__), moves("I"))
        bulk.insert_rows(Movement.__table__, moves("C"))
        stored = {
            prefix: [
                (lots[r[0]][1:], *r[1:])
                for r in _db.session.execute(
                    select(
                        Movement.lot_id,
                        Movement.kind,
                        Movement.on_hand_delta,
                        Movement.reserved_delta,
                        Movement.occurred_at,
                        Movement.recorded_at,
                        Movement.reason,
                        Movement.reverses_id,
                        Movement.user_id,
                    )
                    .where(Movement.reference.like(f"{prefix}-%"))
                    .order_by(Movement.reference)
                )
            ]
            for prefix in "IC"
        }
        assert stored["C"] == stored["I"] and len(stored["C"]) == len(ODD_TEXT)
        changed = set(
            _db.session.scalars(select(SharedChange.record_id).where(SharedChange.kind == "stock"))
        )
        assert {by_no[f"C{n}"] for n in range(len(ODD_TEXT))} <= changed  # announced on rows_copied


def test_copy_raises_what_the_insert_raises_and_wants_python_side_defaults_given(app, place):
    with app.app_context():
        rows = lot_rows(place, "D")[:1]
        bulk.insert_rows(StockLot.__table__, rows)
        with pytest.raises(exc.IntegrityError):  # the lot key is unique, on either path
            bulk.insert_rows(StockLot.__table__, rows)
        _db.session.rollback()
        if is_postgresql():
            with pytest.raises(ValueError, match="created_at"):
                bulk.insert_rows(
                    StockLot.__table__, [{k: v for k, v in rows[0].items() if k != "created_at"}]
                )
