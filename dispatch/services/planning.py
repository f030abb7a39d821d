"""Planning from live stock: build the planner's problem from the incident's demands, the
available stock the user may see, registered transport and approved supplier offers; run the
planner; keep every version; compare versions; edit by hand (re-checked with `check_plan`).

Sources (docs/dispatch.md):
- `D<depot>`: a depot's physical stock (available = on hand − reserved; expired lots and closed
  depots left out), lead time 0;
- `D<depot>-A<h>` / `D<depot>-C<h>`: its agreement / production-capacity reserves with lead
  time h hours (capacity: what units_per_day produce before the latest deadline; expired
  contracts left out);
- `S<offer>`: an approved supplier's offer from the public portal, at its region's centre.
Transport capacity of a depot: its available vehicles (count × payload), plus an equal share of
its agency's vehicles registered without a depot; DISPATCH_DEFAULT_CAPACITY_T when it has none.
Points: one per demand point and combined weight ⌈severity × priority / 3⌉ (1..3); materials
carry the criticality of their class (rules.criticality).
"""

import math
import time
from collections import defaultdict

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from core.errors import Conflict, Invalid, NotFound
from core.extensions import db
from core.timeutil import local_today, utcnow
from dispatch.planning import ProblemError, check_plan, plan_allocation
from core.organisation import Region
from reserve.models import Depot, Material, ReserveType, TransportCapacity
from reserve.rules import MAX_QUANTITY, LotSupply, available_within, quantity_problem
from reserve.stock import availability

from .. import rules
from ..models import Demand, DemandStatus, IncidentStatus, PlanLine, PlanStatus, PlanVersion
from .incidents import get_incident, require_command

PHYSICAL = ReserveType.PHYSICAL.value


def _weight(severity: int, priority: int) -> int:
    return max(1, min(3, math.ceil(severity * priority / 3)))


class Index:
    """What each planner id means in the database."""

    def __init__(self):
        self.sources: dict[str, dict] = {}
        self.points: dict[str, tuple[int, int]] = {}     # planner point -> (point id, weight)
        self.demands: dict[tuple[int, int], int] = {}    # (point id, material id) -> demand id
        self.weights: dict[int, float] = {}              # material id -> t per unit
        self.left_out: list[dict] = []                   # rows not planned with, and why (shown with the plan)

    def leave_out(self, kind: str, row_id, quantity, why: str) -> None:
        """A row the planner cannot take (a quantity outside 0..MAX_QUANTITY, e.g. written
        before the bound existed) is left out and named in the plan, never fails the plan."""
        self.left_out.append({"kind": kind, "id": row_id, "quantity": str(quantity), "why": why})


