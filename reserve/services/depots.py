"""Depots (储备库) and regions."""

from flask_babel import gettext as _
from sqlalchemy import select

from core.errors import Conflict, Invalid, NotFound
from core.extensions import db
from core.scoping import scoped, subtree_ids
from core.search import contains

from .. import rules
from core.organisation import Agency, Region
from ..models import Depot
from ..stock import rollup
from ..stock.queries import depot_on_hand
from .access import readable, require_write, writable

DEPOT_FIELDS = (
    "code",
    "name",
    "address",
    "region_code",
    "lat",
    "lon",
    "capacity_m3",
    "capacity_t",
    "classification",
    "contact_name",
    "contact_phone",
)


def list_regions(*, level: str | None = None, parent_code: str | None = None):
    stmt = select(Region).order_by(Region.code)
    if level:
        stmt = stmt.where(Region.level == level)
    if parent_code:
        stmt = stmt.where(Region.parent_code == parent_code)
    return stmt


def region_groups() -> list[tuple[Region, list[Region]]]:
    """Divisions in force for a form's choice: the province, then each city with its counties
    (an optgroup per city). Three small queries' worth of rows (Shanxi: 1 + 11 + 117)."""
    regions = (
        db.session.execute(select(Region).where(Region.valid_to.is_(None)).order_by(Region.code))
        .scalars()
        .all()
    )
    counties: dict[str, list[Region]] = {}
    for region in regions:
        if region.level == "county":
            counties.setdefault(region.parent_code, []).append(region)
    return [
        (region, counties.get(region.code, []))
        for region in regions
        if region.level in ("province", "city")
    ]


def get_region(code: str) -> Region:
    region = db.session.get(Region, code)
    if region is None:
        raise NotFound(_("Region %(code)s not found.", code=code))
    return region


def list_depots(user, *, agency_id=None, region_code=None, status=None, q=None):
    stmt = scoped(select(Depot), user, Depot.agency_id, Depot.classification)
    if agency_id:
        path = db.session.scalar(select(Agency.path).where(Agency.id == agency_id)) or "/none/"
        stmt = stmt.where(Depot.agency_id.in_(subtree_ids(path)))
    if region_code:
        stmt = stmt.where(Depot.region_code.like(rules.region_prefix(region_code) + "%"))
    if status:
        stmt = stmt.where(Depot.status == status)
    if q:
        stmt = stmt.where(contains(Depot.name, q) | contains(Depot.code, q))
    return stmt.order_by(Depot.code)


def get_depot(user, depot_id: int) -> Depot:
    return readable(user, Depot, depot_id, label=_("Depot"))


def check_region(region_code: str | None) -> None:
    """Invalid (422) unless the code is empty or a known division."""
    if region_code and db.session.get(Region, region_code) is None:
        raise Invalid(
            _("Unknown region code."), errors={"region_code": [_("not a known GB/T 2260 code")]}
        )


def create_depot(user, *, agency_id: int, **fields) -> Depot:
    require_write(user, agency_id)
    if db.session.get(Agency, agency_id) is None:
        raise Invalid(_("Unknown agency."), errors={"agency_id": [_("not found")]})
    check_region(fields.get("region_code"))
    if db.session.execute(select(Depot.id).filter_by(code=fields["code"])).first():
        raise Conflict(_("A depot with code %(code)s already exists.", code=fields["code"]))
    depot = Depot(agency_id=agency_id, **{k: v for k, v in fields.items() if k in DEPOT_FIELDS})
    db.session.add(depot)
    db.session.commit()
    return depot


def update_depot(user, depot_id: int, **fields) -> Depot:
    depot = writable(user, Depot, depot_id, label=_("Depot"))
    check_region(fields.get("region_code"))
    if (
        "code" in fields
        and fields["code"] != depot.code
        and db.session.execute(select(Depot.id).filter_by(code=fields["code"])).first()
    ):
        raise Conflict(_("A depot with code %(code)s already exists.", code=fields["code"]))
    old_region = depot.region_code
    for key, value in fields.items():
        if key in DEPOT_FIELDS:
            setattr(depot, key, value)
    rollup.move_depot(depot.id, old_region, depot.region_code)
    db.session.commit()
    return depot


def close_depot(user, depot_id: int) -> Depot:
    """Close a depot; refused while it still holds stock (transfer or issue it first)."""
    depot = writable(user, Depot, depot_id, label=_("Depot"))
    holding = depot_on_hand(depot.id)
    if holding:
        raise Conflict(
            _("The depot still holds %(n)s units; move them out before closing it.", n=holding)
        )
    depot.status = "closed"
    db.session.commit()
    return depot
