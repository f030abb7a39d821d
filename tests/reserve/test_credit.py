"""Credit lists (issue 19 part 2): the pure rules, import with row errors, a partner's push
through the sharing framework, history and provenance, expiry and an end by reversal, the
shared kind's feed, the pages."""

import io
from datetime import date, timedelta

import pytest
from openpyxl import Workbook
from stdnum.cn.uscc import calc_check_digit

from core.auth import ADMIN, AGENCY_ADMIN, COMMANDER, OPERATOR
from core.extensions import db as _db
from core.timeutil import local_today
from reserve.credit import checks, rules, services
from reserve.credit.models import CreditEntry
from reserve.sharing import clients as sharing_clients
from tests import factories
from tests.conftest import csrf_token, log_in

TODAY = date(2026, 12, 6)


def code(body: str) -> str:
    """A credit code with a valid GB 32100 check digit."""
    return body + calc_check_digit(body)


LISTED = code("91140100MA0K12345")  # valid check digit, and listed below
CLEAN = code("91140100MA0K54321")
HUAWEI = "914403001922038216"  # a real code, as published


def row(**overrides) -> dict:
    base = {
        "credit_code": LISTED,
        "name": "山西某某物资有限公司",
        "list": "失信",
        "reason": "拒不履行法院判决",
        "authority": "太原市中级人民法院",
        "start_date": "2026-01-01",
        "end_date": "2027-12-31",
        "source_document": "（2026）晋01执88号",
    }
    return base | overrides


# --- pure rules -------------------------------------------------------------------------------


def test_an_entry_is_in_force_from_its_start_to_its_end_date_both_included():
    start, end = date(2026, 1, 1), date(2026, 6, 30)
    assert not rules.is_in_force("active", start, end, date(2025, 12, 31))
    assert rules.is_in_force("active", start, end, start)
    assert rules.is_in_force("active", start, end, end)
    assert not rules.is_in_force("active", start, end, end + timedelta(days=1))
    assert rules.is_in_force("active", start, None, date(2099, 1, 1))
    assert not rules.is_in_force("ended", start, None, date(2026, 3, 1))
    assert rules.status_on("active", start, end, end + timedelta(days=1)) == "expired"
    assert rules.status_on("active", start, end, date(2025, 1, 1)) == "not_yet"


def test_only_the_dishonest_list_restricts():
    assert rules.restricts(rules.DISHONEST) and not rules.restricts(rules.RED)


def test_a_row_is_normalised_and_checked_with_every_problem_at_once():
    ok = rules.check_row(
        row(credit_code=" " + LISTED.lower()[:9] + " " + LISTED[9:], list="红名单")
    )
    assert ok.problems == {}
    assert ok.values["credit_code"] == LISTED and ok.values["list"] == "red"
    assert ok.values["start_date"] == date(2026, 1, 1)
    bad = rules.check_row(
        row(
            credit_code=LISTED[:-1] + ("0" if LISTED[-1] != "0" else "1"),
            list="黑名单",
            start_date="2026-13-01",
            end_date="",
            authority="",
        )
    )
    assert set(bad.problems) == {"credit_code", "list", "start_date", "authority"}
    assert "check digit" in bad.problems["credit_code"][0]
    backwards = rules.check_row(row(start_date="2026-05-01", end_date="2026-04-30"))
    assert set(backwards.problems) == {"end_date"}
    assert rules.check_row(row(reason="x" * 501)).problems == {"reason": ["too long"]}


def test_headings_are_read_in_chinese_or_english():
    assert rules.header_keys(["统一社会信用代码", "name", "名单", "备注"]) == [
        "credit_code",
        "name",
        "list",
        None,
    ]


# --- recording, history, expiry ----------------------------------------------------------------


def _admin(app, make_user):
    return factories.user(make_user(ADMIN)["id"])


def test_import_records_every_row_with_its_provenance_and_a_listed_code_restricts(
    app, db, make_user
):
    with app.app_context():
        admin = _admin(app, make_user)
        data = _csv([row(), row(credit_code=HUAWEI, name="华为技术有限公司", list="红名单")])
        recorded = services.import_file(admin, "名单.csv", data)
        assert (recorded.created, recorded.updated, recorded.unchanged) == (2, 0, 0)
        entry = _db.session.scalar(_db.select(CreditEntry).filter_by(credit_code=LISTED))
        assert (entry.origin, entry.origin_ref, entry.recorded_by_id) == (
            "import",
            "名单.csv",
            admin.id,
        )
        assert [c.action for c in entry.changes] == ["created"]
        assert checks.restriction(LISTED, TODAY).id == entry.id
        assert checks.restriction(CLEAN, TODAY) is None
        assert checks.restriction(HUAWEI, TODAY) is None  # red: a mark, no restriction
        assert checks.red_listed([HUAWEI, LISTED], TODAY) == {HUAWEI}
        words = checks.describe(entry)
        assert "太原市中级人民法院" in words and "拒不履行法院判决" in words and "失信" in words


