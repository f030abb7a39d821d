"""Rotation items on SQLite and PostgreSQL: planned from expiry warnings (the warnings page's
form), completed through the page and the API with the ledger's movements, the warning resolved
and not raised again, the ledger's sums kept; the norm shortfall confirm step; undo by reversal;
scoping; bad input changes nothing; the province's calendar and its export."""

import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from core.auth import ADMIN, COMMANDER, OPERATOR, VIEWER
from core.errors import Conflict, Invalid, NotAllowed, NotFound
from core.extensions import db as _db
from core.timeutil import local_today, utcnow
from reserve.models import EmergencyPlan, ReserveNorm
from reserve.rotation import calendar, completion, rules, services
from reserve.rotation.models import RotationItem, RotationStep
from reserve.stock import queries as stock
from reserve.services.reference import load_regions
from reserve.stock import ledger
from reserve.stock.ledger import LotFacts
from reserve.stock.models import Movement, StockLot
from reserve.warnings import services as warnings
from reserve.warnings.models import ReserveWarning
from tests import factories
from tests.conftest import csrf_token, log_in

TODAY = local_today()


@pytest.fixture
def world(app, make_agency, make_user):
    """Agency `mine` (an operator, two depots in Taiyuan, one in Datong) and `other` (its
    operator, a depot); three lots of tents: expired, near expiry, inside the rotation window."""
    mine = make_agency("RT-MINE", kind="city")
    other = make_agency("RT-OTHER", kind="city")
    users = {
        "operator": make_user(OPERATOR, agency=mine),
        "outsider": make_user(OPERATOR, agency=other),
        "viewer": make_user(VIEWER, agency=other),
        "commander": make_user(COMMANDER),
        "admin": make_user(ADMIN),
    }
    with app.app_context():
        load_regions()
        tent = factories.catalog_material("001", "单帐篷", weight_kg=30)
        ids = {
            "depot": factories.depot(mine, "RT-D1", "140105").id,
            "depot2": factories.depot(mine, "RT-D2", "140106").id,
            "far": factories.depot(mine, "RT-D3", "140213").id,
            "foreign": factories.depot(other, "RT-X1", "140105").id,
        }
        operator = factories.user(users["operator"]["id"])
        lots = {}
        for name, days, quantity in (("expired", -5, 40), ("near", 20, 30), ("window", 120, 50)):
            lots[name] = ledger.record_receipt(
                operator,
                depot_id=ids["depot"],
                material_id=tent.id,
                quantity=quantity,
                facts=LotFacts(f"RT-{name}", expiry_date=TODAY + timedelta(days=days)),
            ).lot_id
        lots["foreign"] = ledger.record_receipt(
            factories.user(users["outsider"]["id"]),
            depot_id=ids["foreign"],
            material_id=tent.id,
            quantity=10,
            facts=LotFacts("RT-foreign", expiry_date=TODAY + timedelta(days=10)),
        ).lot_id
        warnings.scan()
        by_lot = dict(
            _db.session.execute(
                select(ReserveWarning.lot_id, ReserveWarning.id).where(
                    ReserveWarning.lot_id.is_not(None)
                )
            ).all()
        )
        return {
            **users,
            **ids,
            "mine": mine,
            "other": other,
            "tent": tent.id,
            "lots": lots,
            "warnings": {name: by_lot[lot] for name, lot in lots.items()},
        }


def user(world, name):
    return factories.user(world[name]["id"])


def plan(world, *names, who="operator", **kwargs):
    ids = [world["warnings"][n] for n in names]
    return services.create_from_warnings(user(world, who), ids, responsible="李四", **kwargs)


def assert_ledger_holds(world):
    """Every lot's cached balance is the sum of its movements; the rollups match the lots."""
    _db.session.expire_all()
    sums = dict(
        _db.session.execute(
            select(Movement.lot_id, func.sum(Movement.on_hand_delta)).group_by(Movement.lot_id)
        ).all()
    )
    for lot in _db.session.execute(select(StockLot)).scalars():
        assert lot.on_hand == sums.get(lot.id, 0), lot.lot_no
        assert 0 <= lot.reserved <= lot.on_hand
    everyone = user(world, "commander")
    for group in ("agency", "region", "material"):
        live = stock.stock_totals(everyone, stock.StockFilter(), group, TODAY, use_rollup=False)
        kept = stock.stock_totals(everyone, stock.StockFilter(), group, TODAY, use_rollup=True)
        assert live == kept, group


