"""Parser fuzzing with hypothesis: the spreadsheet importer (`read_table`, `validate`), the
planner's problem loader (`load_problem`) and the JSON push (`POST /api/v1/submissions/push`).

Each may refuse its input only in its documented way: `BadFile` (a 4xx), cell errors in the
`Validation`, `ProblemError`, a 4xx answer. Anything else (an uncaught exception, a 5xx) fails.

Bounded and derandomised for CI; a longer run by hand:

    PARSER_EXAMPLES=2000 .venv/bin/python -m pytest -q tests/security/test_fuzz_parsers.py
"""

import io
import json
import os
import zipfile
from datetime import date, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from dispatch.planning.problem import ProblemError, load_problem
from reserve.reporting.files import BadFile, read_table
from reserve.reporting.standard import KINDS
from reserve.reporting.validation import Context, DepotRef, Validation, validate
from tests.dispatch.planning.planning_factories import material, point, problem, source, travel

EXAMPLES = int(os.environ.get("PARSER_EXAMPLES", "150"))
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.filter_too_much,
    ],
)

HEADERS = sorted(
    {c.key for kind in KINDS.values() for c in kind.columns}
    | {c.header for kind in KINDS.values() for c in kind.columns}
)
cells = st.one_of(
    st.none(),
    st.text(max_size=30),
    st.sampled_from(HEADERS),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.dates(),
    st.datetimes(),
    st.just("1010101001"),
    st.just("9.11101085513850e+17"),
)


def _storable(cell):
    """What openpyxl can write (a workbook from Excel has no NaN or control characters either)."""
    if isinstance(cell, str):
        return ILLEGAL_CHARACTERS_RE.sub("", cell)
    if isinstance(cell, float) and (cell != cell or abs(cell) == float("inf")):
        return None
    return cell


def xlsx(rows) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "数据"
    for row in rows:
        sheet.append([_storable(c) for c in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


TEMPLATE = xlsx(
    [["depot_code", "material_code", "lot_no", "quantity"], ["D1", "1010101001", "L1", 5]]
)


@st.composite
def mutated(draw, base: bytes):
    """A real file with a few bytes overwritten, cut short or extended."""
    data = bytearray(base)
    for _ in range(draw(st.integers(1, 8))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        data = data[: draw(st.integers(1, len(data)))]
    return bytes(data)


def zip_with(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return out.getvalue()


files = st.one_of(
    st.binary(max_size=2000),
    st.text(max_size=500).map(lambda t: t.encode("utf-8")),
    st.text(max_size=500).map(lambda t: t.encode("gb18030", errors="replace")),
    st.lists(st.lists(st.text(max_size=12), max_size=6), max_size=8).map(
        lambda rows: "\n".join(",".join(r) for r in rows).encode("utf-8-sig")
    ),
    st.binary(max_size=300).map(lambda b: b"PK\x03\x04" + b),
    st.binary(max_size=300).map(lambda b: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b),
    mutated(TEMPLATE),
    st.dictionaries(
        st.sampled_from(
            [
                "[Content_Types].xml",
                "xl/workbook.xml",
                "xl/worksheets/sheet1.xml",
                "xl/vbaProject.bin",
                "a.txt",
            ]
        ),
        st.binary(max_size=200),
        max_size=4,
    ).map(zip_with),
    st.lists(st.lists(cells, max_size=6), max_size=6).map(xlsx),
)


@FUZZ
@given(data=files)
def test_read_table_refuses_only_with_bad_file(data):
    try:
        table = read_table(data)
    except BadFile:
        return
    assert all(isinstance(number, int) for number, _cells in table.rows)


def context() -> Context:
    return Context(
        agency_id=1,
        depots={"D1": DepotRef(1, 1, "active", "internal")},
        foreign_depots={"X1"},
        material_codes={"1010101001": 11},
        material_names={"单帐篷": [11]},
        aliases={"帐篷": 11},
        regions={"140105"},
    )


@FUZZ
@given(
    kind=st.sampled_from(sorted(KINDS)),
    header=st.lists(st.sampled_from(HEADERS), max_size=8),
    body=st.lists(st.lists(cells, max_size=9), max_size=6),
)
def test_validate_reports_cell_errors_and_never_raises(kind, header, body):
    rows = [(1, list(header))] + [(n, cells_) for n, cells_ in enumerate(body, start=2)]
    result = validate(kind, rows, context())
    assert isinstance(result, Validation)
    assert all(isinstance(record, dict) for record in result.records)


def valid_problem() -> dict:
    return problem(
        [material("tent")],
        [source("S1", {"tent": 10})],
        [point("P1", [("tent", 5, 24)])],
        [travel("S1", "P1", 2.0)],
    )


json_values = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.integers(-(10**12), 10**12), st.floats(), st.text(max_size=10)
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@st.composite
def problems(draw):
    """A valid problem with one value somewhere replaced by anything JSON can hold."""
    data = valid_problem()
    node, path = data, []
    while isinstance(node, (dict, list)) and node and draw(st.booleans()):
        key = draw(st.sampled_from(sorted(node) if isinstance(node, dict) else range(len(node))))
        path.append((node, key))
        node = node[key]
    if path:
        parent, key = path[-1]
        parent[key] = draw(json_values)
    return data


@FUZZ
@given(data=st.one_of(problems(), json_values))
def test_load_problem_refuses_only_with_problem_error(data):
    try:
        load_problem(data)
    except ProblemError:
        pass


@pytest.fixture
def pusher(app, db, make_agency, make_user):
    from tests import factories

    agency = make_agency("FZ-A")
    user = make_user("agency_operator", agency=agency)
    with app.app_context():
        factories.catalog_material("001", "单帐篷")
        factories.depot(agency, "D1")
        token = factories.user(user["id"]).get_auth_token()
    client = app.test_client()
    return client, {"Authentication-Token": token}, agency


rows_json = st.lists(
    st.dictionaries(
        st.sampled_from(HEADERS + ["x"]),
        st.one_of(cells.filter(lambda c: not isinstance(c, (date, datetime, float))), json_values),
        max_size=6,
    ),
    max_size=5,
)


@settings(FUZZ, max_examples=max(EXAMPLES // 3, 20))
@given(
    body=st.one_of(
        st.fixed_dictionaries(
            {
                "agency_id": st.just(None),
                "kind": st.sampled_from(sorted(KINDS) + ["x"]),
                "mode": st.sampled_from(["full", "incremental", "x"]),
                "confirm": st.booleans(),
                "rows": rows_json,
            }
        ),
        json_values,
    )
)
def test_push_answers_4xx_never_5xx(pusher, body):
    client, headers, agency = pusher
    if isinstance(body, dict) and "agency_id" in body:
        body["agency_id"] = agency
    response = client.post(
        "/api/v1/submissions/push",
        data=json.dumps(body, default=str),
        content_type="application/json",
        headers=headers,
    )
    assert response.status_code < 500, response.text
