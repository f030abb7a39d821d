"""What the browser tests share besides fixtures: where Chromium and the screenshots are, a demo
server on a fresh SQLite file, a page that records its requests, and signing in."""

import os
import shutil
import threading
from pathlib import Path

import pytest
from flask_migrate import upgrade
from werkzeug.serving import make_server

from core import create_app

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 800}


def chromium_or_skip() -> str:
    if not os.path.exists(CHROMIUM):
        pytest.skip(
            "browser tests skipped: Debian's chromium is not installed (apt-get install chromium fonts-noto-cjk)"
        )
    return CHROMIUM


def serve_demo(tmp_path_factory, name: str, config: dict | None = None, prepare=None):
    """Generator for a module fixture: the app migrated on a fresh SQLite file with the demo
    province, `prepare(app)` (inside an app context; its dict is added to the answer), then
    served on a free port. Yields {url, password, app, ...}."""
    chromium_or_skip()
    folder = tmp_path_factory.mktemp(name)
    app = create_app(
        {
            "APP_ENV": "development",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'live.db'}",
            **(config or {}),
        }
    )
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
    result = app.test_cli_runner().invoke(args=["demo", "init"])
    assert result.exit_code == 0, result.output
    extra = {}
    if prepare:
        with app.app_context():
            extra = prepare(app) or {}
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield {
        "url": f"http://127.0.0.1:{server.server_port}",
        "password": app.config["DEMO_PASSWORD"],
        "app": app,
        "folder": folder,
        **extra,
    }
    server.shutdown()


def new_page(browser, url: str, viewport: dict = DESKTOP):
    """Generator for a page fixture: a fresh context; after the test, no request may have left
    the machine."""
    context = browser.new_context(viewport=viewport, locale="zh-CN")
    page = context.new_page()
    page.requested = []
    page.on("request", lambda request: page.requested.append(request.url))
    yield page
    context.close()
    foreign = [
        u for u in page.requested if not u.startswith(url) and not u.startswith(("data:", "blob:"))
    ]
    assert foreign == [], "requests left the machine"


def log_in(page, live_server, email: str, password: str | None = None, wait: bool = True) -> None:
    page.goto(live_server["url"] + "/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password or live_server["password"])
    page.click("button[type=submit]")
    if wait:
        page.wait_for_url(live_server["url"] + "/")


def log_out(page) -> None:
    page.click("text=退出登录")
    page.wait_for_url("**/login")
