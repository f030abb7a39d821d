"""Wartime response end to end, on SQLite and PostgreSQL: incident → demands → plan from live
stock → consultation → approval with atomic reservation → shipments → receipt → after-action;
concurrency, drills, permissions and ledger sums."""

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core.auth import COMMANDER, OPERATOR, VIEWER
from core.errors import Conflict, Invalid, NotAllowed, NotFound
from core.extensions import db as _db
from core.timeutil import utcnow
from dispatch import rules
from dispatch.models import LineAllocation, PlanVersion, Shipment
from dispatch.services import (
    after_action,
    approval,
    consultation,
    incidents,
    planning,
    shipments,
    versions,
    visibility,
)
from reserve.models import TransportCapacity
from reserve.stock.models import Movement, StockLot
from reserve.stock import ledger
from reserve.stock.ledger import LotFacts
from reserve.services.reference import load_regions
from tests import factories
from tests.conftest import csrf_token, log_in


@pytest.fixture
def world(app, make_agency, make_user):
    """Two agencies with a depot each (Taiyuan and Datong), tents and water in stock, two
    commanders (four eyes), an operator per agency."""
    east = make_agency("DP-EAST", kind="city")
    west = make_agency("DP-WEST", kind="city")
    people = {
        "author": make_user(COMMANDER),
        "approver": make_user(COMMANDER),
        "east_op": make_user(OPERATOR, agency=east),
        "west_op": make_user(OPERATOR, agency=west),
        "viewer": make_user(VIEWER),
    }
    with app.app_context():
        load_regions()
        tent = factories.catalog_material("001", "单帐篷", weight_kg=30)
        water = factories.catalog_material("002", "矿泉水", weight_kg=12)
        d_east = factories.depot(east, "DP-E1", "140105")
        d_west = factories.depot(west, "DP-W1", "140202")
        for depot, lat, lon in ((d_east, 37.86, 112.55), (d_west, 40.08, 113.30)):
            depot.lat, depot.lon = lat, lon
        _db.session.add(
            TransportCapacity(
                agency_id=east,
                depot_id=d_east.id,
                mode="road",
                vehicle_type="厢式货车",
                count=5,
                payload_t=10.0,
            )
        )
        _db.session.commit()
        operator = factories.user(people["east_op"]["id"])
        ledger.record_receipt(
            operator,
            depot_id=d_east.id,
            material_id=tent.id,
            quantity=100,
            facts=LotFacts("T-LATE", expiry_date=utcnow().date() + timedelta(days=900)),
        )
        ledger.record_receipt(
            operator,
            depot_id=d_east.id,
            material_id=tent.id,
            quantity=60,
            facts=LotFacts("T-SOON", expiry_date=utcnow().date() + timedelta(days=300)),
        )
        ledger.record_receipt(
            operator, depot_id=d_east.id, material_id=water.id, quantity=500, facts=LotFacts("W1")
        )
        ledger.record_receipt(
            factories.user(people["west_op"]["id"]),
            depot_id=d_west.id,
            material_id=tent.id,
            quantity=80,
            facts=LotFacts("T-W"),
        )
        return {
            "east": east,
            "west": west,
            **{k: v["id"] for k, v in people.items()},
            "emails": {k: v["email"] for k, v in people.items()},
            "tent": tent.id,
            "water": water.id,
            "d_east": d_east.id,
            "d_west": d_west.id,
        }


def user(world, who):
    return factories.user(world[who])


def incident_with_demands(world, *, drill=False, tents=120, water=200):
    author = user(world, "author")
    incident = incidents.create_incident(
        author,
        title="测试地震",
        incident_type="natural_disaster",
        subtype="earthquake",
        level="II",
        region_code="140100",
        drill=drill,
    )
    point = incidents.add_point(
        author, incident.id, name="小店区安置点", lat=37.74, lon=112.56, population=5000, severity=3
    )
    needed_by = utcnow() + timedelta(hours=24)
    incidents.add_demand(
        author,
        incident.id,
        point_id=point.id,
        material_id=world["tent"],
        quantity=tents,
        needed_by=needed_by,
        priority=3,
    )
    if water:
        incidents.add_demand(
            author,
            incident.id,
            point_id=point.id,
            material_id=world["water"],
            quantity=water,
            needed_by=needed_by,
            priority=2,
        )
    return incident, point


