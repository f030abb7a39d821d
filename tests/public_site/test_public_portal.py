"""The public side of the portal: a crawl of every public page and API with restricted canary
strings seeded in the data, HTTP caching, rate limits, honeypot and CSRF, the supply/demand
board and feedback (SQLite and PostgreSQL)."""

import re
from collections import deque
from datetime import timedelta

import pytest

from core.auth import ADMIN, COMMANDER, SUPPLIER, User
from core.extensions import db as _db
from core.timeutil import utcnow
from public_site.models import BoardDemand, BoardOffer, Feedback, Notice, Supplier, SupplierOffer
from reserve.models import Depot
from reserve.stock.models import StockLot
from reserve.stock import rollup
from tests.conftest import csrf_token, log_in
from tests.public_site.portal_helpers import count, portal, post_form  # noqa: F401

pytestmark = pytest.mark.usefixtures("portal")

CANARIES = [
    "CANARY",
    "绝密储备库",
    "987654",
    "987,654",
    "876543",
    "876,543",
    "37.987654",
    "112.123456",
    "13912345678",
    "canary@example.org",
]


@pytest.fixture
def seeded(app, portal, make_agency):
    """Public, internal and restricted stock; private details of suppliers, offers and feedback."""
    agency = make_agency("CANARY-AG", name="金丝雀单位")
    with app.app_context():
        depots = {}
        for classification, name, lat, lon in (
            ("public", "公开储备库", 37.87, 112.55),
            ("internal", "CANARY内部储备库", 37.9, 112.5),
            ("restricted", "CANARY绝密储备库", 37.987654, 112.123456),
        ):
            depot = Depot(
                agency_id=agency,
                code=f"CAN-{classification}",
                name=name,
                region_code="140105",
                lat=lat,
                lon=lon,
                classification=classification,
                status="active",
                address="CANARY路1号",
            )
            _db.session.add(depot)
            depots[classification] = depot
        _db.session.flush()
        for classification, quantity in (
            ("public", 1234),
            ("internal", 876543),
            ("restricted", 987654),
        ):
            _db.session.add(
                StockLot(
                    depot_id=depots[classification].id,
                    material_id=portal["tent"],
                    lot_no=f"CANARY-LOT-{classification}",
                    owner_agency_id=agency,
                    classification=classification,
                    on_hand=quantity,
                    reserved=0,
                )
            )
        rollup.rebuild()
        approved = Supplier(
            name="公开供应企业",
            credit_code="914403001922038216",
            legal_representative="CANARY法人",
            contact_name="CANARY联系人",
            contact_mobile="13912345678",
            address="CANARY地址",
            region_code="140100",
            status="approved",
            offers=[
                SupplierOffer(
                    material_id=portal["tent"],
                    quantity_in_stock=987654,
                    capacity_per_day=876543,
                    lead_time_h=6,
                    service_regions="140100",
                )
            ],
        )
        pending = Supplier(
            name="CANARY待审企业",
            credit_code="9144030071526726XG",
            legal_representative="某",
            contact_name="某",
            contact_mobile="13900000000",
            address="某地",
            region_code="140100",
            status="pending",
        )
        demand = BoardDemand(
            title="安置点需要帐篷",
            material_id=portal["tent"],
            unit="顶",
            quantity=100,
            region_code="140100",
            source_kind="admin",
        )
        demand.offers.append(
            BoardOffer(
                offerer_name="CANARY供方",
                contact="canary@example.org",
                quantity=40,
                note="CANARY备注",
                status="matched",
                matched_quantity=40,
            )
        )
        _db.session.add_all(
            [
                approved,
                pending,
                demand,
                Notice(
                    kind="notice",
                    title="公开通知",
                    body="正文",
                    published=True,
                    published_at=utcnow(),
                ),
                Notice(kind="news", title="CANARY草稿", body="CANARY", published=False),
                Feedback(
                    category="question",
                    text="公开的问题",
                    contact="canary@example.org",
                    answer="公开的答复",
                    answered_at=utcnow(),
                    is_public=True,
                ),
                Feedback(category="report", text="CANARY未公开留言", contact="13912345678"),
                Feedback(
                    category="report",
                    text="CANARY已答未公开",
                    answer="CANARY答复",
                    answered_at=utcnow(),
                ),
            ]
        )
        _db.session.commit()
        return {
            "demand": demand.id,
            "approved_supplier": approved.id,
            "restricted_depot": depots["restricted"].id,
        }


CALL_PRICE = 876543.0  # an offer's price: the enterprise's terms are never public


