"""Reading an uploaded report file (XLSX, XLS or CSV) into rows of cells, refusing hostile files
before any parser sees them.

The format is taken from the content, never the file name: a renamed binary is named as such.
XLSX is a zip: member sizes, count and compression ratio are checked first (DESIGN trap 11),
macros are refused, and XML with a DOCTYPE (entity expansion, external entities) is refused
outright since no genuine workbook part carries one. Rows are read lazily and reading stops
past MAX_ROWS, so memory stays bounded whatever the file claims.
"""

import csv
import io
import zipfile
import zlib
from dataclasses import dataclass, field

from flask_babel import gettext as _

from core.errors import DomainError

from .standard import MAX_ROWS

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
MAX_UNCOMPRESSED = 150 * 1024 * 1024
MAX_RATIO = 200
MAX_MEMBERS = 500
OLE_VBA_NAMES = ("_VBA_PROJECT".encode("utf-16-le"), "VBA".encode("utf-16-le") + b"\x00\x00")


class BadFile(DomainError):
    status, code = 400, "bad-file"


@dataclass
class Table:
    """The data sheet: its rows as (spreadsheet row number, cells); cells keep their type."""

    format: str
    rows: list[tuple[int, list]] = field(default_factory=list)
    truncated: bool = False


def sniff_format(data: bytes) -> str:
    if data.startswith(ZIP_MAGIC):
        return "xlsx"
    if data.startswith(OLE_MAGIC):
        return "xls"
    return "csv"


def read_table(data: bytes) -> Table:
    if not data or not data.strip():
        raise BadFile(_("The file is empty."))
    kind = sniff_format(data)
    if kind == "xlsx":
        _check_xlsx(data)
        return _read_workbook(data, "xlsx")
    if kind == "xls":
        _check_xls(data)
        return _read_workbook(data, "xls")
    return _read_csv(data)


def _check_xlsx(data: bytes) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, ValueError):
        raise BadFile(_("The file is not a valid .xlsx workbook.")) from None
    names = {m.filename for m in members}
    if "xl/workbook.xml" not in names:
        raise BadFile(_("The file is a zip archive but not an Excel workbook (.xlsx)."))
    if len(members) > MAX_MEMBERS:
        raise BadFile(_("The workbook has too many parts (%(n)s); it cannot be a report.", n=len(members)))
    total = sum(m.file_size for m in members)
    if total > MAX_UNCOMPRESSED or total > MAX_RATIO * len(data):
        raise BadFile(_("The workbook expands to %(mb)s MB; that is too large to read.", mb=total // 2**20))
    if any(name.lower().endswith("vbaproject.bin") for name in names):
        raise BadFile(_("Workbooks with macros are not accepted; save it as a plain .xlsx workbook."))
    for member in members:
        if member.filename.endswith((".xml", ".rels")) and _has_doctype(archive, member):
            raise BadFile(_("The workbook contains XML entity declarations, which are not accepted."))


def _has_doctype(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> bool:
    tail = b""
    try:
        with archive.open(member) as stream:
            while chunk := stream.read(1 << 20):
                window = tail + chunk
                if b"<!DOCTYPE" in window or b"<!ENTITY" in window:
                    return True
                tail = chunk[-16:]
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError, RuntimeError):
        raise BadFile(_("The file is not a valid .xlsx workbook.")) from None  # zlib.error: a corrupt deflate stream
    return False


def _check_xls(data: bytes) -> None:
    if any(name in data for name in OLE_VBA_NAMES):
        raise BadFile(_("Workbooks with macros are not accepted; save it as a plain .xlsx workbook."))


def _data_sheet(workbook):
    """The sheet named 数据 (the template's), else the first visible sheet."""
    visible = [m.name for m in workbook.sheets_metadata if str(m.visible).lower().endswith("visible")]
    names = workbook.sheet_names
    if "数据" in names:
        return workbook.get_sheet_by_name("数据")
    return workbook.get_sheet_by_name((visible or names)[0])


def _read_workbook(data: bytes, fmt: str) -> Table:
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        rows = _data_sheet(workbook).iter_rows()
        return _collect(fmt, rows)
    except BadFile:
        raise
    except Exception as exc:  # calamine raises its own error types and ValueError for corrupt parts
        raise BadFile(_("The workbook could not be read: %(why)s", why=str(exc)[:200])) from None


def _decode(data: bytes) -> str:
    if b"\x00" in data[:8192]:
        raise BadFile(_("The file is not a spreadsheet or CSV text (it looks like a binary file)."))
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise BadFile(_("The CSV file is neither UTF-8 nor GB18030 text; save it again as UTF-8 CSV."))


def _read_csv(data: bytes) -> Table:
    text = _decode(data)
    try:
        return _collect("csv", csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise BadFile(_("The CSV file could not be read: %(why)s", why=str(exc)[:200])) from None


def _collect(fmt: str, rows) -> Table:
    table = Table(fmt)
    for number, cells in enumerate(rows, start=1):
        if not any(c not in (None, "") and not (isinstance(c, str) and not c.strip()) for c in cells):
            continue
        if len(table.rows) >= MAX_ROWS + 2:  # two header rows
            table.truncated = True
            raise BadFile(_("The file has more than %(n)s rows; split it into several reports.", n=MAX_ROWS))
        while cells and cells[-1] in (None, ""):
            cells = cells[:-1]
        table.rows.append((number, list(cells)))
    if not table.rows:
        raise BadFile(_("The file is empty."))
    return table
