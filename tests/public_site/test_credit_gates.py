"""The credit lists at the gates (issue 19 part 2, "done when"): a listed credit code cannot
register; a listing on an approved supplier suspends its offers within one daily run; a plan
made after that leaves its sources (and a listed reserve enterprise's lots) out, with the
reason on the plan; a listing that ends restricts no more. Red-listed enterprises are marked."""

from datetime import date, datetime, timedelta

from stdnum.cn.uscc import calc_check_digit

from core.auth import ADMIN, User
from core.extensions import db as _db
from core.timeutil import local_today, utcnow
from core.todos import todo_list
from dispatch.services import planning
from public_site import jobs as portal_jobs
from public_site.models import Supplier, SupplierDocument, SupplierOffer
from public_site.services import suppliers
from reserve.credit import jobs as credit_jobs
from reserve.credit import services as credit
from reserve.credit.models import CreditHit
from reserve.stock import ledger
from reserve.stock.ledger import LotFacts
from tests import factories
from tests.conftest import csrf_token, log_in
from tests.dispatch.test_dispatch import incident_with_demands, user, world  # noqa: F401
from tests.public_site.portal_helpers import count, portal, register  # noqa: F401

HUAWEI = "914403001922038216"  # real, valid check digit: listed in these tests
RESERVE_CODE = "91140105MA0L77889" + calc_check_digit("91140105MA0L77889")  # valid, listed


def listing(code, name, *, list_="失信", start=None, end=None, authority="深圳市中级人民法院"):
    today = local_today()
    return {
        "credit_code": code,
        "name": name,
        "list": list_,
        "reason": "拒不履行生效法律文书确定的义务",
        "authority": authority,
        "start_date": (start or today - timedelta(days=10)).isoformat(),
        "end_date": (end or today + timedelta(days=365)).isoformat(),
        "source_document": "（2026）粤03执999号",
    }


def record(*rows):
    return credit.record_entries(list(rows), origin="import", origin_ref="测试名单.csv", by_id=None)


def test_a_listed_code_cannot_register_and_nothing_is_stored(client, app, portal):
    with app.app_context():
        record(listing(HUAWEI, "华为技术有限公司"))
    users = count(app, User)
    refused = register(client, portal, credit_code="9144 0300 1922 0382 16")  # typed with spaces
    assert refused.status_code == 422
    assert "列入失信名单的企业不能注册" in refused.text
    assert "深圳市中级人民法院" in refused.text and "拒不履行生效法律文书确定的义务" in refused.text
    assert count(app, Supplier) == 0 and count(app, User) == users
    assert count(app, SupplierDocument) == 0
    assert not (portal["uploads"].exists() and any(portal["uploads"].glob("*.png")))
    # the same code, its listing over (end date yesterday), registers
    with app.app_context():
        credit.end_entry(
            factories.user(_admin_id(app)), _entry_id(app, HUAWEI), "法院裁定终结本次执行"
        )
    assert register(client, portal).status_code == 302


def test_a_red_listed_and_a_listed_registration_are_marked_and_approval_is_refused(
    client, app, portal, make_user
):
    assert register(client, portal).status_code == 302
    with app.app_context():
        record(listing(HUAWEI, "华为技术有限公司"))
        supplier_id = _db.session.scalar(_db.select(Supplier.id))
    admin = make_user(ADMIN)
    client.post("/logout", data={})
    log_in(client, admin["email"])
    queue = client.get("/portal/admin/suppliers")
    assert "失信名单" in queue.text
    page = client.get(f"/portal/admin/suppliers/{supplier_id}")
    assert "深圳市中级人民法院" in page.text and 'value="approve"' not in page.text
    refused = client.post(
        f"/portal/admin/suppliers/{supplier_id}/review",
        data={"action": "approve", "reason": "", "csrf_token": csrf_token(page.text)},
    )
    assert refused.status_code == 409 and "该企业不能审核通过" in refused.text
    with app.app_context():
        assert _db.session.get(Supplier, supplier_id).status == "pending"
        credit.end_entry(factories.user(admin["id"]), _entry_id(app, HUAWEI), "撤销")
        record(listing(HUAWEI, "华为技术有限公司", list_="红名单", authority="省应急管理厅"))
        suppliers.review_supplier(factories.user(admin["id"]), supplier_id, action="approve")
    queue = client.get("/portal/admin/suppliers?status=approved")
    assert "red-list" in queue.text
    public = client.get("/portal/suppliers")
    assert "red-list" in public.text and "省应急管理厅" not in public.text  # the mark only


def _admin_id(app) -> int:
    from core.extensions import security

    found = security.datastore.find_user(email="credit-admin@example.org")
    if found is None:
        found = security.datastore.create_user(
            email="credit-admin@example.org", password="x", roles=[ADMIN]
        )
        _db.session.commit()
    return found.id


def _entry_id(app, code) -> int:
    from reserve.credit.models import CreditEntry

    return _db.session.scalar(
        _db.select(CreditEntry.id).where(
            CreditEntry.credit_code == code, CreditEntry.status == "active"
        )
    )


