"""Sharing end to end on SQLite and PostgreSQL: sharing attributes, the grant lifecycle and its
access log, feeds and exports (a follower reproduces the source), external clients' tokens,
scopes and rate limits, and the data-quality report's conflicts."""

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from core.auth import ADMIN, COMMANDER, OPERATOR
from core.extensions import db as _db
from core.timeutil import local_today
from reserve.models import Depot
from reserve.stock.models import StockLot
from reserve.services import depots as depot_service
from reserve.stock import ledger
from reserve.sharing import feeds, quality, services
from reserve.sharing.models import SharingAccess
from reserve.sharing.resources import RESOURCES
from tests import factories

TODAY = local_today()


def token_for(app, email):
    return {
        "Authentication-Token": app.test_cli_runner()
        .invoke(args=["users", "token", email])
        .output.strip()
    }


@pytest.fixture
def world(app, make_agency, make_user):
    root = make_agency("SH-ROOT", kind="provincial_department")
    owner = make_agency("SH-A", parent=root)
    grantee = make_agency("SH-B", parent=root)
    third = make_agency("SH-C", parent=root)
    users = {
        "owner": make_user(OPERATOR, agency=owner),
        "grantee": make_user(OPERATOR, agency=grantee),
        "third": make_user(OPERATOR, agency=third),
        "admin": make_user(ADMIN),
        "commander": make_user(COMMANDER),
    }
    with app.app_context():
        tent = factories.catalog_material("001", "单帐篷")
        internal = factories.depot(owner, "SH-D1", classification="internal")
        secret = factories.depot(owner, "SH-D2", classification="restricted")
        op = factories.user(users["owner"]["id"])
        for depot, lot_no, qty in ((internal, "L1", 100), (secret, "L2", 7)):
            ledger.record_receipt(
                op,
                depot_id=depot.id,
                material_id=tent.id,
                quantity=qty,
                facts=ledger.LotFacts(lot_no=lot_no),
            )
        return {
            "owner": owner,
            "grantee": grantee,
            "third": third,
            "tent": tent.id,
            "internal": internal.id,
            "secret": secret.id,
            "users": users,
            "tokens": {k: token_for(app, v["email"]) for k, v in users.items()},
        }


def feed_all(client, kind, headers, cursor=0, limit=500):
    items = []
    while True:
        page = client.get(
            f"/api/v1/sharing/feeds/{kind}?cursor={cursor}&limit={limit}", headers=headers
        )
        assert page.status_code == 200, page.json
        items += page.json["items"]
        cursor = page.json["next_cursor"]
        if not page.json["has_more"]:
            return items, cursor


def visible_lots(client, headers):
    items, _ = feed_all(client, "stock", headers)
    return {i["id"]: i["record"] for i in items if i["op"] == "upsert"}


def set_attribute(client, world, kind, attribute, **extra):
    return client.put(
        f"/api/v1/sharing/resources/{world['owner']}/{kind}",
        json={"attribute": attribute, **extra},
        headers=world["tokens"]["owner"],
    )


def request_grant(client, world, fields, start=TODAY, end=None, who="grantee"):
    return client.post(
        "/api/v1/sharing/grants",
        headers=world["tokens"][who],
        json={
            "owner_agency_id": world["owner"],
            "kind": "stock",
            "purpose": "汛期联合调度",
            "fields": fields,
            "requested_from": start.isoformat(),
            "requested_to": (end or TODAY + timedelta(days=30)).isoformat(),
        },
    )


def test_unconditional_shares_internal_rows_but_never_restricted_ones(client, world):
    lots = visible_lots(client, world["tokens"]["grantee"])
    assert [r["lot_no"] for r in lots.values()] == ["L1"]
    assert set(lots[next(iter(lots))]) == set(RESOURCES["stock"].field_keys)  # every field
    assert (
        visible_lots(client, world["tokens"]["owner"]).keys()
        == visible_lots(client, world["tokens"]["commander"]).keys()
    )
    assert len(visible_lots(client, world["tokens"]["owner"])) == 2


