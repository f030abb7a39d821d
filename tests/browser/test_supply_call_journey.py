"""The shortage loop in headless Chromium (zh-CN) on the demo (issue 19): the open incident's
plan leaves quilts unmet → a commander drafts a call for supply from an unmet line, a second
commander approves it → the call is on the portal at phone width (390 px), with no depot data →
the demo enterprise (approved) answers on its phone → the commander accepts the offer and
re-plans in one click → the new version uses the offer and the unmet figure drops. Screenshots
land in artifacts/screenshots/."""

import re

import pytest

from tests.browser.support import SHOTS, log_in, log_out, new_page

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(browser, live_server):
    yield from new_page(browser, live_server["url"], PHONE)


def submit(page, form):
    form.locator("button[type=submit]").first.click()
    page.wait_for_load_state("load")


def unmet_total(page) -> int:
    shown = page.locator("#plan .flash-error", has_text="未满足")
    if shown.count() == 0:
        return 0
    text = shown.inner_text()
    return sum(int(n) for n in re.findall(r"· [^·；]+? (\d+)", text))


def test_shortage_reaches_suppliers_and_the_replan_uses_their_offer(page, phone, live_server):
    SHOTS.mkdir(parents=True, exist_ok=True)
    log_in(page, live_server, "commander@example.org")
    page.goto(live_server["url"] + "/incidents")
    page.locator("a", has_text="140000-2026-N001").first.click()
    page.wait_for_url("**/incidents/*")
    board_url = page.url
    before = unmet_total(page)
    assert before > 0
    section = page.locator("#supply")
    assert "太原市急需棉被" in section.inner_text()  # the demo's call, published
    drafts = section.locator("form", has=page.locator("input[name=deadline]"))
    assert drafts.count() >= 1
    draft = drafts.last  # the smaller unmet line: the demo's call covers the larger one
    asked = int(draft.locator("input[name=quantity]").input_value())
    submit(page, draft)
    assert "另一名指挥人员审批" in page.inner_text("main")
    assert page.locator("#supply button", has_text="审批并发布").count() == 0  # not its author
    log_out(page)

    log_in(page, live_server, "commander2@example.org")
    page.goto(board_url)
    page.locator("#supply button", has_text="审批并发布").first.click()
    page.wait_for_load_state("load")
    assert "已在门户网站发布" in page.inner_text("main")
    page.locator("#supply").screenshot(path=str(SHOTS / "supply-call-approved.png"))
    log_out(page)

    # The public board at phone width: the call, its city, no depot, no point.
    phone.goto(live_server["url"] + "/portal/board")
    phone.locator("a", has_text="急需棉被").first.click()
    phone.wait_for_load_state("load")
    public = phone.inner_text("main")
    assert "应急处置供需发布" in public and "太原市" in public
    assert "储备库" not in public and "安置点" not in public
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    phone.screenshot(path=str(SHOTS / "supply-call-portal-phone.png"), full_page=True)
    phone.locator("a.button", has_text="响应征集").click()
    phone.wait_for_load_state("load")
    assert "请使用企业账号登录" in phone.inner_text("main")  # anonymous: told why, no form
    offer_url = phone.url
    log_in(phone, live_server, "supplier@example.org")
    phone.goto(offer_url)
    form = phone.locator("form.form")
    form.locator("input[name=quantity]").fill(str(asked))
    form.locator("input[name=price_yuan]").fill("175")
    form.locator("input[name=lead_time_h]").fill("6")
    form.locator("select[name=from_region_code]").select_option(label="太原市")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    phone.screenshot(path=str(SHOTS / "supply-call-offer-phone.png"), full_page=True)
    submit(phone, form)
    assert "报价已送达指挥人员" in phone.inner_text("main")

    log_in(page, live_server, "commander@example.org")
    page.goto(board_url)
    newest = page.locator("#supply article.call").first  # calls newest first
    row = newest.locator("tr", has=page.locator("button", has_text="接受"))
    assert "175" in row.inner_text() and "太原市" in row.inner_text()
    row.locator("button", has_text="接受").click()
    page.wait_for_load_state("load")
    assert "将作为本事件下一次调拨方案的来源" in page.inner_text("main")
    page.locator("#supply button", has_text="按会商意见和已接受报价重新规划").click()
    page.wait_for_load_state("load")
    diff = page.locator("#replan-diff + p")
    after = int(diff.get_attribute("data-unmet-after"))
    assert int(diff.get_attribute("data-unmet-before")) == before
    assert after <= before - asked and unmet_total(page) == after
    assert "供需发布" in page.inner_text("#plan table")  # a line from the accepted offer
    page.locator("#plan").screenshot(path=str(SHOTS / "supply-call-replan-plan.png"))
    page.locator("#supply").screenshot(path=str(SHOTS / "supply-call-replan-diff.png"))
