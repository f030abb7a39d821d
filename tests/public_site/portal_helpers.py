"""Shared setup of the public portal tests: reference data, a registration form, uploads."""

import io

import pytest

from core.auth import ADMIN
from core.extensions import db as _db
from reserve.services.reference import load_regions
from tests import factories
from tests.conftest import csrf_token, log_in

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
# Real unified social credit codes, as the enterprises publish them (business licences, annual reports).
REAL_CODES = {
    "914403001922038216": "华为技术有限公司",
    "9144030071526726XG": "腾讯科技（深圳）有限公司",
    "91330100716105852F": "阿里巴巴（中国）有限公司",
    "91110000710925462X": "中国石油天然气股份有限公司",
    "91110000802100433B": "百度在线网络技术（北京）有限公司",
    "91110108551385082Q": "小米科技有限责任公司",
    "91440300708461136T": "中国平安保险（集团）股份有限公司",
}


@pytest.fixture
def portal(app, db, tmp_path, monkeypatch):
    """Regions, two catalog materials, uploads in a temporary folder."""
    monkeypatch.setitem(app.config, "PORTAL_UPLOAD_DIR", str(tmp_path / "uploads"))
    with app.app_context():
        load_regions()
        tent = factories.catalog_material("001", "帐篷").id
        quilt = factories.catalog_material("002", "棉被", weight_kg=3).id
    return {"tent": tent, "quilt": quilt, "uploads": tmp_path / "uploads"}


def registration(portal, **overrides) -> dict:
    """The fields of a complete registration form, one offer of tents to Taiyuan."""
    form = {
        "email": "ent@example.org",
        "password": "Long-enough-9",
        "password_confirm": "Long-enough-9",
        "name": "华为技术有限公司",
        "credit_code": "914403001922038216",
        "legal_representative": "赵明",
        "contact_name": "钱经理",
        "contact_mobile": "139 0351 0001",
        "address": "太原市小店区坞城路1号",
        "region_code": "140100",
        "offers-0-material_id": str(portal["tent"]),
        "offers-0-quantity_in_stock": "300",
        "offers-0-capacity_per_day": "40",
        "offers-0-lead_time_h": "12",
        "offers-0-service_regions": ["140100"],
    }
    form.update(overrides)
    return form


def register(client, portal, licence=(PNG, "licence.png"), **overrides):
    page = client.get("/portal/register")
    data = {**registration(portal, **overrides), "csrf_token": csrf_token(page.text)}
    if licence is not None:
        data["licence"] = (io.BytesIO(licence[0]), licence[1])
    return client.post("/portal/register", data=data, content_type="multipart/form-data")


def post_form(client, page_url: str, url: str, data: dict):
    page = client.get(page_url)
    return client.post(url, data={**data, "csrf_token": csrf_token(page.text)})


def count(app, model) -> int:
    with app.app_context():
        return _db.session.scalar(_db.select(_db.func.count()).select_from(model))


def as_admin(client, make_user) -> dict:
    admin = make_user(ADMIN)
    client.post("/logout", data={})
    assert log_in(client, admin["email"]).status_code == 302
    return admin
