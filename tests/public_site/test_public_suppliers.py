"""Supplier registration, duplicate refusal, uploads and the review workflow, through the
pages an enterprise and an administrator use (SQLite and PostgreSQL)."""

import io

import pytest

from core.auth import ADMIN, COMMANDER, OPERATOR, User
from core.extensions import db as _db
from public_site.models import Supplier, SupplierDocument, SupplierOffer
from public_site.services import suppliers
from tests.conftest import csrf_token, log_in
from tests.public_site.portal_helpers import PDF, PNG, count, portal, register, registration  # noqa: F401

pytestmark = pytest.mark.usefixtures("portal")


def _supplier(app, credit_code="914403001922038216") -> Supplier:
    with app.app_context():
        supplier = _db.session.scalar(_db.select(Supplier).filter_by(credit_code=credit_code))
        return {
            "id": supplier.id,
            "status": supplier.status,
            "reason": supplier.review_reason,
            "user_id": supplier.user_id,
            "offers": len(supplier.offers),
            "documents": [
                (d.stored_name, d.original_name, d.media_type, d.size) for d in supplier.documents
            ],
        }


def stored_documents(portal) -> list:
    """Documents stored for registrations (a licence kept for a form's next try is not one)."""
    folder = portal["uploads"]
    return sorted(p for p in folder.iterdir() if p.name != "pending") if folder.exists() else []


def _review(client, supplier_id, action, reason=""):
    page = client.get(f"/portal/admin/suppliers/{supplier_id}")
    return client.post(
        f"/portal/admin/suppliers/{supplier_id}/review",
        data={"action": action, "reason": reason, "csrf_token": csrf_token(page.text)},
    )


def _log_out(client):
    page = client.get("/")
    client.post(
        "/logout", data={"csrf_token": csrf_token(page.text)} if "csrf_token" in page.text else {}
    )


def test_enterprise_registers_with_its_licence_and_waits_for_review(client, app, portal):
    response = register(client, portal)
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    supplier = _supplier(app)
    assert supplier["status"] == "pending" and supplier["offers"] == 1
    with app.app_context():
        user = _db.session.get(User, supplier["user_id"])
        assert user.email == "ent@example.org" and user.role_names == {"supplier"}
        assert (
            _db.session.get(Supplier, supplier["id"]).contact_mobile == "13903510001"
        )  # normalised
    [(stored, original, media_type, size)] = supplier["documents"]
    assert original == "licence.png" and media_type == "image/png" and size == len(PNG)
    assert (
        stored != original and stored.endswith(".png") and len(stored) == 36
    )  # 32 random hex + .png
    stored_file = portal["uploads"] / stored
    assert stored_file.read_bytes() == PNG
    assert not str(stored_file.resolve()).startswith(str(app.static_folder))


def test_duplicate_credit_code_is_refused_in_chinese_and_nothing_changes(client, app, portal):
    assert register(client, portal).status_code == 302
    users, files = count(app, User), stored_documents(portal)
    again = register(
        client,
        portal,
        email="other@example.org",
        name="另一家公司",
        credit_code="9144 0300 1922 0382 16",
    )  # same code, typed with spaces
    assert again.status_code == 409
    assert "该统一社会信用代码的企业已经注册" in again.text
    assert count(app, User) == users and count(app, Supplier) == 1
    assert stored_documents(portal) == files


def test_duplicate_email_is_refused(client, app, portal):
    assert register(client, portal).status_code == 302
    again = register(client, portal, credit_code="9144030071526726XG")
    assert again.status_code == 409 and "该电子邮箱已注册账号" in again.text
    assert count(app, Supplier) == 1


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("credit_code", "914403001922038217", "校验码"),
        ("credit_code", "91440300192203821", "统一社会信用代码应为18位，当前为17位"),
        ("credit_code", "9144030019220382", "统一社会信用代码应为18位，当前为16位"),
        (
            "credit_code",
            "9144 0300 1922 0382 1",
            "统一社会信用代码应为18位，当前为17位",
        ),  # spaces do not count
        ("credit_code", "9144030019220382160", "统一社会信用代码应为18位，当前为19位"),
        ("contact_mobile", "12903510001", "手机号码为11位数字"),
        ("contact_mobile", "12345", "长度应为 11 至 20 个字符"),
        ("password_confirm", "Something-else-9", "两次输入的密码不一致"),
        ("offers-0-service_regions", [], "请至少选择一个服务区域"),
        ("name", "", "此项为必填项"),
    ],
)
def test_bad_registration_answers_422_in_chinese_and_stores_nothing(
    client, app, portal, field, value, message
):
    response = register(client, portal, **{field: value})
    assert response.status_code == 422
    assert message in response.text
    assert count(app, Supplier) == 0 and count(app, User) == 0
    assert not stored_documents(portal)  # (the licence waits under pending/ for the corrected form)


