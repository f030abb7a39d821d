"""Uploads at the edges (issue 15, items 6-8): one hardened reader for every upload path, the
error cap said in the answer, the CLI's size check before reading, idempotent multipart
retries, and the retention of refused files. Pure reader tests first, then SQLite and
PostgreSQL through the `app` fixture."""

import io
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from core import scheduler
from core.auth import ADMIN, OPERATOR, User
from core.extensions import db as _db
from core.idempotency import IdempotencyRecord
from core.timeutil import utcnow
from core.organisation import Agency
from reserve.reporting import files, retention, services
from reserve.reporting.files import BadFile
from reserve.reporting.models import Submission
from reserve.reporting.validation import MAX_ERRORS
from reserve.services.reference import load_regions
from tests import factories
from tests.reserve.test_reporting import stock_csv, world  # noqa: F401 - the fixture

# --- the reader (pure) -----------------------------------------------------------------------------


def _xlsx(rows, sheet="数据") -> bytes:
    book = Workbook()
    book.active.title = sheet
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _replace(data: bytes, name: str, content: bytes) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            archive.writestr(info.filename, content if info.filename == name else source.read(info))
        if name not in source.namelist():
            archive.writestr(name, content)
    return out.getvalue()


SHEET = "xl/worksheets/sheet1.xml"
NS = b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'


def test_xlsx_cells_keep_their_types_and_row_numbers():
    from datetime import date, datetime

    data = _xlsx(
        [
            ["储备库编码", "数量", "日期", "是否"],
            ["D1", 5, date(2026, 1, 2), True],
            [],
            ["D2", 2.5, datetime(2026, 3, 4, 5, 6), False],
        ]
    )
    table = files.read_table(data)
    assert table.rows == [
        (1, ["储备库编码", "数量", "日期", "是否"]),
        (2, ["D1", 5, datetime(2026, 1, 2), True]),
        (4, ["D2", 2.5, datetime(2026, 3, 4, 5, 6), False]),
    ]


def test_inline_and_shared_strings_and_rows_without_numbers_are_read():
    sheet = (
        NS + b'<row><c t="inlineStr"><is><t>\xe7\x94\xb2</t></is></c><c><v>7</v></c></row>'
        b'<row r="3"><c r="B3" t="str"><v>x</v></c></row></sheetData></worksheet>'
    )
    table = files.read_table(_replace(_xlsx([["a"]]), SHEET, sheet))
    assert table.rows == [(1, ["甲", 7]), (3, [None, "x"])]


@pytest.mark.parametrize(
    "sheet, fragment",
    [
        (
            NS
            + b'<row r="1"><c r="A1"><v>1</v></c><c r="XFD1" t="inlineStr"><is><t></t></is></c></row>'
            b"</sheetData></worksheet>",
            "columns",
        ),
        (
            NS
            + b'<row r="1"><c r="A1"><v>1</v></c></row><row r="1048576"><c r="A1048576"><v>1</v></c></row>'
            b"</sheetData></worksheet>",
            "blank rows",
        ),
    ],
)
def test_hostile_sheets_are_refused_without_reading_on(sheet, fragment):
    with pytest.raises(BadFile) as refused:
        files.read_table(_replace(_xlsx([["a"]]), SHEET, sheet))
    assert fragment in refused.value.detail


def test_a_part_in_utf16_cannot_hide_a_doctype():
    payload = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x [<!ENTITY a "b">]><sst/>'.encode(
        "utf-16"
    )
    with pytest.raises(BadFile) as refused:
        files.read_table(_replace(_xlsx([["a"]]), "xl/sharedStrings.xml", payload))
    assert "entity" in refused.value.detail


def test_a_csv_line_longer_than_the_limit_is_refused():
    with pytest.raises(BadFile) as refused:
        files.read_table(b"a,b\r\n" + b"," * (files.MAX_LINE_CHARS + 1) + b"\r\n")
    assert "longer" in refused.value.detail


def test_validation_stops_after_the_error_cap_and_says_where():
    from reserve.reporting.validation import Context, validate

    ctx = Context(1, {}, set(), {}, {}, {}, set())
    rows = [(1, ["depot_code", "material_code", "lot_no", "quantity"])] + [
        (n, ["NOPE", "1010101001", f"L{n}", "-1"]) for n in range(2, 5000)
    ]
    result = validate("stock", rows, ctx)
    assert MAX_ERRORS < len(result.errors) <= MAX_ERRORS + 4
    assert result.stopped_at is not None and result.stopped_at < 1000


