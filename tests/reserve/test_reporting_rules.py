"""The reporting data standard, validation, file reading and the calendar, without a database."""

import hashlib
import io
import json
import zipfile
from datetime import date, datetime

import pytest
from openpyxl import Workbook

from reserve.reporting import files, freshness
from reserve.reporting.changes import Change, ChangeSet
from reserve.reporting.files import BadFile
from reserve.reporting.standard import KINDS, MAX_ROWS, Column, read_cell
from reserve.reporting.validation import Context, DepotRef, validate

STOCK = KINDS["stock"]


def ctx(**overrides) -> Context:
    values = {
        "agency_id": 1,
        "depots": {
            "D1": DepotRef(1, 1, "active", "internal"),
            "D9": DepotRef(9, 1, "closed", "internal"),
        },
        "foreign_depots": {"X1"},
        "material_codes": {"1010101001": 11, "1010101002": 12},
        "material_names": {"单帐篷": [11], "方便面": [12, 13]},
        "aliases": {"救灾帐篷": 11},
        "regions": {"140105", "140000"},
    }
    return Context(**{**values, **overrides})


def rows(*lines, header=("depot_code", "material_code", "material_name", "lot_no", "quantity")):
    return [(1, list(header))] + [(n, list(line)) for n, line in enumerate(lines, start=2)]


def text(problem) -> str:
    return problem.message % problem.params if problem.params else problem.message


def problems(result):
    return [(e.cell, e.key, text(e.problem)) for e in result.errors]


# --- cells ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw, expected", [("12", 12), (12.0, 12), ("1,200", 1200), (0, 0)])
def test_whole_numbers_are_read_from_text_or_number_cells(raw, expected):
    assert read_cell(STOCK.column("quantity"), raw) == (expected, None)


@pytest.mark.parametrize(
    "raw, fragment",
    [
        ("-1", "at least"),
        ("1.5", "whole"),
        ("abc", "not a number"),
        (True, "not a number"),
        (3e9, "at most"),
    ],
)
def test_bad_quantities_are_named(raw, fragment):
    value, problem = read_cell(STOCK.column("quantity"), raw)
    assert value is None and fragment in text(problem)


def test_a_code_that_arrived_as_a_number_is_refused_not_fixed():
    value, problem = read_cell(STOCK.column("material_code"), 1010101001.0)
    assert value is None and "arrived as a number" in problem.message
    value, problem = read_cell(STOCK.column("enterprise_credit_code"), 9.1110108551385e17)
    assert value is None and "arrived as a number" in problem.message


def test_credit_codes_are_checked_by_gb32100_including_authorities_a_n_y():
    column = STOCK.column("enterprise_credit_code")
    assert read_cell(column, "91110108551385082Q") == ("91110108551385082Q", None)
    assert read_cell(column, "91110108551385082A")[1].message.startswith("the check digit")
    assert read_cell(column, "9111010855138508")[1] is not None


@pytest.mark.parametrize("raw", ["2027-06-30", "2027/6/30", "2027年6月30日", date(2027, 6, 30)])
def test_dates_accept_the_usual_spellings(raw):
    assert read_cell(STOCK.column("expiry_date"), raw) == (date(2027, 6, 30), None)


def test_choices_accept_the_chinese_label_or_the_stored_value():
    column = STOCK.column("reserve_type")
    assert read_cell(column, "协议") == ("agreement", None)
    assert read_cell(column, "capacity") == ("capacity", None)
    assert "实物 / 协议 / 产能" in read_cell(column, "租赁")[1].params["choices"]


def test_required_cells_must_be_filled_and_text_is_length_checked():
    assert read_cell(STOCK.column("lot_no"), "  ")[1].message == "this column is required"
    assert read_cell(Column("x", "x", "text", max_length=3), "abcd")[1] is not None


def test_our_formula_guard_is_undone_on_reading():
    assert read_cell(KINDS["transport"].column("base"), "'=1+2") == ("=1+2", None)


# --- structure -------------------------------------------------------------------------------------


def test_headers_may_be_chinese_or_machine_keys_and_unknown_ones_are_errors():
    chinese = [
        (1, ["储备库编码*", "物资编码", "批次号", "在库数量"]),
        (2, ["D1", "1010101001", "L1", 5]),
    ]
    assert validate("stock", chinese, ctx()).ok
    unknown = [
        (1, ["储备库编码", "物资编码", "批次号", "在库数量", "备注栏"]),
        (2, ["D1", "1010101001", "L1", 5, "x"]),
    ]
    assert problems(validate("stock", unknown, ctx())) == [
        ("E1", None, 'unknown column "备注栏": use the template\'s headers')
    ]


def test_missing_required_columns_are_listed():
    result = validate("stock", [(1, ["储备库编码", "物资编码"]), (2, ["D1", "1010101001"])], ctx())
    assert {e.key for e in result.errors} == {"lot_no", "quantity"}


