"""One bound for every quantity (rules.MAX_QUANTITY, 10^9 units): the API, the ledger, the
database, reports, demands and the planner (issue 15, item 2)."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from core.auth import OPERATOR
from core.errors import Invalid
from core.extensions import db as _db
from core.timeutil import utcnow
from dispatch.planning import ProblemError
from dispatch.planning.problem import load_problem
from dispatch.services import incidents, planning, versions
from reserve.stock.models import Movement, StockLot, StockRollupAgency, StockRollupCity
from reserve.reporting.standard import KINDS, read_cell
from reserve.rules import MAX_QUANTITY
from reserve.stock import ledger
from reserve.stock.ledger import LotFacts, QuantityTooLarge
from tests import factories
from tests.dispatch.test_dispatch import incident_with_demands, user, world  # noqa: F401  (shared fixture)
from tests.reserve.test_reserve_api import receipt, setup  # noqa: F401  (shared fixture)


def lot_and_ledger(app, lot_id):
    with app.app_context():
        lot = _db.session.get(StockLot, lot_id)
        total = _db.session.scalar(
            select(func.sum(Movement.on_hand_delta)).where(Movement.lot_id == lot_id)
        )
        return lot.on_hand, total


def test_receipts_above_the_bound_are_refused_and_the_lot_stays_its_ledger(app, client, setup):
    for huge in (2**62, MAX_QUANTITY + 1):
        response = receipt(client, setup, quantity=huge)
        assert response.status_code == 422, huge
    first = receipt(client, setup, quantity=MAX_QUANTITY)
    assert first.status_code == 201
    lot_id = first.json["lot_id"]
    second = receipt(client, setup, quantity=1)  # the sum of receipts into one lot is bounded too
    assert second.status_code == 422
    assert (
        second.json["type"] == "urn:emreserve:problem:quantity-too-large"
        and "1,000,000,000" in second.json["detail"]
    )
    assert lot_and_ledger(app, lot_id) == (MAX_QUANTITY, MAX_QUANTITY)


def test_counts_adjustments_transfers_and_reservations_are_bounded(app, client, setup):
    lot_id = receipt(client, setup, quantity=10).json["lot_id"]
    me = setup["operator"]
    too_many = MAX_QUANTITY + 1
    for path, body, who in (
        ("counts", {"counted": too_many}, me),
        ("adjustments", {"delta": too_many, "reason": "x"}, me),
        ("adjustments", {"delta": -too_many, "reason": "x"}, me),
        ("transfers", {"quantity": too_many, "to_depot_id": setup["my_depot2"]}, me),
        ("issues", {"quantity": 2**62}, me),
        ("reservations", {"quantity": too_many}, setup["commander"]),
    ):
        response = client.post(f"/api/v1/lots/{lot_id}/{path}", json=body, headers=who)
        assert response.status_code == 422, (path, body, response.json)
    assert (
        client.post(
            f"/api/v1/lots/{lot_id}/counts", json={"counted": MAX_QUANTITY}, headers=me
        ).status_code
        == 201
    )
    over = client.post(
        f"/api/v1/lots/{lot_id}/adjustments", json={"delta": 1, "reason": "盘盈"}, headers=me
    )
    assert (
        over.status_code == 422 and over.json["type"] == "urn:emreserve:problem:quantity-too-large"
    )
    assert lot_and_ledger(app, lot_id) == (MAX_QUANTITY, MAX_QUANTITY)


@pytest.fixture
def operator_id(setup, make_user):  # noqa: F811
    return make_user(OPERATOR, agency=setup["mine"])["id"]


def test_the_ledger_service_refuses_what_a_schema_would(app, setup, operator_id):  # noqa: F811
    with app.app_context():
        with pytest.raises(QuantityTooLarge):
            ledger.record_receipt(
                factories.user(operator_id),
                depot_id=setup["my_depot"],
                material_id=setup["material"],
                quantity=2**62,
                facts=LotFacts("SVC"),
            )
        assert (
            _db.session.scalar(select(func.count(StockLot.id)).where(StockLot.lot_no == "SVC")) == 0
        )


def test_the_database_refuses_quantities_above_the_bound(app, setup, operator_id):  # noqa: F811
    with app.app_context():
        lot_id = ledger.record_receipt(
            factories.user(operator_id),
            depot_id=setup["my_depot"],
            material_id=setup["material"],
            quantity=5,
            facts=LotFacts("CHK"),
        ).lot_id
        for statement in (
            f"UPDATE stock_lot SET on_hand = {MAX_QUANTITY + 1} WHERE id = {lot_id}",
            "INSERT INTO movement (lot_id, kind, on_hand_delta, reserved_delta, occurred_at, recorded_at) "
            f"VALUES ({lot_id}, 'receipt', {MAX_QUANTITY + 1}, 0, '2026-01-01', '2026-01-01')",
        ):
            with pytest.raises(IntegrityError):
                with _db.session.begin_nested():
                    _db.session.execute(text(statement))
        _db.session.rollback()


def test_rollups_hold_the_sum_of_full_lots(app, setup, operator_id):  # noqa: F811
    """Three full lots of one material in one city: 3 x 10^9 units, beyond a 32-bit total."""
    with app.app_context():
        for lot_no in ("FULL-1", "FULL-2", "FULL-3"):
            ledger.record_receipt(
                factories.user(operator_id),
                depot_id=setup["my_depot"],
                material_id=setup["material"],
                quantity=MAX_QUANTITY,
                facts=LotFacts(lot_no),
            )
        _db.session.expire_all()
        assert _db.session.scalar(select(func.sum(StockRollupCity.on_hand))) == 3 * MAX_QUANTITY
        assert _db.session.scalar(select(func.sum(StockRollupAgency.on_hand))) == 3 * MAX_QUANTITY


def test_report_rows_above_the_bound_are_cell_errors():
    quantity = KINDS["stock"].column("quantity")
    assert read_cell(quantity, MAX_QUANTITY) == (MAX_QUANTITY, None)
    for huge in (MAX_QUANTITY + 1, 2**62, "4611686018427387904", 1e300):
        value, problem = read_cell(quantity, huge)
        assert value is None and problem is not None, huge
    norm = KINDS["norms"].column("quantity")
    assert read_cell(norm, 1e12)[1] is not None
    assert read_cell(KINDS["transport"].column("count"), 2**40)[1] is not None


def test_demands_above_the_bound_are_refused_naming_the_row(app, world):  # noqa: F811
    with app.app_context():
        incident, point = incident_with_demands(world, water=0)
        author = user(world, "author")
        with pytest.raises(Invalid) as refused:
            incidents.add_demand(
                author,
                incident.id,
                point_id=point.id,
                material_id=world["water"],
                quantity=MAX_QUANTITY + 1,
                needed_by=utcnow() + timedelta(hours=5),
            )
        assert "quantity" in refused.value.errors
        water_code = _db.session.execute(
            text("SELECT code FROM material WHERE id = :id"), {"id": world["water"]}
        ).scalar_one()
        rows = [
            ["点位", "物资编码", "数量", "需求时限(小时)"],
            [point.name, water_code, "1e400", 24],
            [point.name, water_code, 2 * MAX_QUANTITY, 24],
            [point.name, water_code, 10, 1e300],
        ]
        with pytest.raises(Invalid) as refused:
            incidents.import_demands(author, incident.id, rows)
        assert set(refused.value.errors) == {"row 2", "row 3", "row 4"}
        assert len(incidents.list_demands(author, incident.id)) == 1


def test_the_planner_refuses_quantities_above_the_bound_naming_the_field():
    problem = {
        "materials": [{"id": "m", "unit_weight_t": 0.01, "criticality": 2}],
        "sources": [
            {
                "id": "s",
                "lat": 37.8,
                "lon": 112.5,
                "transport_capacity_t": 10,
                "stock": {"m": MAX_QUANTITY + 1},
            }
        ],
        "points": [
            {
                "id": "p",
                "lat": 37.7,
                "lon": 112.6,
                "severity": 2,
                "demands": [{"material": "m", "quantity": 5, "needed_within_h": 24}],
            }
        ],
    }
    with pytest.raises(ProblemError, match=r"sources\[0\]\.stock\.m"):
        load_problem(problem)


def test_a_depot_holding_more_than_the_bound_is_planned_with_the_bound_and_the_plan_says_so(
    app, world
):  # noqa: F811
    with app.app_context():
        operator = factories.user(world["east_op"])
        for lot_no in ("BIG-1", "BIG-2"):
            ledger.record_receipt(
                operator,
                depot_id=world["d_east"],
                material_id=world["water"],
                quantity=600_000_000,
                facts=LotFacts(lot_no),
            )
        incident, _point = incident_with_demands(world, tents=10, water=MAX_QUANTITY)
        version = planning.plan_incident(user(world, "author"), incident.id)
        left_out = version.metrics["left_out"]
        assert [(row["kind"], row["id"]) for row in left_out] == [("source", f"D{world['d_east']}")]
        east = next(
            source for source in version.problem["sources"] if source["id"] == f"D{world['d_east']}"
        )
        assert (
            east["stock"][str(world["water"])] == MAX_QUANTITY
        )  # 1.2 x 10^9 held, 10^9 offered to the plan
        assert any(line.material_id == world["water"] for line in version.lines)


def test_a_lot_out_of_range_is_left_out_of_the_plan_not_failing_it(app, world):  # noqa: F811
    """A lot written before the bound (on SQLite, two receipts of 2^62 left a float) no longer
    fails the province's plan: the plan leaves it out and names it."""
    with app.app_context():
        west = _db.session.execute(select(StockLot.id).where(StockLot.lot_no == "T-W")).scalar_one()
        if _db.session.connection().dialect.name == "sqlite":
            _db.session.execute(text("PRAGMA ignore_check_constraints = ON"))
            _db.session.execute(
                text("UPDATE stock_lot SET on_hand = 9.223372036854776e18 WHERE id = :id"),
                {"id": west},
            )
            _db.session.execute(text("PRAGMA ignore_check_constraints = OFF"))
        else:
            _db.session.execute(
                text("ALTER TABLE stock_lot DROP CONSTRAINT ck_stock_lot_on_hand_within_bound")
            )
            _db.session.execute(
                text("UPDATE stock_lot SET on_hand = 2000000000 WHERE id = :id"), {"id": west}
            )
        incident, _point = incident_with_demands(world, tents=120, water=0)
        version = planning.plan_incident(user(world, "author"), incident.id)
        assert [(row["kind"], row["id"]) for row in version.metrics["left_out"]] == [("lot", west)]
        assert (
            sum(line.quantity for line in version.lines) == 120
        )  # from the east depot's 160 tents


