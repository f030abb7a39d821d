"""Rotation items (轮换事项) and their steps: the plan that answers an expiry warning.

An item is one lot's rotation: the action proposed (transfer, issue, donation, sale,
replacement purchase), how many units, by when, who is responsible, and its progress. Each
step books ledger movements under the reference `ROT-{item}-{step}` (reserve.stock.ledger) and
can be undone once by reversal. `agency_id` and `classification` are the lot's, so an item is
read and written exactly where its lot is.
"""

from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.extensions import db
from core.scoping import classification_column
from core.timeutil import utcnow

from . import rules

ACTION_LABELS = {
    rules.TRANSFER: _l("Transfer to a user before expiry"),
    rules.ISSUE: _l("Issue for consumption"),
    rules.DONATION: _l("Donation"),
    rules.SALE: _l("Sale"),
    rules.REPLACEMENT: _l("Replacement purchase"),
}
STATUS_LABELS = {
    rules.PLANNED: _l("Planned"),
    rules.IN_PROGRESS: _l("In progress"),
    rules.DONE: _l("Done"),
    rules.CANCELLED: _l("Cancelled"),
}


class RotationItem(db.Model):
    __tablename__ = "rotation_item"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("done_quantity >= 0 AND done_quantity <= quantity", name="done_in_range"),
        Index("ix_rotation_item_agency_status", "agency_id", "status"),
        Index("ix_rotation_item_due", "status", "due_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))  # the lot's owner
    lot_id: Mapped[int] = mapped_column(ForeignKey("stock_lot.id"), index=True)
    depot_id: Mapped[int] = mapped_column(ForeignKey("depot.id"))
    material_id: Mapped[int] = mapped_column(ForeignKey("material.id"))
    classification: Mapped[str] = classification_column()
    warning_id: Mapped[int | None] = mapped_column(ForeignKey("warning.id"), index=True)
    warning_kind: Mapped[str | None] = mapped_column(String(20))
    expiry_date: Mapped[date | None]  # the lot's, when planned
    action: Mapped[str] = mapped_column(String(12))
    quantity: Mapped[int]
    done_quantity: Mapped[int] = mapped_column(default=0)
    due_date: Mapped[date]
    responsible: Mapped[str] = mapped_column(String(60))  # a person's name, as the agency says it
    to_depot_id: Mapped[int | None] = mapped_column(ForeignKey("depot.id"))  # a transfer's
    recipient: Mapped[str | None] = mapped_column(String(120))  # a donation's or sale's
    note: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(12), default=rules.PLANNED, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    completed_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(String(300))

    agency = relationship("Agency", lazy="joined")
    depot = relationship("Depot", foreign_keys=[depot_id], lazy="joined")
    to_depot = relationship("Depot", foreign_keys=[to_depot_id], lazy="joined")
    material = relationship("Material", lazy="joined")
    lot = relationship("StockLot", lazy="joined")
    steps = relationship("RotationStep", order_by="RotationStep.id", back_populates="item")

    @property
    def remaining(self) -> int:
        return self.quantity - self.done_quantity


class RotationStep(db.Model):
    """One booked part of an item: the units rotated, the replacement received, the movements."""

    __tablename__ = "rotation_step"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("replacement_quantity >= 0", name="replacement_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("rotation_item.id"), index=True)
    quantity: Mapped[int]
    replacement_quantity: Mapped[int] = mapped_column(default=0)
    replacement_lot_no: Mapped[str | None] = mapped_column(String(60))
    replacement_expiry: Mapped[date | None]
    reference: Mapped[str] = mapped_column(String(40))
    movement_ids: Mapped[list] = mapped_column(JSON)
    shortfall_confirmed: Mapped[bool] = mapped_column(default=False)
    booked_at: Mapped[datetime] = mapped_column(default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    reversed_at: Mapped[datetime | None]
    reversed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    reverse_reason: Mapped[str | None] = mapped_column(String(300))

    item = relationship("RotationItem", back_populates="steps")
    user = relationship("User", foreign_keys=[user_id], lazy="joined")
