"""To-dos (待办), the menu badge, the home dashboard and the daily digest: each kind appears for
the user who must act, scoped like the data, and disappears once the work is done."""

from datetime import timedelta

from sqlalchemy import select

from core import todos
from core.auth import ADMIN, COMMANDER
from core.extensions import db as _db
from core.timeutil import utcnow
from dispatch.services import approval, consultation, planning, shipments
from public_site.models import Supplier
from reserve.stock import ledger
from reserve.stock.ledger import LotFacts
from reserve.warnings import notify, services as warning_services
from core.outbox import OutboxMessage
from tests.conftest import log_in
from tests.dispatch.test_dispatch import incident_with_demands, user, world  # noqa: F401  (the fixture)


def kinds(who) -> dict[str, int]:
    return {group.kind: group.count for group in todos.todo_list(who)}


def test_a_draft_plan_waits_for_another_commander_and_the_supplying_agencies(app, world):
    with app.app_context():
        incident, _point = incident_with_demands(world)
        plan = planning.plan_incident(user(world, "author"), incident.id)
        east_lines = [line for line in plan.lines if line.agency_id == world["east"]]
        assert kinds(user(world, "approver"))["plan_approval"] == 1
        assert "plan_approval" not in kinds(user(world, "author"))  # four eyes: not its author
        assert kinds(user(world, "east_op"))["position"] == len(east_lines)
        assert "plan_approval" not in kinds(user(world, "east_op")) and not kinds(
            user(world, "viewer")
        )
        for line in east_lines:
            consultation.set_position(user(world, "east_op"), line.id, position="agree")
        assert "position" not in kinds(user(world, "east_op"))
        approval.approve(user(world, "approver"), plan.id)
        assert "plan_approval" not in kinds(user(world, "approver"))
        east_shipments = kinds(user(world, "east_op"))["shipment_send"]
        assert east_shipments == len(east_lines)
        group = next(
            g for g in todos.todo_list(user(world, "east_op")) if g.kind == "shipment_send"
        )
        assert group.items[0].endpoint == "dispatch.board" and "测试地震" in group.items[0].title
        for row in shipments.list_shipments(user(world, "author"), incident.id):
            if row.agency_id == world["east"]:
                shipments.advance(user(world, "east_op"), row.id, "departed")
                shipments.advance(user(world, "east_op"), row.id, "arrived")
        assert kinds(user(world, "east_op")).get("shipment_receive") == east_shipments
        assert "shipment_send" not in kinds(user(world, "east_op"))


def test_red_warnings_of_the_subtree_wait_until_acknowledged(app, world):
    with app.app_context():
        ledger.record_receipt(
            user(world, "east_op"),
            depot_id=world["d_east"],
            material_id=world["tent"],
            quantity=5,
            facts=LotFacts("T-OLD", expiry_date=utcnow().date() - timedelta(days=3)),
        )
        warning_services.scan()
        assert kinds(user(world, "east_op"))["red_warning"] >= 1
        assert "red_warning" not in kinds(user(world, "west_op"))  # another agency's warning
        group = next(g for g in todos.todo_list(user(world, "east_op")) if g.kind == "red_warning")
        for item in group.items:
            warning_services.acknowledge(user(world, "east_op"), item.params["warning_id"])
        assert "red_warning" not in kinds(user(world, "east_op"))


def pending_supplier():
    from reserve.services.reference import load_regions

    load_regions()
    _db.session.add(
        Supplier(
            name="晋中应急物资有限公司",
            credit_code="91140700MA0K000000",
            legal_representative="张三",
            contact_name="李四",
            contact_mobile="13800000000",
            address="晋中市",
            region_code="140700",
        )
    )
    _db.session.commit()


def test_pending_registrations_wait_for_administrators_on_the_page_menu_and_api(
    app, db, client, make_user
):
    admin = make_user(ADMIN)
    with app.app_context():
        pending_supplier()
    log_in(client, admin["email"])
    home = client.get("/")
    assert 'class="badge"' in home.text and "待办" in home.text and 'id="kpi-todos"' in home.text
    page = client.get("/todos")
    assert (
        page.status_code == 200
        and "待审核的供应企业注册" in page.text
        and "晋中应急物资有限公司" in page.text
    )
    assert "/portal/admin/suppliers/" in page.text
    api = client.get("/api/v1/todos").get_json()
    assert api[0]["kind"] == "supplier_review" and api[0]["count"] == 1
    assert api[0]["items"][0]["url"].startswith("/portal/admin/suppliers/")


def test_nothing_waiting_shows_an_empty_list_and_no_badge(app, db, client, make_user):
    commander = make_user(COMMANDER)
    log_in(client, commander["email"])
    assert "没有等待您处理的事项" in client.get("/todos").text
    assert 'class="badge"' not in client.get("/").text
    assert client.get("/api/v1/todos").get_json() == []


def test_home_dashboard_shows_incidents_red_warnings_and_reporting(app, world, client):
    with app.app_context():
        incident_with_demands(world)
    log_in(client, world["emails"]["viewer"])
    page = client.get("/").text
    for marker in (
        'id="kpi-incidents"',
        'id="kpi-red"',
        'id="kpi-reporting"',
        "测试地震",
        "当前事件",
    ):
        assert marker in page, marker


def test_the_daily_digest_lists_to_dos_for_command_staff(app, world):
    with app.app_context():
        incident, _ = incident_with_demands(world)
        planning.plan_incident(user(world, "author"), incident.id)
        notify.queue_digests(utcnow())
        bodies = {m.recipient: m.body for m in _db.session.execute(select(OutboxMessage)).scalars()}
        approver = bodies[world["emails"]["approver"]]
        assert "待审批的调拨方案 1" in approver and "测试地震" in approver
        assert world["emails"]["author"] not in bodies and world["emails"]["viewer"] not in bodies
        assert "待表态" in bodies[world["emails"]["east_op"]]