def build_problem(user, incident, options: dict | None = None, now=None) -> tuple[dict, Index]:
    options = options or {}
    now = now or utcnow()
    demands = db.session.execute(select(Demand).where(Demand.incident_id == incident.id,
                                                      Demand.status == DemandStatus.ACTIVE)).scalars().all()
    if not demands:
        raise Invalid(_("The incident has no active demand to plan for."))
    index = Index()
    material_ids = sorted({d.material_id for d in demands})
    materials = {m.id: m for m in db.session.execute(select(Material).where(Material.id.in_(material_ids))).scalars()}
    horizon = {m: 0.0 for m in material_ids}
    by_point: dict[str, list[dict]] = defaultdict(list)
    points = {}
    for demand in demands:
        if quantity_problem(demand.quantity, minimum=1):
            index.leave_out("demand", demand.number, demand.quantity, "quantity out of range")
            continue
        point = demand.point
        hours = rules.hours_until(demand.needed_by, now)
        horizon[demand.material_id] = max(horizon[demand.material_id], hours)
        key = f"P{point.id}-{_weight(point.severity, demand.priority)}"
        index.points[key] = (point.id, _weight(point.severity, demand.priority))
        index.demands[(point.id, demand.material_id)] = demand.id
        points[key] = {"id": key, "lat": point.lat, "lon": point.lon,
                       "severity": _weight(point.severity, demand.priority)}
        by_point[key].append({"material": str(demand.material_id), "quantity": demand.quantity,
                              "needed_within_h": round(hours, 3)})
    if not by_point:
        raise Invalid(_("No active demand of the incident can be planned: every one has a quantity outside 1 to "
                        "%(max)s units.", max=f"{MAX_QUANTITY:,}"), errors={"demands": index.left_out[:50]})
    for material in materials.values():
        index.weights[material.id] = (material.unit_weight_kg or 0) / 1000.0
    sources = _stock_sources(user, material_ids, horizon, index) + _supplier_sources(material_ids, horizon, index)
    excluded = set(options.get("exclude") or [])
    sources = [s for s in sources if s["id"] not in excluded]
    problem = {
        "materials": [{"id": str(m.id), "unit_weight_t": index.weights[m.id],
                       "unit_volume_m3": m.unit_volume_m3 or 0, "criticality": rules.criticality(m.category_code)}
                      for m in materials.values()],
        "sources": sources,
        "points": [{**points[k], "demands": by_point[k]} for k in sorted(points)],
        "speed_kmh": current_app.config["DISPATCH_SPEED_KMH"], "road_factor": 1.3,
        "handling_h": current_app.config["DISPATCH_HANDLING_H"],
        "policy": {"order": ["efficacy", "equity", "speed", "cost"], "equity_tolerance": 0.02},
    }
    return problem, index


def _depot_capacity(depot_ids: set[int], agency_of: dict[int, int]) -> dict[int, float]:
    at_depot = defaultdict(float)
    pooled = defaultdict(float)
    for depot_id, agency_id, tonnes in db.session.execute(
            select(TransportCapacity.depot_id, TransportCapacity.agency_id,
                   func.sum(TransportCapacity.count * TransportCapacity.payload_t))
            .where(TransportCapacity.available.is_(True),
                   TransportCapacity.agency_id.in_(set(agency_of.values())))
            .group_by(TransportCapacity.depot_id, TransportCapacity.agency_id)):
        if depot_id is None:
            pooled[agency_id] += tonnes or 0
        else:
            at_depot[depot_id] += tonnes or 0
    depots_per_agency = defaultdict(int)
    for depot_id in depot_ids:
        depots_per_agency[agency_of[depot_id]] += 1
    default = current_app.config["DISPATCH_DEFAULT_CAPACITY_T"]
    capacity = {}
    for depot_id in depot_ids:
        agency = agency_of[depot_id]
        total = at_depot[depot_id] + pooled[agency] / depots_per_agency[agency]
        capacity[depot_id] = round(total if total > 0 else default, 3)
    return capacity


def _stock_sources(user, material_ids, horizon, index: Index) -> list[dict]:
    today = local_today()
    sources: dict[str, dict] = {}
    agency_of = {}
    for lot in availability.drawable_lots(user, material_ids, today):
        available = lot.available
        if quantity_problem(available) or (lot.units_per_day is not None and quantity_problem(lot.units_per_day)):
            index.leave_out("lot", lot.lot_id, available, "quantity out of range")
            continue
        if lot.lat is None:
            continue  # a depot without a location cannot be routed
        physical = lot.reserve_type == PHYSICAL
        lead = 0.0 if physical else float(lot.lead_time_h or 0)
        units = int(available) if physical else available_within(
            LotSupply(lot.reserve_type, int(available), lead, lot.units_per_day, lot.contract_valid_to),
            horizon[lot.material_id], today)
        if units <= 0:
            continue
        depot_id, material_id = lot.depot_id, lot.material_id
        key = f"D{depot_id}" if physical else f"D{depot_id}-{lot.reserve_type[0].upper()}{int(lead)}"
        source = sources.setdefault(key, {"id": key, "lat": lot.lat, "lon": lot.lon, "lead_time_h": lead,
                                          "transport_capacity_t": 0.0, "stock": {}})
        source["stock"][str(material_id)] = source["stock"].get(str(material_id), 0) + units
        agency_of[depot_id] = lot.agency_id
        index.sources[key] = {"kind": lot.reserve_type, "depot_id": depot_id, "agency_id": lot.agency_id,
                              "offer_id": None, "lead_time_h": lead}
    capacity = _depot_capacity(set(agency_of), agency_of)
    for key, source in sources.items():
        source["transport_capacity_t"] = capacity[index.sources[key]["depot_id"]]
        source["stock"] = {material: _capped(index, key, units) for material, units in source["stock"].items()}
    return [sources[k] for k in sorted(sources)]


