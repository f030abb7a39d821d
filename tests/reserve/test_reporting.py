"""Submissions end to end on SQLite and PostgreSQL: templates round-trip, full vs incremental,
idempotency, atomicity, stale previews, reverting, scoping, and the API and pages."""

import csv
import io
import json

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from core.auth import ADMIN, COMMANDER, OPERATOR, VIEWER
from core.errors import Conflict, NotAllowed
from core.extensions import db as _db
from core.timeutil import local_today
from reserve.models import Depot, EmergencyPlan, MaterialAlias, TransportCapacity
from reserve.stock.models import Movement, StockLot
from reserve.reporting import services
from reserve.reporting.models import Submission
from reserve.reporting.services import SubmissionInvalid
from reserve.reporting.standard import KINDS
from reserve.stock import queries as stock
from reserve.stock import ledger
from reserve.services.reference import load_regions
from reserve.sharing.models import SharedChange
from tests import factories
from tests.conftest import csrf_token


@pytest.fixture
def world(app, make_agency, make_user):
    mine = make_agency("RP-MINE", kind="city")
    other = make_agency("RP-OTHER", kind="city")
    operator = make_user(OPERATOR, agency=mine)
    admin, commander = make_user(ADMIN)["id"], make_user(COMMANDER)["id"]
    with app.app_context():
        load_regions()
        tent = factories.catalog_material("001", "单帐篷")
        quilt = factories.catalog_material("002", "棉被", weight_kg=3)
        depot = factories.depot(mine, "RP-D1", "140105")
        depot2 = factories.depot(mine, "RP-D2", "140106")
        factories.depot(other, "RP-X1", "140105")
        _db.session.add(MaterialAlias(agency_id=mine, alias="救灾帐篷", material_id=tent.id))
        _db.session.commit()
        return {
            "agency": mine,
            "other": other,
            "operator": operator["id"],
            "tent": tent.id,
            "quilt": quilt.id,
            "depot": depot.id,
            "depot2": depot2.id,
            "admin": admin,
            "commander": commander,
        }


HEADER = [
    "depot_code",
    "material_code",
    "material_name",
    "lot_no",
    "quantity",
    "expiry_date",
    "production_date",
]


def stock_csv(rows, header=HEADER) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def submit(world, data, mode="incremental", kind="stock", filename="report.csv", user=None):
    return services.submit_file(
        factories.user(user or world["operator"]),
        agency_id=world["agency"],
        kind=kind,
        mode=mode,
        filename=filename,
        data=data,
    )


def apply(world, data, **kwargs):
    submission = submit(world, data, **kwargs)
    return services.confirm_submission(
        factories.user(world["operator"]), submission.id, fingerprint=submission.fingerprint
    )


def on_hand(depot_id, lot_no):
    _db.session.expire_all()
    return _db.session.scalar(select(StockLot.on_hand).filter_by(depot_id=depot_id, lot_no=lot_no))


def movement_count():
    return _db.session.scalar(select(func.count()).select_from(Movement))


def assert_ledger_consistent():
    for lot in _db.session.execute(select(StockLot)).scalars():
        total = _db.session.scalar(
            select(func.coalesce(func.sum(Movement.on_hand_delta), 0)).where(
                Movement.lot_id == lot.id
            )
        )
        assert total == lot.on_hand, lot.lot_no


def assert_rollups_match(world):
    commander = factories.user(world["commander"])
    for group in ("agency", "region", "material"):
        live = stock.stock_totals(
            commander, stock.StockFilter(), group, local_today(), use_rollup=False
        )
        kept = stock.stock_totals(
            commander, stock.StockFilter(), group, local_today(), use_rollup=True
        )
        assert live == kept, group


