"""A province's first day: its node agencies imported from one CSV/XLSX file.

The file is read and checked like a report (reserve/reporting: the same reader, the same
template layout with Chinese headers and a hidden machine row, the same cell rules and the same
per-cell error report). Every row is checked before anything is written; one bad row and nothing
is imported. Rows may name a parent that is already in the database or further down the file;
parents are created first.
"""

from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import select

from core.policy import may_administer_system
from core.errors import Invalid, NotAllowed
from core.extensions import db

from . import rules
from core.organisation import Agency, AgencyKind, Region
from .reporting import workbooks
from .reporting.files import read_table
from .reporting.standard import Column, Problem, ReportKind, read_cell
from .reporting.validation import CellError, Validation, read_structure
from .rules import N_

AGENCY_CODE = r"^[A-Za-z0-9_.-]{1,32}$"
MAX_AGENCIES = 20_000  # a national tree has ~3,200; the reader itself stops at 200,000 rows
KIND = {
    "省直部门": AgencyKind.PROVINCIAL_DEPARTMENT.value,
    "市级单位": AgencyKind.CITY.value,
    "县级单位": AgencyKind.COUNTY.value,
    "中央驻地方单位": AgencyKind.CENTRAL_VERTICAL.value,
}

AGENCIES = ReportKind(
    "agencies",
    "节点单位",
    (
        Column(
            "code",
            "单位编码",
            "code",
            True,
            pattern=AGENCY_CODE,
            max_length=32,
            note="本单位在系统中的唯一编码，字母、数字、-、_、.，最长32位，例如 SX-YJT",
        ),
        Column("name", "单位名称", "text", True, max_length=200),
        Column(
            "parent_code",
            "上级单位编码",
            "code",
            pattern=AGENCY_CODE,
            max_length=32,
            note="空白为顶级单位；可以是已导入的单位，也可以是本文件中的另一行",
        ),
        Column(
            "region_code",
            "行政区划代码",
            "code",
            True,
            pattern=r"^\d{6}$",
            max_length=6,
            note="GB/T 2260 六位代码",
        ),
        Column("kind", "单位类型", "choice", True, choices=KIND),
        Column(
            "credit_code", "统一社会信用代码", "code", max_length=18, note="GB 32100 十八位，可空"
        ),
        Column("contact_name", "联系人", "text", max_length=50),
        Column("contact_phone", "联系电话", "text", max_length=30),
    ),
    key=("code",),
    group="code",
    example={
        "code": "SX-YJT",
        "name": "山西省应急管理厅",
        "region_code": "140000",
        "kind": "省直部门",
    },
)


@dataclass
class AgencyImport:
    rows: int = 0
    created: list[str] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def template(fmt: str) -> bytes:
    """A blank agencies template (xlsx or csv) with the example row on its instructions."""
    return workbooks.template_xlsx(AGENCIES) if fmt == "xlsx" else workbooks.template_csv(AGENCIES)


def import_agencies_as(user, data: bytes) -> AgencyImport:
    """The same import from the web API: administrators only; a file with errors is a 422 whose
    `errors.rows` name each bad cell, and nothing is imported."""
    if not may_administer_system(user):
        raise NotAllowed(_("Only administrators import agencies."))
    outcome = import_agencies(data)
    if not outcome.ok:
        raise Invalid(
            _("%(n)s errors in the file: nothing was imported.", n=len(outcome.errors)),
            errors={"rows": outcome.errors},
        )
    return outcome


def import_agencies(data: bytes) -> AgencyImport:
    """Check every row of the file, then create all its agencies in one transaction, or none.
    Raises reporting.files.BadFile (400) for a file that cannot be read at all."""
    table = read_table(data)
    result = Validation(AGENCIES)
    read_structure(AGENCIES, table.rows, result)
    records = [] if result.errors else _read_rows(table.rows[result.header_rows :], result)
    outcome = AgencyImport(rows=len(table.rows) - result.header_rows)
    if not result.errors and not records:
        result.errors.append(
            CellError(None, None, None, None, None, Problem(N_("the file has no agency rows")))
        )
    if len(records) > MAX_AGENCIES:
        result.errors.append(
            CellError(
                None,
                None,
                None,
                None,
                None,
                Problem(N_("the file has more than %(n)s agencies; split it"), {"n": MAX_AGENCIES}),
            )
        )
    if not result.errors:
        _check_references(records, result)
    if result.errors:
        outcome.errors = [
            _described(e) for e in sorted(result.errors, key=lambda e: (e.row or 0, e.column or 0))
        ]
        return outcome
    created = _insert(records)
    db.session.commit()
    outcome.created = created
    return outcome


