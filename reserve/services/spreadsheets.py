"""Writing CSV/XLSX exports. Uploads are read by reserve.reporting.files, the one hardened
reader of every upload path."""

from core import exports


def xlsx_bytes(sheet_title: str, header: list[str], rows) -> bytes:
    """A one-sheet workbook (core.exports writes every export's workbook)."""
    return exports.xlsx_bytes([(sheet_title, header, rows)])