def test_the_version_marker_names_the_kind_and_version():
    keys = [c.key for c in STOCK.columns]
    header = [c.header for c in STOCK.columns]
    good = [(1, header), (2, keys + ["#stock/1"])]
    assert validate("stock", good, ctx()).version == 1
    wrong_kind = validate(
        "depots",
        [
            (1, [c.header for c in KINDS["depots"].columns]),
            (2, [c.key for c in KINDS["depots"].columns] + ["#stock/1"]),
        ],
        ctx(),
    )
    assert "not" in wrong_kind.errors[0].problem.message
    old = validate("stock", [(1, header), (2, keys + ["#stock/0"])], ctx())
    assert "version" in old.errors[0].problem.message


# --- rows and references ---------------------------------------------------------------------------


def test_material_by_code_alias_or_unique_name_and_suggestions_for_unknown_names():
    result = validate(
        "stock",
        rows(
            ["D1", "1010101001", "", "L1", 1],
            ["D1", "", "救灾帐篷", "L2", 1],
            ["D1", "", "单帐篷", "L3", 1],
            ["D1", "", "方便面", "L4", 1],
            ["D1", "", "单帐蓬", "L5", 1],
            ["D1", "9999999999", "", "L6", 1],
            ["D1", "", "", "L7", 1],
        ),
        ctx(),
    )
    assert [r["material_id"] for r in result.records] == [11, 11, 11]
    found = problems(result)
    assert found[0][0] == "C5" and "2 catalog materials" in found[0][2]
    assert found[1][0] == "C6" and "单帐篷" in found[1][2]
    assert found[2][0] == "B7" and "not in the catalog" in found[2][2]
    assert found[3][1] == "material_name" and "code or the material name" in found[3][2]


def test_depots_must_be_the_agencys_own_and_active():
    result = validate(
        "stock",
        rows(
            ["X1", "1010101001", "", "L1", 1],
            ["Q7", "1010101001", "", "L1", 1],
            ["D9", "1010101001", "", "L1", 1],
        ),
        ctx(),
    )
    assert [m for _, _, m in problems(result)] == [
        "depot X1 belongs to another agency",
        "no depot with code Q7 in this agency: report it in the depots report first",
        "depot D9 is closed",
    ]


def test_duplicate_rows_inside_the_file_are_refused():
    result = validate(
        "stock", rows(["D1", "1010101001", "", "L1", 1], ["D1", "", "单帐篷", "L1", 2]), ctx()
    )
    assert problems(result)[0][0] == "3" and "row 2" in problems(result)[0][2]


def test_expiry_after_production_and_agreements_name_the_enterprise():
    header = (
        "depot_code",
        "material_code",
        "lot_no",
        "quantity",
        "production_date",
        "expiry_date",
        "reserve_type",
    )
    result = validate(
        "stock",
        rows(
            ["D1", "1010101001", "L1", 1, "2026-05-01", "2026-04-01", ""],
            ["D1", "1010101001", "L2", 1, "", "", "协议"],
            header=header,
        ),
        ctx(),
    )
    assert [(c, k) for c, k, _ in problems(result)] == [
        ("F2", "expiry_date"),
        ("3", "enterprise_name"),
    ]


def test_region_codes_must_be_current_gb2260_codes():
    header = ("depot_code", "name", "region_code")
    result = validate(
        "depots", rows(["N1", "新库", "140199"], ["N2", "新库", 140105], header=header), ctx()
    )
    assert [(c, k) for c, k, _ in problems(result)] == [
        ("C2", "region_code"),
        ("C3", "region_code"),
    ]


# --- files -----------------------------------------------------------------------------------------


def test_csv_in_utf8_with_bom_or_gb18030_reads_the_same():
    text = "储备库编码,批次号\r\nD1,L1\r\n"
    for data in (text.encode("utf-8"), ("\ufeff" + text).encode("utf-8"), text.encode("gb18030")):
        table = files.read_table(data)
        assert table.format == "csv" and table.rows == [
            (1, ["储备库编码", "批次号"]),
            (2, ["D1", "L1"]),
        ]


@pytest.mark.parametrize(
    "data, fragment",
    [
        (b"", "empty"),
        (b"   \n\n", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "could not be read"),
    ],
)
def test_hostile_or_broken_files_are_refused_with_a_reason(data, fragment):
    with pytest.raises(BadFile) as refused:
        files.read_table(data)
    assert fragment in refused.value.detail


