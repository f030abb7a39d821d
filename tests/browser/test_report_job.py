"""A large report in headless Chromium (zh-CN): the operator uploads it, the page shows the
background check's progress bar (reporting.js polls the submission), the worker checks it, the
page comes back with the preview by itself; confirming shows the application's progress, and
the page ends on 已应用. No CSP violation. Every file counts as large here."""

import re

import pytest
from sqlalchemy import select

from core import worker
from tests.browser.support import SHOTS, log_in, serve_demo
from tests.browser.waits import ready

pytestmark = pytest.mark.browser

OPERATOR = "operator@example.org"


def _codes(app) -> dict:
    from core.auth import User
    from core.extensions import db
    from reserve.models import Depot, Material

    agency_id = db.session.scalar(select(User.agency_id).where(User.email == OPERATOR))
    depot = db.session.scalar(
        select(Depot.code)
        .where(Depot.agency_id == agency_id, Depot.status == "active")
        .order_by(Depot.code)
        .limit(1)
    )
    material = db.session.scalar(select(Material.code).order_by(Material.code).limit(1))
    return {"depot": depot, "material": material}


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    yield from serve_demo(
        tmp_path_factory,
        "live-report-job",
        {"REPORT_INLINE_MAX_BYTES": 1, "REPORT_INLINE_APPLY_ROWS": 0, "JOB_POLL_SECONDS": 0.2},
        prepare=_codes,
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


def test_a_large_report_is_followed_through_its_check_and_its_application(
    page, live_server, tmp_path
):
    SHOTS.mkdir(parents=True, exist_ok=True)
    report = tmp_path / "large.csv"
    report.write_text(
        "depot_code,material_code,lot_no,quantity,expiry_date\n"
        + "".join(
            f"{live_server['depot']},{live_server['material']},BJ-{n:03d},{10 + n},2031-06-30\n"
            for n in range(30)
        ),
        encoding="utf-8",
    )
    log_in(page, live_server, OPERATOR)
    page.goto(live_server["url"] + "/reporting")
    ready(page, ["#upload-form input[name=file]"])
    page.select_option("#upload-form select[name=kind]", "stock")
    page.check("#upload-form input[name=mode][value=incremental]")
    page.set_input_files("#upload-form input[name=file]", str(report))
    page.click("#upload-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/reporting/submissions/\d+$"))

    box = page.locator("#submission-job")
    assert box.count() == 1 and box.get_attribute("data-status") == "queued"
    assert "正在检查" in page.inner_text("h1") and "后台逐行检查" in box.inner_text()
    page.screenshot(path=str(SHOTS / "report-job-checking.png"), full_page=True)

    worker.run(
        live_server["app"], once=True, echo=lambda _line: None
    )  # the worker process's loop, once
    confirm = page.locator("button", has_text="确认并生效")
    confirm.wait_for(timeout=20_000)  # reporting.js reloaded the page: the preview is there
    assert "30" in page.inner_text("ul.counts") and page.locator("#submission-job").count() == 0

    confirm.click()
    page.wait_for_selector('#submission-job[data-status="queued"]', timeout=20_000)
    assert "生效中" in page.inner_text("h1")
    page.screenshot(path=str(SHOTS / "report-job-applying.png"), full_page=True)
    worker.run(live_server["app"], once=True, echo=lambda _line: None)
    page.wait_for_selector("h1 .status-applied", timeout=20_000)
    assert "已生效" in page.inner_text("h1") and page.locator("#submission-job").count() == 0
    page.screenshot(path=str(SHOTS / "report-job-applied.png"), full_page=True)
    assert page.violations == []
