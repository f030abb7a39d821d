"""Totals kept by the ledger: every change of a lot's balances adds its deltas to the lot's row
in `stock_rollup_city` and `stock_rollup_agency`, in the same transaction, with an upsert
(INSERT ... ON CONFLICT DO UPDATE, on SQLite and PostgreSQL alike). `rebuild()` recomputes
both from the lots (after bulk loads, and when a material's unit weight changes)."""

from collections.abc import Iterable

from sqlalchemy import case, delete, func, select, text
from sqlalchemy.dialects import postgresql, sqlite

from core.extensions import db

from ..models import Depot, Material
from .models import StockLot, StockRollupAgency, StockRollupCity


def _upsert(model, key: dict, deltas: dict) -> None:
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(model).values(**key, **deltas)
    statement = statement.on_conflict_do_update(
        index_elements=list(key),
        set_={name: getattr(model, name) + statement.excluded[name] for name in deltas},
    )
    db.session.execute(statement)


def city_of(region_code: str | None) -> str:
    return (region_code or "")[:4]


def apply(lot: dict, on_hand_delta: int, reserved_delta: int, new_on_hand: int) -> None:
    """Add one balance change of `lot` (its depot_id, material_id, reserve_type,
    classification, owner_agency_id) to both rollups."""
    if on_hand_delta == 0 and reserved_delta == 0:
        return
    lots_delta = int(new_on_hand > 0) - int(new_on_hand - on_hand_delta > 0)
    region = db.session.scalar(select(Depot.region_code).where(Depot.id == lot["depot_id"]))
    weight = (
        db.session.scalar(select(Material.unit_weight_kg).where(Material.id == lot["material_id"]))
        or 0
    )
    common = {"reserve_type": lot["reserve_type"], "classification": lot["classification"]}
    sums = {"lots": lots_delta, "on_hand": on_hand_delta, "reserved": reserved_delta}
    _upsert(
        StockRollupCity,
        {"city_code": city_of(region), "material_id": lot["material_id"], **common},
        sums,
    )
    _upsert(
        StockRollupAgency,
        {"owner_agency_id": lot["owner_agency_id"], **common},
        {**sums, "weight_kg": on_hand_delta * weight},
    )


def add_contributions(rows: Iterable[dict]) -> None:
    """Add many signed contributions at once (bulk report applies): each row names its
    city_code, material_id, owner_agency_id, reserve_type, classification and carries lots,
    on_hand, reserved and weight_kg deltas. Summed per rollup key first: one upsert per key."""
    cities, agencies = {}, {}
    for row in rows:
        common = (row["reserve_type"], row["classification"])
        city = cities.setdefault((row["city_code"], row["material_id"], *common), [0, 0, 0])
        agency = agencies.setdefault((row["owner_agency_id"], *common), [0, 0, 0, 0.0])
        for sums in (city, agency):
            sums[0] += row["lots"]
            sums[1] += row["on_hand"]
            sums[2] += row["reserved"]
        agency[3] += row["weight_kg"]
    _upsert_many(
        StockRollupCity,
        ["city_code", "material_id", "reserve_type", "classification"],
        ["lots", "on_hand", "reserved"],
        [(*key, *sums) for key, sums in cities.items() if any(sums)],
    )
    _upsert_many(
        StockRollupAgency,
        ["owner_agency_id", "reserve_type", "classification"],
        ["lots", "on_hand", "reserved", "weight_kg"],
        [(*key, *sums) for key, sums in agencies.items() if any(sums)],
    )


def _upsert_many(model, key: list[str], sums: list[str], rows: list[tuple]) -> None:
    """One upsert statement executed for many rows (executemany)."""
    if not rows:
        return
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(model.__table__)
    statement = statement.on_conflict_do_update(
        index_elements=key,
        set_={name: getattr(model.__table__.c, name) + statement.excluded[name] for name in sums},
    )
    db.session.execute(statement, [dict(zip(key + sums, row)) for row in rows])


def rebuild() -> None:
    """Recompute both rollups from the lots (one pass each). The caller commits."""
    db.session.execute(delete(StockRollupCity))
    db.session.execute(delete(StockRollupAgency))
    lots = func.sum(case((StockLot.on_hand > 0, 1), else_=0))
    city = func.coalesce(func.substr(Depot.region_code, 1, 4), "")
    db.session.execute(
        StockRollupCity.__table__.insert().from_select(
            [
                "city_code",
                "material_id",
                "reserve_type",
                "classification",
                "lots",
                "on_hand",
                "reserved",
            ],
            select(
                city,
                StockLot.material_id,
                StockLot.reserve_type,
                StockLot.classification,
                lots,
                func.sum(StockLot.on_hand),
                func.sum(StockLot.reserved),
            )
            .join(Depot, StockLot.depot_id == Depot.id)
            .group_by(city, StockLot.material_id, StockLot.reserve_type, StockLot.classification),
        )
    )
    db.session.execute(
        StockRollupAgency.__table__.insert().from_select(
            [
                "owner_agency_id",
                "reserve_type",
                "classification",
                "lots",
                "on_hand",
                "reserved",
                "weight_kg",
            ],
            select(
                StockLot.owner_agency_id,
                StockLot.reserve_type,
                StockLot.classification,
                lots,
                func.sum(StockLot.on_hand),
                func.sum(StockLot.reserved),
                func.sum(StockLot.on_hand * Material.unit_weight_kg),
            )
            .join(Material, StockLot.material_id == Material.id)
            .group_by(StockLot.owner_agency_id, StockLot.reserve_type, StockLot.classification),
        )
    )
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("ANALYZE stock_rollup_city, stock_rollup_agency"))


def move_depot(depot_id: int, old_region: str | None, new_region: str | None) -> None:
    """A depot changed region: move its lots' contributions from the old city to the new one."""
    if city_of(old_region) == city_of(new_region):
        return
    rows = db.session.execute(
        select(
            StockLot.material_id,
            StockLot.reserve_type,
            StockLot.classification,
            func.sum(case((StockLot.on_hand > 0, 1), else_=0)),
            func.sum(StockLot.on_hand),
            func.sum(StockLot.reserved),
        )
        .where(StockLot.depot_id == depot_id)
        .group_by(StockLot.material_id, StockLot.reserve_type, StockLot.classification)
    ).all()
    for material_id, reserve_type, classification, lots, on_hand, reserved in rows:
        key = {
            "material_id": material_id,
            "reserve_type": reserve_type,
            "classification": classification,
        }
        for city, sign in ((city_of(old_region), -1), (city_of(new_region), 1)):
            _upsert(
                StockRollupCity,
                {"city_code": city, **key},
                {"lots": sign * lots, "on_hand": sign * on_hand, "reserved": sign * reserved},
            )
