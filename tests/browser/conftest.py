"""Fixtures every browser test shares: `browser` (Debian's headless Chromium, once per module),
`live_server` (the demo province on a fresh SQLite file, once per module) and `page` (a zh-CN
page at 1280 px that fails the test if a request left the machine). A module that needs another
server (its own settings or data) defines its own fixture with `serve_demo`."""

import pytest

from tests.browser.support import CHROMIUM_ARGS, chromium_or_skip, new_page, serve_demo


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    yield from serve_demo(tmp_path_factory, "live")


@pytest.fixture(scope="module")
def browser():
    executable = chromium_or_skip()
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    yield from new_page(browser, live_server["url"])
