"""The operator plans and completes a rotation in headless Chromium (zh-CN) on the demo: on the
warnings page, select a near-expiry warning and create its rotation item; on the item's page,
book every unit (confirming a plan-norm shortfall if the page asks); the warning is resolved and
gone from the active list; the worklist and the calendar show names, not ids.

Screenshots land in artifacts/screenshots/rotation-*.png for a person to look at."""

import re

import pytest

from tests.browser.support import SHOTS, log_in
from tests.browser.waits import ready

pytestmark = pytest.mark.browser

OPERATOR = "operator@example.org"


def shot(page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"rotation-{name}.png"), full_page=True)


def test_warning_to_rotation_item_to_completion_resolves_the_warning(page, live_server):
    SHOTS.mkdir(parents=True, exist_ok=True)
    log_in(page, live_server, OPERATOR)
    active = live_server["url"] + "/warnings?kind=near_expiry&status=active"

    # 1. The warnings page offers to plan the selected lots' rotation.
    page.goto(active + "#list")
    ready(page, ["#rotation-form", "input[name=warning_ids]"])
    boxes = page.locator("input[name=warning_ids]")
    assert boxes.count() >= 1
    chosen = boxes.last
    warning_id = chosen.get_attribute("value")
    chosen.check()
    page.fill("#rotation-form input[name=responsible]", "王仓管")
    shot(page, "1-warnings")
    page.click("#rotation-form button[type=submit]")

    # 2. One lot planned: its page, with the action the warning kind proposes.
    page.wait_for_url(re.compile(r".*/rotation/\d+$"))
    ready(page, ["#complete-form"])
    main = page.inner_text("main")
    assert "出库消耗" in main and "王仓管" in main and "计划中" in main
    shot(page, "2-item")

    # 3. Book every unit; a shortfall against a plan norm is shown first and confirmed.
    page.click("#complete-form button[type=submit]")
    page.wait_for_load_state()
    if page.locator("#confirm").count():
        assert "预案储备定额不足" in page.inner_text("#confirm")
        shot(page, "3-confirm")
        page.click("#confirm button[type=submit]")
        page.wait_for_load_state()
    main = page.inner_text("main")
    assert "已登记并记入库存台账" in main and "完成" in main and re.search(r"ROT-\d+-\d+", main)
    assert "#complete-form" not in page.content()  # done: nothing left to book
    shot(page, "4-done")

    # 4. The warning is resolved, and gone from the active list.
    page.click("text=本事项对应的预警")
    page.wait_for_url(re.compile(rf".*/warnings/{warning_id}$"))
    assert "已解除" in page.inner_text("main")
    shot(page, "5-warning")
    page.goto(active + "#list")
    ready(page, ["table.grid"])
    assert page.locator(f"input[name=warning_ids][value='{warning_id}']").count() == 0

    # 5. The worklist and the calendar read in Chinese, with names.
    page.goto(live_server["url"] + "/rotation?status=all")
    ready(page, ["table.grid"])
    assert "轮换工作清单" in page.inner_text("main") and "王仓管" in page.inner_text("main")
    shot(page, "6-worklist")
    page.goto(live_server["url"] + "/rotation/calendar")
    ready(page, ["table.grid"])
    text = page.inner_text("main")
    assert "轮换日历" in text and "按地市" in text and "太原市" in text
    shot(page, "7-calendar")
    with page.expect_download() as download:
        page.click("text=导出 XLSX")
    assert download.value.suggested_filename.endswith(".xlsx")