def counts():
    return tuple(
        _db.session.scalar(select(func.count()).select_from(model))
        for model in (Movement, RotationItem, RotationStep)
    ) + (_db.session.scalar(select(func.sum(StockLot.on_hand))),)


def test_bulk_creation_proposes_the_action_and_due_date_of_each_warning_kind(app, world):
    with app.app_context():
        made = plan(world, "expired", "near", "window")
        by_lot = {item.lot_id: item for item in made["created"]}
        lots = world["lots"]
        assert by_lot[lots["expired"]].action == rules.REPLACEMENT
        assert by_lot[lots["near"]].action == rules.ISSUE
        assert by_lot[lots["window"]].action == rules.TRANSFER
        assert by_lot[lots["expired"]].due_date == TODAY
        assert by_lot[lots["near"]].due_date == TODAY + timedelta(days=20 - 15)
        assert [i.quantity for i in made["created"]] == [40, 30, 50]
        assert all(i.status == "planned" and i.responsible == "李四" for i in made["created"])
        again = plan(world, "expired", "near")
        assert again["created"] == [] and len(again["skipped"]) == 2


def complete_through_the_page(client, item_id, **fields):
    page = client.get(f"/rotation/{item_id}")
    assert page.status_code == 200
    return client.post(
        f"/rotation/{item_id}/complete", data={"csrf_token": csrf_token(page.text), **fields}
    )


def test_an_item_completed_through_the_page_books_its_movements_and_resolves_its_warning(
    app, world, client
):
    log_in(client, world["operator"]["email"])
    warnings_page = client.get("/warnings")
    assert "创建轮换事项" in warnings_page.text
    created = client.post(
        "/rotation/from-warnings",
        data={
            "csrf_token": csrf_token(warnings_page.text),
            "warning_ids": [world["warnings"]["near"]],
            "responsible": "王五",
        },
    )
    assert created.status_code == 303
    with app.app_context():
        item = _db.session.execute(select(RotationItem)).scalar_one()
        item_id, before = item.id, counts()
    response = complete_through_the_page(client, item_id, quantity="30")
    assert response.status_code == 303
    with app.app_context():
        item = _db.session.get(RotationItem, item_id)
        assert (item.status, item.done_quantity) == ("done", 30)
        [step] = item.steps
        reference = step.reference
        movements = (
            _db.session.execute(select(Movement).where(Movement.reference == step.reference))
            .scalars()
            .all()
        )
        assert [(m.kind, m.on_hand_delta) for m in movements] == [("issue", -30)]
        assert counts()[0] == before[0] + 1
        warning = _db.session.get(ReserveWarning, world["warnings"]["near"])
        assert warning.status == "resolved" and "30" in warning.resolution
        assert _db.session.get(StockLot, world["lots"]["near"]).on_hand == 0
        assert_ledger_holds(world)
        warnings.scan()
        again = (
            _db.session.execute(
                select(ReserveWarning).where(ReserveWarning.lot_id == world["lots"]["near"])
            )
            .scalars()
            .all()
        )
        assert [w.status for w in again] == ["resolved"]  # the lot is gone: nothing raised again
    page = client.get(f"/rotation/{item_id}")
    assert "完成" in page.text and reference in page.text


def test_a_replacement_takes_the_old_lot_out_and_receives_the_new_one(app, world):
    with app.app_context():
        [item] = plan(world, "expired")["created"]
        with pytest.raises(Invalid):  # the new lot needs its number
            completion.complete_step(user(world, "operator"), item.id, completion.StepInput(40))
        expiry = TODAY + timedelta(days=700)
        completion.complete_step(
            user(world, "operator"),
            item.id,
            completion.StepInput(40, replacement_lot_no="RT-NEW", replacement_expiry=expiry),
        )
        new = _db.session.execute(select(StockLot).filter_by(lot_no="RT-NEW")).scalar_one()
        assert (new.depot_id, new.on_hand, new.expiry_date) == (world["depot"], 40, expiry)
        assert _db.session.get(StockLot, world["lots"]["expired"]).on_hand == 0
        assert _db.session.get(ReserveWarning, world["warnings"]["expired"]).status == "resolved"
        assert_ledger_holds(world)
        warnings.scan()
        assert not _db.session.execute(
            select(ReserveWarning).where(
                ReserveWarning.lot_id.in_([new.id, world["lots"]["expired"]]),
                ReserveWarning.status != "resolved",
            )
        ).first()


