"""The stock ledger: balances equal the sum of movements, never negative, no oversell."""

import threading
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from core.auth import ADMIN, COMMANDER, OPERATOR, VIEWER
from core.errors import Conflict, Invalid, NotAllowed, NotFound
from core.extensions import db as _db
from core.timeutil import utcnow
from reserve.stock.models import Movement, StockLot
from reserve.stock import ledger
from reserve.stock.ledger import InsufficientStock, LotFacts
from tests import factories


@pytest.fixture
def world(app, make_agency, make_user):
    """An agency with a depot and an operator; a second agency with its own depot."""
    mine = make_agency("L-MINE", kind="city")
    other = make_agency("L-OTHER", kind="city")
    operator = make_user(OPERATOR, agency=mine)
    with app.app_context():
        material = factories.catalog_material()
        depot = factories.depot(mine, "D-MINE")
        depot2 = factories.depot(mine, "D-MINE-2")
        foreign = factories.depot(other, "D-OTHER")
        return {
            "agency": mine,
            "other": other,
            "operator": operator["id"],
            "material": material.id,
            "depot": depot.id,
            "depot2": depot2.id,
            "foreign": foreign.id,
        }


def receive(world, quantity, lot_no="L1", when=None, user_id=None):
    who = factories.user(user_id or world["operator"])
    return ledger.record_receipt(
        who,
        depot_id=world["depot"],
        material_id=world["material"],
        quantity=quantity,
        facts=LotFacts(lot_no),
        occurred_at=when,
    )


def balances(lot_id):
    _db.session.expire_all()
    lot = _db.session.get(StockLot, lot_id)
    sums = _db.session.execute(
        select(
            func.coalesce(func.sum(Movement.on_hand_delta), 0),
            func.coalesce(func.sum(Movement.reserved_delta), 0),
        ).where(Movement.lot_id == lot_id)
    ).one()
    return lot.on_hand, lot.reserved, sums[0], sums[1]


def test_receipt_opens_a_lot_and_issue_takes_from_it(app, world):
    with app.app_context():
        lot_id = receive(world, 100).lot_id
        ledger.record_issue(factories.user(world["operator"]), lot_id, 30)
        assert balances(lot_id) == (70, 0, 70, 0)


def test_issue_beyond_available_is_refused_and_changes_nothing(app, world):
    with app.app_context():
        lot_id = receive(world, 10).lot_id
        with pytest.raises(InsufficientStock):
            ledger.record_issue(factories.user(world["operator"]), lot_id, 11)
        assert balances(lot_id) == (10, 0, 10, 0)
        assert (
            _db.session.scalar(select(func.count(Movement.id)).where(Movement.lot_id == lot_id))
            == 1
        )


def test_reserved_units_stay_on_hand_but_cannot_be_issued(app, world):
    with app.app_context():
        operator = factories.user(world["operator"])
        lot_id = receive(world, 10).lot_id
        ledger.reserve_stock(operator, lot_id, 8)
        assert balances(lot_id) == (10, 8, 10, 8)
        with pytest.raises(InsufficientStock):
            ledger.record_issue(operator, lot_id, 3)
        with pytest.raises(InsufficientStock):
            ledger.reserve_stock(operator, lot_id, 3)
        ledger.release_stock(operator, lot_id, 8)
        with pytest.raises(InsufficientStock):
            ledger.release_stock(operator, lot_id, 1)
        assert balances(lot_id) == (10, 0, 10, 0)


def test_adjustment_needs_a_reason_and_count_moves_by_the_difference(app, world):
    with app.app_context():
        operator = factories.user(world["operator"])
        lot_id = receive(world, 50).lot_id
        with pytest.raises(Invalid):
            ledger.record_adjustment(operator, lot_id, -5, reason=" ")
        ledger.record_adjustment(operator, lot_id, -5, reason="破损")
        movement = ledger.record_count(operator, lot_id, 42)
        assert movement.on_hand_delta == -3
        assert balances(lot_id) == (42, 0, 42, 0)


