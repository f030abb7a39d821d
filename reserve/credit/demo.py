"""Demo credit lists (`flask demo init`): a dishonest listing of a portal demo enterprise (the
water supplier: the daily check suspends it and every plan leaves its offer out), one of an
agreement-reserve enterprise of the demo province (quilts: the demo incident's plan leaves its
lot out), a listing that has ended (its end date
passed) and a red-list entry (a mark in the review queue and on the public supplier list)."""

from datetime import timedelta

from sqlalchemy import func, select

from core.extensions import db
from core.timeutil import local_today

from ..models import Material
from ..stock import queries as stock_queries
from . import checks, services
from .models import CreditEntry

# the portal demo's enterprises (public_site/demo.py: 91 + region + number, GB 32100 check digit)
WATER_SUPPLIER = ("晋城市清源饮用水有限公司", "9114050000000003XH")
QUILT_SUPPLIER = ("山西晋安应急物资有限公司", "9114010000000001XT")
COAT_SUPPLIER = ("大同市恒温被服制造有限公司", "9114020000000002X1")
QUILTS = "1030101001"  # GB/T 38565 棉被
DEMO_FILE = "省信用平台2026年第11期失信主体名单（演示）.xlsx"


def is_empty() -> bool:
    return not db.session.scalar(select(func.count(CreditEntry.id)))


def _rows(today) -> list[dict]:
    rows = [
        {
            "credit_code": WATER_SUPPLIER[1],
            "name": WATER_SUPPLIER[0],
            "list": "失信",
            "reason": "拒不履行法院生效判决（演示数据）",
            "authority": "晋城市中级人民法院",
            "start_date": (today - timedelta(days=20)).isoformat(),
            "end_date": (today + timedelta(days=345)).isoformat(),
            "source_document": "（2026）晋05执1234号",
        },
        {
            "credit_code": COAT_SUPPLIER[1],
            "name": COAT_SUPPLIER[0],
            "list": "失信",
            "reason": "产品质量抽检不合格（演示数据，已到期）",
            "authority": "大同市市场监督管理局",
            "start_date": (today - timedelta(days=400)).isoformat(),
            "end_date": (today - timedelta(days=35)).isoformat(),
            "source_document": "同市监处〔2025〕88号",
        },
        {
            "credit_code": QUILT_SUPPLIER[1],
            "name": QUILT_SUPPLIER[0],
            "list": "红名单",
            "reason": "2025年度应急物资保障守信企业（演示数据）",
            "authority": "山西省应急管理厅",
            "start_date": (today - timedelta(days=60)).isoformat(),
            "end_date": None,
            "source_document": "晋应急函〔2026〕12号",
        },
    ]
    # an enterprise holding quilts (棉被) under agreement: the demo incident asks for quilts, so
    # its plan names the enterprise's lot as left out
    quilts = db.session.scalars(select(Material.id).where(Material.code == QUILTS)).all()
    portal = {WATER_SUPPLIER[0], QUILT_SUPPLIER[0], COAT_SUPPLIER[0]}
    enterprises = [  # not one whose generated name is a portal enterprise's: no look-alikes
        row
        for row in stock_queries.reserve_enterprises(quilts) or stock_queries.reserve_enterprises()
        if row[1] not in portal
    ]
    if enterprises:
        code, name, _lots, _units = enterprises[0]
        rows.append(
            {
                "credit_code": code,
                "name": name or code,
                "list": "失信",
                "reason": "未按协议履行应急物资供应义务（演示数据）",
                "authority": "山西省发展和改革委员会",
                "start_date": (today - timedelta(days=5)).isoformat(),
                "end_date": (today + timedelta(days=360)).isoformat(),
                "source_document": "晋发改信用〔2026〕7号",
            }
        )
    return rows


def build_credit_demo() -> dict:
    today = local_today()
    recorded = services.record_entries(
        _rows(today), origin="import", origin_ref=DEMO_FILE, by_id=None
    )
    found = checks.check_reserves(today)
    return {"entries": recorded.created, "reserve hits": found["hits_raised"]}
