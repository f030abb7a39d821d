"""装车方案 (issue 18) on SQLite and PostgreSQL: an approved plan routed onto the source depots'
vehicles, versions and edits checked by check_routes, trips dispatched through the ledger in
one transaction and received per stop, the per-line shipments kept in step, bad input answered
per delivery, road times and the road-network stand-in."""

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import func, select

from core.errors import Conflict, Invalid
from core.extensions import db as _db
from core.timeutil import utcnow
from dispatch import rules
from dispatch.models import Shipment, Trip
from dispatch.statuses import RoutePlanStatus, TripStatus
from dispatch.statuses import ShipmentStatus
from dispatch.services import approval, loads, planning, road_times, shipments, trips, waybills
from reserve.models import TransportCapacity
from reserve.stock import ledger
from reserve.stock.ledger import LotFacts
from reserve.stock.models import Movement
from tests import factories
from tests.conftest import csrf_token, log_in
from tests.dispatch.test_dispatch import assert_ledger_sums, incident_with_demands, lot, user
from tests.dispatch.test_dispatch import world  # noqa: F401  (the fixture)


@pytest.fixture(autouse=True)
def inside(request, app):
    """Service tests run in an app context; the page test's client brings its own."""
    if "client" in request.fixturenames:
        yield
        return
    request.getfixturevalue("world")
    with app.app_context():
        yield


def approved(world, **demands):
    incident, point = incident_with_demands(world, **demands)
    plan = planning.plan_incident(user(world, "author"), incident.id)
    approval.approve(user(world, "approver"), plan.id)
    return incident, point, plan


def routed(world, **demands):
    incident, point, plan = approved(world, **demands)
    return incident, point, plan, loads.route_or_queue(user(world, "author"), plan.id)


def test_pure_rules_for_crews_and_lots():
    assert rules.normal_phone("139 1234 5678") == "13912345678"
    assert rules.normal_phone("0351-1234567") == "0351-1234567"
    assert rules.normal_phone("12345") is None and rules.normal_phone("<b>1</b>") is None
    assert rules.normal_plate("晋a·12345") == "晋A12345" and rules.normal_plate("AB") is None
    assert rules.split_lots([(1, 5), (2, 10)], [3, 7, 5]) == [[(1, 3)], [(1, 2), (2, 5)], [(2, 5)]]
    assert rules.split_lots([(1, 5)], [6]) is None
    assert rules.lots_left([(1, 5), (2, 10)], [(1, 5), (2, 3)]) == [(2, 7)]
    assert rules.trip_number("140000-2026-N001", 3) == "140000-2026-N001-T0003"


def test_an_approved_plan_is_routed_onto_the_depots_vehicles(app, world):
    incident, point, plan, route_plan = routed(world, tents=200)
    assert route_plan.version == 1 and route_plan.status == RoutePlanStatus.DRAFT
    assert route_plan.violations == []
    routes = route_plan.routes["routes"]
    assert routes and all(r["depot"] == f"D{world['d_east']}" for r in routes)
    # the west depot has no vehicle registered: its line says so, in Chinese
    west = [line for line in plan.lines if line.depot_id == world["d_west"]]
    assert west, "the plan should draw on both depots"
    left = {u["line_id"]: u["reason"] for u in route_plan.unassigned}
    assert left[west[0].id] == "该储备库没有登记可用的公路车辆。"
    carried = sum(d["quantity"] for r in routes for s in r["stops"] for d in s["drops"])
    assert carried == sum(line.quantity for line in plan.lines if line.depot_id == world["d_east"])


def test_a_draft_plan_is_not_routed(app, world):
    incident, _point = incident_with_demands(world)
    plan = planning.plan_incident(user(world, "author"), incident.id)
    with pytest.raises(Conflict):
        loads.route_or_queue(user(world, "author"), plan.id)


