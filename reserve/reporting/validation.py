"""Validating a report table against the data standard: structure, cells, rows, references,
duplicates. Pure: the service loads what the rules refer to (the agency's depots, the catalog,
the regions) into a `Context` of plain values.

Every problem is a `CellError` at a spreadsheet row and column, so it can be shown against the
cell it belongs to.
"""

import difflib
from dataclasses import dataclass, field

from ..rules import N_
from .standard import (
    KINDS,
    TEMPLATE_VERSION,
    Column,
    Problem,
    ReportKind,
    column_letter,
    parse_marker,
    read_cell,
    row_problems,
)


@dataclass(frozen=True)
class DepotRef:
    id: int
    agency_id: int
    status: str
    classification: str


@dataclass
class Context:
    agency_id: int
    depots: dict[str, DepotRef]  # the agency's own depots by code
    foreign_depots: set[str]  # codes of other agencies' depots
    material_codes: dict[str, int]  # catalog code -> id
    material_names: dict[str, list[int]]  # catalog name -> ids (a name can have several specs)
    aliases: dict[str, int]  # the agency's own names -> id
    regions: set[str]  # valid GB/T 2260 codes
    _suggestions: dict = field(default_factory=dict)

    def suggest(self, name: str) -> list[str]:
        if name not in self._suggestions:
            pool = list(self.material_names) + list(self.aliases)
            self._suggestions[name] = (
                difflib.get_close_matches(name, pool, n=3, cutoff=0.4)
                if len(self._suggestions) < 500
                else []
            )
        return self._suggestions[name]


@dataclass(frozen=True)
class CellError:
    row: int | None  # spreadsheet row (1-based), None for the whole file
    column: int | None  # 0-based column index, None for the whole row or file
    key: str | None
    header: str | None
    value: object
    problem: Problem

    @property
    def cell(self) -> str | None:
        if self.row is None:
            return None
        return (
            f"{column_letter(self.column)}{self.row}" if self.column is not None else str(self.row)
        )


@dataclass
class Validation:
    kind: ReportKind
    columns: dict[int, Column] = field(default_factory=dict)  # column index -> column
    records: list[dict] = field(default_factory=list)
    errors: list[CellError] = field(default_factory=list)
    header_rows: int = 1
    version: int | None = None
    stopped_at: int | None = (
        None  # the row where checking stopped: MAX_ERRORS passed, or a bad header
    )

    @property
    def ok(self) -> bool:
        return not self.errors


def _header_map(kind: ReportKind, cells: list) -> dict[int, Column | str | None]:
    by_label = {c.header: c for c in kind.columns} | {c.key: c for c in kind.columns}
    mapped = {}
    for index, cell in enumerate(cells):
        label = str(cell).strip().rstrip("*").strip() if cell not in (None, "") else ""
        mapped[index] = by_label.get(label) or (label if label else None)
    return mapped


def _is_machine_row(kind: ReportKind, cells: list) -> bool:
    keys = {c.key for c in kind.columns}
    filled = [str(c).strip() for c in cells if c not in (None, "")]
    return (
        bool(filled)
        and all(c in keys or parse_marker(c) for c in filled)
        and any(c in keys for c in filled)
    )


def read_structure(kind: ReportKind, rows: list[tuple[int, list]], result: Validation) -> None:
    """Map columns to the standard from the header row (Chinese headers or machine keys) and the
    optional hidden machine row, whose marker cell names the kind and template version."""
    number, first = rows[0]
    mapping = _header_map(kind, first)
    if len(rows) > 1 and _is_machine_row(kind, rows[1][1]):
        result.header_rows = 2
        for index, cell in enumerate(rows[1][1]):
            if marker := parse_marker(cell):
                _check_marker(kind, marker, rows[1][0], index, result)
                mapping[index] = None
            elif cell not in (None, ""):
                mapping[index] = kind.column(str(cell).strip())
    if not result.header_rows == 2:
        for index, cell in enumerate(first):
            if marker := parse_marker(cell):
                _check_marker(kind, marker, number, index, result)
                mapping[index] = None
    seen = {}
    for index, column in mapping.items():
        if isinstance(column, str):
            result.errors.append(
                CellError(
                    number,
                    index,
                    None,
                    column,
                    column,
                    Problem(
                        N_('unknown column "%(header)s": use the template\'s headers'),
                        {"header": column},
                    ),
                )
            )
        elif isinstance(column, Column):
            if column.key in seen:
                result.errors.append(
                    CellError(
                        number,
                        index,
                        column.key,
                        column.header,
                        column.header,
                        Problem(N_('column "%(header)s" appears twice'), {"header": column.header}),
                    )
                )
            seen[column.key] = index
            result.columns[index] = column
    for column in kind.columns:
        if column.required and column.key not in seen:
            result.errors.append(
                CellError(
                    number,
                    None,
                    column.key,
                    column.header,
                    None,
                    Problem(
                        N_('the required column "%(header)s" is missing'), {"header": column.header}
                    ),
                )
            )


def _check_marker(kind, marker, row, index, result):
    name, version = marker
    result.version = version
    if name != kind.name:
        other = KINDS[name].title if name in KINDS else name
        result.errors.append(
            CellError(
                row,
                index,
                None,
                None,
                f"#{name}/{version}",
                Problem(
                    N_('this file is a template for "%(other)s", not "%(kind)s"'),
                    {"other": other, "kind": kind.title},
                ),
            )
        )
    elif version != TEMPLATE_VERSION:
        result.errors.append(
            CellError(
                row,
                index,
                None,
                None,
                f"#{name}/{version}",
                Problem(
                    N_(
                        "template version %(old)s is not supported; download the current template (version %(new)s)"
                    ),
                    {"old": version, "new": TEMPLATE_VERSION},
                ),
            )
        )


