"""A province's first day on an empty database (docs/operations.md §2.2): reference data, the
agencies from a template file (all rows or none, errors per cell in Chinese), the first
administrator with a password that is never a default; demo commands refuse production."""

import io
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from core.auth import User
from core.extensions import db as _db
from core.organisation import Agency
from reserve.models import Material

from tests.conftest import log_in

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "agencies.example.csv"
STRONG = "Kq7-vuR2_pLx9!w"
HEADER = "单位编码,单位名称,上级单位编码,行政区划代码,单位类型\n"


def counts(app) -> tuple[int, int]:
    with app.app_context():
        return _db.session.scalar(select(func.count(Agency.id))), _db.session.scalar(
            select(func.count(User.id))
        )


@pytest.fixture
def runner(app, db):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["setup", "reference"])
    assert result.exit_code == 0, result.output
    return runner


def write(tmp_path, text: str, name="agencies.csv") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_the_documented_sequence_makes_a_working_system(app, runner, client, monkeypatch):
    with app.app_context():
        assert _db.session.scalar(select(func.count(Material.id))) > 300
    result = runner.invoke(args=["setup", "agencies", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    assert "27 agencies imported" in result.output
    monkeypatch.setenv("EMRESERVE_ADMIN_PASSWORD", STRONG)
    result = runner.invoke(args=["setup", "admin", "root@province.example", "--agency", "SX-YJT"])
    assert result.exit_code == 0, result.output
    # The README's example works after the first-day steps.
    result = runner.invoke(
        args=[
            "users",
            "create",
            "ops@province.example",
            "--role",
            "agency_operator",
            "--agency",
            "SX-YJT",
        ],
        input=f"{STRONG}x\n{STRONG}x\n",
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        city = _db.session.execute(select(Agency).filter_by(code="TY-XD-YJJ")).scalar_one()
        province = _db.session.execute(select(Agency).filter_by(code="SX-YJT")).scalar_one()
        assert city.path.startswith(province.path) and city.depth == 3
    assert log_in(client, "root@province.example", STRONG).status_code == 302
    assert client.get("/agencies").status_code == 200


def test_a_file_with_bad_rows_imports_nothing_and_names_each_cell_in_chinese(app, runner, tmp_path):
    before = counts(app)
    path = write(
        tmp_path,
        HEADER + "A1,甲局,,140000,市级单位\n"
        "A2,乙局,ZZ,140100,县级单位\n"  # unknown parent
        "A3,丙局,A1,999999,县级单位\n"  # unknown region
        "A4,丁局,A1,140100,区级\n"  # unknown kind
        "A1,戊局,,140000,市级单位\n",
    )  # duplicate code
    result = runner.invoke(args=["setup", "agencies", path])
    assert result.exit_code == 1
    assert counts(app) == before
    assert "E5" in result.output and "须为以下之一" in result.output  # the kind cell, in Chinese
    assert "A6" in result.output and "第 2 行" in result.output
    assert "nothing imported" in result.output


def test_reference_errors_are_reported_per_row(app, runner, tmp_path):
    path = write(
        tmp_path,
        HEADER + "B1,甲局,ZZ,140100,县级单位\nB2,乙局,,999999,县级单位\n"
        "B3,丙局,B4,140100,县级单位\nB4,丁局,B3,140100,县级单位\n",
    )
    result = runner.invoke(args=["setup", "agencies", path])
    assert result.exit_code == 1
    assert "没有编码为 ZZ 的单位" in result.output
    assert "999999" in result.output
    assert result.output.count("形成了循环") == 2
    assert counts(app)[0] == 0


def test_a_parent_may_come_later_in_the_file_or_already_exist(app, runner, tmp_path):
    first = write(tmp_path, HEADER + "C2,县局,C1,140105,县级单位\nC1,市局,,140100,市级单位\n")
    assert runner.invoke(args=["setup", "agencies", first]).exit_code == 0
    second = write(tmp_path, HEADER + "C3,另一县局,C1,140106,县级单位\n", "more.csv")
    assert runner.invoke(args=["setup", "agencies", second]).exit_code == 0
    again = runner.invoke(args=["setup", "agencies", second])
    assert again.exit_code == 1 and "已存在" in again.output
    with app.app_context():
        paths = {code: path for code, path in _db.session.execute(select(Agency.code, Agency.path))}
    assert paths["C2"].startswith(paths["C1"]) and paths["C3"].startswith(paths["C1"])


def test_the_xlsx_template_filled_in_imports_and_a_numeric_code_is_refused(app, runner, tmp_path):
    template = tmp_path / "t.xlsx"
    assert runner.invoke(args=["setup", "agencies-template", "-o", str(template)]).exit_code == 0
    workbook = load_workbook(template)
    sheet = workbook["数据"]
    assert [c.value for c in sheet[1]][:5] == [
        "单位编码*",
        "单位名称*",
        "上级单位编码",
        "行政区划代码*",
        "单位类型*",
    ]
    sheet.append(["X1", "某市应急管理局", None, "140100", "市级单位"])
    sheet.append(["X2", "某县应急管理局", "X1", 140105, "县级单位"])  # the region typed as a number
    workbook.save(template)
    result = runner.invoke(args=["setup", "agencies", str(template)])
    assert result.exit_code == 1 and "D4" in result.output and "文本" in result.output
    sheet.cell(row=4, column=4).value = "140105"
    workbook.save(template)
    result = runner.invoke(args=["setup", "agencies", str(template)])
    assert result.exit_code == 0, result.output
    assert counts(app)[0] == 2


def test_an_unreadable_or_empty_file_is_refused(app, runner, tmp_path):
    blank = tmp_path / "blank.csv"
    assert (
        runner.invoke(
            args=["setup", "agencies-template", "--format", "csv", "-o", str(blank)]
        ).exit_code
        == 0
    )
    result = runner.invoke(args=["setup", "agencies", str(blank)])
    assert result.exit_code == 1 and "没有单位数据行" in result.output
    binary = tmp_path / "x.csv"
    binary.write_bytes(b"\x00\x01\x02" * 100)
    result = runner.invoke(args=["setup", "agencies", str(binary)])
    assert result.exit_code == 1 and counts(app)[0] == 0


def test_the_first_administrator_never_gets_a_default_password(app, runner, monkeypatch):
    assert runner.invoke(args=["setup", "agencies", str(EXAMPLE)]).exit_code == 0
    monkeypatch.delenv("EMRESERVE_ADMIN_PASSWORD", raising=False)
    before = counts(app)
    no_input = runner.invoke(
        args=["setup", "admin", "root@province.example", "--agency", "SX-YJT"], input=""
    )
    assert no_input.exit_code != 0 and counts(app) == before
    weak = runner.invoke(
        args=["setup", "admin", "root@province.example", "--agency", "SX-YJT"],
        input="password1\npassword1\n",
    )
    assert weak.exit_code != 0 and counts(app) == before
    prompted = runner.invoke(
        args=["setup", "admin", "root@province.example", "--agency", "SX-YJT"],
        input=f"{STRONG}\n{STRONG}\n",
    )
    assert prompted.exit_code == 0, prompted.output
    second = runner.invoke(
        args=["setup", "admin", "other@province.example", "--agency", "SX-YJT"],
        input=f"{STRONG}\n{STRONG}\n",
    )
    assert second.exit_code != 0 and "exist already" in second.output


@pytest.mark.parametrize("command", [["demo", "init"], ["demo", "load", "--scale", "province"]])
def test_demo_commands_refuse_production_and_change_nothing(app, db, monkeypatch, command):
    monkeypatch.setitem(app.config, "APP_ENV", "production")
    before = counts(app)
    result = app.test_cli_runner().invoke(args=command)
    assert result.exit_code != 0
    assert "APP_ENV=production" in result.output
    assert counts(app) == before
    with app.app_context():
        assert _db.session.scalar(select(func.count(Material.id))) == 0


def test_the_template_downloads_and_an_administrator_imports_through_the_api(
    app, runner, client, login_as
):
    login_as("agency_operator")
    page = client.get("/api/v1/agencies/template?format=csv")
    assert page.status_code == 200 and "单位编码" in page.data.decode("utf-8-sig")
    assert client.get("/api/v1/agencies/template").data[:2] == b"PK"
    refused = client.post(
        "/api/v1/agencies/import",
        data={"file": (io.BytesIO(EXAMPLE.read_bytes()), "a.csv")},
        headers={"X-CSRF-Token": _csrf(client)},
    )
    assert refused.status_code == 403 and counts(app)[0] == 0


def test_an_api_import_with_errors_answers_422_per_cell_in_chinese(app, runner, client, login_as):
    login_as("admin")
    bad = (HEADER + "D1,甲局,,140000,市级单位\nD2,乙局,D9,140100,县级单位\n").encode()
    answer = client.post(
        "/api/v1/agencies/import",
        data={"file": (io.BytesIO(bad), "a.csv")},
        headers={"X-CSRF-Token": _csrf(client)},
    )
    assert answer.status_code == 422 and answer.mimetype == "application/problem+json"
    assert "未导入" in answer.json["detail"]
    assert (
        answer.json["errors"]["rows"][0]["cell"] == "C3"
        and "D9" in answer.json["errors"]["rows"][0]["message"]
    )
    assert counts(app)[0] == 0
    good = client.post(
        "/api/v1/agencies/import",
        data={"file": (io.BytesIO(EXAMPLE.read_bytes()), "a.csv")},
        headers={"X-CSRF-Token": _csrf(client)},
    )
    assert good.status_code == 201 and len(good.json["created"]) == 27


def _csrf(client) -> str:
    from tests.conftest import csrf_token

    return csrf_token(client.get("/depots").text)
