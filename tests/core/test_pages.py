"""The UI shell: Chinese by default, English on request, navigation and home page per role."""

import re
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from core.auth import ADMIN, COMMANDER, OPERATOR, SUPPLIER, VIEWER

TRANSLATIONS = Path(__file__).resolve().parents[2] / "core" / "translations"


def test_catalog_folder_is_named_zh_Hans_CN():
    assert (TRANSLATIONS / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po").exists()
    assert not (TRANSLATIONS / "zh_CN").exists()  # Flask-Babel would ignore it (DESIGN trap 2)


@pytest.mark.parametrize("domain", ["messages", "flask_security"])
def test_compiled_catalog_matches_po_and_is_complete(domain):
    folder = TRANSLATIONS / "zh_Hans_CN" / "LC_MESSAGES"
    po = read_po((folder / f"{domain}.po").open("rb"))
    mo = read_mo((folder / f"{domain}.mo").open("rb"))
    untranslated = [m.id for m in po if m.id and not m.string]
    assert untranslated == []
    assert [m.id for m in po if m.fuzzy] == [], (
        "fuzzy entries are guesses: translate them and drop the flag"
    )
    assert {m.id: m.string for m in po if m.id} == {m.id: m.string for m in mo if m.id}, (
        "messages.mo is stale: run `make translations`"
    )


def test_no_message_is_in_the_catalog_twice():
    """Babel keeps one translation of a msgid given twice (the audit once read 创建时间 for 新增)."""
    text = (TRANSLATIONS / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po").read_text(encoding="utf-8")
    seen, twice = set(), []
    for entry in text.split("\n\n"):
        live = "\n".join(line for line in entry.splitlines() if not line.startswith("#"))
        if "msgid " not in live:
            continue
        key = live.split("msgstr", 1)[0]  # msgctxt and msgid, as written
        if key in seen:
            twice.append(key)
        seen.add(key)
    assert twice == []


def test_no_message_hides_inside_an_f_string():
    """`pybabel extract` does not look inside an f-string's braces: a `_("...")` there is never in
    the catalog and shows in English (a commander's to-do once read "plan version 1")."""
    root = TRANSLATIONS.parent.parent
    hidden = re.compile(
        r"""\bf(["'])[^"'\n]*\{\s*(?:_|_l|gettext|lazy_gettext|ngettext)\(\s*["']"""
    )
    found = [
        f"{path.relative_to(root)}:{number}"
        for package in ("core", "dispatch", "reserve", "public_site")
        for path in (root / package).rglob("*.py")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if hidden.search(line)
    ]
    assert found == []


def test_failed_login_message_is_chinese(client, make_user):
    from tests.conftest import log_in

    user = make_user(ADMIN)
    assert "账号或密码不正确" in log_in(client, user["email"], password="wrong-password-1").text


def test_pages_are_chinese_by_default_and_english_on_request(client):
    assert "登录" in client.get("/login").text
    assert "应急物资储备监测与调度系统" in client.get("/").text
    client.get("/lang/en")
    page = client.get("/").text
    assert "Emergency Materials Reserve Monitoring and Dispatch System" in page
    assert 'lang="en"' in page


def test_language_switch_does_not_redirect_off_site(client):
    assert client.get("/lang/en?next=//evil.example/x").headers["Location"] == "/"
    assert client.get("/lang/en?next=/agencies").headers["Location"] == "/agencies"


def test_unknown_language_is_ignored(client):
    client.get("/lang/xx")
    assert "登录" in client.get("/login").text


NAV = {"审计日志": {ADMIN}, "节点单位": {ADMIN, OPERATOR, COMMANDER, VIEWER}}


@pytest.mark.parametrize("role", [ADMIN, OPERATOR, COMMANDER, VIEWER, SUPPLIER])
def test_each_role_gets_its_home_and_navigation(client, login_as, make_agency, role):
    login_as(role, agency=make_agency("HOME-1"))
    page = client.get("/").text
    assert "欢迎" in page
    for label, roles in NAV.items():
        assert (f">{label}</a>" in page) is (role in roles), label
    # Staff see their daily pages in the bar and the rest under "More"; a supplier's few pages fit.
    assert ("<summary" in page and ">更多</summary>" in page) is (role != SUPPLIER)
    if role != SUPPLIER:
        more = page.split(">更多</summary>")[1].split("</details>")[0]
        assert ">节点单位</a>" in more and ">储备库</a>" not in more


def test_a_page_under_more_marks_the_menu_as_current(client, login_as, make_agency):
    login_as(OPERATOR, agency=make_agency("HOME-2"))
    page = client.get("/agencies").text
    assert '<summary class="current">更多</summary>' in page
    assert 'aria-current="page">节点单位</a>' in page
    assert "<summary>更多</summary>" in client.get("/").text


@pytest.mark.parametrize(
    "value, expected",
    [
        ("=SUM(A1)", "'=SUM(A1)"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@x", "'@x"),
        ("普通", "普通"),
        (None, ""),
    ],
)
def test_csv_cells_cannot_start_a_formula(value, expected):
    from core.exports import safe_cell

    assert safe_cell(value) == expected


def test_audit_page_verifies_and_exports_csv(client, login_as, make_agency):
    make_agency("CSV-1", name="导出单位")
    login_as(ADMIN)
    page = client.get("/admin/audit?verify=1")
    assert page.status_code == 200 and "哈希链完整" in page.text
    export = client.get("/admin/audit.csv?entity=agency")
    assert export.mimetype == "text/csv"
    lines = export.text.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("id,at_utc,actor")
    assert any("导出单位" in line for line in lines[1:])


def test_operator_cannot_open_the_audit_pages(client, login_as):
    login_as(OPERATOR)
    assert client.get("/admin/audit").status_code == 403
    assert client.get("/admin/audit.csv").status_code == 403


def test_landing_page_for_visitors(client):
    page = client.get("/")
    assert page.status_code == 200 and "/login" in page.text
