"""A deterministic demo province (and a national-scale variant for benchmarks).

Province scale has the shape of the earlier provincial platform's real data: 27 agencies,
232 depots, 1,522 stock lots, 1,111 transport records, 756 categories, plans with norms,
some lots near or past expiry, some cities below norm. National scale: ~3,200 agencies,
10,000 depots, 1,000,000 lots. Same seed and same `as_of` date, same data.

Rows go in with Core bulk inserts (a million ORM objects would take minutes); the load is
recorded as one audit event. Every lot gets an opening-balance receipt movement, so the
ledger and the cached balances agree from the start.
"""

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import bindparam, func, insert, select

from stdnum.cn.uscc import calc_check_digit

from core.audit import record_event
from core.extensions import db
from core.timeutil import local_today, utcnow

from .rules import region_prefix
from core.organisation import Agency, AgencyKind, Region
from .models import Depot, EmergencyPlan, Material, ReserveNorm, TransportCapacity
from .reporting.models import ReportCadence
from .stock import ledger, queries, rollup
from .services.reference import load_reference_data


@dataclass(frozen=True)
class Scale:
    provinces: int
    depots: int
    lots: int
    transport: int


SCALES = {
    "province": Scale(provinces=1, depots=232, lots=1522, transport=1111),
    "national": Scale(provinces=31, depots=10_000, lots=1_000_000, transport=50_000),
}

# The demo province's agencies (code, name, kind, region, parent). Demo accounts refer to them.
PROVINCE_AGENCIES = [
    ("SX-YJT", "山西省应急管理厅", AgencyKind.PROVINCIAL_DEPARTMENT, "140000", None),
    ("SX-LCJ", "山西省粮食和物资储备局", AgencyKind.PROVINCIAL_DEPARTMENT, "140000", "SX-YJT"),
    ("SX-WJW", "山西省卫生健康委员会", AgencyKind.PROVINCIAL_DEPARTMENT, "140000", "SX-YJT"),
    ("SX-JTT", "山西省交通运输厅", AgencyKind.PROVINCIAL_DEPARTMENT, "140000", "SX-YJT"),
    ("SX-SLT", "山西省水利厅", AgencyKind.PROVINCIAL_DEPARTMENT, "140000", "SX-YJT"),
    ("SX-XFZD", "山西省消防救援总队", AgencyKind.CENTRAL_VERTICAL, "140000", "SX-YJT"),
    ("SX-GDJ", "国网山西省电力公司应急中心", AgencyKind.CENTRAL_VERTICAL, "140000", "SX-YJT"),
    ("TY-YJJ", "太原市应急管理局", AgencyKind.CITY, "140100", "SX-YJT"),
    ("DT-YJJ", "大同市应急管理局", AgencyKind.CITY, "140200", "SX-YJT"),
    ("YQ-YJJ", "阳泉市应急管理局", AgencyKind.CITY, "140300", "SX-YJT"),
    ("CZ-YJJ", "长治市应急管理局", AgencyKind.CITY, "140400", "SX-YJT"),
    ("JC-YJJ", "晋城市应急管理局", AgencyKind.CITY, "140500", "SX-YJT"),
    ("SZ-YJJ", "朔州市应急管理局", AgencyKind.CITY, "140600", "SX-YJT"),
    ("JZ-YJJ", "晋中市应急管理局", AgencyKind.CITY, "140700", "SX-YJT"),
    ("YC-YJJ", "运城市应急管理局", AgencyKind.CITY, "140800", "SX-YJT"),
    ("XZ-YJJ", "忻州市应急管理局", AgencyKind.CITY, "140900", "SX-YJT"),
    ("LF-YJJ", "临汾市应急管理局", AgencyKind.CITY, "141000", "SX-YJT"),
    ("LL-YJJ", "吕梁市应急管理局", AgencyKind.CITY, "141100", "SX-YJT"),
    ("TY-XD-YJJ", "太原市小店区应急管理局", AgencyKind.COUNTY, "140105", "TY-YJJ"),
    ("TY-YZ-YJJ", "太原市迎泽区应急管理局", AgencyKind.COUNTY, "140106", "TY-YJJ"),
    ("DT-PC-YJJ", "大同市平城区应急管理局", AgencyKind.COUNTY, "140213", "DT-YJJ"),
    ("CZ-LZ-YJJ", "长治市潞州区应急管理局", AgencyKind.COUNTY, "140403", "CZ-YJJ"),
    ("JZ-TG-YJJ", "晋中市太谷区应急管理局", AgencyKind.COUNTY, "140703", "JZ-YJJ"),
    ("YC-YH-YJJ", "运城市盐湖区应急管理局", AgencyKind.COUNTY, "140802", "YC-YJJ"),
    ("LF-YD-YJJ", "临汾市尧都区应急管理局", AgencyKind.COUNTY, "141002", "LF-YJJ"),
    ("XZ-XF-YJJ", "忻州市忻府区应急管理局", AgencyKind.COUNTY, "140902", "XZ-YJJ"),
    ("LL-LS-YJJ", "吕梁市离石区应急管理局", AgencyKind.COUNTY, "141102", "LL-YJJ"),
]

