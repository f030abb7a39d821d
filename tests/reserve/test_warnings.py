"""Warning scans, lifecycle, scoping, notifications, e-mail and the scheduler lock, on SQLite
and PostgreSQL."""

import time
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from core import outbox, scheduler
from core.auth import ADMIN, COMMANDER, OPERATOR, VIEWER
from core.errors import Conflict, NotAllowed, NotFound
from core.extensions import db as _db
from core.timeutil import utcnow
from reserve.models import Depot, EmergencyPlan, ReserveNorm
from reserve.reporting import services as reporting
from reserve.stock import ledger
from reserve.stock.ledger import LotFacts
from reserve.services.reference import load_regions
from reserve.warnings import notify, services
from core.outbox import OutboxMessage
from reserve.warnings.models import Notification, ReserveWarning, StockMinimum, WarningEvent
from reserve.warnings.scan import local_day
from tests import factories
from tests.conftest import log_in


@pytest.fixture
def world(app, make_agency, make_user):
    mine = make_agency("WN-MINE", kind="city")
    other = make_agency("WN-OTHER", kind="city")
    operator = make_user(OPERATOR, agency=mine)
    outsider = make_user(OPERATOR, agency=other)
    commander, admin, viewer = make_user(COMMANDER), make_user(ADMIN), make_user(VIEWER)
    with app.app_context():
        load_regions()
        tent = factories.catalog_material("001", "单帐篷", weight_kg=30)
        water = factories.catalog_material("002", "矿泉水", weight_kg=12)
        depot = factories.depot(mine, "WN-D1", "140105")
        restricted = factories.depot(mine, "WN-D2", "140105", classification="restricted")
        foreign = factories.depot(other, "WN-X1", "140213")
        return {
            "agency": mine,
            "other": other,
            "operator": operator,
            "outsider": outsider,
            "commander": commander,
            "admin": admin,
            "viewer": viewer,
            "tent": tent.id,
            "water": water.id,
            "depot": depot.id,
            "restricted": restricted.id,
            "foreign": foreign.id,
        }


def now_on(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time()) + timedelta(hours=4)  # noon in Shanghai


TODAY = local_day(utcnow())


def receive(world, lot_no, quantity=10, expiry_days=None, depot="depot", material="tent", **facts):
    who = factories.user(world["admin"]["id"] if depot == "foreign" else world["operator"]["id"])
    expiry = TODAY + timedelta(days=expiry_days) if expiry_days is not None else None
    return ledger.record_receipt(
        who,
        depot_id=world[depot],
        material_id=world[material],
        quantity=quantity,
        facts=LotFacts(lot_no, expiry_date=expiry, **facts),
    ).lot_id


def active(**filters):
    """Unresolved warnings; stale-report warnings (every agency with depots that never
    reported has one) only when asked for by kind."""
    stmt = select(ReserveWarning).where(ReserveWarning.status != "resolved").filter_by(**filters)
    if "kind" not in filters:
        stmt = stmt.where(ReserveWarning.kind != "stale_report")
    return _db.session.execute(stmt.order_by(ReserveWarning.object_key)).scalars().all()


def test_one_warning_per_lot_with_the_most_urgent_kind_and_no_duplicates_on_rescan(app, world):
    with app.app_context():
        lots = {
            days: receive(world, f"E{days}", expiry_days=days) for days in (-1, 10, 45, 120, 400)
        }
        receive(world, "NOEXP")
        first = services.scan()
        found = {w.lot_id: (w.kind, w.severity) for w in active()}
        assert found == {
            lots[-1]: ("expired", "red"),
            lots[10]: ("expires_before_use", "orange"),
            lots[45]: ("near_expiry", "yellow"),
            lots[120]: ("rotation_due", "blue"),
        }
        stale = len(active(kind="stale_report"))
        assert first.opened == 4 + stale
        again = services.scan()
        assert (again.opened, again.kept, again.resolved) == (0, 4 + stale, 0)
        assert _db.session.scalar(select(func.count()).select_from(ReserveWarning)) == 4 + stale
        assert (
            _db.session.scalar(select(func.count()).select_from(WarningEvent)) == 4 + stale
        )  # one "opened" each


