"""Use cases of the reserve registry. Each function commits once and raises domain errors."""

from flask_babel import gettext as _
from sqlalchemy import select

from core.errors import Conflict, NotAllowed, NotFound
from core.extensions import db
from core.scoping import can_read, can_write, scoped

from .models import Agency, AgencyKind


def list_agencies(user, *, q: str | None = None):
    """Select of the agencies `user` may see, ordered along the tree."""
    stmt = scoped(select(Agency), user, Agency.id)
    if q:
        stmt = stmt.where(Agency.name.contains(q) | Agency.code.contains(q))
    return stmt.order_by(Agency.path)


def get_agency(user, agency_id: int) -> Agency:
    agency = db.session.get(Agency, agency_id)
    # An agency outside the user's scope is reported as missing: its existence is not shared.
    if agency is None or not can_read(user, agency.path):
        raise NotFound(_("Agency %(id)s not found.", id=agency_id))
    return agency


def create_agency(user, *, code: str, name: str, kind: str, parent_id: int | None = None,
                  region_code: str | None = None) -> Agency:
    """Create an agency under `parent_id`; operators only inside their own subtree."""
    parent = get_agency(user, parent_id) if parent_id is not None else None
    if not can_write(user, parent.path if parent else None):
        raise NotAllowed(_("You may only add agencies under your own agency."))
    if db.session.execute(select(Agency.id).filter_by(code=code)).first():
        raise Conflict(_("An agency with code %(code)s already exists.", code=code))
    agency = Agency(code=code, name=name, kind=AgencyKind(kind).value, parent=parent, region_code=region_code)
    db.session.add(agency)
    db.session.flush()  # the path is built from the new id
    agency.path = f"{parent.path if parent else '/'}{agency.id}/"
    db.session.commit()
    return agency
