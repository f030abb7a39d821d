"""Stock reads: filtered lot lists, totals by dimension, "available within N hours", and the
reads other packages make of lots, movements and rollups (per-depot holdings, reporting's
current lots, data quality, the warning scan, the public aggregates). Reads scoped to a user
are scoped like the lots they read (core.scoping). Outside reserve/stock, every read of the
ledger's tables is a call here (dispatch's: reserve/stock/availability.py)."""

from dataclasses import astuple, dataclass
from datetime import date, timedelta

from sqlalchemy import Float, and_, case, cast, func, or_, select

from core.audit import latest_change
from core.extensions import db
from core.kept import kept
from core.scoping import Classification, rule_for, scoped, subtree_ids
from core.search import contains, starts_with

from .. import rules
from core.organisation import Agency, Region
from ..models import Category, Depot, Material, ReserveType
from .models import Movement, StockLot, StockRollupAgency, StockRollupCity

STOCK_HEADER = [
    "lot_id",
    "depot_code",
    "depot_name",
    "agency",
    "region_code",
    "region",
    "material_code",
    "material",
    "spec",
    "unit",
    "category_code",
    "lot_no",
    "expiry_date",
    "reserve_type",
    "on_hand",
    "reserved",
    "available",
    "weight_t",
]


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


def _needs(f: StockFilter) -> set[str]:
    """Which tables the filter itself needs joined (scope needs none: it is on stock_lot)."""
    needs = set()
    if f.category_code or f.q:
        needs.add("material")
    if f.region_code:
        needs.add("depot")
    return needs


def _filtered(stmt, user, f: StockFilter, today: date):
    stmt = scoped(stmt, user, StockLot.owner_agency_id, StockLot.classification)
    conditions = []
    if not f.include_empty:
        conditions.append(StockLot.on_hand > 0)
    if f.material_id:
        conditions.append(StockLot.material_id == f.material_id)
    if f.category_code:
        conditions.append(starts_with(Material.category_code, f.category_code))
    if f.region_code:
        conditions.append(Depot.region_code.startswith(rules.region_prefix(f.region_code)))
    if f.agency_id:
        path = db.session.scalar(select(Agency.path).where(Agency.id == f.agency_id)) or "/none/"
        conditions.append(StockLot.owner_agency_id.in_(subtree_ids(path)))
    if f.depot_id:
        conditions.append(StockLot.depot_id == f.depot_id)
    if f.reserve_type:
        conditions.append(StockLot.reserve_type == f.reserve_type)
    if f.expiring_within_days is not None:
        conditions.append(StockLot.expiry_date <= today + timedelta(days=f.expiring_within_days))
    if f.q:
        conditions.append(contains(Material.name, f.q))
    return stmt.where(and_(*conditions)) if conditions else stmt


def _from_lots(columns, needs: set[str]):
    """A select over stock_lot with only the joins `needs` names (each join costs a million rows)."""
    stmt = select(*columns).select_from(StockLot)
    if "depot" in needs or "region" in needs:
        stmt = stmt.join(Depot, StockLot.depot_id == Depot.id)
    if "material" in needs:
        stmt = stmt.join(Material, StockLot.material_id == Material.id)
    if "agency" in needs:
        stmt = stmt.join(Agency, StockLot.owner_agency_id == Agency.id)
    if "region" in needs:
        stmt = stmt.outerjoin(Region, Depot.region_code == Region.code)
    return stmt


def stock_rows(user, f: StockFilter, today: date):
    """Select of one row per lot, in the column order of STOCK_HEADER.

    Ordered by (material, depot, lot id): an index walks that order, so the first page of a
    million lots is read, not sorted."""
    weight_t = StockLot.on_hand * Material.unit_weight_kg / 1000.0
    columns = [
        StockLot.id,
        Depot.code,
        Depot.name,
        Agency.name,
        Depot.region_code,
        Region.name,
        Material.code,
        Material.name,
        Material.spec,
        Material.unit,
        Material.category_code,
        StockLot.lot_no,
        StockLot.expiry_date,
        StockLot.reserve_type,
        StockLot.on_hand,
        StockLot.reserved,
        StockLot.on_hand - StockLot.reserved,
        weight_t,
    ]
    stmt = _from_lots(
        [column.label(name) for column, name in zip(columns, STOCK_HEADER, strict=True)],
        {"depot", "material", "agency", "region"},
    )
    return _filtered(stmt, user, f, today).order_by(
        StockLot.material_id, StockLot.depot_id, StockLot.id
    )