def test_adopting_dispatching_and_receiving_a_trip(app, world):
    incident, point, plan, route_plan = routed(world)
    commander = user(world, "approver")
    trips.adopt(commander, route_plan.id)
    made = trips.visible_trips(commander, incident.id)
    assert made and all(t.status == TripStatus.READY for t in made)
    trip = made[0]
    assert trip.number.endswith("-T0001") and trip.vehicle_type == "厢式货车"
    # a line in a trip no longer moves as a shipment of its own
    line_id = trip.stops[0].drops[0].line_id
    shipment = _db.session.execute(select(Shipment).filter_by(line_id=line_id)).scalar_one()
    with pytest.raises(Conflict):
        shipments.advance(commander, shipment.id, "departed")
    assert shipments.movable(commander, [shipment]) == set()
    before = {lot_no: lot(world, lot_no).on_hand for lot_no in ("T-SOON", "T-LATE", "W1")}
    issued = _db.session.scalar(select(func.count()).select_from(Movement))
    trips.set_crew(commander, trip.id, plate="晋A 12345", driver="张师傅", phone="13912345678")
    trips.depart(commander, trip.id)
    carried = {
        d.line.material.name: d.quantity for s in trip.stops for d in s.drops
    }  # tents first expiring first out: T-SOON before T-LATE
    assert _db.session.scalar(select(func.count()).select_from(Movement)) > issued
    after = {lot_no: lot(world, lot_no).on_hand for lot_no in ("T-SOON", "T-LATE", "W1")}
    assert sum(before.values()) - sum(after.values()) == sum(carried.values())
    assert_ledger_sums()
    _db.session.expire_all()
    assert shipment.status == ShipmentStatus.DEPARTED and shipment.eta is not None
    with pytest.raises(Conflict):
        trips.depart(commander, trip.id)  # once only
    with pytest.raises(Conflict):
        approval.cancel(commander, plan.id, reason="太晚了")  # something has left
    stop = trip.stops[0]
    drop = stop.drops[0]
    with pytest.raises(Invalid):  # a difference needs its reason
        trips.receive_stop(commander, stop.id, {drop.id: {"quantity_received": drop.quantity - 1}})
    trips.receive_stop(
        commander, stop.id, {drop.id: {"quantity_received": drop.quantity - 1, "reason": "破损1"}}
    )
    _db.session.expire_all()
    if all(s.status == "received" for s in trip.stops):
        assert trip.status == TripStatus.COMPLETED
    for other in made[1:]:
        trips.depart(commander, other.id)
        for s in other.stops:
            trips.receive_stop(commander, s.id, {})
    _db.session.expire_all()
    got = _db.session.execute(select(Shipment).filter_by(line_id=line_id)).scalar_one()
    assert got.status == ShipmentStatus.RECEIVED and "破损1" in got.discrepancy_reason
    assert_ledger_sums()


def test_a_line_that_left_by_itself_is_not_put_in_a_trip(app, world):
    incident, point, plan = approved(world)
    commander = user(world, "approver")
    first = _db.session.execute(
        select(Shipment).where(Shipment.line_id == plan.lines[0].id)
    ).scalar_one()
    shipments.advance(commander, first.id, "departed")
    route_plan = loads.route_or_queue(commander, plan.id)
    left = {u["line_id"]: u["reason"] for u in route_plan.unassigned}
    assert left[plan.lines[0].id] == "该行已作为单独发运发出。"
    carried = {
        d["delivery"] for r in route_plan.routes["routes"] for s in r["stops"] for d in s["drops"]
    }
    assert f"L{plan.lines[0].id}" not in carried


def test_every_edit_is_a_new_checked_version(app, world):
    incident, point, plan, first = routed(world)
    commander = user(world, "author")
    used = first.routes["routes"][0]["vehicle"]
    excluded = loads.edit_routes(commander, first.id, {"action": "exclude", "vehicle": used})
    assert excluded.version == 2 and excluded.based_on_id == first.id
    assert used not in {r["vehicle"] for r in excluded.routes["routes"]}
    assert excluded.violations == [] and excluded.edit["excluded"] == [used]
    _db.session.expire_all()
    assert first.status == RoutePlanStatus.SUPERSEDED
    kept = excluded.routes["routes"][0]
    pinned = loads.edit_routes(
        commander, excluded.id, {"action": "pin", "vehicle": kept["vehicle"]}
    )
    assert kept in pinned.routes["routes"] and pinned.violations == []
    again = loads.edit_routes(commander, pinned.id, {"action": "include", "vehicle": used})
    assert again.edit["excluded"] == [] and again.edit["pinned"] == [kept["vehicle"]]
    # a drop moved onto another vehicle: timed again and checked
    route = again.routes["routes"][0]
    drop, stop = route["stops"][0]["drops"][0], route["stops"][0]
    other = next(v["id"] for v in again.problem["vehicles"] if v["id"] != route["vehicle"])
    moved = loads.edit_routes(
        commander,
        again.id,
        {
            "action": "move",
            "vehicle": route["vehicle"],
            "to_vehicle": other,
            "delivery": drop["delivery"],
            "point": stop["point"],
            "quantity": 1,
        },
    )
    assert moved.method == "manual" and moved.violations == []
    target = next(r for r in moved.routes["routes"] if r["vehicle"] == other)
    assert any(d["delivery"] == drop["delivery"] for s in target["stops"] for d in s["drops"])
    assert [v.version for v in loads.list_route_plans(commander, plan.id)] == [5, 4, 3, 2, 1]