def lot(world, lot_no):
    _db.session.expire_all()
    return _db.session.execute(select(StockLot).filter_by(lot_no=lot_no)).scalar_one()


def assert_ledger_sums():
    _db.session.expire_all()
    for row in _db.session.execute(select(StockLot)).scalars():
        on_hand, reserved = _db.session.execute(
            select(
                func.coalesce(func.sum(Movement.on_hand_delta), 0),
                func.coalesce(func.sum(Movement.reserved_delta), 0),
            ).where(Movement.lot_id == row.id)
        ).one()
        assert (on_hand, reserved) == (row.on_hand, row.reserved), row.lot_no
        assert 0 <= row.reserved <= row.on_hand


def test_incident_numbers_and_rules():
    assert rules.incident_number("140000", 2026, "natural_disaster", 3, False) == "140000-2026-N003"
    assert rules.incident_number("140000", 2026, "accident", 1, True) == "DRILL-140000-2026-A001"
    assert rules.fefo([(1, 10, None), (2, 5, "2027-01-01"), (3, 5, "2026-12-01")], 12) == [
        (3, 5),
        (2, 5),
        (1, 2),
    ]
    assert rules.fefo([(1, 3, None)], 5) is None
    assert rules.vehicles_needed(25, 10) == 3 and rules.vehicles_needed(0, 10) == 1
    assert rules.suggested_quantity("per_10k_people", 20, 5000) == 10
    assert rules.suggested_quantity("per_10k_people", 20, None) is None
    assert not rules.can_move_shipment("ready", "received") and rules.can_move_shipment(
        "arrived", "received"
    )


def test_end_to_end_from_incident_to_after_action(app, world):
    with app.app_context():
        incident, point = incident_with_demands(world)
        plan = planning.plan_incident(user(world, "author"), incident.id)
        assert plan.status == "draft" and plan.timings["total_s"] > 0
        shipped = {(line.depot_id, line.material_id): line.quantity for line in plan.lines}
        assert sum(q for (d, m), q in shipped.items() if m == world["tent"]) == 120
        assert shipped[(world["d_east"], world["water"])] == 200
        with pytest.raises(NotAllowed):  # four eyes: not by its author
            approval.approve(user(world, "author"), plan.id)
        approval.approve(user(world, "approver"), plan.id)
        east_tents = shipped.get((world["d_east"], world["tent"]), 0)
        assert lot(world, "T-SOON").reserved == min(60, east_tents)  # first expiring first out
        with pytest.raises(Conflict):
            approval.approve(user(world, "approver"), plan.id)  # approve twice
        rows = shipments.list_shipments(user(world, "author"), incident.id)
        assert {s.status for s in rows} == {"ready"} and all(s.vehicles >= 1 for s in rows)
        for s in rows:
            who = "east_op" if s.agency_id == world["east"] else "west_op"
            shipments.advance(user(world, who), s.id, "departed")
            shipments.advance(user(world, who), s.id, "arrived")
        first = rows[0]
        with pytest.raises(Invalid):
            shipments.advance(
                user(world, "author"), first.id, "received", quantity_received=first.quantity - 1
            )
        shipments.advance(
            user(world, "author"),
            first.id,
            "received",
            quantity_received=first.quantity - 1,
            discrepancy_reason="一件破损",
        )
        for s in rows[1:]:
            shipments.advance(user(world, "author"), s.id, "received", quantity_received=s.quantity)
        assert lot(world, "W1").on_hand == 300 and lot(world, "W1").reserved == 0
        after_action.record_return(
            user(world, "author"),
            incident.id,
            depot_id=world["d_east"],
            material_id=world["water"],
            quantity=20,
        )
        after_action.record_consumption(
            user(world, "author"),
            incident.id,
            point_id=point.id,
            material_id=world["water"],
            quantity=180,
        )
        report = after_action.report(user(world, "author"), incident.id)
        assert report["stage_hours"]["demand_to_arrival_h"] is not None
        assert len(report["demands"]) == 2 and report["discrepancies"][0]["reason"] == "一件破损"
        assert report["returned"][0]["quantity"] == 20 and report["consumed"][0]["quantity"] == 180
        assert 0.99 <= report["fill_rate_mean"] <= 1.0
        assert after_action.report_xlsx(user(world, "author"), incident.id)[:2] == b"PK"
        assert_ledger_sums()


