"""Regressions of issue 17's journeys: each block names the item it guards."""

from datetime import timedelta
from pathlib import Path

import pytest

from core.auth import ADMIN, OPERATOR
from core.timeutil import local_today
from reserve.stock import ledger
from reserve.sharing import quality
from reserve.sharing.views import CHECK_LABELS
from tests import factories
from core.errors import Conflict, NotAllowed
from tests.conftest import csrf_token, log_in

ROOT = Path(__file__).resolve().parent.parent


# --- 2. the data-quality page renders every finding kind ----------------------------------------


def test_quality_page_shows_a_total_jump_with_a_percent_sign(app, client, make_agency, make_user):
    from reserve.reporting import services as reporting

    agency = make_agency("Q-A")
    operator = make_user(OPERATOR, agency=agency)
    with app.app_context():
        tent = factories.catalog_material("001", "单帐篷")
        depot = factories.depot(agency, "Q-D1")
        op = factories.user(operator["id"])
        ledger.record_receipt(
            op,
            depot_id=depot.id,
            material_id=tent.id,
            quantity=100,
            facts=ledger.LotFacts(lot_no="L1"),
        )
        data = "depot_code,material_code,lot_no,quantity\nQ-D1,1010101001,L1,400\n".encode()
        submission = reporting.submit_file(
            op, agency_id=agency, kind="stock", mode="incremental", filename="r.csv", data=data
        )
        reporting.confirm_submission(op, submission.id, fingerprint=submission.fingerprint)
    log_in(client, make_user(ADMIN)["email"])
    page = client.get("/sharing/quality")
    assert page.status_code == 200
    assert "单帐篷 100 → 400 (+300%)" in page.text
    assert client.get("/sharing/quality?format=csv").status_code == 200


def _every_kind(agency_id: int) -> list:
    details = {
        "depot_fields": "address, contact_phone",
        "depot_without_stock": "Q-D1",
        "lot_expiry": "expiry_date",
        "depot_values": "capacity is negative",
        "lot_values": "expired stock still on hand",
        "transport_values": "count and payload must be positive",
        "duplicate_depot": "same_place",
        "duplicate_lot": "",
        "unit_conflict": "套 / 顶",
        "total_jump": "972 → 1800 (+85%)",
    }
    kinds = {
        "depot_fields": "depot",
        "depot_without_stock": "depot",
        "lot_expiry": "lot",
        "depot_values": "depot",
        "lot_values": "lot",
        "transport_values": "transport",
        "duplicate_depot": "depot",
        "duplicate_lot": "lot",
        "unit_conflict": "material",
        "total_jump": "submission",
    }
    assert set(details) == set(CHECK_LABELS)  # a new check kind needs a row here
    dimension = {
        "depot_fields": "completeness",
        "depot_without_stock": "completeness",
        "lot_expiry": "completeness",
    }
    return [
        quality.Issue(
            dimension.get(k, "validity" if k.endswith("values") else "conflicts"),
            k,
            agency_id,
            kinds[k],
            7,
            details[k],
            [8] if k.startswith(("duplicate", "unit", "total")) else [],
        )
        for k in details
    ]


def test_quality_page_renders_every_finding_kind_in_chinese(
    app, client, make_agency, make_user, monkeypatch
):
    agency = make_agency("Q-B")
    real_report = quality.report

    def with_every_kind(user, today, agency_id=None):
        result = real_report(user, today, agency_id=agency_id)
        result.issues[:0] = _every_kind(agency)
        return result

    monkeypatch.setattr(quality, "report", with_every_kind)
    log_in(client, make_user(ADMIN)["email"])
    page = client.get("/sharing/quality")
    assert page.status_code == 200
    text = page.text
    for label in (
        "地址、联系电话",
        "有效期至",
        "库容为负数",
        "相距不足 100 米",
        "972 → 1800 (+85%)",
        "套 / 顶",
    ):
        assert label in text, label
    for raw in ("same_place", "expiry_date", "contact_phone", "depot #", "submission #"):
        assert raw not in text, raw
    csv = client.get("/sharing/quality?format=csv")
    assert csv.status_code == 200 and "972 → 1800 (+85%)" in csv.data.decode("utf-8-sig")


# --- 8. an action is shown only where the server accepts it --------------------------------------