MAX_ERRORS = 1000  # checking stops once a file has more: nobody reads further, and a file of
# 200,000 bad rows would otherwise cost a minute and 400,000 error objects


def validate(
    kind_name: str, rows: list[tuple[int, list]], ctx: Context, *, max_errors: int = MAX_ERRORS
) -> Validation:
    """Check every row, or the rows up to the one that brings the errors past `max_errors`
    (`stopped_at` names it; the rest of the file is not checked)."""
    kind = KINDS[kind_name]
    result = Validation(kind)
    read_structure(kind, rows, result)
    if result.errors:
        result.stopped_at = rows[0][0]  # the columns cannot be read: no row is checked
        return result
    index_of = {c.key: i for i, c in result.columns.items()}
    cells_plan = sorted(result.columns.items())
    absent = [c.key for c in kind.columns if c.key not in index_of]
    seen_keys: dict[tuple, int] = {}
    for number, cells in rows[result.header_rows :]:
        record, errors = _read_row(kind, cells_plan, absent, index_of, number, cells)
        errors += _references(kind, record, number, index_of, ctx)
        if not errors:
            key = tuple(record[k] for k in kind.key)
            if key in seen_keys:
                errors.append(
                    _row_error(
                        number,
                        Problem(
                            N_("the same row (%(key)s) already appears in row %(row)s"),
                            {"key": ", ".join(map(str, key)), "row": seen_keys[key]},
                        ),
                    )
                )
            else:
                seen_keys[key] = number
        if errors:
            result.errors += errors
            if len(result.errors) > max_errors:
                result.stopped_at = number
                break
        else:
            record["_row"] = number
            result.records.append(record)
    return result


def _row_error(number, problem):
    return CellError(number, None, None, None, None, problem)


def _read_row(kind, cells_plan, absent, index_of, number, cells):
    record, errors = dict.fromkeys(absent), []
    width = len(cells)
    for index, column in cells_plan:
        raw = cells[index] if index < width else None
        if (
            raw is None or raw == ""
        ) and not column.required:  # most cells of a template row are blank
            record[column.key] = None
            continue
        value, problem = read_cell(column, raw)
        if problem:
            errors.append(CellError(number, index, column.key, column.header, raw, problem))
        record[column.key] = value
    if not errors:
        for key, problem in row_problems(kind.name, record).items():
            column = kind.column(key)
            errors.append(
                CellError(number, index_of.get(key), key, column.header, record.get(key), problem)
            )
    return record, errors


def _fail(errors, kind, record, number, index_of, key, problem):
    column = kind.column(key)
    errors.append(
        CellError(number, index_of.get(key), key, column.header, record.get(key), problem)
    )


def _references(kind, record, number, index_of, ctx: Context) -> list[CellError]:
    errors = []
    code = record.get("depot_code")
    if code:
        if code in ctx.foreign_depots:
            _fail(
                errors,
                kind,
                record,
                number,
                index_of,
                "depot_code",
                Problem(N_("depot %(code)s belongs to another agency"), {"code": code}),
            )
        elif code not in ctx.depots and kind.name != "depots":
            _fail(
                errors,
                kind,
                record,
                number,
                index_of,
                "depot_code",
                Problem(
                    N_(
                        "no depot with code %(code)s in this agency: report it in the depots report first"
                    ),
                    {"code": code},
                ),
            )
        elif kind.name == "stock" and ctx.depots[code].status != "active":
            _fail(
                errors,
                kind,
                record,
                number,
                index_of,
                "depot_code",
                Problem(N_("depot %(code)s is closed"), {"code": code}),
            )
    for key in ("region_code", "plan_region_code"):
        if record.get(key) and key in index_of and record[key] not in ctx.regions:
            _fail(
                errors,
                kind,
                record,
                number,
                index_of,
                key,
                Problem(
                    N_("%(code)s is not a current GB/T 2260 region code"), {"code": record[key]}
                ),
            )
    if kind.name in ("stock", "norms"):
        _resolve_material(
            record,
            ctx,
            lambda key, problem: _fail(errors, kind, record, number, index_of, key, problem),
        )
    return errors


def _resolve_material(record, ctx: Context, fail) -> None:
    code, name = record.get("material_code"), record.get("material_name")
    if code:
        if code not in ctx.material_codes:
            fail(
                "material_code",
                Problem(N_("material code %(code)s is not in the catalog"), {"code": code}),
            )
        else:
            record["material_id"] = ctx.material_codes[code]
        return
    if not name:
        return  # the code's own cell error, or row_problems, names what is missing
    if name in ctx.aliases:
        record["material_id"] = ctx.aliases[name]
        return
    ids = ctx.material_names.get(name, [])
    if len(ids) == 1:
        record["material_id"] = ids[0]
    elif len(ids) > 1:
        fail(
            "material_name",
            Problem(
                N_(
                    '"%(name)s" matches %(n)s catalog materials: give the material code or '
                    "map your name as an alias"
                ),
                {"name": name, "n": len(ids)},
            ),
        )
    else:
        suggestions = ctx.suggest(name)
        message = (
            N_(
                '"%(name)s" is not a catalog material or one of your aliases; did you mean: %(suggestions)s?'
            )
            if suggestions
            else N_('"%(name)s" is not a catalog material or one of your aliases')
        )
        fail(
            "material_name", Problem(message, {"name": name, "suggestions": "、".join(suggestions)})
        )