def test_grant_lifecycle_fields_period_revocation_and_access_log(app, client, world):
    assert set_attribute(client, world, "stock", "conditional").status_code == 200
    assert visible_lots(client, world["tokens"]["grantee"]) == {}  # invisible without a grant
    asked = request_grant(client, world, ["lot_no", "on_hand", "expiry_date", "depot_code"])
    assert asked.status_code == 201 and asked.json["state"] == "pending"
    grant_id = asked.json["id"]
    assert visible_lots(client, world["tokens"]["grantee"]) == {}  # pending is not a grant
    # The third agency cannot see the request, nor decide it; the grantee cannot approve its own.
    assert (
        client.get(
            f"/api/v1/sharing/grants/{grant_id}", headers=world["tokens"]["third"]
        ).status_code
        == 404
    )
    assert (
        client.post(
            f"/api/v1/sharing/grants/{grant_id}/approve",
            json={},
            headers=world["tokens"]["grantee"],
        ).status_code
        == 403
    )
    wider = client.post(
        f"/api/v1/sharing/grants/{grant_id}/approve",
        json={"fields": ["lot_no", "reserved"]},
        headers=world["tokens"]["owner"],
    )
    assert wider.status_code == 422
    approved = client.post(
        f"/api/v1/sharing/grants/{grant_id}/approve",
        headers=world["tokens"]["owner"],
        json={
            "fields": ["lot_no", "on_hand"],
            "valid_from": TODAY.isoformat(),
            "valid_to": (TODAY + timedelta(days=7)).isoformat(),
        },
    )
    assert approved.status_code == 200 and approved.json["state"] == "active"
    lots = visible_lots(client, world["tokens"]["grantee"])
    assert sorted(r["lot_no"] for r in lots.values()) == [
        "L1",
        "L2",
    ]  # restricted too, through the grant
    assert all(
        set(r) == {"id", "lot_no", "on_hand"} for r in lots.values()
    )  # exactly the granted fields
    export = client.get(
        "/api/v1/sharing/exports/stock?format=csv", headers=world["tokens"]["grantee"]
    )
    assert export.status_code == 200 and "L2" in export.text and "SH-D2" not in export.text
    log = client.get("/api/v1/sharing/access-log", headers=world["tokens"]["owner"]).json["items"]
    assert {e["channel"] for e in log} == {"feed", "export"}
    assert all(
        e["grant_id"] == grant_id and e["restricted_rows"] == 1 and e["rows"] == 2 for e in log
    )
    assert all(e["actor"] == world["users"]["grantee"]["email"] and e["request_id"] for e in log)
    assert (
        client.get("/api/v1/sharing/access-log", headers=world["tokens"]["third"]).json["items"]
        == []
    )
    revoked = client.post(
        f"/api/v1/sharing/grants/{grant_id}/revoke",
        json={"reason": "任务结束"},
        headers=world["tokens"]["owner"],
    )
    assert revoked.status_code == 200 and revoked.json["state"] == "revoked"
    assert visible_lots(client, world["tokens"]["grantee"]) == {}  # at once
    assert (
        "L1"
        not in client.get(
            "/api/v1/sharing/exports/stock?format=csv", headers=world["tokens"]["grantee"]
        ).text
    )
    with app.app_context():
        assert (
            len(_db.session.scalars(select(SharingAccess)).all()) == 2
        )  # reads after revocation are none


def test_a_grant_works_only_inside_its_period(app, client, world):
    set_attribute(client, world, "stock", "conditional")
    later = request_grant(
        client, world, ["lot_no"], TODAY + timedelta(days=3), TODAY + timedelta(days=9)
    ).json["id"]
    client.post(
        f"/api/v1/sharing/grants/{later}/approve", json={}, headers=world["tokens"]["owner"]
    )
    assert (
        client.get(f"/api/v1/sharing/grants/{later}", headers=world["tokens"]["grantee"]).json[
            "state"
        ]
        == "scheduled"
    )
    assert visible_lots(client, world["tokens"]["grantee"]) == {}
    with app.app_context():
        from reserve.sharing.models import SharingGrant

        grant = _db.session.get(SharingGrant, later)
        grant.valid_from, grant.valid_to = (
            TODAY - timedelta(days=9),
            TODAY - timedelta(days=1),
        )  # now over
        _db.session.commit()
    assert visible_lots(client, world["tokens"]["grantee"]) == {}