def test_a_shortage_is_an_answer_and_unmet_demand_is_listed(app, world):
    with app.app_context():
        incident, _ = incident_with_demands(world, tents=1000, water=0)
        plan = planning.plan_incident(user(world, "author"), incident.id)
        assert sum(line.quantity for line in plan.lines) == 240  # all the tents there are
        assert plan.unmet and plan.unmet[0]["quantity"] == 760


def test_excluded_sources_are_not_used_and_versions_compare(app, world):
    with app.app_context():
        incident, _ = incident_with_demands(world, tents=50, water=0)
        first = planning.plan_incident(user(world, "author"), incident.id)
        second = planning.plan_incident(
            user(world, "author"), incident.id, options={"exclude": [f"D{world['d_east']}"]}
        )
        assert {line.depot_id for line in second.lines} == {world["d_west"]}
        assert _db.session.get(PlanVersion, first.id).status == "superseded"
        diff = versions.compare(user(world, "author"), second.id)
        assert diff["other"] == 1 and diff["added"] and diff["removed"]


def test_the_board_offers_the_plans_sources_by_name_to_leave_out(app, world, client):
    from reserve.models import Depot
    from tests.test_page_language import problems_of

    with app.app_context():
        incident, _ = incident_with_demands(world, tents=50, water=0)
        first = planning.plan_incident(user(world, "author"), incident.id)
        used = {line.source_key: _db.session.get(Depot, line.depot_id).name for line in first.lines}
        incident_id = incident.id
    log_in(client, world["emails"]["author"])
    board = client.get(f"/incidents/{incident_id}").text
    for key, name in used.items():
        assert f'name="exclude" value="{key}"> {name}</label>' in board
    assert not [p for p in problems_of(board) if "internal id" in p]
    east = f"D{world['d_east']}"
    client.post(
        f"/incidents/{incident_id}/plan", data={"exclude": [east], "csrf_token": csrf_token(board)}
    )
    with app.app_context():
        latest = versions.list_plans(user(world, "author"), incident_id)[0]
        assert latest.id != first.id and {line.source_key for line in latest.lines} == {
            f"D{world['d_west']}"
        }


def test_hand_edits_are_checked_and_kept_as_a_new_version(app, world):
    with app.app_context():
        incident, _ = incident_with_demands(world, tents=50, water=100)
        plan = planning.plan_incident(user(world, "author"), incident.id)
        water_line = next(line for line in plan.lines if line.material_id == world["water"])
        with pytest.raises(Invalid):  # more than the depot holds
            versions.edit_plan(
                user(world, "author"), plan.id, [{"line_id": water_line.id, "quantity": 900}]
            )
        edited = versions.edit_plan(
            user(world, "author"), plan.id, [{"line_id": water_line.id, "quantity": 40}]
        )
        assert (
            edited.version == plan.version + 1
            and edited.method == "manual"
            and edited.based_on_id == plan.id
        )
        assert (
            next(line for line in edited.lines if line.material_id == world["water"]).quantity == 40
        )
        assert any(u["quantity"] == 60 for u in edited.unmet)


def test_planner_ids_are_written_in_one_format_and_the_stored_ones_read_back():
    from dispatch.services.problem import (
        PointKey,
        SourceKey,
        material_ident,
        point_ident,
        source_ident,
        stored_material,
        stored_point,
    )

    keys = (
        SourceKey("physical", 12, 3, None, 0.0),
        SourceKey("agreement", 12, 3, None, 24.0),
        SourceKey("capacity", 12, 3, None, 6.5),
        SourceKey("supplier", None, None, 7, 48.0),
    )
    assert [source_ident(k) for k in keys] == ["D12", "D12-A24", "D12-C6", "S7"]
    assert point_ident(PointKey(5, 3)) == "P5-3" and stored_point("P5-3") == PointKey(5, 3)
    assert material_ident(41) == "41" and stored_material("41") == 41