# --- every upload path (SQLite and PostgreSQL) -------------------------------------------------------


def _token(app, make_user, role, agency=None) -> dict:
    user = make_user(role, agency=agency)
    token = app.test_cli_runner().invoke(args=["users", "token", user["email"]]).output.strip()
    return {"Authentication-Token": token}


def _macro_workbook() -> bytes:
    return _replace(_xlsx([["code", "name"], ["2", "应急装备"]]), "xl/vbaProject.bin", b"\x00" * 64)


def _doctype_workbook() -> bytes:
    laughs = b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><sst>&b;</sst>'
    return _replace(_xlsx([["code", "name"], ["2", "应急装备"]]), "xl/sharedStrings.xml", laughs)


@pytest.mark.parametrize("make, fragment", [(_macro_workbook, "宏"), (_doctype_workbook, "实体")])
def test_the_catalog_import_refuses_hostile_workbooks_like_the_others(
    app, client, make_agency, make_user, make, fragment
):
    headers = _token(app, make_user, ADMIN, make_agency("UP-ROOT", kind="provincial_department"))
    response = client.post(
        "/api/v1/categories/import", data={"file": (io.BytesIO(make()), "t.xlsx")}, headers=headers
    )
    assert response.status_code == 400, response.text
    assert fragment in response.json["detail"]


def test_the_catalog_import_reads_a_renamed_workbook_by_its_content(
    app, client, make_agency, make_user
):
    headers = _token(app, make_user, ADMIN, make_agency("UP-ROOT", kind="provincial_department"))
    data = _xlsx([["code", "name"], ["2", "应急装备及配套物资"]])
    response = client.post(
        "/api/v1/categories/import", data={"file": (io.BytesIO(data), "table.csv")}, headers=headers
    )
    assert response.status_code == 200 and response.json["created"] == 1


def test_a_file_of_bad_rows_stops_at_the_cap_and_says_so(app, world):  # noqa: F811
    rows = [["NOPE", "1010101001", "", f"L{n}", "-1", "", ""] for n in range(3000)]
    with app.app_context():
        with pytest.raises(services.SubmissionInvalid) as refused:
            services.submit_file(
                factories.user(world["operator"]),
                agency_id=world["agency"],
                kind="stock",
                mode="incremental",
                filename="bad.csv",
                data=stock_csv(rows),
            )
        assert "其余未检查" in refused.value.detail
        assert refused.value.errors["errors_capped"] is True
        assert len(refused.value.errors["cells"]) == MAX_ERRORS
        assert refused.value.submission.errors_capped


def test_the_demand_import_stops_at_the_cap(app, client, make_agency, make_user):
    from dispatch.services import incidents

    with app.app_context():
        load_regions()
        factories.catalog_material("001", "单帐篷")
    headers = _token(app, make_user, "commander")
    created = client.post(
        "/api/v1/incidents",
        headers=headers,
        json={"title": "导入", "incident_type": "accident", "level": "IV", "region_code": "140100"},
    )
    assert created.status_code == 201, created.text
    incident_id = created.json["id"]
    lines = ["点位,物资编码,数量,优先级,需求时限(小时)"] + [
        f"无此点,1010101001,{n},2,12" for n in range(1, 2000)
    ]
    response = client.post(
        f"/api/v1/incidents/{incident_id}/demands/import",
        headers=headers,
        data={"file": (io.BytesIO("\n".join(lines).encode()), "d.csv")},
    )
    assert response.status_code == 422, response.text
    assert "其余未检查" in response.json["detail"]
    assert len(response.json["errors"]) == incidents.MAX_IMPORT_ERRORS


def test_the_cli_refuses_an_oversize_file_without_reading_it(app, world, tmp_path, monkeypatch):  # noqa: F811
    path = tmp_path / "big.csv"
    with path.open("wb") as out:
        out.truncate(3 * 1024 * 1024)  # sparse: 3 MB of nothing
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1024 * 1024)

    def no_reading(*args, **kwargs):
        raise AssertionError("the file was read")

    monkeypatch.setattr(Path, "read_bytes", no_reading)
    monkeypatch.setattr(Path, "open", no_reading)
    with app.app_context():
        email = factories.user(world["operator"]).email
        agency_code = _db.session.get(Agency, world["agency"]).code
    result = app.test_cli_runner().invoke(
        args=[
            "report",
            "submit",
            str(path),
            "--agency",
            agency_code,
            "--kind",
            "stock",
            "--as",
            email,
        ]
    )
    assert result.exit_code != 0
    assert "3.0 MB" in result.output and "AssertionError" not in repr(result.exception)


