"""Assessment runs and recommendations: read the stock once per window (nothing reserved, nothing
moved), run each scenario through assessment.py, keep a run per scenario; optionally solve the
pre-positioning LP (optimise.py) and measure what its rounded answer really achieves."""

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from core.errors import Invalid, NotFound
from core.extensions import db
from core.organisation import Region
from reserve.models import Depot, Material

from .. import rules as dispatch_rules
from ..services.problem import depot_capacities, stock_sources_within
from . import assessment, optimise, rules
from .models import ReadinessRun, Scenario
from .scenarios import get_scenario, require_editor, require_reader, scenario_problem

MAX_SCENARIOS = 20  # scenarios of one assessment
MAX_BUDGET = 10_000_000_000  # yuan


def settings() -> dict:
    config = current_app.config
    return {
        "speed_kmh": config["DISPATCH_SPEED_KMH"],
        "road_factor": config["DISPATCH_ROAD_FACTOR"],
        "handling_h": config["DISPATCH_HANDLING_H"],
    }


def materials_of(material_ids) -> list[dict]:
    rows = db.session.execute(select(Material).where(Material.id.in_(material_ids))).scalars()
    return [
        {
            "id": str(m.id),
            "unit_weight_t": (m.unit_weight_kg or 0) / 1000.0,
            "unit_volume_m3": m.unit_volume_m3 or 0,
            "criticality": dispatch_rules.criticality(m.category_code),
        }
        for m in rows
    ]


def snapshot(user, material_ids) -> tuple[dict, dict]:
    """{window: sources} of the stock `user` may plan with, and {depot: agency}. Reads only."""
    windows, agency_of = {}, {}
    for window in rules.WINDOWS_H:
        sources, agencies = stock_sources_within(user, sorted(material_ids), float(window))
        windows[window] = [
            {**s, "stock": {str(m): q for m, q in s["stock"].items()}} for s in sources
        ]
        agency_of.update(agencies)
    db.session.rollback()  # end the read before planning
    return windows, agency_of


def recapacitate(windows: dict, agency_of: dict) -> dict:
    """Transport capacities as build_problem would give them for this stock: an agency's pooled
    vehicles are shared among its depots that hold stock in the window."""
    out = {}
    for window, sources in windows.items():
        depots = {s["depot_id"] for s in sources}
        capacity = depot_capacities(depots, {d: agency_of[d] for d in depots})
        out[window] = [{**s, "transport_capacity_t": capacity[s["depot_id"]]} for s in sources]
    return out


def _scenarios(user, scenario_ids: list[int]) -> list[Scenario]:
    if not scenario_ids or len(scenario_ids) > MAX_SCENARIOS:
        raise Invalid(
            _("Choose 1 to %(n)s scenarios.", n=MAX_SCENARIOS),
            errors={"scenario_ids": [_("count")]},
        )
    return [get_scenario(user, i) for i in scenario_ids]


def evaluate(user, scenarios: list[Scenario], report=lambda p, s: None):
    """(problems, materials, snapshot, agency_of, results): every scenario assessed against the
    stock as it is now. Nothing is written."""
    problems = [scenario_problem(s) for s in scenarios]
    material_ids = sorted({int(d["material"]) for p in problems for d in p["demands"]})
    materials = materials_of(material_ids)
    windows, agency_of = (
        snapshot(user, material_ids) if material_ids else ({w: [] for w in rules.WINDOWS_H}, {})
    )
    results = []
    for n, problem in enumerate(problems):
        report(
            10 + 70 * n // max(len(problems), 1), _("Assessing %(name)s", name=scenarios[n].name)
        )
        results.append(assessment.assess(problem, windows, materials, settings()))
    return problems, materials, windows, agency_of, results


def assess(
    user,
    scenario_ids: list[int],
    *,
    job_id=None,
    nightly=False,
    budget=None,
    report=lambda p, s: None,
):
    """Assess the scenarios, keep one run each (committed together), and, with a budget, the
    recommendations. Returns the job's result."""
    require_editor(user)
    scenarios = _scenarios(user, scenario_ids)
    problems, materials, windows, agency_of, results = evaluate(user, scenarios, report)
    runs = [
        ReadinessRun(
            scenario_id=s.id,
            job_id=job_id,
            score=r["province"]["score"],
            result=r,
            nightly=nightly,
            created_by_id=user.id,
        )
        for s, r in zip(scenarios, results, strict=True)
    ]
    outcome = {"scenario_ids": [s.id for s in scenarios]}
    if budget is not None:
        report(85, _("Solving the recommendations"))
        outcome["recommendations"] = recommend(
            problems, materials, windows, agency_of, results, budget
        )
    db.session.add_all(runs)
    db.session.flush()
    outcome["run_ids"] = [r.id for r in runs]
    return outcome