def test_a_listing_that_ends_no_longer_restricts(app, db, make_user):
    with app.app_context():
        services.record_entries(
            [row(start_date="2026-01-01", end_date="2026-06-30")],
            origin="import",
            origin_ref="t.csv",
            by_id=None,
        )
        assert checks.restriction(LISTED, date(2026, 6, 30)) is not None
        assert checks.restriction(LISTED, date(2026, 7, 1)) is None  # its end date has passed
        admin = _admin(app, make_user)
        expired = services.EntryFilter(status="expired")
        assert services.count_entries(admin, expired, date(2026, 7, 1)) == 1
        assert (
            services.count_entries(admin, services.EntryFilter(status="in_force"), date(2026, 7, 1))
            == 0
        )


def test_a_changed_row_keeps_the_earlier_values_in_the_history(app, db, make_user):
    with app.app_context():
        services.record_entries([row()], origin="import", origin_ref="a.csv", by_id=None)
        again = services.record_entries(
            [row(end_date="2026-03-31", reason="已部分履行")],
            origin="push",
            origin_ref="合作方：省信用平台",
            by_id=None,
        )
        assert (again.created, again.updated) == (0, 1)
        same = services.record_entries(
            [row(end_date="2026-03-31", reason="已部分履行")],
            origin="import",
            origin_ref="b.csv",
            by_id=None,
        )
        assert same.unchanged == 1
        entry = _db.session.scalar(_db.select(CreditEntry))
        assert entry.end_date == date(2026, 3, 31) and entry.origin_ref == "a.csv"
        update = entry.changes[-1]
        assert update.action == "updated" and update.origin == "push"
        assert update.fields["end_date"] == ["2027-12-31", "2026-03-31"]
        assert update.fields["reason"] == ["拒不履行法院判决", "已部分履行"]


def test_an_end_by_reversal_keeps_the_entry_and_needs_a_reason(app, db, make_user):
    with app.app_context():
        admin = _admin(app, make_user)
        services.record_entries([row()], origin="import", origin_ref="a.csv", by_id=None)
        entry = _db.session.scalar(_db.select(CreditEntry))
        with pytest.raises(Exception) as refused:
            services.end_entry(admin, entry.id, "  ")
        assert refused.value.status == 422
        services.end_entry(admin, entry.id, "法院裁定终结执行")
        assert checks.restriction(LISTED, TODAY) is None
        assert [c.action for c in entry.changes] == ["created", "ended"]
        assert entry.changes[-1].reason == "法院裁定终结执行"
        commander = factories.user(make_user(COMMANDER)["id"])
        with pytest.raises(Exception) as not_allowed:
            services.end_entry(commander, entry.id, "x")
        assert not_allowed.value.status == 403


def _csv(rows: list[dict]) -> bytes:
    keys = list(rules.COLUMNS)
    lines = [",".join(rules.COLUMNS[k] for k in keys)]
    lines += [",".join(str(r.get(k) or "") for k in keys) for r in rows]
    return ("\ufeff" + "\n".join(lines) + "\n").encode("utf-8")


