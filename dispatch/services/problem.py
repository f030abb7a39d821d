"""The planner's problem from live stock: the incident's active demands, the stock the user may
draw on, registered transport and approved supplier offers, with an `Index` saying what each of
the planner's ids means in the database.

Sources (docs/dispatch.md):
- `D<depot>`: a depot's physical stock (available = on hand − reserved; expired lots and closed
  depots left out), lead time 0;
- `D<depot>-A<h>` / `D<depot>-C<h>`: its agreement / production-capacity reserves with lead
  time h hours (capacity: what units_per_day produce before the latest deadline; expired
  contracts left out);
- `S<offer>`: an approved supplier's offer from the public portal, at its region's centre;
- `B<offer>`: an offer accepted against one of this incident's calls for supply (供需发布), what
  was accepted and not yet received, at its "from" region's centre with its lead time.
A re-plan (`replan.py`) passes the agencies' positions as options: `bounds` (source, material,
at most units; 0 leaves the source out for that material) and `lead` (source, at least hours).
An enterprise on the dishonest-entity list today (reserve/credit) supplies nothing: its offers
and its agreement/capacity reserves are left out, named with the listing (`index.left_out`),
and so are the offers of an enterprise the daily credit check suspended.
Transport capacity of a depot: its available vehicles (count × payload), plus an equal share of
its agency's vehicles registered without a depot; DISPATCH_DEFAULT_CAPACITY_T when it has none.
Points: one per demand point and combined weight ⌈severity × priority / 3⌉ (1..3); materials
carry the criticality of their class (rules.criticality).

The planner (dispatch/planning/) takes string ids. They are written here only, by `source_ident`,
`point_ident` and `material_ident`, and mapped back through the `Index`, never by reading the string.
Saved versions keep the problem with these ids: `stored_point` and `stored_material` are the one
decoder, for editing a version saved earlier (the format has not changed since the first one).
"""

import math
from collections import defaultdict
from typing import NamedTuple

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from core.errors import Invalid
from core.extensions import db
from core.organisation import Region
from core.timeutil import local_today, utcnow
from reserve.credit import checks as credit_checks
from reserve.models import Material, ReserveType, TransportCapacity
from reserve.rules import MAX_QUANTITY, LotSupply, available_within, quantity_problem
from reserve.stock import availability

from .. import rules
from ..models import Demand
from ..statuses import DemandStatus

PHYSICAL = ReserveType.PHYSICAL.value
SUPPLIER = "supplier"  # the kind of a source that is a supplier's offer, beside the reserve types
CREDIT_LISTED = "credit_listed"  # left out: the enterprise is on the dishonest-entity list today
CREDIT_SUSPENDED = "credit_suspended"  # left out: the daily credit check suspended the enterprise
CALL_OFFER = "call_offer"  # an offer accepted against a call for supply of this incident


class SourceKey(NamedTuple):
    """A planner source in database terms (what a plan line records about where it comes from)."""

    kind: str  # a reserve type (physical, agreement, capacity), SUPPLIER or CALL_OFFER
    depot_id: int | None  # None for a supplier
    agency_id: int | None  # the depot's agency; None for a supplier
    offer_id: int | None  # the supplier's offer (or accepted board offer); None for a depot
    lead_time_h: float


class PointKey(NamedTuple):
    """A planner point: one demand point at one combined weight."""

    point_id: int
    weight: int  # 1..3, ⌈severity × priority / 3⌉


def source_ident(key: SourceKey) -> str:
    if key.kind == CALL_OFFER:
        return f"B{key.offer_id}"
    if key.offer_id is not None:
        return f"S{key.offer_id}"
    if key.kind == PHYSICAL:
        return f"D{key.depot_id}"
    return f"D{key.depot_id}-{key.kind[0].upper()}{int(key.lead_time_h)}"


def point_ident(key: PointKey) -> str:
    return f"P{key.point_id}-{key.weight}"


def material_ident(material: int) -> str:
    return str(material)


def stored_point(ident: str) -> PointKey:
    """The point of a saved version's problem (written by `point_ident`)."""
    point, weight = ident[1:].split("-")
    return PointKey(int(point), int(weight))


def stored_material(ident: str) -> int:
    """The material of a saved version's problem (written by `material_ident`)."""
    return int(ident)


