"""The user-management journey in a real headless Chromium: an administrator creates an operator
for a city agency, the operator logs in with the issued password, is made to change it, resets
it through the e-mailed link (read from the outbox), and after the administrator disables the
account its login is refused. Screenshots land in artifacts/screenshots/accounts-*.png."""

import re

import pytest
from sqlalchemy import select

from core.extensions import db
from tests.browser.support import SHOTS, log_in, log_out, serve_demo

pytestmark = pytest.mark.browser

OPERATOR_EMAIL = "jinzhong.op@example.org"
CHOSEN = "Maple-Harbour-Violet-83"
RESET_TO = "Granite-Meadow-Sparrow-61"


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """The demo on its own server: the journey changes accounts; `app` reads the outbox."""
    yield from serve_demo(tmp_path_factory, "accounts")


def _reset_link(app) -> str:
    from core.outbox import OutboxMessage

    with app.app_context():
        bodies = (
            db.session.execute(
                select(OutboxMessage.body)
                .filter_by(recipient=OPERATOR_EMAIL)
                .order_by(OutboxMessage.id)
            )
            .scalars()
            .all()
        )
    links = [m.group(0) for body in bodies if (m := re.search(r"http://\S+/reset/\S+", body))]
    assert links, bodies
    return links[-1]


def test_admin_creates_an_operator_who_changes_resets_and_is_disabled(page, live_server):
    SHOTS.mkdir(parents=True, exist_ok=True)
    url, app = live_server["url"], live_server["app"]

    # The administrator creates an operator for Taiyuan's city agency.
    log_in(page, live_server, "admin@example.org", live_server["password"], wait=False)
    page.wait_for_url(url + "/")
    page.click("nav.mainnav >> text=更多")
    page.click("details.more >> text=用户管理")
    page.wait_for_url("**/admin/users")
    assert page.inner_text("h1") == "用户管理"
    page.click("text=新建账号")
    page.fill("input[name=email]", OPERATOR_EMAIL)
    page.fill("input[name=display_name]", "太原市新填报员")
    page.check("input[name=roles][value=agency_operator]")
    page.select_option("select[name=agency_id]", label="　太原市应急管理局")
    page.screenshot(path=str(SHOTS / "accounts-new.png"), full_page=True)
    page.click("button:has-text('创建账号')")
    issued = page.inner_text("#issued-password").strip()
    assert re.fullmatch(r"(\w{4}-){3}\w{4}", issued)
    assert "仅显示这一次" in page.inner_text("main")
    page.screenshot(path=str(SHOTS / "accounts-issued.png"), full_page=True)
    page.goto(url + "/admin/users?q=jinzhong")
    row = page.inner_text("table.grid tbody")
    assert (
        "太原市新填报员" in row
        and "太原市应急管理局" in row
        and "节点单位填报员" in row
        and "待修改密码" in row
    )
    page.screenshot(path=str(SHOTS / "accounts-list.png"), full_page=True)
    log_out(page)

    # The operator logs in with the issued password and must change it first.
    log_in(page, live_server, OPERATOR_EMAIL, issued, wait=False)
    page.wait_for_url("**/change")
    page.goto(url + "/depots")
    assert page.url.endswith("/change")  # every page leads here
    assert "请先设置自己的密码" in page.inner_text("main")
    page.screenshot(path=str(SHOTS / "accounts-forced-change.png"), full_page=True)
    page.fill("input[name=password]", issued)
    page.fill("input[name=new_password]", CHOSEN)
    page.fill("input[name=new_password_confirm]", CHOSEN)
    page.click("button:has-text('修改密码')")
    page.wait_for_url(url + "/")
    assert "太原市新填报员" in page.inner_text("h1")
    log_out(page)

    # Forgotten: a reset link by e-mail, through the outbox.
    page.click("text=忘记密码？")
    page.wait_for_url("**/reset")
    page.fill("input[name=email]", OPERATOR_EMAIL)
    page.click("button:has-text('发送链接')")
    page.wait_for_selector(".flash")
    page.screenshot(path=str(SHOTS / "accounts-reset-requested.png"), full_page=True)
    page.goto(_reset_link(app))
    assert page.inner_text("h1") == "设置新密码"
    page.fill("input[name=password]", RESET_TO)
    page.fill("input[name=password_confirm]", RESET_TO)
    page.screenshot(path=str(SHOTS / "accounts-reset-form.png"), full_page=True)
    page.click("button:has-text('设置密码')")
    page.wait_for_url("**/login*")
    log_in(page, live_server, OPERATOR_EMAIL, RESET_TO, wait=False)
    page.wait_for_url(url + "/")
    log_out(page)

    # The administrator disables the account; its login is refused.
    log_in(page, live_server, "admin@example.org", live_server["password"], wait=False)
    page.wait_for_url(url + "/")
    page.goto(url + "/admin/users?q=jinzhong")
    page.click("table.grid >> text=太原市新填报员")
    page.click("button:has-text('停用账号')")
    page.wait_for_selector(".flash-success")
    assert "已停用" in page.inner_text(".flash-success")
    page.screenshot(path=str(SHOTS / "accounts-disabled.png"), full_page=True)
    log_out(page)
    log_in(page, live_server, OPERATOR_EMAIL, RESET_TO, wait=False)
    page.wait_for_selector(".flash-error, .field-error")
    assert "/login" in page.url
    page.screenshot(path=str(SHOTS / "accounts-login-refused.png"), full_page=True)
