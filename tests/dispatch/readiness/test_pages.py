"""The readiness page, API and export as a leader and command staff see them."""

from core.auth import COMMANDER, OPERATOR, VIEWER
from dispatch.readiness import services
from tests import factories
from tests.conftest import csrf_token, log_in
from tests.dispatch.readiness.test_assessment import world  # noqa: F401  the fixture


def test_a_leader_sees_the_weakest_counties_and_exports_them(app, world, client, db, make_user):  # noqa: F811
    with app.app_context():
        services.assess(factories.user(world["admin"]["id"]), [world["scenario"]])
        db.session.commit()
    leader = make_user(VIEWER, agency=world["agency"])
    log_in(client, leader["email"])
    page = client.get(f"/readiness?scenario_id={world['scenario']}")
    assert page.status_code == 200
    assert "县990102" in page.text and "73.0" in page.text
    assert page.text.index("县990102") < page.text.index("县990101")  # weakest first
    assert "立即评估" not in page.text  # leaders do not start assessments
    run = client.get(f"/api/v1/readiness/scenarios/{world['scenario']}/runs").json[-1]
    csv = client.get(f"/readiness/runs/{run['id']}/export?format=csv")
    assert csv.status_code == 200 and "县990102" in csv.data.decode("utf-8-sig")
    xlsx = client.get(f"/api/v1/readiness/runs/{run['id']}/export?format=xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    refused = client.post(
        "/api/v1/readiness/assessments", json={"scenario_ids": [world["scenario"]]}
    )
    assert refused.status_code in (
        400,
        403,
    )  # a session needs its CSRF token; a leader may not anyway


def test_command_staff_queue_an_assessment_and_bad_input_is_refused(app, world, client, make_user):  # noqa: F811
    from core.errors import Invalid
    from dispatch.readiness.scenarios import save_scenario

    commander = make_user(COMMANDER)
    log_in(client, commander["email"])
    page = client.get(f"/readiness?scenario_id={world['scenario']}")
    token = csrf_token(page.text)
    form = {"csrf_token": token, "scenario_ids": [str(world["scenario"])], "budget": "1000"}
    assert client.post("/readiness/assess", data=form).status_code == 303
    assert "评估已排队" in client.get(f"/readiness?scenario_id={world['scenario']}").text
    refused = client.post(
        "/readiness/assess", data={**form, "budget": "1e13"}, follow_redirects=True
    )
    assert "预算须在 0 至" in refused.text
    with app.app_context():
        try:
            save_scenario(
                factories.user(commander["id"]),
                {
                    "name": "x",
                    "hazard": "flood",
                    "level": "I",
                    "population_rule": "entered",
                    "counties": [{"region_code": "110101", "population": 1, "severity": 1}],
                },
            )
            raise AssertionError("a region that is no county was accepted")
        except Invalid:
            pass


def test_operators_do_not_see_readiness(app, world, client, make_user):  # noqa: F811
    log_in(client, make_user(OPERATOR, agency=world["agency"])["email"])
    assert client.get("/api/v1/readiness/scenarios").status_code == 403


def test_command_staff_add_a_scenario_by_the_intensity_rule_on_the_form(
    app, world, client, make_user
):  # noqa: F811
    log_in(client, make_user(COMMANDER)["email"])
    page = client.get("/readiness/scenarios/new")
    assert page.status_code == 200
    form = {
        "csrf_token": csrf_token(page.text),
        "name": "测试县7级地震",
        "hazard": "earthquake",
        "level": "I",
        "population_rule": "intensity",
        "epicentre_lat": "38.0",
        "epicentre_lon": "112.0",
        "magnitude": "7.0",
        "counties": "",
        "is_standard": "on",
    }
    assert client.post("/readiness/scenarios", data=form).status_code == 303
    with app.app_context():
        made = _db_scenario("测试县7级地震")
        # C1 at the epicentre: intensity 10, half its 100,000 residents, severity 3; C2 87 km
        # away: intensity 7.2, 15 % affected, severity 2
        assert made == [("990101", 50_000, 3), ("990102", 15_000, 2)]
    bad = client.post(
        "/readiness/scenarios",
        data={**form, "name": "x2", "magnitude": "12"},
        follow_redirects=True,
    )
    assert "情景无效" in bad.text
    with app.app_context():
        assert _db_scenario("x2") is None


def _db_scenario(name):
    from sqlalchemy import select

    from core.extensions import db
    from dispatch.readiness.models import Scenario

    scenario = db.session.execute(
        select(Scenario).where(Scenario.name == name)
    ).scalar_one_or_none()
    return (
        [(c.region_code, c.population, c.severity) for c in scenario.counties] if scenario else None
    )