def stock_count(user, f: StockFilter, today: date):
    """Select of the number of lots `stock_rows` would list, joining only what the filter needs.
    For readers of every agency's unrestricted stock, with filters the rollups apply, their kept
    count of lots with stock, plus (below a commander) the restricted lots of the reader's own
    subtree counted live (counting a million lots took 130-190 ms per page of /stock)."""
    if f.q or not can_use_rollup(user, f, "material"):
        return _filtered(_from_lots([func.count(StockLot.id)], _needs(f)), user, f, today)
    table = StockRollupCity
    stmt = select(func.coalesce(func.sum(table.lots), 0))
    if f.category_code:
        stmt = stmt.join(Material, table.material_id == Material.id)
    if f.reserve_type:
        stmt = stmt.where(table.reserve_type == f.reserve_type)
    stmt = _rollup_filters(stmt, table, f)
    if rule_for(user).everything:
        return stmt
    stmt = stmt.where(table.classification != Classification.RESTRICTED.value)
    if not reads_restricted_subtree(user):
        return stmt
    restricted = _filtered(_from_lots([func.count(StockLot.id)], _needs(f)), user, f, today).where(
        StockLot.classification == Classification.RESTRICTED.value
    )
    return select(stmt.scalar_subquery() + restricted.scalar_subquery())


def reads_restricted_subtree(user) -> bool:
    """Below a commander, restricted stock is read only inside one's own agency subtree: a
    reader without one (a viewer of no agency) needs no live pass for it."""
    return rule_for(user).subtree


# Groupings that follow from the material (its category, its unit weight) aggregate by
# material and derive the rest for a few hundred groups; the others join only the small
# material table for weights. Whole-province totals for command staff, viewers and
# administrators come from the rollups the ledger keeps (reserve/stock/rollup.py).
BY_MATERIAL = {"material", "category", "reserve_type"}
ROLLUP_FILTERS = {"material_id", "category_code", "q", "reserve_type", "region_code"}


@dataclass
class _Total:
    key: object
    lots: int = 0
    on_hand: int = 0
    reserved: int = 0
    weight_t: float = 0.0

    def add(self, lots, on_hand, reserved, weight_t) -> None:
        self.lots += int(lots or 0)
        self.on_hand += int(on_hand or 0)
        self.reserved += int(reserved or 0)
        self.weight_t += float(weight_t or 0)


def can_use_rollup(user, f: StockFilter, group_by: str) -> bool:
    """Whether the kept totals answer this question exactly: a reader of every agency's
    unrestricted stock, no filter the rollups cannot apply (a county, a depot, an expiry)."""
    rule = rule_for(user)
    used = {k for k, v in vars(f).items() if v not in (None, False)}
    if not (rule.everything or rule.all_unrestricted) or f.include_empty or used - ROLLUP_FILTERS:
        return False
    if f.region_code and rules.region_prefix(f.region_code) == f.region_code:
        return False  # a county: the rollups know cities
    return group_by != "agency" or not used - {"reserve_type"}


def stock_totals(
    user, f: StockFilter, group_by: str, today: date, use_rollup: bool | None = None
) -> list[dict]:
    """Totals per material, level-2 category, city, agency or reserve type."""
    if use_rollup is None:
        use_rollup = can_use_rollup(user, f, group_by)
    if not use_rollup:
        return _finish(group_by, _live_totals(user, f, group_by, today))
    everything = rule_for(user).everything
    totals = _kept_totals(f, group_by, include_restricted=everything)
    if not everything and reads_restricted_subtree(
        user
    ):  # restricted stock of the user's own subtree
        totals += _live_totals(user, f, group_by, today, only_restricted=True)
    return _finish(group_by, totals)


