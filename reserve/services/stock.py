"""Stock queries and statistics: filtered lot lists, totals by dimension, "available within N
hours", and their CSV/XLSX exports. Every query is scoped like the lots it reads."""

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Float, and_, case, cast, func, select

from core.extensions import db
from core.scoping import scoped

from .. import rules
from ..models import Agency, Category, Depot, Material, Region, StockLot

STOCK_HEADER = ["lot_id", "depot_code", "depot_name", "agency", "region_code", "region", "material_code",
                "material", "spec", "unit", "category_code", "lot_no", "expiry_date", "reserve_type",
                "on_hand", "reserved", "available", "weight_t"]


@dataclass
class StockFilter:
    material_id: int | None = None
    category_code: str | None = None
    region_code: str | None = None
    agency_id: int | None = None
    depot_id: int | None = None
    reserve_type: str | None = None
    expiring_within_days: int | None = None
    q: str | None = None
    include_empty: bool = False


def _filtered(stmt, user, f: StockFilter, today: date):
    stmt = scoped(stmt, user, StockLot.owner_agency_id, StockLot.classification)
    conditions = []
    if not f.include_empty:
        conditions.append(StockLot.on_hand > 0)
    if f.material_id:
        conditions.append(StockLot.material_id == f.material_id)
    if f.category_code:
        conditions.append(Material.category_code.startswith(f.category_code))
    if f.region_code:
        conditions.append(Depot.region_code.startswith(rules.region_prefix(f.region_code)))
    if f.agency_id:
        path = db.session.scalar(select(Agency.path).where(Agency.id == f.agency_id)) or "/none/"
        conditions.append(StockLot.owner_agency_id.in_(select(Agency.id).where(Agency.path.startswith(path))))
    if f.depot_id:
        conditions.append(StockLot.depot_id == f.depot_id)
    if f.reserve_type:
        conditions.append(StockLot.reserve_type == f.reserve_type)
    if f.expiring_within_days is not None:
        conditions.append(StockLot.expiry_date <= today + timedelta(days=f.expiring_within_days))
    if f.q:
        conditions.append(Material.name.contains(f.q))
    return stmt.where(and_(*conditions)) if conditions else stmt


def _joined(*columns):
    return (select(*columns)
            .select_from(StockLot)
            .join(Depot, StockLot.depot_id == Depot.id)
            .join(Material, StockLot.material_id == Material.id)
            .join(Agency, StockLot.owner_agency_id == Agency.id)
            .outerjoin(Region, Depot.region_code == Region.code))


def stock_rows(user, f: StockFilter, today: date):
    """Select of one row per lot, in the column order of STOCK_HEADER."""
    weight_t = StockLot.on_hand * Material.unit_weight_kg / 1000.0
    columns = [StockLot.id, Depot.code, Depot.name, Agency.name, Depot.region_code, Region.name,
               Material.code, Material.name, Material.spec, Material.unit, Material.category_code,
               StockLot.lot_no, StockLot.expiry_date, StockLot.reserve_type, StockLot.on_hand,
               StockLot.reserved, StockLot.on_hand - StockLot.reserved, weight_t]
    stmt = _joined(*(column.label(name) for column, name in zip(columns, STOCK_HEADER, strict=True)))
    return _filtered(stmt, user, f, today).order_by(Material.code, Depot.code, StockLot.lot_no, StockLot.id)


GROUPS = {
    "material": (Material.code, Material.name, Material.unit),
    "category": (func.substr(Material.category_code, 1, 3),),
    "region": (func.substr(Depot.region_code, 1, 4),),
    "agency": (Agency.code, Agency.name),
    "reserve_type": (StockLot.reserve_type,),
}


def stock_totals(user, f: StockFilter, group_by: str, today: date) -> list[dict]:
    """Totals per material, level-2 category, city, agency or reserve type."""
    keys = GROUPS[group_by]
    stmt = _joined(*keys,
                   func.count(StockLot.id).label("lots"),
                   func.sum(StockLot.on_hand).label("on_hand"),
                   func.sum(StockLot.reserved).label("reserved"),
                   func.sum(StockLot.on_hand - StockLot.reserved).label("available"),
                   func.sum(StockLot.on_hand * Material.unit_weight_kg / 1000.0).label("weight_t"))
    stmt = _filtered(stmt, user, f, today).group_by(*keys).order_by(*keys)
    rows = db.session.execute(stmt).all()
    labels = _group_labels(group_by, [r[0] for r in rows])
    result = []
    for row in rows:
        key = row[0] if len(keys) == 1 else row[0]
        result.append({"key": key, "label": labels.get(key) or (row[1] if len(keys) > 1 else key),
                       "unit": row[2] if group_by == "material" else None, "lots": row.lots,
                       "on_hand": int(row.on_hand or 0), "reserved": int(row.reserved or 0),
                       "available": int(row.available or 0), "weight_t": round(float(row.weight_t or 0), 3)})
    return result


def _group_labels(group_by: str, keys: list) -> dict:
    if group_by == "category":
        return dict(db.session.execute(select(Category.code, Category.name).where(Category.code.in_(keys))).all())
    if group_by == "region":
        codes = {f"{k}00": k for k in keys if k}
        names = db.session.execute(select(Region.code, Region.name).where(Region.code.in_(codes))).all()
        return {codes[code]: name for code, name in names}
    return {}


def available_within(user, f: StockFilter, hours: float, today: date) -> list[dict]:
    """Per material, units obtainable within `hours`: physical stock now, agreement reserves
    after their lead time, production capacity at its daily rate after its lead time (the SQL
    twin of rules.available_within)."""
    available = StockLot.on_hand - StockLot.reserved
    lead = func.coalesce(StockLot.lead_time_h, 0)
    produced = cast(func.floor(func.coalesce(StockLot.units_per_day, 0) * (hours - lead) / 24.0), Float)
    units = case(
        (StockLot.reserve_type == "physical", available),
        (and_(StockLot.contract_valid_to.is_not(None), StockLot.contract_valid_to < today), 0),
        (lead > hours, 0),
        (StockLot.reserve_type == "agreement", available),
        (produced < available, produced),
        else_=available,
    )
    stmt = _joined(Material.id, Material.code, Material.name, Material.unit,
                   func.sum(case((StockLot.reserve_type == "physical", available), else_=0)).label("physical"),
                   func.sum(units).label("within"))
    stmt = _filtered(stmt, user, f, today).group_by(Material.id, Material.code, Material.name, Material.unit)
    return [{"material_id": r.id, "material_code": r.code, "material": r.name, "unit": r.unit,
             "physical_now": int(r.physical or 0), "available_within": int(r.within or 0)}
            for r in db.session.execute(stmt.order_by(Material.code)).all()]