def test_the_index_says_what_every_planner_id_means(app, world):
    from dispatch.services.problem import PointKey, SourceKey, build_problem

    with app.app_context():
        incident, point = incident_with_demands(world, tents=50, water=100)
        problem, index = build_problem(user(world, "author"), incident)
        assert {s["id"]: index.sources[s["id"]] for s in problem["sources"]} == {
            f"D{world['d_east']}": SourceKey("physical", world["d_east"], world["east"], None, 0.0),
            f"D{world['d_west']}": SourceKey("physical", world["d_west"], world["west"], None, 0.0),
        }
        assert {p["id"]: index.points[p["id"]] for p in problem["points"]} == {
            f"P{point.id}-3": PointKey(point.id, 3),
            f"P{point.id}-2": PointKey(point.id, 2),
        }
        assert {m["id"]: index.materials[m["id"]] for m in problem["materials"]} == {
            str(world["tent"]): world["tent"],
            str(world["water"]): world["water"],
        }


def test_a_saved_version_reads_back_into_the_index_it_was_planned_with(app, world):
    """Versions keep the problem with the planner's string ids (rows saved before the typed
    index have the same); an edit reads them back through the one decoder."""
    from dispatch.services.problem import build_problem
    from dispatch.services.versions import stored_index

    with app.app_context():
        incident, point = incident_with_demands(world, tents=50, water=100)
        plan = planning.plan_incident(user(world, "author"), incident.id)
        _problem, built = build_problem(user(world, "author"), incident)
        stored = stored_index(plan)
        assert (stored.points, stored.materials, stored.weights, stored.demands) == (
            built.points,
            built.materials,
            built.weights,
            built.demands,
        )
        assert {key: stored.sources[key] for key in {line.source_key for line in plan.lines}} == {
            key: built.sources[key] for key in {line.source_key for line in plan.lines}
        }
        plan.problem = {
            **plan.problem,
            "sources": plan.problem["sources"]
            + [  # a source no line uses
                {
                    "id": "S999",
                    "lat": 37.8,
                    "lon": 112.5,
                    "lead_time_h": 12,
                    "transport_capacity_t": 30,
                    "stock": {},
                }
            ],
        }
        _db.session.commit()
        tent_line = next(line for line in plan.lines if line.material_id == world["tent"])
        edited = versions.edit_plan(
            user(world, "author"), plan.id, [{"line_id": tent_line.id, "quantity": 20}]
        )
        assert {(u["point_id"], u["material_id"], u["quantity"]) for u in edited.unmet} == {
            (point.id, world["tent"], 30)
        }


def test_a_plan_builds_and_reads_its_problem_once(app, world, monkeypatch):
    from dispatch.planning import check, planner
    from dispatch.services import plan_jobs
    from dispatch.services import planning as planning_service

    calls = {"build": 0, "load": 0}
    build, load = planning_service.build_problem, planner.load_problem

    def counted_build(*args, **kwargs):
        calls["build"] += 1
        return build(*args, **kwargs)

    def counted_load(data):
        calls["load"] += isinstance(data, dict)
        return load(data)

    monkeypatch.setattr(planning_service, "build_problem", counted_build)
    for module in (planning_service, planner, check):
        monkeypatch.setattr(module, "load_problem", counted_load)
    with app.app_context():
        incident, _ = incident_with_demands(world, tents=50, water=100)
        plan = plan_jobs.plan_or_queue(user(world, "author"), incident.id, options={})
        assert plan.lines and calls == {"build": 1, "load": 1}