def _read_rows(rows, result: Validation) -> list[dict]:
    columns = sorted(result.columns.items())
    records, seen = [], {}
    for number, cells in rows:
        record, errors = {c.key: None for c in AGENCIES.columns}, []
        for index, column in columns:
            value, problem = read_cell(column, cells[index] if index < len(cells) else None)
            if problem is None and column.key == "credit_code" and value:
                problem = (
                    Problem(message) if (message := rules.credit_code_problem(value)) else None
                )
            if problem:
                errors.append(
                    CellError(
                        number,
                        index,
                        column.key,
                        column.header,
                        cells[index] if index < len(cells) else None,
                        problem,
                    )
                )
            record[column.key] = value
        if not errors and record["code"] in seen:
            errors.append(
                _cell(
                    result,
                    number,
                    "code",
                    record,
                    Problem(
                        N_("the same row (%(key)s) already appears in row %(row)s"),
                        {"key": record["code"], "row": seen[record["code"]]},
                    ),
                )
            )
        if errors:
            result.errors += errors
            continue
        seen[record["code"]] = number
        record["_row"] = number
        records.append(record)
    return records


def _cell(result: Validation, number: int, key: str, record: dict, problem: Problem) -> CellError:
    index = next((i for i, c in result.columns.items() if c.key == key), None)
    return CellError(number, index, key, AGENCIES.column(key).header, record.get(key), problem)


def _check_references(records: list[dict], result: Validation) -> None:
    """Codes and credit codes not taken, regions current, parents known and without a cycle."""
    codes = [r["code"] for r in records]
    existing = (
        set(db.session.scalars(select(Agency.code).where(Agency.code.in_(codes))))
        if codes
        else set()
    )
    credit = [r["credit_code"] for r in records if r["credit_code"]]
    taken_credit = (
        set(db.session.scalars(select(Agency.credit_code).where(Agency.credit_code.in_(credit))))
        if credit
        else set()
    )
    regions = set(db.session.scalars(select(Region.code).where(Region.valid_to.is_(None))))
    parents = {r["parent_code"] for r in records if r["parent_code"]} - set(codes)
    known_parents = (
        set(db.session.scalars(select(Agency.code).where(Agency.code.in_(parents))))
        if parents
        else set()
    )
    in_file = {r["code"]: r for r in records}
    credit_rows: dict[str, int] = {}
    for r in records:

        def fail(key, message, **params):
            result.errors.append(_cell(result, r["_row"], key, r, Problem(message, params)))

        if r["code"] in existing:
            fail("code", N_("an agency with code %(code)s already exists"), code=r["code"])
        if r["region_code"] not in regions:
            fail(
                "region_code",
                N_("%(code)s is not a current GB/T 2260 region code"),
                code=r["region_code"],
            )
        if r["credit_code"]:
            if r["credit_code"] in taken_credit:
                fail(
                    "credit_code",
                    N_("another agency already has the credit code %(code)s"),
                    code=r["credit_code"],
                )
            elif r["credit_code"] in credit_rows:
                fail(
                    "credit_code",
                    N_("the credit code %(code)s already appears in row %(row)s"),
                    code=r["credit_code"],
                    row=credit_rows[r["credit_code"]],
                )
            credit_rows.setdefault(r["credit_code"], r["_row"])
        parent = r["parent_code"]
        if parent == r["code"]:
            fail("parent_code", N_("an agency cannot be its own parent"))
        elif parent and parent not in in_file and parent not in known_parents:
            fail(
                "parent_code",
                N_("no agency with code %(code)s, neither imported nor in this file"),
                code=parent,
            )
        elif parent and _is_in_cycle(r["code"], in_file):
            fail("parent_code", N_("the parent codes of this row go round in a circle"))


def _is_in_cycle(code: str, in_file: dict[str, dict]) -> bool:
    seen, current = set(), code
    while current in in_file:
        if current in seen:
            return True
        seen.add(current)
        current = in_file[current]["parent_code"]
    return False


def _insert(records: list[dict]) -> list[str]:
    """Parents before children (the file's order otherwise); a path is its parent's plus its own id."""
    in_file = {r["code"]: r for r in records}
    depth: dict[str, int] = {}
    for record in records:
        chain, code = [], record["code"]
        while code in in_file and code not in depth:
            chain.append(code)
            code = in_file[code]["parent_code"]
        base = depth.get(code, -1)
        for offset, link in enumerate(reversed(chain), start=1):
            depth[link] = base + offset
    outside = {
        r["parent_code"] for r in records if r["parent_code"] and r["parent_code"] not in in_file
    }
    placed = (
        {a.code: a for a in db.session.scalars(select(Agency).where(Agency.code.in_(outside)))}
        if outside
        else {}
    )
    for record in sorted(records, key=lambda r: depth[r["code"]]):
        parent = placed.get(record["parent_code"]) if record["parent_code"] else None
        agency = Agency(
            code=record["code"],
            name=record["name"],
            kind=record["kind"],
            parent=parent,
            region_code=record["region_code"],
            credit_code=record["credit_code"],
            contact_name=record["contact_name"],
            contact_phone=record["contact_phone"],
        )
        db.session.add(agency)
        db.session.flush()
        agency.path = f"{parent.path if parent else '/'}{agency.id}/"
        placed[record["code"]] = agency
    db.session.flush()
    return [r["code"] for r in records]


def _described(error: CellError) -> dict:
    return {
        "row": error.row,
        "cell": error.cell,
        "header": error.header,
        "value": None if error.value is None else str(error.value),
        "message": _(error.problem.message, **error.problem.params),
    }
