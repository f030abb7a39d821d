"""Readiness in headless Chromium: a leader opens the readiness map, picks a scenario, sees the
weakest counties and the recommended transfers (read only); a commander makes one transfer.

On top of the demo province: folding beds (a new material) held only in the far north (天镇县),
a flash-flood scenario in the far south (芮城县, 20,000 people, 100 beds per 10,000), an empty
depot there. The beds arrive after 16 h, so nothing within 12 h: score 75; the assessment's
recommendation moves 200 beds south, promising 100."""

import pytest
from sqlalchemy import select

from core import background, worker
from core.auth import User
from core.extensions import db
from dispatch.readiness import jobs
from dispatch.readiness.scenarios import save_scenario
from core.organisation import Agency
from reserve.models import Depot, EmergencyPlan, Material, ReserveNorm
from reserve.stock import ledger
from tests.browser.support import SHOTS, log_in, serve_demo

pytestmark = pytest.mark.browser
SCENARIO = "晋南山洪（浏览器测试）"


def _prepare(app):
    admin = db.session.execute(select(User).filter_by(email="admin@example.org")).scalar_one()
    commander = db.session.execute(
        select(User).filter_by(email="commander@example.org")
    ).scalar_one()
    agency = db.session.execute(select(Agency).order_by(Agency.id)).scalars().first()
    bed = Material(
        code="1040101099",
        name="救灾折叠床",
        unit="张",
        unit_weight_kg=10,
        unit_volume_m3=0.1,
        category_code="1040101",
    )
    north = Depot(
        agency_id=agency.id,
        code="RDY-N",
        name="天镇储备点",
        region_code="140222",
        lat=40.42,
        lon=114.09,
        classification="internal",
        status="active",
    )
    south = Depot(
        agency_id=agency.id,
        code="RDY-S",
        name="芮城前置库",
        region_code="140830",
        lat=34.69,
        lon=110.69,
        classification="internal",
        status="active",
    )
    db.session.add_all([bed, north, south])
    db.session.commit()
    ledger.record_receipt(
        admin, depot_id=north.id, material_id=bed.id, quantity=1000, facts=ledger.LotFacts("BED-1")
    )
    plan = EmergencyPlan(
        agency_id=agency.id,
        name="山洪灾害救助预案",
        incident_type="natural_disaster",
        level="III",
        region_code="140800",
    )
    plan.norms = [
        ReserveNorm(
            material_id=bed.id, region_code="140800", basis="per_10k_affected", quantity=100
        )
    ]
    db.session.add(plan)
    db.session.commit()
    scenario = save_scenario(
        commander,
        {
            "name": SCENARIO,
            "hazard": "flood",
            "level": "III",
            "plan_id": plan.id,
            "population_rule": "entered",
            "is_standard": False,
            "note": None,
            "counties": [{"region_code": "140830", "population": 20_000, "severity": 3}],
        },
    )
    job_id = jobs.start_assessment(commander, [scenario.id], budget=100_000).id
    db.session.commit()
    assert background.claim("browser") == job_id
    assert worker.run_job(app, job_id, "browser") == "done"
    return {"scenario": scenario.id, "north": north.id, "south": south.id}


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    yield from serve_demo(tmp_path_factory, "live-readiness", prepare=_prepare)


def test_a_leader_sees_the_weakest_counties_and_the_recommended_transfers(page, live_server):
    SHOTS.mkdir(parents=True, exist_ok=True)
    log_in(page, live_server, "viewer@example.org")
    page.click("nav.mainnav >> text=更多")
    page.click("details.more >> text=备战评估")
    page.wait_for_selector("#scenario-select")
    page.select_option(
        "#scenario-select",
        label=page.locator("#scenario-select option", has_text=SCENARIO).inner_text(),
    )
    page.click("#scenario-pick button[type=submit]")
    page.wait_for_selector("#county-table")
    assert page.inner_text("#province-score") == "75.0"
    assert "芮城县" in page.inner_text("#county-table")
    moves = page.inner_text("#move-table")
    assert (
        "天镇储备点" in moves and "芮城县" in moves and "救灾折叠床" in moves and "200 张" in moves
    )
    assert "由 75.0 提高到 100.0" in page.inner_text("#recommendations")
    assert page.locator("#move-table button").count() == 0  # leaders read; they do not move stock
    page.wait_for_selector(
        '#readiness-map path.leaflet-interactive[stroke="#b42318"], #readiness-map path.leaflet-interactive[stroke="#dc6803"], #readiness-map path.leaflet-interactive[stroke="#067647"]',
        state="attached",
    )
    page.wait_for_timeout(500)  # the boundaries fitted
    page.screenshot(path=str(SHOTS / "readiness-leader.png"), full_page=True)


def test_a_commander_makes_the_recommended_transfer(page, live_server):
    log_in(page, live_server, "admin@example.org")
    page.goto(live_server["url"] + f"/readiness?scenario_id={live_server['scenario']}")
    page.click("#move-table button:has-text('执行此调拨')")
    page.wait_for_selector("text=调拨已记入台账")
    assert "已执行" in page.inner_text("#move-table")  # made once; no second button
    assert page.locator("#move-table button").count() == 0
    page.screenshot(path=str(SHOTS / "readiness-transfer.png"), full_page=True)
