"""Loading agency-owned records for reading or writing, through the one scoping mechanism."""

from flask_babel import gettext as _

from core.errors import Invalid, NotAllowed, NotFound
from core.extensions import db
from core.scoping import can_read, can_write

from core.organisation import Agency


def agency_path(agency_id: int) -> str | None:
    agency = db.session.get(Agency, agency_id)
    return agency.path if agency else None


def readable(user, model, record_id, owner_attr: str = "agency_id", label: str | None = None):
    """The record if `user` may read it; NotFound otherwise (its existence is not shared)."""
    record = db.session.get(model, record_id)
    classification = getattr(record, "classification", "internal") if record is not None else None
    if record is None or not can_read(user, agency_path(getattr(record, owner_attr)), classification):
        raise NotFound(_("%(what)s %(id)s not found.", what=label or model.__name__, id=record_id))
    return record


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
    if not can_write(user, path):
        raise NotAllowed(_("You may only change data of your own agency and the agencies below it."))