def _live_totals(
    user, f: StockFilter, group_by: str, today: date, only_restricted: bool = False
) -> list[_Total]:
    sums = [
        func.count(StockLot.id).label("lots"),
        func.sum(StockLot.on_hand).label("on_hand"),
        func.sum(StockLot.reserved).label("reserved"),
    ]
    if group_by in BY_MATERIAL:
        keys = [StockLot.material_id] + (
            [StockLot.reserve_type] if group_by == "reserve_type" else []
        )
        stmt = _filtered(_from_lots([*keys, *sums], _needs(f)), user, f, today)
    else:
        keys = [StockLot.depot_id if group_by == "region" else StockLot.owner_agency_id]
        weight = func.sum(StockLot.on_hand * Material.unit_weight_kg / 1000.0).label("weight_t")
        stmt = _filtered(
            _from_lots([*keys, *sums, weight], {"material"} | _needs(f)), user, f, today
        )
    if only_restricted:
        stmt = stmt.where(StockLot.classification == Classification.RESTRICTED.value)
    rows = db.session.execute(stmt.group_by(*keys)).all()
    if group_by in BY_MATERIAL:
        return _by_material(
            [
                (r[0], r[1] if group_by == "reserve_type" else None, r.lots, r.on_hand, r.reserved)
                for r in rows
            ],
            group_by,
        )
    totals = [
        _Total(r[0], r.lots, int(r.on_hand or 0), int(r.reserved or 0), float(r.weight_t or 0))
        for r in rows
    ]
    return _roll_up_to_cities(totals) if group_by == "region" else totals


def _kept_totals(f: StockFilter, group_by: str, include_restricted: bool) -> list[_Total]:
    """Totals from the rollups, folded in SQL to one row per group (or per material, where
    the grouping follows from it)."""
    if group_by == "agency":
        table = StockRollupAgency
        keys = [table.owner_agency_id]
        weight = func.sum(table.weight_kg) / 1000.0
        stmt = select(
            *keys, func.sum(table.lots), func.sum(table.on_hand), func.sum(table.reserved), weight
        )
    else:
        table = StockRollupCity
        keys = {
            "region": [table.city_code],
            "reserve_type": [table.material_id, table.reserve_type],
        }.get(group_by, [table.material_id])
        weight = func.sum(table.on_hand * Material.unit_weight_kg) / 1000.0
        stmt = select(
            *keys, func.sum(table.lots), func.sum(table.on_hand), func.sum(table.reserved), weight
        ).join(Material, table.material_id == Material.id)
        stmt = _rollup_filters(stmt, table, f)
    stmt = _rollup_kind(stmt, table, f, include_restricted)
    rows = db.session.execute(stmt.group_by(*keys)).all()
    if group_by in BY_MATERIAL:
        return _by_material(
            [(r[0], r[1] if group_by == "reserve_type" else None, *r[-4:-1]) for r in rows],
            group_by,
        )
    return [_Total(r[0], *r[1:]) for r in rows]


def _rollup_filters(stmt, table, f: StockFilter):
    """The material, category, name and city filters on StockRollupCity (a category or a name
    needs Material joined)."""
    if f.q:
        stmt = stmt.where(contains(Material.name, f.q))
    if f.material_id:
        stmt = stmt.where(table.material_id == f.material_id)
    if f.category_code:
        stmt = stmt.where(starts_with(Material.category_code, f.category_code))
    if f.region_code:
        stmt = stmt.where(table.city_code.startswith(rules.region_prefix(f.region_code)))
    return stmt


def _rollup_kind(stmt, table, f: StockFilter, include_restricted: bool):
    """The reserve-type filter, and restricted rows left out unless the reader may count them."""
    if f.reserve_type:
        stmt = stmt.where(table.reserve_type == f.reserve_type)
    if not include_restricted:
        stmt = stmt.where(table.classification != Classification.RESTRICTED.value)
    return stmt


def _material_facts() -> dict:
    return {
        m.id: (m.category_code, m.unit_weight_kg)
        for m in db.session.execute(
            select(Material.id, Material.category_code, Material.unit_weight_kg)
        ).all()
    }


def _by_material(rows, group_by: str) -> list[_Total]:
    """(material_id, reserve_type, lots, on_hand, reserved) rows -> totals per material,
    level-2 category or reserve type, with weights."""
    facts = _material_facts()
    totals = []
    for material_id, reserve_type, lots, on_hand, reserved in rows:
        category, weight = facts[material_id]
        key = {"material": material_id, "category": category[:3], "reserve_type": reserve_type}[
            group_by
        ]
        totals.append(
            _Total(
                key,
                lots,
                int(on_hand or 0),
                int(reserved or 0),
                float(on_hand or 0) * weight / 1000,
            )
        )
    return totals


