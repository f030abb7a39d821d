"""The shortcuts the load test led to give the same answers as the long way: the stock list's
count from the rollups, the portal's answers kept in the worker, the warning trend in SQL."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core.auth import ADMIN, COMMANDER, VIEWER
from core.extensions import db as _db
from core.timeutil import local_today, utcnow
from reserve import models as reserve_models
from reserve.stock.models import StockLot
from reserve.stock import queries as stock
from reserve.stock import ledger
from reserve.stock.ledger import LotFacts
from reserve.services.reference import load_regions
from reserve.warnings import services as warnings
from reserve.warnings.models import ReserveWarning
from tests import factories
from tests.conftest import log_in
from tests.public_site.portal_helpers import portal  # noqa: F401


@pytest.fixture
def lots(app, make_agency, make_user):
    root = make_agency("LP-ROOT", kind="provincial_department")
    a, b = make_agency("LP-A", parent=root), make_agency("LP-B", parent=root)
    admin, commander = make_user(ADMIN, agency=root)["id"], make_user(COMMANDER)["id"]
    with app.app_context():
        load_regions()
        tent = factories.catalog_material("001", "帐篷").id
        quilt = factories.catalog_material("002", "棉被", weight_kg=3).id
        depots = [
            factories.depot(a, "LP-D1", "140105").id,
            factories.depot(b, "LP-D2", "140213").id,
            factories.depot(b, "LP-D3", "140213", classification="restricted").id,
        ]
        who = factories.user(admin)
        for n, depot in enumerate(depots):
            for material in (tent, quilt):
                lot = ledger.record_receipt(
                    who,
                    depot_id=depot,
                    material_id=material,
                    quantity=10 + n,
                    facts=LotFacts(f"L{n}"),
                ).lot_id
        ledger.record_issue(who, lot, 12)  # the last lot empties: not listed, not counted
    return {
        "commander": commander,
        "admin": admin,
        "tent": tent,
        "viewer": make_user(VIEWER, agency=a)["id"],
        "viewer of no agency": make_user(VIEWER)["id"],
        "restricted viewer": make_user(VIEWER, agency=b)["id"],
    }


READERS = ("commander", "admin", "viewer", "viewer of no agency", "restricted viewer")


@pytest.mark.parametrize(
    "f",
    [
        stock.StockFilter(),
        stock.StockFilter(region_code="140200"),
        stock.StockFilter(reserve_type="physical"),
        stock.StockFilter(category_code="101"),
        stock.StockFilter(region_code="140105"),
        stock.StockFilter(include_empty=True),
    ],
    ids=["all", "city", "reserve type", "category", "county (live)", "empty (live)"],
)
def test_stock_count_from_the_rollups_equals_the_listed_rows(app, lots, f):
    with app.app_context():
        for who in READERS:
            user = factories.user(lots[who])
            counted = _db.session.scalar(stock.stock_count(user, f, local_today()))
            listed = len(_db.session.execute(stock.stock_rows(user, f, local_today())).all())
            assert counted == listed, who
        assert _db.session.scalar(select(func.count()).select_from(StockLot)) == 6


def test_public_answers_are_kept_for_anonymous_readers_only(
    app, db, portal, monkeypatch, make_user
):
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
    assert (
        client.get(
            "/api/v1/public/overview", headers={"If-None-Match": first.headers["ETag"]}
        ).status_code
        == 304
    )
    assert (
        client.get("/portal/").status_code == 200 and len(calls) == 2
    )  # another page, its own entry
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
        rows = [
            ReserveWarning(
                object_key="a", status="open", opened_at=now - timedelta(days=10), **base
            ),
            ReserveWarning(
                object_key="b",
                status="resolved",
                opened_at=now - timedelta(days=8),
                resolved_at=now - timedelta(days=3),
                **base,
            ),
            ReserveWarning(
                object_key="c",
                status="resolved",
                opened_at=now - timedelta(days=40),
                resolved_at=now - timedelta(days=35),
                **base,
            ),
            ReserveWarning(
                object_key="d", status="open", opened_at=now - timedelta(hours=1), **base
            ),
        ]
        _db.session.add_all(rows)
        _db.session.commit()
        trend = warnings._trend(factories.user(lots["commander"]), now, 30)
        expected = [
            sum(
                1 for w in rows if w.opened_at <= m and (w.resolved_at is None or w.resolved_at > m)
            )
            for m in (now - timedelta(days=d) for d in range(30, -1, -1))
        ]
        assert [p["active"] for p in trend] == expected
        assert expected[-1] == 2 and max(expected) == 2 and expected[0] == 0


@pytest.fixture
def reserves(app, lots):
    """Beside `lots`' physical stock: agreement and capacity lots, one with an expired contract,
    one restricted, one reserved in part (credit code of a test enterprise)."""
    today = local_today()
    with app.app_context():
        who = factories.user(lots["admin"])
        depots = sorted(_db.session.scalars(select(StockLot.depot_id).distinct()))
        terms = [
            ("A1", depots[0], "agreement", 24.0, None, today + timedelta(days=30), 50),
            ("A2", depots[1], "agreement", 72.0, None, today + timedelta(days=30), 70),
            (
                "A3",
                depots[1],
                "agreement",
                12.0,
                None,
                today - timedelta(days=1),
                90,
            ),  # contract over
            ("C1", depots[0], "capacity", 12.0, 40, None, 500),
            ("C2", depots[2], "capacity", 24.0, 100, today + timedelta(days=9), 30),
        ]  # restricted depot
        for lot_no, depot, kind, lead, per_day, valid_to, quantity in terms:
            facts = LotFacts(
                lot_no,
                reserve_type=kind,
                lead_time_h=lead,
                units_per_day=per_day,
                contract_valid_to=valid_to,
                enterprise_name="测试企业",
            )
            lot = ledger.record_receipt(
                who, depot_id=depot, material_id=lots["tent"], quantity=quantity, facts=facts
            ).lot_id
        ledger.reserve_stock(who, lot, 5, reference="T-1")
    return lots


def _within_the_long_way(user, f, hours):
    """rules.available_within over every lot the user may list (the pure twin of the SQL)."""
    from reserve import rules

    totals = {}
    for row in _db.session.execute(stock.stock_rows(user, f, local_today())).all():
        lot = _db.session.get(StockLot, row.lot_id)
        supply = rules.LotSupply(
            lot.reserve_type,
            lot.available,
            lot.lead_time_h,
            lot.units_per_day,
            lot.contract_valid_to,
        )
        entry = totals.setdefault(lot.material_id, [0, 0])
        entry[0] += lot.available if lot.reserve_type == "physical" else 0
        entry[1] += rules.available_within(supply, hours=hours, today=local_today())
    return totals


@pytest.mark.parametrize(
    "f",
    [
        stock.StockFilter(),
        stock.StockFilter(region_code="140200"),
        stock.StockFilter(category_code="101"),
        stock.StockFilter(q="帐篷"),
        stock.StockFilter(reserve_type="agreement"),
        stock.StockFilter(region_code="140105"),
    ],
    ids=["all", "city", "category", "name", "reserve type", "county (live)"],
)
@pytest.mark.parametrize("hours", [0, 24, 48, 1000])
def test_available_within_from_the_rollups_equals_the_rule_over_every_lot(app, reserves, f, hours):
    with app.app_context():
        for who in READERS:
            user = factories.user(reserves[who])
            answer = {
                r["material_id"]: [r["physical_now"], r["available_within"]]
                for r in stock.within(user, f, hours, local_today())
            }
            assert answer == _within_the_long_way(user, f, hours), who


def test_kept_figures_are_per_scope_and_follow_every_movement(
    app, reserves, monkeypatch, make_user
):
    """A restricted lot's units reach the commander's figure only: the viewer asking the same
    question right after gets their own; a movement anywhere is seen by the next request."""
    monkeypatch.setitem(app.config, "SCOPED_CACHE_SECONDS", 60)
    app.extensions.pop("kept_figures", None)
    with app.app_context():
        commander, viewer = (
            factories.user(reserves["commander"]),
            factories.user(reserves["viewer"]),
        )
        other_viewer = factories.user(
            make_user(VIEWER)["id"]
        )  # no agency: no restricted stock at all
        f, today = stock.StockFilter(), local_today()

        def ask(user):
            return {
                r["material_id"]: r["available_within"]
                for r in stock.available_within(user, f, 1000, today)
            }

        assert ask(commander) == {
            m: v[1] for m, v in _within_the_long_way(commander, f, 1000).items()
        }
        for user in (
            viewer,
            other_viewer,
        ):  # same question, another scope: not the commander's answer
            assert ask(user) == {m: v[1] for m, v in _within_the_long_way(user, f, 1000).items()}
        assert ask(commander) != ask(other_viewer)

        calls = []
        monkeypatch.setattr(stock, "within", lambda *a: calls.append(1) or [])
        ask(commander)
        assert calls == []  # kept
        lot = _db.session.scalar(
            select(StockLot.id).where(StockLot.reserve_type == "physical").limit(1)
        )
        ledger.record_issue(factories.user(reserves["admin"]), lot, 1)
        ask(commander)
        assert calls == [1]  # the movement is a new version: computed again
    app.extensions.pop("kept_figures", None)


def test_kept_figures_follow_a_rename_and_a_change_of_lot_terms_at_once(app, reserves, monkeypatch):
    """Changes that append no movement (a material renamed, a lot's lead time) are audited: the
    newest audit row is part of the version, so the next answer has them."""
    monkeypatch.setitem(app.config, "SCOPED_CACHE_SECONDS", 60)
    app.extensions.pop("kept_figures", None)
    with app.app_context():
        commander, f, today = (
            factories.user(reserves["commander"]),
            stock.StockFilter(),
            local_today(),
        )
        before = stock.available_within(commander, f, 1000, today)
        material = _db.session.get(reserve_models.Material, before[0]["material_id"])
        material.name = "改名后的物资"
        _db.session.commit()
        assert stock.available_within(commander, f, 1000, today)[0]["material"] == "改名后的物资"

        lot = _db.session.scalar(
            select(StockLot)
            .where(StockLot.reserve_type != "physical", StockLot.on_hand > 0)
            .order_by(StockLot.id)
            .limit(1)
        )
        hours = (lot.lead_time_h or 0) + 1
        by_material = {
            r["material_id"]: r["available_within"]
            for r in stock.available_within(commander, f, hours, today)
        }
        lot.lead_time_h = hours + 100  # no longer obtainable within `hours`
        _db.session.commit()
        after = {
            r["material_id"]: r["available_within"]
            for r in stock.available_within(commander, f, hours, today)
        }
        assert after[lot.material_id] < by_material[lot.material_id]
        assert after == {m: v[1] for m, v in _within_the_long_way(commander, f, hours).items()}
    app.extensions.pop("kept_figures", None)


def test_report_freshness_counts_are_kept_per_scope_until_an_audited_change(
    app, reserves, monkeypatch
):
    from reserve.reporting import freshness

    monkeypatch.setitem(app.config, "SCOPED_CACHE_SECONDS", 60)
    app.extensions.pop("kept_figures", None)
    today = local_today()
    with app.app_context():

        def long_way(user):
            counts = {}
            for row in freshness.scoreboard(user, "stock", today, periods=2):
                counts[row.current] = counts.get(row.current, 0) + 1
            return counts

        for who in READERS:
            user = factories.user(reserves[who])
            assert freshness.current_counts(user, "stock", today) == long_way(user), who
        commander, admin = factories.user(reserves["commander"]), factories.user(reserves["admin"])

        calls = []
        real = freshness.scoreboard
        monkeypatch.setattr(
            freshness, "scoreboard", lambda *a, **k: calls.append(1) or real(*a, **k)
        )
        freshness.current_counts(commander, "stock", today)
        assert calls == []  # kept
        freshness.set_cadence(admin, agency_id=None, kind="stock", period="weekly", grace_days=0)
        assert freshness.current_counts(commander, "stock", today) == long_way(
            commander
        ) and calls == [1, 1]
    app.extensions.pop("kept_figures", None)


def test_a_movement_recomputes_stock_against_norms_but_not_the_warning_figures(
    app, reserves, monkeypatch
):
    monkeypatch.setitem(app.config, "SCOPED_CACHE_SECONDS", 60)
    app.extensions.pop("kept_figures", None)
    calls = []
    for part in ("_warning_figures", "_norm_chart"):
        real = getattr(warnings, part)
        monkeypatch.setattr(
            warnings, part, lambda *a, _real=real, _part=part: calls.append(_part) or _real(*a)
        )
    with app.app_context():
        commander = factories.user(reserves["commander"])
        warnings.summary(commander)
        warnings.summary(commander)
        assert calls == ["_warning_figures", "_norm_chart"]  # the second answer was kept whole
        lot = _db.session.scalar(
            select(StockLot.id).where(StockLot.reserve_type == "physical").limit(1)
        )
        ledger.record_issue(factories.user(reserves["admin"]), lot, 1)
        warnings.summary(commander)
        assert calls[2:] == ["_norm_chart"]
        depot = _db.session.get(reserve_models.Depot, _db.session.get(StockLot, lot).depot_id)
        warning = ReserveWarning(
            kind="expired",
            object_key="moved",
            severity="red",
            status="open",
            classification="internal",
            opened_at=utcnow(),
            depot_id=depot.id,
            agency_id=depot.agency_id,
        )
        _db.session.add(warning)
        _db.session.commit()
        warnings.resolve(
            commander, warning.id, "checked on site"
        )  # a history row: a new warnings version
        assert (
            warnings.summary(commander)["by_severity"]
            == warnings.figures(commander, utcnow())["by_severity"]
        )
        assert calls[3] == "_warning_figures"
    app.extensions.pop("kept_figures", None)


def test_warning_summary_is_kept_per_scope_until_warnings_change(app, reserves, monkeypatch):
    monkeypatch.setitem(app.config, "SCOPED_CACHE_SECONDS", 60)
    app.extensions.pop("kept_figures", None)
    with app.app_context():
        commander, viewer = (
            factories.user(reserves["commander"]),
            factories.user(reserves["viewer"]),
        )
        restricted = next(
            d
            for d in _db.session.scalars(select(StockLot.depot_id).distinct())
            if _db.session.get(reserve_models.Depot, d).classification == "restricted"
        )
        _db.session.add(
            ReserveWarning(
                kind="expired",
                object_key="canary",
                severity="red",
                status="open",
                classification="restricted",
                depot_id=restricted,
                opened_at=utcnow(),
                agency_id=_db.session.get(reserve_models.Depot, restricted).agency_id,
            )
        )
        _db.session.commit()
        seen = warnings.summary(commander)["by_severity"]
        assert warnings.summary(commander)["by_severity"] == seen
        assert (
            warnings.summary(viewer)["by_severity"]
            == warnings.figures(viewer, utcnow())["by_severity"]
        )
        assert (
            warnings.summary(viewer)["by_severity"]["red"] < seen["red"]
        )  # the restricted canary stays out
        canary = _db.session.scalar(
            select(ReserveWarning.id).where(ReserveWarning.object_key == "canary")
        )
        warnings.resolve(commander, canary, "checked on site")  # a history row: the version moves
        assert sum(warnings.summary(commander)["by_severity"].values()) == sum(seen.values()) - 1
    app.extensions.pop("kept_figures", None)


def test_warning_list_order_and_count_follow_severity_then_newest(app, reserves):
    """Most urgent first, newest first within a severity; `urgency` is set by the scan and by
    ORM inserts alike; the kept count equals the rows listed."""
    from reserve.warnings import rules

    now = utcnow()
    with app.app_context():
        commander = factories.user(reserves["commander"])
        for n, severity in enumerate(["blue", "red", "yellow", "orange", "red", "blue"]):
            _db.session.add(
                ReserveWarning(
                    kind="expired",
                    object_key=f"o{n}",
                    severity=severity,
                    status="open",
                    classification="internal",
                    opened_at=now - timedelta(hours=n),
                )
            )
        _db.session.commit()
        for scanned in (False, True):
            if scanned:
                warnings.scan()  # resolves the made-up ones, opens what the lots really show
            listed = (
                _db.session.execute(warnings.list_warnings(commander, warnings.WarningFilter()))
                .scalars()
                .all()
            )
            assert all(w.urgency == rules.URGENCY[w.severity] for w in listed)
            order = [
                (rules.SEVERITY_RANK[w.severity], -w.opened_at.timestamp(), -w.id) for w in listed
            ]
            assert order == sorted(order) and len({w.severity for w in listed}) > 1
            assert all(w.opened_scan for w in listed) if scanned else len(listed) == 6
        assert warnings.count_warnings(commander, warnings.WarningFilter()) == len(listed)
        assert warnings.count_warnings(commander, warnings.WarningFilter(severity="red")) == sum(
            w.severity == "red" for w in listed
        )


@pytest.mark.parametrize("group_by", ["material", "category", "region", "agency", "reserve_type"])
def test_totals_from_the_rollups_equal_the_live_ones_for_every_reader(app, reserves, group_by):
    with app.app_context():
        for who in READERS:
            user = factories.user(reserves[who])
            kept = stock.stock_totals(user, stock.StockFilter(), group_by, local_today())
            assert kept == stock.stock_totals(
                user, stock.StockFilter(), group_by, local_today(), use_rollup=False
            ), who
