"""Calls for supply (供需发布): what a plan left unmet, published on the portal's supply/demand
board once a second commander approves the text. The board demand (public_site) is the public
face; this row keeps the internal links (incident, plan, point) that never reach the portal."""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.extensions import db
from core.timeutil import utcnow

from .statuses import CallStatus


class SupplyCall(db.Model):
    """A call for supply: one material for one demand point's city, drafted from a plan's unmet
    line, approved (another commander or an administrator), published, then met or withdrawn."""

    __table_args__ = (
        CheckConstraint("quantity > 0 AND quantity <= 1000000000", name="quantity_within_bound"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"), index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan_version.id"))
    point_id: Mapped[int] = mapped_column(ForeignKey("demand_point.id"))
    material_id: Mapped[int] = mapped_column(ForeignKey("material.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"))  # a city, never finer
    deadline: Mapped[datetime]  # UTC
    title: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(
        Text
    )  # what the board shows, checked by rules.call_text_problem
    status: Mapped[str] = mapped_column(String(12), default=CallStatus.DRAFT, index=True)
    board_demand_id: Mapped[int | None] = mapped_column(ForeignKey("board_demand.id"), unique=True)
    drafted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    approved_at: Mapped[datetime | None]
    closed_reason: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    incident = relationship("Incident")
    point = relationship("DemandPoint")
    material = relationship("Material", lazy="joined")
    region = relationship("Region", lazy="joined")
    board_demand = relationship("BoardDemand")