def test_road_factor_and_policy_come_from_the_configuration(app, world, monkeypatch):
    from dispatch.services.problem import build_problem

    monkeypatch.setitem(app.config, "DISPATCH_ROAD_FACTOR", 1.5)
    monkeypatch.setitem(app.config, "DISPATCH_POLICY_ORDER", ("efficacy", "speed"))
    monkeypatch.setitem(app.config, "DISPATCH_EQUITY_TOLERANCE", 0.1)
    with app.app_context():
        incident, _ = incident_with_demands(world, tents=50, water=0)
        problem, _index = build_problem(user(world, "author"), incident)
        assert (problem["road_factor"], problem["policy"]) == (
            1.5,
            {"order": ["efficacy", "speed"], "equity_tolerance": 0.1},
        )


def test_cancelling_releases_the_reservation(app, world):
    with app.app_context():
        incident, _ = incident_with_demands(world, tents=10)
        plan = planning.plan_incident(user(world, "author"), incident.id)
        approval.approve(user(world, "approver"), plan.id)
        assert lot(world, "W1").reserved == 200
        approval.cancel(user(world, "approver"), plan.id, reason="改由其他渠道供应")
        assert lot(world, "W1").reserved == 0 and not shipments.list_shipments(
            user(world, "author"), incident.id
        )
        assert_ledger_sums()


def test_a_drill_reserves_and_moves_no_real_stock(app, world):
    with app.app_context():
        incident, _ = incident_with_demands(world, drill=True)
        assert incident.number.startswith("DRILL-")
        before = {
            r.lot_no: (r.on_hand, r.reserved)
            for r in _db.session.execute(select(StockLot)).scalars()
        }
        moves = _db.session.scalar(select(func.count()).select_from(Movement))
        plan = planning.plan_incident(user(world, "author"), incident.id)
        approval.approve(user(world, "approver"), plan.id)
        for s in shipments.list_shipments(user(world, "author"), incident.id):
            shipments.advance(user(world, "author"), s.id, "departed")
        _db.session.expire_all()
        after = {
            r.lot_no: (r.on_hand, r.reserved)
            for r in _db.session.execute(select(StockLot)).scalars()
        }
        assert (
            after == before
            and _db.session.scalar(select(func.count()).select_from(Movement)) == moves
        )
        assert _db.session.scalar(select(func.count()).select_from(LineAllocation)) > 0


def test_stock_taken_after_planning_makes_the_approval_fail_whole(app, world):
    with app.app_context():
        incident, _ = incident_with_demands(world, tents=120, water=200)
        plan = planning.plan_incident(user(world, "author"), incident.id)
        ledger.record_issue(user(world, "east_op"), lot(world, "W1").id, 450)  # only 50 water left
        with pytest.raises(Conflict):
            approval.approve(user(world, "approver"), plan.id)
        _db.session.expire_all()
        assert (
            _db.session.scalar(select(func.sum(StockLot.reserved))) == 0
        )  # no line kept its reservation
        assert _db.session.get(PlanVersion, plan.id).status == "draft"


def test_operators_move_only_their_own_shipments_and_see_only_their_lines(app, world):
    with app.app_context():
        incident, _ = incident_with_demands(world, tents=200, water=0)  # needs both depots
        plan = planning.plan_incident(user(world, "author"), incident.id)
        west_line = next(line for line in plan.lines if line.agency_id == world["west"])
        with pytest.raises(NotFound):
            consultation.set_position(user(world, "east_op"), west_line.id, position="agree")
        consultation.set_position(
            user(world, "west_op"), west_line.id, position="partial", quantity=10, reason="车辆不足"
        )  # positions are stated on the draft, before approval
        approval.approve(user(world, "approver"), plan.id)
        with pytest.raises(Conflict):
            consultation.set_position(user(world, "west_op"), west_line.id, position="agree")
        rows = shipments.list_shipments(user(world, "author"), incident.id)
        west = next(s for s in rows if s.agency_id == world["west"])
        with pytest.raises(NotAllowed):
            shipments.advance(user(world, "east_op"), west.id, "departed")
        assert {
            line.agency_id for line in visibility.visible_lines(user(world, "east_op"), plan)
        } == {world["east"]}
        assert [
            s.agency_id for s in shipments.list_shipments(user(world, "east_op"), incident.id)
        ] == [world["east"]]
        with pytest.raises(NotAllowed):
            incidents.add_demand(
                user(world, "east_op"),
                incident.id,
                point_id=1,
                material_id=world["tent"],
                quantity=1,
                needed_by=utcnow() + timedelta(hours=1),
            )