def test_transfer_moves_stock_and_its_reversal_restores_both_depots(app, world):
    with app.app_context():
        operator = factories.user(world["operator"])
        lot_id = receive(world, 20).lot_id
        out, into = ledger.record_transfer(operator, lot_id, world["depot2"], 15)
        assert out.reference == into.reference
        assert balances(lot_id)[0] == 5 and balances(into.lot_id)[0] == 15
        reversals = ledger.reverse_movement(operator, out.id, reason="调错库")
        assert len(reversals) == 2
        assert balances(lot_id) == (20, 0, 20, 0) and balances(into.lot_id) == (0, 0, 0, 0)


def test_a_movement_is_reversed_once_and_a_reversal_never(app, world):
    with app.app_context():
        operator = factories.user(world["operator"])
        receipt = receive(world, 5)
        reversal = ledger.reverse_movement(operator, receipt.id, reason="录入错误")[0]
        with pytest.raises(Conflict):
            ledger.reverse_movement(operator, receipt.id, reason="again")
        with pytest.raises(Conflict):
            ledger.reverse_movement(operator, reversal.id, reason="undo the undo")
        assert balances(receipt.lot_id) == (0, 0, 0, 0)


def test_reversal_that_would_go_negative_is_refused(app, world):
    with app.app_context():
        operator = factories.user(world["operator"])
        receipt = receive(world, 5)
        ledger.record_issue(operator, receipt.lot_id, 4)
        with pytest.raises(InsufficientStock):
            ledger.reverse_movement(operator, receipt.id, reason="too late")


def test_back_dated_issue_that_would_dip_below_zero_is_refused(app, world):
    with app.app_context():
        operator = factories.user(world["operator"])
        now = utcnow()
        lot_id = receive(world, 10, when=now - timedelta(days=1)).lot_id
        with pytest.raises(Invalid):  # before the receipt there was nothing to issue
            ledger.record_issue(operator, lot_id, 5, occurred_at=now - timedelta(days=3))
        assert balances(lot_id) == (10, 0, 10, 0)
        ledger.record_issue(
            operator, lot_id, 5, occurred_at=now - timedelta(hours=12)
        )  # after it: fine
        receive(world, 3, when=now - timedelta(days=5))  # back-dated receipts are always fine
        assert balances(lot_id) == (8, 0, 8, 0)


def test_movements_in_the_future_are_refused(app, world):
    with app.app_context():
        with pytest.raises(Invalid):
            receive(world, 1, when=utcnow() + timedelta(days=1))


def test_lot_facts_are_checked_when_a_lot_opens(app, world):
    with app.app_context():
        operator = factories.user(world["operator"])
        bad_dates = LotFacts(
            "L9",
            production_date=datetime(2026, 5, 1).date(),
            expiry_date=datetime(2026, 1, 1).date(),
        )
        with pytest.raises(Invalid):
            ledger.record_receipt(
                operator,
                depot_id=world["depot"],
                material_id=world["material"],
                quantity=1,
                facts=bad_dates,
            )
        with pytest.raises(Invalid):
            ledger.record_receipt(
                operator,
                depot_id=world["depot"],
                material_id=world["material"],
                quantity=1,
                facts=LotFacts("A1", reserve_type="agreement"),
            )


def test_other_agencies_cannot_touch_the_lot(app, world, make_user):
    stranger = make_user(OPERATOR, agency=world["other"])
    viewer = make_user(VIEWER, agency=world["other"])
    commander = make_user(COMMANDER)
    with app.app_context():
        lot_id = receive(world, 10).lot_id
        with pytest.raises(NotFound):
            ledger.record_issue(factories.user(stranger["id"]), lot_id, 1)
        with pytest.raises(NotFound):
            ledger.record_receipt(
                factories.user(stranger["id"]),
                depot_id=world["depot"],
                material_id=world["material"],
                quantity=1,
                facts=LotFacts("X"),
            )
        with pytest.raises(NotAllowed):
            ledger.record_issue(factories.user(viewer["id"]), lot_id, 1)
        with pytest.raises(NotAllowed):
            ledger.record_issue(factories.user(commander["id"]), lot_id, 1)
        ledger.reserve_stock(
            factories.user(commander["id"]), lot_id, 4
        )  # commanders reserve for dispatch
        assert balances(lot_id) == (10, 4, 10, 4)


OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(["receipt", "issue", "reserve", "release", "adjust", "count", "reverse"]),
        st.integers(1, 40),
    ),
    min_size=1,
    max_size=25,
)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(operations=OPERATIONS)
def test_any_sequence_keeps_balances_equal_to_the_ledger_and_never_negative(app, world, operations):
    with app.app_context():
        operator = factories.user(world["operator"])
        lot_no = f"H{next(_counter)}"
        lot_id = receive(world, 1, lot_no=lot_no).lot_id
        history = []
        for action, n in operations:
            try:
                if action == "receipt":
                    history.append(receive(world, n, lot_no=lot_no).id)
                elif action == "issue":
                    history.append(ledger.record_issue(operator, lot_id, n).id)
                elif action == "reserve":
                    history.append(ledger.reserve_stock(operator, lot_id, n).id)
                elif action == "release":
                    history.append(ledger.release_stock(operator, lot_id, n).id)
                elif action == "adjust":
                    history.append(ledger.record_adjustment(operator, lot_id, -n, reason="盘亏").id)
                elif action == "count":
                    history.append(ledger.record_count(operator, lot_id, n).id)
                elif history:
                    ledger.reverse_movement(operator, history[n % len(history)], reason="纠错")
            except (Conflict, Invalid):
                pass  # refused: must change nothing, which the invariant below checks
            on_hand, reserved, ledger_on_hand, ledger_reserved = balances(lot_id)
            assert (on_hand, reserved) == (ledger_on_hand, ledger_reserved)
            assert 0 <= reserved <= on_hand


_counter = iter(range(10**9))


def test_fifty_threads_reserving_from_a_lot_of_100_never_oversell(app, committed):
    from flask_security import hash_password

    from core.extensions import security
    from core.organisation import Agency

    with app.app_context():
        agency = Agency(code="RACE", name="并发测试单位", kind="city", path="")
        _db.session.add(agency)
        _db.session.flush()
        agency.path = f"/{agency.id}/"
        commander = security.datastore.create_user(
            email="race@example.org", password=hash_password("x-Y-123456"), roles=[COMMANDER]
        )
        admin = security.datastore.create_user(
            email="race-admin@example.org", password=hash_password("x-Y-123456"), roles=[ADMIN]
        )
        _db.session.commit()
        material = factories.catalog_material()
        depot = factories.depot(agency.id, "RACE-D")
        lot_id = ledger.record_receipt(
            admin,
            depot_id=depot.id,
            material_id=material.id,
            quantity=100,
            facts=LotFacts("RACE-LOT"),
        ).lot_id
        commander_id = commander.id

    granted, refused, failed = [], [], []
    barrier = threading.Barrier(50)

    def worker(quantity):
        with app.app_context():
            user = factories.user(commander_id)
            _db.session.commit()  # end the read: on SQLite an open transaction holds the write lock
            barrier.wait()
            try:
                ledger.reserve_stock(user, lot_id, quantity)
                granted.append(quantity)
            except InsufficientStock:
                refused.append(quantity)
            except Exception as exc:  # noqa: BLE001 - any other outcome is a failure to report
                failed.append(repr(exc))
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=worker, args=(1 + i % 4,)) for i in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failed == []
    with app.app_context():
        lot = _db.session.get(StockLot, lot_id)
        ledger_reserved = _db.session.scalar(
            select(func.sum(Movement.reserved_delta)).where(Movement.lot_id == lot_id)
        )
    assert sum(granted) == lot.reserved == ledger_reserved
    assert lot.reserved <= 100
    # demand (50 threads x 1..4 = 125 units) exceeds the lot: some are refused, and each only
    # because fewer units than it asked for were left (availability only shrinks here); the
    # total granted can end below 100 when the last unit is left for requests of 2 or more
    left = 100 - sum(granted)
    assert refused and all(quantity > left for quantity in refused), (left, refused)


