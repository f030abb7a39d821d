"""`q` searches match what the user typed, wildcards included (issue 15, item 8)."""

import pytest

from core.auth import COMMANDER
from core.search import escape_like
from tests import factories


@pytest.mark.parametrize(
    "text, expected", [("100%", "100\\%"), ("A_1", "A\\_1"), ("a\\b", "a\\\\b"), ("帐篷", "帐篷")]
)
def test_escape_like(text, expected):
    assert escape_like(text) == expected


@pytest.fixture
def named(app, db, make_agency):
    agency = make_agency("LK-A")
    with app.app_context():
        for code, name in (
            ("LK-1", "满仓100%库"),
            ("LK-2", "A_1库"),
            ("LK-3", "AB1库"),
            ("LK-4", "反斜杠\\库"),
        ):
            factories.depot(agency, code).name = name
        factories.catalog_material("001", "帐篷_A")
        factories.catalog_material("002", "帐篷BA")
        from core.extensions import db as _db

        _db.session.commit()
    return agency


@pytest.mark.parametrize(
    "q, names",
    [
        ("%", ["满仓100%库"]),
        ("100%", ["满仓100%库"]),
        ("_", ["A_1库"]),
        ("A_1", ["A_1库"]),
        ("\\", ["反斜杠\\库"]),
        ("库", ["满仓100%库", "A_1库", "AB1库", "反斜杠\\库"]),
    ],
)
def test_depot_search_takes_wildcards_literally(client, login_as, named, q, names):
    login_as(COMMANDER)
    found = client.get("/api/v1/depots", query_string={"q": q}).json["items"]
    assert sorted(d["name"] for d in found) == sorted(names)


def test_catalog_and_agency_search_take_wildcards_literally(client, login_as, named):
    login_as(COMMANDER)
    assert [
        m["name"] for m in client.get("/api/v1/materials", query_string={"q": "_"}).json["items"]
    ] == ["帐篷_A"]
    assert client.get("/api/v1/agencies", query_string={"q": "%"}).json["items"] == []
    assert client.get("/api/v1/stock", query_string={"q": "_"}).json["items"] == []
