"""Reading the organisation tree: the agencies a user sees, may write for, and region names.
Creating and editing agencies is the registry's (reserve/services/agencies.py)."""

from flask_babel import gettext as _
from sqlalchemy import select

from . import policy
from .errors import NotFound
from .extensions import db
from .organisation import Agency, Region
from .scoping import can_read, scoped, subtree_ids
from .search import contains


def list_agencies(user, *, q: str | None = None):
    """Select of the agencies `user` may see, ordered along the tree."""
    stmt = scoped(select(Agency), user, Agency.id)
    if q:
        stmt = stmt.where(contains(Agency.name, q) | contains(Agency.code, q))
    return stmt.order_by(Agency.path)


def get_agency(user, agency_id: int) -> Agency:
    agency = db.session.get(Agency, agency_id)
    # An agency outside the user's scope is reported as missing: its existence is not shared.
    if agency is None or not can_read(user, agency.path):
        raise NotFound(_("Agency %(id)s not found.", id=agency_id))
    return agency


def writable_agencies(user) -> list[Agency]:
    """The agencies `user` may report for and place accounts in (own subtree; all for administrators)."""
    stmt = select(Agency).order_by(Agency.path)
    if not policy.writes_everywhere(user):
        agency = getattr(user, "agency", None)
        if agency is None:
            return []
        stmt = stmt.where(Agency.id.in_(subtree_ids(agency.path)))
    return db.session.execute(stmt).scalars().all()


def region_names(codes) -> dict[str, str]:
    """code -> name of the divisions among `codes` (a page shows 太原市, not 140100)."""
    codes = [c for c in set(codes) if c]
    return (
        dict(
            db.session.execute(select(Region.code, Region.name).where(Region.code.in_(codes))).all()
        )
        if codes
        else {}
    )