def test_dispatching_an_unapproved_plan_is_refused(app, world):
    with app.app_context():
        incident, _ = incident_with_demands(world, tents=10, water=0)
        plan = planning.plan_incident(user(world, "author"), incident.id)
        assert not _db.session.scalars(select(Shipment)).all()
        approval.approve(user(world, "approver"), plan.id)
        shipment = _db.session.scalars(select(Shipment)).first()
        approval.cancel(user(world, "approver"), plan.id, reason="取消")
        with pytest.raises(NotFound):
            shipments.advance(user(world, "author"), shipment.id, "departed")


def test_concurrent_approvals_of_two_incidents_never_oversell(app, committed):
    """Two incidents each want 200 of a depot's 240 tents; their plans are approved at the same
    time from two connections: one succeeds, the other is refused whole, nothing is oversold."""
    from flask_security import hash_password

    from core.extensions import security
    from core.organisation import Agency

    with app.app_context():
        load_regions()
        agency = Agency(code="DP-RACE", name="并发单位", kind="city", path="")
        _db.session.add(agency)
        _db.session.flush()
        agency.path = f"/{agency.id}/"
        author, approver, admin = (
            security.datastore.create_user(
                email=f"{n}@race.example.org", roles=[r], password=hash_password("x-Y-123456")
            )
            for n, r in (("author", COMMANDER), ("approver", COMMANDER), ("admin", "admin"))
        )
        _db.session.commit()
        tent = factories.catalog_material("001", "单帐篷", weight_kg=30)
        depot = factories.depot(agency.id, "DP-RACE-1", "140105")
        depot.lat, depot.lon = 37.86, 112.55
        _db.session.commit()
        ledger.record_receipt(
            admin, depot_id=depot.id, material_id=tent.id, quantity=240, facts=LotFacts("RACE")
        )
        plans = []
        for _ in range(2):
            incident = incidents.create_incident(
                author,
                title="并发",
                incident_type="natural_disaster",
                level="II",
                region_code="140100",
            )
            point = incidents.add_point(
                author, incident.id, name="点", lat=37.7, lon=112.6, population=100
            )
            incidents.add_demand(
                author,
                incident.id,
                point_id=point.id,
                material_id=tent.id,
                quantity=200,
                needed_by=utcnow() + timedelta(hours=24),
            )
            plans.append(planning.plan_incident(author, incident.id).id)
        approver_id, tent_id = approver.id, tent.id
    outcomes, failed = [], []
    barrier = threading.Barrier(2)

    def approve(plan_id):
        with app.app_context():
            who = factories.user(approver_id)
            _db.session.commit()  # end the read: on SQLite an open transaction holds the write lock
            barrier.wait()
            try:
                approval.approve(who, plan_id)
                outcomes.append("approved")
            except Conflict:
                outcomes.append("refused")
            except Exception as exc:  # noqa: BLE001 - any other outcome is a failure to report
                failed.append(repr(exc))
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=approve, args=(plan_id,)) for plan_id in plans]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failed == [] and sorted(outcomes) == ["approved", "refused"]
    with app.app_context():
        assert (
            _db.session.scalar(
                select(func.sum(StockLot.reserved)).where(StockLot.material_id == tent_id)
            )
            == 200
        )
        assert_ledger_sums()