def _capped(index: Index, source: str, units: int) -> int:
    """A source offers at most MAX_QUANTITY units of a material to one plan (a depot whose lots
    together hold more, a supplier producing more by the deadline); the plan says so."""
    if units > MAX_QUANTITY:
        index.leave_out("source", source, units, "above the quantity bound: planned with its first MAX_QUANTITY units")
        return MAX_QUANTITY
    return units


def _supplier_sources(material_ids, horizon, index: Index) -> list[dict]:
    from public_site.services.suppliers import approved_offers

    sources = []
    for offer in approved_offers(material_ids=material_ids):
        region = db.session.get(Region, (offer["service_regions"] or [""])[0]) if offer["service_regions"] else None
        if region is None or region.lat is None:
            continue
        lead = float(offer["lead_time_h"] or 0)
        produced = int((offer["capacity_per_day"] or 0) * max(horizon[offer["material_id"]] - lead, 0) / 24)
        units = _capped(index, f"S{offer['offer_id']}", offer["quantity_in_stock"] + produced)
        if units <= 0:
            continue
        key = f"S{offer['offer_id']}"
        sources.append({"id": key, "lat": region.lat, "lon": region.lon, "lead_time_h": lead,
                        "transport_capacity_t": current_app.config["DISPATCH_SUPPLIER_CAPACITY_T"],
                        "stock": {str(offer["material_id"]): units}})
        index.sources[key] = {"kind": "supplier", "depot_id": None, "agency_id": None, "offer_id": offer["offer_id"],
                              "lead_time_h": lead}
    return sources


# --- running and keeping versions --------------------------------------------------------------

def plan_incident(user, incident_id: int, *, options: dict | None = None, greedy: bool = False) -> PlanVersion:
    """Plan from live stock now and keep the result as a new draft version (in the request)."""
    version = _plan(user, incident_id, options=options, greedy=greedy)
    db.session.commit()
    return version


def _plan(user, incident_id: int, *, options: dict | None, greedy: bool, report=None) -> PlanVersion:
    """Build, solve and save a draft version, uncommitted. `report(percent, step)`, given by a
    background job, is told before solving and before saving."""
    require_command(user)
    incident = get_incident(user, incident_id)
    if incident.status == IncidentStatus.CLOSED:
        raise Conflict(_("The incident is closed."))
    started = time.perf_counter()
    problem, index = build_problem(user, incident, options)
    built = time.perf_counter()
    if report:
        report(40, _("Solving"))
    pins = (options or {}).get("pin") or []
    problem_for_solver, pinned = _apply_pins(problem, pins) if pins else (problem, [])
    try:
        plan = plan_allocation(problem_for_solver, greedy=greedy)
    except ProblemError as exc:
        raise Invalid(_("The planning problem is not valid: %(why)s", why=str(exc))) from None
    solved = time.perf_counter()
    if report:
        report(85, _("Checking and saving the plan"))
    lines = pinned + plan.lines
    version = _save(user, incident, problem, index, lines, _unmet(problem, lines), "greedy" if greedy else "planner",
                    options, plan.metrics if not pinned else None)
    if index.left_out:
        version.metrics = {**(version.metrics or {}), "left_out": index.left_out[:200]}
    version.timings = {"build_s": round(built - started, 3), "solve_s": round(solved - built, 3),
                       "save_s": round(time.perf_counter() - solved, 3), "total_s": round(time.perf_counter() - started, 3),
                       "planner": plan.timings}
    return version


