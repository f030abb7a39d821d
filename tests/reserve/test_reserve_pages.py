"""Registry pages: they render, in Chinese, scoped like the API."""

import pytest

from core.auth import ADMIN, OPERATOR
from reserve.stock import ledger
from reserve.services.reference import load_reference_data
from tests import factories


@pytest.fixture
def pages(app, make_agency, make_user, login_as):
    root = make_agency("PG-ROOT", kind="provincial_department")
    mine = make_agency("PG-MINE", name="本市应急局", parent=root)
    other = make_agency("PG-OTHER", name="外市应急局", parent=root)
    with app.app_context():
        load_reference_data()
        admin = factories.user(make_user(ADMIN, agency=root)["id"])
        my_depot = factories.depot(mine, "PG-D1", region_code="140105")
        other_depot = factories.depot(other, "PG-D2", region_code="140213")
        material = factories.catalog_material(code_suffix="999", name="测试帐篷")
        ledger.record_receipt(
            admin,
            depot_id=my_depot.id,
            material_id=material.id,
            quantity=12,
            facts=ledger.LotFacts("PG-LOT-1"),
        )
        ledger.record_receipt(
            admin,
            depot_id=other_depot.id,
            material_id=material.id,
            quantity=99,
            facts=ledger.LotFacts("PG-LOT-2"),
        )
        ids = {"my_depot": my_depot.id, "other_depot": other_depot.id}
    login_as(OPERATOR, agency=mine)
    return ids


def test_depot_list_and_map_show_only_own_depots(client, pages):
    page = client.get("/depots").text
    assert "PG-D1" in page and "PG-D2" not in page
    assert "depot_map.js" in page and "shanxi.geojson" in page


def test_depot_detail_shows_lots_and_ledger(client, pages):
    page = client.get(f"/depots/{pages['my_depot']}").text
    assert "PG-LOT-1" in page and "入库" in page and "库存台账" in page


def test_foreign_depot_page_is_404(client, pages):
    assert client.get(f"/depots/{pages['other_depot']}").status_code == 404


def test_stock_page_totals_are_scoped(client, pages):
    page = client.get("/stock?group_by=region").text
    assert "PG-LOT-1" in page and "PG-LOT-2" not in page
    assert "太原市" in page


def test_stock_page_ignores_bad_filters_with_a_message(client, pages):
    response = client.get("/stock?region_code=abc&expiring_within_days=-3&group_by=agency")
    assert response.status_code == 200 and "部分筛选条件无效" in response.text
    assert "group_by" not in response.text.split("部分筛选条件无效")[1].split("</div>")[0]
    assert (
        "部分筛选条件无效" not in client.get("/stock?group_by=region&expiring_within_days=30").text
    )


def test_catalog_browser_walks_the_tree_and_searches(client, pages):
    top = client.get("/catalog").text
    assert "基本生活保障物资" in top and "工程材料与机械加工设备" in top
    assert "测试帐篷" in client.get("/catalog?q=测试帐篷").text
    assert client.get("/catalog?code=9999999").status_code == 404


def test_transport_and_plans_pages_render(client, pages):
    assert client.get("/transport").status_code == 200
    assert client.get("/plans").status_code == 200


def test_navigation_lists_the_registry_pages(client, pages):
    page = client.get("/").text
    for label in ("储备库", "库存", "应急预案", "运力", "物资目录"):
        assert f">{label}</a>" in page