def test_requests_refused_rejected_and_timed_out(app, client, world):
    assert (
        request_grant(client, world, ["lot_no"]).status_code == 409
    )  # unconditional: nothing to ask
    assert (
        set_attribute(client, world, "stock", "not_shared").status_code == 422
    )  # needs a legal reason
    assert (
        set_attribute(
            client, world, "stock", "not_shared", legal_reason="《保守国家秘密法》"
        ).status_code
        == 200
    )
    refused = request_grant(client, world, ["lot_no"])
    assert refused.status_code == 409 and "保守国家秘密法" in refused.json["detail"]
    assert set_attribute(client, world, "stock", "conditional").status_code == 200
    assert request_grant(client, world, ["no_such_field"]).status_code == 422
    assert set_attribute(client, world, "stock", "conditional").status_code == 200
    grant_id = request_grant(client, world, ["lot_no"]).json["id"]
    assert (
        client.post(
            f"/api/v1/sharing/grants/{grant_id}/reject",
            json={"reason": ""},
            headers=world["tokens"]["owner"],
        ).status_code
        == 422
    )
    rejected = client.post(
        f"/api/v1/sharing/grants/{grant_id}/reject",
        json={"reason": "用途不明"},
        headers=world["tokens"]["owner"],
    )
    assert rejected.json["state"] == "rejected" and rejected.json["reason"] == "用途不明"
    late = request_grant(client, world, ["lot_no"]).json["id"]
    with app.app_context():
        from reserve.sharing.models import SharingGrant

        _db.session.get(SharingGrant, late).requested_at -= timedelta(days=20)
        _db.session.commit()
        assert services.time_out_requests(TODAY) == 1
    assert (
        client.post(
            f"/api/v1/sharing/grants/{late}/approve", json={}, headers=world["tokens"]["owner"]
        ).status_code
        == 409
    )


def test_not_shared_suspends_a_grant(client, world):
    set_attribute(client, world, "stock", "conditional")
    grant_id = request_grant(client, world, ["lot_no"]).json["id"]
    client.post(
        f"/api/v1/sharing/grants/{grant_id}/approve", json={}, headers=world["tokens"]["owner"]
    )
    assert len(visible_lots(client, world["tokens"]["grantee"])) == 2
    set_attribute(client, world, "stock", "not_shared", legal_reason="涉密")
    assert visible_lots(client, world["tokens"]["grantee"]) == {}


def test_catalog_lists_resources_with_attribute_and_access(client, world):
    set_attribute(client, world, "stock", "conditional", description="本单位库存批次")
    items = client.get(
        f"/api/v1/sharing/resources?agency_id={world['owner']}", headers=world["tokens"]["grantee"]
    ).json["items"]
    by_kind = {i["kind"]: i for i in items}
    assert (
        by_kind["stock"]["attribute"] == "conditional"
        and by_kind["stock"]["my_access"] == "request"
    )
    assert by_kind["stock"]["records"] == 2 and by_kind["stock"]["restricted_records"] == 1
    assert by_kind["stock"]["description"] == "本单位库存批次" and by_kind["stock"]["last_update"]
    assert by_kind["depots"]["my_access"] == "unconditional" and not by_kind["depots"]["can_edit"]
    assert (
        client.put(
            f"/api/v1/sharing/resources/{world['owner']}/stock",
            json={"attribute": "unconditional"},
            headers=world["tokens"]["grantee"],
        ).status_code
        == 403
    )
    assert (
        client.get("/api/v1/sharing/summary", headers=world["tokens"]["grantee"]).status_code == 403
    )
    summary = client.get("/api/v1/sharing/summary", headers=world["tokens"]["admin"]).json
    assert summary["per_kind"]["stock"]["conditional"] > 0


