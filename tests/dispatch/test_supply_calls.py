"""Calls for supply (供需发布), on SQLite and PostgreSQL: a plan's unmet line → a drafted call
(drills refused, no depot, no foreign figure) → approved by another commander and published on the
portal's board → approved enterprises answer → staff accept (a `B<offer>` source of this incident's
next problem) → receipt into a depot through the ledger; the re-plan with positions as bounds and
its differences; the incident's public notice."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core.errors import Conflict, Invalid, NotAllowed
from core.extensions import db as _db
from core.timeutil import utcnow
from dispatch import rules
from dispatch.models import SupplyCall
from dispatch.services import consultation, planning, replan, supply_calls
from dispatch.services.problem import CALL_OFFER, build_problem
from public_site.models import BoardDemand, BoardOffer, Notice
from public_site.services import board
from reserve.stock.models import Movement, StockLot
from tests import factories
from tests.conftest import csrf_token, log_in
from tests.dispatch.supply_world import (
    DEPOT_CANARY,
    RESTRICTED_UNITS,
    build,
    incident_short_of_tents,
)


@pytest.fixture
def world(app, make_agency, make_user):
    return build(app, make_agency, make_user)


def user(world, who):
    return factories.user(world[who])


def enterprise(world, state="approved"):
    return factories.user(world["suppliers"][state])


def short_plan(world, **kw):
    incident, point = incident_short_of_tents(world, **kw)
    plan = planning.plan_incident(user(world, "author"), incident.id)
    return incident, point, plan


def published_call(world, quantity=None):
    incident, point, plan = short_plan(world)
    call = supply_calls.draft_call(
        user(world, "author"),
        plan.id,
        point_id=point.id,
        material_id=world["tent"],
        quantity=quantity,
        deadline=utcnow() + timedelta(days=2),
    )
    supply_calls.approve_call(user(world, "approver"), call.id)
    return incident, point, plan, call


def answer(world, call, quantity=40, state="approved", lead=6.0):
    return board.answer_call(
        enterprise(world, state),
        call.board_demand_id,
        quantity=quantity,
        lead_time_h=lead,
        from_region_code="140100",
        price_yuan=350.0,
    )


# --- pure rules ---------------------------------------------------------------------------------


def test_city_of_never_finer_than_a_city():
    assert rules.city_of("140105") == "140100"
    assert rules.city_of("140100") == "140100"
    assert rules.city_of("140000") == "140000"
    assert rules.city_of("14010") is None and rules.city_of(None) is None


def test_call_text_names_no_depot_and_no_foreign_figure():
    allowed = {70, 2026, 12, 8}
    assert (
        rules.call_text_problem("太原市急需帐篷70顶，2026-12-08前", ["SC-D1储备库"], allowed)
        is None
    )
    assert rules.call_text_problem("从SC-D1储备库调出", ["SC-D1储备库"], allowed) == "names_depot"
    assert rules.call_text_problem("库存4321顶", [], allowed) == "foreign_figure"
    assert rules.call_text_problem("库存4,321顶", [], allowed) == "foreign_figure"
    assert rules.call_text_problem("  ", [], allowed) == "empty"
    assert rules.call_text_problem("x" * 2001, [], allowed) == "too_long"


def test_publish_obstacles():
    ok = dict(drill=False, status="draft", drafted_by=1, approver=2, four_eyes=True)
    assert rules.call_publish_obstacle(**ok) is None
    assert rules.call_publish_obstacle(**{**ok, "drill": True}) == "drill"
    assert rules.call_publish_obstacle(**{**ok, "status": "published"}) == "not_draft"
    assert rules.call_publish_obstacle(**{**ok, "approver": 1}) == "same_person"
    assert rules.call_publish_obstacle(**{**ok, "approver": 1, "four_eyes": False}) is None


def test_positions_become_bounds_and_lead_times():
    options = rules.position_bounds(
        [
            ("cannot_supply", "D1", 7, 30, None, None),
            (None, "D1", 7, 20, None, None),
            ("partial", "D2", 7, 50, 10, None),
            (None, "D2", 7, 5, None, None),
            ("later", "D3", 7, 40, None, 36.0),
            ("agree", "D4", 7, 40, None, None),
        ]
    )
    assert options["bounds"] == [
        {"source": "D1", "material": 7, "at_most": 0},
        {"source": "D2", "material": 7, "at_most": 15},
    ]
    assert options["lead"] == [{"source": "D3", "hours": 36.0}]


# --- publishing ---------------------------------------------------------------------------------


def test_a_call_defaults_to_the_unmet_quantity_at_the_points_city(app, world):
    with app.app_context():
        _, point, plan = short_plan(world)
        assert sum(u["quantity"] for u in plan.unmet) == 70

        def draft(who="author", **kw):
            return supply_calls.draft_call(
                user(world, who),
                plan.id,
                point_id=point.id,
                material_id=world["tent"],
                **{"deadline": utcnow() + timedelta(days=2), **kw},
            )

        with pytest.raises(Invalid):  # more than the plan left unmet
            draft(quantity=71)
        with pytest.raises(Invalid):  # a deadline in the past
            draft(deadline=utcnow() - timedelta(hours=1))
        with pytest.raises(Invalid):  # or beyond 90 days
            draft(deadline=utcnow() + timedelta(days=91))
        with pytest.raises(NotAllowed):  # an operator does not publish
            draft("operator")
        call = draft()
        assert call.quantity == 70 and call.region_code == "140100" and call.status == "draft"
        assert call.board_demand_id is None  # nothing public before approval
        assert "太原" in call.text and "SC-D1" not in call.text and "小店" not in call.text
        with pytest.raises(Conflict):  # one open call per point and material
            draft(quantity=10)


@pytest.mark.parametrize(
    "text", ["请SC-D1储备库的库存支援", f"{DEPOT_CANARY}仍有物资", f"现有库存{RESTRICTED_UNITS}顶"]
)
def test_a_text_naming_a_depot_or_a_figure_is_refused(app, world, text):
    with app.app_context():
        _, point, plan = short_plan(world)
        with pytest.raises(Invalid):
            supply_calls.draft_call(
                user(world, "author"),
                plan.id,
                point_id=point.id,
                material_id=world["tent"],
                deadline=utcnow() + timedelta(days=2),
                text=text,
            )
        assert _db.session.scalar(select(func.count(SupplyCall.id))) == 0


def test_drills_are_never_published(app, world):
    with app.app_context():
        _, point, plan = short_plan(world, drill=True)
        with pytest.raises(Conflict, match="演练|drill"):
            supply_calls.draft_call(
                user(world, "author"),
                plan.id,
                point_id=point.id,
                material_id=world["tent"],
                deadline=utcnow() + timedelta(days=2),
            )
        with pytest.raises(Conflict):
            supply_calls.draft_notice(user(world, "author"), plan.incident_id)
        assert _db.session.scalar(select(func.count(BoardDemand.id))) == 0


def test_approval_needs_a_second_commander_then_publishes(app, world, client):
    with app.app_context():
        _, point, plan = short_plan(world)
        call = supply_calls.draft_call(
            user(world, "author"),
            plan.id,
            point_id=point.id,
            material_id=world["tent"],
            deadline=utcnow() + timedelta(days=2),
        )
        with pytest.raises(Conflict):
            supply_calls.approve_call(user(world, "author"), call.id)
        assert not supply_calls.can_approve_call(user(world, "author"), call)
        supply_calls.approve_call(user(world, "approver"), call.id)
        demand = _db.session.get(BoardDemand, call.board_demand_id)
        assert (demand.source_kind, demand.source_ref) == ("incident", str(plan.incident_id))
        assert (demand.quantity, demand.region_code, demand.status) == (70, "140100", "open")
        with pytest.raises(Conflict):
            supply_calls.approve_call(user(world, "admin"), call.id)  # once only
        demand_id = demand.id
    page = client.get(f"/portal/board/{demand_id}")
    assert page.status_code == 200 and "70" in page.text and "太原" in page.text
    for secret in (DEPOT_CANARY, "SC-D1", "SC-D2", f"{RESTRICTED_UNITS:,}", "小店区安置点"):
        assert secret not in page.text
    assert "4321" not in page.text


def test_withdrawn_by_hand_closes_the_board_demand(app, world):
    with app.app_context():
        _, _, _, call = published_call(world)
        with pytest.raises(Invalid):
            supply_calls.withdraw_call(user(world, "author"), call.id, reason=" ")
        supply_calls.withdraw_call(user(world, "author"), call.id, reason="已由邻省支援")
        assert call.status == "withdrawn" and call.board_demand.status == "closed"
        with pytest.raises(Conflict):
            answer(world, call)


# --- offers -------------------------------------------------------------------------------------


@pytest.mark.parametrize("state", ["pending", "rejected", "changes_requested"])
def test_only_approved_enterprises_answer(app, world, state):
    with app.app_context():
        _, _, _, call = published_call(world)
        with pytest.raises(NotAllowed):
            answer(world, call, state=state)
        with pytest.raises(NotAllowed):  # a staff account is no enterprise
            board.answer_call(
                user(world, "author"),
                call.board_demand_id,
                quantity=1,
                lead_time_h=1,
                from_region_code="140100",
            )
        with pytest.raises(NotAllowed):  # the anonymous board form is closed to calls
            board.offer_supply(
                None, call.board_demand_id, offerer_name="某人", contact="13900000000", quantity=5
            )
        assert _db.session.scalar(select(func.count(BoardOffer.id))) == 0


def test_offer_quantity_and_region_are_bounded(app, world):
    with app.app_context():
        _, _, _, call = published_call(world)
        for quantity in (0, 71):
            with pytest.raises(Invalid):
                answer(world, call, quantity=quantity)
        with pytest.raises(Invalid):
            board.answer_call(
                enterprise(world),
                call.board_demand_id,
                quantity=5,
                lead_time_h=1,
                from_region_code="999999",
            )
        offer = answer(world, call, quantity=70)
        assert offer.offerer_name == "企业approved" and offer.price_yuan == 350.0


def test_an_accepted_offer_is_a_source_of_this_incidents_next_plan(app, world):
    with app.app_context():
        incident, _, plan, call = published_call(world)
        offer = answer(world, call, quantity=40, lead=6.0)
        problem, index = build_problem(user(world, "author"), incident)
        assert f"B{offer.id}" not in index.sources  # not accepted yet
        with pytest.raises(Invalid):  # more than offered
            supply_calls.accept_offer(user(world, "author"), offer.id, quantity=41)
        supply_calls.accept_offer(user(world, "author"), offer.id, quantity=30)  # partly
        problem, index = build_problem(user(world, "author"), incident)
        key = index.sources[f"B{offer.id}"]
        assert (key.kind, key.offer_id, key.lead_time_h) == (CALL_OFFER, offer.id, 6.0)
        source = next(s for s in problem["sources"] if s["id"] == f"B{offer.id}")
        assert source["stock"] == {str(world["tent"]): 30} and source["lead_time_h"] == 6.0
        other, _ = incident_short_of_tents(world)  # another incident does not draw on it
        _, other_index = build_problem(user(world, "author"), other)
        assert f"B{offer.id}" not in other_index.sources
        again = planning.plan_incident(user(world, "author"), incident.id)
        assert sum(u["quantity"] for u in again.unmet) == 40  # 70 - 30
        line = next(line for line in again.lines if line.source_kind == CALL_OFFER)
        assert (line.offer_id, line.quantity, line.depot_id) == (offer.id, 30, None)
        with pytest.raises(Conflict):  # decided once
            supply_calls.accept_offer(user(world, "author"), offer.id)
        assert call.status == "published"


def test_accepted_offers_covering_the_call_withdraw_it(app, world):
    with app.app_context():
        _, _, _, call = published_call(world)
        first, second = answer(world, call, quantity=50), answer(world, call, quantity=50)
        supply_calls.accept_offer(user(world, "author"), first.id)
        supply_calls.accept_offer(user(world, "author"), second.id)  # takes the last 20
        assert second.matched_quantity == 20
        assert call.status == "met" and call.board_demand.status == "fulfilled"
        with pytest.raises(Conflict):
            answer(world, call)


def test_receipt_books_the_ledger_and_ends_the_source(app, world):
    with app.app_context():
        incident, _, _, call = published_call(world)
        offer = answer(world, call, quantity=30)
        with pytest.raises(Conflict):  # not accepted yet
            supply_calls.receive_offer(user(world, "author"), offer.id, depot_id=world["depot"])
        supply_calls.accept_offer(user(world, "author"), offer.id)
        with pytest.raises(Invalid):
            supply_calls.receive_offer(
                user(world, "author"), offer.id, depot_id=world["depot"], quantity=31
            )
        supply_calls.receive_offer(user(world, "author"), offer.id, depot_id=world["depot"])
        assert offer.is_received and offer.received_quantity == 30
        lot = _db.session.execute(
            select(StockLot).filter_by(lot_no=f"CALL-{offer.id}")
        ).scalar_one()
        assert (lot.depot_id, lot.on_hand) == (world["depot"], 30)
        on_hand = _db.session.scalar(
            select(func.sum(Movement.on_hand_delta)).where(Movement.lot_id == lot.id)
        )
        assert on_hand == 30
        with pytest.raises(Conflict):
            supply_calls.receive_offer(user(world, "author"), offer.id, depot_id=world["depot"])
        _, index = build_problem(user(world, "author"), incident)
        assert f"B{offer.id}" not in index.sources  # the goods are in the depot now


# --- re-plan ------------------------------------------------------------------------------------


def test_replan_takes_positions_and_accepted_offers_and_says_what_changed(app, world):
    with app.app_context():
        incident, _, plan, call = published_call(world)
        depot_line = next(line for line in plan.lines if line.depot_id == world["depot"])
        assert depot_line.quantity == 50
        consultation.set_position(
            user(world, "operator"),
            depot_line.id,
            position="partial",
            quantity=20,
            reason="部分帐篷待检修",
        )
        offer = answer(world, call, quantity=40, lead=4.0)
        supply_calls.accept_offer(user(world, "author"), offer.id)
        version, diff = replan.replan(user(world, "author"), plan.id)
        assert version.options["bounds"] == [
            {"source": depot_line.source_key, "material": world["tent"], "at_most": 20}
        ]
        by_source = {line.source_kind: line.quantity for line in version.lines}
        assert by_source == {"physical": 20, CALL_OFFER: 40}
        assert diff["totals"] == {
            "planned_before": 50,
            "planned_after": 60,
            "unmet_before": 70,
            "unmet_after": 60,
        }
        assert {(r["before"], r["after"]) for r in diff["lines"]} == {(50, 20), (0, 40)}
        assert [(u["before"], u["after"]) for u in diff["unmet"]] == [(70, 60)]
        assert replan.replan_base(user(world, "author"), version).id == plan.id


def test_cannot_supply_leaves_the_source_out_and_later_sets_its_lead_time(app, world):
    with app.app_context():
        incident, _, plan = short_plan(world)
        depot_line = plan.lines[0]
        consultation.set_position(
            user(world, "operator"), depot_line.id, position="cannot_supply", reason="道路中断"
        )
        version, diff = replan.replan(user(world, "author"), plan.id)
        assert version.lines == [] and diff["totals"]["unmet_after"] == 120
        _, _, plan = short_plan(world)  # another incident, its own plan
        depot_line = plan.lines[0]
        with pytest.raises(Invalid):  # later needs its hours
            consultation.set_position(
                user(world, "operator"), depot_line.id, position="later", reason="x"
            )
        consultation.set_position(
            user(world, "operator"),
            depot_line.id,
            position="later",
            available_in_h=30,
            reason="明日补货",
        )
        later, _ = replan.replan(user(world, "author"), plan.id)
        line = later.lines[0]
        assert line.lead_time_h == 30 and line.arrival_h >= 30 and line.quantity == 50


# --- notice, API, pages -------------------------------------------------------------------------


def test_the_public_notice_is_drafted_from_the_incident_and_published_by_an_administrator(
    app, world
):
    with app.app_context():
        incident, _, _ = short_plan(world)
        notice = supply_calls.draft_notice(user(world, "author"), incident.id)
        assert notice.kind == "incident" and not notice.published
        assert "太原" in notice.title and "SC-D" not in notice.body and "120" not in notice.body
        from public_site.services import notices

        with pytest.raises(NotAllowed):
            notices.set_published(user(world, "author"), notice.id, True)
        notices.set_published(user(world, "admin"), notice.id, True)
        assert _db.session.get(Notice, notice.id).published


def test_api_round_trip(app, world, client):
    with app.app_context():
        incident, point, plan = short_plan(world)
        ids = incident.id, point.id, plan.id
    log_in(client, world["emails"]["author"])
    headers = {"X-CSRFToken": csrf_token(client.get(f"/incidents/{ids[0]}").text)}
    deadline = (utcnow() + timedelta(days=1)).isoformat() + "Z"
    bad = client.post(
        f"/api/v1/dispatch-plans/{ids[2]}/supply-calls",
        json={
            "point_id": ids[1],
            "material_id": world["tent"],
            "deadline": deadline,
            "quantity": 10**10,
        },
        headers=headers,
    )
    assert bad.status_code == 422
    made = client.post(
        f"/api/v1/dispatch-plans/{ids[2]}/supply-calls",
        json={"point_id": ids[1], "material_id": world["tent"], "deadline": deadline},
        headers=headers,
    )
    assert made.status_code == 201, made.text
    call = made.json
    assert call["quantity"] == 70 and call["status"] == "draft"
    refused = client.post(f"/api/v1/supply-calls/{call['id']}/approve", headers=headers)
    assert refused.status_code == 409 and refused.mimetype == "application/problem+json"
    listed = client.get(f"/api/v1/incidents/{ids[0]}/supply-calls").json
    assert [c["id"] for c in listed] == [call["id"]]
    again = client.post(f"/api/v1/dispatch-plans/{ids[2]}/replan", headers=headers)
    assert again.status_code == 201, again.text
    assert again.json["diff"]["totals"]["unmet_after"] == 70
    diff = client.get(f"/api/v1/dispatch-plans/{again.json['plan']['id']}/replan-diff").json
    assert diff["before_version"] == 1 and diff["after_version"] == 2
    notice = client.post(f"/api/v1/incidents/{ids[0]}/notice-draft", headers=headers)
    assert notice.status_code == 201 and notice.json["published"] is False


def test_board_section_and_portal_form(app, world, client):
    with app.app_context():
        incident, _, _, call = published_call(world)
        incident_id, demand_id = incident.id, call.board_demand_id
    assert log_in(client, world["emails"]["author"]).status_code == 302
    page = client.get(f"/incidents/{incident_id}")
    assert page.status_code == 200 and "供需发布" in page.text and call.title in page.text
    assert 'name="deadline"' not in page.text  # its one unmet line has an open call already
    assert "/approve" not in page.text.split('id="supply"')[1].split("</section>")[0]
    assert "/accept" not in page.text  # published; no offer yet
    anonymous = app.test_client().get(f"/portal/board/{demand_id}/offer")
    assert anonymous.status_code == 200 and 'name="lead_time_h"' not in anonymous.text
    assert "请使用企业账号登录" in anonymous.text
    pending_client = app.test_client()
    log_in(pending_client, world["emails"]["supplier_pending"])
    pending = pending_client.get(f"/portal/board/{demand_id}/offer")
    assert "审核" in pending.text and 'name="lead_time_h"' not in pending.text
    refused = pending_client.post(
        f"/portal/board/{demand_id}/offer",
        data={"csrf_token": csrf_token(pending.text), "quantity": "5", "lead_time_h": "1"},
    )
    assert refused.status_code == 403
    client = app.test_client()
    log_in(client, world["emails"]["supplier_approved"])
    form = client.get(f"/portal/board/{demand_id}/offer")
    assert 'name="lead_time_h"' in form.text
    sent = client.post(
        f"/portal/board/{demand_id}/offer",
        data={
            "csrf_token": csrf_token(form.text),
            "quantity": "25",
            "lead_time_h": "8",
            "from_region_code": "140100",
            "price_yuan": "",
        },
    )
    assert sent.status_code == 302, sent.text
    with app.app_context():
        offer = _db.session.execute(select(BoardOffer)).scalar_one()
        assert (offer.quantity, offer.lead_time_h, offer.price_yuan) == (25, 8.0, None)