def _apply_pins(problem: dict, pins: list[dict]) -> tuple[dict, list[dict]]:
    """Pinned lines (source, point, material, quantity) are kept as given: taken out of the
    stock, demand and capacity the planner sees, then added back to its lines."""
    sources = {s["id"]: {**s, "stock": dict(s["stock"])} for s in problem["sources"]}
    points = {p["id"]: {**p, "demands": [dict(d) for d in p["demands"]]} for p in problem["points"]}
    weights = {m["id"]: m["unit_weight_t"] for m in problem["materials"]}
    lines = []
    for pin in pins:
        source, point, material = sources.get(pin.get("source")), points.get(pin.get("point")), str(pin.get("material"))
        quantity = int(pin.get("quantity") or 0)
        demand = next((d for d in point["demands"] if d["material"] == material), None) if point else None
        if source is None or demand is None or quantity <= 0 or source["stock"].get(material, 0) < quantity \
                or demand["quantity"] < quantity:
            raise Invalid(_("A pinned line names an unknown source, point or material, or more than is available or "
                            "needed."), errors={"pin": [pin]})
        source["stock"][material] -= quantity
        source["transport_capacity_t"] = max(source["transport_capacity_t"] - quantity * weights[material], 0)
        demand["quantity"] -= quantity
        lines.append({"source": source["id"], "point": point["id"], "material": material, "quantity": quantity,
                      "pinned": True})
    reduced = {**problem, "sources": list(sources.values()), "points": list(points.values())}
    lines = _with_arrivals(problem, lines)
    deadlines = {(p["id"], d["material"]): d["needed_within_h"] for p in problem["points"] for d in p["demands"]}
    late = [line for line in lines if line["arrival_h"] > deadlines[(line["point"], line["material"])] + 1e-9]
    if late:
        raise Invalid(_("A pinned source cannot reach its point in time."),
                      errors={"pin": [f"{line['source']} → {line['point']}" for line in late]})
    return reduced, lines


def _with_arrivals(problem: dict, lines: list[dict]) -> list[dict]:
    """Arrival and km of given lines as the planner computes them (lead time + travel)."""
    from dispatch.planning.problem import load_problem

    loaded = load_problem(problem)
    s_index = {s: i for i, s in enumerate(loaded.source_ids)}
    p_index = {p: i for i, p in enumerate(loaded.point_ids)}
    result = []
    for line in lines:
        s, p = s_index[line["source"]], p_index[line["point"]]
        result.append({**line, "arrival_h": round(float(loaded.lead_time_h[s] + loaded.hours[s, p]), 6),
                       "km": round(float(loaded.km[s, p]), 6)})
    return result


def _unmet(problem: dict, lines: list[dict]) -> list[dict]:
    delivered = defaultdict(int)
    for line in lines:
        delivered[(line["point"], line["material"])] += line["quantity"]
    unmet = []
    for point in problem["points"]:
        for demand in point["demands"]:
            short = demand["quantity"] - delivered[(point["id"], demand["material"])]
            if short > 0:
                unmet.append({"point": point["id"], "material": demand["material"], "quantity": short})
    return sorted(unmet, key=lambda u: (u["point"], u["material"]))


def _save(user, incident, problem, index: Index, lines, unmet, method, options, metrics, based_on=None) -> PlanVersion:
    checked = check_plan(problem, {"lines": lines, "unmet": unmet})
    if not checked.ok:
        raise Invalid(_("The plan breaks a constraint; nothing was saved."), errors={"plan": checked.errors[:20]})
    previous = db.session.scalar(select(func.max(PlanVersion.version)).where(PlanVersion.incident_id == incident.id))
    version = PlanVersion(incident_id=incident.id, version=(previous or 0) + 1, status=PlanStatus.DRAFT, method=method,
                          options=options or None, problem=problem, metrics=metrics or checked.metrics,
                          author_id=user.id, based_on_id=based_on.id if based_on else None,
                          unmet=[{**u, **_point_facts(index, u["point"]), "material_id": int(u["material"]),
                                  "demand_id": index.demands.get((index.points[u["point"]][0], int(u["material"])))}
                                 for u in unmet])
    db.session.add(version)
    db.session.flush()
    db.session.add_all([_line(version, index, line) for line in lines if line["quantity"] > 0])
    db.session.flush()
    _supersede_drafts(incident.id, version.id)
    return version