from dispatch.services import approval, consultation, planning, shipments, versions  # noqa: E402
from tests.dispatch.test_dispatch import incident_with_demands, user, world  # noqa: E402,F401  (the dispatch world)

APPROVE = "批准并预留库存"
CANCEL = "撤销方案"


def _board(client, world, who, incident_id):
    log_in(client, world["emails"][who])
    text = client.get(f"/incidents/{incident_id}").text
    client.post("/logout", data={"csrf_token": csrf_token(text)})
    return text


def test_the_plan_author_sees_no_approve_button_and_the_second_commander_does(app, client, world):
    with app.app_context():
        incident, _ = incident_with_demands(world, tents=10, water=0)
        plan = planning.plan_incident(user(world, "author"), incident.id)
        assert not approval.can_approve(user(world, "author"), plan)
        assert approval.can_approve(user(world, "approver"), plan)
        incident_id, plan_id = incident.id, plan.id
    page = _board(client, world, "author", incident_id)
    assert APPROVE not in page and "另一位指挥人员" in page and CANCEL in page
    assert APPROVE in _board(client, world, "approver", incident_id)
    assert APPROVE not in _board(client, world, "viewer", incident_id)
    with app.app_context():
        with pytest.raises(NotAllowed):
            approval.approve(user(world, "author"), plan_id)


def test_cancel_disappears_once_a_shipment_has_left_and_is_refused(app, client, world):
    with app.app_context():
        incident, _ = incident_with_demands(world, tents=10, water=0)
        plan = planning.plan_incident(user(world, "author"), incident.id)
        approval.approve(user(world, "approver"), plan.id)
        incident_id, plan_id = incident.id, plan.id
    page = _board(client, world, "approver", incident_id)
    assert CANCEL in page and APPROVE not in page
    with app.app_context():
        for s in shipments.list_shipments(user(world, "author"), incident_id):
            for step, extra in (
                ("departed", {}),
                ("arrived", {}),
                ("received", {"quantity_received": s.quantity}),
            ):
                shipments.advance(user(world, "author"), s.id, step, **extra)
        plan = versions.get_plan(user(world, "author"), plan_id)
        assert not approval.can_cancel(user(world, "author"), plan)
        with pytest.raises(Conflict):
            approval.cancel(user(world, "author"), plan_id, reason="晚了")
    page = _board(client, world, "approver", incident_id)
    assert CANCEL not in page and "已签收" in page
    assert 'name="quantity_received"' not in page


def test_the_position_form_goes_once_the_plan_is_approved_and_is_refused_after(app, client, world):
    with app.app_context():
        incident, _ = incident_with_demands(world, tents=10, water=0)
        plan = planning.plan_incident(user(world, "author"), incident.id)
        line_id, incident_id, plan_id = plan.lines[0].id, incident.id, plan.id
        operator = "east_op" if plan.lines[0].agency_id == world["east"] else "west_op"
    assert 'name="position"' in _board(client, world, operator, incident_id)
    assert 'name="position"' not in _board(client, world, "viewer", incident_id)
    with app.app_context():
        approval.approve(user(world, "approver"), plan_id)
        with pytest.raises(Conflict):
            consultation.set_position(user(world, operator), line_id, position="agree")
    page = _board(client, world, operator, incident_id)
    assert 'name="position"' not in page
    # the operator moves its own shipment; a viewer sees no shipment button
    assert 'name="status" value="departed"' in page
    assert 'name="status" value="departed"' not in _board(client, world, "viewer", incident_id)


# --- 5. words that say what they mean ---------------------------------------------------------


def test_feedback_type_and_dispatch_plan_tile_are_named_for_what_they_are(app, client, world):
    form = client.get("/portal/feedback/new")
    assert form.status_code == 200
    label = form.text.split('name="category"')[0].rsplit("<label", 1)[1]
    assert "反馈类型" in label and "物资分类" not in label
    with app.app_context():
        incident, _ = incident_with_demands(world, tents=10, water=0)
        planning.plan_incident(user(world, "author"), incident.id)
        incident_id = incident.id
    page = _board(client, world, "approver", incident_id)
    tiles = page.split('class="tiles"')[1].split("</div>\n  </div>")[0]
    assert "<span>调拨方案</span>" in tiles and "预案" not in tiles


