"""装车方案 in headless Chromium (issue 18): the commander approves the open incident's plan,
routes it onto the depots' vehicles, adopts it, enters a crew, dispatches a trip, receives it
at every stop, and prints the trip's waybill. Screenshots and the PDF land in
artifacts/screenshots/."""

import re

import pytest

from tests.browser.support import SHOTS, log_in
from tests.browser.waits import ready

pytestmark = pytest.mark.browser


def test_approve_route_dispatch_receive_and_print_the_waybill(page, live_server):
    SHOTS.mkdir(parents=True, exist_ok=True)
    log_in(page, live_server, "commander@example.org")
    page.goto(live_server["url"] + "/incidents")
    page.locator("tr", has_text="阳曲县暴雨洪涝灾害").locator("a").first.click()
    page.wait_for_load_state("load")
    page.click("text=批准并预留库存")
    page.wait_for_load_state("load")
    section = page.locator("#loads")
    assert "装车方案" in section.inner_text()
    assert section.locator("text=采用：生成车次").count() == 0  # nothing to adopt yet
    page.click("text=编制装车方案")
    page.wait_for_load_state("load")
    text = section.inner_text()
    assert "第 1 版" in text and "草稿" in text
    assert not re.search(
        r"\bV\d+-\d+\b", section.locator("[data-routes]").inner_text()
    )  # names, not ids
    ready(page, ["#incident-map path.trip-route"])  # the proposal drawn stop by stop
    page.screenshot(path=str(SHOTS / "loading-plan-proposal.png"), full_page=True)
    section.screenshot(path=str(SHOTS / "loading-plan-proposal-section.png"))
    page.locator("#incident-map").screenshot(path=str(SHOTS / "loading-plan-map.png"))

    page.click("text=采用：生成车次")
    page.wait_for_load_state("load")
    assert "装车方案已采用" in page.inner_text("main")
    first = section.locator("[data-trips] tbody tr").first
    number = first.get_attribute("data-trip")
    first.locator("input[name=plate]").fill("晋A·12345")
    first.locator("input[name=driver]").fill("张师傅")
    first.locator("input[name=phone]").fill("139 0351 0000")
    first.locator("form.crew button").click()
    page.wait_for_load_state("load")
    first = section.locator(f"[data-trip='{number}']")
    assert "晋A12345" in first.inner_text() and "张师傅" in first.inner_text()
    first.locator("text=发车出库").click()
    page.wait_for_load_state("load")
    first = section.locator(f"[data-trip='{number}']")
    assert "在途" in first.inner_text()
    assert first.locator("text=发车出库").count() == 0  # the server would refuse a second departure
    page.screenshot(path=str(SHOTS / "loading-plan-trip-departed.png"), full_page=True)
    section.screenshot(path=str(SHOTS / "loading-plan-departed-section.png"))

    while first.locator("form.receipt").count():
        first.locator("form.receipt button").first.click()
        page.wait_for_load_state("load")
        first = section.locator(f"[data-trip='{number}']")
    assert "已完成" in first.inner_text()
    assert "待到达" not in first.inner_text()
    page.screenshot(path=str(SHOTS / "loading-plan-trip-received.png"), full_page=True)
    section.screenshot(path=str(SHOTS / "loading-plan-trips-section.png"))

    first.locator("text=运单").click()
    page.wait_for_url("**/waybill")
    bill = page.inner_text("main")
    assert "应急物资运单" in bill and number in bill and "晋A12345" in bill and "张师傅" in bill
    assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", bill)  # local times
    assert "收货人签字" in bill
    page.screenshot(path=str(SHOTS / "waybill.png"), full_page=True)
    page.emulate_media(media="print")
    assert not page.locator(".topbar").is_visible()  # no navigation chrome when printed
    page.screenshot(path=str(SHOTS / "waybill-print.png"), full_page=True)
    page.pdf(path=str(SHOTS / "waybill.pdf"), format="A4")
    assert (SHOTS / "waybill.pdf").stat().st_size > 10_000
