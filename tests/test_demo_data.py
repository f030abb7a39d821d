"""The demo province: the earlier platform's shape, deterministic, ledger consistent."""

import hashlib
from datetime import date

from sqlalchemy import func, select

from core.audit import verify_chain
from core.extensions import db as _db
from reserve import demo
from reserve.models import Agency, Category, Depot, Material, Movement, Region, StockLot, TransportCapacity

AS_OF = date(2026, 11, 21)


def _digest() -> str:
    rows = _db.session.execute(select(Depot.code, StockLot.lot_no, Material.code, StockLot.on_hand,
                                      StockLot.expiry_date, StockLot.reserve_type)
                               .join(Depot, StockLot.depot_id == Depot.id).join(Material, StockLot.material_id == Material.id)
                               .order_by(StockLot.lot_no)).all()
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def _count(model) -> int:
    return _db.session.scalar(select(func.count()).select_from(model))


def test_province_demo_has_the_earlier_platforms_shape_and_is_deterministic(app, db):
    connection = db._app_engines[app][None]
    digests = []
    with app.app_context():
        for _ in range(2):
            savepoint = connection.begin_nested()
            counts = demo.build_demo("province", seed=7, as_of=AS_OF)
            assert (_count(Agency), _count(Depot), _count(StockLot), _count(TransportCapacity), _count(Category)) == \
                (27, 232, 1522, 1111, 756)
            assert counts.plans >= 3 and counts.norms > 0
            digests.append(_digest())
            _db.session.remove()  # end the session's own savepoint before dropping ours
            savepoint.rollback()
    assert digests[0] == digests[1]


def test_demo_ledger_matches_balances_and_has_warnings_to_find(app, db):
    with app.app_context():
        demo.build_demo("province", seed=2026, as_of=AS_OF)
        mismatched = _db.session.scalar(
            select(func.count()).select_from(StockLot).where(
                StockLot.on_hand != select(func.sum(Movement.on_hand_delta)).where(Movement.lot_id == StockLot.id)
                .scalar_subquery()))
        assert mismatched == 0
        assert 0 < demo.lots_near_expiry(AS_OF, 90) < 1522
        assert _db.session.scalar(select(func.count()).select_from(StockLot).where(StockLot.expiry_date < AS_OF)) > 0
        depots_outside = _db.session.scalar(select(func.count()).select_from(Depot).join(Region).where(
            Region.valid_to.is_not(None)))
        assert depots_outside == 0  # depots sit in divisions in force
        assert verify_chain().ok


def test_demo_refuses_a_database_that_has_data(app, db, make_agency):
    make_agency("EXISTING")
    with app.app_context():
        try:
            demo.build_demo("province", as_of=AS_OF)
        except RuntimeError as exc:
            assert "empty" in str(exc)
        else:
            raise AssertionError("demo data was loaded over existing data")