# --- 13. the README's promises hold in a clone -------------------------------------------------


def test_readme_links_resolve_make_run_takes_a_port_and_the_demo_has_two_commanders():
    import re

    from core.auth import COMMANDER as commander
    from core.demo import DEMO_ACCOUNTS

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)#]+)\)", readme):
        if not target.startswith(("http://", "https://", "mailto:")):
            assert (ROOT / target).exists(), target
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert (
        "PORT   ?= 5000" in makefile
        and "--port $(PORT)" in makefile
        and "--port 5000" not in makefile
    )
    commanders = [a for a in DEMO_ACCOUNTS if a.role == commander]
    assert len(commanders) >= 2 and all(f"`{a.email}`" in readme for a in DEMO_ACCOUNTS)


# --- 3. one clock: the province's local time on every page and export meant for people ----------


def test_ledger_audit_and_report_show_local_time_not_utc(app, client, world, make_user):
    from core.audit import AuditLog
    from core.audit_service import export_audit_csv
    from core.extensions import db as _db
    from core.timeutil import local_text, to_local
    from reserve.stock.models import Movement

    admin = make_user(ADMIN)
    with app.app_context():
        movement = (
            _db.session.execute(_db.select(Movement).order_by(Movement.id.desc())).scalars().first()
        )
        depot_id, moved = movement.lot.depot_id, movement.occurred_at
        incident, _ = incident_with_demands(world, tents=10, water=0)
        incident_id = incident.id
        entry = (
            _db.session.execute(_db.select(AuditLog).order_by(AuditLog.id.desc())).scalars().first()
        )
        logged, entity = entry.at, entry.entity
        csv = export_audit_csv(factories.user(admin["id"]), entity=entity).decode("utf-8-sig")
    assert to_local(logged).isoformat() in csv and "+08:00" in csv
    log_in(client, admin["email"])
    depot = client.get(f"/depots/{depot_id}").text
    assert local_text(moved) in depot and "UTC" not in depot
    assert moved.strftime("%Y-%m-%d %H:%M") not in depot  # 8 hours apart, never the stored UTC
    audit = client.get(f"/admin/audit?entity={entity}").text
    assert local_text(logged, "%Y-%m-%d %H:%M:%S") in audit and "UTC" not in audit
    report = client.get(f"/incidents/{incident_id}/report").text
    assert "UTC" not in report and "报告生成时间" in report


def test_the_display_zone_is_configurable_and_checked_at_start():
    from core import create_app
    from core.timeutil import local_text

    other = create_app(
        {
            "APP_ENV": "test",
            "DISPLAY_TIMEZONE": "Asia/Urumqi",
            "SQLALCHEMY_DATABASE_URI": "sqlite://",
        }
    )
    assert other.config["BABEL_DEFAULT_TIMEZONE"] == "Asia/Urumqi"
    with other.app_context():
        from datetime import datetime

        assert local_text(datetime(2026, 5, 1, 14, 3)) == "2026-05-01 20:03"
    with pytest.raises(RuntimeError):
        create_app(
            {
                "APP_ENV": "test",
                "DISPLAY_TIMEZONE": "Mars/Olympus",
                "SQLALCHEMY_DATABASE_URI": "sqlite://",
            }
        )


# --- 7. the after-action report is a document: names, whole units, headings, print, records ------