def test_an_overloaded_version_is_kept_with_its_violations_and_never_adopted(app, world):
    incident, point, plan = approved(world, tents=150, water=0)
    _db.session.execute(
        TransportCapacity.__table__.update().values(count=2, payload_t=3.0)
    )  # 150 tents × 30 kg = 4.5 t over two 3 t trucks
    _db.session.commit()
    commander = user(world, "author")
    first = loads.route_or_queue(commander, plan.id)
    assert len(first.routes["routes"]) == 2 and first.violations == []
    a, b = first.routes["routes"]
    drop, stop = a["stops"][0]["drops"][0], a["stops"][0]
    moved = loads.edit_routes(
        commander,
        first.id,
        {
            "action": "move",
            "vehicle": a["vehicle"],
            "to_vehicle": b["vehicle"],
            "delivery": drop["delivery"],
            "point": stop["point"],
        },
    )
    assert any(v["text"] == "车辆装载超过核定载重。" for v in moved.violations)
    with pytest.raises(Conflict):
        trips.adopt(user(world, "approver"), moved.id)
    assert not _db.session.scalar(select(func.count()).select_from(Trip))


def test_bad_input_is_answered_per_delivery(app, world):
    """A unit heavier than any vehicle, a depot without vehicles: unassigned with reasons; a
    deadline nobody can meet: a late flag; never an error."""
    boulder = factories.catalog_material("009", "大型发电机组", weight_kg=40_000)
    ledger.record_receipt(
        user(world, "east_op"),
        depot_id=world["d_east"],
        material_id=boulder.id,
        quantity=3,
        facts=LotFacts("G1"),
    )
    incident, point = incident_with_demands(world, water=0)
    from dispatch.services import incidents

    author = user(world, "author")
    incidents.add_demand(
        author,
        incident.id,
        point_id=point.id,
        material_id=boulder.id,
        quantity=2,
        needed_by=utcnow() + timedelta(hours=30),
    )
    plan = planning.plan_incident(author, incident.id)
    approval.approve(user(world, "approver"), plan.id)
    # the bridge is out: the road now takes two days, past every deadline
    road_times.set_road_time(
        author, from_key=f"D{world['d_east']}", to_key=f"P{point.id}", hours=48, km=300
    )
    route_plan = loads.route_or_queue(author, plan.id)
    reasons = {u["line_id"]: u["reason"] for u in route_plan.unassigned}
    heavy = next(line for line in plan.lines if line.material_id == boulder.id)
    assert reasons[heavy.id] == "单件物资比该库任何车辆的载重或容积都大。"
    described = waybills.describe_version(route_plan, plan.lines)
    assert described["routes"] and all(s["late"] for r in described["routes"] for s in r["stops"])


def test_crew_details_are_checked_and_nothing_is_kept_when_one_is_wrong(app, world):
    incident, point, plan, route_plan = routed(world)
    commander = user(world, "approver")
    trips.adopt(commander, route_plan.id)
    trip = trips.visible_trips(commander, incident.id)[0]
    for bad in ({"phone": "110"}, {"plate": "<script>"}, {"driver": "张" * 51}):
        with pytest.raises(Invalid):
            trips.set_crew(commander, trip.id, **{"plate": "晋A12345", "driver": "李", **bad})
        _db.session.rollback()
        _db.session.expire_all()
        assert trip.plate is None
    with pytest.raises(Exception):
        trips.set_crew(user(world, "west_op"), trip.id, plate="晋A12345")


