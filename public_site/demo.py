"""Demo content of the public portal: notices, suppliers in every review state (the demo
supplier account's enterprise approved), a board demand with offers, answered feedback.
Loaded by `flask demo init` after the demo province and accounts; never twice."""

from datetime import timedelta

from sqlalchemy import func, select
from stdnum.cn.uscc import calc_check_digit

from core.auth import User
from core.extensions import db
from core.timeutil import local_today, utcnow
from reserve.models import Material

from .models import BoardDemand, BoardOffer, Feedback, Notice, Supplier, SupplierOffer

NOTICES = [
    (
        "notice",
        "关于开展2026年度应急物资储备情况核查的通知",
        "各市应急管理局、省直有关部门：\n\n为掌握全省应急物资储备情况，定于12月开展年度核查。请各节点单位通过本系统及时更新储备库、库存和运输力信息。",
    ),
    (
        "news",
        "省应急管理厅组织开展冬季防寒物资调运演练",
        "11月中旬，省应急管理厅联合粮食和物资储备局开展冬季防寒物资跨市调运演练，检验了储备信息报送和调拨方案生成的时效。",
    ),
    (
        "incident",
        "关于某县低温雨雪冰冻灾害应急物资保障情况的通报",
        "受强寒潮影响，相关县出现低温雨雪冰冻天气。省级已调拨棉被、棉大衣和折叠床支援受灾地区，群众基本生活得到保障。",
    ),
]

# (name, region, status, reason, offers: (material name fragment, stock, per day, lead h, regions))
SUPPLIERS = [
    (
        "山西晋安应急物资有限公司",
        "140100",
        "approved",
        None,
        [("棉被", 5000, 800, 12, "140000"), ("帐篷", 600, 50, 24, "140100,140700")],
    ),
    (
        "大同市恒温被服制造有限公司",
        "140200",
        "approved",
        None,
        [("棉大衣", 3000, 500, 24, "140200,140600,140900")],
    ),
    (
        "晋城市清源饮用水有限公司",
        "140500",
        "approved",
        None,
        [("饮用水", 20000, 10000, 8, "140400,140500")],
    ),
    ("运城市安泰救援装备有限公司", "140800", "pending", None, [("救生衣", 800, 100, 48, "140800")]),
    (
        "吕梁市北方帐篷厂",
        "141100",
        "changes_requested",
        "营业执照扫描件不清晰，请重新上传。",
        [("帐篷", 200, 30, 48, "141100")],
    ),
]


def is_empty() -> bool:
    return not db.session.scalar(select(func.count(Supplier.id)))


def _credit_code(n: int, region: str) -> str:
    body = f"91{region}{n:08d}X"[:17]
    return body + calc_check_digit(body)


def _material(fragment: str) -> Material | None:
    return db.session.scalar(
        select(Material).where(Material.name.contains(fragment)).order_by(Material.code)
    )


def build_portal_demo() -> dict:
    now = utcnow()
    for i, (kind, title, body) in enumerate(NOTICES):
        db.session.add(
            Notice(
                kind=kind,
                title=title,
                body=body,
                published=True,
                published_at=now - timedelta(days=3 * i),
            )
        )
    account = db.session.scalar(select(User).where(User.email == "supplier@example.org"))
    suppliers = []
    for n, (name, region, status, reason, offers) in enumerate(SUPPLIERS, start=1):
        supplier = Supplier(
            name=name,
            credit_code=_credit_code(n, region),
            legal_representative="王建国",
            contact_name="李经理",
            contact_mobile=f"1390351{n:04d}",
            address=f"{name}厂区",
            region_code=region,
            status=status,
            review_reason=reason,
            reviewed_at=None if status == "pending" else now,
            user_id=account.id if n == 1 and account else None,
        )
        for fragment, stock, per_day, lead, regions in offers:
            material = _material(fragment)
            supplier.offers.append(
                SupplierOffer(
                    material_id=material.id if material else None,
                    material_text=None if material else fragment,
                    unit=material.unit if material else "件",
                    quantity_in_stock=stock,
                    capacity_per_day=per_day,
                    lead_time_h=lead,
                    service_regions=regions,
                )
            )
        db.session.add(supplier)
        suppliers.append(supplier)
    db.session.flush()
    quilt = _material("棉被")
    demand = BoardDemand(
        title="某县低温雨雪冰冻灾害群众转移安置所需棉被",
        material_id=quilt.id if quilt else None,
        material_text=None if quilt else "棉被",
        unit=quilt.unit if quilt else "床",
        quantity=2000,
        region_code="141100",
        needed_by=local_today() + timedelta(days=5),
        description="安置点急需棉被，欢迎企业和社会各界提供。",
        source_kind="admin",
    )
    demand.offers.append(
        BoardOffer(
            offerer_name=suppliers[0].name,
            supplier_id=suppliers[0].id,
            contact="13903510001",
            quantity=800,
            status="matched",
            matched_quantity=800,
            decided_at=now,
        )
    )
    demand.offers.append(
        BoardOffer(
            offerer_name="热心市民张先生",
            contact="zhang@example.org",
            quantity=50,
            note="家中闲置新棉被",
        )
    )
    db.session.add(demand)
    db.session.add_all(
        [
            Feedback(
                category="question",
                text="请问个人可以向储备库捐赠物资吗？",
                contact="13800000000",
                answer="可以。请通过“供求信息”中的需求提出供应意向，管理员会与您联系。",
                answered_at=now,
                is_public=True,
            ),
            Feedback(
                category="suggestion",
                text="建议公开各市储备物资的总量，方便群众了解。",
                answer="已采纳：首页现已按类别和城市公布公开储备的汇总数据。",
                answered_at=now,
                is_public=True,
            ),
            Feedback(category="report", text="某乡镇储备点物资堆放杂乱，请核查。", contact="匿名"),
        ]
    )
    db.session.commit()
    return {"notices": len(NOTICES), "suppliers": len(SUPPLIERS), "demands": 1, "feedback": 3}