def test_after_action_report_names_regions_rounds_up_units_and_records_on_the_page(
    app, client, world, monkeypatch
):
    from core.extensions import db as _db
    from dispatch.models import Incident
    from reserve.models import EmergencyPlan
    from reserve.warnings import scan

    with app.app_context():
        incident, point = incident_with_demands(world, tents=10, water=0)
        plan = planning.plan_incident(user(world, "author"), incident.id)
        approval.approve(user(world, "approver"), plan.id)
        emergency = EmergencyPlan(
            agency_id=world["east"],
            name="地震预案",
            incident_type="natural_disaster",
            level="II",
            region_code="140000",
        )
        _db.session.add(emergency)
        _db.session.flush()
        _db.session.get(Incident, incident.id).plan_id = emergency.id
        _db.session.commit()
        incident_id, point_id, plan_id = incident.id, point.id, emergency.id
    monkeypatch.setattr(
        scan,
        "norm_status",
        lambda: [
            {
                "plan_id": plan_id,
                "material_id": world["tent"],
                "region_code": "140200",
                "required": 1863.4,
                "available": 1000,
            }
        ],
    )
    log_in(client, world["emails"]["approver"])
    page = client.get(f"/incidents/{incident_id}/report")
    assert page.status_code == 200
    text = page.text
    assert "大同市" in text and "140200" not in text
    assert "1,864" in text and "864" in text and "1863.4" not in text
    assert text.count("<thead>") >= 6  # every table has its headings
    assert "编制人" in text and 'name="depot_id"' in text and 'name="point_id"' in text
    token = csrf_token(text)
    returned = client.post(
        f"/incidents/{incident_id}/returns",
        data={
            "csrf_token": token,
            "depot_id": world["d_east"],
            "material_id": world["tent"],
            "quantity": 3,
            "note": "未拆封",
        },
    )
    assert returned.status_code == 303
    consumed = client.post(
        f"/incidents/{incident_id}/consumption",
        data={
            "csrf_token": token,
            "point_id": point_id,
            "material_id": world["tent"],
            "quantity": 7,
        },
    )
    assert consumed.status_code == 303
    bad = client.post(
        f"/incidents/{incident_id}/consumption",
        data={
            "csrf_token": token,
            "point_id": point_id,
            "material_id": world["tent"],
            "quantity": 0,
        },
        follow_redirects=True,
    )
    assert "flash-error" in bad.text
    text = client.get(f"/incidents/{incident_id}/report").text
    assert "未拆封" in text and "小店区安置点" in text.split('id="records"')[1]
    with app.app_context():
        report = after_action_report(world, incident_id)
        assert [r["quantity"] for r in report["returned"]] == [3] and [
            r["quantity"] for r in report["consumed"]
        ] == [7]
    css = (ROOT / "dispatch" / "static" / "dispatch.css").read_text()
    assert "@media print" in css and "@page" in css
    # viewers read the report but record nothing
    client.post("/logout", data={"csrf_token": token})
    log_in(client, world["emails"]["viewer"])
    viewer = client.get(f"/incidents/{incident_id}/report").text
    assert 'name="depot_id"' not in viewer
    assert (
        client.post(
            f"/incidents/{incident_id}/returns",
            data={
                "csrf_token": csrf_token(viewer),
                "depot_id": world["d_east"],
                "material_id": world["tent"],
                "quantity": 3,
            },
        ).status_code
        == 303
    )
    with app.app_context():
        assert len(after_action_report(world, incident_id)["returned"]) == 1


def after_action_report(world, incident_id):
    from dispatch.services import after_action

    return after_action.report(user(world, "author"), incident_id)


# --- 1. a demand point takes real coordinates, a map click, a region ---------------------------


def test_a_demand_point_takes_any_decimals_a_region_and_refuses_a_missing_position(
    app, client, world
):
    from core.extensions import db as _db
    from dispatch.models import DemandPoint
    from dispatch.services import incidents

    with app.app_context():
        incident = incidents.create_incident(
            user(world, "author"),
            title="坐标测试",
            incident_type="natural_disaster",
            subtype="earthquake",
            level="II",
            region_code="140100",
        )
        incident_id = incident.id
    log_in(client, world["emails"]["author"])
    page = client.get(f"/incidents/{incident_id}").text
    form = page.split('id="point-form"')[1].split("</form>")[0]
    assert 'step="0.0001"' not in form and 'step="any"' in form and "data-point-lat" in form
    assert (
        'data-lat="' in form and "小店区" in form
    )  # counties of the incident's city centre the map
    assert "大同" not in form
    token = csrf_token(page)
    for lat, lon in (("37.9606", "112.5492"), ("38", "112"), ("37.96061234", "112,55")):
        client.post(
            f"/incidents/{incident_id}/points",
            data={
                "csrf_token": token,
                "name": f"点{lat}",
                "lat": lat,
                "lon": lon,
                "region_code": "140105",
                "severity": "2",
            },
        )
    refused = client.post(
        f"/incidents/{incident_id}/points",
        data={"csrf_token": token, "name": "无坐标", "lat": "", "lon": "", "severity": "2"},
        follow_redirects=True,
    )
    assert "纬度应在 -90 到 90 之间" in refused.text and "lat:" not in refused.text
    with app.app_context():
        points = {
            p.name: (p.lat, p.lon, p.region_code)
            for p in _db.session.execute(
                _db.select(DemandPoint).filter_by(incident_id=incident_id)
            ).scalars()
        }
    assert points == {
        "点37.9606": (37.9606, 112.5492, "140105"),
        "点38": (38.0, 112.0, "140105"),
        "点37.96061234": (37.96061234, 112.55, "140105"),
    }
    js = (ROOT / "dispatch" / "static" / "board.js").read_text()
    assert 'map.on("click"' in js and "draggable: true" in js


