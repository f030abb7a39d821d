"""Emergency plans (应急预案), their reserve norms, and the gap between norms and stock."""

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from core.errors import Invalid
from core.extensions import db
from core.scoping import scoped

from .. import rules
from ..models import EmergencyPlan, IncidentType, Material, ReserveNorm
from ..stock.queries import physical_available_by_region
from .access import readable, require_write, writable
from .depots import check_region

LEVELS = ("I", "II", "III", "IV")
BASES = ("per_region", "per_10k_people", "per_10k_affected")


def list_plans(user, *, incident_type=None, level=None):
    stmt = scoped(
        select(EmergencyPlan), user, EmergencyPlan.agency_id, EmergencyPlan.classification
    )
    if incident_type:
        stmt = stmt.where(EmergencyPlan.incident_type == incident_type)
    if level:
        stmt = stmt.where(EmergencyPlan.level == level)
    return stmt.order_by(EmergencyPlan.id)


def get_plan(user, plan_id: int) -> EmergencyPlan:
    return readable(user, EmergencyPlan, plan_id, label=_("Plan"))


def create_plan(
    user,
    *,
    agency_id: int,
    name: str,
    incident_type: str,
    level: str,
    region_code: str,
    classification: str = "internal",
) -> EmergencyPlan:
    require_write(user, agency_id)
    if incident_type not in {t.value for t in IncidentType} or level not in LEVELS:
        raise Invalid(
            _("Unknown incident type or level."),
            errors={"incident_type": [incident_type], "level": [level]},
        )
    check_region(region_code)
    plan = EmergencyPlan(
        agency_id=agency_id,
        name=name,
        incident_type=incident_type,
        level=level,
        region_code=region_code,
        classification=classification,
    )
    db.session.add(plan)
    db.session.commit()
    return plan


def add_norm(
    user, plan_id: int, *, material_id: int, region_code: str, basis: str, quantity: float
) -> ReserveNorm:
    plan = writable(user, EmergencyPlan, plan_id, label=_("Plan"))
    if basis not in BASES or quantity is None or quantity < 0:
        raise Invalid(
            _("A norm is a quantity of zero or more, per region or per 10,000 people."),
            errors={"basis": [basis]},
        )
    if db.session.get(Material, material_id) is None:
        raise Invalid(_("Unknown material."), errors={"material_id": [_("not in the catalog")]})
    check_region(region_code)
    norm = ReserveNorm(
        plan_id=plan.id,
        material_id=material_id,
        region_code=region_code,
        basis=basis,
        quantity=quantity,
    )
    db.session.add(norm)
    db.session.commit()
    return norm


@dataclass
class GapRow:
    region_code: str
    region: str
    material_id: int
    material_code: str
    material: str
    unit: str
    category_code: str
    required: float | None
    available: int
    gap: float | None
    fill_rate: float | None


def plan_gap(user, plan_id: int) -> list[GapRow]:
    """Required (norm) vs available physical stock, per norm, counting the stock `user` may see
    in depots inside the norm's region."""
    plan = get_plan(user, plan_id)
    material_ids = {n.material_id for n in plan.norms}
    stock = physical_available_by_region(user, material_ids)
    rows = []
    for norm in sorted(plan.norms, key=lambda n: (n.region_code, n.material.code)):
        prefix = rules.region_prefix(norm.region_code)
        available = int(
            sum(
                q or 0
                for m, code, q in stock
                if m == norm.material_id and (code or "").startswith(prefix)
            )
        )
        required = rules.norm_requirement(norm.basis, norm.quantity, norm.region.population)
        gap = None if required is None else max(required - available, 0)
        fill = None if not required else min(available / required, 1.0)
        rows.append(
            GapRow(
                norm.region_code,
                norm.region.name,
                norm.material_id,
                norm.material.code,
                norm.material.name,
                norm.material.unit,
                norm.material.category_code,
                required,
                available,
                gap,
                fill,
            )
        )
    return rows