def test_a_transfer_in_two_steps_shows_progress_and_moves_the_stock(app, world):
    with app.app_context():
        [item] = plan(world, "window")["created"]
        operator = user(world, "operator")
        with pytest.raises(Invalid) as refused:
            completion.complete_step(operator, item.id, completion.StepInput(20))
        assert "to_depot_id" in refused.value.errors
        services.update_item(operator, item.id, {"to_depot_id": world["depot2"]})
        completion.complete_step(operator, item.id, completion.StepInput(20))
        item = _db.session.get(RotationItem, item.id)
        assert (item.status, item.done_quantity, item.remaining) == ("in_progress", 20, 30)
        assert _db.session.get(ReserveWarning, world["warnings"]["window"]).status == "open"
        completion.complete_step(operator, item.id, completion.StepInput(30))
        moved = _db.session.execute(
            select(StockLot).filter_by(lot_no="RT-window", depot_id=world["depot2"])
        ).scalar_one()
        assert moved.on_hand == 50
        assert _db.session.get(ReserveWarning, world["warnings"]["window"]).status == "resolved"
        assert_ledger_holds(world)
        warnings.scan()  # the stock moved still expires: watched at its new depot, not the old
        kinds = {
            w.lot_id: w.status
            for w in _db.session.execute(
                select(ReserveWarning).where(ReserveWarning.status != "resolved")
            ).scalars()
        }
        assert moved.id in kinds and world["lots"]["window"] not in kinds


def norm(world, quantity):
    plan = EmergencyPlan(
        agency_id=world["mine"],
        name="太原市防汛预案",
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
            quantity=quantity,
        )
    )
    _db.session.commit()


def test_a_step_that_leaves_the_norm_short_is_refused_until_confirmed(app, world, client):
    with app.app_context():
        norm(world, 120)  # Taiyuan holds 130 tents: the agency's 120 and the other's 10
        [item] = plan(world, "near")["created"]
        item_id, before = item.id, counts()
    log_in(client, world["operator"]["email"])
    page = client.get(f"/rotation/{item_id}")
    token = csrf_token(page.text)
    url = f"/api/v1/rotation/items/{item_id}/steps"
    headers = {"X-CSRFToken": token}
    refused = client.post(url, json={"quantity": 30}, headers=headers)
    assert refused.status_code == 409 and refused.json["type"].endswith("norm-shortfall")
    [shortfall] = refused.json["errors"]["shortfalls"]
    assert shortfall["plan"] == "太原市防汛预案" and shortfall["region"] == "太原市"
    assert (
        shortfall["required"],
        shortfall["available_before"],
        shortfall["available_after"],
        shortfall["short"],
    ) == (120, 130, 100, 20)
    with app.app_context():
        assert counts() == before
    shown = complete_through_the_page(client, item_id, quantity="30")
    assert (
        shown.status_code == 200 and "预案储备定额" in shown.text and "太原市防汛预案" in shown.text
    )
    with app.app_context():
        assert counts() == before
    confirmed = client.post(url, json={"quantity": 30, "confirm": True}, headers=headers)
    assert confirmed.status_code == 201 and confirmed.json["status"] == "done"
    assert confirmed.json["steps"][0]["shortfall_confirmed"] is True


def test_a_step_inside_the_norm_needs_no_confirmation(app, world):
    with app.app_context():
        norm(world, 50)
        [item] = plan(world, "near")["created"]
        completion.complete_step(user(world, "operator"), item.id, completion.StepInput(10))
        assert _db.session.get(RotationItem, item.id).steps[0].shortfall_confirmed is False


def test_undo_reverses_the_steps_movements_once(app, world):
    with app.app_context():
        [item] = plan(world, "window")["created"]
        operator = user(world, "operator")
        services.update_item(operator, item.id, {"to_depot_id": world["far"]})
        completion.complete_step(operator, item.id, completion.StepInput(50))
        step = _db.session.execute(select(RotationStep)).scalar_one()
        completion.undo_step(operator, item.id, step.id, "记错了")
        item = _db.session.get(RotationItem, item.id)
        assert (item.status, item.done_quantity) == ("planned", 0)
        assert _db.session.get(StockLot, world["lots"]["window"]).on_hand == 50
        reversals = _db.session.scalar(
            select(func.count()).select_from(Movement).where(Movement.kind == "reversal")
        )
        assert reversals == 2  # both legs of the transfer
        assert_ledger_holds(world)
        with pytest.raises(Exception) as again:
            completion.undo_step(operator, item.id, step.id, "再来")
        assert getattr(again.value, "status", None) == 409


