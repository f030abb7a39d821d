"""Transport capacity (运输力) declared by agencies."""

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from core.errors import Invalid
from core.extensions import db
from core.scoping import scoped

from ..models import Depot, TransportCapacity, TransportMode
from .access import readable, require_write, writable

FIELDS = (
    "depot_id",
    "mode",
    "vehicle_type",
    "count",
    "payload_t",
    "volume_m3",
    "available",
    "base",
    "classification",
)


def list_transport(user, *, agency_id=None, mode=None, depot_id=None):
    stmt = scoped(
        select(TransportCapacity),
        user,
        TransportCapacity.agency_id,
        TransportCapacity.classification,
    )
    if agency_id:
        stmt = stmt.where(TransportCapacity.agency_id == agency_id)
    if mode:
        stmt = stmt.where(TransportCapacity.mode == mode)
    if depot_id:
        stmt = stmt.where(TransportCapacity.depot_id == depot_id)
    return stmt.order_by(TransportCapacity.agency_id, TransportCapacity.id)


def _check(agency_id: int, fields: dict) -> None:
    if fields.get("mode") is not None and fields["mode"] not in {m.value for m in TransportMode}:
        raise Invalid(_("Unknown transport mode."), errors={"mode": [_("invalid")]})
    if fields.get("depot_id"):
        depot = db.session.get(Depot, fields["depot_id"])
        if depot is None or depot.agency_id != agency_id:
            raise Invalid(
                _("The depot must belong to the same agency."), errors={"depot_id": [_("invalid")]}
            )


def create_transport(user, *, agency_id: int, **fields) -> TransportCapacity:
    require_write(user, agency_id)
    _check(agency_id, fields)
    row = TransportCapacity(agency_id=agency_id, **{k: v for k, v in fields.items() if k in FIELDS})
    db.session.add(row)
    db.session.commit()
    return row


def update_transport(user, transport_id: int, **fields) -> TransportCapacity:
    row = writable(user, TransportCapacity, transport_id, label=_("Transport capacity"))
    _check(row.agency_id, fields)
    for key, value in fields.items():
        if key in FIELDS:
            setattr(row, key, value)
    db.session.commit()
    return row


def get_transport(user, transport_id: int) -> TransportCapacity:
    return readable(user, TransportCapacity, transport_id, label=_("Transport capacity"))


@dataclass(frozen=True)
class RoadFleet:
    """Vehicles of one kind a depot declares as available on the road (one capacity row)."""

    capacity_id: int
    depot_id: int
    vehicle_type: str
    count: int
    payload_t: float
    volume_m3: float | None


def road_fleets(user, depot_ids) -> dict[int, list[RoadFleet]]:
    """The available road capacity declared at each of these depots, as `user` may read it (the
    装车方案's vehicles; vehicles without a depot are left out: nobody knows where they stand)."""
    stmt = scoped(
        select(TransportCapacity).where(
            TransportCapacity.depot_id.in_(list(depot_ids)),
            TransportCapacity.mode == TransportMode.ROAD.value,
            TransportCapacity.available.is_(True),
            TransportCapacity.count > 0,
            TransportCapacity.payload_t > 0,
        ),
        user,
        TransportCapacity.agency_id,
        TransportCapacity.classification,
    ).order_by(TransportCapacity.depot_id, TransportCapacity.id)
    fleets: dict[int, list[RoadFleet]] = {}
    for row in db.session.execute(stmt).scalars():
        fleets.setdefault(row.depot_id, []).append(
            RoadFleet(
                row.id, row.depot_id, row.vehicle_type, row.count, row.payload_t, row.volume_m3
            )
        )
    return fleets


def vehicle_types(capacity_ids) -> dict[int, str]:
    """Vehicle type by capacity row id, unscoped: the caller read the plan that names them."""
    return dict(
        db.session.execute(
            select(TransportCapacity.id, TransportCapacity.vehicle_type).where(
                TransportCapacity.id.in_(list(capacity_ids))
            )
        ).all()
    )