def test_a_valid_report_is_previewed_and_applied_only_on_confirm(app, world):
    with app.app_context():
        data = stock_csv(
            [
                ["RP-D1", "1010101001", "", "L1", "100", "2027-06-30", "2026-01-01"],
                ["RP-D2", "", "救灾帐篷", "L2", "5", "", ""],
                ["RP-D1", "", "棉被", "Q1", "40", "", ""],
            ]
        )
        submission = submit(world, data)
        assert submission.status == "ready"
        assert submission.preview["counts"] == {"new": 3, "changed": 0, "closed": 0, "unchanged": 0}
        assert {g["group"]: g["new"] for g in submission.preview["groups"]} == {
            "RP-D1": 2,
            "RP-D2": 1,
        }
        assert on_hand(world["depot"], "L1") is None  # nothing applied yet
        services.confirm_submission(
            factories.user(world["operator"]), submission.id, fingerprint=submission.fingerprint
        )
        assert (
            on_hand(world["depot"], "L1"),
            on_hand(world["depot2"], "L2"),
            on_hand(world["depot"], "Q1"),
        ) == (100, 5, 40)
        refs = set(_db.session.scalars(select(Movement.reference)))
        assert refs == {f"SUB-{submission.id}"}
        assert_ledger_consistent()
        assert_rollups_match(world)


def test_quantities_are_states_so_the_same_file_twice_changes_stock_once(app, world):
    with app.app_context():
        data = stock_csv([["RP-D1", "1010101001", "", "L1", "100", "", ""]])
        apply(world, data)
        moves = movement_count()
        again = submit(world, data)
        assert again.preview["counts"]["new"] == 0 and again.preview["counts"]["unchanged"] == 1
        assert again.preview["same_file_applied"]["id"] < again.id
        services.confirm_submission(factories.user(world["operator"]), again.id)
        assert on_hand(world["depot"], "L1") == 100 and movement_count() == moves


def test_a_changed_quantity_is_a_count_movement_of_the_difference(app, world):
    with app.app_context():
        apply(world, stock_csv([["RP-D1", "1010101001", "", "L1", "100", "", ""]]))
        submission = apply(world, stock_csv([["RP-D1", "1010101001", "", "L1", "60", "", ""]]))
        last = _db.session.execute(select(Movement).order_by(Movement.id.desc())).scalars().first()
        assert (last.kind, last.on_hand_delta, last.reference) == (
            "count",
            -40,
            f"SUB-{submission.id}",
        )
        assert on_hand(world["depot"], "L1") == 60


def test_full_mode_closes_lots_missing_from_the_file_and_incremental_does_not(app, world):
    with app.app_context():
        apply(
            world,
            stock_csv(
                [
                    ["RP-D1", "1010101001", "", "L1", "100", "", ""],
                    ["RP-D2", "1010101002", "", "Q1", "30", "", ""],
                ]
            ),
        )
        incremental = submit(world, stock_csv([["RP-D1", "1010101001", "", "L1", "100", "", ""]]))
        assert incremental.preview["counts"]["closed"] == 0
        services.discard_submission(factories.user(world["operator"]), incremental.id)
        full = submit(
            world, stock_csv([["RP-D1", "1010101001", "", "L1", "100", "", ""]]), mode="full"
        )
        assert full.preview["counts"] == {"new": 0, "changed": 0, "closed": 1, "unchanged": 1}
        assert full.preview["groups"] == [{"group": "RP-D2", "new": 0, "changed": 0, "closed": 1}]
        services.confirm_submission(factories.user(world["operator"]), full.id)
        assert on_hand(world["depot2"], "Q1") == 0 and on_hand(world["depot"], "L1") == 100
        assert_ledger_consistent()
        assert_rollups_match(world)


def test_full_mode_cannot_close_stock_reserved_for_dispatch(app, world):
    with app.app_context():
        apply(world, stock_csv([["RP-D2", "1010101002", "", "Q1", "30", "", ""]]))
        lot = _db.session.execute(select(StockLot).filter_by(lot_no="Q1")).scalar_one()
        ledger.reserve_stock(factories.user(world["commander"]), lot.id, 10)
        with pytest.raises(SubmissionInvalid) as refused:
            submit(world, stock_csv([["RP-D1", "1010101001", "", "L1", "1", "", ""]]), mode="full")
        assert "已为调拨预留" in json.dumps(refused.value.errors, ensure_ascii=False)
        with pytest.raises(SubmissionInvalid):
            submit(
                world, stock_csv([["RP-D2", "1010101002", "", "Q1", "5", "", ""]])
            )  # below the 10 reserved


