"""Reserve registry models: depots, catalog, stock ledger, transport, plans.

The agencies and regions they belong to live in core/organisation.py. Stock is a ledger: `Movement` rows are append-only;
`StockLot.on_hand` and `.reserved` are caches updated in the same transaction by guarded
conditional UPDATEs and protected by CHECK constraints.
"""

import enum
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import BigInteger, CheckConstraint, Float, ForeignKey, Index, Integer, String, UniqueConstraint, text
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

    __table_args__ = (UniqueConstraint("agency_id", "alias", name="uq_material_alias_agency_alias"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    alias: Mapped[str] = mapped_column(String(200))
    material_id: Mapped[int] = mapped_column(ForeignKey("material.id"), index=True)

    material = relationship("Material", lazy="joined")


class ReserveType(enum.StrEnum):
    PHYSICAL = "physical"      # 实物储备
    AGREEMENT = "agreement"    # 协议储备 with an enterprise
    CAPACITY = "capacity"      # 产能储备


class StockLot(db.Model):
    __table_args__ = (
        UniqueConstraint("depot_id", "material_id", "lot_no", name="uq_stock_lot_depot_material_lot"),
        CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
        CheckConstraint("reserved >= 0", name="reserved_not_negative"),
        CheckConstraint("reserved <= on_hand", name="reserved_within_on_hand"),
        CheckConstraint("on_hand <= 1000000000", name="on_hand_within_bound"),  # rules.MAX_QUANTITY
        # The lot lists walk this index: (material, depot, id) is their order.
        Index("ix_stock_lot_material_depot", "material_id", "depot_id", "id"),
        # Agreement and capacity lots, with what "available within N hours" reads of them (an
        # index-only scan of ~15 % of the lots instead of a pass over all of them).
        Index("ix_stock_lot_reserve_terms", "material_id", postgresql_where=text("reserve_type <> 'physical'"),
              sqlite_where=text("reserve_type <> 'physical'"),
              postgresql_include=["on_hand", "reserved", "reserve_type", "lead_time_h", "units_per_day",
                                  "contract_valid_to", "classification", "owner_agency_id"]),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    depot_id: Mapped[int] = mapped_column(ForeignKey("depot.id"), index=True)
    material_id: Mapped[int] = mapped_column(ForeignKey("material.id"))
    lot_no: Mapped[str] = mapped_column(String(60))
    production_date: Mapped[date | None]
    expiry_date: Mapped[date | None] = mapped_column(index=True)
    reserve_type: Mapped[str] = mapped_column(String(12), default=ReserveType.PHYSICAL.value)
    owner_agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    classification: Mapped[str] = classification_column()
    on_hand: Mapped[int] = mapped_column(Integer, default=0)
    reserved: Mapped[int] = mapped_column(Integer, default=0)
    # agreement / capacity reserves: who holds it, how fast it comes
    enterprise_name: Mapped[str | None] = mapped_column(String(200))
    enterprise_credit_code: Mapped[str | None] = mapped_column(String(18))
    units_per_day: Mapped[int | None]
    lead_time_h: Mapped[float | None] = mapped_column(Float)
    contract_valid_from: Mapped[date | None]
    contract_valid_to: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    depot = relationship("Depot", lazy="joined")
    material = relationship("Material", lazy="joined")

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


class MovementKind(enum.StrEnum):
    RECEIPT = "receipt"
    ISSUE = "issue"
    ADJUSTMENT = "adjustment"
    TRANSFER_OUT = "transfer_out"
    TRANSFER_IN = "transfer_in"
    RESERVATION = "reservation"
    RELEASE = "release"
    COUNT = "count"
    REVERSAL = "reversal"


class Movement(db.Model):
    """One append-only ledger row. Never edited or deleted; a correction is a reversal."""

    __table_args__ = (
        Index("ix_movement_lot_occurred", "lot_id", "occurred_at", "id"),
        # rules.MAX_QUANTITY: a movement moves at most what a lot can hold
        CheckConstraint("on_hand_delta BETWEEN -1000000000 AND 1000000000", name="on_hand_delta_within_bound"),
        CheckConstraint("reserved_delta BETWEEN -1000000000 AND 1000000000", name="reserved_delta_within_bound"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("stock_lot.id"))
    kind: Mapped[str] = mapped_column(String(14))
    on_hand_delta: Mapped[int] = mapped_column(Integer, default=0)
    reserved_delta: Mapped[int] = mapped_column(Integer, default=0)
    occurred_at: Mapped[datetime]  # business time; may be back-dated
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    reason: Mapped[str | None] = mapped_column(String(300))
    reference: Mapped[str | None] = mapped_column(String(100), index=True)
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("movement.id"), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    lot = relationship("StockLot", lazy="joined")


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

    norms = relationship("ReserveNorm", back_populates="plan", lazy="selectin", cascade="all, delete-orphan")


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
    "reserve_type": {"physical": _l("Physical"), "agreement": _l("Agreement"), "capacity": _l("Production capacity")},
    "movement": {"receipt": _l("Receipt"), "issue": _l("Issue"), "adjustment": _l("Adjustment"),
                 "transfer_out": _l("Transfer out"), "transfer_in": _l("Transfer in"), "reservation": _l("Reservation"),
                 "release": _l("Release"), "count": _l("Stock count"), "reversal": _l("Reversal")},
    "mode": {"road": _l("Road"), "rail": _l("Rail"), "air": _l("Air"), "water": _l("Water")},
    "classification": {"public": _l("Public"), "internal": _l("Internal"), "restricted": _l("Restricted")},
    "incident_type": {"natural_disaster": _l("Natural disaster"), "accident": _l("Accident"),
                      "public_health": _l("Public health"), "social_security": _l("Social security")},
    "basis": {"per_region": _l("per region"), "per_10k_people": _l("per 10,000 people"),
              "per_10k_affected": _l("per 10,000 affected people")},
    "group": {"material": _l("Material"), "category": _l("Category"), "region": _l("City"), "agency": _l("Agency"),
              "reserve_type": _l("Reserve type")},
    "status": {"active": _l("Active"), "closed": _l("Closed")},
    # An emergency plan's response level, an incident's too.
    "level": {"I": _l("Level I (especially serious)"), "II": _l("Level II (serious)"),
              "III": _l("Level III (relatively serious)"), "IV": _l("Level IV (general)")},
}


class StockRollupCity(db.Model):
    """Whole-province totals kept by the ledger in the same transaction as each movement, so
    command staff's statistics read a few thousand rows instead of every lot.
    Key: city (first four digits of the depot's region), material, reserve type, classification."""

    __audit__ = False  # derived data: the movements themselves are audited

    city_code: Mapped[str] = mapped_column(String(4), primary_key=True)
    material_id: Mapped[int] = mapped_column(ForeignKey("material.id"), primary_key=True)
    reserve_type: Mapped[str] = mapped_column(String(12), primary_key=True)
    classification: Mapped[str] = mapped_column(String(12), primary_key=True)
    lots: Mapped[int] = mapped_column(Integer, default=0)  # lots with stock on hand
    on_hand: Mapped[int] = mapped_column(BigInteger, default=0)  # a sum of lots of up to 10^9 units each
    reserved: Mapped[int] = mapped_column(BigInteger, default=0)


class StockRollupAgency(db.Model):
    """Per-agency totals kept by the ledger (see StockRollupCity); weight in kg."""

    __audit__ = False

    owner_agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), primary_key=True)
    reserve_type: Mapped[str] = mapped_column(String(12), primary_key=True)
    classification: Mapped[str] = mapped_column(String(12), primary_key=True)
    lots: Mapped[int] = mapped_column(Integer, default=0)
    on_hand: Mapped[int] = mapped_column(BigInteger, default=0)  # a sum of lots of up to 10^9 units each
    reserved: Mapped[int] = mapped_column(BigInteger, default=0)
    weight_kg: Mapped[float] = mapped_column(Float, default=0)