def _roll_up_to_cities(rows: list[_Total]) -> list[_Total]:
    # All depots (tens of thousands at most) beat an IN list of thousands of ids.
    cities = dict(db.session.execute(select(Depot.id, func.substr(Depot.region_code, 1, 4))).all())
    return [
        _Total(cities.get(t.key) or "", t.lots, t.on_hand, t.reserved, t.weight_t) for t in rows
    ]


def _finish(group_by: str, totals: list[_Total]) -> list[dict]:
    """Merge totals by key, drop empty groups, label and order them."""
    merged: dict = {}
    for t in totals:
        merged.setdefault(t.key, _Total(t.key)).add(t.lots, t.on_hand, t.reserved, t.weight_t)
    merged = {k: t for k, t in merged.items() if t.lots > 0}
    labels = _group_labels(group_by, list(merged))
    result = []
    for key, t in merged.items():
        order_key, label, unit = labels.get(key, (str(key), str(key), None))
        result.append(
            {
                "key": str(key),
                "label": label,
                "unit": unit,
                "lots": t.lots,
                "on_hand": t.on_hand,
                "reserved": t.reserved,
                "available": t.on_hand - t.reserved,
                "weight_t": round(t.weight_t, 3),
                "_order": order_key,
            }
        )
    result.sort(key=lambda r: r.pop("_order"))
    return result


def _group_labels(group_by: str, keys: list) -> dict:
    """key -> (sort key, label, unit) for the groups found."""
    if group_by == "material":
        rows = db.session.execute(
            select(Material.id, Material.code, Material.name, Material.unit).where(
                Material.id.in_(keys)
            )
        ).all()
        return {r.id: (r.code, f"{r.name}", r.unit) for r in rows}
    if group_by == "agency":
        # Every agency (a few thousand) beats binding an IN list of thousands of ids (~50 ms).
        stmt = select(Agency.id, Agency.path, Agency.name)
        rows = db.session.execute(
            stmt if len(keys) > 500 else stmt.where(Agency.id.in_(keys))
        ).all()
        return {r.id: (r.path, r.name, None) for r in rows}
    if group_by == "category":
        rows = db.session.execute(
            select(Category.code, Category.name).where(Category.code.in_(keys))
        ).all()
        return {code: (code, name, None) for code, name in rows}
    if group_by == "region":
        codes = {f"{k}00": k for k in keys if k}
        names = db.session.execute(
            select(Region.code, Region.name).where(Region.code.in_(codes))
        ).all()
        return {codes[code]: (code, name, None) for code, name in names}
    return {k: (str(k), str(k), None) for k in keys}


def stock_version() -> tuple[int, int]:
    """The newest movement's id (every change of a balance appends one, bulk report applies
    too) and the newest audited change (renames and lot terms change no balance)."""
    return db.session.scalar(select(func.max(Movement.id))) or 0, latest_change()


def available_within(user, f: StockFilter, hours: float, today: date) -> list[dict]:
    """`within()`, kept per scope until the next movement or audited change (core/kept.py):
    dashboards ask it often."""
    return kept(
        "available_within",
        user,
        (astuple(f), hours, today),
        stock_version(),
        lambda: within(user, f, hours, today),
    )


