"""The commander's journey in headless Chromium (zh-CN) on the demo: an incident, a demand point
placed by clicking the map, a demand, a plan; the author is offered no approval, a second
commander approves; shipments depart, arrive and are received; the after-action report records
consumption and is printed (print media). Screenshots land in artifacts/screenshots/."""

import re

import pytest

from tests.browser.support import SHOTS, log_in, log_out

pytestmark = pytest.mark.browser


def submit(page, form):
    form.locator("button[type=submit]").first.click()
    page.wait_for_load_state("load")


def test_commander_journey_from_map_click_to_printed_report(page, live_server):
    SHOTS.mkdir(parents=True, exist_ok=True)
    log_in(page, live_server, "commander@example.org")
    page.goto(live_server["url"] + "/incidents")
    page.fill("input[name=title]", "浏览器测试：清徐县洪水")
    page.select_option("select[name=incident_type]", "natural_disaster")
    page.select_option("select[name=subtype]", "flood")
    page.select_option("select[name=region_code]", "140100")
    page.click("form.stack button[type=submit]")
    page.wait_for_url("**/incidents/*")
    board_url = page.url

    # A region centres the map and writes its coordinates; a click on the map moves the point.
    form = page.locator("#point-form")
    form.locator("input[name=name]").fill("清徐县体育场安置点")
    form.locator("select[name=region_code]").select_option(label="清徐县")
    picked = (
        form.locator("input[name=lat]").input_value(),
        form.locator("input[name=lon]").input_value(),
    )
    assert all(re.fullmatch(r"\d+\.\d{6}", v) for v in picked), picked
    assert page.locator("#incident-map .leaflet-marker-icon").count() == 1
    page.locator("#incident-map").click(position={"x": 180, "y": 160})
    clicked = (
        form.locator("input[name=lat]").input_value(),
        form.locator("input[name=lon]").input_value(),
    )
    assert clicked != picked and all(re.fullmatch(r"\d+\.\d{6}", v) for v in clicked), clicked
    page.screenshot(path=str(SHOTS / "commander-point-by-click.png"), full_page=True)
    form.locator("input[name=lat]").fill("37.6065")  # typed freely, four decimals
    form.locator("input[name=population]").fill("3000")
    submit(page, form)
    assert "清徐县体育场安置点" in page.inner_text("#demands select[name=point_id]")

    demand = page.locator("#demands form", has=page.locator("input[name=quantity]"))
    demand.locator("select[name=material_id]").select_option(
        label=page.locator(
            "#demands select[name=material_id] option", has_text="单帐篷"
        ).first.inner_text()
    )
    demand.locator("input[name=quantity]").fill("60")
    demand.locator("select[name=priority]").select_option("3")
    submit(page, demand)
    assert "单帐篷" in page.inner_text("#demands table")
    page.click("text=根据实时库存编制方案")
    page.wait_for_url("**/incidents/*")
    plan = page.inner_text("#plan")
    assert (
        "第 1 版" in plan and "批准并预留库存" not in plan and "另一位指挥人员" in plan
    )  # four eyes
    assert "调拨方案" in page.inner_text(".tiles")
    log_out(page)

    log_in(page, live_server, "commander2@example.org")
    page.goto(board_url)
    page.click("text=批准并预留库存")
    page.wait_for_url("**/incidents/*")
    assert "方案已批准" in page.inner_text("main")
    for step in ("已发出", "已到达", "已签收"):
        while page.locator("#shipments button", has_text=step).count():
            page.locator("#shipments button", has_text=step).first.click()
            page.wait_for_load_state("load")
    shipments = page.inner_text("#shipments")
    assert "已签收" in shipments and "已发出" not in shipments.split("状态")[-1].replace(
        "已签收", ""
    )
    assert "撤销方案" not in page.inner_text("#plan")  # every shipment is in: nothing to cancel
    page.screenshot(path=str(SHOTS / "commander-shipments-received.png"), full_page=True)

    page.locator("a", has_text="善后总结报告").first.click()
    page.wait_for_url("**/report")
    consumption = page.locator("form", has=page.locator("select[name=point_id]"))
    consumption.locator("input[name=quantity]").fill("40")
    consumption.locator("input[name=note]").fill("安置点发放")
    submit(page, consumption)
    report = page.inner_text("main")
    assert "安置点发放" in report and "清徐县体育场安置点" in report
    assert "UTC" not in report and "编制人" in report
    page.emulate_media(media="print")
    page.screenshot(path=str(SHOTS / "commander-after-action-print.png"), full_page=True)
    assert (
        not page.locator("header.topbar").is_visible()
        and not page.locator("form").first.is_visible()
    )
    assert page.locator("table.grid thead").count() >= 6
