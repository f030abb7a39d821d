"""Writing CSV/XLSX exports. Uploads are read by reserve.reporting.files, the one hardened
reader of every upload path."""

import io

from core.exports import safe_cell


def xlsx_bytes(sheet_title: str, header: list[str], rows) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(sheet_title[:31])
    sheet.append(header)
    for row in rows:
        sheet.append([safe_cell(v) for v in row])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