def test_a_cleared_condition_is_resolved_automatically_with_the_time(app, world):
    with app.app_context():
        lot = receive(world, "OLD", quantity=5, expiry_days=-2)
        services.scan()
        ledger.record_issue(factories.user(world["operator"]["id"]), lot, 5, reason="destroyed")
        before = utcnow()
        result = services.scan()
        warning = _db.session.execute(select(ReserveWarning).filter_by(lot_id=lot)).scalar_one()
        assert (
            result.resolved == 1
            and warning.status == "resolved"
            and warning.resolution == "cleared"
        )
        assert warning.resolved_at >= before - timedelta(seconds=1)
        actions = [
            e.action
            for e in _db.session.scalars(
                select(WarningEvent).filter_by(warning_id=warning.id).order_by(WarningEvent.id)
            )
        ]
        assert actions == ["opened", "resolved"]
        receive(
            world, "OLD", quantity=1
        )  # the same lot again: a new warning, the old one stays resolved
        services.scan()
        assert len(_db.session.scalars(select(ReserveWarning).filter_by(lot_id=lot)).all()) == 2


def test_time_passing_raises_the_severity_of_the_same_warning(app, world):
    with app.app_context():
        lot = receive(world, "T1", expiry_days=50)
        services.scan(now_on(TODAY))
        assert active()[0].severity == "yellow"
        services.scan(now_on(TODAY + timedelta(days=25)))
        (warning,) = active()
        assert (warning.lot_id, warning.severity, warning.kind) == (lot, "orange", "near_expiry")
        assert [
            e.action
            for e in _db.session.scalars(select(WarningEvent).filter_by(warning_id=warning.id))
        ] == ["opened", "severity"]


def test_contracts_capacity_minimums_and_norms(app, world):
    with app.app_context():
        receive(
            world,
            "AG1",
            material="water",
            reserve_type="agreement",
            enterprise_name="某企业",
            contract_valid_to=TODAY + timedelta(days=20),
        )
        depot = _db.session.get(Depot, world["depot"])
        depot.capacity_t = 1.0  # 1 tonne; 45 tents of 30 kg = 1.35 t: over 120 %
        _db.session.commit()
        receive(world, "CAP", quantity=45)
        _db.session.add(
            StockMinimum(depot_id=world["depot"], material_id=world["water"], minimum=100)
        )
        plan = EmergencyPlan(
            agency_id=world["agency"],
            name="预案",
            incident_type="natural_disaster",
            level="II",
            region_code="140100",
        )
        _db.session.add(plan)
        _db.session.flush()
        _db.session.add(
            ReserveNorm(
                plan_id=plan.id,
                material_id=world["tent"],
                region_code="140100",
                basis="per_region",
                quantity=200,
            )
        )
        _db.session.commit()
        services.scan()
        found = {w.kind: w.severity for w in active()}
        assert found == {
            "contract_expiring": "orange",
            "over_capacity": "red",
            "below_minimum": "red",
            "below_norm": "red",
        }
        norm = active(kind="below_norm")[0]
        assert norm.facts == {"available": 45, "required": 200.0, "plan_id": plan.id}
        receive(world, "N2", quantity=145)  # 190 of 200: blue; the depot is now far over capacity
        services.scan()
        assert {w.kind: w.severity for w in active()}["below_norm"] == "blue"


def test_stale_and_missing_reports_of_agencies_with_depots(app, world):
    with app.app_context():
        services.scan(now_on(TODAY))
        stale = {w.agency_id: w for w in active(kind="stale_report")}
        assert set(stale) == {world["agency"], world["other"]}  # both have depots, neither reported
        assert all(w.severity in ("red", "orange", "yellow") for w in stale.values())


def test_a_scan_after_a_report_touches_only_that_agency(app, world):
    with app.app_context():
        receive(world, "F1", expiry_days=-5, depot="foreign")  # the other agency's expired lot
        data = (
            "depot_code,material_code,lot_no,quantity,expiry_date\r\n"
            f"WN-D1,1010101001,R1,10,{(TODAY - timedelta(days=1)).isoformat()}\r\n"
        ).encode()
        operator = factories.user(world["operator"]["id"])
        submission = reporting.submit_file(
            operator,
            agency_id=world["agency"],
            kind="stock",
            mode="incremental",
            filename="r.csv",
            data=data,
        )
        reporting.confirm_submission(operator, submission.id)
        agencies = {w.agency_id for w in active() if w.kind != "stale_report"}
        assert agencies == {world["agency"]}


def test_warnings_are_scoped_like_the_data(app, world):
    with app.app_context():
        receive(world, "PUB", expiry_days=-1)
        receive(world, "SEC", expiry_days=-1, depot="restricted")
        services.scan()
        f = services.WarningFilter(kind="expired")

        def visible(user):
            return {
                w.lot_id is not None and w.depot_id
                for w in _db.session.execute(
                    services.list_warnings(factories.user(user["id"]), f)
                ).scalars()
            }

        assert visible(world["operator"]) == {world["depot"], world["restricted"]}
        assert visible(world["commander"]) == {world["depot"], world["restricted"]}
        assert visible(world["viewer"]) == {world["depot"]}
        assert visible(world["outsider"]) == set()
        hidden = active(depot_id=world["restricted"])[0]
        with pytest.raises(NotFound):
            services.get_warning(factories.user(world["viewer"]["id"]), hidden.id)