def test_registration_without_an_offer_is_refused(client, app, portal):
    form = {k: v for k, v in registration(portal).items() if not k.startswith("offers-")}
    page = client.get("/portal/register")
    response = client.post(
        "/portal/register",
        data={**form, "csrf_token": csrf_token(page.text), "licence": (io.BytesIO(PNG), "l.png")},
    )
    assert response.status_code == 422 and "请填写 1 至 20 项供应能力" in response.text
    assert count(app, Supplier) == 0


@pytest.mark.parametrize(
    "licence, message",
    [
        ((b"<html>I am not a PNG</html>", "licence.png"), "只接受 PDF、PNG 或 JPEG 文件"),
        ((b"", "empty.pdf"), "请上传营业执照"),
        (None, "请上传营业执照"),
        ((b"GIF89a" + b"\x00" * 20, "licence.jpg"), "只接受 PDF、PNG 或 JPEG 文件"),
    ],
)
def test_licence_is_checked_by_content(client, app, portal, licence, message):
    response = register(client, portal, licence=licence)
    assert response.status_code == 422 and message in response.text
    assert count(app, Supplier) == 0 and count(app, SupplierDocument) == 0


def test_oversized_licence_is_refused(client, app, portal, monkeypatch):
    monkeypatch.setitem(app.config, "PORTAL_UPLOAD_MAX_BYTES", 1024)
    response = register(client, portal, licence=(PDF + b"0" * 2048, "big.pdf"))
    assert response.status_code == 422 and "文件超过大小限制" in response.text
    assert count(app, Supplier) == 0


def test_pdf_licence_is_accepted(client, app, portal):
    assert register(client, portal, licence=(PDF, "执照.pdf")).status_code == 302
    [(_stored, original, media_type, _size)] = _supplier(app)["documents"]
    assert (original, media_type) == ("执照.pdf", "application/pdf")


def test_licence_is_served_only_to_administrators_and_its_enterprise(
    client, app, portal, make_user
):
    register(client, portal)
    document_id = _document_id(app)
    url = f"/portal/documents/{document_id}"
    assert client.get(url).status_code in (302, 401)  # anonymous: to the login page
    assert log_in(client, "ent@example.org", "Long-enough-9").status_code == 302
    own = client.get(url)
    assert own.status_code == 200 and own.data == PNG and own.mimetype == "image/png"
    assert (
        own.headers["X-Content-Type-Options"] == "nosniff"
        and "attachment" in own.headers["Content-Disposition"]
    )
    assert "no-store" in own.headers["Cache-Control"]
    _log_out(client)
    other = make_user("supplier")
    assert log_in(client, other["email"]).status_code == 302
    assert client.get(url).status_code == 404
    _log_out(client)
    admin = make_user(ADMIN)
    assert log_in(client, admin["email"]).status_code == 302
    assert client.get(url).status_code == 200


def _document_id(app) -> int:
    with app.app_context():
        return _db.session.scalar(_db.select(SupplierDocument.id))


