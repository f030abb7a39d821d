"""Plan versions: every plan is kept as a numbered version of its incident. Saving checks the
plan against its problem (`check_plan`) and supersedes the older drafts; a version is read,
listed, compared with another, and edited by hand into a new version."""

from collections import defaultdict

from flask_babel import gettext as _
from sqlalchemy import func, select

from core.errors import Conflict, Invalid, NotFound
from core.extensions import db
from dispatch.planning import Problem, check_plan, load_problem
from reserve.rules import quantity_problem

from ..models import Demand, PlanLine, PlanVersion
from ..statuses import DemandStatus, PlanStatus
from .incidents import get_incident, require_command
from .problem import Index, SourceKey, stored_material, stored_point
from .visibility import visible_lines


def get_plan(user, plan_id: int) -> PlanVersion:
    version = db.session.get(PlanVersion, plan_id)
    if version is None:
        raise NotFound(_("Plan %(id)s not found.", id=plan_id))
    get_incident(user, version.incident_id)
    return version


def list_plans(user, incident_id: int) -> list[PlanVersion]:
    get_incident(user, incident_id)
    return (
        db.session.execute(
            select(PlanVersion)
            .where(PlanVersion.incident_id == incident_id)
            .order_by(PlanVersion.version.desc())
        )
        .scalars()
        .all()
    )


def unmet_of(problem: dict, lines: list[dict]) -> list[dict]:
    """What the lines leave of each demand of the problem, in planner ids."""
    delivered = defaultdict(int)
    for line in lines:
        delivered[(line["point"], line["material"])] += line["quantity"]
    unmet = []
    for point in problem["points"]:
        for demand in point["demands"]:
            short = demand["quantity"] - delivered[(point["id"], demand["material"])]
            if short > 0:
                unmet.append(
                    {"point": point["id"], "material": demand["material"], "quantity": short}
                )
    return sorted(unmet, key=lambda u: (u["point"], u["material"]))


def save_version(
    user,
    incident,
    problem: dict,
    loaded: Problem,
    index: Index,
    lines,
    unmet,
    method,
    options,
    metrics,
    based_on=None,
) -> PlanVersion:
    """A new draft version of `lines` (planner ids), uncommitted; `loaded` is `problem` as
    `load_problem` read it, so the check does not read it again."""
    checked = check_plan(loaded, {"lines": lines, "unmet": unmet})
    if not checked.ok:
        raise Invalid(
            _("The plan breaks a constraint; nothing was saved."),
            errors={"plan": checked.errors[:20]},
        )
    previous = db.session.scalar(
        select(func.max(PlanVersion.version)).where(PlanVersion.incident_id == incident.id)
    )
    version = PlanVersion(
        incident_id=incident.id,
        version=(previous or 0) + 1,
        status=PlanStatus.DRAFT,
        method=method,
        options=options or None,
        problem=problem,
        metrics=metrics or checked.metrics,
        author_id=user.id,
        based_on_id=based_on.id if based_on else None,
        unmet=[_unmet_facts(index, u) for u in unmet],
    )
    db.session.add(version)
    db.session.flush()
    db.session.add_all([_line(version, index, line) for line in lines if line["quantity"] > 0])
    db.session.flush()
    _supersede_drafts(incident.id, version.id)
    return version


def _unmet_facts(index: Index, unmet: dict) -> dict:
    point = index.points[unmet["point"]]
    material = index.materials[unmet["material"]]
    return {
        **unmet,
        "point_id": point.point_id,
        "weight": point.weight,
        "material_id": material,
        "demand_id": index.demands.get((point.point_id, material)),
    }


def _line(version, index: Index, line: dict) -> PlanLine:
    source = index.sources[line["source"]]
    point_id = index.points[line["point"]].point_id
    material_id = index.materials[line["material"]]
    return PlanLine(
        plan_id=version.id,
        source_key=line["source"],
        source_kind=source.kind,
        depot_id=source.depot_id,
        agency_id=source.agency_id,
        offer_id=source.offer_id,
        point_id=point_id,
        demand_id=index.demands.get((point_id, material_id)),
        material_id=material_id,
        quantity=int(line["quantity"]),
        arrival_h=float(line["arrival_h"]),
        lead_time_h=float(source.lead_time_h),
        km=float(line["km"]),
        weight_t=round(int(line["quantity"]) * index.weights.get(material_id, 0), 3),
        edited=bool(line.get("edited")),
    )


def _supersede_drafts(incident_id: int, keep_id: int) -> None:
    for draft in db.session.execute(
        select(PlanVersion).where(
            PlanVersion.incident_id == incident_id,
            PlanVersion.status == PlanStatus.DRAFT,
            PlanVersion.id != keep_id,
        )
    ).scalars():
        draft.status = PlanStatus.SUPERSEDED


