"""The node-agency operator's peacetime loop, end to end in headless Chromium (zh-CN) on the demo:
download the prefilled stock-lot template, upload it with errors, read the Chinese error table,
fix the file, upload again, read the preview, confirm, then find the changed stock on the stock
and depot pages and the new warning on the warnings page.

Screenshots land in artifacts/screenshots/operator-*.png for a person to look at."""

import re
from datetime import timedelta

import pytest
from openpyxl import load_workbook

from core.timeutil import local_today
from tests.browser.support import SHOTS, log_in
from tests.browser.waits import ready

pytestmark = pytest.mark.browser

OPERATOR = "operator@example.org"
NEW_LOT = "E2E-临期-01"


def shot(page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"operator-{name}.png"), full_page=True)


def columns(sheet) -> dict[str, int]:
    """Machine key (hidden row 2) -> column number."""
    return {
        cell.value: cell.column
        for cell in sheet[2]
        if cell.value and not str(cell.value).startswith("#")
    }


def upload(page, live_server, path) -> None:
    page.goto(live_server["url"] + "/reporting")
    ready(page, ["#upload-form input[name=file]"])
    page.select_option("#upload-form select[name=kind]", "stock")
    page.check("#upload-form input[name=mode][value=incremental]")
    page.set_input_files("#upload-form input[name=file]", str(path))
    page.click("#upload-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/reporting/submissions/\d+$"))


def test_operator_reports_stock_fixes_errors_applies_and_sees_the_result(
    page, live_server, tmp_path
):
    SHOTS.mkdir(parents=True, exist_ok=True)
    log_in(page, live_server, OPERATOR)

    # 1. The reporting page: templates, upload form, submissions.
    page.click("nav.mainnav >> text=数据报送")
    ready(page, ["#upload-form", "table.grid"])
    assert "模板" in page.inner_text("main")
    shot(page, "1-reporting")

    # 2. The stock-lot template prefilled with the agency's current data.
    stock_row = page.locator("table.grid tbody tr", has_text="库存批次")
    with page.expect_download() as info:
        stock_row.locator("td:nth-child(3) a", has_text="XLSX").click()
    template = tmp_path / info.value.suggested_filename
    info.value.save_as(template)
    assert template.suffix == ".xlsx"

    book = load_workbook(template)
    sheet = book["数据"]
    col = columns(sheet)
    assert {"depot_code", "lot_no", "quantity", "production_date", "expiry_date"} <= set(col)
    assert sheet.max_row >= 4, "the demo operator's agency should have at least two lots"
    first, second = 3, 4

    def value(row, key):
        return sheet.cell(row, col[key]).value

    depot_code, material = value(first, "depot_code"), value(first, "material_name")
    lot_no, quantity = value(first, "lot_no"), int(value(first, "quantity"))
    original_dates = (value(second, "production_date"), value(second, "expiry_date"))

    # 3. Two mistakes: a negative quantity and an expiry before the production date.
    sheet.cell(first, col["quantity"]).value = -5
    sheet.cell(second, col["production_date"]).value = "2026-06-01"
    sheet.cell(second, col["expiry_date"]).value = "2026-01-01"
    bad = tmp_path / "库存批次-有错.xlsx"
    book.save(bad)
    upload(page, live_server, bad)
    ready(page, ["#errors tbody tr"])
    assert "未生效" in page.inner_text("main") or page.locator(".flash-error").count() >= 1
    errors = page.locator("#errors tbody tr").all_inner_texts()
    shot(page, "2-errors")
    assert any(r.startswith(f"{first}\t") and "在库数量" in r for r in errors), errors
    assert any(
        r.startswith(f"{second}\t") and ("有效期至" in r or "生产日期" in r) for r in errors
    ), errors
    problems = page.locator("#errors tbody td:nth-child(5)").all_inner_texts()
    assert all(re.search(r"[\u4e00-\u9fff]", p) for p in problems), (
        problems
    )  # every problem in Chinese
    assert page.locator("a", has_text="XLSX").count() >= 1  # the annotated copy

    # 4. Fix the file: a real count for the first lot, the dates back, and one new lot expiring soon.
    sheet.cell(first, col["quantity"]).value = quantity + 100
    sheet.cell(second, col["production_date"]).value = original_dates[0]
    sheet.cell(second, col["expiry_date"]).value = original_dates[1]
    today = local_today()
    new_row = sheet.max_row + 1
    for key in col:
        sheet.cell(new_row, col[key]).value = value(first, key)
    sheet.cell(new_row, col["lot_no"]).value = NEW_LOT
    sheet.cell(new_row, col["quantity"]).value = 50
    sheet.cell(new_row, col["production_date"]).value = (today - timedelta(days=300)).isoformat()
    sheet.cell(new_row, col["expiry_date"]).value = (today + timedelta(days=5)).isoformat()
    good = tmp_path / "库存批次-已改.xlsx"
    book.save(good)
    upload(page, live_server, good)
    ready(page, ["ul.counts", "form[action$='/confirm'] button"])
    counts = page.locator("ul.counts li").all_inner_texts()
    shot(page, "3-preview")
    assert page.locator("#errors").count() == 0
    assert any(re.fullmatch(r"1\s*新增", c.strip()) for c in counts), counts
    assert any(re.fullmatch(r"1\s*变更", c.strip()) for c in counts), counts
    groups = page.locator(
        "table:has(th.num) tbody td:first-child"
    ).all_inner_texts()  # by depot, named
    assert groups and all("储备库" in g for g in groups), groups

    # 5. Confirm and apply.
    page.click("form[action$='/confirm'] button")
    page.wait_for_selector("span.status-applied")
    ready(page, ["ul.counts"])
    shot(page, "4-applied")
    assert page.locator("form[action$='/confirm']").count() == 0

    # 6. The stock page shows the changed count and the new lot.
    page.goto(live_server["url"] + "/stock?q=" + material)
    ready(page, ["table.grid"])
    rows = page.locator("table.grid tbody tr")
    changed = rows.filter(has_text=lot_no).first.inner_text()
    assert f"{quantity + 100:,}" in changed or str(quantity + 100) in changed, changed
    assert rows.filter(has_text=NEW_LOT).count() == 1
    shot(page, "5-stock")

    # 7. The depot page: the lots and the ledger's count movement.
    page.goto(live_server["url"] + "/depots?q=" + depot_code)
    ready(page, ["table.grid tbody a"])
    page.locator("table.grid tbody a").first.click()
    ready(page, ["text=库存台账"])
    depot_name = page.inner_text("h1").split()[0]
    text = page.inner_text("main")
    assert NEW_LOT in text and lot_no in text
    ledger = page.locator("table.grid tbody tr", has_text=NEW_LOT).all_inner_texts()
    assert any("+50" in r for r in ledger), ledger  # the new lot's receipt in the ledger
    assert any(
        lot_no in r and "+100" in r for r in page.locator("table.grid tbody tr").all_inner_texts()
    )
    shot(page, "6-depot")

    # 8. The warnings page: the new lot expires before it can be rotated.
    page.goto(live_server["url"] + "/warnings")
    ready(page, ["table.grid"])
    warned = page.locator("table.grid tbody tr", has_text=depot_name).filter(has_text=material)
    assert warned.count() >= 1, page.inner_text("main")
    assert "来不及轮换" in " ".join(warned.all_inner_texts()), warned.all_inner_texts()
    shot(page, "7-warnings")