VEHICLES = {
    "road": [
        ("厢式货车", 8, 40),
        ("重型载货车", 20, 80),
        ("冷藏车", 5, 30),
        ("越野运输车", 3, 12),
        ("平板运输车", 30, 90),
    ],
    "rail": [("铁路棚车", 60, 120)],
    "air": [("运输直升机", 4, 20)],
    "water": [("冲锋舟", 0.8, 3), ("运输船", 50, 150)],
}
# The relief items every depot network keeps most of; norms are set on the first four.
KEY_MATERIALS = [
    "单帐篷",
    "棉被",
    "矿泉水",
    "方便面",
    "棉帐篷",
    "棉大衣",
    "折叠床",
    "压缩饼干",
    "手电筒",
    "发电机",
    "救生衣",
    "编织袋",
]
ENTERPRISE_WORDS = [
    "晋安",
    "华泰",
    "汾河",
    "太行",
    "吕梁山",
    "恒信",
    "三晋",
    "龙城",
    "并州",
    "泰和",
    "晋通",
    "安达",
]
CHUNK = 20_000


@dataclass
class DemoCounts:
    agencies: int = 0
    depots: int = 0
    lots: int = 0
    movements: int = 0
    transport: int = 0
    plans: int = 0
    norms: int = 0


def is_empty() -> bool:
    return not db.session.scalar(select(func.count(Agency.id)))


def build_demo(scale: str = "province", seed: int = 2026, as_of: date | None = None) -> DemoCounts:
    """Load the demo data into an empty registry (reference data is loaded first)."""
    if not is_empty():
        raise RuntimeError(
            "the registry already has agencies; demo data goes into an empty database"
        )
    rng, size, as_of = random.Random(seed), SCALES[scale], as_of or local_today()
    load_reference_data()
    counties = db.session.execute(
        select(Region.code, Region.name, Region.lat, Region.lon)
        .where(Region.level == "county", Region.valid_to.is_(None))
        .order_by(Region.code)
    ).all()
    counts = DemoCounts()
    agencies = _insert_agencies(rng, size, counties, counts)
    depots = _insert_depots(rng, size, agencies, counties, counts)
    _insert_lots(rng, size, depots, as_of, counts)
    _insert_transport(rng, size, agencies, depots, counts)
    _insert_plans(as_of, counts)
    rollup.rebuild()
    record_event(
        "bulk_load",
        "demo",
        {"scale": scale, "seed": seed, "as_of": as_of.isoformat(), **vars(counts)},
    )
    db.session.commit()
    return counts


def _agency_rows(size: Scale, counties) -> list[tuple]:
    if size.provinces == 1:
        return PROVINCE_AGENCIES
    rows = [("CN-YJB", "应急管理部物资保障中心", AgencyKind.CENTRAL_VERTICAL, "140000", None)]
    # National scale: 31 synthetic provinces laid over Shanxi's divisions (the only ones shipped).
    for p in range(1, size.provinces + 1):
        province = f"P{p:02d}"
        rows.append(
            (
                f"{province}-YJT",
                f"第{p}省应急管理厅",
                AgencyKind.PROVINCIAL_DEPARTMENT,
                "140000",
                "CN-YJB",
            )
        )
        for c in range(1, 11):
            city = f"{province}-C{c:02d}"
            rows.append(
                (
                    city,
                    f"第{p}省第{c}市应急管理局",
                    AgencyKind.CITY,
                    f"14{c:02d}00",
                    f"{province}-YJT",
                )
            )
            for k in range(1, 10):
                region = counties[(p * 97 + c * 11 + k) % len(counties)].code
                rows.append(
                    (
                        f"{city}-X{k}",
                        f"第{p}省第{c}市第{k}县应急管理局",
                        AgencyKind.COUNTY,
                        region,
                        city,
                    )
                )
    return rows