def _xlsx(rows: list[dict]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(list(rules.COLUMNS))  # English headings
    for r in rows:
        sheet.append(
            [
                date.fromisoformat(r[k]) if k.endswith("_date") and r.get(k) else r.get(k)
                for k in rules.COLUMNS
            ]
        )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _import_page(client, data: bytes, name: str):
    page = client.get("/credit")
    return client.post(
        "/credit/import",
        data={"file": (io.BytesIO(data), name), "csrf_token": csrf_token(page.text)},
        content_type="multipart/form-data",
    )


def test_the_page_imports_an_xlsx_and_shows_row_errors_in_chinese_recording_nothing(
    app, db, client, make_user
):
    admin = make_user(ADMIN)
    log_in(client, admin["email"])
    bad = [
        row(),
        row(credit_code=CLEAN[:-1] + "0" if CLEAN[-1] != "0" else CLEAN[:-1] + "1"),
        row(list="灰名单", credit_code=CLEAN),
    ]
    answer = _import_page(client, _xlsx(bad), "名单.xlsx")
    assert answer.status_code == 422
    assert "2 行有错误" in answer.text and "校验码" in answer.text and "名单" in answer.text
    assert "<td>3</td>" in answer.text and "<td>4</td>" in answer.text  # spreadsheet row numbers
    with app.app_context():
        assert _db.session.scalar(_db.select(_db.func.count(CreditEntry.id))) == 0
    done = _import_page(client, _xlsx([row(), row(credit_code=CLEAN, list="red")]), "名单.xlsx")
    assert done.status_code == 303
    listed = client.get("/credit?list=dishonest&status=in_force")
    assert (
        "山西某某物资有限公司" in listed.text and LISTED in listed.text and CLEAN not in listed.text
    )
    with app.app_context():
        entry_id = _db.session.scalar(_db.select(CreditEntry.id).filter_by(credit_code=LISTED))
    detail = client.get(f"/credit/{entry_id}")
    assert (
        "太原市中级人民法院" in detail.text
        and "名单.xlsx" in detail.text
        and "首次登记" in detail.text
    )
    end = client.post(
        f"/credit/{entry_id}/end",
        data={"reason": "撤销认定", "csrf_token": csrf_token(detail.text)},
    )
    assert end.status_code == 303
    assert "撤销认定" in client.get(f"/credit/{entry_id}").text
    exported = client.get("/api/v1/sharing/exports/credit?format=csv")
    assert exported.status_code == 200 and LISTED in exported.get_data(as_text=True)


def test_a_hostile_file_is_refused_by_the_hardened_reader(app, db, client, make_user):
    log_in(client, make_user(ADMIN)["email"])
    answer = _import_page(client, b"PK\x03\x04not a zip", "x.xlsx")
    assert answer.status_code == 400
    missing = _import_page(client, "名称,名单\n甲,失信\n".encode(), "x.csv")
    assert missing.status_code == 422 and "统一社会信用代码" in missing.text


@pytest.mark.parametrize(
    "role, lists, hits", [(OPERATOR, 200, 403), (COMMANDER, 200, 200), (AGENCY_ADMIN, 403, 403)]
)
def test_the_registry_reads_the_lists_and_command_staff_the_hits(
    app, db, client, make_user, make_agency, role, lists, hits
):
    agency = make_agency("CR-A")
    log_in(client, make_user(role, agency=agency)["email"])
    assert client.get("/credit").status_code == lists
    assert client.get("/api/v1/credit/entries").status_code == lists
    assert client.get("/api/v1/credit/hits").status_code == hits


# --- the partner's push and the shared kind ----------------------------------------------------


def _partner(app, make_user, scopes, agency_id=None):
    admin = _admin(app, make_user)
    _client, token = sharing_clients.register_client(
        admin, name="省信用信息共享平台" + "-".join(scopes), agency_id=agency_id, scopes=scopes
    )
    return token


def test_a_partner_pushes_entries_with_its_scope_and_they_come_out_of_the_feed(
    app, db, client, make_user, make_agency
):
    province = make_agency("CR-PROV", name="山西省应急管理厅", kind="province")  # holds the lists
    city = make_agency("CR-CITY", name="太原市应急管理局", parent=province)
    with app.app_context():
        pusher = _partner(app, make_user, ["push:credit"])
        # a city's system reads the province's lists (unconditional sharing)
        reader = _partner(app, make_user, ["read:credit", "read:stock"], agency_id=city)
        nobody = _partner(app, make_user, ["read:stock"])
    body = {"entries": [row(), row(credit_code=HUAWEI, list="red", end_date=None)]}
    refused = client.post(
        "/api/v1/credit/entries/push", json=body, headers={"Authentication-Token": nobody}
    )
    assert refused.status_code == 403
    pushed = client.post(
        "/api/v1/credit/entries/push", json=body, headers={"Authentication-Token": pusher}
    )
    assert pushed.status_code == 200, pushed.text
    assert pushed.json == {"created": 2, "updated": 0, "unchanged": 0}
    bad = client.post(
        "/api/v1/credit/entries/push",
        json={"entries": [row(credit_code=CLEAN), row(credit_code="91140100MA0K1234X0")]},
        headers={"Authentication-Token": pusher},
    )
    assert bad.status_code == 422
    assert bad.json["errors"]["rows"][0]["row"] == 2 and "校验码" in str(bad.json["errors"])
    too_many = client.post(
        "/api/v1/credit/entries/push",
        json={"entries": [row()] * (rules.MAX_PUSH + 1)},
        headers={"Authentication-Token": pusher},
    )
    assert too_many.status_code == 422
    # a pushing partner reads nothing else
    assert (
        client.get("/api/v1/credit/entries", headers={"Authentication-Token": pusher}).status_code
        == 403
    )
    with app.app_context():
        entry = _db.session.scalar(_db.select(CreditEntry).filter_by(credit_code=LISTED))
        assert entry.origin == "push" and entry.origin_ref == "省信用信息共享平台push:credit"
        assert _db.session.scalar(_db.select(_db.func.count(CreditEntry.id))) == 2
    feed = client.get(
        "/api/v1/sharing/feeds/credit?cursor=0", headers={"Authentication-Token": reader}
    )
    assert feed.status_code == 200, feed.text
    codes = {item["record"]["credit_code"] for item in feed.json["items"] if item["op"] == "upsert"}
    assert codes == {LISTED, HUAWEI}
    assert (
        client.get(
            "/api/v1/sharing/feeds/credit?cursor=0", headers={"Authentication-Token": nobody}
        ).status_code
        == 403
    )


def test_the_check_api_answers_for_one_code(app, db, client, make_user):
    with app.app_context():
        services.record_entries([row()], origin="import", origin_ref="a.csv", by_id=None)
    commander = make_user(COMMANDER)
    log_in(client, commander["email"])
    answer = client.get(f"/api/v1/credit/check?code={LISTED.lower()}")
    assert answer.status_code == 200
    assert (
        answer.json["restricted"] is True
        and answer.json["entries"][0]["authority"] == "太原市中级人民法院"
    )
    later = client.get(f"/api/v1/credit/check?code={LISTED}&on=2028-01-01")
    assert later.json["restricted"] is False
    assert local_today()  # the clock the pages use