class Index:
    """What each planner id means in the database."""

    def __init__(self):
        self.sources: dict[str, SourceKey] = {}
        self.points: dict[str, PointKey] = {}
        self.materials: dict[str, int] = {}  # planner material -> material id
        self.demands: dict[tuple[int, int], int] = {}  # (point id, material id) -> demand id
        self.weights: dict[int, float] = {}  # material id -> t per unit
        self.left_out: list[dict] = []  # rows not planned with, and why (shown with the plan)

    def add_source(self, key: SourceKey) -> str:
        ident = source_ident(key)
        self.sources[ident] = key
        return ident

    def add_point(self, key: PointKey) -> str:
        ident = point_ident(key)
        self.points[ident] = key
        return ident

    def add_material(self, material: int) -> str:
        ident = material_ident(material)
        self.materials[ident] = material
        return ident

    def leave_out(self, kind: str, row_id, quantity, why: str, detail: str = "") -> None:
        """A row the planner cannot take (a quantity outside 0..MAX_QUANTITY, e.g. written
        before the bound existed; an enterprise on the credit list) is left out and named in
        the plan, never fails the plan. `why` is a reason key (dispatch/views.py shows it in
        words); `detail` the words of a credit listing, already translated."""
        row = {"kind": kind, "id": row_id, "quantity": str(quantity), "why": why}
        self.left_out.append(row | ({"detail": detail} if detail else {}))


def _weight(severity: int, priority: int) -> int:
    return max(1, min(3, math.ceil(severity * priority / 3)))


def build_problem(user, incident, options: dict | None = None, now=None) -> tuple[dict, Index]:
    options = options or {}
    now = now or utcnow()
    demands = (
        db.session.execute(
            select(Demand).where(
                Demand.incident_id == incident.id, Demand.status == DemandStatus.ACTIVE
            )
        )
        .scalars()
        .all()
    )
    if not demands:
        raise Invalid(_("The incident has no active demand to plan for."))
    index = Index()
    material_ids = sorted({d.material_id for d in demands})
    materials = {
        m.id: m
        for m in db.session.execute(select(Material).where(Material.id.in_(material_ids))).scalars()
    }
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
        weight = _weight(point.severity, demand.priority)
        key = index.add_point(PointKey(point.id, weight))
        index.demands[(point.id, demand.material_id)] = demand.id
        points[key] = {"id": key, "lat": point.lat, "lon": point.lon, "severity": weight}
        by_point[key].append(
            {
                "material": index.add_material(demand.material_id),
                "quantity": demand.quantity,
                "needed_within_h": round(hours, 3),
            }
        )
    if not by_point:
        raise Invalid(
            _(
                "No active demand of the incident can be planned: every one has a quantity outside 1 to "
                "%(max)s units.",
                max=f"{MAX_QUANTITY:,}",
            ),
            errors={"demands": index.left_out[:50]},
        )
    for material in materials.values():
        index.weights[material.id] = (material.unit_weight_kg or 0) / 1000.0
    sources = (
        _stock_sources(user, material_ids, horizon, index)
        + _supplier_sources(material_ids, horizon, index)
        + _call_offer_sources(incident, material_ids, index)
    )
    excluded = set(options.get("exclude") or [])
    sources = _with_positions(
        [s for s in sources if s["id"] not in excluded], options, index, materials
    )
    config = current_app.config
    problem = {
        "materials": [
            {
                "id": index.add_material(m.id),
                "unit_weight_t": index.weights[m.id],
                "unit_volume_m3": m.unit_volume_m3 or 0,
                "criticality": rules.criticality(m.category_code),
            }
            for m in materials.values()
        ],
        "sources": sources,
        "points": [{**points[k], "demands": by_point[k]} for k in sorted(points)],
        "speed_kmh": config["DISPATCH_SPEED_KMH"],
        "road_factor": config["DISPATCH_ROAD_FACTOR"],
        "handling_h": config["DISPATCH_HANDLING_H"],
        "policy": {
            "order": list(config["DISPATCH_POLICY_ORDER"]),
            "equity_tolerance": config["DISPATCH_EQUITY_TOLERANCE"],
        },
    }
    return problem, index