def test_a_bad_row_499_of_500_leaves_the_database_unchanged(app, world):
    with app.app_context():
        rows = [["RP-D1", "1010101001", "", f"A{n}", "10", "", ""] for n in range(500)]
        rows[497][4] = "-3"  # spreadsheet row 499 (header is row 1)
        lots, moves = (
            _db.session.scalar(select(func.count()).select_from(StockLot)),
            movement_count(),
        )
        with pytest.raises(SubmissionInvalid) as refused:
            submit(world, stock_csv(rows))
        cells = refused.value.errors["cells"]
        assert [(c["row"], c["cell"], c["header"]) for c in cells] == [(499, "E499", "在库数量")]
        assert (
            _db.session.scalar(select(func.count()).select_from(StockLot)) == lots
            and movement_count() == moves
        )
        stored = _db.session.get(Submission, refused.value.errors["submission_id"])
        assert stored.status == "invalid" and stored.error_count == 1


def test_confirming_a_preview_the_stock_has_moved_past_applies_nothing(app, world):
    with app.app_context():
        apply(world, stock_csv([["RP-D1", "1010101001", "", "L1", "100", "", ""]]))
        pending = submit(world, stock_csv([["RP-D1", "1010101001", "", "L1", "80", "", ""]]))
        lot = _db.session.execute(select(StockLot).filter_by(lot_no="L1")).scalar_one()
        ledger.record_issue(factories.user(world["operator"]), lot.id, 10)  # 90 now
        moves = movement_count()
        with pytest.raises(Conflict):
            services.confirm_submission(
                factories.user(world["operator"]), pending.id, fingerprint=pending.fingerprint
            )
        assert on_hand(world["depot"], "L1") == 90 and movement_count() == moves
        refreshed = _db.session.get(Submission, pending.id)
        assert (
            refreshed.status == "ready"
            and refreshed.preview["sample"][0]["before"]["quantity"] == 90
        )
        services.confirm_submission(
            factories.user(world["operator"]), pending.id, fingerprint=refreshed.fingerprint
        )
        assert on_hand(world["depot"], "L1") == 80


def test_reverting_an_applied_report_restores_the_stock_by_reversal(app, world):
    with app.app_context():
        apply(world, stock_csv([["RP-D1", "1010101001", "", "L1", "100", "", ""]]))
        second = apply(
            world,
            stock_csv(
                [
                    ["RP-D1", "1010101001", "", "L1", "70", "", ""],
                    ["RP-D1", "1010101002", "", "Q9", "9", "", ""],
                ]
            ),
        )
        services.revert_submission(
            factories.user(world["operator"]), second.id, reason="wrong file"
        )
        assert on_hand(world["depot"], "L1") == 100 and on_hand(world["depot"], "Q9") == 0
        reversals = _db.session.scalars(select(Movement).where(Movement.kind == "reversal")).all()
        assert len(reversals) == 2 and all(m.reverses_id for m in reversals)
        assert _db.session.get(Submission, second.id).status == "reverted"
        with pytest.raises(Conflict):
            services.revert_submission(factories.user(world["operator"]), second.id, reason="again")
        assert_ledger_consistent()
        assert_rollups_match(world)


def stock_change_rows() -> dict[int, tuple]:
    return {
        r.record_id: (r.seq, r.agency_id, r.classification)
        for r in _db.session.execute(
            select(
                SharedChange.record_id,
                SharedChange.seq,
                SharedChange.agency_id,
                SharedChange.classification,
            ).where(SharedChange.kind == "stock")
        )
    }