def within(user, f: StockFilter, hours: float, today: date) -> list[dict]:
    """Per material, units obtainable within `hours`: physical stock now, agreement reserves
    after their lead time, production capacity at its daily rate after its lead time (the SQL
    twin of rules.available_within).

    Physical stock is what it is at any horizon: where the rollups answer exactly (see
    can_use_rollup) it comes from them, and only agreement and capacity lots, whose answer
    depends on the hours and the day, are read (a sum over a million lots took 330-430 ms)."""
    by_material: dict[int, list[int]] = {}  # material id -> [lots with stock, physical now, within]
    if can_use_rollup(user, f, "material"):
        everything = rule_for(user).everything
        parts = [
            _kept_physical(f, include_restricted=everything),
            _live_within(user, f, hours, today, physical=False),
        ]
        if not everything and reads_restricted_subtree(
            user
        ):  # restricted stock of the user's own subtree
            parts.append(_live_within(user, f, hours, today, physical=True, only_restricted=True))
    else:
        parts = [_live_within(user, f, hours, today)]
    for rows in parts:
        for material_id, lots, physical, obtainable in rows:
            sums = by_material.setdefault(material_id, [0, 0, 0])
            sums[0] += int(lots or 0)
            sums[1] += int(physical or 0)
            sums[2] += int(obtainable or 0)
    held = [m for m, sums in by_material.items() if sums[0] > 0]
    materials = (
        db.session.execute(
            select(Material.id, Material.code, Material.name, Material.unit)
            .where(Material.id.in_(held))
            .order_by(Material.code)
        ).all()
        if held
        else []
    )
    return [
        {
            "material_id": m.id,
            "material_code": m.code,
            "material": m.name,
            "unit": m.unit,
            "physical_now": by_material[m.id][1],
            "available_within": by_material[m.id][2],
        }
        for m in materials
    ]


def _kept_physical(f: StockFilter, include_restricted: bool) -> list[tuple]:
    """(material id, lots with stock, physical available, the same again) from the city rollup."""
    table = StockRollupCity
    available = func.sum(table.on_hand - table.reserved)
    stmt = select(table.material_id, func.sum(table.lots), available, available).where(
        table.reserve_type == "physical"
    )
    if f.category_code or f.q:
        stmt = stmt.join(Material, table.material_id == Material.id)
    stmt = _rollup_kind(_rollup_filters(stmt, table, f), table, f, include_restricted)
    return db.session.execute(stmt.group_by(table.material_id)).all()


def _live_within(
    user,
    f: StockFilter,
    hours: float,
    today: date,
    physical: bool | None = None,
    only_restricted: bool = False,
) -> list[tuple]:
    """(material id, lots with stock, physical available, available within `hours`) from the lots
    in scope: all of them (physical None), only physical ones, or only the others."""
    available = StockLot.on_hand - StockLot.reserved
    lead = func.coalesce(StockLot.lead_time_h, 0)
    produced = cast(
        func.floor(func.coalesce(StockLot.units_per_day, 0) * (hours - lead) / 24.0), Float
    )
    units = case(
        (StockLot.reserve_type == "physical", available),
        (and_(StockLot.contract_valid_to.is_not(None), StockLot.contract_valid_to < today), 0),
        (lead > hours, 0),
        (StockLot.reserve_type == "agreement", available),
        (produced < available, produced),
        else_=available,
    )
    stmt = _from_lots(
        [
            StockLot.material_id,
            func.count(),
            func.sum(case((StockLot.reserve_type == "physical", available), else_=0)),
            func.sum(units),
        ],
        _needs(f),
    )
    stmt = _filtered(stmt, user, f, today)
    if physical is not None:
        stmt = stmt.where(
            StockLot.reserve_type == "physical" if physical else StockLot.reserve_type != "physical"
        )
    if only_restricted:
        stmt = stmt.where(StockLot.classification == Classification.RESTRICTED.value)
    return db.session.execute(stmt.group_by(StockLot.material_id)).all()


# --- reads other packages make of lots, movements and rollups ---------------------------------


def depot_on_hand(depot_id: int) -> int:
    """Units on hand in one depot, every lot and reserve type (closing a depot needs none)."""
    return db.session.scalar(
        select(func.coalesce(func.sum(StockLot.on_hand), 0)).where(StockLot.depot_id == depot_id)
    )


def depot_holdings(agency_id: int) -> dict[int, int]:
    """depot id -> units on hand, for the agency's depots that hold any."""
    return dict(
        db.session.execute(
            select(StockLot.depot_id, func.sum(StockLot.on_hand))
            .join(Depot, StockLot.depot_id == Depot.id)
            .where(Depot.agency_id == agency_id, StockLot.on_hand > 0)
            .group_by(StockLot.depot_id)
        ).all()
    )


