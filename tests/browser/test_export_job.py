"""A large export in headless Chromium (zh-CN): the operator presses 导出 XLSX on the stock page,
lands on the export's page with a progress bar (exports.js polls the job), the worker writes the
file, the page comes back by itself with 下载; 我的导出 lists it with its rows, size and local
times; the download is the XLSX. No CSP violation. Every export of more than 5 rows is large here."""

import io
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from core import worker
from tests.browser.support import SHOTS, log_in, serve_demo
from tests.browser.waits import ready

pytestmark = pytest.mark.browser

OPERATOR = "operator@example.org"


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    yield from serve_demo(
        tmp_path_factory, "live-export-job", {"EXPORT_INLINE_MAX_ROWS": 5, "JOB_POLL_SECONDS": 0.2}
    )


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="zh-CN", accept_downloads=True
    )
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


def test_a_large_stock_export_is_followed_to_its_download(page, live_server):
    SHOTS.mkdir(parents=True, exist_ok=True)
    log_in(page, live_server, OPERATOR)
    page.goto(live_server["url"] + "/stock")
    ready(page, ["form.export-form"])
    page.click("form.export-form button[value=xlsx]")
    page.wait_for_url(re.compile(r".*/exports/\d+$"))

    box = page.locator("#export-job")
    assert box.count() == 1 and box.get_attribute("data-status") == "queued"
    assert "库存批次" in page.inner_text("h1") and "排队中" in page.inner_text("h1")
    assert "后台" in page.inner_text("main")
    page.screenshot(path=str(SHOTS / "export-job-queued.png"), full_page=True)

    worker.run(
        live_server["app"], once=True, echo=lambda _line: None
    )  # the worker process's loop, once
    download_button = page.locator("a.button", has_text="下载")
    download_button.wait_for(timeout=20_000)  # exports.js reloaded the page once the job was done
    assert "完成" in page.inner_text("h1") and page.locator("#export-job").count() == 0
    facts = page.inner_text("dl.facts")
    local_hour = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:")
    assert "UTC" not in facts and local_hour in facts, facts
    page.screenshot(path=str(SHOTS / "export-job-done.png"), full_page=True)

    with page.expect_download() as info:
        download_button.click()
    body = open(info.value.path(), "rb").read()
    rows = list(
        load_workbook(io.BytesIO(body), read_only=True)["stock"].iter_rows(values_only=True)
    )
    assert rows[0][0] == "lot_id" and len(rows) > 6

    page.goto(live_server["url"] + "/exports")
    ready(page, ["#exports"])
    listing = page.inner_text("#exports")
    assert (
        "库存批次" in listing and "完成" in listing and "下载" in listing and "UTC" not in listing
    )
    assert f"{len(rows) - 1:,}" in listing
    page.screenshot(path=str(SHOTS / "export-jobs-list.png"), full_page=True)
    assert page.violations == []
