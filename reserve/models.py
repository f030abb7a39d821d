"""Reserve registry models: depots, catalog, transport, plans.

The agencies and regions they belong to live in core/organisation.py; the stock ledger's lots,
movements and rollups in reserve/stock/models.py, behind reserve/stock's functions.
"""

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, Float, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.extensions import db
from core.scoping import classification_column
from core.timeutil import utcnow


class Depot(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(300))
    region_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"), index=True)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    capacity_m3: Mapped[float | None] = mapped_column(Float)
    capacity_t: Mapped[float | None] = mapped_column(Float)
    classification: Mapped[str] = classification_column()
    contact_name: Mapped[str | None] = mapped_column(String(50))
    contact_phone: Mapped[str | None] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(10), default="active")  # active / closed
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    agency = relationship("Agency", lazy="joined")
    region = relationship("Region", lazy="joined")


class Category(db.Model):
    """GB/T 38565-2020 node: 7-digit code in 4 levels (1+2+2+2), stored without padding."""

    code: Mapped[str] = mapped_column(String(7), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[int]
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("category.code"), index=True)
    illustrative: Mapped[bool] = mapped_column(default=False)


class Material(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    spec: Mapped[str | None] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(20))
    unit_weight_kg: Mapped[float] = mapped_column(Float, default=0)
    unit_volume_m3: Mapped[float] = mapped_column(Float, default=0)
    shelf_life_days: Mapped[int | None]
    category_code: Mapped[str] = mapped_column(ForeignKey("category.code"), index=True)

    category = relationship("Category", lazy="joined")


class MaterialAlias(db.Model):
    """An agency's own name for a catalog material, so its reports keep its own words."""

    __table_args__ = (
        UniqueConstraint("agency_id", "alias", name="uq_material_alias_agency_alias"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    alias: Mapped[str] = mapped_column(String(200))
    material_id: Mapped[int] = mapped_column(ForeignKey("material.id"), index=True)

    material = relationship("Material", lazy="joined")


class ReserveType(enum.StrEnum):
    PHYSICAL = "physical"  # 实物储备
    AGREEMENT = "agreement"  # 协议储备 with an enterprise
    CAPACITY = "capacity"  # 产能储备


class TransportMode(enum.StrEnum):
    ROAD = "road"
    RAIL = "rail"
    AIR = "air"
    WATER = "water"


class TransportCapacity(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    depot_id: Mapped[int | None] = mapped_column(ForeignKey("depot.id"), index=True)
    mode: Mapped[str] = mapped_column(String(8))
    vehicle_type: Mapped[str] = mapped_column(String(60))
    count: Mapped[int]
    payload_t: Mapped[float] = mapped_column(Float)  # per vehicle
    volume_m3: Mapped[float | None] = mapped_column(Float)  # per vehicle
    available: Mapped[bool] = mapped_column(default=True)
    base: Mapped[str | None] = mapped_column(String(200))
    classification: Mapped[str] = classification_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    depot = relationship("Depot", lazy="joined")


class IncidentType(enum.StrEnum):
    NATURAL_DISASTER = "natural_disaster"
    ACCIDENT = "accident"
    PUBLIC_HEALTH = "public_health"
    SOCIAL_SECURITY = "social_security"


class EmergencyPlan(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    incident_type: Mapped[str] = mapped_column(String(20))
    level: Mapped[str] = mapped_column(String(3))  # I, II, III, IV
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"))
    classification: Mapped[str] = classification_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    norms = relationship(
        "ReserveNorm", back_populates="plan", lazy="selectin", cascade="all, delete-orphan"
    )


class ReserveNorm(db.Model):
    """Required reserve of a material in a region: a fixed quantity, or per 10,000 residents; or a
    relief standard per 10,000 affected people (what a demand point needs, not a reserve level)."""

    __table_args__ = (CheckConstraint("quantity >= 0", name="quantity_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("emergency_plan.id"), index=True)
    material_id: Mapped[int] = mapped_column(ForeignKey("material.id"))
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"))
    # per_region / per_10k_people (residents: a reserve level) / per_10k_affected (a relief
    # standard: what an incident needs per 10,000 people affected; suggests demands, sets no reserve level)
    basis: Mapped[str] = mapped_column(String(16))
    quantity: Mapped[float] = mapped_column(Float)

    plan = relationship("EmergencyPlan", back_populates="norms")
    material = relationship("Material", lazy="joined")
    region = relationship("Region", lazy="joined")


# Labels people read, for every coded value the pages show.
LABELS = {
    "reserve_type": {
        "physical": _l("Physical"),
        "agreement": _l("Agreement"),
        "capacity": _l("Production capacity"),
    },
    "movement": {
        "receipt": _l("Receipt"),
        "issue": _l("Issue"),
        "adjustment": _l("Adjustment"),
        "transfer_out": _l("Transfer out"),
        "transfer_in": _l("Transfer in"),
        "reservation": _l("Reservation"),
        "release": _l("Release"),
        "count": _l("Stock count"),
        "reversal": _l("Reversal"),
    },
    "mode": {"road": _l("Road"), "rail": _l("Rail"), "air": _l("Air"), "water": _l("Water")},
    "classification": {
        "public": _l("Public"),
        "internal": _l("Internal"),
        "restricted": _l("Restricted"),
    },
    "incident_type": {
        "natural_disaster": _l("Natural disaster"),
        "accident": _l("Accident"),
        "public_health": _l("Public health"),
        "social_security": _l("Social security"),
    },
    "basis": {
        "per_region": _l("per region"),
        "per_10k_people": _l("per 10,000 people"),
        "per_10k_affected": _l("per 10,000 affected people"),
    },
    "group": {
        "material": _l("Material"),
        "category": _l("Category"),
        "region": _l("City"),
        "agency": _l("Agency"),
        "reserve_type": _l("Reserve type"),
    },
    "status": {"active": _l("Active"), "closed": _l("Closed")},
    # An emergency plan's response level, an incident's too.
    "level": {
        "I": _l("Level I (especially serious)"),
        "II": _l("Level II (serious)"),
        "III": _l("Level III (relatively serious)"),
        "IV": _l("Level IV (general)"),
    },
}
