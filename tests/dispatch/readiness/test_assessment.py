"""A hand-solvable scenario assessed from the database: coverage per window as computed by hand
(tests/dispatch/readiness/test_rules.py), nothing reserved or moved, and recommendations whose
promise the assessment confirms once they are made through the ledger."""

import pytest
from sqlalchemy import func, select

from core.auth import ADMIN, COMMANDER, VIEWER
from core.organisation import Region
from dispatch.readiness import jobs, services
from dispatch.readiness.scenarios import save_scenario
from dispatch.readiness import scenarios as _scenarios
from reserve.models import EmergencyPlan, ReserveNorm
from reserve.stock import ledger
from reserve.stock.models import Movement, StockLot
from tests import factories

C1, C2 = "990101", "990102"


@pytest.fixture
def world(app, db, make_agency, make_user):
    """Counties C1 (38N 112E, 10,000 affected, severity 3) and C2 (38N 113E, 20,000, severity 1)
    need 100 and 200 tents (norm: 100 per 10,000 affected; tents weigh 30 kg, criticality 3).
    Depot A at C1 holds 50 tents and an agreement for 60 more in 20 h; depot B, 27.5 h away,
    holds 200; depot E at C2 is empty."""
    agency = make_agency("RDY", name="备战局")
    admin = make_user(ADMIN, agency=agency)
    with app.app_context():
        return build(db, agency, admin)


def build(db, agency, admin):
    """The world above, for an agency id and an administrator {"id"} (inside an app context)."""
    for code, lon in ((C1, 112.0), (C2, 113.0)):
        db.session.add(
            Region(
                code=code,
                name=f"县{code}",
                level="county",
                lat=38.0,
                lon=lon,
                population=100_000,
            )
        )
    db.session.commit()
    tent = factories.catalog_material()
    user = factories.user(admin["id"])
    depots = {}
    for name, lat, lon in (("A", 38.0, 112.0), ("B", 49.0, 112.0), ("E", 38.0, 113.0)):
        depot = factories.depot(agency, f"RDY-{name}")
        depot.lat, depot.lon = lat, lon
        depots[name] = depot.id
    db.session.commit()
    receive = ledger.record_receipt
    receive(
        user,
        depot_id=depots["A"],
        material_id=tent.id,
        quantity=50,
        facts=ledger.LotFacts("A1"),
    )
    receive(
        user,
        depot_id=depots["B"],
        material_id=tent.id,
        quantity=200,
        facts=ledger.LotFacts("B1"),
    )
    receive(
        user,
        depot_id=depots["A"],
        material_id=tent.id,
        quantity=60,
        facts=ledger.LotFacts(
            "A-AGR", reserve_type="agreement", enterprise_name="帐篷厂", lead_time_h=20
        ),
    )
    plan = EmergencyPlan(
        agency_id=agency,
        name="地震预案",
        incident_type="natural_disaster",
        level="II",
        region_code=C1,
    )
    plan.norms = [
        ReserveNorm(material_id=tent.id, region_code=C1, basis="per_10k_affected", quantity=100)
    ]
    db.session.add(plan)
    db.session.commit()
    scenario = save_scenario(
        user,
        {
            "name": "测试地震",
            "hazard": "earthquake",
            "level": "II",
            "plan_id": plan.id,
            "population_rule": "entered",
            "is_standard": True,
            "counties": [
                {"region_code": C1, "population": 10_000, "severity": 3},
                {"region_code": C2, "population": 20_000, "severity": 1},
            ],
        },
    )
    return {
        "admin": admin,
        "scenario": scenario.id,
        "tent": tent.id,
        "depots": depots,
        "agency": agency,
    }


def _ledger_state(db):
    lots = db.session.execute(
        select(StockLot.id, StockLot.on_hand, StockLot.reserved).order_by(StockLot.id)
    ).all()
    return lots, db.session.scalar(select(func.count()).select_from(Movement))


def test_hand_solvable_scenario_coverage_per_window(app, world, db):
    with app.app_context():
        user = factories.user(world["admin"]["id"])
        before = _ledger_state(db)
        outcome = services.assess(user, [world["scenario"]])
        db.session.commit()
        assert _ledger_state(db) == before  # nothing reserved, nothing moved
        run = services.get_run(user, outcome["run_ids"][0])
        result = run.result
        assert result["province"]["coverage"] == {"12": 0.3, "24": 0.62, "48": 1.0, "72": 1.0}
        assert run.score == 73.0
        assert result["counties"][C1]["score"] == 87.5
        assert result["counties"][C2]["score"] == 51.25
        assert result["counties"][C2]["delivered"] == {"12": 0, "24": 10, "48": 200, "72": 200}


def test_recommendations_deliver_what_they_promise(app, world, db):
    with app.app_context():
        app.config["READINESS_UNIT_PRICES"] = {}
        user = factories.user(world["admin"]["id"])
        before = _ledger_state(db)
        outcome = services.assess(user, [world["scenario"]], budget=5000)
        db.session.commit()
        assert _ledger_state(db) == before  # recommending moves nothing either
        advice = outcome["recommendations"]
        key = str(world["scenario"])
        assert advice["moves"], advice
        assert advice["spent"] <= 5000
        assert advice["promised"][key] > advice["before"][key] == 73.0
        for move in advice["moves"]:
            lot = db.session.execute(
                select(StockLot.id).where(
                    StockLot.depot_id == move["from_depot"], StockLot.reserve_type == "physical"
                )
            ).scalar()
            ledger.record_transfer(user, lot, move["to_depot"], move["quantity"])
        again = services.assess(user, [world["scenario"]])
        run = services.get_run(user, again["run_ids"][0])
        assert run.score == advice["promised"][key]


def test_purchases_at_configured_prices_deliver_what_they_promise(app, world, db):
    with app.app_context():
        app.config["READINESS_UNIT_PRICES"] = {"1010101001": 1.0}  # cheaper than any transfer
        user = factories.user(world["admin"]["id"])
        advice = services.assess(user, [world["scenario"]], budget=100)["recommendations"]
        app.config["READINESS_UNIT_PRICES"] = {}
        key = str(world["scenario"])
        assert advice["purchases"] and advice["spent"] <= 100
        for buy in advice["purchases"]:
            ledger.record_receipt(
                user,
                depot_id=buy["depot"],
                material_id=int(buy["material"]),
                quantity=buy["quantity"],
                facts=ledger.LotFacts("BUY"),
            )
        run = services.get_run(user, services.assess(user, [world["scenario"]])["run_ids"][0])
        assert run.score == advice["promised"][key] > advice["before"][key]


def test_leaders_read_but_do_not_run(app, world, db, make_user):
    from core.errors import NotAllowed

    with app.app_context():
        leader = factories.user(make_user(VIEWER, agency=world["agency"])["id"])
        assert _scenarios.list_scenarios(leader)[0].name == "测试地震"
        with pytest.raises(NotAllowed):
            jobs.start_assessment(leader, [world["scenario"]])
        commander = factories.user(make_user(COMMANDER)["id"])
        assert jobs.start_assessment(commander, [world["scenario"]]).status == "queued"