def test_the_sharing_feeds_see_every_lot_a_report_or_its_revert_touches(app, world):
    with app.app_context():
        apply(
            world,
            stock_csv(
                [
                    ["RP-D1", "1010101001", "", "L1", "100", "2027-06-30", ""],
                    ["RP-D1", "1010101001", "", "L2", "50", "", ""],
                    ["RP-D2", "1010101002", "", "Q1", "30", "", ""],
                ]
            ),
        )
        before = stock_change_rows()
        second = apply(
            world,
            stock_csv(
                [
                    ["RP-D1", "1010101001", "", "L1", "100", "2027-12-31", ""],  # new expiry only
                    ["RP-D1", "1010101001", "", "L2", "40", "", ""],  # recounted
                    ["RP-D1", "1010101002", "", "N1", "7", "", ""],
                ]
            ),
            mode="full",
        )  # Q1 closed
        lots = dict(_db.session.execute(select(StockLot.lot_no, StockLot.id)).all())
        after = stock_change_rows()
        assert set(before) == {lots["L1"], lots["L2"], lots["Q1"]}
        assert all(
            after[lots[n]][0] > max(s for s, _, _ in before.values())
            for n in ("L1", "L2", "Q1", "N1")
        )
        assert after[lots["N1"]][1:] == (world["agency"], "internal")
        services.revert_submission(
            factories.user(world["operator"]), second.id, reason="wrong file"
        )
        reverted = stock_change_rows()
        assert all(
            reverted[lots[n]][0] > max(s for s, _, _ in after.values()) for n in ("L2", "Q1", "N1")
        )
        assert (
            reverted[lots["L1"]] == after[lots["L1"]]
        )  # a revert undoes movements, not the new expiry


def test_operators_report_only_for_their_own_agency(app, world, make_user):
    with app.app_context():
        outsider = make_user(OPERATOR, agency=world["other"])
        with pytest.raises(NotAllowed):
            submit(
                world,
                stock_csv([["RP-D1", "1010101001", "", "L1", "1", "", ""]]),
                user=outsider["id"],
            )
        with pytest.raises(SubmissionInvalid) as refused:  # another agency's depot in my report
            submit(world, stock_csv([["RP-X1", "1010101001", "", "L1", "1", "", ""]]))
        assert (
            "another agency" in refused.value.errors["cells"][0]["message"]
            or "其他单位" in refused.value.errors["cells"][0]["message"]
        )


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_export_edit_reupload_round_trips_with_no_change(app, world, kind, fmt):
    with app.app_context():
        operator = factories.user(world["operator"])
        apply(
            world,
            stock_csv(
                [
                    ["RP-D1", "1010101001", "", "L1", "100", "2027-06-30", "2026-01-01"],
                    ["RP-D2", "", "棉被", "Q1", "7", "", ""],
                ]
            ),
        )
        _db.session.add(
            TransportCapacity(
                agency_id=world["agency"],
                depot_id=world["depot"],
                mode="road",
                vehicle_type="厢式货车",
                count=3,
                payload_t=10.0,
                volume_m3=40.0,
                base="=cmd|' /C calc'!A0",
                classification="internal",
            )
        )
        _db.session.add(
            TransportCapacity(
                agency_id=world["agency"],
                mode="air",
                vehicle_type="直升机",
                count=1,
                payload_t=2.5,
                available=False,
                classification="restricted",
            )
        )
        plan = EmergencyPlan(
            agency_id=world["agency"],
            name="测试预案",
            incident_type="natural_disaster",
            level="II",
            region_code="140100",
        )
        _db.session.add(plan)
        _db.session.flush()
        from reserve.models import ReserveNorm

        _db.session.add(
            ReserveNorm(
                plan_id=plan.id,
                material_id=world["tent"],
                region_code="140105",
                basis="per_10k_people",
                quantity=12.5,
            )
        )
        _db.session.commit()
        content, name, _ = services.template_file(operator, kind, fmt, agency_id=world["agency"])
        assert name.endswith(fmt)
        submission = services.submit_file(
            operator, agency_id=world["agency"], kind=kind, mode="full", filename=name, data=content
        )
        counts = submission.preview["counts"]
        assert (counts["new"], counts["changed"], counts["closed"]) == (0, 0, 0), submission.preview
        assert counts["unchanged"] >= 1
        assert submission.template_version == 1


def test_the_xlsx_template_has_text_code_columns_dropdowns_hidden_keys_and_instructions(app, world):
    with app.app_context():
        content, _, _ = services.template_file(factories.user(world["operator"]), "stock", "xlsx")
        book = load_workbook(io.BytesIO(content))
        sheet = book["数据"]
        assert sheet["A1"].value == "储备库编码*" and sheet["A2"].value == "depot_code"
        assert sheet.row_dimensions[2].hidden
        assert sheet.cell(2, len(KINDS["stock"].columns) + 1).value == "#stock/1"
        assert sheet.column_dimensions["B"].number_format == "@"
        lists = {str(v.sqref): v.formula1 for v in sheet.data_validations.dataValidation}
        assert any("实物" in f for f in lists.values())
        assert "说明" in book.sheetnames and "版本 1" in book["说明"]["A1"].value


