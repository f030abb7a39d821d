"""The registry through its API: scoping (403/404 and nothing changes), ledger calls, catalog
import, stock queries and exports, plans and gaps."""

import io

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from core.auth import ADMIN, COMMANDER, OPERATOR, VIEWER
from core.extensions import db as _db
from core.organisation import Region
from reserve.models import Category, Depot
from reserve.stock.models import Movement, StockLot
from reserve.services.reference import load_regions
from tests import factories


def token_for(app, make_user, role, agency=None):
    user = make_user(role, agency=agency)
    token = app.test_cli_runner().invoke(args=["users", "token", user["email"]]).output.strip()
    return {"Authentication-Token": token}


@pytest.fixture
def setup(app, make_agency, make_user):
    root = make_agency("API-ROOT", kind="provincial_department")
    mine = make_agency("API-MINE", parent=root)
    other = make_agency("API-OTHER", parent=root)
    with app.app_context():
        load_regions()
        ids = {
            "material": factories.catalog_material().id,
            "my_depot": factories.depot(mine, "API-D1", region_code="140105").id,
            "my_depot2": factories.depot(mine, "API-D1B", region_code="140106").id,
            "other_depot": factories.depot(other, "API-D2", region_code="140213").id,
        }
    return {
        "mine": mine,
        "other": other,
        **ids,
        "operator": token_for(app, make_user, OPERATOR, mine),
        "stranger": token_for(app, make_user, OPERATOR, other),
        "admin": token_for(app, make_user, ADMIN, root),
        "commander": token_for(app, make_user, COMMANDER),
        "viewer": token_for(app, make_user, VIEWER),
    }


def receipt(
    client, setup, depot_key="my_depot", who="operator", quantity=100, lot_no="LOT-1", **extra
):
    body = {
        "depot_id": setup[depot_key],
        "material_id": setup["material"],
        "quantity": quantity,
        "lot_no": lot_no,
        **extra,
    }
    return client.post("/api/v1/stock/receipts", json=body, headers=setup[who])


def counts(app):
    with app.app_context():
        return (
            _db.session.scalar(select(func.count(Movement.id))),
            _db.session.scalar(select(func.count(Depot.id))),
            _db.session.scalar(select(func.sum(StockLot.on_hand))),
        )


def test_operator_cannot_read_or_change_another_agencys_depot_or_lot(app, client, setup):
    their_lot = receipt(client, setup, "other_depot", "stranger").json["lot_id"]
    before = counts(app)
    me = setup["operator"]
    assert client.get(f"/api/v1/depots/{setup['other_depot']}", headers=me).status_code == 404
    assert (
        client.patch(
            f"/api/v1/depots/{setup['other_depot']}", json={"name": "改名"}, headers=me
        ).status_code
        == 404
    )
    assert client.get(f"/api/v1/lots/{their_lot}", headers=me).status_code == 404
    assert client.get(f"/api/v1/lots/{their_lot}/movements", headers=me).status_code == 404
    assert (
        client.post(
            f"/api/v1/lots/{their_lot}/issues", json={"quantity": 1}, headers=me
        ).status_code
        == 404
    )
    assert receipt(client, setup, "other_depot", "operator").status_code == 404
    assert (
        client.post(
            "/api/v1/depots",
            json={"agency_id": setup["other"], "code": "X-1", "name": "越权库"},
            headers=me,
        ).status_code
        == 403
    )
    assert client.get("/api/v1/stock", headers=me).json["total"] == 0
    assert counts(app) == before


def test_viewer_reads_but_cannot_write(app, client, setup):
    lot = receipt(client, setup).json["lot_id"]
    before = counts(app)
    assert client.get(f"/api/v1/lots/{lot}", headers=setup["viewer"]).status_code == 200
    assert (
        client.post(
            f"/api/v1/lots/{lot}/issues", json={"quantity": 1}, headers=setup["viewer"]
        ).status_code
        == 403
    )
    assert counts(app) == before


def test_restricted_depot_is_hidden_from_viewers_but_not_commanders(app, client, setup):
    with app.app_context():
        depot_id = factories.depot(setup["other"], "API-SECRET", classification="restricted").id
    assert client.get(f"/api/v1/depots/{depot_id}", headers=setup["viewer"]).status_code == 404
    assert client.get(f"/api/v1/depots/{depot_id}", headers=setup["commander"]).status_code == 200