# --- 4. refusals name fields as the form does ---------------------------------------------------


def test_a_receipt_refusal_names_the_field_in_chinese(app, client, world):
    with app.app_context():
        incident, _ = incident_with_demands(world, tents=10, water=0)
        plan = planning.plan_incident(user(world, "author"), incident.id)
        approval.approve(user(world, "approver"), plan.id)
        rows = shipments.list_shipments(user(world, "author"), incident.id)
        for s in rows:
            shipments.advance(user(world, "author"), s.id, "departed")
            shipments.advance(user(world, "author"), s.id, "arrived")
        shipment_id, quantity, incident_id = rows[0].id, rows[0].quantity, incident.id
    log_in(client, world["emails"]["approver"])
    token = csrf_token(client.get(f"/incidents/{incident_id}").text)
    page = client.post(
        f"/shipments/{shipment_id}",
        data={
            "csrf_token": token,
            "incident_id": incident_id,
            "status": "received",
            "quantity_received": quantity - 1,
            "discrepancy_reason": "",
        },
        follow_redirects=True,
    ).text
    flash = page.split('class="flash flash-error"')[1].split("</div>")[0]
    assert "差异原因：必填" in flash and "discrepancy_reason" not in flash and "['" not in flash


# --- 4. names, units and Chinese labels instead of internals ------------------------------------


def test_preview_audit_catalog_clients_and_warning_show_labels_not_internals(
    app, client, make_agency, make_user
):
    from reserve.reporting import services as reporting
    from reserve.warnings import services as warnings

    agency = make_agency("L-A")
    operator = make_user(OPERATOR, agency=agency)
    admin = make_user(ADMIN)
    with app.app_context():
        tent = factories.catalog_material("001", "单帐篷")
        depot = factories.depot(agency, "L-D1")
        op = factories.user(operator["id"])
        data = "depot_code,material_code,lot_no,quantity,expiry_date\nL-D1,1010101001,L1,800,2020-01-01\n".encode()
        preview = reporting.submit_file(
            op, agency_id=agency, kind="stock", mode="incremental", filename="r.csv", data=data
        )
        ledger.record_receipt(
            op,
            depot_id=depot.id,
            material_id=tent.id,
            quantity=5,
            facts=ledger.LotFacts(lot_no="OLD-7", expiry_date=local_today() - timedelta(days=3)),
        )
        warnings.scan()
        from core.extensions import db as _db
        from reserve.warnings.models import ReserveWarning

        warning_id = _db.session.scalar(
            _db.select(ReserveWarning.id).where(ReserveWarning.lot_id.is_not(None))
        )
        preview_id = preview.id
    log_in(client, operator["email"])
    text = client.get(f"/reporting/submissions/{preview_id}").text
    assert "在库数量 800" in text and "单帐篷" in text
    assert "quantity=" not in text and "reserve_type=" not in text and "classification=" not in text
    page = client.get(f"/warnings/{warning_id}").text
    assert (
        "OLD-7" in page
        and "单帐篷" in page
        and "5 顶" in page
        and "#" + str(warning_id) not in page
    )
    assert "批次 #" not in page
    client.post("/logout", data={"csrf_token": csrf_token(page)})
    log_in(client, admin["email"])
    catalog = client.get("/sharing").text
    from tests.test_page_language import visible_text

    assert "agency_id" not in visible_text(catalog) and "所属单位编号" in catalog
    clients = client.get("/sharing/clients").text
    assert "每分钟 60 次" in clients and "60 per minute</option>" not in clients
    audit = client.get("/admin/audit").text
    body = audit.split("<tbody>")[1]
    assert "修改" in body or "新增" in body
    assert "#" not in body.split("</tbody>")[0].replace("&#", "") and '"quantity"' not in body