def _insert_agencies(rng, size, counties, counts) -> list[dict]:
    by_code = {}
    for code, name, kind, region, parent_code in _agency_rows(size, counties):
        parent = by_code.get(parent_code)
        agency_id = db.session.execute(
            insert(Agency)
            .values(
                code=code,
                name=name,
                kind=kind.value,
                region_code=region,
                parent_id=parent["id"] if parent else None,
                path="",
                created_at=utcnow(),
            )
            .returning(Agency.id)
        ).scalar_one()
        path = f"{parent['path'] if parent else '/'}{agency_id}/"
        by_code[code] = {
            "id": agency_id,
            "code": code,
            "name": name,
            "kind": kind,
            "region": region,
            "path": path,
        }
    db.session.execute(
        Agency.__table__.update()
        .where(Agency.id == bindparam("agency_id"))
        .values(path=bindparam("new_path")),
        [{"agency_id": a["id"], "new_path": a["path"]} for a in by_code.values()],
    )
    counts.agencies = len(by_code)
    return list(by_code.values())


def _insert_depots(rng, size, agencies, counties, counts) -> list[dict]:
    weights = [{"county": 2, "city": 5}.get(a["kind"].value, 4) for a in agencies]
    owners = rng.choices(agencies, weights=weights, k=size.depots)
    rows = []
    for n, owner in enumerate(owners, start=1):
        local = [
            c for c in counties if c.code.startswith(region_prefix(owner["region"]))
        ] or counties
        county = local[rng.randrange(len(local))]
        roll = rng.random()
        rows.append(
            {
                "agency_id": owner["id"],
                "code": f"{owner['code']}-K{n:05d}",
                "name": _depot_name(owner["name"], county.name, n),
                "address": f"山西省{county.name}应急物资储备园{rng.randint(1, 99)}号",
                "region_code": county.code,
                "lat": round(county.lat + rng.uniform(-0.08, 0.08), 6),
                "lon": round(county.lon + rng.uniform(-0.08, 0.08), 6),
                "capacity_m3": float(rng.choice([2000, 5000, 8000, 12000, 20000, 40000])),
                "capacity_t": float(rng.choice([500, 1000, 2000, 4000, 8000])),
                "classification": "public"
                if roll < 0.15
                else "restricted"
                if roll > 0.93
                else "internal",
                "contact_name": rng.choice(["王", "李", "张", "刘", "陈", "杨", "赵"])
                + rng.choice(["伟", "芳", "军", "敏", "强", "静"]),
                "contact_phone": f"0351-{rng.randint(1000000, 9999999)}",
                "status": "active",
                "created_at": utcnow(),
            }
        )
    _bulk(Depot, rows)
    ids = dict(db.session.execute(select(Depot.code, Depot.id)).all())
    for row in rows:
        row["id"] = ids[row["code"]]
    counts.depots = len(rows)
    return rows


def _depot_name(agency_name: str, county: str, n: int) -> str:
    owner = agency_name.removesuffix("应急管理局").removesuffix("应急管理厅").removeprefix("山西省")
    return f"{owner}{'' if county in owner else county}储备库（{n}号）"


def _enterprise(rng) -> tuple[str, str]:
    body = f"91140{rng.randint(100, 999)}{rng.randint(10**8, 10**9 - 1)}"
    return f"山西{rng.choice(ENTERPRISE_WORDS)}应急物资有限公司", body + calc_check_digit(body)


