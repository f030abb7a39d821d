"""Every staff page, rendered in Chinese on the demo province, speaks to people: no raw field
name (`reserve_type=`, `agency_id`), no internal id where a name exists (`supplier#6`,
`批次 #1512`), no English status word (draft, approved, open, pending, update ...), no UTC time.

The demo is loaded once into an SQLite file (as `make run` does), an incident is taken from
demand to receipt, a stock report applied and a data-quality finding of each kind the demo has
raised; then each role opens every page it may open."""

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from flask_migrate import upgrade

from core import create_app
from tests.conftest import csrf_token

ROOT = Path(__file__).resolve().parent.parent

RAW_FIELD = re.compile(
    r"\b[a-z]+(?:_[a-z0-9]+)+\b|\b[a-z_]+=\S"
)  # agency_id, reserve_type=physical
INTERNAL_ID = re.compile(
    r"\b[a-z_]+ ?#\d+|批次 ?#\d+|库存批次 ?#\d+"  # supplier#6, 批次 #1512
    r"|(?<![\w-])[DS]\d+(?:-[AC]\d+)?\b"
)  # a planner's source key: D12, D40-A24
ENGLISH_WORDS = re.compile(
    r"\b(draft|approved|open|pending|update|create|delete|ready|departed|arrived|received|"
    r"applied|active|closed|cancelled|superseded|resolved|acknowledged|rejected|physical|"
    r"internal|public|restricted|per minute|per hour|per day|true|false|None)\b"
)
UTC = re.compile(r"UTC|\d{4}-\d\d-\d\dT\d\d:\d\d")
# An English abbreviation or version tag (ETA, km, v1, a column headed v); a response level in Roman numerals or a
# GB/T 2260 region code standing for the level's or the region's name (alone in a cell, or a value).
ABBREVIATION = re.compile(
    r"(?<![\w-])(?:ETA|km|v\d*)(?![\w-])|(?:\|\s*|：)(?:I{1,3}|IV|[1-6]\d{5})(?![\w-])"
)
# Any other lowercase English word (a coded value such as `receipt`, `transport`, `anonymous`).
LOWERCASE_WORD = re.compile(r"(?<![\w.@:/-])[a-z]{3,}\b(?![.:/-]\w)")
# A record called by its kind and a number where it has a name ("批次 159", "储备库 41", "供货信息 6").
RECORD_BY_NUMBER = re.compile(
    r"(?<![\u4e00-\u9fff])(?:批次|储备库|报送|供货信息|供货响应|储备定额|方案明细|库存分配|善后记录|会商消息|共享资源|"
    r"报送周期|调拨方案|库存变动|变动类型|留言|用户|物资|单位|来源) ?\d+(?![\d,.%-])"
)
# Text people are meant to see verbatim: e-mail addresses, codes in monospace (lot and batch
# numbers, material codes), URLs; left out of the checks.
SKIPPED_TAGS = {"script", "style", "code", "pre", "textarea"}
CELL_TAGS = {"td", "th", "li", "p", "div", "tr", "option", "label"}


class VisibleText(HTMLParser):
    """The text a person sees: tag contents outside scripts and code, plus button and input labels."""

    def __init__(self):
        super().__init__()
        self.parts, self.skipping = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in SKIPPED_TAGS:
            self.skipping += 1
        if tag in CELL_TAGS:
            self.parts.append(
                "|"
            )  # a label in one cell and a count in the next are not "储备库 27"
        attributes = dict(attrs)
        if (
            tag == "input"
            and attributes.get("type") in ("submit", "button")
            and attributes.get("value")
        ):
            self.parts.append(attributes["value"])
        for name in ("placeholder", "title", "aria-label"):
            if attributes.get(name):
                self.parts.append(attributes[name])

    def handle_endtag(self, tag):
        if tag in SKIPPED_TAGS and self.skipping:
            self.skipping -= 1

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = VisibleText()
    parser.feed(html)
    text = " ".join(parser.parts)
    text = re.sub(r"\S+@\S+\.\w+", " ", text)  # e-mail addresses
    return re.sub(
        r"https?://\S+|(?:\b[a-z][\w.-]*)?/[a-z][\w/.-]*", " ", text
    )  # URLs and paths shown as such