def test_cancelling_a_plan_cancels_its_trips_that_have_not_left(app, world):
    incident, point, plan, route_plan = routed(world)
    trips.adopt(user(world, "approver"), route_plan.id)
    approval.cancel(user(world, "approver"), plan.id, reason="重新编制")
    _db.session.expire_all()
    assert {t.status for t in _db.session.execute(select(Trip)).scalars()} == {TripStatus.CANCELLED}
    assert_ledger_sums()


def test_a_drill_trip_moves_no_stock(app, world):
    incident, point, plan, route_plan = routed(world, drill=True)
    commander = user(world, "approver")
    trips.adopt(commander, route_plan.id)
    before = _db.session.scalar(select(func.count()).select_from(Movement))
    for trip in trips.visible_trips(commander, incident.id):
        trips.depart(commander, trip.id)
    assert _db.session.scalar(select(func.count()).select_from(Movement)) == before


def test_operators_see_and_move_only_their_agencys_trips(app, world):
    incident, point, plan, route_plan = routed(world, tents=200)
    trips.adopt(user(world, "approver"), route_plan.id)
    assert trips.visible_trips(user(world, "west_op"), incident.id) == []
    east = trips.visible_trips(user(world, "east_op"), incident.id)
    assert east and trips.movable(user(world, "east_op"), east) == {t.id for t in east}
    assert (
        trips.movable(
            user(world, "viewer"), trips.visible_trips(user(world, "viewer"), incident.id)
        )
        == set()
    )


def test_known_road_times_become_the_problems_travel(app, world):
    incident, point, plan = approved(world)
    commander = user(world, "author")
    road_times.set_road_time(
        commander, from_key=f"D{world['d_east']}", to_key=f"P{point.id}", hours=3.5, km=80
    )
    for bad in ({"hours": 0}, {"hours": 241}, {"km": -1}, {"hours": float("nan")}):
        with pytest.raises(Invalid):
            road_times.set_road_time(
                commander,
                from_key=f"D{world['d_east']}",
                to_key=f"P{point.id}",
                **{"hours": 1, "km": 1, **bad},
            )
    with pytest.raises(Invalid):
        road_times.set_road_time(
            commander, from_key="D999999", to_key=f"P{point.id}", hours=1, km=1
        )
    route_plan = loads.route_or_queue(commander, plan.id)
    assert {
        "from": f"D{world['d_east']}",
        "to": f"P{point.id}",
        "hours": 3.5,
        "km": 80.0,
    } in route_plan.problem["travel"]
    first = route_plan.routes["routes"][0]["stops"][0]
    assert first["arrival_h"] == pytest.approx(3.5 + app.config["DISPATCH_HANDLING_H"], abs=1e-4)


