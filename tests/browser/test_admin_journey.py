"""The administrator's journey in headless Chromium (zh-CN) on the demo province: the audit log
(a change found and filtered, actions in Chinese words, records by name, local times), the
data-quality page with a finding of every kind it knows, and the supplier review queue.
Screenshots land in artifacts/screenshots/admin-*.png for a person to look at."""

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from tests.browser.support import SHOTS, log_in
from tests.browser.waits import ready

pytestmark = pytest.mark.browser

ADMIN = "admin@example.org"
SUPPLIER = "山西汾河救援物资有限公司"
RAW = re.compile(r"\b[a-z_]+#\d+\b|\{\"|\b(update|create|delete)\b")


def _shoot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"admin-{name}.png"), full_page=True)


def _make_findings(app) -> dict:
    """Data that gives the quality report one finding of every kind in CHECK_LABELS; the depot
    changed first is the audit log's change. Returns what the test looks for."""
    from core.audit import AuditLog
    from core.extensions import db
    from core.timeutil import utcnow
    from public_site.models import Supplier
    from reserve.models import Depot, Material, TransportCapacity
    from reserve.stock.models import Movement, StockLot
    from reserve.reporting.models import Submission

    with app.app_context():
        depots = db.session.scalars(
            select(Depot).where(Depot.status == "active").order_by(Depot.id)
        ).all()
        changed, swapped, emptied = depots[0], depots[1], depots[2]
        changed.contact_phone = None  # depot_fields (and the audited change)
        swapped.lat, swapped.lon = swapped.lon, swapped.lat  # depot_values
        for lot in db.session.scalars(select(StockLot).where(StockLot.depot_id == emptied.id)):
            lot.reserved, lot.on_hand = 0, 0  # depot_without_stock
        db.session.flush()
        held = select(StockLot).where(StockLot.on_hand > 0, StockLot.depot_id.not_in([emptied.id]))
        lot = db.session.scalars(
            held.join(Material)
            .where(Material.shelf_life_days > 0)
            .where(StockLot.expiry_date.is_not(None))
            .order_by(StockLot.id)
        ).first()
        lot.expiry_date = None  # lot_expiry
        transport = db.session.scalars(
            select(TransportCapacity).order_by(TransportCapacity.id)
        ).first()
        transport.count = 0  # transport_values
        lots = db.session.scalars(
            held.where(StockLot.reserve_type == "physical").order_by(StockLot.id)
        ).all()
        first = lots[0]
        other = next(
            x
            for x in lots
            if x.material_id == first.material_id and x.owner_agency_id != first.owner_agency_id
        )
        other.lot_no = first.lot_no  # duplicate_lot
        materials = {x.material_id for x in lots}
        a = db.session.get(Material, first.material_id)
        b = next(
            m
            for m in db.session.scalars(select(Material).where(Material.id.in_(materials)))
            if m.unit != a.unit and m.id != a.id
        )
        b.name, b.spec = a.name, a.spec  # unit_conflict
        db.session.flush()
        jump = next(x for x in lots if x.id not in (first.id, other.id) and x.on_hand > 10)
        total = db.session.scalar(
            select(func.coalesce(func.sum(Movement.on_hand_delta), 0))
            .join(StockLot, Movement.lot_id == StockLot.id)
            .where(
                StockLot.owner_agency_id == jump.owner_agency_id,
                StockLot.material_id == jump.material_id,
            )
        )
        submission = Submission(
            agency_id=jump.owner_agency_id,
            kind="stock",
            mode="full",
            channel="web",
            status="applied",
            file_format="csv",
            file_hash="f" * 64,
            file_size=1,
            filename="stock.csv",
            applied_at=utcnow(),
        )
        db.session.add(submission)
        db.session.flush()
        delta = max(int(total), 10)
        db.session.add(
            Movement(
                lot_id=jump.id,
                kind="adjustment",
                on_hand_delta=delta,
                reference=f"SUB-{submission.id}",
                occurred_at=utcnow(),
            )
        )  # total_jump (+100 %)
        jump.on_hand += delta
        db.session.add(
            Supplier(
                name=SUPPLIER,
                credit_code="91140100MA0K7XQ47B",
                legal_representative="王建国",
                contact_name="李娜",
                contact_mobile="13903510000",
                address="太原市小店区长风街1号",
                region_code=changed.region_code,
            )
        )
        db.session.commit()
        entry = db.session.scalars(
            select(AuditLog)
            .where(AuditLog.entity == "depot", AuditLog.entity_id == str(changed.id))
            .order_by(AuditLog.id.desc())
        ).first()
        return {
            "depot": changed.name,
            "at": entry.at if entry else None,
            "tz": app.config["DISPLAY_TIMEZONE"],
        }