def test_feed_pages_are_stable_and_carry_closures_and_classification_changes(app, client, world):
    headers = world["tokens"]["grantee"]
    items, cursor = feed_all(client, "depots", headers, limit=1)
    assert [i["record"]["code"] for i in items if i["op"] == "upsert"] == ["SH-D1"]
    seqs = [i["seq"] for i in items]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    with app.app_context():
        op = factories.user(world["users"]["owner"]["id"])
        empty = depot_service.create_depot(op, agency_id=world["owner"], code="SH-D3", name="空库")
        depot_service.close_depot(op, empty.id)
        depot_service.update_depot(op, world["internal"], classification="restricted")
    changed, _ = feed_all(client, "depots", headers, cursor=cursor)
    ops = {(i["id"], i["op"]) for i in changed}
    assert (world["internal"], "delete") in ops  # no longer readable: the follower drops it
    closed = [i for i in changed if i["op"] == "upsert"]
    assert [(i["record"]["code"], i["record"]["status"]) for i in closed] == [("SH-D3", "closed")]
    assert feed_all(client, "depots", headers, cursor=changed[-1]["seq"])[0] == []


def test_export_xlsx_has_the_data_dictionary(client, world):
    from io import BytesIO

    from openpyxl import load_workbook

    response = client.get(
        "/api/v1/sharing/exports/depots?format=xlsx", headers=world["tokens"]["commander"]
    )
    book = load_workbook(BytesIO(response.data), read_only=True)
    assert book.sheetnames == ["depots", "dictionary"]
    keys = [row[0] for row in book["dictionary"].iter_rows(min_row=2, values_only=True)]
    assert keys == RESOURCES["depots"].field_keys
    dictionary = client.get(
        "/api/v1/sharing/dictionary/stock", headers=world["tokens"]["grantee"]
    ).json
    assert [e["key"] for e in dictionary] == RESOURCES["stock"].field_keys
    assert (
        client.get("/api/v1/sharing/feeds/secrets", headers=world["tokens"]["grantee"]).status_code
        == 404
    )


# --- the follower -----------------------------------------------------------------------------

OPS = st.lists(
    st.one_of(
        st.tuples(st.just("depot"), st.sampled_from(["public", "internal", "restricted"])),
        st.tuples(st.just("receive"), st.integers(0, 5), st.integers(1, 50)),
        st.tuples(st.just("issue"), st.integers(0, 9), st.integers(1, 20)),
        st.tuples(
            st.just("classify"),
            st.integers(0, 5),
            st.sampled_from(["public", "internal", "restricted"]),
        ),
        st.tuples(st.just("close"), st.integers(0, 5)),
        st.tuples(st.just("rename"), st.integers(0, 5)),
    ),
    max_size=8,
)


def _apply(op_user, world, ops, serial):
    depots = _db.session.scalars(
        select(Depot).where(Depot.agency_id == world["owner"]).order_by(Depot.id)
    ).all()
    lots = _db.session.scalars(
        select(StockLot).where(StockLot.owner_agency_id == world["owner"]).order_by(StockLot.id)
    ).all()
    for op in ops:
        try:
            if op[0] == "depot":
                serial[0] += 1
                depots.append(
                    depot_service.create_depot(
                        op_user,
                        agency_id=world["owner"],
                        code=f"F-{serial[0]}",
                        name=f"库{serial[0]}",
                        classification=op[1],
                    )
                )
            elif op[0] == "receive" and depots:
                depot = depots[op[1] % len(depots)]
                if depot.status == "active":
                    ledger.record_receipt(
                        op_user,
                        depot_id=depot.id,
                        material_id=world["tent"],
                        quantity=op[2],
                        facts=ledger.LotFacts(lot_no=f"R{op[1]}"),
                    )
            elif op[0] == "issue" and lots:
                ledger.record_issue(op_user, lots[op[1] % len(lots)].id, op[2])
            elif op[0] == "classify" and depots:
                depot_service.update_depot(
                    op_user, depots[op[1] % len(depots)].id, classification=op[2]
                )
            elif op[0] == "close" and depots:
                depot_service.close_depot(op_user, depots[op[1] % len(depots)].id)
            elif op[0] == "rename" and depots:
                depot_service.update_depot(
                    op_user, depots[op[1] % len(depots)].id, name=f"改名{serial[0]}"
                )
        except (
            Exception
        ) as exc:  # refused changes (closing a depot with stock, issuing too much) change nothing
            from core.errors import DomainError

            assert isinstance(exc, DomainError), exc
            _db.session.rollback()
        lots = _db.session.scalars(
            select(StockLot).where(StockLot.owner_agency_id == world["owner"]).order_by(StockLot.id)
        ).all()


