"""The demo's wartime story: a finished drill with its after-action report, and one open
incident whose plan waits for a second commander's approval, its largest shortage published as
a call for supply (供需发布) with an enterprise's offer waiting.

Built through the services, as people would: the administrator records, plans and writes
the drill's after-action figures; the commander approves (four eyes); the supplying agencies'
shipments go ready → departed → arrived → received. A drill moves no real stock. Demands come
from the plans' relief standards (reserve/demo.py), so a point of 1,800 people asks for 180
tents and 540 quilts, not 4.
"""

from datetime import timedelta

from sqlalchemy import func, select

from core.auth import User
from core.extensions import db
from core.timeutil import utcnow
from reserve.models import EmergencyPlan

from .models import Incident, ShipmentStatus
from .services import (
    after_action,
    approval,
    incidents,
    loads,
    planning,
    shipments,
    supply_calls,
    trips,
    versions,
)

DRILL_POINTS = [
    ("小店区体育馆安置点", 37.7396, 112.5651, "140105", 1800, 3),
    ("晋源区晋祠镇中学安置点", 37.7097, 112.4719, "140110", 1200, 2),
]
OPEN_POINTS = [
    ("阳曲县黄寨镇安置点", 38.0619, 112.6733, "140122", 2500, 3),
    ("阳曲县东黄水镇安置点", 38.0925, 112.8172, "140122", 900, 2),
]


def is_empty() -> bool:
    return not db.session.scalar(select(func.count(Incident.id)))


def build_dispatch_demo(
    author_email: str = "admin@example.org", approver_email: str = "commander@example.org"
) -> dict:
    """Load the two incidents; the demo accounts and the reserve demo must exist."""
    author, approver = (
        db.session.execute(select(User).filter_by(email=e)).scalar_one()
        for e in (author_email, approver_email)
    )
    plans = {p.name: p.id for p in db.session.execute(select(EmergencyPlan)).scalars()}
    drill = _drill(author, approver, plans.get("太原市地震应急预案（Ⅱ级响应）"))
    incident = _open_incident(author, plans.get("山西省自然灾害救助应急预案（Ⅰ级响应）"))
    call = _call_for_supply(author, approver, incident)
    return {
        "drill": drill.number,
        "open incident": incident.number,
        "call for supply": call.title if call else "none (nothing unmet)",
    }


QUILTS_SHORT = 3000  # what the colder night leaves unmet: the province's quilts all go first


def _colder_night(author, incident) -> None:
    """The cold deepens: the first point's quilts are revised to every quilt a plan could draw
    on and 3,000 more, before the incident is planned (its one draft then has a shortage)."""
    from reserve.models import Material

    from .models import Demand
    from .services.problem import build_problem, material_ident

    quilt = db.session.execute(select(Material).filter_by(name="棉被")).scalars().first()
    demand = (
        db.session.execute(
            select(Demand)
            .filter_by(incident_id=incident.id, material_id=quilt.id, status="active")
            .order_by(Demand.id)
        )
        .scalars()
        .first()
        if quilt
        else None
    )
    if demand is None:
        return
    problem, _ = build_problem(author, incident)
    drawable = sum(s["stock"].get(material_ident(quilt.id), 0) for s in problem["sources"])
    incidents.revise_demand(
        author, demand.id, quantity=drawable + QUILTS_SHORT, reason="寒潮加剧，转移安置人数增加"
    )