def test_admin_audit_quality_and_supplier_queue(page, live_server):
    made = _make_findings(live_server["app"])
    log_in(page, live_server, ADMIN)
    url = live_server["url"]

    # The audit log: the depot change, found by filtering on depots, in Chinese words and local time.
    page.goto(url + "/admin/audit")
    ready(page, ["table.grid tbody tr"])
    _shoot(page, "audit")
    page.screenshot(path=str(SHOTS / "admin-audit-first-screen.png"))
    page.select_option("select[name=entity]", "depot")
    page.click("form.filters button:not([name])")
    page.wait_for_url("**/admin/audit?entity=depot*")
    ready(page, ["table.grid tbody tr"])
    _shoot(page, "audit-depot")
    row = page.locator("table.grid tbody tr", has_text=made["depot"]).first
    text = row.inner_text()
    assert "修改" in text and "储备库" in text, text
    assert not RAW.search(text), text
    assert made["at"] is not None, "the depot change left no audit entry"
    utc = made["at"].replace(tzinfo=None)
    local = made["at"].replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(made["tz"]))
    assert local.strftime("%Y-%m-%d %H:%M") in text, text
    if local.replace(tzinfo=None) - utc != timedelta(0):
        assert utc.strftime("%Y-%m-%d %H:%M") not in text, f"UTC time shown: {text}"
    body = page.inner_text("table.grid")
    assert not RAW.search(body), RAW.search(body).group(0)
    page.goto(url + "/admin/audit")
    ready(page, ["table.grid tbody tr"])
    actions = set(page.locator("table.grid tbody tr td:nth-child(4)").all_inner_texts())
    assert "修改" in actions, actions
    assert all(re.search(r"[\u4e00-\u9fff]", a) for a in actions), actions

    # Data quality: every finding kind, with its Chinese label, and no error page.
    with live_server["app"].test_request_context(headers={"Accept-Language": "zh-CN"}):
        from flask_babel import force_locale, gettext

        from reserve.sharing.views import CHECK_LABELS

        with force_locale("zh_Hans_CN"):
            labels = {check: gettext(msgid) for check, msgid in CHECK_LABELS.items()}
    response = page.goto(url + "/sharing/quality")
    assert response.status == 200
    ready(page, ["h1", "table.grid"])
    _shoot(page, "quality")
    page.locator("form.filters").last.scroll_into_view_if_needed()
    page.screenshot(
        path=str(SHOTS / "admin-quality-findings.png")
    )  # the first screen of findings, legible
    findings = page.inner_text("body")
    shown = set()
    for pageno in range(1, 30):
        column = (
            page.locator("table.grid").last.locator("tbody tr td:nth-child(2)").all_inner_texts()
        )
        shown.update(column)
        missing = [c for c, label in labels.items() if label not in shown]
        if not missing:
            break
        more = page.locator(".pager a", has_text=re.compile("下一页|›|»")).first
        if not more.count():
            break
        response = page.goto(url + f"/sharing/quality?page={pageno + 1}")
        assert response.status == 200
        ready(page, ["table.grid"])
    assert not missing, f"finding kinds not shown: {missing}; shown: {sorted(shown)}"
    for check, label in labels.items():
        assert re.search(r"[\u4e00-\u9fff]", label), f"{check} has no Chinese label: {label}"
    assert "Traceback" not in findings and "Internal Server Error" not in findings

    # The supplier review queue lists the pending registration by name.
    response = page.goto(url + "/portal/admin/suppliers")
    assert response.status == 200
    ready(page, [f"text={SUPPLIER}"])
    _shoot(page, "supplier-queue")
    queue = page.inner_text("main") if page.locator("main").count() else page.inner_text("body")
    assert SUPPLIER in queue
    assert not RAW.search(queue), RAW.search(queue).group(0)


def test_audit_log_calls_a_created_record_新增(page, live_server):
    log_in(page, live_server, ADMIN)
    page.goto(live_server["url"] + "/admin/audit?entity=supplier")
    ready(page, ["table.grid tbody tr"])
    actions = set(page.locator("table.grid tbody tr td:nth-child(4)").all_inner_texts())
    assert "新增" in actions, actions