def _follow(reader, kind, state: dict, cursor: int) -> int:
    while True:
        page = feeds.read_feed(reader, kind, cursor=cursor, limit=3, today=TODAY)
        for item in page["items"]:
            if item["op"] == "upsert":
                state[item["id"]] = item["record"]
            else:
                state.pop(item["id"], None)
        cursor = page["next_cursor"]
        if not page["has_more"]:
            return cursor


def _source(reader, kind) -> dict:
    header, rows = feeds.export_rows(reader, kind, today=TODAY)
    return {row[0]: {k: v for k, v in zip(header, row) if v is not None} for row in rows}


def _strip(state):
    return {i: {k: v for k, v in r.items() if v is not None} for i, r in state.items()}


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batches=st.lists(OPS, min_size=1, max_size=3))
def test_a_follower_reproduces_the_source_after_random_changes(app, client, world, batches):
    with app.app_context():
        op_user = factories.user(world["users"]["owner"]["id"])
        readers = {
            "commander": factories.user(world["users"]["commander"]["id"]),
            "grantee": factories.user(world["users"]["grantee"]["id"]),
        }
        followers = {(r, k): ({}, 0) for r in readers for k in ("depots", "stock")}
        serial = [_db.session.scalar(select(Depot.id).order_by(Depot.id.desc()).limit(1)) * 100]
        for ops in batches:  # follow incrementally between batches of changes
            _apply(op_user, world, ops, serial)
            for (name, kind), (state, cursor) in followers.items():
                followers[(name, kind)] = (state, _follow(readers[name], kind, state, cursor))
        for (name, kind), (state, _) in followers.items():
            assert _strip(state) == _source(readers[name], kind), (name, kind)
            fresh = {}
            _follow(readers[name], kind, fresh, 0)
            assert _strip(fresh) == _strip(state)
        everything = {
            d.id: RESOURCES["depots"].serialize(d) for d in _db.session.scalars(select(Depot))
        }
        assert _strip(followers[("commander", "depots")][0]) == _strip(everything)


# --- external clients ---------------------------------------------------------------------------


def register(client, world, **body):
    response = client.post("/api/v1/sharing/clients", headers=world["tokens"]["admin"], json=body)
    assert response.status_code == 201, response.json
    return response.json


def test_client_tokens_rotate_and_revoke_at_once(client, world):
    assert (
        client.post(
            "/api/v1/sharing/clients",
            headers=world["tokens"]["owner"],
            json={"name": "x", "scopes": []},
        ).status_code
        == 403
    )
    made = register(
        client, world, name="市应急局系统", agency_id=world["grantee"], scopes=["read:stock"]
    )
    old = {"Authentication-Token": made["token"]}
    assert client.get("/api/v1/sharing/feeds/stock", headers=old).status_code == 200
    rotated = client.post(
        f"/api/v1/sharing/clients/{made['client']['id']}/rotate", headers=world["tokens"]["admin"]
    )
    new = {"Authentication-Token": rotated.json["token"]}
    assert rotated.json["client"]["token_count"] == 2
    assert client.get("/api/v1/sharing/feeds/stock", headers=old).status_code == 401
    assert client.get("/api/v1/sharing/feeds/stock", headers=new).status_code == 200
    revoked = client.post(
        f"/api/v1/sharing/clients/{made['client']['id']}/revoke",
        json={"reason": "系统下线"},
        headers=world["tokens"]["admin"],
    )
    assert revoked.json["active"] is False
    assert client.get("/api/v1/sharing/feeds/stock", headers=new).status_code == 401
    assert (
        client.post(
            f"/api/v1/sharing/clients/{made['client']['id']}/rotate",
            headers=world["tokens"]["admin"],
        ).status_code
        == 409
    )


def test_client_scopes_and_rate_limit(client, world):
    made = register(
        client,
        world,
        name="只读系统",
        agency_id=world["grantee"],
        scopes=["read:depots"],
        rate_limit="5 per minute",
    )
    headers = {"Authentication-Token": made["token"]}
    assert client.get("/api/v1/sharing/feeds/depots", headers=headers).status_code == 200
    refused = client.get("/api/v1/sharing/feeds/stock", headers=headers)
    assert refused.status_code == 403 and "read:stock" in refused.json["detail"]
    assert client.post("/api/v1/submissions/push", headers=headers, json={}).status_code == 403
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    limited = client.get("/api/v1/me", headers=headers)  # the sixth call within the minute
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    bad = client.post(
        "/api/v1/sharing/clients",
        headers=world["tokens"]["admin"],
        json={"name": "坏", "scopes": ["read:everything"], "rate_limit": "lots"},
    )
    assert bad.status_code == 422