def _lot_row(rng, n, depot, material, as_of) -> dict:
    typical = 20_000 / (material.unit_weight_kg + 5)
    quantity = max(1, int(typical * rng.lognormvariate(0, 0.8)))
    row = {
        "depot_id": depot["id"],
        "material_id": material.id,
        "lot_no": f"{as_of:%Y}{n % 12 + 1:02d}-{n:07d}",
        "owner_agency_id": depot["agency_id"],
        "classification": depot["classification"],
        "on_hand": quantity,
        "reserved": 0,
        "reserve_type": "physical",
        "created_at": utcnow(),
        "production_date": None,
        "expiry_date": None,
        "enterprise_name": None,
        "enterprise_credit_code": None,
        "units_per_day": None,
        "lead_time_h": None,
        "contract_valid_from": None,
        "contract_valid_to": None,
    }
    if material.shelf_life_days:
        age = (
            rng.randint(0, material.shelf_life_days)
            if rng.random() > 0.02
            else material.shelf_life_days + rng.randint(1, 60)
        )
        row["production_date"] = as_of - timedelta(days=age)
        row["expiry_date"] = row["production_date"] + timedelta(days=material.shelf_life_days)
    roll = rng.random()
    if roll > 0.85:
        name, credit = _enterprise(rng)
        row.update(
            reserve_type="agreement" if roll < 0.95 else "capacity",
            enterprise_name=name,
            enterprise_credit_code=credit,
            lead_time_h=float(rng.choice([12, 24, 48, 72])),
            contract_valid_from=as_of - timedelta(days=rng.randint(30, 700)),
            contract_valid_to=as_of + timedelta(days=rng.randint(-10, 720)),
        )
        if row["reserve_type"] == "capacity":
            row["units_per_day"] = max(1, quantity // rng.randint(5, 30))
    return row


def _insert_lots(rng, size, depots, as_of, counts) -> None:
    materials = db.session.execute(select(Material).order_by(Material.code)).scalars().all()
    # Common relief items (category 1, basic living) are stocked more often than machinery,
    # and the key items most often of all.
    weights = [
        3 if m.category_code.startswith("1") else 2 if m.category_code.startswith("2") else 1
        for m in materials
    ]
    key = [m for m in (_material_like(word) for word in KEY_MATERIALS) if m]

    def batches():
        batch = []
        for n in range(1, size.lots + 1):
            material = (
                rng.choice(key)
                if key and rng.random() < 0.35
                else rng.choices(materials, weights)[0]
            )
            batch.append(_lot_row(rng, n, depots[rng.randrange(len(depots))], material, as_of))
            if len(batch) == CHUNK:
                yield batch
                batch = []
        yield batch

    opened = datetime.combine(as_of, datetime.min.time()) - timedelta(days=1)
    counts.lots, counts.movements = ledger.load_opening_lots(
        batches(), occurred_at=opened, reason="期初余额", reference="DEMO-OPENING"
    )


def _insert_transport(rng, size, agencies, depots, counts) -> None:
    modes = rng.choices(["road", "rail", "air", "water"], weights=[90, 4, 3, 3], k=size.transport)
    by_agency = {}
    for depot in depots:
        by_agency.setdefault(depot["agency_id"], []).append(depot["id"])
    rows, batch = 0, []
    for mode in modes:
        agency = agencies[rng.randrange(len(agencies))]
        vehicle, payload, volume = rng.choice(VEHICLES[mode])
        own = by_agency.get(agency["id"])
        batch.append(
            {
                "agency_id": agency["id"],
                "depot_id": rng.choice(own) if own and rng.random() < 0.6 else None,
                "mode": mode,
                "vehicle_type": vehicle,
                "count": rng.randint(1, 30),
                "payload_t": float(payload),
                "volume_m3": float(volume),
                "available": rng.random() > 0.05,
                "base": f"{agency['name']}车队",
                "classification": "internal",
                "updated_at": utcnow(),
            }
        )
        rows += 1
        if len(batch) == CHUNK:
            _bulk(TransportCapacity, batch)
            batch = []
    _bulk(TransportCapacity, batch)
    counts.transport = rows


def _material_like(*words) -> Material | None:
    for word in words:
        found = db.session.execute(
            select(Material).where(Material.name.contains(word)).order_by(Material.code).limit(1)
        ).scalar_one_or_none()
        if found:
            return found
    return None


# Relief standards (救助标准) per 10,000 affected people, for the first days after an incident:
# - single tents (12 m², 4-5 people each): half of the displaced sleep in tents, the others in
#   public shelters (schools, gymnasiums) → 10,000 / 2 / 5 = 1,000 tents;
# - quilts: those who left without bedding, about 3 in 10 → 3,000;
# - bottled water (boxes of 24 × 550 ml = 13.2 l): 3 l of drinking water per person and day
#   (Sphere minimum 2.5-3 l) for the 3 days before supply is restored → 90,000 l ≈ 6,800 boxes;
# - instant noodles (boxes of 12 cups): one meal in three for 3 days → 3 cups a person ≈ 2,500 boxes.
RELIEF_PER_10K_AFFECTED = {"单帐篷": 1000, "棉被": 3000, "矿泉水": 6800, "方便面": 2500}
# A reserve level per 10,000 residents is the relief standard for the share of residents a plan
# provides for at once: 0.3 % (30 people in 10,000: ~105,000 people province-wide, the scale of
# Shanxi's 2021 autumn floods, ~120,000 relocated).
PLANNED_SHARE = 0.003
# The Taiyuan earthquake plan (level II) provides for 30,000 people relocated in the city.
TAIYUAN_PLANNED_PEOPLE = 30_000
CITIES = (
    "140100",
    "140200",
    "140300",
    "140400",
    "140500",
    "140600",
    "140700",
    "140800",
    "140900",
    "141000",
    "141100",
)


def _insert_plans(as_of, counts) -> None:
    root = (
        db.session.execute(select(Agency).where(Agency.parent_id.is_(None)).order_by(Agency.id))
        .scalars()
        .first()
    )
    taiyuan = (
        db.session.execute(select(Agency).where(Agency.region_code == "140100")).scalars().first()
        or root
    )
    key = [
        (m, q)
        for m, q in ((_material_like(name), q) for name, q in RELIEF_PER_10K_AFFECTED.items())
        if m
    ]
    relief = [(m, "140000", "per_10k_affected", q) for m, q in key]
    plans = [
        (
            root,
            "山西省自然灾害救助应急预案（Ⅰ级响应）",
            "natural_disaster",
            "I",
            "140000",
            [
                (m, code, "per_10k_people", max(1, round(q * PLANNED_SHARE)))
                for m, q in key
                for code in CITIES
            ]
            + relief,
        ),
        (
            taiyuan,
            "太原市地震应急预案（Ⅱ级响应）",
            "natural_disaster",
            "II",
            "140100",
            [(m, "140100", "per_region", q * TAIYUAN_PLANNED_PEOPLE // 10_000) for m, q in key]
            + [(m, "140100", "per_10k_affected", q) for m, q in key],
        ),
        (
            root,
            "山西省危险化学品事故应急预案（Ⅲ级响应）",
            "accident",
            "III",
            "140000",
            [
                (m, "140000", "per_region", q)
                for m, q in (
                    (_material_like("防护服"), 2000),
                    (_material_like("防毒面具", "呼吸器"), 1500),
                )
                if m
            ],
        ),
    ]
    for owner, name, incident_type, level, region, norms in plans:
        plan = EmergencyPlan(
            agency_id=owner.id,
            name=name,
            incident_type=incident_type,
            level=level,
            region_code=region,
            classification="internal",
        )
        db.session.add(plan)
        db.session.flush()
        for material, code, basis, quantity in norms:
            db.session.add(
                ReserveNorm(
                    plan_id=plan.id,
                    material_id=material.id,
                    region_code=code,
                    basis=basis,
                    quantity=float(quantity),
                )
            )
            counts.norms += 1
        counts.plans += 1
    # The reporting calendar starts with the demo: no agency owes reports for months before it.
    db.session.add(
        ReportCadence(agency_id=None, kind="stock", period="monthly", grace_days=5, starts_on=as_of)
    )


def _bulk(model, rows: list[dict]) -> None:
    if rows:
        db.session.execute(insert(model.__table__), rows)


def lots_near_expiry(as_of: date, days: int = 90) -> int:
    return queries.lots_expiring_by(as_of + timedelta(days=days))