def agency_lots(agency_id: int, attrs: tuple[str, ...] = ()) -> list[dict]:
    """Every lot in the agency's depots (empty ones too): its keys and balances, its reserve type
    and classification, and the lot attributes named in `attrs`, as dicts."""
    return [
        dict(r)
        for r in db.session.execute(
            select(
                StockLot.id,
                StockLot.depot_id,
                StockLot.material_id,
                StockLot.lot_no,
                StockLot.on_hand,
                StockLot.reserved,
                StockLot.reserve_type,
                StockLot.classification,
                *[getattr(StockLot, a) for a in attrs],
            )
            .join(Depot, StockLot.depot_id == Depot.id)
            .where(Depot.agency_id == agency_id)
        ).mappings()
    ]


def get_lot(lot_id: int) -> StockLot | None:
    """One lot with its depot and material, unscoped: the caller has checked the reader's right
    to the record that names it."""
    return db.session.get(StockLot, lot_id)


def lots_expiring_by(day: date) -> int:
    """How many lots have an expiry date on or before `day`."""
    return db.session.scalar(
        select(func.count(StockLot.id)).where(
            StockLot.expiry_date.is_not(None), StockLot.expiry_date <= day
        )
    )


def physical_available_by_region(user, material_ids) -> list[tuple]:
    """(material id, depot region code, physical units available) in active depots, for these
    materials, over the lots `user` may read."""
    stmt = scoped(
        select(
            StockLot.material_id, Depot.region_code, func.sum(StockLot.on_hand - StockLot.reserved)
        )
        .join(Depot, StockLot.depot_id == Depot.id)
        .where(
            StockLot.material_id.in_(material_ids),
            StockLot.reserve_type == ReserveType.PHYSICAL.value,
            Depot.status == "active",
        )
        .group_by(StockLot.material_id, Depot.region_code),
        user,
        StockLot.owner_agency_id,
        StockLot.classification,
    )
    return db.session.execute(stmt).all()


def physical_available_by_city(material_ids) -> list[tuple]:
    """(city code, material id, physical units available) from the city rollup, every classification."""
    return db.session.execute(
        select(
            StockRollupCity.city_code,
            StockRollupCity.material_id,
            func.sum(StockRollupCity.on_hand - StockRollupCity.reserved),
        )
        .where(
            StockRollupCity.reserve_type == ReserveType.PHYSICAL,
            StockRollupCity.material_id.in_(material_ids),
        )
        .group_by(StockRollupCity.city_code, StockRollupCity.material_id)
    ).all()


def physical_available_in_counties(counties, material_ids) -> list[tuple]:
    """(county code, material id, physical units available) summed from the lots of active
    depots in these counties, every classification."""
    return db.session.execute(
        select(
            Depot.region_code, StockLot.material_id, func.sum(StockLot.on_hand - StockLot.reserved)
        )
        .join(Depot, StockLot.depot_id == Depot.id)
        .where(
            Depot.region_code.in_(counties),
            Depot.status == "active",
            StockLot.reserve_type == ReserveType.PHYSICAL,
            StockLot.material_id.in_(material_ids),
        )
        .group_by(Depot.region_code, StockLot.material_id)
    ).all()


def physical_available_at(depot_id, material_id):
    """A scalar subquery: physical units available in one depot of one material, the two given
    as columns of the outer query (the warning scan's minimums), 0 when none."""
    return (
        select(func.coalesce(func.sum(StockLot.on_hand - StockLot.reserved), 0))
        .where(
            StockLot.depot_id == depot_id,
            StockLot.material_id == material_id,
            StockLot.reserve_type == ReserveType.PHYSICAL,
        )
        .scalar_subquery()
    )


def public_on_hand_by_city() -> list[tuple[str, int, int]]:
    """(city code, material id, units on hand) of public stock, one row per city and material."""
    table = StockRollupCity
    on_hand = func.sum(table.on_hand)
    stmt = (
        select(table.city_code, table.material_id, on_hand)
        .where(table.classification == Classification.PUBLIC.value)
        .group_by(table.city_code, table.material_id)
        .having(on_hand > 0)
    )
    return [
        (city, material, int(units)) for city, material, units in db.session.execute(stmt).all()
    ]


# --- the warning scan's reads: set-based, every classification (warnings are scoped when read) ---