def test_ledger_calls_through_the_api(client, setup):
    first = receipt(client, setup, quantity=50)
    assert first.status_code == 201
    lot = first.json["lot_id"]
    me = setup["operator"]
    assert (
        client.post(f"/api/v1/lots/{lot}/issues", json={"quantity": 60}, headers=me).status_code
        == 409
    )
    assert (
        client.post(f"/api/v1/lots/{lot}/issues", json={"quantity": 10}, headers=me).status_code
        == 201
    )
    assert (
        client.post(
            f"/api/v1/lots/{lot}/reservations", json={"quantity": 30}, headers=setup["commander"]
        ).status_code
        == 201
    )
    assert (
        client.post(
            f"/api/v1/lots/{lot}/reservations", json={"quantity": 11}, headers=setup["commander"]
        ).status_code
        == 409
    )
    assert (
        client.post(f"/api/v1/lots/{lot}/adjustments", json={"delta": -1}, headers=me).status_code
        == 422
    )
    assert (
        client.post(f"/api/v1/lots/{lot}/counts", json={"counted": 40}, headers=me).status_code
        == 201
    )
    assert (
        client.post(
            f"/api/v1/lots/{lot}/transfers",
            json={"quantity": 5, "to_depot_id": setup["other_depot"]},
            headers=me,
        ).status_code
        == 404
    )  # not a depot this operator can see
    transfer = client.post(
        f"/api/v1/lots/{lot}/transfers",
        json={"quantity": 5, "to_depot_id": setup["my_depot2"]},
        headers=me,
    )
    assert transfer.status_code == 201 and len(transfer.json) == 2
    state = client.get(f"/api/v1/lots/{lot}", headers=me).json
    assert (state["on_hand"], state["reserved"], state["available"]) == (35, 30, 5)
    reversal = client.post(
        f"/api/v1/movements/{transfer.json[0]['id']}/reversal", json={"reason": "调错"}, headers=me
    )
    assert reversal.status_code == 201
    assert client.get(f"/api/v1/lots/{lot}", headers=me).json["on_hand"] == 40
    history = client.get(f"/api/v1/lots/{lot}/movements", headers=me).json
    assert [m["kind"] for m in history["items"]][:2] == ["reversal", "transfer_out"]


def test_quantities_must_be_whole_positive_numbers(client, setup):
    for bad in (0, -5, 1.5, "10"):
        response = receipt(client, setup, quantity=bad)
        assert response.status_code == 422, bad


def test_agreement_reserve_needs_its_enterprise(client, setup):
    assert receipt(client, setup, reserve_type="agreement", lot_no="A-1").status_code == 422
    ok = receipt(
        client,
        setup,
        reserve_type="agreement",
        lot_no="A-2",
        enterprise_name="山西某应急物资有限公司",
        lead_time_h=24,
        contract_valid_to="2099-01-01",
    )
    assert ok.status_code == 201


def test_bad_credit_code_is_refused_with_the_reason(client, setup):
    response = client.post(
        "/api/v1/agencies",
        json={
            "code": "CC-1",
            "name": "信用代码单位",
            "kind": "city",
            "credit_code": "911101085513850820",
        },
        headers=setup["admin"],
    )
    assert response.status_code == 422
    assert "credit_code" in response.json["errors"]


def test_stock_queries_totals_and_within_hours(client, setup):
    receipt(client, setup, quantity=100)
    receipt(
        client,
        setup,
        quantity=40,
        lot_no="AG-1",
        reserve_type="agreement",
        enterprise_name="某企业",
        lead_time_h=48,
    )
    admin = setup["admin"]
    rows = client.get("/api/v1/stock?region_code=140100", headers=admin).json
    assert rows["total"] == 2 and rows["items"][0]["region"] == "小店区"
    assert client.get("/api/v1/stock?region_code=140200", headers=admin).json["total"] == 0
    totals = client.get("/api/v1/stock/totals?group_by=reserve_type", headers=admin).json
    assert {t["key"]: t["on_hand"] for t in totals} == {"agreement": 40, "physical": 100}
    soon = client.get("/api/v1/stock/available-within?hours=24", headers=admin).json
    later = client.get("/api/v1/stock/available-within?hours=48", headers=admin).json
    assert (soon[0]["available_within"], later[0]["available_within"]) == (100, 140)


def test_exports_escape_formulas_in_csv_and_xlsx(app, client, setup):
    receipt(client, setup, quantity=7, lot_no='=HYPERLINK("x")')
    csv_text = client.get("/api/v1/stock/export?format=csv", headers=setup["admin"]).data.decode(
        "utf-8-sig"
    )
    assert "'=HYPERLINK" in csv_text
    xlsx = client.get("/api/v1/stock/export?format=xlsx", headers=setup["admin"])
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    header = [c.value for c in sheet[1]]
    values = [c.value for c in sheet[2]]
    assert (
        values[header.index("lot_no")] == '\'=HYPERLINK("x")'
        and values[header.index("on_hand")] == 7
    )


