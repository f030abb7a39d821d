"""The one reader of uploaded spreadsheets (XLSX, XLS or CSV): every upload path (report
submissions on the web, the API and the CLI, the demand import, the catalog import) reads
through `read_table`, so every path refuses the same hostile files the same way.

The format is taken from the content, never the file name: a renamed binary is named as such.
XLSX is a zip: member sizes, count and compression ratio are checked first (DESIGN trap 11),
macros are refused, and XML with a DOCTYPE (entity expansion, external entities) is refused
outright since no genuine workbook part carries one. The data are then read as a stream, row
by row (openpyxl read-only for XLSX, the csv module over an incremental decoder for CSV), and
reading stops with a clear refusal at the first limit passed: rows (MAX_ROWS), blank rows
(MAX_BLANK_ROWS), cells in a row (MAX_COLUMNS), characters in a CSV line (MAX_LINE_CHARS).
So the cost of a file is bounded by the limits, not by what the file claims.
"""

import codecs
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
MAX_UNCOMPRESSED = (
    40 * 1024 * 1024
)  # all parts of an .xlsx together, once inflated (50,000 full rows: ~38 MB)
MAX_SHARED_STRINGS = (
    16 * 1024 * 1024
)  # the shared-string table, which openpyxl keeps whole in memory
MAX_RATIO = 100  # inflated size / file size
MAX_MEMBERS = 500
MAX_COLUMNS = 40  # cells in one row; templates have at most 14 columns
MAX_BLANK_ROWS = 10_000  # blank rows in one file (hostile sheets declare a million)
MAX_LINE_CHARS = 100_000  # one CSV line
OLE_VBA_NAMES = ("_VBA_PROJECT".encode("utf-16-le"), "VBA".encode("utf-16-le") + b"\x00\x00")


class BadFile(DomainError):
    status, code = 400, "bad-file"


@dataclass
class Table:
    """The data sheet: its rows as (spreadsheet row number, cells); cells keep their type."""

    format: str
    rows: list[tuple[int, list]] = field(default_factory=list)
    truncated: bool = False
    complete: bool = True  # False: reading stopped after the `head` rows asked for


def sniff_format(data: bytes) -> str:
    if data.startswith(ZIP_MAGIC):
        return "xlsx"
    if data.startswith(OLE_MAGIC):
        return "xls"
    return "csv"


def text_size(data: bytes) -> int:
    """What reading the file costs, in bytes: a workbook's parts as its directory declares them
    once inflated (nothing is inflated here), any other file its own size. read_table still
    enforces the real limits; this only decides where the file is read (reporting services)."""
    if sniff_format(data) == "xlsx":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                return max(sum(member.file_size for member in archive.infolist()), len(data))
        except (zipfile.BadZipFile, ValueError, OSError):
            return len(data)
    return len(data)


