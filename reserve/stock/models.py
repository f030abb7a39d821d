"""The stock ledger's tables: lots, the append-only movements, and the per-city and per-agency
sums the ledger keeps beside them.

Stock is a ledger: `Movement` rows are append-only; `StockLot.on_hand` and `.reserved` are caches
updated in the same transaction by guarded conditional UPDATEs and protected by CHECK
constraints. Only reserve/stock imports this module (import contract in pyproject.toml): the
rest of the code reads stock through `reserve.stock.queries` and writes it through
`reserve.stock.ledger`.
"""

import enum
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.extensions import db
from core.scoping import classification_column
from core.timeutil import utcnow

from ..models import ReserveType


class StockLot(db.Model):
    __table_args__ = (
        UniqueConstraint(
            "depot_id", "material_id", "lot_no", name="uq_stock_lot_depot_material_lot"
        ),
        CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
        CheckConstraint("reserved >= 0", name="reserved_not_negative"),
        CheckConstraint("reserved <= on_hand", name="reserved_within_on_hand"),
        CheckConstraint("on_hand <= 1000000000", name="on_hand_within_bound"),  # rules.MAX_QUANTITY
        # The lot lists walk this index: (material, depot, id) is their order.
        Index("ix_stock_lot_material_depot", "material_id", "depot_id", "id"),
        # Agreement and capacity lots, with what "available within N hours" reads of them (an
        # index-only scan of ~15 % of the lots instead of a pass over all of them).
        Index(
            "ix_stock_lot_reserve_terms",
            "material_id",
            postgresql_where=text("reserve_type <> 'physical'"),
            sqlite_where=text("reserve_type <> 'physical'"),
            postgresql_include=[
                "on_hand",
                "reserved",
                "reserve_type",
                "lead_time_h",
                "units_per_day",
                "contract_valid_to",
                "classification",
                "owner_agency_id",
            ],
        ),
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
        CheckConstraint(
            "on_hand_delta BETWEEN -1000000000 AND 1000000000", name="on_hand_delta_within_bound"
        ),
        CheckConstraint(
            "reserved_delta BETWEEN -1000000000 AND 1000000000", name="reserved_delta_within_bound"
        ),
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
    on_hand: Mapped[int] = mapped_column(
        BigInteger, default=0
    )  # a sum of lots of up to 10^9 units each
    reserved: Mapped[int] = mapped_column(BigInteger, default=0)


class StockRollupAgency(db.Model):
    """Per-agency totals kept by the ledger (see StockRollupCity); weight in kg."""

    __audit__ = False

    owner_agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), primary_key=True)
    reserve_type: Mapped[str] = mapped_column(String(12), primary_key=True)
    classification: Mapped[str] = mapped_column(String(12), primary_key=True)
    lots: Mapped[int] = mapped_column(Integer, default=0)
    on_hand: Mapped[int] = mapped_column(
        BigInteger, default=0
    )  # a sum of lots of up to 10^9 units each
    reserved: Mapped[int] = mapped_column(BigInteger, default=0)
    weight_kg: Mapped[float] = mapped_column(Float, default=0)
