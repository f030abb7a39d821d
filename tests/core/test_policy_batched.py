"""Approving a plan checks the access to all the lots it reserves from with one query, however
many lots and owner agencies it spans (core/policy.py, reserve/stock/ledger.py)."""

import pytest
from sqlalchemy import event

from core.auth import ADMIN, COMMANDER
from core.errors import NotAllowed
from core.extensions import db as _db
from dispatch.models import PlanLine, PlanVersion
from dispatch.services import approval, incidents
from reserve.services.reference import load_regions
from reserve.stock import ledger
from reserve.stock.ledger import LotFacts
from tests import factories


def plan_over_agencies(make_agency, make_user, n: int) -> dict:
    """A draft plan of `n` lines, each from the depot of its own agency (one lot each)."""
    agencies = [make_agency(f"BT-{i}") for i in range(n)]
    people = {
        "author": make_user(COMMANDER),
        "approver": make_user(COMMANDER),
        "admin": make_user(ADMIN),
    }
    load_regions()
    admin = factories.user(people["admin"]["id"])
    tent = factories.catalog_material("001", "单帐篷", weight_kg=30)
    author = factories.user(people["author"]["id"])
    incident = incidents.create_incident(
        author, title="批量审批", incident_type="natural_disaster", level="II", region_code="140100"
    )
    point = incidents.add_point(author, incident.id, name="安置点", lat=37.7, lon=112.5)
    plan = PlanVersion(incident_id=incident.id, version=1, method="manual", author_id=author.id)
    _db.session.add(plan)
    _db.session.flush()
    for i, agency in enumerate(agencies):
        depot = factories.depot(agency, f"BT-D{i}", "140105")
        ledger.record_receipt(
            admin, depot_id=depot.id, material_id=tent.id, quantity=10, facts=LotFacts(f"L{i}")
        )
        _db.session.add(
            PlanLine(
                plan_id=plan.id,
                source_key=f"D{depot.id}",
                source_kind="physical",
                depot_id=depot.id,
                agency_id=agency,
                point_id=point.id,
                material_id=tent.id,
                quantity=5,
                arrival_h=1.0,
                km=10.0,
                weight_t=0.15,
            )
        )
    _db.session.commit()
    return {"plan": plan.id, **{k: v["id"] for k, v in people.items()}}


def statements_of(action) -> list[str]:
    seen = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(_db.engine, "before_cursor_execute", count)
    try:
        action()
    finally:
        event.remove(_db.engine, "before_cursor_execute", count)
    return seen


def access_reads(statements: list[str]) -> list[str]:
    """Statements that load a lot or an agency's path to decide access (not the lots to reserve
    from, which select balances only)."""
    return [
        s
        for s in statements
        if s.lstrip().upper().startswith("SELECT")
        and ("agency.path" in s.lower() or "stock_lot.lot_no" in s.lower())
    ]


@pytest.mark.parametrize("n", [1, 6])
def test_approving_a_plan_checks_every_lot_with_one_agency_query(app, make_agency, make_user, n):
    with app.app_context():
        world = plan_over_agencies(make_agency, make_user, n)
        _db.session.remove()  # a new request: nothing of the plan's world in the session yet
        approver = factories.user(world["approver"])
        statements = statements_of(lambda: approval.approve(approver, world["plan"]))
        print(
            f"approve, {n} lines: {len(statements)} statements, {len(access_reads(statements))} access loads"
        )
        assert len(access_reads(statements)) == 1
        assert _db.session.get(PlanVersion, world["plan"]).status == "approved"


def test_an_administrator_without_an_agency_reserves_anywhere_and_a_viewer_is_refused(
    app, make_agency, make_user
):
    with app.app_context():
        world = plan_over_agencies(make_agency, make_user, 2)
        lots = [lot for lot, _units in ledger_lots(world)]
        admin = factories.user(world["admin"])
        ledger.reserve_many_in_transaction(admin, [(lot, 1) for lot in lots], reference="T")
        _db.session.rollback()
        other = make_agency("BT-OTHER")
        viewer = factories.user(make_user("viewer", agency=other)["id"])
        with pytest.raises(NotAllowed):
            ledger.reserve_many_in_transaction(viewer, [(lot, 1) for lot in lots], reference="T")


def ledger_lots(world) -> list[tuple[int, int]]:
    from sqlalchemy import select

    from reserve.stock.models import StockLot

    return list(
        _db.session.execute(select(StockLot.id, StockLot.on_hand).order_by(StockLot.id)).all()
    )
