"""Issue 17 item 10: a configured base map is off by default; when set, the pages name it to
the map scripts and the CSP's img-src admits its host, and only it."""

from core.auth import OPERATOR
from core.hardening import content_security_policy, tile_source


def test_tile_sources_are_scheme_and_host_with_a_subdomain_wildcard():
    assert (
        tile_source("https://t{s}.tianditu.gov.cn/vec_w/wmts?tk=KEY") == "https://*.tianditu.gov.cn"
    )
    assert (
        tile_source("https://tiles.example.org:8443/{z}/{x}/{y}.png")
        == "https://tiles.example.org:8443"
    )
    assert tile_source("javascript:alert(1)") is None and tile_source(None) is None


def test_the_policy_is_unchanged_without_a_base_map():
    config = {
        "CONTENT_SECURITY_POLICY": "default-src 'self'; img-src 'self' data: blob:",
        "MAP_TILE_URL": None,
    }
    assert content_security_policy(config) == config["CONTENT_SECURITY_POLICY"]


def test_a_configured_base_map_reaches_the_depot_map_and_the_csp(
    app, db, client, login_as, make_agency, monkeypatch
):
    login_as(OPERATOR, make_agency("MAP-A"))
    plain = client.get("/depots")
    assert (
        'name="map-tile-url"' not in plain.text
        and "tiles.example.org" not in plain.headers["Content-Security-Policy"]
    )
    assert "maptools.js" in plain.text and 'data-legend-title="图例"' in plain.text
    monkeypatch.setitem(
        app.config, "MAP_TILE_URL", "https://tiles.example.org/{z}/{x}/{y}.png?key=K"
    )
    monkeypatch.setitem(app.config, "MAP_TILE_ATTRIBUTION", "审图号：晋S(2026)001号")
    page = client.get("/depots")
    assert (
        "img-src 'self' https://tiles.example.org data:" in page.headers["Content-Security-Policy"]
    )
    assert "script-src 'self';" in page.headers["Content-Security-Policy"]
    assert (
        'content="https://tiles.example.org/{z}/{x}/{y}.png?key=K"' in page.text
        and "审图号" in page.text
    )