# --- idempotent multipart retries ---------------------------------------------------------------------


def _multipart(boundary: str, fields: dict, filename: str, content: bytes) -> bytes:
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        f"Content-Type: text/csv\r\n\r\n".encode()
        + content
        + b"\r\n"
    )
    return b"".join(parts) + f"--{boundary}--\r\n".encode()


def test_a_retried_upload_with_a_new_boundary_is_replayed_not_refused(
    app, world, client, make_user
):  # noqa: F811
    headers = _token(app, make_user, OPERATOR, world["agency"])
    fields = {"agency_id": world["agency"], "kind": "stock", "mode": "incremental"}
    content = stock_csv([["RP-D1", "1010101001", "", "M1", "15", "", ""]])

    def send(boundary, key="upload-1", data=content):
        return client.post(
            "/api/v1/submissions",
            data=_multipart(boundary, fields, "r.csv", data),
            headers={
                **headers,
                "Idempotency-Key": key,
                "Content-Type": f"multipart/form-data; boundary={boundary}",
            },
        )

    first = send("----boundaryAAAA")
    assert first.status_code == 201, first.text
    retry = send("----boundaryBBBB")
    assert retry.status_code == 201, retry.text
    assert (
        retry.headers.get("Idempotent-Replayed") == "true" and retry.json["id"] == first.json["id"]
    )
    other = send(
        "----boundaryCCCC", data=stock_csv([["RP-D1", "1010101001", "", "M1", "16", "", ""]])
    )
    assert other.status_code == 422  # the same key for another file
    with app.app_context():
        assert (
            _db.session.scalar(select(Submission.id).where(Submission.id != first.json["id"]))
            is None
        )


def test_a_first_attempt_still_working_is_not_run_again(app, world, client, make_user):  # noqa: F811
    headers = _token(app, make_user, OPERATOR, world["agency"])
    with app.app_context():
        user_id = _db.session.scalar(select(User.id).order_by(User.id.desc()))
        _db.session.add(
            IdempotencyRecord(
                scope=f"user:{user_id}",
                key="slow-1",
                fingerprint="x" * 64,
                created_at=utcnow() - timedelta(minutes=3),
            )
        )
        _db.session.commit()
    body = {
        "agency_id": world["agency"],
        "kind": "stock",
        "mode": "incremental",
        "confirm": False,
        "rows": [
            {"depot_code": "RP-D1", "material_code": "1010101001", "lot_no": "S1", "quantity": 1}
        ],
    }
    response = client.post(
        "/api/v1/submissions/push", json=body, headers={**headers, "Idempotency-Key": "slow-1"}
    )
    # the fingerprint differs on purpose: a pending record answers 409 before anything else
    assert response.status_code in (409, 422)
    with app.app_context():
        record = _db.session.execute(select(IdempotencyRecord).filter_by(key="slow-1")).scalar_one()
        record.fingerprint = _fingerprint_of(app, client, headers, body)
        _db.session.commit()
    response = client.post(
        "/api/v1/submissions/push", json=body, headers={**headers, "Idempotency-Key": "slow-1"}
    )
    assert response.status_code == 409, response.text
    assert response.headers.get("Retry-After") and "仍在处理" in response.json["detail"]
    with app.app_context():
        assert _db.session.scalar(select(Submission.id)) is None


def _fingerprint_of(app, client, headers, body) -> str:
    """The fingerprint the server computes for this request, taken from a throw-away key."""
    client.post(
        "/api/v1/submissions/push", json=body, headers={**headers, "Idempotency-Key": "probe"}
    )
    with app.app_context():
        probe = _db.session.execute(select(IdempotencyRecord).filter_by(key="probe")).scalar_one()
        fingerprint = probe.fingerprint
        _db.session.delete(probe)
        for submission in _db.session.scalars(select(Submission)):
            _db.session.delete(submission)
        _db.session.commit()
    return fingerprint