@pytest.fixture
def seeded_call(app, seeded, make_user, portal):
    """供需发布 (issue 19) through the services: an incident in Taiyuan whose point (a canary name)
    lacks tents, its call drafted, approved and published, the approved enterprise's offer (its
    price a canary) accepted and received into the restricted canary depot; the incident's
    public notice drafted and published. Its public pages must name none of it."""
    from dispatch.services import incidents, planning, supply_calls
    from public_site.services import board, notices

    author, approver, admin = make_user(COMMANDER), make_user(COMMANDER), make_user(ADMIN)
    account = make_user(SUPPLIER)
    with app.app_context():
        _db.session.get(Supplier, seeded["approved_supplier"]).user_id = account["id"]
        _db.session.commit()
        commander = _db.session.get(User, author["id"])
        incident = incidents.create_incident(
            commander,
            title="CANARY内部事件名",
            incident_type="natural_disaster",
            level="II",
            region_code="140100",
        )
        point = incidents.add_point(
            commander, incident.id, name="CANARY安置点", lat=37.74, lon=112.56, region_code="140105"
        )
        incidents.add_demand(
            commander,
            incident.id,
            point_id=point.id,
            material_id=portal["tent"],
            quantity=3_000_000,
            needed_by=utcnow() + timedelta(hours=24),
        )
        plan = planning.plan_incident(commander, incident.id)
        call = supply_calls.draft_call(
            commander,
            plan.id,
            point_id=point.id,
            material_id=portal["tent"],
            quantity=500,
            deadline=utcnow() + timedelta(days=3),
        )
        supply_calls.approve_call(_db.session.get(User, approver["id"]), call.id)
        offer = board.answer_call(
            _db.session.get(User, account["id"]),
            call.board_demand_id,
            quantity=300,
            lead_time_h=6,
            from_region_code="140100",
            price_yuan=CALL_PRICE,
            note="CANARY报价备注",
        )
        supply_calls.accept_offer(commander, offer.id)
        supply_calls.receive_offer(commander, offer.id, depot_id=seeded["restricted_depot"])
        notice = supply_calls.draft_notice(commander, incident.id)
        notices.set_published(_db.session.get(User, admin["id"]), notice.id, True)
        return {"call_demand": call.board_demand_id, "notice": notice.id}


PUBLIC_START = [
    "/",
    "/portal/",
    "/api/v1/public/overview",
    "/api/v1/public/notices",
    "/api/v1/public/suppliers",
    "/api/v1/public/demands",
    "/api/v1/public/feedback",
    "/api/v1/regions?level=city",
]
WITH_DETAIL = {"/api/v1/public/notices", "/api/v1/public/demands"}
NOT_PUBLIC = (
    "/portal/admin",
    "/portal/documents",
    "/portal/enterprise",
    "/login",
    "/lang/",
    "/api/docs",
    "/static",
    "/portal/static",
)


def _links(response) -> list[str]:
    if response.mimetype == "text/html":
        return re.findall(r'href="(/[^"#]*)"', response.text)
    body = response.get_json(silent=True)
    items = body.get("items", []) if isinstance(body, dict) else []
    base = response.request.path.rstrip("/")
    if base not in WITH_DETAIL:
        return []
    return [f"{base}/{item['id']}" for item in items if isinstance(item, dict) and "id" in item]


def crawl(client) -> dict[str, str]:
    """Every page and API answer reachable anonymously from the public entry points."""
    seen, queue = {}, deque(PUBLIC_START)
    while queue:
        url = queue.popleft().replace("&amp;", "&")
        if url in seen or url.startswith(NOT_PUBLIC) or len(seen) > 300:
            continue
        response = client.get(url)
        assert response.status_code == 200, url
        seen[url] = response.get_data(as_text=True)
        queue.extend(link for link in _links(response) if link not in seen)
    return seen


