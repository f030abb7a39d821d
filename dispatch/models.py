"""Wartime response (专项应急处置): incidents, demand points and demands (versioned), plan
versions with their lines and lot reservations, consultation, shipments, after-action records."""

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from core.extensions import db
from core.timeutil import utcnow
from reserve.models import LABELS as RESERVE_LABELS

from .statuses import (
    IncidentStatus,
    PlanStatus,
    RoutePlanStatus,
    ShipmentStatus,
    StopStatus,
    TripStatus,
)


INCIDENT_STATUSES = tuple(IncidentStatus)
PLAN_STATUSES = tuple(PlanStatus)
SHIPMENT_STATUSES = tuple(ShipmentStatus)
POSITIONS = ("agree", "cannot_supply", "partial", "later")

STATUS_LABELS = {
    "reported": _l("Reported"),
    "responding": _l("Responding"),
    "recovery": _l("Recovery"),
    "closed": _l("Closed"),
}
PLAN_STATUS_LABELS = {
    "draft": _l("Draft"),
    "approved": _l("Approved"),
    "cancelled": _l("Cancelled"),
    "superseded": _l("Superseded"),
}
SHIPMENT_LABELS = {
    "ready": _l("Ready"),
    "departed": _l("Departed"),
    "arrived": _l("Arrived"),
    "received": _l("Received"),
}
METHOD_LABELS = {"planner": _l("optimised"), "greedy": _l("greedy"), "manual": _l("edited by hand")}
LEVEL_LABELS = RESERVE_LABELS["level"]
POSITION_LABELS = {
    "agree": _l("Agree"),
    "cannot_supply": _l("Cannot supply"),
    "partial": _l("Partial"),
    "later": _l("Later"),
}
CALL_STATUS_LABELS = {
    "draft": _l("Awaiting approval"),
    "published": _l("Published on the board"),
    "met": _l("Met"),
    "withdrawn": _l("Withdrawn"),
}
DEMAND_STATUS_LABELS = {"active": _l("In force"), "cancelled": _l("Cancelled")}
RECORD_KIND_LABELS = {
    "returned": _l("Returned"),
    "consumed": _l("Consumed"),
}  # after-action records
MESSAGE_KIND_LABELS = {"message": _l("Message"), "decision": _l("Decision")}
SUBTYPES = {
    "natural_disaster": {
        "earthquake": _l("Earthquake"),
        "flood": _l("Flood"),
        "drought": _l("Drought"),
        "snowstorm": _l("Snow and ice"),
        "geological": _l("Landslide / debris flow"),
        "forest_fire": _l("Forest fire"),
    },
    "accident": {
        "mine": _l("Mine accident"),
        "hazardous_chemicals": _l("Hazardous chemicals"),
        "traffic": _l("Traffic accident"),
        "fire": _l("Building fire"),
    },
    "public_health": {"epidemic": _l("Epidemic"), "food_poisoning": _l("Food poisoning")},
    "social_security": {"mass_event": _l("Mass event"), "terrorism": _l("Terrorist attack")},
}


class Incident(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    incident_type: Mapped[str] = mapped_column(String(20))
    subtype: Mapped[str | None] = mapped_column(String(30))
    level: Mapped[str] = mapped_column(String(3))  # I (most severe) .. IV
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    started_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(12), default="reported", index=True)
    drill: Mapped[bool] = mapped_column(default=False)  # exercises never touch real stock
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("emergency_plan.id"))
    description: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]

    region = relationship("Region", lazy="joined")
    plan = relationship("EmergencyPlan", lazy="joined")


class DemandPoint(db.Model):
    """Where materials are needed: an affected county, a shelter, a hospital."""

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    region_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    population: Mapped[int | None]  # people affected
    severity: Mapped[int] = mapped_column(default=2)  # 1..3, the planner's point severity