# --- retention of refused files -----------------------------------------------------------------------


def _refused(agency_id, days_ago, size=1000, status="invalid"):
    submission = Submission(
        agency_id=agency_id,
        kind="stock",
        mode="incremental",
        channel="web",
        status=status,
        file_format="csv",
        file_hash="0" * 64,
        file_size=size,
        content=b"x" * size,
        created_at=utcnow() - timedelta(days=days_ago),
    )
    _db.session.add(submission)
    _db.session.commit()
    return submission.id


def _kept(submission_id) -> bool:
    _db.session.expire_all()
    return _db.session.scalar(
        select(Submission.content.is_not(None)).where(Submission.id == submission_id)
    )


def test_the_daily_job_drops_old_and_over_quota_refused_files_only(app, world, monkeypatch):  # noqa: F811
    monkeypatch.setitem(app.config, "SUBMISSION_FILE_RETENTION_DAYS", 30)
    monkeypatch.setitem(app.config, "SUBMISSION_FILE_QUOTA_MB", 1)
    with app.app_context():
        old = _refused(world["agency"], 31)
        recent = _refused(world["agency"], 2)
        applied = _refused(world["agency"], 400, status="applied")
        big_old = _refused(world["other"], 5, size=700_000, status="discarded")
        big_new = _refused(world["other"], 1, size=700_000)
        outcome = retention.prune_refused_files(utcnow())
        assert outcome == {"expired": 1, "over_quota": 1}
        assert [_kept(i) for i in (old, recent, applied, big_old, big_new)] == [
            False,
            True,
            True,
            False,
            True,
        ]
        assert _db.session.get(Submission, old).error_count == 0  # the record stays
        assert retention.prune_refused_files(utcnow()) == {
            "expired": 0,
            "over_quota": 0,
        }  # safe to run twice


def test_a_refusal_enforces_the_agency_quota_at_once(app, world, monkeypatch):  # noqa: F811
    monkeypatch.setitem(app.config, "SUBMISSION_FILE_QUOTA_MB", 1)
    with app.app_context():
        earlier = _refused(world["agency"], 1, size=1024 * 1024 - 10)
        with pytest.raises(services.SubmissionInvalid):
            services.submit_file(
                factories.user(world["operator"]),
                agency_id=world["agency"],
                kind="stock",
                mode="incremental",
                filename="bad.csv",
                data=stock_csv([["NOPE", "1010101001", "", "L1", "1", "", ""]]),
            )
        assert not _kept(earlier)


def test_the_prune_job_is_declared_for_the_scheduler(app):
    declared = {job.id: job for job in scheduler.jobs(app)}
    assert declared["submissions-prune"].target == "reserve.reporting.jobs:prune_refused_files"
    assert scheduler.resolve(declared["submissions-prune"].target)


def test_the_file_is_read_and_validated_with_no_transaction_open(app, world, monkeypatch):  # noqa: F811
    """On SQLite an open transaction holds the write lock: every other request, /healthz too,
    would wait for the upload."""
    from reserve.reporting import validation

    seen = []
    real_read, real_validate = services.read_table, services.validate

    def reading(data, **kwargs):
        seen.append(("read", _db.session().in_transaction()))
        return real_read(data, **kwargs)

    def validating(*args, **kwargs):
        seen.append(("validate", _db.session().in_transaction()))
        return real_validate(*args, **kwargs)

    monkeypatch.setattr(services, "read_table", reading)
    monkeypatch.setattr(services, "validate", validating)
    assert validation.validate is real_validate
    with app.app_context():
        submission = services.submit_file(
            factories.user(world["operator"]),
            agency_id=world["agency"],
            kind="stock",
            mode="incremental",
            filename="ok.csv",
            data=stock_csv([["RP-D1", "1010101001", "", "T1", "3", "", ""]]),
        )
        assert submission.status == "ready"
    assert seen == [("read", False), ("validate", False)]


