"""The audit log records every state change and its hash chain exposes tampering."""

import pytest
from sqlalchemy import delete, select, update

from core.audit import GENESIS, AuditLog, verify_chain
from core.auth import ADMIN
from core.extensions import db as _db


@pytest.fixture
def admin(app, make_user):
    user = make_user(ADMIN)
    token = app.test_cli_runner().invoke(args=["users", "token", user["email"]]).output.strip()
    return {**user, "headers": {"Authentication-Token": token, "X-Request-ID": "req-audit-1"}}


def _entries(app, entity):
    with app.app_context():
        return (
            _db.session.execute(
                select(AuditLog).where(AuditLog.entity == entity).order_by(AuditLog.id)
            )
            .scalars()
            .all()
        )


def test_api_change_is_logged_with_who_what_when_where(app, client, admin):
    response = client.post(
        "/api/v1/agencies",
        json={"code": "AU-1", "name": "审计单位", "kind": "city"},
        headers=admin["headers"],
        environ_base={"REMOTE_ADDR": "10.1.2.3"},
    )
    assert response.status_code == 201
    entry = [e for e in _entries(app, "agency") if e.entity_id == str(response.json["id"])][0]
    assert entry.action == "create"
    assert entry.after["code"] == "AU-1" and entry.before is None
    assert (entry.user_id, entry.actor) == (admin["id"], admin["email"])
    assert (entry.ip, entry.request_id) == ("10.1.2.3", "req-audit-1")
    assert entry.at is not None


def test_updates_record_before_and_after_of_changed_fields(app, make_agency):
    agency_id = make_agency("AU-2", name="旧名")
    with app.app_context():
        from core.organisation import Agency

        _db.session.get(Agency, agency_id).name = "新名"
        _db.session.commit()
    update_entry = [
        e for e in _entries(app, "agency") if e.action == "update" and e.entity_id == str(agency_id)
    ][-1]
    assert update_entry.before == {"name": "旧名"} and update_entry.after == {"name": "新名"}


def test_role_grants_are_logged_and_secrets_are_not(app, make_user):
    user = make_user(ADMIN)
    entry = [
        e for e in _entries(app, "user") if e.entity_id == str(user["id"]) and e.action == "create"
    ][0]
    assert entry.after["roles"] == [ADMIN]
    assert "password" not in entry.after and "fs_uniquifier" not in entry.after


def test_chain_verifies_and_cli_says_so(app, make_agency):
    make_agency("AU-3")
    with app.app_context():
        report = verify_chain()
    assert report.ok and report.rows > 0
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and "intact" in result.output


def _tamper(app, statement):
    with app.app_context():
        _db.session.execute(statement)
        _db.session.commit()


def test_edited_row_is_named_by_verify(app, make_agency):
    for code in ("AU-4", "AU-5", "AU-6"):
        make_agency(code)
    victim = _entries(app, "agency")[1]
    _tamper(
        app, update(AuditLog.__table__).where(AuditLog.id == victim.id).values(actor="someone else")
    )
    with app.app_context():
        report = verify_chain()
    assert report.broken_id == victim.id and "edited" in report.reason
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and f"row id {victim.id}" in result.output


def test_deleted_row_breaks_the_chain_at_its_successor(app, make_agency):
    for code in ("AU-7", "AU-8", "AU-9"):
        make_agency(code)
    entries = _entries(app, "agency")
    _tamper(app, delete(AuditLog.__table__).where(AuditLog.id == entries[1].id))
    with app.app_context():
        report = verify_chain()
    assert report.broken_id == entries[2].id and "removed" in report.reason


def test_orm_refuses_to_edit_or_delete_audit_rows(app, make_agency):
    make_agency("AU-10")
    with app.app_context():
        entry = _db.session.execute(select(AuditLog).limit(1)).scalar_one()
        entry.actor = "forged"
        with pytest.raises(RuntimeError, match="append-only"):
            _db.session.commit()
        _db.session.rollback()


def test_first_row_links_to_genesis(app, make_agency):
    make_agency("AU-11")
    with app.app_context():
        first = _db.session.execute(select(AuditLog).order_by(AuditLog.id).limit(1)).scalar_one()
    assert first.prev_hash == GENESIS


def test_a_login_is_recorded_as_the_users_own_change(app, client, make_user):
    from tests.conftest import log_in

    user = make_user(ADMIN)
    log_in(client, user["email"])
    entry = [
        e for e in _entries(app, "user") if e.entity_id == str(user["id"]) and e.action == "update"
    ][-1]
    assert entry.actor == user["email"] and entry.user_id == user["id"]
    assert entry.after["login_count"] == 1


def test_the_audit_page_names_records_and_what_they_refer_to(app, client, make_agency, make_user):
    """A lot by its number and material, a movement by its lot and kind, a region code by the
    region's name, the acting user by display name (a join on the tables' foreign keys, on both
    databases)."""
    from reserve.services.reference import load_regions
    from reserve.stock import ledger
    from reserve.stock.ledger import LotFacts
    from tests import factories
    from tests.conftest import log_in
    from tests.test_page_language import visible_text

    agency = make_agency("AU-NAMES")
    admin = make_user(ADMIN)
    with app.app_context():
        load_regions()
        depot = factories.depot(agency, "AU-D1", "140105")
        tent = factories.catalog_material("001", "单帐篷")
        _db.session.commit()
        ledger.record_receipt(
            factories.user(admin["id"]),
            depot_id=depot.id,
            material_id=tent.id,
            quantity=10,
            facts=LotFacts("AU-LOT-1"),
        )
    log_in(client, admin["email"])
    lots = visible_text(client.get("/admin/audit?entity=stock_lot").text)
    assert "批次 AU-LOT-1 · 单帐篷" in lots
    movements = visible_text(client.get("/admin/audit?entity=movement").text)
    assert "库存变动 AU-LOT-1 · 入库" in movements and "类型：入库" in movements
    depots = visible_text(client.get("/admin/audit?entity=depot").text)
    assert "行政区划：小店区" in depots and "140105" not in depots


@pytest.mark.parametrize(
    "actor, shown",
    [
        ("cli:demo init", ("命令行", "flask demo init")),
        ("scheduler:warnings-scan", ("定时任务：预警扫描", None)),
        ("worker:plan#7", ("后台任务", None)),
        ("anonymous", ("访客（未登录）", None)),
        ("system", ("系统", None)),
    ],
)
def test_who_acted_is_said_in_words(app, actor, shown):
    from types import SimpleNamespace

    from core.audit_reading import actor_label

    with app.test_request_context():
        assert actor_label(SimpleNamespace(actor=actor, user_id=None), None) == shown