def test_items_are_scoped_to_the_agency_subtree(app, world, client):
    with app.app_context():
        [item] = plan(world, "near")["created"]
        item_id, before = item.id, counts()
        outsider, viewer = user(world, "outsider"), user(world, "viewer")
        with pytest.raises(NotFound):
            services.get_item(outsider, item_id)
        assert _db.session.execute(services.list_items(outsider, services.ItemFilter())).all() == []
        with pytest.raises(NotFound):
            completion.complete_step(outsider, item_id, completion.StepInput(1))
        with pytest.raises(NotFound):
            services.create_from_warnings(outsider, [world["warnings"]["expired"]], responsible="x")
        assert services.get_item(viewer, item_id).id == item_id  # viewers read ...
        with pytest.raises(NotAllowed):  # ... and do not write
            completion.complete_step(viewer, item_id, completion.StepInput(1))
        with pytest.raises(NotAllowed):
            services.cancel_item(user(world, "commander"), item_id, "不需要")
        assert counts() == before
    log_in(client, world["outsider"]["email"])
    assert client.get(f"/rotation/{item_id}").status_code == 404
    assert client.get(f"/api/v1/rotation/items/{item_id}").status_code == 404
    assert "RT-near" not in client.get("/rotation").text


@pytest.mark.parametrize(
    "body, field",
    [
        ({"quantity": 0}, "quantity"),
        ({"quantity": 31}, "quantity"),
        ({"quantity": 10**10}, "quantity"),
        ({"quantity": "5"}, "quantity"),
        ({"quantity": 5, "replacement_quantity": 5}, "replacement_lot_no"),
        ({"quantity": 5, "replacement_quantity": 5, "replacement_lot_no": "RT-near"}, None),
        ({"quantity": 5, "replacement_lot_no": "x" * 61}, "replacement_lot_no"),
        ({"quantity": 5, "replacement_quantity": -1}, "replacement_quantity"),
    ],
)
def test_bad_step_input_is_a_4xx_in_chinese_and_changes_nothing(app, world, client, body, field):
    with app.app_context():
        [item] = plan(world, "near")["created"]
        item_id, before = item.id, counts()
    log_in(client, world["operator"]["email"])
    token = csrf_token(client.get(f"/rotation/{item_id}").text)
    response = client.post(
        f"/api/v1/rotation/items/{item_id}/steps", json=body, headers={"X-CSRFToken": token}
    )
    assert response.status_code == 422, response.json
    if field:
        assert field in str(response.json)
    with app.app_context():
        assert counts() == before


def test_bad_bulk_and_edit_input_changes_nothing(app, world, client):
    with app.app_context():
        [item] = plan(world, "near")["created"]
        item_id, before = item.id, counts()
        below_norm = ReserveWarning(
            kind="below_norm", object_key="norm:x", severity="red", agency_id=world["mine"]
        )
        below_norm.opened_at = utcnow()
        _db.session.add(below_norm)
        _db.session.commit()
        other_kind = below_norm.id
    log_in(client, world["operator"]["email"])
    token = csrf_token(client.get(f"/rotation/{item_id}").text)
    headers = {"X-CSRFToken": token}
    for body in (
        {"warning_ids": list(range(1, 202)), "responsible": "张三"},
        {"warning_ids": [], "responsible": "张三"},
        {"warning_ids": [world["warnings"]["expired"]], "responsible": "x" * 61},
        {"warning_ids": [other_kind], "responsible": "张三"},
    ):
        response = client.post("/api/v1/rotation/items", json=body, headers=headers)
        assert response.status_code == 422, body
        assert response.json["detail"]
    for body in ({"quantity": 0}, {"action": "burn"}, {"to_depot_id": world["depot"]}):
        patch = client.patch(f"/api/v1/rotation/items/{item_id}", json=body, headers=headers)
        assert patch.status_code == 422, body
    foreign = client.patch(
        f"/api/v1/rotation/items/{item_id}", json={"to_depot_id": world["foreign"]}, headers=headers
    )
    assert foreign.status_code in (403, 422)
    with app.app_context():
        assert counts() == before
        assert _db.session.get(RotationItem, item_id).to_depot_id is None


def test_the_worklist_lists_names_and_pages(app, world, client):
    with app.app_context():
        plan(world, "expired", "near", "window")
    log_in(client, world["operator"]["email"])
    page = client.get("/rotation")
    assert page.status_code == 200
    for text in ("轮换工作清单", "单帐篷", "RT-D1储备库", "以旧换新采购", "李四"):
        assert text in page.text, text
    listing = client.get("/api/v1/rotation/items?per_page=2")
    assert listing.json["total"] == 3 and len(listing.json["items"]) == 2
    assert listing.json["items"][0]["material"] == "单帐篷"
    assert client.get("/api/v1/rotation/items?per_page=1000").status_code == 422
    assert client.get("/api/v1/rotation/items?status=burnt").status_code == 422


