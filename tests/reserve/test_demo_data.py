"""The demo province: the earlier platform's shape, deterministic, ledger consistent."""

import hashlib
from datetime import date

from sqlalchemy import func, select

from core.audit import verify_chain
from core.extensions import db as _db
from reserve import demo
from core.organisation import Agency, Region
from reserve.models import Category, Depot, Material, TransportCapacity
from reserve.stock.models import Movement, StockLot

AS_OF = date(2026, 11, 21)


def _digest() -> str:
    rows = _db.session.execute(
        select(
            Depot.code,
            StockLot.lot_no,
            Material.code,
            StockLot.on_hand,
            StockLot.expiry_date,
            StockLot.reserve_type,
        )
        .join(Depot, StockLot.depot_id == Depot.id)
        .join(Material, StockLot.material_id == Material.id)
        .order_by(StockLot.lot_no)
    ).all()
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
            assert (
                _count(Agency),
                _count(Depot),
                _count(StockLot),
                _count(TransportCapacity),
                _count(Category),
            ) == (27, 232, 1522, 1111, 756)
            assert counts.plans >= 3 and counts.norms > 0
            assert (
                counts.lots == counts.movements == _count(Movement) == 1522
            )  # one opening receipt per lot
            digests.append(_digest())
            _db.session.remove()  # end the session's own savepoint before dropping ours
            savepoint.rollback()
    assert digests[0] == digests[1]


def test_demo_ledger_matches_balances_and_has_warnings_to_find(app, db):
    with app.app_context():
        demo.build_demo("province", seed=2026, as_of=AS_OF)
        mismatched = _db.session.scalar(
            select(func.count())
            .select_from(StockLot)
            .where(
                StockLot.on_hand
                != select(func.sum(Movement.on_hand_delta))
                .where(Movement.lot_id == StockLot.id)
                .scalar_subquery()
            )
        )
        assert mismatched == 0
        assert 0 < demo.lots_near_expiry(AS_OF, 90) < 1522
        assert (
            _db.session.scalar(
                select(func.count()).select_from(StockLot).where(StockLot.expiry_date < AS_OF)
            )
            > 0
        )
        depots_outside = _db.session.scalar(
            select(func.count()).select_from(Depot).join(Region).where(Region.valid_to.is_not(None))
        )
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


def test_demo_tells_a_believable_story_norms_calendar_drill_and_open_incident(app, db):
    """Issue 17 item 12: relief standards size a point of 1,800 people in hundreds, the reporting
    calendar starts with the demo, a finished drill has its after-action figures, and an open
    incident's plan waits for the commander."""
    from core.demo import ensure_demo_accounts
    from core.todos import todo_list
    from dispatch import demo as dispatch_demo
    from dispatch.models import Incident, PlanVersion
    from dispatch.services import after_action
    from reserve.reporting import freshness
    from tests import factories

    with app.app_context():
        demo.build_demo("province", seed=2026, as_of=AS_OF)
        ensure_demo_accounts()
        dispatch_demo.build_dispatch_demo()
        admin = _db.session.execute(
            select(factories.User).filter_by(email="admin@example.org")
        ).scalar_one()
        commander = _db.session.execute(
            select(factories.User).filter_by(email="commander@example.org")
        ).scalar_one()
        drill = _db.session.execute(select(Incident).filter_by(drill=True)).scalar_one()
        report = after_action.report(admin, drill.id)
        by_material = {
            d["material"]: d["quantity"]
            for d in report["demands"]
            if d["point"] == "小店区体育馆安置点"
        }
        assert (
            by_material["单帐篷"] == 180 and by_material["棉被"] == 540
        )  # not 4 quilts for 1,800 people
        assert drill.status == "closed" and report["consumed"] and report["returned"]
        open_incident = _db.session.execute(select(Incident).filter_by(drill=False)).scalar_one()
        assert open_incident.status == "responding"
        assert (
            _db.session.scalar(select(PlanVersion.status).filter_by(incident_id=open_incident.id))
            == "draft"
        )
        assert [g.kind for g in todo_list(commander)] == ["plan_approval"]
        rows = freshness.scoreboard(
            admin, "stock", date(2026, 11, 28), periods=6
        )  # a week after the start
        assert {s for row in rows for s in row.statuses[:-1]} <= {
            "not_started"
        }  # nobody missed months before
        assert {row.statuses[-1] for row in rows} == {"open"}
