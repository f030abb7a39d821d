"""Totals kept by the ledger (rollups) always equal the live aggregation over the lots."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.auth import ADMIN, COMMANDER, VIEWER
from core.errors import Conflict, Invalid
from core.extensions import db as _db
from core.timeutil import local_today
from reserve.stock import queries as stock
from reserve.stock import ledger, rollup
from reserve.stock.ledger import LotFacts
from reserve.services.reference import load_regions
from tests import factories

GROUPS = ["material", "category", "region", "agency", "reserve_type"]


@pytest.fixture
def world(app, make_agency, make_user):
    root = make_agency("RU-ROOT", kind="provincial_department")
    a = make_agency("RU-A", parent=root)
    b = make_agency("RU-B", parent=root)
    with app.app_context():
        load_regions()
        ids = {
            "tent": factories.catalog_material("001", "帐篷").id,
            "quilt": factories.catalog_material("002", "棉被", weight_kg=3).id,
            "depots": [
                factories.depot(a, "RU-D1", "140105").id,
                factories.depot(b, "RU-D2", "140213").id,
                factories.depot(b, "RU-D3", "140213", classification="restricted").id,
                factories.depot(a, "RU-D4", "140106", classification="restricted").id,
            ],
        }
    return {
        **ids,
        "admin": make_user(ADMIN, agency=root)["id"],
        "commander": make_user(COMMANDER)["id"],
        "viewer": make_user(VIEWER, agency=a)["id"],
    }


def live_and_rollup(user, group_by, f=None):
    f = f or stock.StockFilter()
    live = stock.stock_totals(user, f, group_by, local_today(), use_rollup=False)
    kept = stock.stock_totals(user, f, group_by, local_today(), use_rollup=True)
    return live, kept


OPERATION = st.tuples(
    st.sampled_from(["receipt", "issue", "reserve", "release", "reverse", "transfer"]),
    st.integers(0, 3),
    st.sampled_from(["tent", "quilt"]),
    st.integers(1, 30),
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(operations=st.lists(OPERATION, min_size=1, max_size=20))
def test_rollups_equal_live_totals_after_any_ledger_sequence(app, world, operations):
    with app.app_context():
        admin = factories.user(world["admin"])
        movements = []
        for action, depot_index, material, n in operations:
            depot_id = world["depots"][depot_index]
            lot_no = f"RU-{material}"
            try:
                if action == "receipt":
                    movements.append(
                        ledger.record_receipt(
                            admin,
                            depot_id=depot_id,
                            material_id=world[material],
                            quantity=n,
                            facts=LotFacts(lot_no),
                        ).id
                    )
                else:
                    lot = stock_lot(depot_id, world[material], lot_no)
                    if lot is None:
                        continue
                    if action == "issue":
                        movements.append(ledger.record_issue(admin, lot, n).id)
                    elif action == "reserve":
                        movements.append(ledger.reserve_stock(admin, lot, n).id)
                    elif action == "release":
                        movements.append(ledger.release_stock(admin, lot, n).id)
                    elif action == "transfer":
                        target = world["depots"][(depot_index + 1) % 4]
                        movements.append(ledger.record_transfer(admin, lot, target, n)[0].id)
                    elif movements:
                        ledger.reverse_movement(admin, movements[n % len(movements)], reason="纠错")
            except (Conflict, Invalid):
                pass
        for user_id in (world["commander"], world["viewer"], world["admin"]):
            user = factories.user(user_id)
            for group_by in GROUPS:
                live, kept = live_and_rollup(user, group_by)
                assert kept == live, (group_by, user.email)
        _db.session.rollback()


def stock_lot(depot_id, material_id, lot_no):
    from sqlalchemy import select

    from reserve.stock.models import StockLot

    return _db.session.execute(
        select(StockLot.id).filter_by(depot_id=depot_id, material_id=material_id, lot_no=lot_no)
    ).scalar()


def test_rebuild_gives_what_the_ledger_kept(app, world):
    with app.app_context():
        admin = factories.user(world["admin"])
        ledger.record_receipt(
            admin,
            depot_id=world["depots"][0],
            material_id=world["tent"],
            quantity=5,
            facts=LotFacts("RB-1"),
        )
        before = stock.stock_totals(
            factories.user(world["commander"]),
            stock.StockFilter(),
            "agency",
            local_today(),
            use_rollup=True,
        )
        rollup.rebuild()
        after = stock.stock_totals(
            factories.user(world["commander"]),
            stock.StockFilter(),
            "agency",
            local_today(),
            use_rollup=True,
        )
        assert before == after and after


def test_filters_the_rollup_cannot_answer_fall_back_to_the_live_query(app, world):
    with app.app_context():
        assert not stock.can_use_rollup(
            factories.user(world["commander"]),
            stock.StockFilter(expiring_within_days=3),
            "material",
        )
        assert not stock.can_use_rollup(
            factories.user(world["commander"]), stock.StockFilter(region_code="140105"), "material"
        )  # a county: the rollup knows cities
        assert stock.can_use_rollup(
            factories.user(world["commander"]), stock.StockFilter(region_code="140100"), "material"
        )


def test_every_reader_gets_the_same_totals_from_the_rollups_as_from_the_lots(app, world):
    with app.app_context():
        admin = factories.user(world["admin"])
        for depot_id, quantity in zip(world["depots"], (10, 20, 30, 40), strict=True):
            for material in ("tent", "quilt"):
                ledger.record_receipt(
                    admin,
                    depot_id=depot_id,
                    material_id=world[material],
                    quantity=quantity,
                    facts=LotFacts(f"S-{material}"),
                )
        lot = stock_lot(world["depots"][1], world["tent"], "S-tent")
        ledger.reserve_stock(admin, lot, 5)
        ledger.record_issue(
            admin, stock_lot(world["depots"][0], world["quilt"], "S-quilt"), 10
        )  # empties it
        for user_id in (world["commander"], world["viewer"], world["admin"]):
            user = factories.user(user_id)
            for group_by in GROUPS:
                live, kept = live_and_rollup(user, group_by)
                assert kept == live and kept, (group_by, user.email)
        viewer = factories.user(world["viewer"])
        by_region = {
            t["label"]: t["on_hand"]
            for t in stock.stock_totals(viewer, stock.StockFilter(), "region", local_today())
        }
        assert (
            by_region["太原市"] == 10 + 10 + 40 + 40 - 10
        )  # own restricted depot counted, emptied lot too
        assert by_region["大同市"] == 20 + 20  # the other agency's restricted depot is not