class Demand(db.Model):
    """One demand line (需求): a material and quantity needed at a point by a time. Revisions
    keep the earlier versions in DemandRevision; cancelling keeps the row."""

    __table_args__ = (
        Index("ix_demand_incident_status", "incident_id", "status"),
        CheckConstraint("quantity BETWEEN 1 AND 1000000000", name="quantity_within_bound"),
    )  # MAX_QUANTITY

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(50), unique=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"))
    point_id: Mapped[int] = mapped_column(ForeignKey("demand_point.id"))
    material_id: Mapped[int] = mapped_column(ForeignKey("material.id"))
    quantity: Mapped[int]
    priority: Mapped[int] = mapped_column(default=2)  # 1..3: the material's criticality here
    needed_by: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(10), default="active")  # active / cancelled
    version: Mapped[int] = mapped_column(default=1)
    source: Mapped[str] = mapped_column(String(10), default="form")  # form / api / sheet / norm
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    point = relationship("DemandPoint", lazy="joined")
    material = relationship("Material", lazy="joined")


class DemandRevision(db.Model):
    """A demand as it was before a revision or cancellation."""

    id: Mapped[int] = mapped_column(primary_key=True)
    demand_id: Mapped[int] = mapped_column(ForeignKey("demand.id"), index=True)
    version: Mapped[int]
    quantity: Mapped[int]
    priority: Mapped[int]
    needed_by: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str | None] = mapped_column(String(300))
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


class PlanVersion(db.Model):
    """One version of an incident's dispatch plan (调拨方案). Versions are never edited after
    approval; a change is a new version."""

    __table_args__ = (
        UniqueConstraint("incident_id", "version", name="uq_plan_version_incident_version"),
    )
    __audit_exclude__ = {"problem", "result"}

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"))
    version: Mapped[int]
    status: Mapped[str] = mapped_column(String(12), default="draft", index=True)
    method: Mapped[str] = mapped_column(String(12))  # planner / greedy / manual edit
    based_on_id: Mapped[int | None] = mapped_column(ForeignKey("plan_version.id"))
    options: Mapped[dict | None] = mapped_column(JSON)  # pinned / excluded sources
    problem: Mapped[dict | None] = deferred(mapped_column(JSON))
    metrics: Mapped[dict | None] = mapped_column(JSON)
    unmet: Mapped[list | None] = mapped_column(JSON)
    timings: Mapped[dict | None] = mapped_column(JSON)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    approved_at: Mapped[datetime | None]
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    cancelled_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(String(300))

    incident = relationship("Incident", lazy="joined")
    lines = relationship(
        "PlanLine",
        back_populates="plan",
        lazy="selectin",
        order_by="PlanLine.id",
        cascade="all, delete-orphan",
    )


class PlanLine(db.Model):
    """Source → point: a material, quantity, arrival. A source is a depot (its physical stock,
    or its agreement / capacity reserves, which come after their lead time) or an approved
    supplier's offer."""

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan_version.id"), index=True)
    source_key: Mapped[str] = mapped_column(String(40))  # the planner's source id
    source_kind: Mapped[str] = mapped_column(
        String(12)
    )  # physical / agreement / capacity / supplier
    depot_id: Mapped[int | None] = mapped_column(ForeignKey("depot.id"), index=True)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"), index=True)
    offer_id: Mapped[int | None] = mapped_column(Integer)
    point_id: Mapped[int] = mapped_column(ForeignKey("demand_point.id"))
    demand_id: Mapped[int | None] = mapped_column(ForeignKey("demand.id"))
    material_id: Mapped[int] = mapped_column(ForeignKey("material.id"))
    quantity: Mapped[int]
    arrival_h: Mapped[float] = mapped_column(Float)
    lead_time_h: Mapped[float] = mapped_column(Float, default=0)
    km: Mapped[float] = mapped_column(Float)
    weight_t: Mapped[float] = mapped_column(Float, default=0)
    edited: Mapped[bool] = mapped_column(default=False)

    plan = relationship("PlanVersion", back_populates="lines")
    depot = relationship("Depot", lazy="joined")
    material = relationship("Material", lazy="joined")
    point = relationship("DemandPoint", lazy="joined")


class LineAllocation(db.Model):
    """The lots an approved line reserved (FEFO), so departure issues exactly them."""

    id: Mapped[int] = mapped_column(primary_key=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("plan_line.id"), index=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("stock_lot.id"), index=True)
    quantity: Mapped[int]
    released: Mapped[bool] = mapped_column(default=False)

    lot = relationship("StockLot", lazy="joined")