def test_the_annotated_copy_marks_each_bad_cell_with_a_comment(app, world):
    with app.app_context():
        book = Workbook()
        sheet = book.active
        sheet.append(HEADER)
        sheet.append(["RP-D1", 1010101001, "", "L1", 5, "", ""])  # code typed as a number
        sheet.append(
            ["RP-D1", "1010101001", "", "L2", 5, "2026-01-01", "2026-02-01"]
        )  # expiry before production
        out = io.BytesIO()
        book.save(out)
        with pytest.raises(SubmissionInvalid) as refused:
            submit(world, out.getvalue(), filename="bad.xlsx")
        submission_id = refused.value.errors["submission_id"]
        content, _ = services.annotated_file(factories.user(world["operator"]), submission_id)
        marked = load_workbook(io.BytesIO(content))["数据"]
        assert (
            marked["B2"].fill.fgColor.rgb.endswith("FFC7CE")
            and "number" in marked["B2"].comment.text.lower()
            or "数字" in marked["B2"].comment.text
        )
        assert marked["F3"].comment is not None
        assert marked.cell(3, 8).value  # the row's problems in a last column


def test_unknown_names_get_suggestions_and_aliases_are_accepted(app, world):
    with app.app_context():
        with pytest.raises(SubmissionInvalid) as refused:
            submit(world, stock_csv([["RP-D1", "", "单帐蓬", "L1", "1", "", ""]]))
        message = refused.value.errors["cells"][0]["message"]
        assert "单帐篷" in message


def test_depots_report_creates_changes_and_closes_depots(app, world):
    with app.app_context():
        header = ["depot_code", "name", "region_code", "status"]
        apply(
            world,
            stock_csv(
                [["RP-D1", "新名字", "140105", ""], ["RP-D3", "三号库", "140107", ""]], header
            ),
            kind="depots",
            mode="full",
        )
        _db.session.expire_all()
        depots = {
            d.code: d
            for d in _db.session.scalars(select(Depot).where(Depot.agency_id == world["agency"]))
        }
        assert depots["RP-D1"].name == "新名字" and depots["RP-D3"].region_code == "140107"
        assert depots["RP-D2"].status == "closed"
        apply(world, stock_csv([["RP-D1", "1010101001", "", "L1", "3", "", ""]]))
        with pytest.raises(SubmissionInvalid) as refused:  # a depot with stock cannot be closed
            submit(
                world,
                stock_csv([["RP-D3", "三号库", "140107", ""]], header),
                kind="depots",
                mode="full",
            )
        assert "RP-D1" in json.dumps(refused.value.errors, ensure_ascii=False)


