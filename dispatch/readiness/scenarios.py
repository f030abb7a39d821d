"""Scenarios: the library of disasters the province plans for (command staff edit it), their
affected counties (entered, or from the intensity-by-distance rule) and the demands the
emergency plan's norms give them."""

from flask_babel import gettext as _
from sqlalchemy import select

from core.errors import Conflict, Invalid, NotAllowed, NotFound
from core.extensions import db
from core.organisation import Region
from core.policy import may_command_incidents, may_read_readiness
from core.timeutil import utcnow
from reserve.models import EmergencyPlan, Material, ReserveNorm
from reserve.rules import MAX_QUANTITY
from reserve.services import plans as reserve_plans

from .. import rules as dispatch_rules
from . import rules
from .models import Scenario, ScenarioCounty

MAX_COUNTIES = 200  # counties of one scenario (a province has ~120)
PER_PEOPLE = ("per_10k_affected", "per_10k_people")  # relief standard first


def require_reader(user) -> None:
    if not may_read_readiness(user):
        raise NotAllowed(_("Only command staff and leaders see readiness."))


def require_editor(user) -> None:
    if not may_command_incidents(user):
        raise NotAllowed(_("Only command staff edit scenarios and run assessments."))


def list_scenarios(user) -> list[Scenario]:
    require_reader(user)
    return list(db.session.execute(select(Scenario).order_by(Scenario.name)).scalars())


def get_scenario(user, scenario_id: int) -> Scenario:
    require_reader(user)
    scenario = db.session.get(Scenario, scenario_id)
    if scenario is None:
        raise NotFound(_("No such scenario."))
    return scenario


def save_scenario(user, data: dict, scenario_id: int | None = None) -> Scenario:
    """Create or replace a scenario (its counties too); one commit."""
    require_editor(user)
    scenario = get_scenario(user, scenario_id) if scenario_id else Scenario()
    clash = db.session.execute(
        select(Scenario.id).where(Scenario.name == data["name"], Scenario.id != (scenario_id or 0))
    ).scalar()
    if clash:
        raise Conflict(_("Another scenario has this name."))
    if data.get("plan_id"):
        reserve_plans.get_plan(user, data["plan_id"])  # 404 unless the user may read it
    for key in ("name", "hazard", "level", "plan_id", "population_rule", "note", "is_standard"):
        setattr(scenario, key, data.get(key))
    for key in ("epicentre_lat", "epicentre_lon", "magnitude"):
        setattr(scenario, key, data.get(key))
    counties = _counties(data)
    scenario.counties = [
        ScenarioCounty(region_code=c, population=p, severity=s) for c, p, s in counties
    ]
    scenario.updated_by_id, scenario.updated_at = user.id, utcnow()
    db.session.add(scenario)
    db.session.commit()
    return scenario


def plan_choices(user) -> list[EmergencyPlan]:
    """The emergency plans the user may read, to size a scenario's demands."""
    return list(db.session.execute(reserve_plans.list_plans(user)).scalars())


def _counties(data: dict) -> list[tuple[str, int, int]]:
    known = {
        r.code: r
        for r in db.session.execute(select(Region).where(Region.level == "county")).scalars()
    }
    if data["population_rule"] == "intensity":
        residents = _residents(known)
        if None in (data.get("magnitude"), data.get("epicentre_lat"), data.get("epicentre_lon")):
            raise Invalid(
                _("The intensity rule needs the epicentre and the magnitude."),
                errors={"magnitude": [_("required")]},
            )
        reached = rules.counties_by_intensity(
            data["magnitude"],
            data["epicentre_lat"],
            data["epicentre_lon"],
            [
                (r.code, r.lat, r.lon, residents[r.code])
                for r in known.values()
                if r.lat is not None
            ],
        )
        return reached[:MAX_COUNTIES]
    rows = data.get("counties") or []
    unknown = sorted({c["region_code"] for c in rows} - set(known))
    if unknown:
        raise Invalid(
            _("These are not counties: %(codes)s", codes=", ".join(unknown[:10])),
            errors={"counties": unknown[:10]},
        )
    if len({c["region_code"] for c in rows}) != len(rows):
        raise Invalid(_("A county is listed twice."), errors={"counties": [_("duplicate")]})
    return [(c["region_code"], c["population"], c["severity"]) for c in rows]


def _residents(counties: dict) -> dict[str, int]:
    """A county's residents: its own figure, else an equal share of its city's (the census
    figures the registry holds are per city)."""
    per_city: dict = {}
    for region in counties.values():
        per_city.setdefault(region.parent_code, []).append(region.code)
    cities = {
        r.code: r.population or 0
        for r in db.session.execute(select(Region).where(Region.code.in_(per_city))).scalars()
    }
    return {
        code: region.population
        or cities.get(region.parent_code, 0) // len(per_city[region.parent_code])
        for code, region in counties.items()
    }


def norms_per_10k(plan_id: int | None) -> dict[int, float]:
    """{material id: units per 10,000 people affected} from the plan's norms (a relief standard
    before a reserve level per resident; per-region norms size no county)."""
    if plan_id is None:
        return {}
    norms = db.session.execute(
        select(ReserveNorm).where(ReserveNorm.plan_id == plan_id, ReserveNorm.basis.in_(PER_PEOPLE))
    ).scalars()
    chosen: dict[int, tuple[int, float]] = {}
    for norm in norms:
        rank = PER_PEOPLE.index(norm.basis)
        if norm.material_id not in chosen or rank < chosen[norm.material_id][0]:
            chosen[norm.material_id] = (rank, norm.quantity)
    return {m: q for m, (_rank, q) in chosen.items()}


def scenario_problem(scenario: Scenario) -> dict:
    """The scenario as assessment.py takes it: a point per located county, a demand per county
    and normed material (its priority: severity × the material's criticality)."""
    norms = norms_per_10k(scenario.plan_id)
    materials = {
        m.id: m
        for m in db.session.execute(select(Material).where(Material.id.in_(norms))).scalars()
    }
    points, demands = [], []
    for county in scenario.counties:
        region = county.region
        if region.lat is None:
            continue
        points.append(
            {"id": region.code, "lat": region.lat, "lon": region.lon, "severity": county.severity}
        )
        for material_id in sorted(norms):
            asked = min(rules.demand_quantity(norms[material_id], county.population), MAX_QUANTITY)
            criticality = dispatch_rules.criticality(materials[material_id].category_code)
            demands.append(
                {
                    "county": region.code,
                    "material": str(material_id),
                    "asked": asked,
                    "weight": rules.priority(county.severity, criticality),
                }
            )
    return {"key": scenario.id, "points": points, "demands": demands}