def test_public_crawl_finds_no_restricted_canary(client, seeded, seeded_call):
    pages = crawl(client)
    visited = set(pages)
    assert {
        f"/portal/board/{seeded_call['call_demand']}",
        f"/portal/notices/{seeded_call['notice']}",
    } <= visited
    call_page = pages[f"/portal/board/{seeded_call['call_demand']}"]
    assert "500" in call_page and "太原市" in call_page  # the call's own figure, its city
    assert "876543" not in call_page and "小店区" not in call_page
    assert {
        "/portal/suppliers",
        "/portal/board",
        f"/portal/board/{seeded['demand']}",
        "/portal/feedback",
        "/portal/notices",
        f"/api/v1/public/demands/{seeded['demand']}",
        "/portal/register",
    } <= visited
    assert any(url.startswith("/portal/notices/") for url in visited)
    assert any(url.startswith("/api/v1/public/notices/") for url in visited)
    leaks = [(url, canary) for url, body in pages.items() for canary in CANARIES if canary in body]
    assert leaks == []
    # The public stock is there: the crawl looked at real figures, not at empty pages.
    assert "1,234" in pages["/portal/"] and "公开供应企业" in pages["/portal/suppliers"]
    overview = client.get("/api/v1/public/overview").json
    assert overview["by_material"][0]["quantity"] == 1234
    assert [c["label"] for c in overview["by_city"]] == ["太原市"]
    assert "公开的答复" in pages["/portal/feedback"]