# --- back-dated stock counts (issue 15, item 3) -------------------------------------------------


def test_a_back_dated_count_books_against_the_balance_of_its_moment(app, world):
    with app.app_context():
        operator = factories.user(world["operator"])
        now = utcnow()
        lot_id = receive(world, 100, when=now - timedelta(days=3)).lot_id
        ledger.record_issue(operator, lot_id, 90, occurred_at=now - timedelta(days=2))
        receive(world, 100, when=now - timedelta(days=1))
        assert balances(lot_id)[0] == 110
        count = ledger.record_count(
            operator, lot_id, 100, occurred_at=now - timedelta(days=2, hours=12)
        )
        assert (
            count.on_hand_delta == 0
        )  # 100 on the shelf then, as the ledger said (the issue came later)
        assert balances(lot_id) == (110, 0, 110, 0)
        later = ledger.record_count(
            operator, lot_id, 30, occurred_at=now - timedelta(days=1, hours=12)
        )
        assert later.on_hand_delta == 20  # 30 found where the ledger said 10
        assert balances(lot_id) == (130, 0, 130, 0)  # the receipt after the count still counts


def test_a_movement_dated_before_a_later_count_is_refused_and_changes_nothing(app, world):
    with app.app_context():
        operator = factories.user(world["operator"])
        now = utcnow()
        lot_id = receive(world, 50, when=now - timedelta(days=3)).lot_id
        ledger.record_count(operator, lot_id, 40, occurred_at=now - timedelta(days=1))
        with pytest.raises(Invalid) as refused:
            ledger.record_issue(operator, lot_id, 5, occurred_at=now - timedelta(days=2))
        assert "occurred_at" in refused.value.errors
        with pytest.raises(Invalid):
            ledger.record_count(operator, lot_id, 7, occurred_at=now - timedelta(days=2))
        assert balances(lot_id) == (40, 0, 40, 0)
        ledger.record_issue(
            operator, lot_id, 5, occurred_at=now - timedelta(hours=1)
        )  # after the count: fine
        assert balances(lot_id) == (35, 0, 35, 0)


def replay(accepted):
    """The balance a clerk reads off the paper ledger: movements in time order (ties in the order
    they were booked), a count setting the quantity it found."""
    balance = 0
    for _when, _seq, action, n in sorted(accepted):
        balance = n if action == "count" else balance + n
    return balance


BACK_DATED = st.lists(
    st.tuples(
        st.sampled_from(["receipt", "issue", "adjust", "count"]),
        st.integers(0, 40),
        st.integers(0, 96),
    ),
    min_size=1,
    max_size=20,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(operations=BACK_DATED)
def test_back_dated_ledgers_agree_with_a_replay_in_time_order(app, world, operations):
    with app.app_context():
        operator = factories.user(world["operator"])
        lot_no = f"B{next(_counter)}"
        start = utcnow() - timedelta(days=5)
        lot_id = receive(world, 1, lot_no=lot_no, when=start).lot_id
        accepted = [(start, 0, "receipt", 1)]
        for seq, (action, n, hours_ago) in enumerate(operations, start=1):
            when = utcnow() - timedelta(hours=hours_ago)
            try:
                if action == "receipt" and n:
                    receive(world, n, lot_no=lot_no, when=when)
                elif action == "issue" and n:
                    ledger.record_issue(operator, lot_id, n, occurred_at=when)
                    n = -n
                elif action == "adjust" and n:
                    ledger.record_adjustment(operator, lot_id, -n, reason="盘亏", occurred_at=when)
                    n = -n
                elif action == "count":
                    ledger.record_count(operator, lot_id, n, occurred_at=when)
                else:
                    continue
            except (Conflict, Invalid):
                continue  # refused: changes nothing, which the replay below checks
            accepted.append((when, seq, action, n))
            on_hand, _reserved, ledger_on_hand, _ = balances(lot_id)
            assert on_hand == ledger_on_hand == replay(accepted)