def test_lifecycle_acknowledge_then_resolve_with_history(app, world):
    with app.app_context():
        receive(world, "L1", expiry_days=-1)
        services.scan()
        warning = active()[0]
        with pytest.raises(NotAllowed):
            services.resolve(factories.user(world["viewer"]["id"]), warning.id, "no")
        with pytest.raises(NotFound):
            services.acknowledge(factories.user(world["outsider"]["id"]), warning.id, "not mine")
        services.acknowledge(factories.user(world["operator"]["id"]), warning.id, "已安排销毁")
        with pytest.raises(Conflict):
            services.acknowledge(factories.user(world["operator"]["id"]), warning.id, "again")
        services.resolve(factories.user(world["operator"]["id"]), warning.id, "已销毁")
        events = services.history(factories.user(world["operator"]["id"]), warning.id)
        assert [(e.action, e.note) for e in events] == [
            ("opened", None),
            ("acknowledged", "已安排销毁"),
            ("resolved", "已销毁"),
        ]
        services.scan()  # the lot is still expired: a new warning opens
        assert len(active()) == 1 and active()[0].id != warning.id


def test_urgent_warnings_notify_operators_and_commanders_once(app, world):
    with app.app_context():
        receive(world, "R1", expiry_days=-1)  # red
        receive(world, "O1", expiry_days=20)  # orange
        receive(world, "B1", expiry_days=80)  # blue: no notification
        services.scan()
        services.scan()
        mine = _db.session.scalars(
            select(Notification).filter_by(user_id=world["operator"]["id"])
        ).all()
        theirs = _db.session.scalars(
            select(Notification).filter_by(user_id=world["commander"]["id"])
        ).all()
        assert sorted(n.severity for n in mine) == ["orange", "red"]
        assert [n.severity for n in theirs] == ["red"]
        assert (
            _db.session.scalars(
                select(Notification).filter_by(user_id=world["outsider"]["id"])
            ).all()
            == []
        )
        operator = factories.user(world["operator"]["id"])
        assert services.unread_count(operator) == 2
        assert services.mark_read(operator) == 2 and services.unread_count(operator) == 0


def test_daily_digest_is_queued_once_and_sent_once_through_smtp(app, world, monkeypatch):
    from aiosmtpd.controller import Controller

    received = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            received.append(envelope)
            return "250 OK"

    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
        monkeypatch.setitem(app.config, "MAIL_PORT", port)
        with app.app_context():
            receive(world, "D1", expiry_days=-1)
            services.scan()
            now = utcnow()
            queued = notify.queue_digests(
                now
            )  # one per operator of each agency with active warnings
            assert queued == 2 and notify.queue_digests(now) == 0
            assert outbox.send_pending(now) == {"sent": 2, "failed": 0}
            assert outbox.send_pending(now) == {"sent": 0, "failed": 0}
            message = _db.session.execute(
                select(OutboxMessage).filter_by(recipient=world["operator"]["email"])
            ).scalar_one()
            assert message.status == "sent" and "1" in message.body
        deadline = time.time() + 5
        while len(received) < 2 and time.time() < deadline:
            time.sleep(0.05)
        assert sorted(r.rcpt_tos[0] for r in received) == sorted(
            [world["operator"]["email"], world["outsider"]["email"]]
        )
        assert all(b"Subject:" in r.content for r in received)
    finally:
        controller.stop()


def test_without_a_mail_server_messages_wait_in_the_outbox(app, world):
    with app.app_context():
        receive(world, "D1", expiry_days=-1)
        services.scan()
        notify.queue_digests(utcnow())
        assert outbox.send_pending(utcnow())["sent"] == 0
        assert set(_db.session.scalars(select(OutboxMessage.status))) == {"pending"}


def test_only_one_scheduler_holds_the_lock_and_another_takes_over(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "SCHEDULER_LOCK_FILE", str(tmp_path / "scheduler.lock"))
    first, second = scheduler.SingletonLock(app), scheduler.SingletonLock(app)
    assert first.acquire()
    try:
        assert not second.acquire()
        said = []
        scheduler.run(app, once=True, echo=said.append)
        assert said == ["another scheduler holds the lock; nothing run"]
    finally:
        first.release()
    assert second.acquire()
    second.release()


