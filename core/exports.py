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
