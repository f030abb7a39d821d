"""Issue 17 items 6, 9, 10, 11 in a real headless Chromium on the demo: the leader's live home,
the operator's to-dos and its depot map (zoomed to Taiyuan, clustered, with a legend), and
the public portal and a supplier's registration at phone width (a correction keeps the
licence). Screenshots land in artifacts/screenshots/."""

import pytest

from tests.browser.support import SHOTS, log_in
from tests.public_site.portal_helpers import PNG

pytestmark = pytest.mark.browser


def test_leader_home_is_a_live_dashboard(page, live_server):
    SHOTS.mkdir(parents=True, exist_ok=True)
    log_in(page, live_server, "viewer@example.org")
    assert page.inner_text("#kpi-incidents .value") == "1"  # the open flood; the drill is closed
    assert int(page.inner_text("#kpi-red .value")) > 0
    assert "本期已报送" in page.inner_text("#kpi-reporting")
    assert "阳曲县暴雨洪涝灾害" in page.inner_text("main")
    page.screenshot(path=str(SHOTS / "home-dashboard-viewer.png"), full_page=True)


def test_operator_sees_its_to_dos_and_a_depot_map_of_taiyuan(page, live_server):
    SHOTS.mkdir(parents=True, exist_ok=True)
    log_in(page, live_server, "operator@example.org")
    badge = page.locator("a.todo-link .badge")
    assert int(badge.inner_text()) >= 2  # positions awaited + a red warning
    page.click("a.todo-link")
    page.wait_for_url("**/todos")
    assert "待表态的方案明细" in page.inner_text("main") and "未处理的红色预警" in page.inner_text(
        "main"
    )
    page.screenshot(path=str(SHOTS / "todos-operator.png"), full_page=True)

    page.goto(live_server["url"] + "/depots")
    page.wait_for_selector("#depot-map .map-legend")
    page.wait_for_selector("#depot-map .map-cluster")
    zoom = page.evaluate("document.querySelector('#depot-map')._leaflet_id !== undefined")
    assert zoom
    clusters = page.locator("#depot-map .map-cluster").all_inner_texts()
    assert clusters and sum(int(n) for n in clusters) <= 40 and max(int(n) for n in clusters) > 1
    assert "图例" in page.inner_text("#depot-map .map-legend")
    page.wait_for_timeout(500)
    page.locator("#depot-map").screenshot(path=str(SHOTS / "depot-map-operator.png"))
    page.locator("#depot-map .map-cluster").first.click()  # a cluster opens into its depots
    page.wait_for_timeout(800)
    page.locator("#depot-map").screenshot(path=str(SHOTS / "depot-map-operator-zoomed.png"))


@pytest.fixture
def phone(browser, live_server):
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        locale="zh-CN",
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
    )
    page = context.new_page()
    yield page
    context.close()


def test_public_portal_at_phone_width(phone, live_server):
    SHOTS.mkdir(parents=True, exist_ok=True)
    phone.goto(live_server["url"] + "/portal/")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width}px wide at 390px"
    narrow = (
        phone.evaluate("""Array.from(document.querySelectorAll('main table')).filter(function (t) {
        var style = getComputedStyle(t.parentElement);
        var inner = t.parentElement.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
        return t.rows[0].getBoundingClientRect().width < inner - 2; }).length""")
    )  # the rows: a block table box is full width, its rows may not be
    assert narrow == 0, f"{narrow} tables do not fill their cards"
    phone.screenshot(path=str(SHOTS / "portal-390.png"), full_page=True)
    phone.locator("main table").first.screenshot(path=str(SHOTS / "portal-390-table.png"))


def test_supplier_registration_at_phone_width_keeps_the_licence(phone, live_server, tmp_path):
    SHOTS.mkdir(parents=True, exist_ok=True)
    licence = tmp_path / "营业执照.png"
    licence.write_bytes(PNG)
    phone.goto(live_server["url"] + "/portal/register")
    fields = {
        "email": "ent-390@example.org",
        "password": "Long-enough-9",
        "password_confirm": "Long-enough-9",
        "name": "山西晋中应急物资有限公司",
        "credit_code": "914403001922038216",
        "legal_representative": "赵明",
        "contact_name": "钱经理",
        "contact_mobile": "12903510001",
        "address": "晋中市榆次区顺城街1号",
    }
    for name, value in fields.items():
        phone.fill(f"input[name={name}]", value)
    phone.select_option("select[name=region_code]", "140700")
    phone.select_option("select[name=offers-0-material_id]", index=1)
    phone.fill("input[name=offers-0-quantity_in_stock]", "500")
    phone.check("input[name=offers-0-service_regions][value='140700']")
    phone.set_input_files("input[name=licence]", str(licence))
    phone.click("form.form button[type=submit]")
    phone.wait_for_selector("#licence-kept")
    assert "已上传：营业执照.png，无需重新选择" in phone.inner_text("#licence-kept")
    assert "手机号码为11位数字" in phone.inner_text("main")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    phone.screenshot(path=str(SHOTS / "register-390-error.png"), full_page=True)
    for name in ("password", "password_confirm"):
        phone.fill(f"input[name={name}]", "Long-enough-9")
    phone.fill("input[name=contact_mobile]", "13903510001")
    phone.click("form.form button[type=submit]")  # no second upload
    phone.wait_for_url("**/login")
    assert "注册申请已收到" in phone.inner_text("main") or phone.url.endswith("/login")
    phone.screenshot(path=str(SHOTS / "register-390-done.png"), full_page=True)


def test_commander_sees_the_plan_to_approve_routes_with_direction_and_a_readable_form(
    page, live_server
):
    SHOTS.mkdir(parents=True, exist_ok=True)
    log_in(page, live_server, "commander@example.org")
    page.click("a.todo-link")
    page.click("#todo-plan_approval a")  # the item leads to the board
    page.wait_for_selector("#incident-map .map-legend")
    assert page.locator("#incident-map .map-arrow").count() > 0
    page.wait_for_timeout(500)
    page.locator("#incident-map").screenshot(path=str(SHOTS / "board-routes-arrows.png"))
    page.goto(live_server["url"] + "/incidents")
    page.select_option("select[name=incident_type]", "accident")
    visible = page.evaluate("""Array.from(document.querySelectorAll('select[name=subtype] optgroup'))
        .filter(function (g) { return !g.hidden; }).map(function (g) { return g.dataset.type; })""")
    assert visible == ["accident"]
    height = page.evaluate(
        "document.querySelector('input[name=title]').getBoundingClientRect().height"
    )
    assert height >= 34, f"the title input is {height}px high"
    page.locator("#incident-form").screenshot(path=str(SHOTS / "incident-form.png"))