def _approved_supplier(world, code, name) -> int:
    supplier = Supplier(
        name=name,
        credit_code=code,
        legal_representative="赵明",
        contact_name="钱经理",
        contact_mobile="13903510001",
        address="太原市",
        region_code="140100",
        status="approved",
        offers=[
            SupplierOffer(
                material_id=world["tent"],
                unit="顶",
                quantity_in_stock=500,
                capacity_per_day=0,
                lead_time_h=6,
                service_regions="140100",
            )
        ],
    )
    _db.session.add(supplier)
    _db.session.commit()
    return supplier.id


def _run_daily(now: datetime) -> None:
    credit_jobs.daily(now)
    portal_jobs.check_credit(now)


def test_one_daily_run_suspends_a_listed_supplier_and_the_next_plan_leaves_it_out(
    app, world, client, make_user
):
    with app.app_context():
        supplier_id = _approved_supplier(world, HUAWEI, "华为技术有限公司")
        offer_id = _db.session.scalar(_db.select(SupplierOffer.id))
        incident, _point = incident_with_demands(world, tents=400, water=0)
        before = planning.plan_incident(user(world, "author"), incident.id)
        assert any(line.offer_id == offer_id for line in before.lines)
        record(listing(HUAWEI, "华为技术有限公司"))
        _run_daily(utcnow())
        supplier = _db.session.get(Supplier, supplier_id)
        assert supplier.is_suspended and "深圳市中级人民法院" in supplier.suspended_reason
        assert suppliers.approved_offers() == []
        public = _db.session.scalars(suppliers.list_approved_suppliers()).all()
        assert supplier not in public  # not on the public list while suspended
        assert not supplier.offers[0].is_planning_source
        [hit] = _db.session.scalars(_db.select(CreditHit)).all()
        assert (hit.subject_kind, hit.subject_ref) == ("supplier", str(supplier_id))
        _run_daily(utcnow())  # twice: still one hit
        assert _db.session.scalar(_db.select(_db.func.count(CreditHit.id))) == 1
        admin = make_user(ADMIN)
        groups = {g.kind: g for g in todo_list(factories.user(admin["id"]))}
        assert groups["credit_hit"].count == 1
        after = planning.plan_incident(user(world, "author"), incident.id)
        assert all(line.offer_id is None for line in after.lines)
        [left] = [r for r in after.metrics["left_out"] if r["id"] == f"S{offer_id}"]
        assert left["why"] == "credit_listed" and "深圳市中级人民法院" in left["detail"]
        incident_id = incident.id
    log_in(client, world["emails"]["author"])
    board = client.get(f"/incidents/{incident_id}")
    assert "未纳入本方案" in board.text and "企业列入失信名单" in board.text
    assert "深圳市中级人民法院" in board.text
    # the listing ends: the next daily run reinstates the supplier, plans take it again
    with app.app_context():
        later = datetime.combine(local_today() + timedelta(days=400), datetime.min.time())
        _run_daily(later)
        assert not _db.session.get(Supplier, supplier_id).is_suspended
        assert len(suppliers.approved_offers()) == 1


def test_a_suspended_supplier_is_left_out_even_before_the_listing_is_seen_again(app, world):
    with app.app_context():
        supplier_id = _approved_supplier(world, HUAWEI, "华为技术有限公司")
        record(listing(HUAWEI, "华为技术有限公司"))
        _run_daily(utcnow())
        credit.end_entry(factories.user(_admin_id(app)), _entry_id(app, HUAWEI), "撤销")
        incident, _point = incident_with_demands(world, tents=400, water=0)
        plan = planning.plan_incident(user(world, "author"), incident.id)
        [left] = plan.metrics["left_out"]
        assert left["why"] == "credit_suspended"  # until the next daily run reinstates it
        _run_daily(utcnow())
        assert not _db.session.get(Supplier, supplier_id).is_suspended


def test_a_listed_reserve_enterprise_is_left_out_of_plans_and_raises_a_hit(app, world):
    with app.app_context():
        operator = factories.user(world["east_op"])
        ledger.record_receipt(
            operator,
            depot_id=world["d_east"],
            material_id=world["tent"],
            quantity=300,
            facts=LotFacts(
                "AG-1",
                reserve_type="agreement",
                enterprise_name="太原协议储备企业",
                enterprise_credit_code=RESERVE_CODE,
                lead_time_h=6,
                contract_valid_from=date(2026, 1, 1),
                contract_valid_to=local_today() + timedelta(days=300),
            ),
        )
        incident, _point = incident_with_demands(world, tents=400, water=0)
        before = planning.plan_incident(user(world, "author"), incident.id)
        assert any(line.source_kind == "agreement" for line in before.lines)
        record(listing(RESERVE_CODE, "太原协议储备企业", authority="山西省发展和改革委员会"))
        after = planning.plan_incident(user(world, "author"), incident.id)
        assert not any(line.source_kind == "agreement" for line in after.lines)
        [left] = after.metrics["left_out"]
        assert left["kind"] == "lot" and "山西省发展和改革委员会" in left["detail"]
        assert credit_jobs.daily(utcnow()) == {"listed_reserve_enterprises": 1, "hits_raised": 1}
        [hit] = _db.session.scalars(_db.select(CreditHit)).all()
        assert (hit.subject_kind, hit.subject_name) == ("reserve", "太原协议储备企业")
        # its end date passes: plans take it again
        assert credit_jobs.daily(
            datetime.combine(local_today() + timedelta(days=400), datetime.min.time())
        ) == {"listed_reserve_enterprises": 0, "hits_raised": 0}
