"""Access scoping: the read rule table, the SQL filter, and the API refusing out-of-scope access."""

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select

from core.auth import ADMIN, COMMANDER, OPERATOR, SUPPLIER, VIEWER
from core.extensions import db as _db
from core.scoping import Classification, can_read, can_write, read_rule, scoped
from core.organisation import Agency
from tests.conftest import csrf_token


def test_read_rule_table():
    assert read_rule({COMMANDER}, False).everything
    assert read_rule({VIEWER}, False).all_unrestricted and not read_rule({VIEWER}, False).subtree
    assert read_rule({VIEWER}, True).subtree
    assert read_rule({OPERATOR}, True) == read_rule({OPERATOR}, True)
    operator = read_rule({OPERATOR}, True)
    assert operator.subtree and not operator.all_unrestricted and not operator.everything
    assert not operator.public  # an operator's world is its subtree
    nobody = read_rule({SUPPLIER}, True)
    assert not (nobody.subtree or nobody.all_unrestricted or nobody.everything or nobody.public)
    assert read_rule({SUPPLIER, VIEWER}, False).all_unrestricted  # a staff role opens the registry
    assert read_rule(set(), False).public


class FakeUser:
    is_authenticated = True

    def __init__(self, roles, path=None):
        self.role_names = set(roles)
        self.agency = type("A", (), {"path": path})() if path else None


@pytest.mark.parametrize(
    "roles, path, classification, expected",
    [
        ({OPERATOR}, "/1/2/", "restricted", True),  # own agency
        ({OPERATOR}, "/1/", "restricted", True),  # ancestor sees descendant
        ({OPERATOR}, "/1/3/", "internal", False),  # sibling
        ({OPERATOR}, "/1/3/", "public", False),  # a sibling's public rows too
        ({OPERATOR, VIEWER}, "/1/3/", "public", True),
        ({VIEWER}, None, "internal", True),
        ({VIEWER}, None, "restricted", False),
        ({VIEWER}, "/1/2/", "restricted", True),
        ({ADMIN}, "/9/", "restricted", False),
        ({COMMANDER}, None, "restricted", True),
        ({SUPPLIER}, None, "internal", False),
        ({SUPPLIER}, None, "public", False),  # suppliers read nothing of the registry
    ],
)
def test_can_read_a_row_of_agency_1_2(roles, path, classification, expected):
    assert can_read(FakeUser(roles, path), "/1/2/", classification) is expected


def test_can_write_only_inside_own_subtree_or_as_admin():
    assert can_write(FakeUser({OPERATOR}, "/1/"), "/1/2/")
    assert not can_write(FakeUser({OPERATOR}, "/1/2/"), "/1/")
    assert not can_write(
        FakeUser({OPERATOR}, "/1/2/"), "/1/22/"
    )  # prefix of digits is not ancestry
    assert not can_write(FakeUser({VIEWER, COMMANDER}, "/1/"), "/1/2/")
    assert can_write(FakeUser({ADMIN}, None), "/5/")


PROBE = Table(
    "scoping_probe",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("agency_id", Integer),
    Column("classification", String(12)),
)


@pytest.fixture
def probe(app, db, make_agency):
    """A throwaway agency-owned table (created inside the test's transaction) with one row per
    (agency, classification) over the tree: root -> {a -> a1, b}."""
    root = make_agency("ROOT")
    a = make_agency("A", parent=root)
    a1 = make_agency("A1", parent=a)
    b = make_agency("B", parent=root)
    agencies = {"root": root, "a": a, "a1": a1, "b": b}
    with app.app_context():
        PROBE.create(_db.session.connection())
        for agency_id in agencies.values():
            for level in Classification:
                _db.session.execute(
                    insert(PROBE).values(agency_id=agency_id, classification=level.value)
                )
        _db.session.commit()
    return agencies


def _visible(app, roles, agency_id):
    with app.app_context():
        agency = _db.session.get(Agency, agency_id) if agency_id else None
        user = FakeUser(roles, agency.path if agency else None)
        stmt = scoped(
            select(PROBE.c.agency_id, PROBE.c.classification),
            user,
            PROBE.c.agency_id,
            PROBE.c.classification,
        )
        return {(a, c) for a, c in _db.session.execute(stmt).all()}


def test_operator_sees_own_subtree_only(app, probe):
    seen = _visible(app, {OPERATOR}, probe["a"])
    assert seen == {(probe[k], c.value) for k in ("a", "a1") for c in Classification}


def test_viewer_sees_everything_but_others_restricted(app, probe):
    seen = _visible(app, {VIEWER}, probe["b"])
    assert (probe["b"], "restricted") in seen
    assert (probe["a"], "restricted") not in seen
    assert (probe["a1"], "internal") in seen
    assert len(seen) == 4 * 2 + 1


def test_commander_sees_all_rows(app, probe):
    assert len(_visible(app, {COMMANDER}, None)) == 12


def test_supplier_sees_no_rows_and_anonymous_public_rows_only(app, probe):
    assert _visible(app, {SUPPLIER}, None) == set()
    with app.app_context():
        rows = (
            _db.session.execute(
                scoped(
                    select(PROBE.c.classification), None, PROBE.c.agency_id, PROBE.c.classification
                )
            )
            .scalars()
            .all()
        )
    assert set(rows) == {"public"}


def test_operator_lists_only_agencies_of_its_subtree(client, login_as, make_agency):
    root = make_agency("P")
    city = make_agency("P-C1", parent=root)
    make_agency("P-C1-X1", parent=city)
    make_agency("P-C2", parent=root)
    login_as(OPERATOR, agency=city)
    codes = {a["code"] for a in client.get("/api/v1/agencies").json["items"]}
    assert codes == {"P-C1", "P-C1-X1"}


def test_operator_cannot_read_or_create_under_another_agency(app, client, login_as, make_agency):
    root = make_agency("Q")
    mine = make_agency("Q-1", parent=root)
    other = make_agency("Q-2", parent=root)
    login_as(OPERATOR, agency=mine)
    assert client.get(f"/api/v1/agencies/{other}").status_code == 404
    token = csrf_token(client.get("/").text)
    with app.app_context():
        before = _db.session.scalar(select(func.count(Agency.id)))
    refused = client.post(
        "/api/v1/agencies",
        json={"code": "Q-2-X", "name": "越权", "kind": "county", "parent_id": other},
        headers={"X-CSRF-Token": token},
    )
    assert refused.status_code == 404
    refused_root = client.post(
        "/api/v1/agencies",
        json={"code": "Q-X", "name": "越权", "kind": "city"},
        headers={"X-CSRF-Token": token},
    )
    assert refused_root.status_code == 403
    with app.app_context():
        assert _db.session.scalar(select(func.count(Agency.id))) == before
    allowed = client.post(
        "/api/v1/agencies",
        json={"code": "Q-1-X", "name": "下级", "kind": "county", "parent_id": mine},
        headers={"X-CSRF-Token": token},
    )
    assert allowed.status_code == 201
    assert allowed.json["path"].startswith(client.get(f"/api/v1/agencies/{mine}").json["path"])


def test_agencies_page_is_scoped_too(client, login_as, make_agency):
    root = make_agency("R", name="根单位")
    mine = make_agency("R-1", name="本单位", parent=root)
    make_agency("R-2", name="兄弟单位", parent=root)
    login_as(OPERATOR, agency=mine)
    page = client.get("/agencies").text
    assert "本单位" in page and "兄弟单位" not in page