def test_api_flow_and_command_board(app, world, client):
    log_in(client, world["emails"]["author"])
    headers = {"X-CSRFToken": csrf_token(client.get("/incidents").text)}
    created = client.post(
        "/api/v1/incidents",
        json={
            "title": "API 洪水",
            "incident_type": "natural_disaster",
            "subtype": "flood",
            "level": "III",
            "region_code": "140100",
        },
        headers=headers,
    )
    assert created.status_code == 201, created.text
    incident_id = created.json["id"]
    point = client.post(
        f"/api/v1/incidents/{incident_id}/points",
        headers=headers,
        json={
            "name": "迎泽区安置点",
            "lat": 37.85,
            "lon": 112.57,
            "population": 2000,
            "severity": 2,
        },
    )
    assert point.status_code == 201, point.text
    needed_by = (utcnow() + timedelta(hours=24)).isoformat()
    demand = client.post(
        f"/api/v1/incidents/{incident_id}/demands",
        headers=headers,
        json={
            "point_id": point.json["id"],
            "material_id": world["tent"],
            "quantity": 20,
            "needed_by": needed_by,
        },
    )
    assert demand.status_code == 201, demand.text
    duplicate = client.post(
        f"/api/v1/incidents/{incident_id}/demands",
        headers=headers,
        json={
            "point_id": point.json["id"],
            "material_id": world["tent"],
            "quantity": 5,
            "needed_by": needed_by,
        },
    )
    assert duplicate.status_code == 409
    revised = client.patch(
        f"/api/v1/demands/{demand.json['id']}", headers=headers, json={"quantity": 25}
    )
    assert revised.json["version"] == 2 and revised.json["quantity"] == 25
    planned = client.post(f"/api/v1/incidents/{incident_id}/plans", json={}, headers=headers)
    assert planned.status_code == 201, planned.text
    assert sum(line["quantity"] for line in planned.json["lines"]) == 25
    refused = client.post(f"/api/v1/dispatch-plans/{planned.json['id']}/approve", headers=headers)
    assert refused.status_code == 403  # its author
    board = client.get(f"/api/v1/incidents/{incident_id}/board")
    assert board.status_code == 200 and board.json["demands"]["count"] == 1
    page = client.get(f"/incidents/{incident_id}")
    assert page.status_code == 200 and created.json["number"] in page.text
    assert client.get("/incidents").status_code == 200
    assert client.get(f"/incidents/{incident_id}/report").status_code == 200


def test_demands_from_a_spreadsheet_all_or_nothing(app, world):
    with app.app_context():
        author = user(world, "author")
        incident = incidents.create_incident(
            author, title="表格导入", incident_type="accident", level="IV", region_code="140100"
        )
        incidents.add_point(author, incident.id, name="甲点", lat=37.8, lon=112.5)
        header = ["点位", "物资编码", "数量", "优先级", "需求时限(小时)"]
        bad = [header, ["甲点", "1010101001", 10, 3, 12], ["甲点", 1010101002, 5, 2, 24]]
        with pytest.raises(Invalid) as refused:
            incidents.import_demands(author, incident.id, bad)
        assert "row 3" in refused.value.errors
        assert incidents.list_demands(author, incident.id) == []
        twice = [header, ["甲点", "1010101001", 10, 3, 12], ["甲点", "1010101001", 5, 2, 24]]
        with pytest.raises(Invalid) as refused:
            incidents.import_demands(author, incident.id, twice)
        assert list(refused.value.errors) == ["row 3"] and "2" in refused.value.errors["row 3"][0]
        good = [header, ["甲点", "1010101001", 10, 3, 12], ["甲点", "1010101002", 5, 2, 24]]
        imported = incidents.import_demands(author, incident.id, good)
        assert [d.number[-5:] for d in imported] == [
            "D0001",
            "D0002",
        ] and incident.status == "responding"
        again = [header, ["甲点", "1010101002", 7, 2, 24]]
        with pytest.raises(Invalid) as refused:  # one active demand per point and material
            incidents.import_demands(author, incident.id, again)
        assert list(refused.value.errors) == ["row 2"]
        assert len(incidents.list_demands(author, incident.id)) == 2


def test_suppliers_and_the_public_do_not_see_incidents(app, world, make_user, client):
    from core.auth import SUPPLIER

    with app.app_context():
        incident, _ = incident_with_demands(world, tents=5, water=0)
        supplier = make_user(SUPPLIER)
        with pytest.raises(NotAllowed):
            incidents.get_incident(factories.user(supplier["id"]), incident.id)
        incident_id = incident.id
    assert client.get(f"/api/v1/incidents/{incident_id}").status_code == 401
    log_in(client, supplier["email"])
    assert client.get(f"/api/v1/incidents/{incident_id}").status_code == 403
    assert client.get("/api/v1/incidents").status_code == 403
