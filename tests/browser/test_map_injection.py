"""Hostile names on every map, in headless Chromium: a depot, a demand point and a material
named with markup reach tooltips and popups as text, never as elements (issue 15, item 5)."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core.extensions import db
from core.timeutil import utcnow
from tests.browser.support import log_in, new_page, serve_demo

pytestmark = pytest.mark.browser

HOSTILE = '<b id="pwn">D</b><img src=x onerror=alert(1)>'
INJECTED = "#pwn, img[src='x'], .leaflet-pane b"


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory):
    """The demo province with every depot, one demand point and the planned material named
    HOSTILE, and an incident planned from live stock so the board draws routes."""
    yield from serve_demo(
        tmp_path_factory, "hostile", prepare=lambda app: {"incident": _hostile_incident()}
    )


def _hostile_incident() -> int:
    from core.extensions import security
    from dispatch.services import incidents, planning
    from reserve.models import Depot, Material
    from reserve.stock.models import StockLot

    for depot in db.session.execute(select(Depot)).scalars():
        depot.name = f"{HOSTILE}{depot.id}"
    material_id = (
        db.session.execute(
            select(StockLot.material_id)
            .where(StockLot.reserve_type == "physical")
            .group_by(StockLot.material_id)
            .order_by(func.sum(StockLot.on_hand - StockLot.reserved).desc())
        )
        .scalars()
        .first()
    )
    db.session.get(Material, material_id).name = HOSTILE
    db.session.commit()
    commander = security.datastore.find_user(email="commander@example.org")
    incident = incidents.create_incident(
        commander,
        title="注入测试",
        incident_type="natural_disaster",
        level="III",
        region_code="140100",
        lat=37.87,
        lon=112.55,
    )
    point = incidents.add_point(
        commander, incident.id, name=HOSTILE, lat=37.85, lon=112.56, population=1000
    )
    incidents.add_demand(
        commander,
        incident.id,
        point_id=point.id,
        material_id=material_id,
        quantity=10,
        needed_by=utcnow() + timedelta(hours=24),
    )
    planning.plan_incident(commander, incident.id)
    return incident.id


@pytest.fixture
def page(browser, hostile_server):
    yield from new_page(browser, hostile_server["url"])


OPEN_EVERYTHING = """() => {
  const shown = [];
  const shapes = Array.from(document.querySelectorAll('.leaflet-overlay-pane .leaflet-interactive'));
  for (const shape of shapes) {
    shape.dispatchEvent(new MouseEvent('mouseover', {bubbles: true}));
    shape.dispatchEvent(new MouseEvent('click', {bubbles: true}));
    document.querySelectorAll('.leaflet-popup-content, .leaflet-tooltip').forEach(
      (box) => shown.push({text: box.textContent, injected: box.querySelectorAll('b, img, [onerror]').length}));
  }
  return {shapes: shapes.length, shown: shown};
}"""


def _open_map(page, url, map_selector):
    page.goto(url)
    page.wait_for_selector(f"{map_selector} .leaflet-overlay-pane .leaflet-interactive")
    page.wait_for_timeout(500)  # the boundaries arrive by fetch
    result = page.evaluate(OPEN_EVERYTHING)
    assert result["shapes"] > 0 and result["shown"], result
    assert all(box["injected"] == 0 for box in result["shown"]), [
        b for b in result["shown"] if b["injected"]
    ][:3]
    assert page.locator(INJECTED).count() == 0
    return [box["text"] for box in result["shown"]]


@pytest.mark.parametrize(
    "path, selector",
    [
        ("/depots", "#depot-map"),
        ("/warnings", "#warning-map"),
        ("/incidents/{incident}", "#incident-map"),
    ],
)
def test_hostile_names_on_internal_maps_are_text(page, hostile_server, path, selector):
    log_in(page, hostile_server, "admin@example.org")
    texts = _open_map(
        page, hostile_server["url"] + path.format(incident=hostile_server["incident"]), selector
    )
    assert any(HOSTILE in text for text in texts), texts[:5]


def test_the_board_shows_point_depot_and_material_names_as_text(page, hostile_server):
    log_in(page, hostile_server, "commander@example.org")
    texts = _open_map(
        page, f"{hostile_server['url']}/incidents/{hostile_server['incident']}", "#incident-map"
    )
    assert HOSTILE in texts  # the demand point's tooltip
    assert any(text.startswith(HOSTILE) and text.count(HOSTILE) == 3 for text in texts), (
        texts
    )  # depot → point: material


def test_the_portal_map_has_no_injected_element(page, hostile_server):
    texts = _open_map(page, hostile_server["url"] + "/portal/", "#city-map")
    assert all("<" not in text for text in texts)  # cities only: no depot name reaches the public
