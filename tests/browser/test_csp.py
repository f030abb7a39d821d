"""The Content-Security-Policy breaks nothing: every page with scripts (maps, charts, the API
docs, the command board) renders in Chromium with no CSP violation and no script error, also
while a chart shows its tooltip (the policy allows no style attribute: ECharts draws them on
its canvas) and on pages with progress bars and the agency tree."""

import re

import pytest

from tests.browser.support import SHOTS
from tests.browser.waits import settle, track

pytestmark = pytest.mark.browser

ANONYMOUS_PAGES = ["/portal/", "/portal/board", "/login", "/api/docs"]
STAFF_PAGES = [
    "/",
    "/depots",
    "/warnings",
    "/reporting",
    "/reporting/scoreboard",
    "/sharing/quality",
    "/incidents",
    "/agencies",
    "/plans",
]


@pytest.fixture
def watched(browser, live_server):
    """A page whose console errors, CSP reports and script exceptions are collected."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    page = context.new_page()
    track(page)
    page.problems = []
    page.on(
        "console",
        lambda m: (
            page.problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None
        ),
    )
    page.on("pageerror", lambda e: page.problems.append(f"script error: {e}"))
    page.on(
        "response",
        lambda r: page.problems.append(f"{r.status} {r.url}") if r.status >= 400 else None,
    )
    yield page
    context.close()


# Scripts have run when goto returns (the load event); maps then fetch their boundaries.
MAPS_DRAWN = (
    "() => [...document.querySelectorAll('.leaflet-container')].every(m => m.querySelector('path'))"
)


def visit(page, url: str) -> None:
    response = page.goto(url)
    assert response.status == 200, url
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    page.wait_for_function(MAPS_DRAWN, timeout=15_000)
    settle(page)
    for chart in page.locator("canvas").all():  # ECharts: its tooltip appears on hover
        if chart.is_visible():
            chart.scroll_into_view_if_needed()
            chart.hover()
            page.wait_for_timeout(300)


def test_public_pages_and_api_docs_run_under_the_policy(watched, live_server):
    for path in ANONYMOUS_PAGES:
        visit(watched, live_server["url"] + path)
    watched.goto(live_server["url"] + "/api/docs")
    watched.wait_for_selector(
        ".swagger-ui .opblock", timeout=15_000
    )  # Swagger UI started by its static script
    watched.goto(live_server["url"] + "/portal/")
    watched.wait_for_selector(".leaflet-container", timeout=10_000)
    assert watched.problems == []


def test_staff_pages_with_maps_and_charts_run_under_the_policy(watched, live_server):
    watched.goto(live_server["url"] + "/login")
    watched.fill("input[name=email]", "admin@example.org")
    watched.fill("input[name=password]", live_server["password"])
    watched.click("button[type=submit]")
    watched.wait_for_url(live_server["url"] + "/")
    for path in STAFF_PAGES:
        visit(watched, live_server["url"] + path)
        if path == "/warnings":  # the dashboard for a person to look at (map, charts, counts)
            SHOTS.mkdir(parents=True, exist_ok=True)
            watched.screenshot(path=str(SHOTS / "warnings-dashboard.png"), full_page=True)
    boards = [
        href
        for href in watched.eval_on_selector_all(
            "a[href^='/incidents/']", "els => els.map(e => e.getAttribute('href'))"
        )
        if re.fullmatch(r"/incidents/\d+", href)
    ]
    if boards:
        visit(watched, live_server["url"] + boards[0])
    watched.goto(live_server["url"] + "/plans")
    plans = [
        href
        for href in watched.eval_on_selector_all(
            "a[href^='/plans/']", "els => els.map(e => e.getAttribute('href'))"
        )
        if re.fullmatch(r"/plans/\d+", href)
    ]
    assert plans
    visit(watched, live_server["url"] + plans[0])  # fill rates as progress bars
    assert watched.locator("progress.bar").count() > 0
    assert watched.problems == []