def test_the_board_form_refuses_a_demand_above_the_bound_in_chinese(app, client, world):  # noqa: F811
    from tests.conftest import csrf_token, log_in

    with app.app_context():
        incident, point = incident_with_demands(world, water=0)
        incident_id, point_id = incident.id, point.id
    log_in(client, world["emails"]["author"])
    token = csrf_token(client.get(f"/incidents/{incident_id}").text)
    response = client.post(
        f"/incidents/{incident_id}/demands",
        follow_redirects=True,
        data={
            "csrf_token": token,
            "point_id": point_id,
            "material_id": world["water"],
            "quantity": str(2**62),
            "priority": 2,
            "needed_by": "2099-01-01T08:00",
        },
    )
    assert "数量最多为 1,000,000,000" in response.text
    with app.app_context():
        assert len(incidents.list_demands(user(world, "author"), incident_id)) == 1


def test_a_hand_edit_above_the_bound_is_refused(app, world):  # noqa: F811
    with app.app_context():
        incident, _point = incident_with_demands(world, water=0)
        version = planning.plan_incident(user(world, "author"), incident.id)
        with pytest.raises(Invalid):
            versions.edit_plan(
                user(world, "author"),
                version.id,
                [{"line_id": version.lines[0].id, "quantity": 2**70}],
            )
