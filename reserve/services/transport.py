"""Transport capacity (运输力) declared by agencies."""

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