def test_a_client_bound_to_grants_only_sees_its_grants(client, world):
    made = register(client, world, name="省级交换平台", scopes=["read:stock"])
    headers = {"Authentication-Token": made["token"]}
    assert client.get("/api/v1/sharing/feeds/stock", headers=headers).json["items"] == []
    set_attribute(client, world, "stock", "conditional")
    asked = client.post(
        "/api/v1/sharing/grants",
        headers=headers,
        json={
            "owner_agency_id": world["owner"],
            "kind": "stock",
            "purpose": "数据交换",
            "fields": ["lot_no"],
            "requested_from": TODAY.isoformat(),
            "requested_to": (TODAY + timedelta(days=5)).isoformat(),
        },
    )
    assert asked.status_code == 201 and asked.json["grantee_client_id"] == made["client"]["id"]
    client.post(
        f"/api/v1/sharing/grants/{asked.json['id']}/approve",
        json={},
        headers=world["tokens"]["owner"],
    )
    items = client.get("/api/v1/sharing/feeds/stock", headers=headers).json["items"]
    assert sorted(i["record"]["lot_no"] for i in items) == ["L1", "L2"]
    log = client.get("/api/v1/sharing/access-log", headers=world["tokens"]["owner"]).json["items"]
    assert log[0]["client_id"] == made["client"]["id"]


def test_openapi_describes_the_client_security_scheme(client):
    spec = client.get("/api/openapi.json").json
    assert "externalClient" in spec["components"]["securitySchemes"]
    assert spec["paths"]["/api/v1/sharing/feeds/{kind}"]["get"]["x-client-scope"] == "read:{kind}"


# --- data quality -------------------------------------------------------------------------------


def test_quality_report_finds_conflicts_with_links(app, client, world):
    with app.app_context():
        _db.session.get(Depot, world["internal"]).name = "太原市救灾物资库"
        other = factories.depot(world["grantee"], "SH-B2")
        other.name = "太原市 救灾物资库"
        tent2 = factories.catalog_material("002", "单帐篷", weight_kg=30)
        tent2.unit = "套"
        _db.session.commit()
        grantee = factories.user(world["users"]["grantee"]["id"])
        ledger.record_receipt(
            grantee,
            depot_id=other.id,
            material_id=world["tent"],
            quantity=5,
            facts=ledger.LotFacts(lot_no="L1"),
        )
        ledger.record_receipt(
            grantee,
            depot_id=other.id,
            material_id=tent2.id,
            quantity=5,
            facts=ledger.LotFacts(lot_no="X"),
        )
    report = client.get("/api/v1/sharing/quality", headers=world["tokens"]["commander"]).json
    checks = {(i["check"], i["agency_id"]) for i in report["issues"]}
    for agency in ("owner", "grantee"):
        assert ("duplicate_depot", world[agency]) in checks
        assert ("duplicate_lot", world[agency]) in checks
    assert ("unit_conflict", world["grantee"]) in checks
    depot_issue = next(i for i in report["issues"] if i["check"] == "duplicate_depot")
    assert depot_issue["url"].startswith("/depots/")
    assert any(i["check"] == "depot_fields" for i in report["issues"])
    by_agency = {a["agency_id"]: a for a in report["agencies"]}
    assert by_agency[world["owner"]]["conflicts"] >= 2 and report["overall"]["score"] is not None
    mine = client.get("/api/v1/sharing/quality", headers=world["tokens"]["third"]).json
    assert {a["agency_id"] for a in mine["agencies"]} == {world["third"]}