class _StandIn(BaseHTTPRequestHandler):
    """A road-network service on loopback: every pair 2 h and 100 km, or a failure."""

    fail = False

    def do_GET(self):  # noqa: N802 (the standard library's name)
        places = self.path.split("/table/v1/driving/")[1].split("?")[0].split(";")
        if self.fail:
            self.send_response(500)
            self.end_headers()
            return
        n = len(places)
        body = json.dumps(
            {
                "code": "Ok",
                "durations": [[0 if i == j else 7200 for j in range(n)] for i in range(n)],
                "distances": [[0 if i == j else 100_000 for j in range(n)] for i in range(n)],
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def road_service():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _StandIn)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()
    _StandIn.fail = False


def test_a_road_network_service_is_used_and_never_required(app, world, road_service, monkeypatch):
    incident, point, plan = approved(world)
    commander = user(world, "author")
    monkeypatch.setitem(
        app.config, "DISPATCH_OSRM_URL", f"http://127.0.0.1:{road_service.server_port}"
    )
    route_plan = loads.route_or_queue(commander, plan.id)
    assert route_plan.metrics["travel"]["osrm"] == "ok"
    assert route_plan.routes["routes"][0]["stops"][0]["arrival_h"] == pytest.approx(
        2 + app.config["DISPATCH_HANDLING_H"], abs=1e-4
    )
    _StandIn.fail = True
    failed = loads.route_or_queue(commander, plan.id)
    assert failed.metrics["travel"]["osrm"] == "failed" and failed.routes["routes"]
    monkeypatch.setitem(app.config, "DISPATCH_OSRM_URL", "http://127.0.0.1:9")  # nothing listens
    assert loads.route_or_queue(commander, plan.id).metrics["travel"]["osrm"] == "failed"


def test_large_problems_become_a_routing_job(app, world, monkeypatch):
    incident, point, plan = approved(world)
    monkeypatch.setitem(app.config, "DISPATCH_ROUTE_BACKGROUND_PAIRS", 0)
    from core.background import BackgroundJob

    job = loads.route_or_queue(user(world, "author"), plan.id)
    assert isinstance(job, BackgroundJob) and job.kind == "route" and job.subject_id == plan.id


def test_api_and_pages_of_the_loading_plan(app, world, client):
    with app.app_context():
        incident, point, plan = approved(world)
        incident_id, plan_id, point_id = incident.id, plan.id, point.id
    log_in(client, world["emails"]["approver"])
    token = csrf_token(client.get(f"/incidents/{incident_id}").text)
    headers = {"X-CSRFToken": token}
    built = client.post(f"/api/v1/dispatch-plans/{plan_id}/route-plans", json={}, headers=headers)
    assert built.status_code == 201, built.text
    route_plan = built.json
    assert client.get(f"/api/v1/route-plans/{route_plan['id']}").json["version"] == 1
    bad = client.post(
        f"/api/v1/route-plans/{route_plan['id']}/edit",
        json={"action": "exclude", "vehicle": "V0-0"},
        headers=headers,
    )
    assert bad.status_code == 422 and bad.json["detail"]
    adopted = client.post(f"/api/v1/route-plans/{route_plan['id']}/adopt", headers=headers)
    assert adopted.status_code == 200, adopted.text
    listed = client.get(f"/api/v1/incidents/{incident_id}/trips").json
    trip = listed[0]
    assert trip["depot"] and trip["stops"][0]["point"] == "小店区安置点"
    refused = client.patch(f"/api/v1/trips/{trip['id']}", json={"phone": "abc"}, headers=headers)
    assert refused.status_code == 422
    ok = client.patch(
        f"/api/v1/trips/{trip['id']}",
        json={"plate": "晋A12345", "driver": "王师傅", "phone": "13800001111"},
        headers=headers,
    )
    assert ok.json["plate"] == "晋A12345"
    page = client.get(f"/incidents/{incident_id}")
    assert "装车方案" in page.text and trip["number"] in page.text and "发车出库" in page.text
    bill = client.get(f"/trips/{trip['id']}/waybill")
    assert (
        bill.status_code == 200
        and "运单" in bill.text
        and "晋A12345" in bill.text
        and "T-SOON" in bill.text
    )
    departed = client.post(f"/api/v1/trips/{trip['id']}/depart", headers=headers)
    assert departed.json["status"] == "departed"
    stop = departed.json["stops"][0]
    received = client.post(
        f"/api/v1/trip-stops/{stop['id']}/receive",
        json={"drops": [{"drop_id": 999999, "quantity_received": 1}]},
        headers=headers,
    )
    assert received.status_code == 422
    received = client.post(f"/api/v1/trip-stops/{stop['id']}/receive", json={}, headers=headers)
    assert received.status_code == 200 and received.json["stops"][0]["status"] == "received"
    saved = client.post(
        "/api/v1/road-times",
        json={"from_key": f"P{point_id}", "to_key": f"D{world['d_east']}", "hours": 2, "km": 90},
        headers=headers,
    )
    assert saved.status_code == 201
    assert client.get("/api/v1/road-times").json["total"] == 1
    assert (
        client.delete(f"/api/v1/road-times/{saved.json['id']}", headers=headers).status_code == 204
    )
    assert client.get(f"/road-times?incident={incident_id}").status_code == 200


def test_shipments_carried_by_trips_are_nobodys_shipment_todo(app, world):
    from dispatch import todos

    incident, point, plan, route_plan = routed(world)
    operator = user(world, "east_op")
    before = todos._shipments(operator, "ready", "shipment_send").count
    assert before >= 1
    trips.adopt(user(world, "approver"), route_plan.id)
    assert todos._shipments(operator, "ready", "shipment_send").count == 0