def dated_lots(
    physical: bool, dated: str, until: date, *, material_ids=None, agency_id: int | None = None
):
    """A select of the lots with stock in active depots, physical ones or else agreement and
    capacity ones, whose `dated` date (`expiry_date` or `contract_valid_to`) is set and on or
    before `until`; of these materials and one owner agency if given. Its columns, named: id,
    owner_agency_id, depot_id, material_id, region_code, classification and the date. The scan
    classifies them in SQL: it builds its CASE expressions on `.selected_columns` and picks its
    columns with `.with_only_columns` (an INSERT ... SELECT, the rows never read into Python)."""
    day = getattr(StockLot, dated)
    stmt = (
        select(
            StockLot.id,
            StockLot.owner_agency_id,
            StockLot.depot_id,
            StockLot.material_id,
            Depot.region_code,
            StockLot.classification,
            day,
        )
        .select_from(StockLot)
        .join(Depot, StockLot.depot_id == Depot.id)
        .where(
            StockLot.reserve_type == ReserveType.PHYSICAL
            if physical
            else StockLot.reserve_type.in_(["agreement", "capacity"]),
            StockLot.on_hand > 0,
            Depot.status == "active",
            day.is_not(None),
            day <= until,
        )
    )
    if material_ids is not None:
        stmt = stmt.where(StockLot.material_id.in_(material_ids))
    if agency_id is not None:
        stmt = stmt.where(StockLot.owner_agency_id == agency_id)
    return stmt


def depot_loads(agency_id: int | None = None) -> list[tuple]:
    """(depot id, agency id, region code, classification, capacity m³, capacity t, volume used m³,
    weight used t) of the physical stock of active depots with a capacity set."""
    stmt = (
        select(
            Depot.id,
            Depot.agency_id,
            Depot.region_code,
            Depot.classification,
            Depot.capacity_m3,
            Depot.capacity_t,
            func.sum(StockLot.on_hand * Material.unit_volume_m3),
            func.sum(StockLot.on_hand * Material.unit_weight_kg) / 1000.0,
        )
        .join(StockLot, StockLot.depot_id == Depot.id)
        .join(Material, StockLot.material_id == Material.id)
        .where(
            Depot.status == "active",
            StockLot.reserve_type == ReserveType.PHYSICAL,
            StockLot.on_hand > 0,
            or_(Depot.capacity_m3 > 0, Depot.capacity_t > 0),
        )
        .group_by(
            Depot.id,
            Depot.agency_id,
            Depot.region_code,
            Depot.classification,
            Depot.capacity_m3,
            Depot.capacity_t,
        )
    )
    if agency_id is not None:
        stmt = stmt.where(Depot.agency_id == agency_id)
    return db.session.execute(stmt).all()


# --- data quality and reporting completeness: unscoped unless a user is given -----------------


def stocked_depot_ids() -> set[int]:
    """Depots with any lot on hand."""
    return set(db.session.scalars(select(StockLot.depot_id).where(StockLot.on_hand > 0).distinct()))


def materials_held() -> list[tuple[int, int]]:
    """(owner agency id, material id) of every agency and material with a lot on hand, once each."""
    return db.session.execute(
        select(StockLot.owner_agency_id, StockLot.material_id)
        .where(StockLot.on_hand > 0)
        .distinct()
    ).all()


def quality_lots(user, agency_ids) -> list:
    """The lots with stock of these agencies that `user` may read, with what the quality checks
    read of them (dates, reserve type, enterprise) and the material's shelf life."""
    stmt = scoped(
        select(
            StockLot.id,
            StockLot.owner_agency_id,
            StockLot.production_date,
            StockLot.expiry_date,
            StockLot.on_hand,
            StockLot.reserve_type,
            StockLot.enterprise_name,
            StockLot.enterprise_credit_code,
            Material.shelf_life_days,
        ).join(Material, StockLot.material_id == Material.id),
        user,
        StockLot.owner_agency_id,
        StockLot.classification,
    ).where(StockLot.on_hand > 0, StockLot.owner_agency_id.in_(list(agency_ids)))
    return db.session.execute(stmt).all()


def physical_lot_numbers() -> list[tuple]:
    """(lot id, owner agency id, material id, lot number) of every physical lot on hand."""
    return db.session.execute(
        select(StockLot.id, StockLot.owner_agency_id, StockLot.material_id, StockLot.lot_no).where(
            StockLot.on_hand > 0, StockLot.reserve_type == "physical"
        )
    ).all()