class ConsultationMessage(db.Model):
    """A message in an incident's consultation (会商), optionally about one plan version."""

    __table_args__ = (Index("ix_consultation_message_incident", "incident_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"))
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plan_version.id"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    kind: Mapped[str] = mapped_column(String(10), default="message")  # message / decision
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    author = relationship("User", lazy="joined")
    agency = relationship("Agency", lazy="joined")


class LinePosition(db.Model):
    """An involved agency's position on one of its lines: agree, cannot supply, partial (with a
    quantity) or later (available in `available_in_h` hours). A re-plan reads them as bounds."""

    __table_args__ = (UniqueConstraint("line_id", name="uq_line_position_line"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("plan_line.id"))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    position: Mapped[str] = mapped_column(String(14))
    quantity: Mapped[int | None]
    available_in_h: Mapped[float | None] = mapped_column(Float)  # "later": hours from now
    reason: Mapped[str | None] = mapped_column(String(300))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Shipment(db.Model):
    """An approved line on the road (发运)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_no: Mapped[str] = mapped_column(String(60), unique=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("plan_line.id"), unique=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"), index=True)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"), index=True)
    mode: Mapped[str] = mapped_column(String(8), default="road")
    vehicles: Mapped[int] = mapped_column(default=1)
    quantity: Mapped[int]
    status: Mapped[str] = mapped_column(String(10), default="ready", index=True)
    departed_at: Mapped[datetime | None]
    eta: Mapped[datetime | None]
    arrived_at: Mapped[datetime | None]
    received_at: Mapped[datetime | None]
    quantity_received: Mapped[int | None]
    discrepancy_reason: Mapped[str | None] = mapped_column(String(300))
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    line = relationship("PlanLine", lazy="joined")


class AfterActionRecord(db.Model):
    """善后: materials returned to a depot (a receipt into stock) or consumed at a point."""

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # returned / consumed
    material_id: Mapped[int] = mapped_column(ForeignKey("material.id"))
    quantity: Mapped[int]
    depot_id: Mapped[int | None] = mapped_column(ForeignKey("depot.id"))
    point_id: Mapped[int | None] = mapped_column(ForeignKey("demand_point.id"))
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("stock_lot.id"))
    note: Mapped[str | None] = mapped_column(String(300))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    material = relationship("Material", lazy="joined")


# --- 装车方案: route plans (versions), trips, their stops and drops, known road times -------------


ROUTE_PLAN_LABELS = {
    "draft": _l("Proposal"),
    "adopted": _l("Adopted"),
    "superseded": _l("Superseded"),
}
TRIP_LABELS = {
    "ready": _l("Ready to load"),
    "departed": _l("On the road"),
    "completed": _l("Completed"),
    "cancelled": _l("Cancelled"),
}
STOP_LABELS = {"pending": _l("Waiting"), "received": _l("Received")}
ROUTE_METHOD_LABELS = {
    "router": _l("routed"),
    "manual": _l("edited by hand"),
}


class RoutePlan(db.Model):
    """One version of the 装车方案 of an approved dispatch plan: the router's problem and answer,
    the edits that made it, and what `check_routes` found wrong with it (kept, never edited)."""

    __table_args__ = (UniqueConstraint("plan_id", "version", name="uq_route_plan_plan_version"),)
    __audit_exclude__ = {"problem", "routes"}

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"), index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan_version.id"), index=True)
    version: Mapped[int]
    status: Mapped[str] = mapped_column(String(12), default=RoutePlanStatus.DRAFT)
    method: Mapped[str] = mapped_column(String(12))  # router / manual
    based_on_id: Mapped[int | None] = mapped_column(ForeignKey("route_plan.id"))
    edit: Mapped[dict | None] = mapped_column(JSON)  # the edit that made it: pin / exclude / move
    time_zero: Mapped[datetime]  # hour 0 of the problem's hours (naive UTC)
    problem: Mapped[dict | None] = deferred(mapped_column(JSON))
    routes: Mapped[dict | None] = deferred(mapped_column(JSON))  # the router's answer
    unassigned: Mapped[list | None] = mapped_column(JSON)  # [{line_id, quantity, reason}]
    violations: Mapped[list | None] = mapped_column(JSON)  # check_routes, as people read them
    metrics: Mapped[dict | None] = mapped_column(JSON)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    plan = relationship("PlanVersion", lazy="joined")


class Trip(db.Model):
    """One vehicle's load from one depot and its ordered stops (车次): a shipment of a vehicle."""

    __table_args__ = (
        CheckConstraint("load_t >= 0", name="load_not_negative"),
        Index("ix_trip_incident_status", "incident_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(60), unique=True)
    route_plan_id: Mapped[int] = mapped_column(ForeignKey("route_plan.id"), index=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"))
    depot_id: Mapped[int] = mapped_column(ForeignKey("depot.id"))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"), index=True)
    vehicle_key: Mapped[str] = mapped_column(String(40))  # the router's vehicle id
    vehicle_type: Mapped[str] = mapped_column(String(60))
    payload_t: Mapped[float] = mapped_column(Float)
    volume_m3: Mapped[float | None] = mapped_column(Float)
    plate: Mapped[str | None] = mapped_column(String(16))
    driver: Mapped[str | None] = mapped_column(String(50))
    phone: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(12), default=TripStatus.READY)
    km: Mapped[float] = mapped_column(Float, default=0)
    load_t: Mapped[float] = mapped_column(Float, default=0)
    departed_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    depot = relationship("Depot", lazy="joined")
    stops = relationship(
        "TripStop", back_populates="trip", lazy="selectin", order_by="TripStop.sequence"
    )


class TripStop(db.Model):
    """A stop of a trip at a demand point, in the order driven; received as a whole."""

    __table_args__ = (UniqueConstraint("trip_id", "sequence", name="uq_trip_stop_sequence"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    trip_id: Mapped[int] = mapped_column(ForeignKey("trip.id"), index=True)
    sequence: Mapped[int]
    point_id: Mapped[int] = mapped_column(ForeignKey("demand_point.id"))
    arrival_h: Mapped[float] = mapped_column(Float)  # planned, hours after the trip's time zero
    departure_h: Mapped[float] = mapped_column(Float)
    eta: Mapped[datetime]  # planned until the trip leaves, then from its departure
    status: Mapped[str] = mapped_column(String(10), default=StopStatus.PENDING)
    received_at: Mapped[datetime | None]
    received_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    trip = relationship("Trip", back_populates="stops")
    point = relationship("DemandPoint", lazy="joined")
    drops = relationship("TripDrop", lazy="selectin", order_by="TripDrop.id")


class TripDrop(db.Model):
    """Units of one plan line unloaded at a stop, with the lots they come from."""

    __table_args__ = (
        CheckConstraint("quantity >= 1 AND quantity <= 1000000000", name="quantity_within_bound"),
        CheckConstraint(
            "quantity_received IS NULL OR quantity_received >= 0", name="received_not_negative"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    stop_id: Mapped[int] = mapped_column(ForeignKey("trip_stop.id"), index=True)
    trip_id: Mapped[int] = mapped_column(ForeignKey("trip.id"), index=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("plan_line.id"), index=True)
    quantity: Mapped[int]
    lots: Mapped[list] = mapped_column(JSON)  # [[lot id, units]] taken from the line's allocations
    quantity_received: Mapped[int | None]
    discrepancy_reason: Mapped[str | None] = mapped_column(String(300))

    line = relationship("PlanLine", lazy="joined")


class RoadTime(db.Model):
    """A known road time between two places (a depot or a demand point, by the router's ids),
    which replaces the straight-line estimate in every 装车方案 built after it."""

    __table_args__ = (
        UniqueConstraint("from_key", "to_key", name="uq_road_time_from_to"),
        CheckConstraint("hours > 0 AND hours <= 240", name="hours_within_bound"),
        CheckConstraint("km >= 0 AND km <= 10000", name="km_within_bound"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    from_key: Mapped[str] = mapped_column(String(20))  # D12 (a depot) or P5 (a demand point)
    to_key: Mapped[str] = mapped_column(String(20))
    hours: Mapped[float] = mapped_column(Float)
    km: Mapped[float] = mapped_column(Float)
    note: Mapped[str | None] = mapped_column(String(200))
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


from .supply_models import SupplyCall  # noqa: E402,F401  the calls for supply, a concept of its own
