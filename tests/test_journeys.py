"""Regressions of issue 17's journeys: each block names the item it guards."""

from datetime import timedelta
from pathlib import Path

import pytest

from core.auth import ADMIN, COMMANDER, OPERATOR
from core.timeutil import local_today
from reserve.services import ledger
from reserve.sharing import quality
from reserve.sharing.views import CHECK_LABELS
from tests import factories
from tests.conftest import log_in

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
        ledger.record_receipt(op, depot_id=depot.id, material_id=tent.id, quantity=100,
                              facts=ledger.LotFacts(lot_no="L1"))
        data = "depot_code,material_code,lot_no,quantity\nQ-D1,1010101001,L1,400\n".encode()
        submission = reporting.submit_file(op, agency_id=agency, kind="stock", mode="incremental",
                                           filename="r.csv", data=data)
        reporting.confirm_submission(op, submission.id, fingerprint=submission.fingerprint)
    log_in(client, make_user(ADMIN)["email"])
    page = client.get("/sharing/quality")
    assert page.status_code == 200
    assert "单帐篷 100 → 400 (+300%)" in page.text
    assert client.get("/sharing/quality?format=csv").status_code == 200


def _every_kind(agency_id: int) -> list:
    details = {"depot_fields": "address, contact_phone", "depot_without_stock": "Q-D1",
               "lot_expiry": "expiry_date", "depot_values": "capacity is negative",
               "lot_values": "expired stock still on hand", "transport_values": "count and payload must be positive",
               "duplicate_depot": "same_place", "duplicate_lot": "", "unit_conflict": "套 / 顶",
               "total_jump": "972 → 1800 (+85%)"}
    kinds = {"depot_fields": "depot", "depot_without_stock": "depot", "lot_expiry": "lot", "depot_values": "depot",
             "lot_values": "lot", "transport_values": "transport", "duplicate_depot": "depot", "duplicate_lot": "lot",
             "unit_conflict": "material", "total_jump": "submission"}
    assert set(details) == set(CHECK_LABELS)   # a new check kind needs a row here
    dimension = {"depot_fields": "completeness", "depot_without_stock": "completeness", "lot_expiry": "completeness"}
    return [quality.Issue(dimension.get(k, "validity" if k.endswith("values") else "conflicts"), k, agency_id,
                          kinds[k], 7, details[k], [8] if k.startswith(("duplicate", "unit", "total")) else [])
            for k in details]


def test_quality_page_renders_every_finding_kind_in_chinese(app, client, make_agency, make_user, monkeypatch):
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
    for label in ("地址、联系电话", "有效期至", "库容为负数", "相距不足 100 米", "972 → 1800 (+85%)", "套 / 顶"):
        assert label in text, label
    for raw in ("same_place", "expiry_date", "contact_phone", "depot #", "submission #"):
        assert raw not in text, raw
    csv = client.get("/sharing/quality?format=csv")
    assert csv.status_code == 200 and "972 → 1800 (+85%)" in csv.data.decode("utf-8-sig")