def test_the_scheduler_runs_its_declared_jobs_once(app, world, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "SCHEDULER_LOCK_FILE", str(tmp_path / "scheduler.lock"))
    with app.app_context():
        receive(world, "S1", expiry_days=-1)
    said = []
    scheduler.run(app, once=True, echo=said.append)
    assert [line.split(":")[0] for line in said] == [
        "warnings-scan",
        "warnings-digest",
        "submissions-prune",
        "sharing-daily",
        "credit-daily",
        "readiness-nightly",
        "credit-suppliers",
        "scheduler-heartbeat",
        "notifications-send",
        "background-jobs-sweep",
        "exports-prune",
        "audit-verify",
        "backup-verify",
    ]
    assert not [
        line for line in said if line.endswith(": None")
    ]  # none failed (a failure returns None)
    assert "'opened': " in said[0]
    with app.app_context():
        assert active(kind="expired")


def test_api_and_pages(app, world, client):
    with app.app_context():
        receive(world, "P1", expiry_days=-1)
        services.scan()
    log_in(client, world["operator"]["email"])
    listing = client.get("/api/v1/warnings?severity=red")
    assert listing.status_code == 200 and listing.json["total"] == 1
    warning_id = listing.json["items"][0]["id"]
    detail = client.get(f"/api/v1/warnings/{warning_id}")
    assert detail.json["history"][0]["action"] == "opened" and detail.json["suggestion"]
    page = client.get("/warnings")
    assert page.status_code == 200 and "预警" in page.text
    assert client.get(f"/warnings/{warning_id}").status_code == 200
    summary = client.get("/api/v1/warnings/summary").json
    assert summary["by_severity"]["red"] == 1 and len(summary["trend"]) == 31
    assert client.post("/api/v1/warnings/scan", headers={"X-CSRF-Token": "x"}).status_code in (
        400,
        403,
    )
    assert client.get("/notifications").status_code == 200
    assert client.get("/api/v1/notifications").json["total"] == 1


def test_minimums_and_policies_are_set_by_the_right_people(app, world):
    with app.app_context():
        operator, admin = (
            factories.user(world["operator"]["id"]),
            factories.user(world["admin"]["id"]),
        )
        services.set_minimum(
            operator, depot_id=world["depot"], material_id=world["water"], minimum=50
        )
        with pytest.raises(NotFound):
            services.set_minimum(
                factories.user(world["outsider"]["id"]),
                depot_id=world["depot"],
                material_id=world["water"],
                minimum=1,
            )
        with pytest.raises(NotAllowed):
            services.set_policy(
                operator, category_prefix="1", blue_days=30, yellow_days=20, orange_days=10
            )
        services.set_policy(
            admin,
            category_prefix="101",
            blue_days=30,
            yellow_days=20,
            orange_days=10,
            rotation_lead_days=3,
            rotation_window_days=45,
        )
        receive(
            world, "P40", expiry_days=40
        )  # rotation window under the override: blue rotation_due
        services.scan()
        assert {(w.kind, w.severity) for w in active(kind="rotation_due")} == {
            ("rotation_due", "blue")
        }
        assert (
            services.set_minimum(
                operator, depot_id=world["depot"], material_id=world["water"], minimum=0
            )
            is None
        )


def test_the_sql_scan_agrees_with_the_pure_rule_day_by_day(app, world):
    from reserve.warnings import rules

    with app.app_context():
        lots = {receive(world, f"D{days}", expiry_days=days): days for days in range(-3, 200, 1)}
        services.scan(now_on(TODAY))
        found = {w.lot_id: (w.kind, w.severity) for w in active() if w.lot_id}
        for lot_id, days in lots.items():
            assert found.get(lot_id) == rules.lot_expiry_warning(
                TODAY + timedelta(days=days), TODAY
            ), days


def test_warning_changes_reach_the_sharing_feed(app, world):
    """Scans write warnings in bulk; their changes still reach the data-sharing change feed."""
    from reserve.sharing.feeds import read_feed

    with app.app_context():
        lot_id = receive(world, "FEED", quantity=5, expiry_days=-1)
        services.scan()
        commander = factories.user(world["commander"]["id"])
        first = read_feed(commander, "warnings", cursor=0, limit=1000, today=TODAY)
        expired = [c for c in first["items"] if (c["record"] or {}).get("lot_id") == lot_id]
        assert expired and expired[0]["record"]["status"] == "open"
        ledger.record_issue(factories.user(world["operator"]["id"]), lot_id, 5, reason="destroyed")
        services.scan()
        later = read_feed(
            commander, "warnings", cursor=first["next_cursor"], limit=1000, today=TODAY
        )
        resolved = [c for c in later["items"] if (c["record"] or {}).get("lot_id") == lot_id]
        assert resolved and resolved[0]["record"]["status"] == "resolved"