def test_public_pages_are_cacheable_with_etags(client, seeded):
    for url in (
        "/portal/",
        "/portal/suppliers",
        "/portal/board",
        f"/portal/board/{seeded['demand']}",
        "/api/v1/public/overview",
        "/api/v1/public/suppliers",
    ):
        first = client.get(url)
        assert first.headers["Cache-Control"] == "public, max-age=60", url
        assert "Cookie" in first.headers["Vary"]
        etag = first.headers["ETag"]
        again = client.get(url, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.data == b"", url
        assert client.get(url, headers={"If-None-Match": '"stale"'}).status_code == 200


def test_etag_changes_when_the_content_changes(client, app, seeded):
    etag = client.get("/portal/notices").headers["ETag"]
    with app.app_context():
        _db.session.add(
            Notice(
                kind="news", title="新的动态", body="正文", published=True, published_at=utcnow()
            )
        )
        _db.session.commit()
    response = client.get("/portal/notices", headers={"If-None-Match": etag})
    assert response.status_code == 200 and "新的动态" in response.text


def test_pages_of_a_signed_in_user_are_private(client, make_user, seeded):
    log_in(client, make_user(ADMIN)["email"])
    response = client.get("/portal/")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "private, no-cache"


def _feedback(client, **fields):
    return post_form(
        client,
        "/portal/feedback/new",
        "/portal/feedback/new",
        {"category": "suggestion", "text": "建议增加储备点", **fields},
    )


def test_feedback_form_is_rate_limited(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "PORTAL_FORM_RATE_LIMIT", "3 per minute")
    assert [_feedback(client).status_code for _ in range(3)] == [302, 302, 302]
    limited = _feedback(client)
    assert limited.status_code == 429 and "请求过于频繁" in limited.text
    assert count(app, Feedback) == 3


def test_refused_registrations_have_their_own_higher_limit_and_keep_the_form(
    client, app, monkeypatch
):
    """Tries that fail count against PORTAL_REGISTER_FAILURE_RATE_LIMIT only; over it the form
    comes back as typed, with a Chinese message (not a bare 429 page)."""
    monkeypatch.setitem(app.config, "PORTAL_REGISTER_RATE_LIMIT", "1 per minute")
    monkeypatch.setitem(app.config, "PORTAL_REGISTER_FAILURE_RATE_LIMIT", "3 per minute")
    page = client.get("/portal/register")
    statuses = [
        client.post(
            "/portal/register", data={"csrf_token": csrf_token(page.text), "name": "晋中物资公司"}
        ).status_code
        for _ in range(4)
    ]
    assert statuses == [
        422,
        422,
        422,
        429,
    ]  # three corrections pass although only one registration may
    limited = client.post(
        "/portal/register", data={"csrf_token": csrf_token(page.text), "name": "晋中物资公司"}
    )
    assert limited.status_code == 429 and "请稍等一分钟后再次提交" in limited.text
    assert 'value="晋中物资公司"' in limited.text and 'name="credit_code"' in limited.text


def test_public_api_forms_are_rate_limited(client, app, monkeypatch, seeded):
    monkeypatch.setitem(app.config, "PORTAL_FORM_RATE_LIMIT", "2 per minute")
    body = {"category": "question", "text": "请问如何捐赠物资？"}
    statuses = [client.post("/api/v1/public/feedback", json=body).status_code for _ in range(3)]
    assert statuses == [202, 202, 429]
    limited = client.post("/api/v1/public/feedback", json=body)
    assert limited.mimetype == "application/problem+json" and "Retry-After" in limited.headers


def test_honeypot_submissions_look_accepted_and_store_nothing(client, app, seeded):
    assert _feedback(client, website="http://spam.example").status_code == 302
    assert (
        client.post(
            "/api/v1/public/feedback",
            json={"category": "question", "text": "buy cheap pills", "website": "x"},
        ).status_code
        == 202
    )
    offer = client.post(
        f"/api/v1/public/demands/{seeded['demand']}/offers",
        json={"offerer_name": "Bot", "contact": "bot@example.org", "quantity": 5, "website": "y"},
    )
    assert offer.status_code == 202
    assert count(app, Feedback) == 3 and count(app, BoardOffer) == 1  # only the seeded ones


def test_forms_without_csrf_token_are_refused(client, app):
    response = client.post(
        "/portal/feedback/new", data={"category": "suggestion", "text": "没有令牌的留言"}
    )
    assert response.status_code == 400
    assert client.post("/portal/register", data={"name": "x"}).status_code == 400
    assert count(app, Feedback) == 0


def test_bad_feedback_answers_422_in_chinese_and_stores_nothing(client, app):
    response = _feedback(client, category="spam", text="短")
    assert response.status_code == 422
    assert "请从列出的选项中选择" in response.text and "长度应为 5 至 2000 个字符" in response.text
    api = client.post("/api/v1/public/feedback", json={"category": "spam"})
    assert api.status_code == 422 and api.json["title"] == "请求无法处理"
    assert api.json["errors"]["json"]["text"] == ["此项为必填项。"]
    assert count(app, Feedback) == 0


def test_feedback_is_answered_published_and_escaped(client, app, make_user):
    assert (
        _feedback(
            client, text="<script>alert('x')</script> 储备点在哪里？", contact="13800001111"
        ).status_code
        == 302
    )
    assert "储备点在哪里" not in client.get("/portal/feedback").text  # not answered: not public
    log_in(client, make_user(ADMIN)["email"])
    with app.app_context():
        item_id = _db.session.scalar(_db.select(Feedback.id))
    desk = client.get("/portal/admin/feedback")
    assert "13800001111" in desk.text  # the administrators see the contact
    answered = client.post(
        f"/portal/admin/feedback/{item_id}/answer",
        data={"answer": "见首页地图", "is_public": "1", "csrf_token": csrf_token(desk.text)},
    )
    assert answered.status_code == 302
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/").text)})
    public = client.get("/portal/feedback").text
    assert (
        "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in public
        and "<script>alert" not in public
    )
    assert "见首页地图" in public and "13800001111" not in public


def test_notices_appear_once_published(client, app, make_user):
    admin = make_user(ADMIN)
    log_in(client, admin["email"])
    page = client.get("/portal/admin/notices")
    created = client.post(
        "/portal/admin/notices",
        data={
            "kind": "incident",
            "title": "关于暴雨灾害的通报",
            "body": "第一段\n\n第二段",
            "csrf_token": csrf_token(page.text),
        },
    )
    assert created.status_code == 302
    with app.app_context():
        notice_id = _db.session.scalar(_db.select(Notice.id).filter_by(title="关于暴雨灾害的通报"))
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/").text)})
    assert client.get(f"/portal/notices/{notice_id}").status_code == 404
    log_in(client, admin["email"])
    page = client.get("/portal/admin/notices")
    client.post(
        f"/portal/admin/notices/{notice_id}/publish",
        data={"published": "1", "csrf_token": csrf_token(page.text)},
    )
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/").text)})
    shown = client.get(f"/portal/notices/{notice_id}")
    assert (
        shown.status_code == 200 and "<p>第一段</p>" in shown.text and "突发事件信息" in shown.text
    )
    assert (
        client.get("/api/v1/public/notices?kind=incident").json["items"][0]["title"]
        == "关于暴雨灾害的通报"
    )


def test_board_offers_matched_and_declined_show_progress(client, app, make_user, portal):
    admin = make_user(ADMIN)
    token = app.test_cli_runner().invoke(args=["users", "token", admin["email"]]).output.strip()
    headers = {"Authentication-Token": token}
    created = client.post(
        "/api/v1/portal/demands",
        headers=headers,
        json={
            "title": "转移安置需要棉被",
            "material_id": portal["quilt"],
            "unit": "床",
            "quantity": 500,
            "region_code": "141100",
            "needed_by": "2026-12-01",
        },
    )
    assert created.status_code == 201 and created.json["progress"]["remaining"] == 500
    demand_id = created.json["id"]
    page_offer = post_form(
        client,
        f"/portal/board/{demand_id}/offer",
        f"/portal/board/{demand_id}/offer",
        {"offerer_name": "热心市民", "contact": "13800002222", "quantity": "300"},
    )
    assert page_offer.status_code == 302
    for quantity in (400, 50):
        assert (
            client.post(
                f"/api/v1/public/demands/{demand_id}/offers",
                json={
                    "offerer_name": "某企业",
                    "contact": "qiye@example.org",
                    "quantity": quantity,
                },
            ).status_code
            == 202
        )
    assert client.get(f"/api/v1/public/demands/{demand_id}").json["progress"]["offered"] == 750

    offers = client.get("/api/v1/portal/board-offers", headers=headers).json["items"]
    by_quantity = {o["quantity"]: o["id"] for o in offers}

    def decide(offer, decision):
        return client.post(
            f"/api/v1/portal/board-offers/{offer}/decision",
            headers=headers,
            json={"decision": decision},
        )

    assert decide(by_quantity[300], "match").json["matched_quantity"] == 300
    assert decide(by_quantity[50], "decline").json["status"] == "declined"
    assert (
        decide(by_quantity[400], "match").json["matched_quantity"] == 200
    )  # only what was still needed
    again = decide(by_quantity[400], "match")
    assert again.status_code == 409 and again.json["detail"] == "该供应意向已处理。"

    demand = client.get(f"/api/v1/public/demands/{demand_id}").json
    assert demand["status"] == "fulfilled"
    assert demand["progress"] == {
        "quantity": 500,
        "matched": 500,
        "offered": 0,
        "remaining": 0,
        "percent": 100,
    }
    assert (
        "contact" not in str(demand)
        and "13800002222" not in client.get(f"/portal/board/{demand_id}").text
    )
    late = client.post(
        f"/api/v1/public/demands/{demand_id}/offers",
        json={"offerer_name": "迟到者", "contact": "13800003333", "quantity": 1},
    )
    assert late.status_code == 409 and late.json["detail"] == "该需求已不再征集供应。"


def test_a_demand_can_name_its_source(app, make_user, portal):
    """Demands from incidents (a later issue) record where they came from."""
    from public_site.services import board

    with app.app_context():
        admin = _db.session.get(User, make_user(ADMIN)["id"])
        demand = board.create_demand(
            admin,
            title="事件需求",
            unit="顶",
            quantity=10,
            material_id=portal["tent"],
            source_kind="incident",
            source_ref="INC-2026-001",
        )
        assert (demand.source_kind, demand.source_ref) == ("incident", "INC-2026-001")


def test_admin_pages_need_an_administrator(client, make_user):
    for url in (
        "/portal/admin/suppliers",
        "/portal/admin/notices",
        "/portal/admin/board",
        "/portal/admin/feedback",
    ):
        assert client.get(url).status_code in (302, 401), url
    log_in(client, make_user("supplier")["email"])
    for url in (
        "/portal/admin/suppliers",
        "/portal/admin/notices",
        "/portal/admin/board",
        "/portal/admin/feedback",
    ):
        assert client.get(url).status_code == 403, url


def test_the_portal_is_chinese_first_and_english_on_request(client):
    assert "应急物资储备信息网" in client.get("/portal/").text
    client.get("/lang/en")
    page = client.get("/portal/").text
    assert (
        "Emergency Materials Reserve Information Portal" in page and "Supplier registration" in page
    )


def test_demo_portal_is_alive_after_demo_init(app, client):
    """`flask demo init` loads the portal's demo content after the province and the accounts."""
    from core.demo import ensure_demo_accounts
    from public_site import demo as portal_demo
    from reserve import demo as reserve_demo
    from reserve.rules import credit_code_problem

    with app.app_context():
        _db.session.execute(_db.delete(Supplier))  # the fixture's reference data stays
        reserve_demo.build_demo("province", seed=7)
        ensure_demo_accounts()
        assert portal_demo.is_empty()
        portal_demo.build_portal_demo()
        codes = _db.session.scalars(_db.select(Supplier.credit_code)).all()
        assert len(codes) == 5 and all(credit_code_problem(c) is None for c in codes)
    overview = client.get("/api/v1/public/overview").json
    assert overview["weight_t"] > 0 and len(overview["by_city"]) >= 5
    public = client.get("/api/v1/public/suppliers").json
    assert public["total"] == 3 and "运城市安泰救援装备有限公司" not in str(public)
    assert client.get("/api/v1/public/notices").json["total"] == 3
    assert client.get("/api/v1/public/demands").json["items"][0]["progress"]["matched"] == 800
    log_in(client, "supplier@example.org", app.config["DEMO_PASSWORD"])
    assert "已通过" in client.get("/portal/enterprise").text
