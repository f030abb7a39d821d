"""One incident on the command board in headless Chromium: the commander records it, adds a
demand point and a demand, plans from live stock; an administrator approves (four eyes); the
shipments appear and one departs. Screenshots land in artifacts/screenshots/."""

import pytest

from tests.browser.support import SHOTS, log_in

pytestmark = pytest.mark.browser


def test_an_incident_goes_from_demand_to_departing_shipments(page, live_server):
    SHOTS.mkdir(parents=True, exist_ok=True)
    log_in(page, live_server, "commander@example.org")
    page.goto(live_server["url"] + "/incidents")
    page.fill("input[name=title]", "浏览器测试：太原地震")
    page.select_option("select[name=incident_type]", "natural_disaster")
    page.select_option("select[name=subtype]", "earthquake")
    page.select_option("select[name=region_code]", "140100")
    page.click("form.stack button[type=submit]")
    page.wait_for_url("**/incidents/*")
    board_url = page.url
    page.fill("#demands input[name=name]", "小店区体育馆安置点")
    page.fill("#demands input[name=population]", "8000")
    page.click("#demands details:first-of-type button[type=submit]")
    page.wait_for_url("**/incidents/*")
    page.select_option(
        "#demands select[name=material_id]",
        label=page.locator(
            "#demands select[name=material_id] option", has_text="单帐篷"
        ).first.inner_text(),
    )
    page.fill("#demands input[name=quantity]", "150")
    page.select_option("#demands select[name=priority]", "3")
    page.locator("#demands form", has=page.locator("input[name=quantity]")).locator(
        "button[type=submit]"
    ).click()
    page.wait_for_url("**/incidents/*")
    assert "单帐篷" in page.inner_text("#demands")
    page.click("text=根据实时库存编制方案")
    page.wait_for_url("**/incidents/*")
    assert "第 1 版" in page.inner_text("#plan")
    page.wait_for_selector(
        "#incident-map path.leaflet-interactive"
    )  # the map has drawn the plan's routes
    page.screenshot(path=str(SHOTS / "command-board-plan.png"), full_page=True)
    page.click("text=退出登录")

    log_in(page, live_server, "admin@example.org")
    page.goto(board_url)
    page.click("text=批准并预留库存")
    page.wait_for_url("**/incidents/*")
    assert "方案已批准" in page.inner_text("main")
    shipments = page.locator("#shipments tbody tr")
    assert shipments.count() >= 1
    shipments.first.locator("button", has_text="已发出").click()
    page.wait_for_url("**/incidents/*")
    assert "已发出" in page.inner_text("#shipments")
    page.wait_for_function(
        "() => document.querySelector('[data-live=\"departed\"]').textContent.trim() === '1'"
    )
    page.screenshot(path=str(SHOTS / "command-board-shipments.png"), full_page=True)