def _point_facts(index: Index, key: str) -> dict:
    point_id, weight = index.points[key]
    return {"point_id": point_id, "weight": weight}


def _line(version, index: Index, line: dict) -> PlanLine:
    source = index.sources[line["source"]]
    point_id, _weight_ = index.points[line["point"]]
    material_id = int(line["material"])
    return PlanLine(plan_id=version.id, source_key=line["source"], source_kind=source["kind"],
                    depot_id=source["depot_id"], agency_id=source["agency_id"], offer_id=source["offer_id"],
                    point_id=point_id, demand_id=index.demands.get((point_id, material_id)), material_id=material_id,
                    quantity=int(line["quantity"]), arrival_h=float(line["arrival_h"]),
                    lead_time_h=float(source["lead_time_h"]), km=float(line["km"]),
                    weight_t=round(int(line["quantity"]) * index.weights.get(material_id, 0), 3),
                    edited=bool(line.get("edited")))


def _supersede_drafts(incident_id: int, keep_id: int) -> None:
    for draft in db.session.execute(select(PlanVersion).where(PlanVersion.incident_id == incident_id,
                                                              PlanVersion.status == PlanStatus.DRAFT,
                                                              PlanVersion.id != keep_id)).scalars():
        draft.status = PlanStatus.SUPERSEDED


def index_from_problem(problem: dict, version: PlanVersion) -> Index:
    """Rebuild the id mapping of a stored version (for edits of its lines)."""
    index = Index()
    for line in version.lines:
        index.sources[line.source_key] = {"kind": line.source_kind, "depot_id": line.depot_id,
                                          "agency_id": line.agency_id, "offer_id": line.offer_id,
                                          "lead_time_h": line.lead_time_h}
    for source in problem["sources"]:
        if source["id"] not in index.sources:
            depot = int(source["id"][1:].split("-")[0]) if source["id"].startswith("D") else None
            kind = "supplier" if source["id"].startswith("S") else \
                {"A": "agreement", "C": "capacity"}.get(source["id"].split("-")[1][0], PHYSICAL) \
                if "-" in source["id"] else PHYSICAL
            agency = db.session.scalar(select(Depot.agency_id).where(Depot.id == depot)) if depot else None
            index.sources[source["id"]] = {"kind": kind, "depot_id": depot, "agency_id": agency,
                                           "offer_id": int(source["id"][1:]) if kind == "supplier" else None,
                                           "lead_time_h": source.get("lead_time_h", 0)}
    for point in problem["points"]:
        point_id, weight = point["id"][1:].split("-")
        index.points[point["id"]] = (int(point_id), int(weight))
    for demand in db.session.execute(select(Demand).where(Demand.incident_id == version.incident_id,
                                                          Demand.status == DemandStatus.ACTIVE)).scalars():
        index.demands[(demand.point_id, demand.material_id)] = demand.id
    for material in problem["materials"]:
        index.weights[int(material["id"])] = material["unit_weight_t"]
    return index


def get_plan(user, plan_id: int) -> PlanVersion:
    version = db.session.get(PlanVersion, plan_id)
    if version is None:
        raise NotFound(_("Plan %(id)s not found.", id=plan_id))
    get_incident(user, version.incident_id)
    return version