def test_review_workflow_ask_for_changes_resubmit_and_approve(client, app, portal, make_user):
    register(client, portal)
    supplier_id = _supplier(app)["id"]
    admin = make_user(ADMIN)
    assert log_in(client, admin["email"]).status_code == 302
    queue = client.get("/portal/admin/suppliers")
    assert "华为技术有限公司" in queue.text

    refused = _review(client, supplier_id, "request_changes", "")
    assert refused.status_code == 422 and "请填写给企业的理由" in refused.text
    assert _supplier(app)["status"] == "pending"
    assert (
        _review(client, supplier_id, "request_changes", "营业执照照片模糊，请重新上传").status_code
        == 302
    )
    assert _supplier(app)["status"] == "changes_requested"

    _log_out(client)
    assert log_in(client, "ent@example.org", "Long-enough-9").status_code == 302
    own = client.get("/portal/enterprise")
    assert "退回修改" in own.text and "营业执照照片模糊，请重新上传" in own.text
    assert "<td>华为技术有限公司</td>" not in client.get("/portal/suppliers").text

    edit = client.get("/portal/enterprise/edit")
    assert edit.status_code == 200 and 'value="914403001922038216"' in edit.text
    form = {
        k: v
        for k, v in registration(portal).items()
        if not k.startswith("password") and k != "email"
    }
    resubmitted = client.post(
        "/portal/enterprise/edit",
        data={
            **form,
            "csrf_token": csrf_token(edit.text),
            "licence": (io.BytesIO(PDF), "clear.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert resubmitted.status_code == 302
    after = _supplier(app)
    assert after["status"] == "pending" and after["reason"] is None and len(after["documents"]) == 2

    _log_out(client)
    assert log_in(client, admin["email"]).status_code == 302
    assert _review(client, supplier_id, "approve").status_code == 302
    assert _supplier(app)["status"] == "approved"
    again = _review(client, supplier_id, "reject", "太晚了")
    assert again.status_code == 409 and "只能审核待审核状态的注册" in again.text
    assert _supplier(app)["status"] == "approved"

    _log_out(client)
    public = client.get("/portal/suppliers")
    assert "华为技术有限公司" in public.text and "帐篷" in public.text and "太原市" in public.text
    assert "13903510001" not in public.text and "钱经理" not in public.text
    assert any(
        s["name"] == "华为技术有限公司"
        for s in client.get("/api/v1/public/suppliers").json["items"]
    )


def test_rejected_enterprise_sees_the_reason_and_cannot_resubmit(client, app, portal, make_user):
    register(client, portal)
    supplier_id = _supplier(app)["id"]
    admin = make_user(ADMIN)
    log_in(client, admin["email"])
    assert _review(client, supplier_id, "reject", "经营范围不含应急物资").status_code == 302
    _log_out(client)
    log_in(client, "ent@example.org", "Long-enough-9")
    own = client.get("/portal/enterprise")
    assert "未通过" in own.text and "经营范围不含应急物资" in own.text
    assert "修改并重新提交" not in own.text
    edit = client.get("/portal/enterprise/edit")
    form = {
        k: v
        for k, v in registration(portal).items()
        if not k.startswith("password") and k != "email"
    }
    refused = client.post(
        "/portal/enterprise/edit", data={**form, "csrf_token": csrf_token(edit.text)}
    )
    assert refused.status_code == 409 and _supplier(app)["status"] == "rejected"
    me = client.get("/api/v1/portal/suppliers/me").json
    assert me["status"] == "rejected" and me["review_reason"] == "经营范围不含应急物资"


def test_only_administrators_review(client, app, portal, make_user, make_agency):
    register(client, portal)
    supplier_id = _supplier(app)["id"]
    operator = make_user(OPERATOR, agency=make_agency("OP-PORTAL"))
    log_in(client, operator["email"])
    assert client.get("/portal/admin/suppliers").status_code == 403
    assert client.get(f"/portal/admin/suppliers/{supplier_id}").status_code == 403
    token_user = make_user(OPERATOR)
    token = (
        app.test_cli_runner().invoke(args=["users", "token", token_user["email"]]).output.strip()
    )
    response = client.post(
        f"/api/v1/portal/suppliers/{supplier_id}/review",
        json={"action": "approve"},
        headers={"Authentication-Token": token},
    )
    assert response.status_code == 403 and response.mimetype == "application/problem+json"
    assert _supplier(app)["status"] == "pending"


def test_review_api_requires_a_reason_to_reject(client, app, portal, make_user):
    register(client, portal)
    supplier_id = _supplier(app)["id"]
    admin = make_user(ADMIN)
    token = app.test_cli_runner().invoke(args=["users", "token", admin["email"]]).output.strip()
    headers = {"Authentication-Token": token}
    refused = client.post(
        f"/api/v1/portal/suppliers/{supplier_id}/review", json={"action": "reject"}, headers=headers
    )
    assert refused.status_code == 422 and refused.json["detail"] == "请填写给企业的理由"
    unknown = client.post(
        f"/api/v1/portal/suppliers/{supplier_id}/review", json={"action": "erase"}, headers=headers
    )
    assert unknown.status_code == 422 and "请从列出的选项中选择" in str(unknown.json["errors"])
    done = client.post(
        f"/api/v1/portal/suppliers/{supplier_id}/review",
        json={"action": "approve"},
        headers=headers,
    )
    assert done.status_code == 200 and done.json["status"] == "approved"
    queue = client.get("/api/v1/portal/suppliers?status=approved", headers=headers).json
    assert queue["total"] == 1 and queue["items"][0]["contact_mobile"] == "13903510001"


def test_approved_offers_become_planning_sources_as_plain_data(client, app, portal, make_user):
    register(
        client,
        portal,
        **{
            "offers-1-material_text": "军用级保暖睡袋",
            "offers-1-unit": "个",
            "offers-1-capacity_per_day": "200",
            "offers-1-lead_time_h": "48",
            "offers-1-service_regions": ["140000"],
        },
    )
    supplier_id = _supplier(app)["id"]
    admin = make_user(ADMIN)
    with app.app_context():
        assert suppliers.approved_offers() == []  # not yet approved
        admin_user = _db.session.get(User, admin["id"])
        suppliers.review_supplier(admin_user, supplier_id, action="approve")
        [tents] = suppliers.approved_offers()  # the free-text offer waits for its mapping
        assert tents == {
            "offer_id": tents["offer_id"],
            "supplier_id": supplier_id,
            "supplier_name": "华为技术有限公司",
            "credit_code": "914403001922038216",
            "material_id": portal["tent"],
            "material_code": "1010101001",
            "unit": "顶",
            "reserve_type": "agreement",
            "quantity_in_stock": 300,
            "capacity_per_day": 40,
            "lead_time_h": 12.0,
            "service_regions": ["140100"],
            "suspended_reason": None,
        }
        bags = _db.session.scalar(
            _db.select(SupplierOffer).filter_by(material_text="军用级保暖睡袋")
        )
        assert not bags.is_planning_source
        suppliers.map_offer_material(admin_user, bags.id, portal["quilt"])
        sources = suppliers.approved_offers()
        assert [s["reserve_type"] for s in sources] == ["agreement", "capacity"]
        assert [s["unit"] for s in sources] == ["顶", "个"]
        assert [s["offer_id"] for s in suppliers.approved_offers(region_code="140213")] == [
            bags.id
        ]  # province-wide
        assert len(suppliers.approved_offers(region_code="140105")) == 2
        assert (
            suppliers.approved_offers(material_ids=[portal["quilt"]])[0]["material_id"]
            == portal["quilt"]
        )
    commander = make_user(COMMANDER)
    token = app.test_cli_runner().invoke(args=["users", "token", commander["email"]]).output.strip()
    listed = client.get("/api/v1/portal/planning-sources", headers={"Authentication-Token": token})
    assert listed.status_code == 200 and len(listed.json) == 2


def test_a_bad_email_gets_its_own_message(client, app, portal):
    response = register(client, portal, email="not-an-email")
    assert response.status_code == 422 and "电子邮箱格式不正确" in response.text
    assert count(app, Supplier) == 0


# --- issue 17 item 9: one round of corrections, the licence kept, limits that keep the form ----


def test_every_problem_of_a_registration_is_reported_at_once(client, app, portal):
    response = register(
        client,
        portal,
        licence=None,
        name="",
        credit_code="914403001922038217",
        contact_mobile="12903510001",
        password_confirm="Something-else-9",
    )
    assert response.status_code == 422
    for message in (
        "此项为必填项",
        "校验码",
        "手机号码为11位数字",
        "两次输入的密码不一致",
        "请上传营业执照",
    ):
        assert message in response.text, message
    assert count(app, Supplier) == 0 and count(app, User) == 0


def test_the_licence_is_kept_across_a_correction(client, app, portal):
    first = register(client, portal, contact_mobile="12903510001")
    assert first.status_code == 422 and "已上传：licence.png，无需重新选择" in first.text
    token = first.text.split('name="licence_token" value="', 1)[1].split('"', 1)[0]
    corrected = register(client, portal, licence=None, licence_token=token)
    assert corrected.status_code == 302
    [(stored, original, media_type, size)] = _supplier(app)["documents"]
    assert original == "licence.png" and media_type == "image/png" and size == len(PNG)
    assert (portal["uploads"] / stored).read_bytes() == PNG
    assert not any(
        (portal["uploads"] / "pending").iterdir()
    )  # the kept copy went with the registration


def test_a_forged_or_foreign_licence_token_is_no_licence(client, app, portal):
    response = register(
        client, portal, licence=None, licence_token="eyJuIjoiLi4vLi4vZXRjL3Bhc3N3ZCJ9.forged"
    )
    assert response.status_code == 422 and "请上传营业执照" in response.text
    assert count(app, Supplier) == 0


def test_successful_registrations_are_limited_and_the_form_survives(
    client, app, portal, monkeypatch
):
    monkeypatch.setitem(app.config, "PORTAL_REGISTER_RATE_LIMIT", "1 per minute")
    assert register(client, portal).status_code == 302
    client.post("/logout", data={})
    again = register(
        client,
        portal,
        email="other@example.org",
        credit_code="9144030071526726XG",
        name="腾讯科技（深圳）有限公司",
    )
    assert again.status_code == 429 and "请稍等一分钟后再次提交" in again.text
    assert "腾讯科技（深圳）有限公司" in again.text and "已上传：licence.png" in again.text
    assert count(app, Supplier) == 1
