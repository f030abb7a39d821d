"""The credit lists in a real headless Chromium, on the demo province (issue 19 part 2): an
administrator sees the daily check's hits and the lists, imports a file with a wrong row (the
row's error in Chinese, nothing recorded), ends a listing with a reason and sees its history;
the review queue tags listed, red-listed and suspended enterprises; a commander's plan names a
listed enterprise's lot as left out, in Chinese; the public supplier list shows the red-list tag.
Screenshots land in artifacts/screenshots/ (credit-*.png)."""

import pytest

from tests.browser.support import SHOTS, log_in, serve_demo

pytestmark = pytest.mark.browser


def _plan_the_open_incident(app) -> dict:
    from sqlalchemy import select

    from core.auth import User
    from core.extensions import db
    from dispatch.models import Incident
    from dispatch.services import planning

    commander = db.session.scalar(select(User).where(User.email == "commander@example.org"))
    incident = db.session.scalar(select(Incident).where(Incident.drill.is_(False)))
    planning.plan_incident(commander, incident.id)
    return {"incident": incident.id}


@pytest.fixture(scope="module")
def credit_server(tmp_path_factory):
    yield from serve_demo(tmp_path_factory, "credit-live", prepare=_plan_the_open_incident)


@pytest.fixture
def page(browser, credit_server):
    from tests.browser.support import new_page

    yield from new_page(browser, credit_server["url"])


def _shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"credit-{name}.png"), full_page=True)


def test_an_administrator_works_the_lists(page, credit_server, tmp_path):
    url = credit_server["url"]
    log_in(page, credit_server, "admin@example.org")
    page.click("text=更多")
    page.click("a:has-text('信用名单')")
    page.wait_for_url(url + "/credit")
    hits = page.locator("#hits")
    assert "晋城市清源饮用水有限公司" in hits.inner_text()
    assert "供应企业" in hits.inner_text() and "项供应能力已暂停" in hits.inner_text()
    entries = page.locator("#entries").inner_text()
    assert "失信名单" in entries and "红名单" in entries and "已过期" in entries
    _shot(page, "list")
    bad = tmp_path / "名单.csv"
    bad.write_text(
        "统一社会信用代码,名称,名单,事由,认定机关,起始日期,截止日期,文书\n"
        "9114050000000003XA,某公司,失信,事由,某法院,2026-01-01,,文书\n",
        encoding="utf-8-sig",
    )
    page.set_input_files("input[name=file]", str(bad))
    page.click("#import button[type=submit]")
    errors = page.locator("#import-errors").inner_text()
    assert "2" in errors and "统一社会信用代码" in errors and "校验码" in errors
    assert "未记录任何条目" in page.locator("#import").inner_text()
    _shot(page, "import-errors")
    page.goto(url + "/credit?list=dishonest&status=in_force")
    page.click("#entries a:has-text('晋城市清源饮用水有限公司')")
    assert "有效" in page.locator("#state").inner_text()
    page.fill("input[name=reason]", "法院裁定终结本次执行（演示）")
    page.click("button:has-text('终止该条目')")
    assert "已终止" in page.locator("#state").inner_text()
    history = page.locator("#history").inner_text()
    assert "法院裁定终结本次执行（演示）" in history and "演示）.xlsx" in history
    _shot(page, "entry-ended")
    page.goto(url + "/portal/admin/suppliers?status=approved")
    queue = page.locator("table.grid").inner_text()
    assert "红名单" in queue and "已暂停" in queue
    _shot(page, "review-queue")


def test_a_commanders_plan_names_the_listed_lot_and_the_public_sees_only_the_mark(
    page, credit_server
):
    url = credit_server["url"]
    log_in(page, credit_server, "commander@example.org")
    page.goto(f"{url}/incidents/{credit_server['incident']}")
    left_out = page.locator("#left-out").inner_text()
    assert "未纳入本方案" in left_out and "企业列入失信名单" in left_out
    assert "山西省发展和改革委员会" in left_out
    page.locator("#left-out").scroll_into_view_if_needed()
    _shot(page, "plan-left-out")
    page.goto(url + "/portal/suppliers")
    row = page.locator("tr.supplier", has_text="山西晋安应急物资有限公司").inner_text()
    assert "红名单" in row and "应急管理厅" not in row
    _shot(page, "public-suppliers")