def problems_of(html: str) -> list[str]:
    text = visible_text(html)
    found = []
    for name, pattern in (
        ("raw field", RAW_FIELD),
        ("internal id", INTERNAL_ID),
        ("English word", ENGLISH_WORDS),
        ("UTC time", UTC),
        ("English word", LOWERCASE_WORD),
        ("internal id", RECORD_BY_NUMBER),
        ("abbreviation or code", ABBREVIATION),
    ):
        found += [
            f"{name}: {m.group(0)!r} in …{text[max(m.start() - 40, 0) : m.end() + 40]!r}…"
            for m in pattern.finditer(text)
        ]
    return found


def test_the_checker_catches_each_kind_of_leak():
    assert problems_of("<td>quantity=800 reserve_type=physical</td>")
    assert (
        problems_of("<td>agency_id</td>")
        and problems_of("<td>supplier#6</td>")
        and problems_of("<p>批次 #1512</p>")
    )
    assert problems_of('<input name="exclude" placeholder="D12, D40-A24">') and problems_of(
        "<td>储备库 41</td>"
    )
    assert problems_of("<td>类型：receipt</td>") and not problems_of("<td>储备库</td><td>27</td>")
    assert (
        problems_of("<th>ETA</th>")
        and problems_of("<td>III</td>")
        and problems_of("<td>行政区划：141100</td>")
    )
    assert not problems_of("<td>长子县 (140428)</td><td>口服补液盐散（III 5.125g×6袋/盒）</td>")
    assert (
        problems_of("<td>draft</td>")
        and problems_of("<th>时间（UTC）</th>")
        and problems_of("<td>60 per minute</td>")
    )
    assert not problems_of(
        '<td class="mono"><code>reserve_type</code></td><input name="agency_id">'
        "<script>var draft = 1;</script><td>admin@example.org</td><td>调拨方案 草稿</td>"
    )


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory):
    db_file = tmp_path_factory.mktemp("language") / "demo.db"
    app = create_app(
        {
            "APP_ENV": "development",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_file}",
            "RATELIMIT_ENABLED": False,
            "WTF_CSRF_ENABLED": True,
        }
    )
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
    result = app.test_cli_runner().invoke(args=["demo", "init"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        ids = _journey(app)
    return app, ids


def _journey(app) -> dict:
    """An incident from demand to receipt (two commanders), a stock report applied."""
    from datetime import timedelta

    from sqlalchemy import select

    from core.audit import AuditLog
    from core.auth import User
    from core.extensions import db
    from core.timeutil import utcnow
    from dispatch.services import approval, consultation, incidents, planning, shipments
    from reserve.models import Depot, Material
    from reserve.stock.models import StockLot
    from reserve.reporting import services as reporting
    from reserve.reporting.models import Submission
    from reserve.warnings.models import ReserveWarning

    def account(email):
        return db.session.execute(select(User).filter_by(email=email)).scalar_one()

    author, approver = account("commander@example.org"), account("commander2@example.org")
    incident = incidents.create_incident(
        author,
        title="演示：阳曲县地震",
        incident_type="natural_disaster",
        subtype="earthquake",
        level="II",
        region_code="140100",
    )
    point = incidents.add_point(
        author,
        incident.id,
        name="阳曲县体育馆安置点",
        lat=38.06,
        lon=112.67,
        population=6000,
        severity=3,
    )
    tent = (
        db.session.execute(
            select(Material)
            .join(StockLot, StockLot.material_id == Material.id)
            .where(StockLot.on_hand > 50)
            .order_by(Material.id)
        )
        .scalars()
        .first()
    )
    incidents.add_demand(
        author,
        incident.id,
        point_id=point.id,
        material_id=tent.id,
        quantity=20,
        needed_by=utcnow() + timedelta(hours=12),
        priority=3,
    )
    plan = planning.plan_incident(author, incident.id)
    consultation.post_message(author, incident.id, "请各单位确认", plan_id=plan.id)
    approval.approve(approver, plan.id)
    rows = shipments.list_shipments(author, incident.id)
    for step in ("departed", "arrived"):
        for s in rows:
            shipments.advance(author, s.id, step)
    shipments.advance(
        author,
        rows[0].id,
        "received",
        quantity_received=rows[0].quantity - 1,
        discrepancy_reason="一件破损",
    )
    operator = account("operator@example.org")
    depot = (
        db.session.execute(select(Depot).where(Depot.agency_id == operator.agency_id))
        .scalars()
        .first()
    )
    data = f"depot_code,material_code,lot_no,quantity\n{depot.code},{tent.code},DEMO-JUMP,1800\n".encode()
    submission = reporting.submit_file(
        operator,
        agency_id=operator.agency_id,
        kind="stock",
        mode="incremental",
        filename="r.csv",
        data=data,
    )
    reporting.confirm_submission(operator, submission.id, fingerprint=submission.fingerprint)
    preview = reporting.submit_file(
        operator,
        agency_id=operator.agency_id,
        kind="stock",
        mode="incremental",
        filename="p.csv",
        data=data.replace(b"1800", b"900"),
    )
    lot_warning = db.session.scalar(
        select(ReserveWarning.id).where(ReserveWarning.lot_id.is_not(None))
    )
    other_warning = db.session.scalar(
        select(ReserveWarning.id).where(ReserveWarning.lot_id.is_(None))
    )
    return {
        "incident": incident.id,
        "depot": depot.id,
        "submission": submission.id,
        "preview": preview.id,
        "warnings": [w for w in (lot_warning, other_warning) if w],
        "plan": db.session.scalar(select(Submission.id).limit(1)) and _first_plan(),
        "supplier": _first_supplier(),
        "agency": operator.agency_id,
        "audited": sorted(db.session.scalars(select(AuditLog.entity).distinct())),
    }


def _first_plan():
    from sqlalchemy import select

    from core.extensions import db
    from reserve.models import EmergencyPlan

    return db.session.scalar(select(EmergencyPlan.id).order_by(EmergencyPlan.id))


def _first_supplier():
    from sqlalchemy import select

    from core.extensions import db
    from public_site.models import Supplier

    return db.session.scalar(select(Supplier.id).order_by(Supplier.id))


def _pages(ids) -> dict[str, list[str]]:
    from reserve.sharing.resources import RESOURCES

    board = f"/incidents/{ids['incident']}"
    common = [
        "/",
        "/agencies",
        "/depots",
        f"/depots/{ids['depot']}",
        "/catalog",
        "/stock",
        "/transport",
        "/plans",
        f"/plans/{ids['plan']}",
        "/warnings",
        *[f"/warnings/{w}" for w in ids["warnings"]],
        "/notifications",
        "/incidents",
        board,
        f"{board}/report",
        "/sharing",
        "/sharing/grants",
        "/sharing/access-log",
        "/sharing/quality",
        "/reporting",
        "/reporting/scoreboard",
        "/stock?expiring_within_days=soon&reserve_type=stockpile&include_empty=maybe",
        "/todos",
        *[f"/sharing/request/{ids['agency']}/{kind}" for kind in RESOURCES],
    ]
    return {
        "admin@example.org": common
        + [
            "/admin/audit",
            *[f"/admin/audit?entity={e}" for e in ids["audited"]],
            "/sharing/clients",
            "/portal/admin/suppliers",
            f"/portal/admin/suppliers/{ids['supplier']}",
            "/portal/admin/notices",
            "/portal/admin/board",
            "/portal/admin/feedback",
        ],
        "operator@example.org": common
        + [
            f"/reporting/submissions/{ids['submission']}",
            f"/reporting/submissions/{ids['preview']}",
        ],
        "commander@example.org": common,
        "commander2@example.org": [board, f"{board}/report"],
        "viewer@example.org": common,
    }


def _signed_in(app, email):
    client = app.test_client()
    login = client.get("/login")
    assert (
        client.post(
            "/login",
            data={
                "email": email,
                "password": app.config["DEMO_PASSWORD"],
                "csrf_token": csrf_token(login.text),
            },
        ).status_code
        == 302
    )
    return client


def test_every_staff_page_speaks_chinese_on_the_demo(demo_app):
    app, ids = demo_app
    failures = {}
    for email, urls in _pages(ids).items():
        client = _signed_in(app, email)
        for url in urls:
            page = client.get(url)
            if page.status_code in (302, 303, 403, 404) and email != "admin@example.org":
                continue  # not this role's page (scoped out): the access tests cover that
            assert page.status_code == 200, f"{email} {url}: {page.status_code}"
            if found := problems_of(page.text):
                failures[f"{email} {url}"] = found[:6]
    assert not failures, "\n".join(
        f"{where}:\n  " + "\n  ".join(found) for where, found in failures.items()
    )


def test_data_quality_findings_name_their_records(demo_app):
    """A lot by its number and material, a depot (and the other depot of a conflict) by name."""
    app, _ids = demo_app
    text = visible_text(_signed_in(app, "commander@example.org").get("/sharing/quality").text)
    findings = text[text.index("问题清单") :]
    assert not RECORD_BY_NUMBER.findall(findings)
    assert re.search(r"批次 \S+ · \w+", findings) and re.search(
        r"↔\s+储备库 \S+储备库（\d+号）", findings
    )


def test_the_audit_log_names_who_and_what_changed(demo_app):
    """Region codes as region names, a supplier's offer by enterprise and material, a lot's
    movement by lot number and kind, the demo loader and a change with no one signed in in words."""
    app, _ids = demo_app
    client = _signed_in(app, "admin@example.org")
    suppliers = visible_text(client.get("/admin/audit?entity=supplier").text)
    assert "行政区划：吕梁市" in suppliers and "行政区划：141100" not in suppliers
    assert "命令行" in suppliers and "cli:demo init" not in suppliers
    offers = visible_text(client.get("/admin/audit?entity=supplier_offer").text)
    assert "供货信息 吕梁市北方帐篷厂 · 单帐篷" in offers
    movements = visible_text(client.get("/admin/audit?entity=movement").text)
    assert "库存变动 " in movements and "类型：出库" in movements and "访客（未登录）" in movements
    plans = visible_text(client.get("/admin/audit?entity=plan_version").text)
    assert "调拨方案 演示：阳曲县地震 · 第 1 版" in plans and "批准人：— → 值班指挥长" in plans


def test_the_stock_query_heads_its_lot_list_and_names_refused_filters(demo_app):
    app, _ids = demo_app
    page = _signed_in(app, "operator@example.org").get("/stock?expiring_within_days=soon").text
    assert re.search(r"<h2>库存批次 <span", page) and "<h2>批次数" not in page
    assert "部分筛选条件无效，已忽略：多少天内到期" in page


def test_a_warnings_history_says_what_happened(demo_app):
    """The first event reads 产生预警 (it read 产生时间, the heading of the time it was raised)."""
    app, ids = demo_app
    text = visible_text(
        _signed_in(app, "commander@example.org").get(f"/warnings/{ids['warnings'][0]}").text
    )
    history = text[text.index("处理记录") :]
    assert "产生预警" in history and "产生时间" not in history


def test_after_action_records_read_as_returned_to_stock_or_consumed(demo_app):
    """A returned after-action record went back into a depot: 已回收入库 (it read 已退回, "sent back")."""
    app, _ids = demo_app
    text = visible_text(
        _signed_in(app, "admin@example.org").get("/admin/audit?entity=after_action_record").text
    )
    assert "类型：已回收入库" in text and "类型：已消耗" in text and "已退回" not in text