def _zip(members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return out.getvalue()


def test_a_zip_that_is_not_a_workbook_is_named():
    with pytest.raises(BadFile) as refused:
        files.read_table(_zip({"word/document.xml": b"<w/>"}))
    assert "not an Excel workbook" in refused.value.detail


def test_a_zip_bomb_is_refused_before_parsing():
    bomb = _zip(
        {"xl/workbook.xml": b"<workbook/>", "xl/worksheets/sheet1.xml": b" " * (160 * 1024 * 1024)}
    )
    assert len(bomb) < 1024 * 1024
    with pytest.raises(BadFile) as refused:
        files.read_table(bomb)
    assert "too large" in refused.value.detail


def _workbook_bytes() -> bytes:
    book = Workbook()
    book.active.append(["a"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _with_member(data: bytes, name: str, content: bytes) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    members = {i.filename: source.read(i) for i in source.infolist()}
    members[name] = content
    return _zip(members)


def test_workbooks_with_macros_are_refused():
    with pytest.raises(BadFile) as refused:
        files.read_table(_with_member(_workbook_bytes(), "xl/vbaProject.bin", b"\x00" * 100))
    assert "macros" in refused.value.detail


@pytest.mark.parametrize(
    "payload",
    [
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><sst>&lol2;</sst>',
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><sst>&xxe;</sst>',
    ],
)
def test_billion_laughs_and_external_entities_are_refused(payload):
    with pytest.raises(BadFile) as refused:
        files.read_table(_with_member(_workbook_bytes(), "xl/sharedStrings.xml", payload))
    assert "entity" in refused.value.detail


def test_more_rows_than_the_limit_are_refused_early():
    data = ("a,b\r\n" + "1,2\r\n" * (MAX_ROWS + 5)).encode()
    with pytest.raises(BadFile) as refused:
        files.read_table(data)
    assert str(MAX_ROWS) in refused.value.detail


def test_xls_workbooks_are_read():
    xlwt = pytest.importorskip("xlwt")
    book = xlwt.Workbook()
    sheet = book.add_sheet("数据")
    for col, value in enumerate(["储备库编码", "批次号", "在库数量"]):
        sheet.write(0, col, value)
    for col, value in enumerate(["D1", "L1", 5]):
        sheet.write(1, col, value)
    out = io.BytesIO()
    book.save(out)
    table = files.read_table(out.getvalue())
    assert table.format == "xls" and table.rows[1] == (2, ["D1", "L1", 5.0])


# --- calendar --------------------------------------------------------------------------------------


def test_periods_start_on_monday_the_first_or_the_quarter():
    assert freshness.period_start("weekly", date(2026, 11, 21)) == date(2026, 11, 16)
    assert freshness.period_start("monthly", date(2026, 11, 21)) == date(2026, 11, 1)
    assert freshness.period_start("quarterly", date(2026, 11, 21)) == date(2026, 10, 1)
    assert freshness.next_period_start("quarterly", date(2026, 10, 1)) == date(2027, 1, 1)
    assert freshness.recent_periods("monthly", date(2026, 1, 15), 3)[0] == (
        date(2025, 11, 1),
        date(2025, 12, 1),
    )


@pytest.mark.parametrize(
    "applied, today, expected",
    [
        ([date(2026, 10, 20)], date(2026, 11, 21), "on_time"),
        ([date(2026, 11, 5)], date(2026, 11, 21), "on_time"),  # within the 5 grace days
        ([date(2026, 11, 6)], date(2026, 11, 21), "late"),
        ([], date(2026, 11, 21), "overdue"),
        ([], date(2026, 12, 21), "missing"),
        ([], date(2026, 10, 20), "open"),
    ],
)
def test_a_period_is_on_time_late_overdue_missing_or_open(applied, today, expected):
    october = (date(2026, 10, 1), date(2026, 11, 1))
    assert freshness.period_status(*october, 5, applied, today) == expected


def test_the_fingerprint_hashes_each_change_as_the_preview_shows_it():
    """So fingerprints stored before the encoding was made faster still match."""
    changes = [
        Change(
            "new",
            "D1",
            ("D1", 11, "批次-1"),
            3,
            None,
            {
                "quantity": 5,
                "expiry_date": date(2027, 6, 30),
                "lead_time_h": 1.5,
                "classification": None,
                "enterprise_name": '引号"和\\斜杠',
            },
        ),
        Change(
            "changed",
            "D1",
            ("D1", 12, "L2"),
            4,
            {"quantity": 1, "production_date": date(2026, 1, 1)},
            {"quantity": 2, "production_date": datetime(2026, 1, 2, 3, 4, 5)},
        ),
        Change("closed", "D2", ("D2", 13, "L3"), None, {"quantity": 9}, {"quantity": 0}),
    ]
    shown = b"".join(
        json.dumps(c.to_json(), sort_keys=True, ensure_ascii=False).encode() for c in changes
    )
    assert ChangeSet("stock", changes).fingerprint() == hashlib.sha256(shown).hexdigest()


def test_periods_ending_before_the_calendar_start_owe_nothing():
    from datetime import date

    from reserve.reporting.freshness import recent_periods, statuses_since
    from reserve.warnings.rules import stale_severity

    windows = recent_periods("monthly", date(2026, 12, 20), 4)
    assert statuses_since(windows, 5, [], date(2026, 12, 20), None) == [
        "missing",
        "missing",
        "overdue",
        "open",
    ]
    started = statuses_since(windows, 5, [], date(2026, 12, 20), date(2026, 11, 21))
    assert started == [
        "not_started",
        "not_started",
        "overdue",
        "open",
    ]  # the month it started in counts
    assert stale_severity(["not_started", "not_started", "open"]) is None