def deltas_of(reference: str) -> list[tuple]:
    """(material id, on-hand change, first movement id) per material of the movements recorded
    under `reference` (a submission's "SUB-<id>")."""
    return db.session.execute(
        select(StockLot.material_id, func.sum(Movement.on_hand_delta), func.min(Movement.id))
        .join(StockLot, Movement.lot_id == StockLot.id)
        .where(Movement.reference == reference)
        .group_by(StockLot.material_id)
    ).all()


def on_hand_before(agency_id: int, material_id: int, movement_id: int) -> int:
    """The agency's on-hand total of a material as the movements before `movement_id` left it."""
    return (
        db.session.scalar(
            select(func.coalesce(func.sum(Movement.on_hand_delta), 0))
            .join(StockLot, Movement.lot_id == StockLot.id)
            .where(
                StockLot.owner_agency_id == agency_id,
                StockLot.material_id == material_id,
                Movement.id < movement_id,
            )
        )
        or 0
    )


def lot_names(user):
    """A select of (lot id, "lot number · material name") over the lots `user` may read."""
    return scoped(
        select(StockLot.id, StockLot.lot_no + " · " + Material.name).join(
            Material, Material.id == StockLot.material_id
        ),
        user,
        StockLot.owner_agency_id,
        StockLot.classification,
    )


# --- the lot model as data, for the sharing catalog -------------------------------------------


def lot_model() -> type:
    """The lot model, for reserve/sharing's catalog of shareable tables (resources.py), whose feeds,
    exports and change log read any of them by its columns. Read-only there: writes go through
    the ledger (tests/reserve/test_stock_door.py)."""
    return StockLot


def moved_lot_id(obj) -> int | None:
    """The lot a pending ORM object of the ledger moves: a movement's lot, else None (the sharing
    change log's flush hook)."""
    return obj.lot_id if isinstance(obj, Movement) else None


def lot_numbers(lot_ids) -> dict[int, str]:
    """Lot number by lot id, unscoped: the caller has checked the reader's right to the record
    that names the lots (a trip's waybill)."""
    ids = list(lot_ids)
    if not ids:
        return {}
    return dict(
        db.session.execute(select(StockLot.id, StockLot.lot_no).where(StockLot.id.in_(ids))).all()
    )


def reserve_enterprises(material_ids=None) -> list[tuple[str, str, int, int]]:
    """(credit code, an enterprise name, lots, units on hand) of the enterprises holding
    agreement or production-capacity reserves with stock (the credit lists' daily check);
    only reserves of `material_ids` when given."""
    stmt = select(
        StockLot.enterprise_credit_code,
        func.min(StockLot.enterprise_name),
        func.count(StockLot.id),
        func.sum(StockLot.on_hand),
    ).where(
        StockLot.enterprise_credit_code.is_not(None),
        StockLot.reserve_type != "physical",
        StockLot.on_hand > 0,
    )
    if material_ids is not None:
        stmt = stmt.where(StockLot.material_id.in_(list(material_ids)))
    return [
        tuple(row)
        for row in db.session.execute(
            stmt.group_by(StockLot.enterprise_credit_code).order_by(StockLot.enterprise_credit_code)
        )
    ]


def expiry_calendar(user, until: date):
    """A select of what expires when (the rotation calendar): (year, month, city code (4-digit
    prefix), material id, lots, units on hand) of the physical lots with stock in active depots
    whose expiry date is before `until` (those already expired included), over the lots `user`
    may read. Grouped in SQL: one row per month, city and material however many lots."""
    year = func.extract("year", StockLot.expiry_date)
    month = func.extract("month", StockLot.expiry_date)
    city = func.substr(Depot.region_code, 1, 4)
    return scoped(
        select(
            year.label("year"),
            month.label("month"),
            city.label("city"),
            StockLot.material_id,
            func.count(StockLot.id).label("lots"),
            func.sum(StockLot.on_hand).label("units"),
        )
        .join(Depot, StockLot.depot_id == Depot.id)
        .where(
            StockLot.reserve_type == ReserveType.PHYSICAL.value,
            StockLot.on_hand > 0,
            Depot.status == "active",
            StockLot.expiry_date.is_not(None),
            StockLot.expiry_date < until,
        )
        .group_by(year, month, city, StockLot.material_id),
        user,
        StockLot.owner_agency_id,
        StockLot.classification,
    )
