"""Reading uploaded XLSX safely and writing CSV/XLSX exports.

An XLSX is a zip: a 300 KB file can inflate to 300 MB (DESIGN trap 11), so the archive's
declared sizes are checked before openpyxl reads it; with defusedxml installed, entity
tricks raise ValueError, which becomes a 400 with a clear message.
"""

import io
import zipfile

from flask_babel import gettext as _

from core.errors import DomainError

from core.exports import safe_cell

MAX_UNCOMPRESSED = 100 * 1024 * 1024
MAX_RATIO = 200


class BadUpload(DomainError):
    status, code = 400, "bad-upload"


def check_xlsx_archive(data: bytes) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise BadUpload(_("The file is not a valid .xlsx workbook.")) from None
    total = sum(info.file_size for info in archive.infolist())
    if total > MAX_UNCOMPRESSED or total > MAX_RATIO * max(len(data), 1):
        raise BadUpload(_("The workbook expands to %(mb)s MB; that is too large to read.", mb=total // 2**20))


def read_xlsx_rows(data: bytes) -> list[dict]:
    """Rows of the first sheet as dicts keyed by the header row. Values keep their cell type,
    so a code typed as a number (Excel turns 18 digits into 9.1e+17) can be named and refused
    instead of being silently "fixed" (DESIGN trap 3)."""
    from openpyxl import load_workbook

    check_xlsx_archive(data)
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        rows = workbook.worksheets[0].iter_rows(values_only=True)
        header = [str(h).strip() if h is not None else "" for h in next(rows, [])]
        result = [{header[i]: ("" if v is None else v) for i, v in enumerate(row) if i < len(header)}
                  for row in rows if any(v is not None for v in row)]
        workbook.close()
        return result
    except (ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise BadUpload(_("The workbook could not be read: %(why)s", why=str(exc)[:200])) from None


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
