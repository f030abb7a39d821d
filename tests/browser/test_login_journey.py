"""Each demo account logs in and out in a real headless Chromium; no request leaves the machine.

Screenshots land in artifacts/screenshots/ for a person to look at."""

import re

import pytest

from core.demo import DEMO_ACCOUNTS
from tests.browser.support import SHOTS, log_in

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("account", DEMO_ACCOUNTS, ids=lambda a: a.email.split("@")[0])
def test_demo_account_logs_in_sees_its_home_and_logs_out(page, live_server, account):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.goto(live_server["url"] + "/login")
    page.fill("input[name=email]", account.email)
    page.fill("input[name=password]", live_server["password"])
    page.click("button[type=submit]")
    page.wait_for_url(live_server["url"] + "/")
    assert "欢迎" in page.inner_text("h1")
    assert account.display_name in page.inner_text("h1")
    page.screenshot(path=str(SHOTS / f"home-{account.email.split('@')[0]}.png"), full_page=True)

    page.click("text=退出登录")
    page.wait_for_url("**/login")
    page.goto(live_server["url"] + "/agencies")
    assert "/login" in page.url


def test_wrong_password_shows_an_error_in_chinese(page, live_server):
    page.goto(live_server["url"] + "/login")
    page.fill("input[name=email]", DEMO_ACCOUNTS[0].email)
    page.fill("input[name=password]", "not-the-password")
    page.click("button[type=submit]")
    page.wait_for_selector(
        ".flash-error, .field-error"
    )  # the answer has loaded before the screenshot
    page.screenshot(path=str(SHOTS / "login-error.png"))
    assert "/login" in page.url
    assert page.locator(".flash-error, .field-error").count() >= 1


def test_api_docs_render_from_vendored_assets(page, live_server):
    page.goto(live_server["url"] + "/api/docs")
    page.wait_for_selector(".swagger-ui .info", timeout=15000)
    page.screenshot(path=str(SHOTS / "api-docs.png"))
    assert "Emergency materials reserve API" in page.inner_text(".swagger-ui .info")


def test_operator_finds_a_depot_on_the_map_and_reads_its_ledger(page, live_server):
    log_in(page, live_server, "operator@example.org")
    page.click("nav.mainnav >> text=储备库")
    # 11 city polygons plus the depots: the boundaries and the markers arrive separately, so wait
    # for both instead of counting what the first drawing left (that raced: 1 path counted)
    page.locator("#depot-map path.leaflet-interactive").nth(11).wait_for(state="attached")
    rows = page.locator("table.grid tbody tr")
    assert rows.count() > 0
    agencies = page.locator("table.grid tbody td:nth-child(3)").all_inner_texts()
    assert agencies and all("太原" in t for t in agencies), agencies
    page.locator('#depot-map path[stroke="#b42318"]').first.dispatch_event(
        "click"
    )  # a depot's marker
    link = page.wait_for_selector(".leaflet-popup a")
    assert re.fullmatch(r"/depots/\d+", link.get_attribute("href")) and link.inner_text().strip()
    page.screenshot(path=str(SHOTS / "depots-operator.png"))
    page.locator("table.grid tbody a").first.click()
    page.wait_for_selector("text=库存台账")
    assert page.locator("text=期初余额").count() > 0
    page.screenshot(path=str(SHOTS / "depot-detail.png"), full_page=True)


def test_the_menu_fits_one_row_and_more_opens_and_closes(page, live_server):
    log_in(page, live_server, "admin@example.org")  # the longest menu
    bar = page.locator("nav.mainnav").bounding_box()
    link = page.locator("nav.mainnav > a").first.bounding_box()
    assert bar["height"] < 2 * link["height"], (bar, link)  # one row at 1280 px
    menu = page.locator("details.more .menu")
    assert not menu.is_visible()
    page.click("nav.mainnav >> text=更多")
    assert menu.is_visible() and "审计日志" in menu.inner_text()
    page.screenshot(path=str(SHOTS / "menu-more.png"))
    page.click("main h1, main h2")  # a click elsewhere closes it
    assert not menu.is_visible()
    page.click("nav.mainnav >> text=更多")
    page.keyboard.press("Escape")
    assert not menu.is_visible()
    page.click("nav.mainnav >> text=更多")
    page.click("details.more >> text=节点单位")
    page.wait_for_url(live_server["url"] + "/agencies")
    assert page.locator("details.more summary.current").count() == 1
    page.click("text=English")  # the longer English labels fit too
    page.wait_for_selector("nav.mainnav >> text=More")
    bar = page.locator("nav.mainnav").bounding_box()
    assert bar["height"] < 2 * page.locator("nav.mainnav > a").first.bounding_box()["height"], bar
    page.screenshot(path=str(SHOTS / "menu-english.png"))
    page.set_viewport_size(
        {"width": 390, "height": 844}
    )  # a phone: the open list stays on the screen
    page.click("nav.mainnav >> text=More")
    box = page.locator("details.more .menu").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    page.screenshot(path=str(SHOTS / "menu-phone.png"))


def test_commander_reads_the_gap_of_the_provincial_plan(page, live_server):
    log_in(page, live_server, "commander@example.org")
    page.goto(live_server["url"] + "/plans")
    page.click("text=山西省自然灾害救助应急预案")
    page.wait_for_selector("text=项未达标")
    assert page.locator("tr.short").count() > 0
    page.screenshot(path=str(SHOTS / "plan-gap.png"), full_page=True)