def read_table(
    data: bytes, *, max_rows: int = MAX_ROWS, head: int | None = None, max_text: int | None = None
) -> Table:
    """The rows of the data sheet, or BadFile (400) naming why the file cannot be read. With
    `head`, reading stops after that many non-blank rows (`complete` is then False): enough to
    refuse a file by its first rows without paying for the rest. With `max_text`, a file whose
    text (text_size) is larger is refused before anything is parsed: an import that is read
    in the request takes no more than its largest real file needs."""
    if not data or not data.strip():
        raise BadFile(_("The file is empty."))
    if max_text is not None and text_size(data) > max_text:
        raise BadFile(
            _(
                "The file holds %(size)s MB of text once unpacked; this import takes at most %(limit)s MB "
                "(%(rows)s rows). Remove other sheets and unused columns, or split the file.",
                size=f"{text_size(data) / 2**20:.1f}",
                limit=f"{max_text / 2**20:g}",
                rows=f"{max_rows:,}",
            )
        )
    kind = sniff_format(data)
    if kind == "xlsx":
        _check_xlsx(data)
        return _collect(kind, _xlsx_rows(data), max_rows, head)
    if kind == "xls":
        _check_xls(data)
        return _collect(kind, _xls_rows(data), max_rows, head)
    return _collect(kind, _csv_rows(data), max_rows, head)


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
        raise BadFile(
            _("The workbook has too many parts (%(n)s); it cannot be a report.", n=len(members))
        )
    total = sum(m.file_size for m in members)
    strings = sum(m.file_size for m in members if m.filename.lower().endswith("sharedstrings.xml"))
    if total > MAX_UNCOMPRESSED or total > MAX_RATIO * len(data) or strings > MAX_SHARED_STRINGS:
        raise BadFile(
            _("The workbook expands to %(mb)s MB; that is too large to read.", mb=total // 2**20)
        )
    if any(name.lower().endswith("vbaproject.bin") for name in names):
        raise BadFile(
            _("Workbooks with macros are not accepted; save it as a plain .xlsx workbook.")
        )
    for member in members:
        if member.filename.endswith((".xml", ".rels")) and _has_doctype(archive, member):
            raise BadFile(
                _("The workbook contains XML entity declarations, which are not accepted.")
            )


def _has_doctype(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> bool:
    tail = b""
    try:
        with archive.open(member) as stream:
            first = stream.read(4)
            if (
                first.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in first
            ):  # UTF-16/32 would hide a DOCTYPE
                return True
            tail = first
            while chunk := stream.read(1 << 20):
                window = tail + chunk
                if b"<!DOCTYPE" in window or b"<!ENTITY" in window:
                    return True
                tail = chunk[-16:]
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError, RuntimeError):
        raise BadFile(
            _("The file is not a valid .xlsx workbook.")
        ) from None  # zlib.error: a corrupt deflate stream
    return False


def _check_xls(data: bytes) -> None:
    if any(name in data for name in OLE_VBA_NAMES):
        raise BadFile(
            _("Workbooks with macros are not accepted; save it as a plain .xlsx workbook.")
        )


def _unreadable_workbook(exc: Exception) -> BadFile:
    """The libraries' own messages are English and name their internals: log-worthy, not user text."""
    return BadFile(
        _(
            "The workbook could not be read (%(kind)s); save it again from Excel or WPS as .xlsx.",
            kind=type(exc).__name__,
        )
    )


def _xlsx_rows(data: bytes):
    """Rows of the sheet named 数据 (the template's), else the first visible sheet, as tuples of
    values, yielded as they are parsed.

    openpyxl reads the workbook's parts (shared strings, styles for dates) and reads each row's
    cells, but the sheet itself is walked here: its read-only worksheet first parses the whole
    sheet once more to look for a `<dimension>` element the file may not have, and parses
    through defusedxml's pure-Python parser, together about six times slower. The C parser is
    safe here because `_check_xlsx` refused every part with a DOCTYPE or not in UTF-8 before.
    Only the current row is kept: finished elements are removed from their parent.
    """
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.styles.stylesheet import apply_stylesheet

    try:
        reader = ExcelReader(io.BytesIO(data), read_only=True, data_only=True)
        reader.read_manifest()
        reader.read_strings()
        reader.read_workbook()
        apply_stylesheet(reader.archive, reader.wb)
        sheets = [
            (sheet, rel)
            for sheet, rel in reader.parser.find_sheets()
            if "chartsheet" not in rel.Type and rel.target in reader.valid_files
        ]
        if not sheets:
            raise BadFile(_("The workbook has no worksheet."))
        named = [pair for pair in sheets if pair[0].name == "数据"]
        visible = [pair for pair in sheets if (pair[0].state or "visible") == "visible"]
        _sheet, rel = (named or visible or sheets)[0]
        cells = _CellReader(reader.shared_strings, reader.wb)
        with reader.archive.open(rel.target) as source:
            yield from _sheet_rows(source, cells)
    except BadFile:
        raise
    except Exception as exc:  # noqa: BLE001 - openpyxl and the XML parser raise many types
        raise _unreadable_workbook(exc) from None


MAIN_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
ROW_TAG, CELL_TAG, VALUE_TAG = MAIN_NS + "row", MAIN_NS + "c", MAIN_NS + "v"
INLINE_TAG, TEXT_TAG, PHONETIC_TAG = MAIN_NS + "is", MAIN_NS + "t", MAIN_NS + "rPh"


class _CellReader:
    """A cell's value as openpyxl's data_only reading gives it (shared and inline strings,
    numbers as int or float, dates from date-formatted numbers, booleans, error codes as text),
    in a fraction of the time: openpyxl builds a rich-text object for every inline string."""

    def __init__(self, shared_strings, workbook):
        from openpyxl.utils.datetime import from_excel

        self.strings, self.epoch, self.from_excel = shared_strings, workbook.epoch, from_excel
        self.date_styles = set(workbook._date_formats) | set(workbook._timedelta_formats)

    def value(self, cell):
        kind = cell.get("t", "n")
        if kind == "inlineStr":
            inline = cell.find(INLINE_TAG)
            if inline is None:
                return None
            if inline.find(PHONETIC_TAG) is None:  # the common case: no phonetic runs to leave out
                return "".join(t.text or "" for t in inline.iter(TEXT_TAG))
            phonetic = _phonetic_texts(inline)
            return "".join(t.text or "" for t in inline.iter(TEXT_TAG) if t not in phonetic)
        raw = cell.findtext(VALUE_TAG)
        if raw is None:
            return None
        if kind == "s":
            return str(self.strings[int(raw)])
        if kind == "n":
            number = float(raw) if any(ch in raw for ch in ".eE") else int(raw)
            if cell.get("s") and int(cell.get("s")) in self.date_styles:
                return self.from_excel(number, self.epoch)
            return number
        if kind == "b":
            return raw.strip() in ("1", "true")
        if kind == "d":
            from openpyxl.utils.datetime import from_ISO8601

            return from_ISO8601(raw)
        return raw  # "str" (a formula's text result) and "e" (an error code such as #N/A)


def _phonetic_texts(inline) -> set:
    return {t for run in inline.iter(PHONETIC_TAG) for t in run.iter(TEXT_TAG)}


def _column_index(reference: str) -> int:
    index = 0
    for ch in reference:
        if "A" <= ch <= "Z":
            index = index * 26 + ord(ch) - 64
        else:
            break
    return index


def _sheet_rows(source, cells: _CellReader):
    # The C parser is safe here: _check_xlsx refused every part with a DOCTYPE or not in UTF-8.
    from xml.etree.ElementTree import iterparse  # nosec B405

    stack, counter, in_row = [], 0, False
    for event, element in iterparse(source, events=("start", "end")):  # nosec B314
        if event == "start":
            stack.append(element)
            in_row = in_row or element.tag == ROW_TAG
            continue
        stack.pop()
        if in_row and element.tag != ROW_TAG:
            continue  # a cell or its value: read with their row
        in_row = False
        if element.tag == ROW_TAG:
            number = int(element.get("r") or counter + 1)
            while counter + 1 < number:  # rows the file leaves out are blank rows
                counter += 1
                yield ()
            if number > counter:
                counter = number
                yield _row_values(element, cells)
        if stack:
            stack[-1].remove(element)  # the only child left: finished siblings were removed before


def _row_values(row, cells: _CellReader) -> tuple:
    values, column = [], 0
    for cell in row.iter(CELL_TAG):
        reference = cell.get("r")
        column = _column_index(reference) if reference else column + 1
        if column > MAX_COLUMNS:
            return (None,) * (
                MAX_COLUMNS + 1
            )  # refused by the caller without building 16,384 cells
        if column > len(values):
            values.extend([None] * (column - len(values)))
        values[column - 1] = cells.value(cell)
    return tuple(values)


def _xls_rows(data: bytes):
    """Legacy .xls (at most 65,536 rows, under MAX_CONTENT_LENGTH): calamine reads the sheet."""
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        names = workbook.sheet_names
        visible = [
            m.name for m in workbook.sheets_metadata if str(m.visible).lower().endswith("visible")
        ]
        sheet = workbook.get_sheet_by_name("数据" if "数据" in names else (visible or names)[0])
        if sheet.total_width > MAX_COLUMNS * 4 or sheet.total_height > 65_536:
            raise BadFile(_("The workbook's sheet is larger than a report can be."))
        yield from sheet.iter_rows()
    except BadFile:
        raise
    except Exception as exc:  # noqa: BLE001 - calamine raises its own error types and ValueError
        raise _unreadable_workbook(exc) from None


def _csv_encoding(data: bytes) -> str:
    """UTF-8 (with or without BOM), else GB18030: checked in chunks, so no second copy of the
    file is made just to find out."""
    if b"\x00" in data[:8192]:
        raise BadFile(_("The file is not a spreadsheet or CSV text (it looks like a binary file)."))
    for encoding in ("utf-8-sig", "gb18030"):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            for start in range(0, len(data), 1 << 20):
                decoder.decode(data[start : start + (1 << 20)])
            decoder.decode(b"", final=True)
            return encoding
        except UnicodeDecodeError:
            continue
    raise BadFile(_("The CSV file is neither UTF-8 nor GB18030 text; save it again as UTF-8 CSV."))


def _bounded_lines(stream):
    for line in stream:
        if len(line) > MAX_LINE_CHARS:
            raise BadFile(
                _(
                    "A line of the CSV file is longer than %(n)s characters; it cannot be a report row.",
                    n=MAX_LINE_CHARS,
                )
            )
        yield line


def _csv_rows(data: bytes):
    stream = io.TextIOWrapper(io.BytesIO(data), encoding=_csv_encoding(data), newline="")
    try:
        yield from csv.reader(_bounded_lines(stream))
    except csv.Error as exc:
        raise BadFile(_("The CSV file could not be read: %(why)s", why=str(exc)[:200])) from None


def _is_blank(cells) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


def _collect(fmt: str, rows, max_rows: int, head: int | None = None) -> Table:
    """Keep the non-blank rows (without trailing empty cells) with their spreadsheet numbers,
    stopping at the first limit passed (or after `head` rows)."""
    table, blank = Table(fmt), 0
    for number, cells in enumerate(rows, start=1):
        if head is not None and len(table.rows) >= head:
            table.complete = False
            if hasattr(rows, "close"):
                rows.close()  # the workbook's parser and archive are closed now, not when collected
            break
        if (
            len(cells) > MAX_COLUMNS
        ):  # refused as it is, even blank: scanning 16,384 cells a row is the attack
            raise BadFile(
                _(
                    "Row %(row)s has more than %(n)s columns; a report has at most %(n)s.",
                    row=number,
                    n=MAX_COLUMNS,
                )
            )
        if _is_blank(cells):
            blank += 1
            if blank > MAX_BLANK_ROWS:
                raise BadFile(
                    _(
                        "The file has more than %(n)s blank rows; delete them and upload it again.",
                        n=MAX_BLANK_ROWS,
                    )
                )
            continue
        if len(table.rows) >= max_rows + 2:  # two header rows
            table.truncated = True
            raise BadFile(
                _("The file has more than %(n)s rows; split it into several reports.", n=max_rows)
            )
        end = len(cells)
        while end and cells[end - 1] in (None, ""):
            end -= 1
        table.rows.append((number, list(cells[:end])))
    if not table.rows:
        raise BadFile(_("The file is empty."))
    return table
