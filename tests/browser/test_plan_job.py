"""A large problem on the command board in headless Chromium: the commander plans, the plan is
queued as a background job, the board shows a <progress> bar that board.js polls, the worker
(run in a thread here) plans, and the page comes back to the plan by itself. No CSP violation.
Every problem counts as large here (DISPATCH_BACKGROUND_ARCS = 0)."""

import pytest

from core import worker
from tests.browser.support import SHOTS, log_in, serve_demo

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    yield from serve_demo(
        tmp_path_factory, "live-jobs", {"DISPATCH_BACKGROUND_ARCS": 0, "JOB_POLL_SECONDS": 0.2}
    )


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.violations = []
    page.on(
        "console",
        lambda message: (
            page.violations.append(message.text)
            if "Content Security Policy" in message.text
            else None
        ),
    )
    yield page
    context.close()


def test_a_large_plan_shows_a_progress_bar_and_returns_to_the_plan(page, live_server):
    SHOTS.mkdir(parents=True, exist_ok=True)
    log_in(page, live_server, "commander@example.org")
    page.goto(live_server["url"] + "/incidents")
    page.fill("input[name=title]", "浏览器测试：后台编制方案")
    page.select_option("select[name=incident_type]", "natural_disaster")
    page.select_option("select[name=region_code]", "140100")
    page.click("form.stack button[type=submit]")
    page.wait_for_url("**/incidents/*")
    page.fill("#demands input[name=name]", "晋源区安置点")
    page.fill("#demands input[name=population]", "6000")
    page.click("#demands details:first-of-type button[type=submit]")
    page.wait_for_url("**/incidents/*")
    page.select_option(
        "#demands select[name=material_id]",
        label=page.locator(
            "#demands select[name=material_id] option", has_text="单帐篷"
        ).first.inner_text(),
    )
    page.fill("#demands input[name=quantity]", "120")
    page.locator("#demands form", has=page.locator("input[name=quantity]")).locator(
        "button[type=submit]"
    ).click()
    page.wait_for_url("**/incidents/*")

    page.click("text=根据实时库存编制方案")
    page.wait_for_url("**/incidents/*?job=*")
    bar = page.locator("#plan-job progress")
    assert bar.count() == 1 and bar.get_attribute("value") == "0"
    assert "后台调度计算中" in page.inner_text("#plan-job")
    page.screenshot(path=str(SHOTS / "command-board-plan-job.png"), full_page=True)

    worker.run(
        live_server["app"], once=True, echo=lambda _line: None
    )  # the worker process's loop, once
    page.wait_for_selector(
        '#plan-job[data-status="done"]', timeout=20_000
    )  # board.js reloaded the page
    assert page.locator("#plan-job progress").get_attribute("value") == "100"
    assert "第 1 版" in page.inner_text("#plan")
    assert page.violations == []