def _xlsx(rows) -> bytes:
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def test_category_import_is_all_or_nothing(app, client, setup):
    good = "code,name\n2,应急装备及配套物资\n201,生命救援装备\n20101,搜救设备\n".encode("gb18030")
    bad = "code,name\n3,工程材料与机械加工设备\n305,工程材料\n30501,\n4099,错误\n".encode()
    admin = setup["admin"]
    refused = client.post(
        "/api/v1/categories/import", data={"file": (io.BytesIO(bad), "bad.csv")}, headers=admin
    )
    assert refused.status_code == 422 and len(refused.json["errors"]) == 2
    with app.app_context():
        assert _db.session.get(Category, "305") is None
    imported = client.post(
        "/api/v1/categories/import", data={"file": (io.BytesIO(good), "good.csv")}, headers=admin
    )
    assert imported.status_code == 200 and imported.json["created"] == 3


def test_category_codes_that_arrived_as_numbers_are_named(client, setup):
    data = _xlsx([["code", "name"], [1010101.0, "帐篷"]])
    response = client.post(
        "/api/v1/categories/import",
        data={"file": (io.BytesIO(data), "t.xlsx")},
        headers=setup["admin"],
    )
    assert response.status_code == 422
    assert "1010101" in str(response.json["errors"]) and "数字" in str(response.json["errors"])


def test_a_zip_bomb_is_refused_before_parsing(client, setup):
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"<a>" + b"0" * 150_000_000 + b"</a>")
    response = client.post(
        "/api/v1/categories/import",
        data={"file": (io.BytesIO(buffer.getvalue()), "bomb.xlsx")},
        headers=setup["admin"],
    )
    assert response.status_code == 400


def test_only_administrators_change_the_catalog(client, setup):
    response = client.post(
        "/api/v1/categories",
        json={"code": "2", "name": "应急装备及配套物资"},
        headers=setup["operator"],
    )
    assert response.status_code == 403


def test_plan_gap(app, client, setup):
    receipt(client, setup, quantity=30)
    admin = setup["admin"]
    with app.app_context():
        _db.session.get(Region, "140100").population = 1_000_000
        _db.session.commit()
    plan = client.post(
        "/api/v1/plans",
        json={
            "agency_id": setup["mine"],
            "name": "测试预案",
            "incident_type": "accident",
            "level": "III",
            "region_code": "140100",
        },
        headers=admin,
    ).json
    client.post(
        f"/api/v1/plans/{plan['id']}/norms",
        json={
            "material_id": setup["material"],
            "region_code": "140100",
            "basis": "per_10k_people",
            "quantity": 1,
        },
        headers=admin,
    )
    client.post(
        f"/api/v1/plans/{plan['id']}/norms",
        json={
            "material_id": setup["material"],
            "region_code": "140200",
            "basis": "per_region",
            "quantity": 5,
        },
        headers=admin,
    )
    gap = client.get(f"/api/v1/plans/{plan['id']}/gap", headers=admin).json
    by_region = {row["region_code"]: row for row in gap}
    assert (
        by_region["140100"]["required"],
        by_region["140100"]["available"],
        by_region["140100"]["gap"],
    ) == (100, 30, 70)
    assert (by_region["140200"]["available"], by_region["140200"]["gap"]) == (0, 5)


def test_the_dashboard_compares_stock_with_norms_in_whole_units(app, client, setup):
    receipt(client, setup, quantity=30)
    admin = setup["admin"]
    with app.app_context():
        _db.session.get(
            Region, "140100"
        ).population = 1_000_005  # 1 per 10,000 people: 100.0005 units
        _db.session.commit()
    plan = client.post(
        "/api/v1/plans",
        json={
            "agency_id": setup["mine"],
            "name": "整数预案",
            "incident_type": "accident",
            "level": "III",
            "region_code": "140100",
        },
        headers=admin,
    ).json
    client.post(
        f"/api/v1/plans/{plan['id']}/norms",
        json={
            "material_id": setup["material"],
            "region_code": "140100",
            "basis": "per_10k_people",
            "quantity": 1,
        },
        headers=admin,
    )
    norms = client.get("/api/v1/warnings/summary", headers=admin).json["norms"]
    row = next(r for r in norms["by_region"] if r["key"] == "140100")
    assert (row["required"], row["available"]) == (100, 30)
    assert all(
        isinstance(r[k], int)
        for r in norms["by_region"] + norms["by_category"]
        for k in ("required", "available")
    )


def test_closing_a_depot_with_stock_is_refused(client, setup):
    receipt(client, setup, quantity=3)
    assert (
        client.post(
            f"/api/v1/depots/{setup['my_depot']}/close", headers=setup["operator"]
        ).status_code
        == 409
    )


def test_regions_and_catalog_are_public_reference_data(app, client, setup):
    cities = client.get("/api/v1/regions?level=city&per_page=20").json
    assert cities["total"] == 11
    assert client.get("/api/v1/regions/140213").json["name"] == "平城区"