def candidate_depots_of(problems: list[dict], agency_of: dict) -> dict:
    """The active, located depots that may receive stock: {id: lat, lon, capacity_t}."""
    rows = db.session.execute(
        select(Depot.id, Depot.agency_id, Depot.lat, Depot.lon, Region.lat, Region.lon)
        .outerjoin(Region, Depot.region_code == Region.code)
        .where(Depot.status == "active")
    ).all()
    located = {r[0]: (r[1], r[2], r[3]) if r[2] is not None else (r[1], r[4], r[5]) for r in rows}
    located = {d: v for d, v in located.items() if v[1] is not None}
    depots = {d: {"lat": v[1], "lon": v[2]} for d, v in located.items()}
    nearest = current_app.config["READINESS_NEAREST_DEPOTS"]
    chosen = set(optimise.candidate_depots(problems, depots, nearest)) | set(agency_of)
    agencies = {**{d: located[d][0] for d in chosen if d in located}, **agency_of}
    capacity = depot_capacities(chosen, {d: agencies[d] for d in chosen})
    return {
        d: {**depots[d], "capacity_t": capacity[d], "agency_id": agencies[d]}
        for d in chosen
        if d in depots
    }


def recommend(problems, materials, windows, agency_of, before, budget) -> dict:
    """Solve the LP, then measure its rounded moves and purchases with the assessment itself:
    the promise is what the assessment will report once they are made."""
    if not 0 <= budget <= MAX_BUDGET:
        raise Invalid(_("The budget must be 0 to %(max)s yuan.", max=f"{MAX_BUDGET:,}"))
    config = current_app.config
    depots = candidate_depots_of(problems, agency_of)
    codes = dict(
        db.session.execute(
            select(Material.id, Material.code).where(
                Material.id.in_([int(m["id"]) for m in materials])
            )
        ).all()
    )
    prices = {str(m): config["READINESS_UNIT_PRICES"].get(code) for m, code in codes.items()}
    solved = optimise.optimise(
        {
            "scenarios": problems,
            "snapshot": windows,
            "materials": materials,
            "depots": depots,
            "destinations": optimise.candidate_depots(
                problems, depots, config["READINESS_NEAREST_DEPOTS"]
            ),
            "prices": {m: p for m, p in prices.items() if p},
            "cost_per_tkm": config["READINESS_TRANSFER_COST_PER_TKM"],
            "budget": budget,
            "max_units": 1_000_000,
            "windows": list(rules.WINDOWS_H),
            "settings": settings(),
        }
    )
    after_agencies = {**agency_of, **{d: v["agency_id"] for d, v in depots.items()}}
    after = recapacitate(
        optimise.apply_moves(windows, solved["moves"], solved["purchases"], depots), after_agencies
    )
    promised = [assessment.assess(p, after, materials, settings()) for p in problems]
    if solved["moves"] + solved["purchases"] and all(
        p["province"]["score"] <= b["province"]["score"]
        for p, b in zip(promised, before, strict=True)
    ):
        # rounded to whole units, nothing raises any scenario's score: recommend nothing
        solved = {**solved, "moves": [], "purchases": [], "no_gain": True}
        promised = before
    return {
        **solved,
        "budget": budget,
        "spent": round(sum(r["cost"] for r in solved["moves"] + solved["purchases"]), 2),
        "before": {
            str(p["key"]): r["province"]["score"] for p, r in zip(problems, before, strict=True)
        },
        "promised": {
            str(p["key"]): r["province"]["score"] for p, r in zip(problems, promised, strict=True)
        },
        "promised_counties": {
            str(p["key"]): {c: v["score"] for c, v in r["counties"].items()}
            for p, r in zip(problems, promised, strict=True)
        },
    }


def runs_of(user, scenario_id: int, limit: int = 60) -> list[ReadinessRun]:
    """The scenario's runs, newest first (the trend)."""
    get_scenario(user, scenario_id)
    return list(
        db.session.execute(
            select(ReadinessRun)
            .where(ReadinessRun.scenario_id == scenario_id)
            .order_by(ReadinessRun.created_at.desc(), ReadinessRun.id.desc())
            .limit(limit)
        ).scalars()
    )


def get_run(user, run_id: int) -> ReadinessRun:
    require_reader(user)
    run = db.session.get(ReadinessRun, run_id)
    if run is None:
        raise NotFound(_("No such assessment."))
    return run