def _call_for_supply(author, approver, incident):
    """供需发布: the open incident's largest unmet line becomes a call (drafted by the author,
    approved by the commander: four eyes), published on the portal; the demo enterprise
    (supplier@example.org, approved) offers part of it. Accepting it and re-planning is left to
    the visitor (the command board's 供需发布 section)."""
    from public_site.services import board

    plan = next(p for p in versions.list_plans(author, incident.id) if p.status == "draft")
    if not plan.unmet:
        return None
    largest = max(plan.unmet, key=lambda u: u["quantity"])
    call = supply_calls.draft_call(
        author,
        plan.id,
        point_id=largest["point_id"],
        material_id=largest["material_id"],
        deadline=utcnow() + timedelta(days=3),
    )
    supply_calls.approve_call(approver, call.id)
    enterprise = db.session.execute(
        select(User).filter_by(email="supplier@example.org")
    ).scalar_one_or_none()
    if enterprise is not None and board.call_offer_obstacle(enterprise, call.board_demand) is None:
        board.answer_call(
            enterprise,
            call.board_demand_id,
            quantity=max(1, min(call.quantity, 3000) // 2),
            lead_time_h=12,
            from_region_code="140100",
            price_yuan=180.0,
            note="厂区现货，可连夜装车",
        )
    return call


def _with_points(author, incident, points) -> None:
    needed_by = utcnow() + timedelta(hours=24)
    for name, lat, lon, region, population, severity in points:
        point = incidents.add_point(
            author,
            incident.id,
            name=name,
            lat=lat,
            lon=lon,
            region_code=region,
            population=population,
            severity=severity,
        )
        for suggestion in incidents.suggest_demands(author, incident.id, point.id):
            incidents.add_demand(
                author,
                incident.id,
                point_id=point.id,
                material_id=suggestion["material_id"],
                quantity=suggestion["quantity"],
                needed_by=needed_by,
                priority=suggestion["priority"],
            )


def _drill(author, approver, plan_id) -> Incident:
    drill = incidents.create_incident(
        author,
        title="太原市地震应急演练",
        incident_type="natural_disaster",
        subtype="earthquake",
        level="II",
        region_code="140100",
        drill=True,
        plan_id=plan_id,
        started_at=utcnow() - timedelta(days=2),
        description="年度综合演练：小店区、晋源区两处安置点的物资保障。",
    )
    incidents.move_incident(author, drill.id, "responding")
    _with_points(author, drill, DRILL_POINTS)
    plan = planning.plan_incident(author, drill.id)
    approval.approve(approver, plan.id)
    _load_and_drive(approver, plan, drill)
    for shipment in shipments.list_shipments(approver, drill.id):
        if shipment.status == ShipmentStatus.READY:  # lines no vehicle of ours carried
            for status in ("departed", "arrived"):
                shipments.advance(approver, shipment.id, status)
            shipments.advance(
                approver, shipment.id, "received", quantity_received=shipment.quantity
            )
        point_id = shipment.line.point_id
        used = shipment.quantity * 4 // 5  # a fifth goes back to its depot after the drill
        after_action.record_consumption(
            author,
            drill.id,
            point_id=point_id,
            material_id=shipment.line.material_id,
            quantity=used,
            note="演练中发放",
        )
        if shipment.line.depot_id and shipment.quantity - used:
            after_action.record_return(
                author,
                drill.id,
                depot_id=shipment.line.depot_id,
                material_id=shipment.line.material_id,
                quantity=shipment.quantity - used,
                note="演练结束后归还",
            )
    incidents.move_incident(author, drill.id, "recovery")
    return incidents.move_incident(author, drill.id, "closed")


CREWS = [("晋AD{n:04d}", "王建国", "13903510001"), ("晋AD{n:04d}", "李卫东", "13903510002")]


def _load_and_drive(commander, plan, incident) -> None:
    """The drill's 装车方案: routed onto the depots' vehicles, adopted, each trip crewed,
    departed and received stop by stop (a drill moves no stock)."""
    route_plan = loads.route_or_queue(commander, plan.id)
    if not trips.can_adopt(commander, route_plan):
        return
    trips.adopt(commander, route_plan.id)
    for n, trip in enumerate(trips.visible_trips(commander, incident.id), start=1):
        plate, driver, phone = CREWS[n % len(CREWS)]
        trips.set_crew(
            commander,
            trip.id,
            plate=plate.format(n=n),
            driver=driver,
            phone=phone[:-1] + str(n % 10),
        )
        trips.depart(commander, trip.id)
        for stop in trip.stops:
            trips.receive_stop(commander, stop.id, {})


def _open_incident(author, plan_id) -> Incident:
    incident = incidents.create_incident(
        author,
        title="阳曲县暴雨洪涝灾害",
        incident_type="natural_disaster",
        subtype="flood",
        level="III",
        region_code="140122",
        plan_id=plan_id,
        started_at=utcnow() - timedelta(hours=6),
        description="连续强降雨致两镇多村受淹，需紧急转移安置群众约3400人。",
    )
    incidents.move_incident(author, incident.id, "responding")
    _with_points(author, incident, OPEN_POINTS)
    _colder_night(author, incident)
    planning.plan_incident(author, incident.id)  # a draft: the commander approves it (four eyes)
    return incident