def _depot_capacity(depot_ids: set[int], agency_of: dict[int, int]) -> dict[int, float]:
    at_depot = defaultdict(float)
    pooled = defaultdict(float)
    for depot_id, agency_id, tonnes in db.session.execute(
        select(
            TransportCapacity.depot_id,
            TransportCapacity.agency_id,
            func.sum(TransportCapacity.count * TransportCapacity.payload_t),
        )
        .where(
            TransportCapacity.available.is_(True),
            TransportCapacity.agency_id.in_(set(agency_of.values())),
        )
        .group_by(TransportCapacity.depot_id, TransportCapacity.agency_id)
    ):
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
    lots = list(availability.drawable_lots(user, material_ids, today))
    listed = credit_checks.restrictions(
        {lot.enterprise_credit_code for lot in lots if lot.reserve_type != PHYSICAL}, today
    )
    for lot in lots:
        available = lot.available
        if lot.reserve_type != PHYSICAL and (entry := listed.get(lot.enterprise_credit_code)):
            index.leave_out("lot", lot.lot_id, available, CREDIT_LISTED, _listing(entry))
            continue
        if quantity_problem(available) or (
            lot.units_per_day is not None and quantity_problem(lot.units_per_day)
        ):
            index.leave_out("lot", lot.lot_id, available, "quantity out of range")
            continue
        if lot.lat is None:
            continue  # a depot without a location cannot be routed
        physical = lot.reserve_type == PHYSICAL
        lead = 0.0 if physical else float(lot.lead_time_h or 0)
        units = (
            int(available)
            if physical
            else available_within(
                LotSupply(
                    lot.reserve_type, int(available), lead, lot.units_per_day, lot.contract_valid_to
                ),
                horizon[lot.material_id],
                today,
            )
        )
        if units <= 0:
            continue
        key = index.add_source(SourceKey(lot.reserve_type, lot.depot_id, lot.agency_id, None, lead))
        source = sources.setdefault(
            key,
            {
                "id": key,
                "lat": lot.lat,
                "lon": lot.lon,
                "lead_time_h": lead,
                "transport_capacity_t": 0.0,
                "stock": {},
            },
        )
        material = index.add_material(lot.material_id)
        source["stock"][material] = source["stock"].get(material, 0) + units
        agency_of[lot.depot_id] = lot.agency_id
    capacity = _depot_capacity(set(agency_of), agency_of)
    for key, source in sources.items():
        source["transport_capacity_t"] = capacity[index.sources[key].depot_id]
        source["stock"] = {
            material: _capped(index, key, units) for material, units in source["stock"].items()
        }
    return [sources[k] for k in sorted(sources)]


def _capped(index: Index, source: str, units: int) -> int:
    """A source offers at most MAX_QUANTITY units of a material to one plan (a depot whose lots
    together hold more, a supplier producing more by the deadline); the plan says so."""
    if units > MAX_QUANTITY:
        index.leave_out(
            "source",
            source,
            units,
            "above the quantity bound: planned with its first MAX_QUANTITY units",
        )
        return MAX_QUANTITY
    return units


def _listing(entry) -> str:
    return f"{entry.name}（{entry.credit_code}）{credit_checks.describe(entry)}"


def _credit_refusal(offer: dict, listed: dict) -> tuple[str, str] | None:
    """(reason key, words) when the offer's enterprise may not supply, else None."""
    if entry := listed.get(offer["credit_code"]):
        return CREDIT_LISTED, _listing(entry)
    if offer["suspended_reason"]:
        return CREDIT_SUSPENDED, f"{offer['supplier_name']}：{offer['suspended_reason']}"
    return None


def _supplier_sources(material_ids, horizon, index: Index) -> list[dict]:
    from public_site.services.suppliers import approved_offers

    sources = []
    offers = approved_offers(material_ids=material_ids, include_suspended=True)
    listed = credit_checks.restrictions({o["credit_code"] for o in offers}, local_today())
    for offer in offers:
        if refusal := _credit_refusal(offer, listed):
            ident = source_ident(SourceKey(SUPPLIER, None, None, offer["offer_id"], 0.0))
            index.leave_out("source", ident, offer["quantity_in_stock"], *refusal)
            continue
        region = (
            db.session.get(Region, (offer["service_regions"] or [""])[0])
            if offer["service_regions"]
            else None
        )
        if region is None or region.lat is None:
            continue
        lead = float(offer["lead_time_h"] or 0)
        produced = int(
            (offer["capacity_per_day"] or 0) * max(horizon[offer["material_id"]] - lead, 0) / 24
        )
        source = SourceKey(SUPPLIER, None, None, offer["offer_id"], lead)
        units = _capped(index, source_ident(source), offer["quantity_in_stock"] + produced)
        if units <= 0:
            continue
        key = index.add_source(source)
        sources.append(
            {
                "id": key,
                "lat": region.lat,
                "lon": region.lon,
                "lead_time_h": lead,
                "transport_capacity_t": current_app.config["DISPATCH_SUPPLIER_CAPACITY_T"],
                "stock": {index.add_material(offer["material_id"]): units},
            }
        )
    return sources