def edit_plan(user, plan_id: int, changes: list[dict]) -> PlanVersion:
    """A new draft version with some lines' quantities changed by hand (0 removes a line),
    validated against the base version's problem with check_plan (422 naming what breaks)."""
    require_command(user)
    base = get_plan(user, plan_id)
    if base.status not in (PlanStatus.DRAFT, PlanStatus.APPROVED):
        raise Conflict(_("Only the current draft or an approved plan can be edited into a new version."))
    wanted = {int(c["line_id"]): int(c["quantity"]) for c in changes}
    known = {line.id for line in base.lines}
    if set(wanted) - known or any(quantity_problem(q) for q in wanted.values()):
        raise Invalid(_("Edits name lines of this plan with whole quantities, zero or more."),
                      errors={"changes": sorted(set(wanted) - known)})
    problem = base.problem
    lines = []
    for line in base.lines:
        quantity = wanted.get(line.id, line.quantity)
        point_key = next(p["id"] for p in problem["points"] if p["id"].startswith(f"P{line.point_id}-") and
                         any(d["material"] == str(line.material_id) for d in p["demands"]))
        lines.append({"source": line.source_key, "point": point_key, "material": str(line.material_id),
                      "quantity": quantity, "arrival_h": line.arrival_h, "km": line.km,
                      "edited": line.id in wanted or line.edited})
    index = index_from_problem(problem, base)
    version = _save(user, base.incident, problem, index, [line for line in lines if line["quantity"] > 0],
                    _unmet(problem, lines), "manual", base.options, None, based_on=base)
    db.session.commit()
    return version


def compare(user, plan_id: int, other_id: int | None = None) -> dict:
    """Lines added, removed and changed, and metric differences, against another version
    (default: the one before it)."""
    plan = get_plan(user, plan_id)
    other = get_plan(user, other_id) if other_id else db.session.execute(
        select(PlanVersion).where(PlanVersion.incident_id == plan.incident_id, PlanVersion.version < plan.version)
        .order_by(PlanVersion.version.desc()).limit(1)).scalar_one_or_none()
    if other is None:
        return {"other": None, "added": [], "removed": [], "changed": [], "metrics": {}}

    def keyed(version):  # only the lines the caller may read, as on the plan itself
        return {(line.source_key, line.point_id, line.material_id): line for line in visible_lines(user, version)}

    mine, theirs = keyed(plan), keyed(other)
    describe = lambda line: {"source": line.source_key, "depot": line.depot.name if line.depot else line.source_key,  # noqa: E731
                             "point": line.point.name, "material": line.material.name, "quantity": line.quantity}
    metrics = {k: round((plan.metrics or {}).get(k, 0) - (other.metrics or {}).get(k, 0), 6)
               for k in ("weighted_unmet", "unmet_t", "fill_rate_min", "fill_rate_mean", "jain", "tonne_km")
               if k in (plan.metrics or {})}
    return {"other": other.version,
            "added": [describe(mine[k]) for k in sorted(set(mine) - set(theirs))],
            "removed": [describe(theirs[k]) for k in sorted(set(theirs) - set(mine))],
            "changed": [{**describe(mine[k]), "before": theirs[k].quantity} for k in sorted(set(mine) & set(theirs))
                        if mine[k].quantity != theirs[k].quantity],
            "metrics": metrics}


def list_plans(user, incident_id: int) -> list[PlanVersion]:
    get_incident(user, incident_id)
    return db.session.execute(select(PlanVersion).where(PlanVersion.incident_id == incident_id)
                              .order_by(PlanVersion.version.desc())).scalars().all()


def source_names(lines) -> dict[str, str]:
    """source key -> what people call the source: a depot by name, its agreement or capacity
    reserve said so; a supplier by its enterprise's name."""
    from public_site.models import Supplier, SupplierOffer
    from reserve.models import LABELS

    offers = {line.offer_id for line in lines if line.offer_id is not None}
    suppliers = dict(db.session.execute(select(SupplierOffer.id, Supplier.name).join(
        Supplier, Supplier.id == SupplierOffer.supplier_id).where(SupplierOffer.id.in_(offers)))) if offers else {}
    names = {}
    for line in lines:
        if line.depot is not None:
            kind = LABELS["reserve_type"].get(line.source_kind)
            names[line.source_key] = line.depot.name if line.source_kind == "physical" or kind is None \
                else f"{line.depot.name}（{kind}）"
        else:
            names[line.source_key] = suppliers.get(line.offer_id) or _("Supplier")
    return names