def test_the_calendar_counts_lots_by_month_category_and_city_and_exports(app, world, client):
    log_in(client, world["viewer"]["email"])
    data = client.get("/api/v1/rotation/calendar?months=12").json
    assert data["columns"][0] == "earlier" and len(data["columns"]) == 13
    assert data["total_lots"] == 4  # the three lots of `mine` and the foreign one, all internal
    by_city = {row["name"]: row["total"] for row in data["by_city"]}
    assert by_city == {"太原市": 4}
    [category] = data["by_category"]
    assert category["total"] == 4
    month = f"{TODAY + timedelta(days=120):%Y-%m}"
    assert category["cells"][data["columns"].index(month)] >= 1
    assert client.get("/api/v1/rotation/calendar?months=37").status_code == 422
    page = client.get("/rotation/calendar")
    assert page.status_code == 200 and "轮换日历" in page.text and "太原市" in page.text
    csv = client.get("/api/v1/rotation/calendar/export?format=csv")
    assert csv.status_code == 200 and "单帐篷" in csv.text and "月份" in csv.text
    xlsx = client.get("/api/v1/rotation/calendar/export?format=xlsx&months=3")
    rows = list(load_workbook(io.BytesIO(xlsx.data)).active.iter_rows(values_only=True))
    assert rows[0][0] == "月份" and sum(r[5] for r in rows[1:]) == 3  # the window lot is later


def test_the_calendar_export_runs_as_a_background_job_too(app, world):
    from core import export_jobs

    with app.app_context():
        viewer = user(world, "viewer")
        size = export_jobs.export_size(viewer, "rotation_calendar", {"months": 12}, TODAY)
        header, rows = calendar.export_table(viewer, {"months": 12}, TODAY)
        assert size == len(rows) >= 2 and header[3] == "物资"
        assert sum(r[5] for r in rows) == 4
        job = export_jobs.start_export(viewer, "rotation_calendar", "xlsx", {"months": 12})
        assert job.kind == "export"


def test_eight_people_booking_the_same_item_at_once_never_overbook_it(app, committed):
    """Committed for real, on both databases: eight threads book 10 of an item of 30 units;
    three succeed, the others are refused for lack of units left, and the ledger agrees."""
    import threading

    from flask_security import hash_password

    from core.extensions import security
    from core.organisation import Agency

    with app.app_context():
        load_regions()
        agency = Agency(code="RT-RACE", name="轮换并发单位", kind="city", path="")
        _db.session.add(agency)
        _db.session.flush()
        agency.path = f"/{agency.id}/"
        operator = security.datastore.create_user(
            email="rt-race@example.org",
            password=hash_password("x-Y-123456"),
            roles=[OPERATOR],
            agency_id=agency.id,
        )
        _db.session.commit()
        material = factories.catalog_material()
        depot = factories.depot(agency.id, "RT-RACE-D", "140105")
        lot_id = ledger.record_receipt(
            operator,
            depot_id=depot.id,
            material_id=material.id,
            quantity=30,
            facts=LotFacts("RT-RACE", expiry_date=TODAY + timedelta(days=20)),
        ).lot_id
        warnings.scan()
        warning_id = _db.session.scalar(select(ReserveWarning.id).filter_by(lot_id=lot_id))
        [item] = services.create_from_warnings(operator, [warning_id], responsible="并发")[
            "created"
        ]
        item_id, operator_id = item.id, operator.id

    booked, refused, failed = [], [], []
    barrier = threading.Barrier(8)

    def worker():
        with app.app_context():
            who = factories.user(operator_id)
            _db.session.commit()
            barrier.wait()
            try:
                completion.complete_step(who, item_id, completion.StepInput(10))
                booked.append(10)
            except (Invalid, Conflict):  # nothing left, or the item already done
                refused.append(10)
            except Exception as exc:  # noqa: BLE001 - any other outcome is a failure to report
                failed.append(repr(exc))
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failed == [] and len(booked) == 3 and len(refused) == 5
    with app.app_context():
        item = _db.session.get(RotationItem, item_id)
        assert (item.done_quantity, item.status, len(item.steps)) == (30, "done", 3)
        assert _db.session.get(StockLot, lot_id).on_hand == 0
        assert (
            _db.session.scalar(
                select(func.sum(Movement.on_hand_delta)).where(Movement.lot_id == lot_id)
            )
            == 0
        )
