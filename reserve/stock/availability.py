"""What a caller may draw on: the lots that can supply a dispatch plan, and a plan line's lots to
reserve from. Dispatch reads stock only through here (and writes it only through `ledger`).

A lot can supply when it holds unreserved units, has not expired, lies in an active depot and is
in the caller's scope; how many of its units arrive within a deadline is `rules.available_within`.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select

from core.extensions import db
from core.scoping import scoped

from core.organisation import Region
from ..models import Depot, ReserveType
from .models import StockLot


@dataclass(frozen=True)
class DrawableLot:
    lot_id: int
    depot_id: int
    agency_id: int
    material_id: int
    reserve_type: str
    available: int  # on hand − reserved, as stored (the caller checks its bound)
    lead_time_h: float | None
    units_per_day: int | None
    contract_valid_to: date | None
    enterprise_credit_code: str | None  # agreement/capacity reserves: the enterprise's
    lat: float | None  # the depot's location, else its region's centre, else None
    lon: float | None


def _unexpired(today: date):
    return StockLot.expiry_date.is_(None) | (StockLot.expiry_date >= today)


def drawable_lots(user, material_ids, today: date) -> Iterator[DrawableLot]:
    """The lots of these materials `user` may plan with (scoped like every read of lots)."""
    stmt = scoped(
        select(
            StockLot.id,
            StockLot.depot_id,
            Depot.agency_id,
            StockLot.material_id,
            StockLot.reserve_type,
            StockLot.on_hand - StockLot.reserved,
            StockLot.lead_time_h,
            StockLot.units_per_day,
            StockLot.contract_valid_to,
            StockLot.enterprise_credit_code,
            Depot.lat,
            Depot.lon,
            Region.lat,
            Region.lon,
        )
        .join(Depot, StockLot.depot_id == Depot.id)
        .outerjoin(Region, Depot.region_code == Region.code)
        .where(
            StockLot.material_id.in_(material_ids),
            StockLot.on_hand > StockLot.reserved,
            Depot.status == "active",
            _unexpired(today),
        ),
        user,
        StockLot.owner_agency_id,
        StockLot.classification,
    )
    for *row, lat, lon, region_lat, region_lon in db.session.execute(stmt):
        yield DrawableLot(*row, *((lat, lon) if lat is not None else (region_lat, region_lon)))


def lots_to_reserve(
    depot_id: int, material_id: int, reserve_type: str, lead_time_h: float | None, today: date
) -> list[tuple[int, int, date | None]]:
    """(lot id, unreserved units, expiry) of the lots a plan line of this depot, material and kind
    reserves from: agreement and capacity lines only from lots of the line's lead time."""
    stmt = select(StockLot.id, StockLot.on_hand - StockLot.reserved, StockLot.expiry_date).where(
        StockLot.depot_id == depot_id,
        StockLot.material_id == material_id,
        StockLot.reserve_type == reserve_type,
        StockLot.on_hand > StockLot.reserved,
        _unexpired(today),
    )
    if reserve_type != ReserveType.PHYSICAL.value:
        stmt = stmt.where(func.coalesce(StockLot.lead_time_h, 0) == lead_time_h)
    return [
        (lot_id, int(available), expiry) for lot_id, available, expiry in db.session.execute(stmt)
    ]