def visible_lines(user, version: PlanVersion) -> list[PlanLine]:
    """Command staff and administrators see every line; an agency's operators only the lines
    its subtree supplies (the public summary is separate)."""
    from core.policy import is_in_subtree, sees_whole_plans

    from reserve.services.access import agency_path

    if sees_whole_plans(user):
        return list(version.lines)
    mine = getattr(getattr(user, "agency", None), "path", None)
    paths = {}
    visible = []
    for line in version.lines:
        if line.agency_id is None:
            continue
        paths.setdefault(line.agency_id, agency_path(line.agency_id))
        if is_in_subtree(paths[line.agency_id], mine):
            visible.append(line)
    return visible


# --- large problems in the background (core/background.py runs them in the worker) ---------------

def estimated_arcs(problem: dict) -> int:
    return len(problem["sources"]) * sum(len(p["demands"]) for p in problem["points"])


def plan_in_background(user, incident_id: int, options: dict | None = None, greedy: bool = False):
    """Queue a planning job for the worker (`flask worker run`); poll it at /plan-jobs/{id}.
    Used for problems above DISPATCH_BACKGROUND_ARCS, or when asked."""
    from core import background

    require_command(user)
    incident = get_incident(user, incident_id)
    if incident.status == IncidentStatus.CLOSED:
        raise Conflict(_("The incident is closed."))
    return background.enqueue(user, "plan", subject=("incident", incident.id),
                              params={"options": options or {}, "greedy": bool(greedy)})


def plan_or_queue(user, incident_id: int, *, options: dict, greedy: bool = False, background: bool | None = None):
    """Plan now (a new draft version, returned) or, for a problem above DISPATCH_BACKGROUND_ARCS
    or when `background` is asked, queue a job for the worker (the job, returned)."""
    if background is None:
        problem, _index = build_problem(user, get_incident(user, incident_id), options)
        background = estimated_arcs(problem) > current_app.config["DISPATCH_BACKGROUND_ARCS"]
        db.session.rollback()  # only read: end the transaction before planning or queueing
    if background:
        return plan_in_background(user, incident_id, options, greedy=greedy)
    return plan_incident(user, incident_id, options=options, greedy=greedy)


def plan_job_to_show(user, incident_id: int, job_id: int | None = None):
    """The planning job the board shows: the one named (its outcome), else the incident's
    newest unfinished one; None for users who may not see planning jobs."""
    from core import background
    from core.auth import ADMIN, COMMANDER

    if not getattr(user, "role_names", set()) & {COMMANDER, ADMIN}:
        return None
    stmt = select(background.BackgroundJob).where(background.BackgroundJob.kind == "plan",
                                                  background.BackgroundJob.subject_kind == "incident",
                                                  background.BackgroundJob.subject_id == incident_id)
    if job_id is not None:
        return db.session.execute(stmt.where(background.BackgroundJob.id == job_id)).scalar_one_or_none()
    return db.session.execute(stmt.where(background.BackgroundJob.status.in_(background.ACTIVE))
                              .order_by(background.BackgroundJob.id.desc()).limit(1)).scalar_one_or_none()


def check_plan_job(user, job) -> None:
    """Who may see a planning job: who may plan its incident (command staff, administrators)."""
    require_command(user)
    get_incident(user, job.subject_id)


def run_plan_job(context) -> None:
    """The worker's handler: plan as the user who asked. The read transaction ends before each
    progress report; the version and the job's `done` are written in one transaction."""

    def report(percent, step):
        db.session.commit()  # nothing is written yet: end the read (SQLite: its lock) before reporting
        context.progress(percent, step)

    user = context.user()
    report(10, _("Building the problem from live stock"))
    version = _plan(user, context.subject_id, options=context.params.get("options"),
                    greedy=bool(context.params.get("greedy")), report=report)
    context.checkpoint("plan-saved")
    context.finish({"plan_id": version.id})
    db.session.commit()
