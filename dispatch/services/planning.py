"""Planning from live stock: build the incident's problem once (`problem.py`), keep the pinned
lines as given, run the planner on the rest, and save the result as a new draft version
(`versions.py`). Large problems run the same code in the worker (`plan_jobs.py`)."""

import time
from typing import NamedTuple

from flask_babel import gettext as _

from core.errors import Conflict, Invalid
from core.extensions import db
from dispatch.planning import Problem, ProblemError, load_problem, plan_allocation

from ..models import PlanVersion
from ..statuses import IncidentStatus
from .incidents import get_incident, require_command
from .problem import Index, build_problem
from .versions import save_version, unmet_of


class Built(NamedTuple):
    """A problem built from live stock, its index, and how long building took."""

    problem: dict
    index: Index
    seconds: float


def build(user, incident, options: dict | None) -> Built:
    started = time.perf_counter()
    problem, index = build_problem(user, incident, options)
    return Built(problem, index, time.perf_counter() - started)


def plan_incident(
    user,
    incident_id: int,
    *,
    options: dict | None = None,
    greedy: bool = False,
    built: Built | None = None,
) -> PlanVersion:
    """Plan from live stock now and keep the result as a new draft version (in the request).
    `built`: the problem, when the caller has built it already."""
    version = draft_plan(user, incident_id, options=options, greedy=greedy, built=built)
    db.session.commit()
    return version


def draft_plan(
    user,
    incident_id: int,
    *,
    options: dict | None,
    greedy: bool,
    report=None,
    built: Built | None = None,
) -> PlanVersion:
    """Build (unless `built` is given), solve and save a draft version, uncommitted.
    `report(percent, step)`, given by a background job, is told before solving and before saving."""
    require_command(user)
    incident = get_incident(user, incident_id)
    if incident.status == IncidentStatus.CLOSED:
        raise Conflict(_("The incident is closed."))
    built = built or build(user, incident, options)
    problem, index = built.problem, built.index
    if report:
        report(40, _("Solving"))
    solving = time.perf_counter()
    try:
        loaded = load_problem(problem)  # read once: the pins, the planner and the check share it
        pins = (options or {}).get("pin") or []
        problem_for_solver, pinned = _apply_pins(problem, loaded, pins) if pins else (loaded, [])
        plan = plan_allocation(problem_for_solver, greedy=greedy)
    except ProblemError as exc:
        raise Invalid(_("The planning problem is not valid: %(why)s", why=str(exc))) from None
    solved = time.perf_counter()
    if report:
        report(85, _("Checking and saving the plan"))
    lines = pinned + plan.lines
    version = save_version(
        user,
        incident,
        problem,
        loaded,
        index,
        lines,
        unmet_of(problem, lines),
        "greedy" if greedy else "planner",
        options,
        plan.metrics if not pinned else None,
    )
    if index.left_out:
        version.metrics = {**(version.metrics or {}), "left_out": index.left_out[:200]}
    finished = time.perf_counter()
    version.timings = {
        "build_s": round(built.seconds, 3),
        "solve_s": round(solved - solving, 3),
        "save_s": round(finished - solved, 3),
        "total_s": round(built.seconds + finished - solving, 3),
        "planner": plan.timings,
    }
    return version


def _apply_pins(problem: dict, loaded: Problem, pins: list[dict]) -> tuple[dict, list[dict]]:
    """Pinned lines (source, point, material, quantity) are kept as given: taken out of the
    stock, demand and capacity the planner sees, then added back to its lines."""
    sources = {s["id"]: {**s, "stock": dict(s["stock"])} for s in problem["sources"]}
    points = {p["id"]: {**p, "demands": [dict(d) for d in p["demands"]]} for p in problem["points"]}
    weights = {m["id"]: m["unit_weight_t"] for m in problem["materials"]}
    lines = []
    for pin in pins:
        source, point, material = (
            sources.get(pin.get("source")),
            points.get(pin.get("point")),
            str(pin.get("material")),
        )
        quantity = int(pin.get("quantity") or 0)
        demand = (
            next((d for d in point["demands"] if d["material"] == material), None)
            if point
            else None
        )
        if (
            source is None
            or demand is None
            or quantity <= 0
            or source["stock"].get(material, 0) < quantity
            or demand["quantity"] < quantity
        ):
            raise Invalid(
                _(
                    "A pinned line names an unknown source, point or material, or more than is available or "
                    "needed."
                ),
                errors={"pin": [pin]},
            )
        source["stock"][material] -= quantity
        source["transport_capacity_t"] = max(
            source["transport_capacity_t"] - quantity * weights[material], 0
        )
        demand["quantity"] -= quantity
        lines.append(
            {
                "source": source["id"],
                "point": point["id"],
                "material": material,
                "quantity": quantity,
                "pinned": True,
            }
        )
    reduced = {**problem, "sources": list(sources.values()), "points": list(points.values())}
    lines = _with_arrivals(loaded, lines)
    deadlines = {
        (p["id"], d["material"]): d["needed_within_h"]
        for p in problem["points"]
        for d in p["demands"]
    }
    late = [
        line
        for line in lines
        if line["arrival_h"] > deadlines[(line["point"], line["material"])] + 1e-9
    ]
    if late:
        raise Invalid(
            _("A pinned source cannot reach its point in time."),
            errors={"pin": [f"{line['source']} → {line['point']}" for line in late]},
        )
    return reduced, lines


def _with_arrivals(loaded: Problem, lines: list[dict]) -> list[dict]:
    """Arrival and km of given lines as the planner computes them (lead time + travel)."""
    s_index = {s: i for i, s in enumerate(loaded.source_ids)}
    p_index = {p: i for i, p in enumerate(loaded.point_ids)}
    result = []
    for line in lines:
        s, p = s_index[line["source"]], p_index[line["point"]]
        result.append(
            {
                **line,
                "arrival_h": round(float(loaded.lead_time_h[s] + loaded.hours[s, p]), 6),
                "km": round(float(loaded.km[s, p]), 6),
            }
        )
    return result