def test_a_file_refused_by_its_first_rows_is_not_read_further(app, world, monkeypatch):  # noqa: F811
    calls = []
    real_read = services.read_table

    def reading(data, **kwargs):
        table = real_read(data, **kwargs)
        calls.append((kwargs.get("head"), table.complete, len(table.rows)))
        return table

    monkeypatch.setattr(services, "read_table", reading)
    bad_rows = [["NOPE", "1010101001", "", f"L{n}", "-1", "", ""] for n in range(20_000)]
    wrong_header = stock_csv([["RP-D1", "x"]] * 20_000, header=["储备库编码", "无此列"])
    with app.app_context():
        for data in (stock_csv(bad_rows), wrong_header):
            with pytest.raises(services.SubmissionInvalid):
                services.submit_file(
                    factories.user(world["operator"]),
                    agency_id=world["agency"],
                    kind="stock",
                    mode="incremental",
                    filename="bad.csv",
                    data=data,
                )
    assert calls == [(services.HEAD_ROWS, False, services.HEAD_ROWS)] * 2


def _padded_workbook(text_bytes: int) -> bytes:
    """A valid two-column workbook whose sheet holds `text_bytes` of XML once inflated (a long
    comment compresses to almost nothing: the declared size is what counts)."""
    data = _xlsx([["code", "name"], ["2", "应急装备"]])
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml")
    return _replace(data, "xl/worksheets/sheet1.xml", sheet + b"<!--" + b"x" * text_bytes + b"-->")


def _commander_and_incident(app, client, make_user) -> tuple[dict, int]:
    """A commander's token headers and a new incident of theirs to import demands into."""
    commander = _token(app, make_user, "commander")
    with app.app_context():
        load_regions()
    incident = client.post(
        "/api/v1/incidents",
        headers=commander,
        json={"title": "导入", "incident_type": "accident", "level": "IV", "region_code": "140100"},
    ).json["id"]
    return commander, incident


def test_the_catalog_and_demand_imports_refuse_more_text_than_their_largest_file_before_parsing(
    app, client, make_agency, make_user, monkeypatch
):
    from dispatch.services import incidents
    from reserve.services import catalog

    parsed = []
    monkeypatch.setattr(
        files, "_collect", lambda *args, **kwargs: parsed.append(args) or pytest.fail("parsed")
    )
    admin = _token(app, make_user, ADMIN, make_agency("UP-ROOT", kind="provincial_department"))
    over = _padded_workbook(catalog.MAX_CATEGORY_TEXT)
    assert files.text_size(over) > catalog.MAX_CATEGORY_TEXT and len(over) < 100_000
    response = client.post(
        "/api/v1/categories/import", data={"file": (io.BytesIO(over), "c.xlsx")}, headers=admin
    )
    assert response.status_code == 400 and "最多接受 4 MB" in response.json["detail"], response.text

    commander, incident = _commander_and_incident(app, client, make_user)
    over = _padded_workbook(incidents.MAX_DEMAND_TEXT)
    response = client.post(
        f"/api/v1/incidents/{incident}/demands/import",
        headers=commander,
        data={"file": (io.BytesIO(over), "d.xlsx")},
    )
    assert response.status_code == 400 and "最多接受 2 MB" in response.json["detail"], response.text
    assert parsed == []


def test_the_catalog_and_demand_imports_refuse_a_wrong_header_before_reading_the_rows(
    app, client, make_agency, make_user, monkeypatch
):
    """A file without the import's columns (a hostile sheet of 40 unnamed columns, a wrong table)
    is refused on its header row: the reader is never asked for the rest."""
    reads = []
    real_read = files.read_table

    def reading(data, **kwargs):
        reads.append(kwargs.get("head"))
        return real_read(data, **kwargs)

    monkeypatch.setattr(files, "read_table", reading)
    wide = "\n".join(
        ",".join(f"c{c}" if n == 0 else str(n) for c in range(40)) for n in range(3000)
    ).encode()
    admin = _token(app, make_user, ADMIN, make_agency("UP-ROOT", kind="provincial_department"))
    response = client.post(
        "/api/v1/categories/import", data={"file": (io.BytesIO(wide), "c.csv")}, headers=admin
    )
    assert response.status_code == 422 and "code, name" in response.json["detail"], response.text

    commander, incident = _commander_and_incident(app, client, make_user)
    response = client.post(
        f"/api/v1/incidents/{incident}/demands/import",
        headers=commander,
        data={"file": (io.BytesIO(wide), "d.csv")},
    )
    assert response.status_code == 422 and "point" in response.json["detail"], response.text
    assert reads == [1, 1]
    with app.app_context():
        from reserve.models import Category

        assert _db.session.scalar(select(func.count(Category.code))) == 0
