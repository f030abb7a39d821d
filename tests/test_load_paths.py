"""The shortcuts the load test led to give the same answers as the long way: the stock list's
count from the rollups, the portal's answers kept in the worker, the warning trend in SQL."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core.auth import ADMIN, COMMANDER, VIEWER
from core.extensions import db as _db
from core.timeutil import local_today, utcnow
from reserve.models import StockLot
from reserve.services import ledger, stock
from reserve.services.ledger import LotFacts
from reserve.services.reference import load_regions
from reserve.warnings import services as warnings
from reserve.warnings.models import ReserveWarning
from tests import factories
from tests.conftest import log_in
from tests.portal_helpers import portal  # noqa: F401


@pytest.fixture
def lots(app, make_agency, make_user):
    root = make_agency("LP-ROOT", kind="provincial_department")
    a, b = make_agency("LP-A", parent=root), make_agency("LP-B", parent=root)
    admin, commander = make_user(ADMIN, agency=root)["id"], make_user(COMMANDER)["id"]
    with app.app_context():
        load_regions()
        tent = factories.catalog_material("001", "帐篷").id
        quilt = factories.catalog_material("002", "棉被", weight_kg=3).id
        depots = [factories.depot(a, "LP-D1", "140105").id, factories.depot(b, "LP-D2", "140213").id,
                  factories.depot(b, "LP-D3", "140213", classification="restricted").id]
        who = factories.user(admin)
        for n, depot in enumerate(depots):
            for material in (tent, quilt):
                lot = ledger.record_receipt(who, depot_id=depot, material_id=material, quantity=10 + n,
                                            facts=LotFacts(f"L{n}")).lot_id
        ledger.record_issue(who, lot, 12)  # the last lot empties: not listed, not counted
    return {"commander": commander, "admin": admin, "tent": tent, "viewer": make_user(VIEWER, agency=a)["id"]}


@pytest.mark.parametrize("f", [stock.StockFilter(), stock.StockFilter(region_code="140200"),
                               stock.StockFilter(reserve_type="physical"), stock.StockFilter(category_code="101"),
                               stock.StockFilter(region_code="140105"), stock.StockFilter(include_empty=True)],
                         ids=["all", "city", "reserve type", "category", "county (live)", "empty (live)"])
def test_stock_count_from_the_rollups_equals_the_listed_rows(app, lots, f):
    with app.app_context():
        for who in ("commander", "admin", "viewer"):
            user = factories.user(lots[who])
            counted = _db.session.scalar(stock.stock_count(user, f, local_today()))
            listed = len(_db.session.execute(stock.stock_rows(user, f, local_today())).all())
            assert counted == listed, who
        assert _db.session.scalar(select(func.count()).select_from(StockLot)) == 6


def test_public_answers_are_kept_for_anonymous_readers_only(app, db, portal, monkeypatch, make_user):
    from public_site.services import overview

    monkeypatch.setitem(app.config, "PUBLIC_CACHE_SECONDS", 60)
    app.extensions.pop("public_page_cache", None)
    calls = []
    real = overview.public_overview
    monkeypatch.setattr(overview, "public_overview", lambda: calls.append(1) or real())
    client = app.test_client()
    first = client.get("/api/v1/public/overview")
    second = client.get("/api/v1/public/overview")
    assert first.status_code == second.status_code == 200 and len(calls) == 1
    assert second.data == first.data and second.headers["ETag"] == first.headers["ETag"]
    assert second.headers["Cache-Control"] == "public, max-age=60"
    assert client.get("/api/v1/public/overview", headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    assert client.get("/portal/").status_code == 200 and len(calls) == 2  # another page, its own entry
    assert client.get("/portal/?page=1").status_code == 200 and len(calls) == 3  # another query

    signed_in = app.test_client()
    assert log_in(signed_in, make_user(COMMANDER)["email"]).status_code == 302
    answer = signed_in.get("/api/v1/public/overview")
    assert answer.status_code == 200 and len(calls) == 4  # someone's answer: computed, not kept
    assert answer.headers["Cache-Control"] == "private, no-cache"
    app.extensions.pop("public_page_cache", None)


def test_warning_trend_counts_what_was_active_each_day(app, lots):
    now = utcnow()
    with app.app_context():
        base = dict(kind="low_stock", severity="red", classification="internal")
        rows = [ReserveWarning(object_key="a", status="open", opened_at=now - timedelta(days=10), **base),
                ReserveWarning(object_key="b", status="resolved", opened_at=now - timedelta(days=8),
                               resolved_at=now - timedelta(days=3), **base),
                ReserveWarning(object_key="c", status="resolved", opened_at=now - timedelta(days=40),
                               resolved_at=now - timedelta(days=35), **base),
                ReserveWarning(object_key="d", status="open", opened_at=now - timedelta(hours=1), **base)]
        _db.session.add_all(rows)
        _db.session.commit()
        trend = warnings._trend(factories.user(lots["commander"]), now, 30)
        expected = [sum(1 for w in rows if w.opened_at <= m and (w.resolved_at is None or w.resolved_at > m))
                    for m in (now - timedelta(days=d) for d in range(30, -1, -1))]
        assert [p["active"] for p in trend] == expected
        assert expected[-1] == 2 and max(expected) == 2 and expected[0] == 0