def _call_offer_sources(incident, material_ids, index: Index) -> list[dict]:
    """Offers accepted against this incident's calls for supply, what is not yet received."""
    from public_site.services.board import accepted_offers

    from ..supply_models import SupplyCall

    demand_ids = db.session.scalars(
        select(SupplyCall.board_demand_id).where(
            SupplyCall.incident_id == incident.id, SupplyCall.board_demand_id.is_not(None)
        )
    ).all()
    sources = []
    offers = accepted_offers(demand_ids, material_ids)
    listed = credit_checks.restrictions({o["credit_code"] for o in offers} - {None}, local_today())
    for offer in offers:
        if refusal := _credit_refusal(offer, listed):
            ident = source_ident(SourceKey(CALL_OFFER, None, None, offer["offer_id"], 0.0))
            index.leave_out("source", ident, offer["open_quantity"], *refusal)
            continue
        region = db.session.get(Region, offer["from_region_code"] or "")
        if region is None or region.lat is None or offer["open_quantity"] <= 0:
            continue
        lead = float(offer["lead_time_h"] or 0)
        key = index.add_source(SourceKey(CALL_OFFER, None, None, offer["offer_id"], lead))
        sources.append(
            {
                "id": key,
                "lat": region.lat,
                "lon": region.lon,
                "lead_time_h": lead,
                "transport_capacity_t": current_app.config["DISPATCH_SUPPLIER_CAPACITY_T"],
                "stock": {
                    index.add_material(offer["material_id"]): min(
                        offer["open_quantity"], MAX_QUANTITY
                    )
                },
            }
        )
    return sources


def _with_positions(sources: list[dict], options: dict, index: Index, materials) -> list[dict]:
    """The agencies' positions as a re-plan passes them: `bounds` [{source, material (id), at_most}]
    cap a source's units of a material (0 leaves it out for that material); `lead` [{source,
    hours}] makes a source's lead time at least `hours` (available later). Sources are matched
    by the ids this module wrote, never read back."""
    bounds = {
        (b["source"], material_ident(int(b["material"]))): int(b["at_most"])
        for b in options.get("bounds") or []
        if int(b["material"]) in materials
    }
    leads = {}
    for lead in options.get("lead") or []:
        leads[lead["source"]] = max(leads.get(lead["source"], 0.0), float(lead["hours"]))
    kept = []
    for source in sources:
        stock = {
            material: min(units, bounds.get((source["id"], material), units))
            for material, units in source["stock"].items()
        }
        stock = {material: units for material, units in stock.items() if units > 0}
        if not stock:
            continue
        if leads.get(source["id"], 0.0) > source["lead_time_h"]:
            source = {**source, "lead_time_h": leads[source["id"]]}
            index.sources[source["id"]] = index.sources[source["id"]]._replace(
                lead_time_h=source["lead_time_h"]
            )
        kept.append({**source, "stock": stock})
    return kept


def stock_sources_within(user, material_ids, hours: float) -> tuple[list[dict], dict[int, int]]:
    """The stock sources `user` may draw on for these materials, each with what arrives within
    `hours` (readiness: every demand due at one window), marked with its `depot_id` and `kind`;
    and the agency of each depot with stock. Reads only."""
    index = Index()
    sources = _stock_sources(user, material_ids, {m: hours for m in material_ids}, index)
    agency_of = {}
    for source in sources:
        key = index.sources[source["id"]]
        source["depot_id"], source["kind"] = key.depot_id, key.kind
        agency_of[key.depot_id] = key.agency_id
    return sources, agency_of


def depot_capacities(depot_ids: set[int], agency_of: dict[int, int]) -> dict[int, float]:
    """The transport capacity (t) each of these depots plans with when these are the depots with
    stock (an agency's vehicles without a depot are shared among them): as in `build_problem`."""
    return _depot_capacity(depot_ids, agency_of)