def test_api_upload_push_and_idempotent_retry(app, world, client):
    from tests.conftest import log_in

    with app.app_context():
        email = factories.user(world["operator"]).email
    log_in(client, email)
    page = client.get("/reporting")
    token = csrf_token(page.text)
    body = {
        "agency_id": world["agency"],
        "kind": "stock",
        "mode": "incremental",
        "confirm": True,
        "rows": [
            {"depot_code": "RP-D1", "material_code": "1010101001", "lot_no": "P1", "quantity": 12}
        ],
    }
    headers = {"Idempotency-Key": "push-1", "X-CSRFToken": token}
    first = client.post("/api/v1/submissions/push", json=body, headers=headers)
    assert first.status_code == 201, first.text
    assert first.json["status"] == "applied"
    retry = client.post("/api/v1/submissions/push", json=body, headers=headers)
    assert retry.status_code == 201 and retry.headers.get("Idempotent-Replayed") == "true"
    with app.app_context():
        assert on_hand(world["depot"], "P1") == 12
        assert (
            _db.session.scalar(
                select(func.count())
                .select_from(Movement)
                .where(Movement.lot_id.in_(select(StockLot.id).filter_by(lot_no="P1")))
            )
            == 1
        )
    bad = client.post(
        "/api/v1/submissions/push",
        headers={"X-CSRFToken": token},
        json={
            **body,
            "rows": [
                {"depot_code": "RP-D1", "material_code": 1010101001, "lot_no": "P2", "quantity": 1}
            ],
        },
    )
    assert bad.status_code == 422 and bad.json["errors"]["cells"][0]["key"] == "material_code"
    upload = client.post(
        "/api/v1/submissions",
        headers={"X-CSRFToken": token},
        data={
            "agency_id": world["agency"],
            "kind": "stock",
            "mode": "incremental",
            "file": (
                io.BytesIO(stock_csv([["RP-D1", "1010101001", "", "P1", "15", "", ""]])),
                "r.csv",
            ),
        },
        content_type="multipart/form-data",
    )
    assert upload.status_code == 201, upload.text
    confirmed = client.post(
        f"/api/v1/submissions/{upload.json['id']}/confirm",
        headers={"X-CSRFToken": token},
        json={"fingerprint": upload.json["fingerprint"]},
    )
    assert confirmed.status_code == 200 and confirmed.json["status"] == "applied"
    listing = client.get("/api/v1/submissions?kind=stock")
    assert listing.status_code == 200 and listing.json["total"] >= 2


def test_web_upload_shows_errors_then_preview_then_applies(app, world, client):
    from tests.conftest import log_in

    with app.app_context():
        email = factories.user(world["operator"]).email
    log_in(client, email)
    token = csrf_token(client.get("/reporting").text)
    bad = client.post(
        "/reporting/upload",
        data={
            "csrf_token": token,
            "agency_id": world["agency"],
            "kind": "stock",
            "mode": "incremental",
            "file": (
                io.BytesIO(stock_csv([["RP-D1", "1010101001", "", "W1", "abc", "", ""]])),
                "r.csv",
            ),
        },
        content_type="multipart/form-data",
    )
    assert bad.status_code == 303
    page = client.get(bad.headers["Location"])
    assert "E2" in page.text and "在库数量" in page.text
    good = client.post(
        "/reporting/upload",
        headers={"Accept": "application/json"},
        data={
            "csrf_token": token,
            "agency_id": world["agency"],
            "kind": "stock",
            "mode": "incremental",
            "file": (
                io.BytesIO(stock_csv([["RP-D1", "1010101001", "", "W1", "8", "", ""]])),
                "r.csv",
            ),
        },
        content_type="multipart/form-data",
    )
    url = good.json["url"]
    preview = client.get(url)
    fingerprint = preview.text.split('name="fingerprint" value="')[1].split('"')[0]
    done = client.post(url + "/confirm", data={"csrf_token": token, "fingerprint": fingerprint})
    assert done.status_code == 303
    assert "已生效" in client.get(url).text or "Applied" in client.get(url).text
    with app.app_context():
        assert on_hand(world["depot"], "W1") == 8


def test_scoreboard_marks_an_agency_that_reported_this_period_on_time(
    app, world, client, make_user
):
    from tests.conftest import log_in

    with app.app_context():
        apply(world, stock_csv([["RP-D1", "1010101001", "", "L1", "100", "", ""]]), mode="full")
    viewer = make_user(VIEWER)
    log_in(client, viewer["email"])
    rows = {r["agency_code"]: r for r in client.get("/api/v1/reporting/scoreboard?kind=stock").json}
    assert rows["RP-MINE"]["current"] == "on_time" and rows["RP-MINE"]["depots_share"] == 1.0
    assert rows["RP-OTHER"]["current"] in ("open", "overdue", "missing")
    csv_page = client.get("/reporting/scoreboard?format=csv")
    assert csv_page.status_code == 200 and "RP-MINE" in csv_page.text
    assert client.get("/reporting/scoreboard").status_code == 200


def test_confirming_twice_is_refused_in_the_users_language(app, world):
    with app.app_context():
        submission = apply(world, stock_csv([["RP-D1", "1010101001", "", "L1", "3", "", ""]]))
        with pytest.raises(Conflict) as refused:
            services.confirm_submission(factories.user(world["operator"]), submission.id)
        assert "已生效" in refused.value.detail
