"""CSV export shared by every download: UTF-8 with BOM (Excel opens it as Chinese text) and
cells that cannot start a spreadsheet formula. Standard library only."""

import csv
import io
import json

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """A cell value that cannot start a formula (= + - @ are prefixed with ')."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def readable_json(value) -> str:
    """JSON for people: CJK as characters, keys sorted."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def csv_bytes(header: list[str], rows) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MIMETYPES = {"csv": "text/csv", "xlsx": XLSX}


def xlsx_bytes(sheets, on_row=None) -> bytes:
    """A workbook of (title, header, rows) sheets, written row by row (openpyxl's write-only mode);
    `on_row(n)` is called every 10,000 rows of the first sheet (a job's progress)."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    for index, (title, header, rows) in enumerate(sheets):
        sheet = workbook.create_sheet(title[:31])
        sheet.append(header)
        for n, row in enumerate(rows, 1):
            sheet.append([safe_cell(v) for v in row])
            if on_row is not None and index == 0 and n % 10_000 == 0:
                on_row(n)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def file_bytes(file_format: str, sheets, on_row=None) -> tuple[bytes, str]:
    """The export's file and its media type: CSV holds the first sheet, XLSX every sheet. Every
    export, in the request or in the worker, is written here, so both give the same file."""
    if file_format == "xlsx":
        return xlsx_bytes(sheets, on_row), XLSX
    _title, header, rows = sheets[0]
    return csv_bytes(header, rows), MIMETYPES["csv"]
