"""What people read of a 装车方案: the board's section (versions, routes or trips with names,
local times, late and unassigned flags, what the user may do) and a trip's waybill (运单).
Names, never ids; times are stored naive UTC and shown local by the templates."""

from datetime import timedelta

from core.extensions import db
from core.policy import may_command_incidents, sees_whole_plans
from reserve.stock.queries import lot_numbers

from ..models import Demand, RoutePlan
from ..statuses import RoutePlanStatus
from . import trips as trip_service
from .loads import list_route_plans
from .road_times import place_names


def _names(problem: dict, lines) -> dict:
    """Names of the version's places, vehicles' types, and its lines' materials."""
    from reserve.services.transport import vehicle_types

    places = place_names(
        {d["id"] for d in problem["depots"]} | {p["id"] for p in problem["points"]}
    )
    rows = {int(v["id"][1:].split("-")[0]) for v in problem["vehicles"]}
    types = vehicle_types(rows)
    vehicles = {
        v["id"]: f"{types.get(int(v['id'][1:].split('-')[0]), '')} {v['id'].split('-')[1]}号车"
        for v in problem["vehicles"]
    }
    return {"places": places, "vehicles": vehicles, "lines": {line.id: line for line in lines}}


def describe_version(route_plan: RoutePlan, lines) -> dict:
    """A version's routes as the board shows them: vehicle, depot, stops with local arrival
    times and late flags, drops with material names, load and km; unassigned and violations."""
    problem, answer = route_plan.problem, route_plan.routes or {}
    names = _names(problem, lines)
    due = {d["id"]: d["due_h"] for d in problem["deliveries"]}
    routes = []
    for route in answer.get("routes") or []:
        stops = []
        for stop in route["stops"]:
            drops = [
                _drop(names, drop, stop["arrival_h"] > due.get(drop["delivery"], 1e9) + 1e-9)
                for drop in stop["drops"]
            ]
            stops.append(
                {
                    "point": names["places"].get(stop["point"], stop["point"]),
                    "point_key": stop["point"],
                    "arrival": route_plan.time_zero + timedelta(hours=stop["arrival_h"]),
                    "late": any(d["late"] for d in drops),
                    "drops": drops,
                }
            )
        routes.append(
            {
                "vehicle": route["vehicle"],
                "vehicle_name": names["vehicles"].get(route["vehicle"], route["vehicle"]),
                "depot": names["places"].get(route["depot"], route["depot"]),
                "stops": stops,
                "load_t": route.get("load_t", 0),
                "km": route.get("km", 0),
                "pinned": route["vehicle"] in (route_plan.edit or {}).get("pinned", []),
            }
        )
    unassigned = []
    for row in route_plan.unassigned or []:
        line = names["lines"].get(row["line_id"])
        unassigned.append(
            {
                **row,
                "depot": line.depot.name if line is not None and line.depot else "",
                "point": line.point.name if line is not None else "",
                "material": line.material.name if line is not None else "",
                "unit": line.material.unit if line is not None else "",
            }
        )
    used = {r["vehicle"] for r in routes}
    idle = [
        {
            "id": v["id"],
            "name": names["vehicles"][v["id"]],
            "depot": names["places"].get(v["depot"], ""),
        }
        for v in problem["vehicles"]
        if v["id"] not in used
    ]
    excluded = (route_plan.edit or {}).get("excluded", [])
    return {
        "routes": routes,
        "unassigned": unassigned,
        "idle": idle,
        "excluded": excluded,
        "vehicles": names["vehicles"],
    }


def _drop(names: dict, drop: dict, late: bool) -> dict:
    line = names["lines"].get(int(drop["delivery"][1:]))
    return {
        "delivery": drop["delivery"],
        "material": line.material.name if line is not None else drop["delivery"],
        "unit": line.material.unit if line is not None else "",
        "quantity": drop["quantity"],
        "late": late,
    }


def board_section(user, incident, plan) -> dict | None:
    """The 装车方案 section of the command board for the incident's approved `plan`."""
    if plan is None or plan.status != "approved":
        return None
    whole = sees_whole_plans(user)
    versions = list_route_plans(user, plan.id) if whole else []
    shown = next((v for v in versions if v.status == RoutePlanStatus.DRAFT), None) or next(
        (v for v in versions if v.status == RoutePlanStatus.ADOPTED), None
    )
    trips = trip_service.visible_trips(user, incident.id)
    return {
        "versions": versions,
        "shown": shown,
        "described": describe_version(shown, plan.lines) if shown else None,
        "can_route": may_command_incidents(user),
        "can_adopt": bool(shown) and trip_service.can_adopt(user, shown),
        "trips": trips,
        "movable": trip_service.movable(user, trips),
        "late_stops": {s.id for t in trips for s in t.stops if _is_late_stop(s)},
    }


def _is_late_stop(stop) -> bool:
    """A stop arriving (or expected) after the deadline of one of its drops' demands."""
    arrived = stop.received_at or stop.eta
    return any(
        drop.line.demand_id is not None
        and (demand := db.session.get(Demand, drop.line.demand_id)) is not None
        and arrived > demand.needed_by
        for drop in stop.drops
    )


def map_routes(section: dict | None) -> list[dict]:
    """The routes drawn stop by stop on the board's map: trips when there are, else the shown
    version's routes. Labels are plain text (the page puts them in text nodes)."""
    if not section:
        return []
    drawn = []
    for trip in section["trips"]:
        path = [[trip.depot.lat, trip.depot.lon]] + [[s.point.lat, s.point.lon] for s in trip.stops]
        drawn.append(
            {"path": path, "label": f"{trip.number} {trip.vehicle_type} {trip.plate or ''}".strip()}
        )
    if drawn or not section["described"]:
        return [d for d in drawn if None not in d["path"][0]]
    problem = section["shown"].problem
    where = {d["id"]: [d["lat"], d["lon"]] for d in problem["depots"]} | {
        p["id"]: [p["lat"], p["lon"]] for p in problem["points"]
    }
    for route, raw in zip(
        section["described"]["routes"], section["shown"].routes.get("routes") or []
    ):
        path = [where[raw["depot"]]] + [where[s["point"]] for s in raw["stops"]]
        drawn.append({"path": path, "label": f"{route['vehicle_name']}（{route['depot']}）"})
    return drawn


def waybill(user, trip_id: int) -> dict:
    """Everything the printed waybill shows of one trip."""
    trip = trip_service.get_trip(user, trip_id)
    lots = lot_numbers(
        {lot_id for stop in trip.stops for drop in stop.drops for lot_id, _units in drop.lots}
    )
    stops = []
    for stop in trip.stops:
        stops.append(
            {
                "sequence": stop.sequence,
                "point": stop.point.name,
                "eta": stop.eta,
                "status": stop.status,
                "received_at": stop.received_at,
                "drops": [
                    {
                        "material": drop.line.material.name,
                        "spec": drop.line.material.spec,
                        "unit": drop.line.material.unit,
                        "quantity": drop.quantity,
                        "quantity_received": drop.quantity_received,
                        "weight_t": drop.quantity * (drop.line.material.unit_weight_kg or 0) / 1000,
                        "lots": [(lots.get(lot_id, ""), units) for lot_id, units in drop.lots],
                    }
                    for drop in stop.drops
                ],
            }
        )
    return {
        "trip": trip,
        "depot": trip.depot,
        "stops": stops,
        "incident": trip_service.get_incident(user, trip.incident_id),
    }
