"""The portal in a real headless Chromium: an enterprise registers, an administrator approves
it, and it appears in the public list. Screenshots at desktop and phone widths land in
artifacts/screenshots/ for a person to look at; no request leaves the machine."""

import pytest

from tests.browser.support import SHOTS, log_in, serve_demo

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da6364f8"
    "ffbf1e000502027f3d2a6b5c0000000049454e44ae426082"
)
ENTERPRISE = "山西龙城应急装备有限公司"


@pytest.fixture(scope="module")
def portal_server(tmp_path_factory):
    uploads = tmp_path_factory.mktemp("portal-uploads")
    licence = tmp_path_factory.mktemp("portal-licence") / "营业执照.png"
    licence.write_bytes(PNG)
    for server in serve_demo(tmp_path_factory, "portal-live", {"PORTAL_UPLOAD_DIR": str(uploads)}):
        yield {**server, "licence": str(licence), "uploads": uploads}


@pytest.fixture
def new_page(browser, portal_server):
    contexts = []

    def open_page(viewport=DESKTOP):
        context = browser.new_context(viewport=viewport, locale="zh-CN")
        contexts.append(context)
        page = context.new_page()
        page.requested = []
        page.on("request", lambda request: page.requested.append(request.url))
        return page

    yield open_page
    for context in contexts:
        foreign = [
            url
            for page in context.pages
            for url in page.requested
            if not url.startswith(portal_server["url"]) and not url.startswith("data:")
        ]
        context.close()
        assert foreign == [], "requests left the machine"


def _shoot(page, name):
    """The whole page, and on a phone also the first screen (what a person sees first)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    if page.viewport_size["width"] < 600:
        page.screenshot(path=str(SHOTS / f"{name}-first-screen.png"))


def test_supplier_registers_admin_approves_and_it_appears_in_the_public_list(
    new_page, portal_server
):
    server = portal_server
    visitor = new_page(PHONE)
    visitor.goto(server["url"] + "/portal/register")
    _shoot(visitor, "portal-register-phone")
    visitor.fill("input[name=email]", "longcheng@example.org")
    visitor.fill("input[name=password]", "Fenhe-Bridge-2026")
    visitor.fill("input[name=password_confirm]", "Fenhe-Bridge-2026")
    visitor.fill("input[name=name]", ENTERPRISE)
    visitor.fill("input[name=credit_code]", "9144030071526726XG")
    visitor.fill("input[name=legal_representative]", "孙立")
    visitor.fill("input[name=contact_name]", "周敏")
    visitor.fill("input[name=contact_mobile]", "13903519999")
    visitor.fill("input[name=address]", "太原市万柏林区和平南路88号")
    visitor.select_option("select[name=region_code]", "140100")
    visitor.set_input_files("input[name=licence]", server["licence"])
    visitor.select_option("select[name='offers-0-material_id']", label="棉帐篷（12m² 民政救灾）")
    visitor.fill("input[name='offers-0-quantity_in_stock']", "500")
    visitor.fill("input[name='offers-0-capacity_per_day']", "60")
    visitor.fill("input[name='offers-0-lead_time_h']", "12")
    visitor.check("input[name='offers-0-service_regions'][value='140100']")
    visitor.check("input[name='offers-0-service_regions'][value='140700']")
    visitor.click("form.form button[type=submit]")
    visitor.wait_for_url("**/login")
    assert "注册信息已提交" in visitor.inner_text("main")

    log_in(visitor, server, "longcheng@example.org", "Fenhe-Bridge-2026")
    visitor.goto(server["url"] + "/portal/enterprise")
    assert "待审核" in visitor.inner_text(".status")
    _shoot(visitor, "portal-enterprise-pending-phone")

    admin = new_page(DESKTOP)
    log_in(admin, server, "admin@example.org", server["password"])
    admin.click("nav.mainnav >> text=更多")
    admin.click("nav.mainnav >> text=门户管理")
    admin.click(f"text={ENTERPRISE}")
    admin.wait_for_selector("form.review")
    _shoot(admin, "portal-admin-review-desktop")
    admin.click("button[value=approve]")
    admin.wait_for_selector("text=审核结果已记录")

    public = new_page(DESKTOP)
    public.goto(server["url"] + "/portal/suppliers")
    rows = public.locator("tr.supplier").all_inner_texts()
    assert any(ENTERPRISE in row and "太原市" in row for row in rows), rows
    assert "13903519999" not in public.content()
    _shoot(public, "portal-suppliers-desktop")

    visitor.goto(server["url"] + "/portal/enterprise")
    assert "已通过" in visitor.inner_text(".status")
    assert visitor.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1, (
        "the page scrolls sideways"
    )
    _shoot(visitor, "portal-enterprise-approved-phone")


@pytest.mark.parametrize("viewport, suffix", [(DESKTOP, "desktop"), (PHONE, "phone")])
def test_public_pages_render_with_chart_and_map(new_page, portal_server, viewport, suffix):
    page = new_page(viewport)
    page.goto(portal_server["url"] + "/portal/")
    page.wait_for_selector("#category-chart canvas")
    page.wait_for_selector("#city-map path.leaflet-interactive")
    assert (
        page.locator("#city-map path.leaflet-interactive").count() > 11
    )  # city polygons plus circles
    assert "应急物资储备信息网" in page.inner_text("h1")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= viewport["width"] + 1, "the page scrolls sideways"
    _shoot(page, f"portal-overview-{suffix}")
    for path, name in (("/portal/board/1", "demand"), ("/portal/feedback", "feedback")):
        page.goto(portal_server["url"] + path)
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"] + 1, path
        _shoot(page, f"portal-{name}-{suffix}")