def stored_index(version: PlanVersion) -> Index:
    """The index of a saved version, for edits of its lines: sources from its lines' columns,
    points and materials from its problem's ids (the one decoder, `problem.stored_point`), demands
    as they are in force now."""
    index = Index()
    for line in version.lines:
        index.sources[line.source_key] = SourceKey(
            line.source_kind, line.depot_id, line.agency_id, line.offer_id, line.lead_time_h
        )
    for point in version.problem["points"]:
        index.points[point["id"]] = stored_point(point["id"])
    for material in version.problem["materials"]:
        index.materials[material["id"]] = stored_material(material["id"])
        index.weights[stored_material(material["id"])] = material["unit_weight_t"]
    for demand in db.session.execute(
        select(Demand).where(
            Demand.incident_id == version.incident_id, Demand.status == DemandStatus.ACTIVE
        )
    ).scalars():
        index.demands[(demand.point_id, demand.material_id)] = demand.id
    return index


def edit_plan(user, plan_id: int, changes: list[dict]) -> PlanVersion:
    """A new draft version with some lines' quantities changed by hand (0 removes a line),
    validated against the base version's problem with check_plan (422 naming what breaks)."""
    require_command(user)
    base = get_plan(user, plan_id)
    if base.status not in (PlanStatus.DRAFT, PlanStatus.APPROVED):
        raise Conflict(
            _("Only the current draft or an approved plan can be edited into a new version.")
        )
    wanted = {int(c["line_id"]): int(c["quantity"]) for c in changes}
    known = {line.id for line in base.lines}
    if set(wanted) - known or any(quantity_problem(q) for q in wanted.values()):
        raise Invalid(
            _("Edits name lines of this plan with whole quantities, zero or more."),
            errors={"changes": sorted(set(wanted) - known)},
        )
    problem = base.problem
    index = stored_index(base)
    planner_ids = {}  # (point id, material id) -> (planner point, planner material)
    for point in problem["points"]:
        for demand in point["demands"]:
            planner_ids.setdefault(
                (index.points[point["id"]].point_id, index.materials[demand["material"]]),
                (point["id"], demand["material"]),
            )
    lines = []
    for line in base.lines:
        point, material = planner_ids[(line.point_id, line.material_id)]
        lines.append(
            {
                "source": line.source_key,
                "point": point,
                "material": material,
                "quantity": wanted.get(line.id, line.quantity),
                "arrival_h": line.arrival_h,
                "km": line.km,
                "edited": line.id in wanted or line.edited,
            }
        )
    version = save_version(
        user,
        base.incident,
        problem,
        load_problem(problem),
        index,
        [line for line in lines if line["quantity"] > 0],
        unmet_of(problem, lines),
        "manual",
        base.options,
        None,
        based_on=base,
    )
    db.session.commit()
    return version


def compare(user, plan_id: int, other_id: int | None = None) -> dict:
    """Lines added, removed and changed, and metric differences, against another version
    (default: the one before it)."""
    plan = get_plan(user, plan_id)
    other = (
        get_plan(user, other_id)
        if other_id
        else db.session.execute(
            select(PlanVersion)
            .where(PlanVersion.incident_id == plan.incident_id, PlanVersion.version < plan.version)
            .order_by(PlanVersion.version.desc())
            .limit(1)
        ).scalar_one_or_none()
    )
    if other is None:
        return {"other": None, "added": [], "removed": [], "changed": [], "metrics": {}}

    def keyed(version):  # only the lines the caller may read, as on the plan itself
        return {
            (line.source_key, line.point_id, line.material_id): line
            for line in visible_lines(user, version)
        }

    mine, theirs = keyed(plan), keyed(other)

    def describe(line):
        return {
            "source": line.source_key,
            "depot": line.depot.name if line.depot else line.source_key,
            "point": line.point.name,
            "material": line.material.name,
            "quantity": line.quantity,
        }

    metrics = {
        k: round((plan.metrics or {}).get(k, 0) - (other.metrics or {}).get(k, 0), 6)
        for k in (
            "weighted_unmet",
            "unmet_t",
            "fill_rate_min",
            "fill_rate_mean",
            "jain",
            "tonne_km",
        )
        if k in (plan.metrics or {})
    }
    return {
        "other": other.version,
        "added": [describe(mine[k]) for k in sorted(set(mine) - set(theirs))],
        "removed": [describe(theirs[k]) for k in sorted(set(theirs) - set(mine))],
        "changed": [
            {**describe(mine[k]), "before": theirs[k].quantity}
            for k in sorted(set(mine) & set(theirs))
            if mine[k].quantity != theirs[k].quantity
        ],
        "metrics": metrics,
    }
