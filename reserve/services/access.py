"""Loading agency-owned records for reading or writing: the records, with the decisions of
core.scoping (read) and core.policy (write) applied to them."""

from flask_babel import gettext as _
from sqlalchemy import select

from core.errors import Invalid, NotAllowed, NotFound
from core.extensions import db
from core.policy import may_write_for_agency
from core.scoping import can_read

from core.organisation import Agency


def agency_path(agency_id: int) -> str | None:
    agency = db.session.get(Agency, agency_id)
    return agency.path if agency else None


def readable(user, model, record_id, owner_attr: str = "agency_id", label: str | None = None):
    """The record if `user` may read it; NotFound otherwise (its existence is not shared)."""
    record = db.session.get(model, record_id)
    path = agency_path(getattr(record, owner_attr)) if record is not None else None
    _require_read(user, record, path, label or model.__name__, record_id)
    return record


def readable_many(
    user,
    model,
    record_ids: list[int],
    owner_attr: str = "agency_id",
    label: str | None = None,
    *,
    writing: bool = False,
) -> dict:
    """record id -> record, each readable by `user` (NotFound) and, when `writing`, owned by an
    agency `user` may write for (NotAllowed), checked in the order asked. The records and their
    owners' paths come in one query, however many owners there are."""
    rows = db.session.execute(
        select(model, Agency.path)
        .join(Agency, Agency.id == getattr(model, owner_attr))
        .where(model.id.in_(set(record_ids)))
    ).all()
    found = {record.id: (record, path) for record, path in rows}
    for record_id in record_ids:
        record, path = found.get(record_id, (None, None))
        _require_read(user, record, path, label or model.__name__, record_id)
        if writing:
            _require_write_at(user, path)
    return {record_id: found[record_id][0] for record_id in record_ids}


def _require_read(user, record, owner_path: str | None, what: str, record_id) -> None:
    classification = getattr(record, "classification", "internal") if record is not None else None
    if record is None or not can_read(user, owner_path, classification):
        raise NotFound(_("%(what)s %(id)s not found.", what=what, id=record_id))


def writable(user, model, record_id, owner_attr: str = "agency_id", label: str | None = None):
    """The record if `user` may change it: readable first (404), then writable (403)."""
    record = readable(user, model, record_id, owner_attr, label)
    require_write(user, getattr(record, owner_attr))
    return record


def require_write(user, agency_id: int) -> None:
    """May `user` change data of agency `agency_id`? An unknown agency is a 422, checked here
    once (administrators may write anywhere, and a missing agency failed later as a 500)."""
    path = agency_path(agency_id)
    if path is None:
        raise Invalid(_("Unknown agency."), errors={"agency_id": [_("not found")]})
    _require_write_at(user, path)


def _require_write_at(user, agency_path: str | None) -> None:
    if not may_write_for_agency(user, agency_path):
        raise NotAllowed(
            _("You may only change data of your own agency and the agencies below it.")
        )