def test_a_report_that_moves_a_total_too_far_is_a_conflict(app, world):
    from reserve.reporting import services as reporting

    with app.app_context():
        op = factories.user(world["users"]["owner"]["id"])
        data = "depot_code,material_code,lot_no,quantity\nSH-D1,1010101001,L1,400\n".encode()
        submission = reporting.submit_file(
            op,
            agency_id=world["owner"],
            kind="stock",
            mode="incremental",
            filename="r.csv",
            data=data,
        )
        reporting.confirm_submission(op, submission.id, fingerprint=submission.fingerprint)
        result = quality.report(factories.user(world["users"]["commander"]["id"]), TODAY)
        jumps = [i for i in result.issues if i.check == "total_jump"]
        assert [(i.record_id, i.agency_id) for i in jumps] == [(submission.id, world["owner"])]
        assert jumps[0].detail.startswith(
            "107 → 407"
        )  # both lots of the material count, restricted too


# --- pages --------------------------------------------------------------------------------------


def test_pages_render_for_owner_grantee_and_admin(app, client, world):
    from tests.conftest import csrf_token, log_in

    log_in(client, world["users"]["owner"]["email"])
    page = client.get("/sharing")
    assert page.status_code == 200 and "资源目录" in page.text and "SH-A" in page.text
    saved = client.post(
        f"/sharing/resources/{world['owner']}/stock",
        data={"attribute": "conditional", "csrf_token": csrf_token(page.text)},
    )
    assert saved.status_code == 303
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/sharing").text)})
    log_in(client, world["users"]["grantee"]["email"])
    form = client.get(f"/sharing/request/{world['owner']}/stock")
    assert form.status_code == 200
    sent = client.post(
        f"/sharing/request/{world['owner']}/stock",
        data={
            "csrf_token": csrf_token(form.text),
            "purpose": "防汛",
            "fields": ["lot_no", "on_hand"],
            "requested_from": TODAY.isoformat(),
            "requested_to": (TODAY + timedelta(days=9)).isoformat(),
        },
    )
    assert sent.status_code == 303
    bad = client.post(
        f"/sharing/request/{world['owner']}/stock",
        data={
            "csrf_token": csrf_token(form.text),
            "purpose": "",
            "fields": [],
            "requested_from": "x",
            "requested_to": "",
        },
    )
    assert bad.status_code == 200 and "flash-error" in bad.text
    assert "防汛" in client.get("/sharing/grants?direction=outgoing").text
    for url in (
        "/sharing/quality",
        "/sharing/quality?format=csv",
        "/sharing/access-log",
        "/reporting/scoreboard",
    ):
        assert client.get(url).status_code == 200, url
    assert client.get("/sharing/clients").status_code == 303  # administrators only
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/sharing").text)})
    log_in(client, world["users"]["admin"]["email"])
    page = client.get("/sharing/clients")
    registered = client.post(
        "/sharing/clients",
        data={
            "csrf_token": csrf_token(page.text),
            "action": "register",
            "name": "页面系统",
            "scopes": ["read:stock"],
            "rate_limit": "10 per minute",
            "agency_id": str(world["grantee"]),
        },
    )
    assert registered.status_code == 200 and 'id="new-token"' in registered.text
    assert "按类别统计共享" in client.get("/sharing").text or "共享" in client.get("/sharing").text


def test_backfill_gives_each_record_without_a_change_row_one_and_runs_twice(app, world):
    from reserve.sharing.changes import backfill
    from reserve.sharing.models import SharedChange

    with app.app_context():
        lots = dict(_db.session.execute(select(StockLot.id, StockLot.classification)).all())
        kept = _db.session.execute(
            select(SharedChange.seq).where(
                SharedChange.kind == "stock", SharedChange.record_id == min(lots)
            )
        ).scalar_one()
        _db.session.execute(
            SharedChange.__table__.delete().where(
                SharedChange.kind == "stock", SharedChange.record_id != min(lots)
            )
        )
        _db.session.commit()
        assert backfill(["stock"]) == len(lots) - 1
        rows = _db.session.execute(
            select(
                SharedChange.record_id,
                SharedChange.seq,
                SharedChange.agency_id,
                SharedChange.classification,
                SharedChange.deleted,
            ).where(SharedChange.kind == "stock")
        ).all()
        assert {r.record_id: r.classification for r in rows} == lots
        assert {r.agency_id for r in rows} == {world["owner"]} and not any(r.deleted for r in rows)
        assert (
            next(r.seq for r in rows if r.record_id == min(lots)) == kept
        )  # an existing row stays as it was
        assert backfill() == 0
