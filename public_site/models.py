"""Public portal models: notices, supplier enterprises with their offers and documents, the
supply/demand board, and public feedback.

What the public may see of each row is decided in the services and the public schemas
(allow-lists); the models hold private details too (contacts, licences, unanswered messages).
"""

import enum
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.extensions import db
from core.timeutil import utcnow

from .rules import Progress, demand_progress


class NoticeKind(enum.StrEnum):
    NOTICE = "notice"  # 通知公告
    NEWS = "news"  # 新闻动态
    INCIDENT = "incident"  # 突发事件信息


class Notice(db.Model):
    """A notice, a news item or a public incident notice, published by an administrator."""

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(12), index=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)  # plain text; paragraphs by blank lines
    published: Mapped[bool] = mapped_column(default=False, index=True)
    published_at: Mapped[datetime | None] = mapped_column(index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SupplierStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for review
    CHANGES_REQUESTED = "changes_requested"  # the enterprise must correct and resubmit
    APPROVED = "approved"
    REJECTED = "rejected"


class Supplier(db.Model):
    """A registered supplier enterprise (供应企业), verified by its unified social credit code."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id"), unique=True
    )  # the enterprise's account
    name: Mapped[str] = mapped_column(String(200), index=True)
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    legal_representative: Mapped[str] = mapped_column(String(50))
    contact_name: Mapped[str] = mapped_column(String(50))
    contact_mobile: Mapped[str] = mapped_column(String(11))
    address: Mapped[str] = mapped_column(String(300))
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"), index=True)
    status: Mapped[str] = mapped_column(
        String(20), default=SupplierStatus.PENDING.value, index=True
    )
    review_reason: Mapped[str | None] = mapped_column(String(500))
    reviewed_at: Mapped[datetime | None]
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # two networks (issue 21): the same enterprise's id on the other network's deployment —
    # inside, of a registration made on the extranet; outside, of an enterprise listed from inside
    external_ref: Mapped[int | None] = mapped_column(Integer, index=True)
    # set by the daily credit check while the enterprise is on the dishonest list: its offers
    # are no planning sources and its board offers are marked; lifted when the listing ends
    suspended_at: Mapped[datetime | None]
    suspended_reason: Mapped[str | None] = mapped_column(String(500))

    region = relationship("Region", lazy="joined")
    offers = relationship(
        "SupplierOffer",
        back_populates="supplier",
        lazy="selectin",
        cascade="all, delete-orphan",
        order_by="SupplierOffer.id",
    )
    documents = relationship(
        "SupplierDocument",
        back_populates="supplier",
        lazy="selectin",
        order_by="SupplierDocument.id",
    )

    @property
    def is_approved(self) -> bool:
        return self.status == SupplierStatus.APPROVED.value

    @property
    def is_suspended(self) -> bool:
        return self.suspended_at is not None

    @property
    def service_region_codes(self) -> list[str]:
        return sorted({code for offer in self.offers for code in offer.region_codes})


class SupplierOffer(db.Model):
    """What an enterprise can supply. Once the enterprise is approved and the material is a
    catalog material (chosen, or free text mapped by an administrator), the offer is an
    agreement/capacity source the dispatch planner can use."""

    __table_args__ = (
        CheckConstraint("quantity_in_stock >= 0", name="quantity_in_stock_not_negative"),
        CheckConstraint("capacity_per_day >= 0", name="capacity_per_day_not_negative"),
        CheckConstraint("lead_time_h >= 0", name="lead_time_h_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(
        ForeignKey("supplier.id", ondelete="CASCADE"), index=True
    )
    material_id: Mapped[int | None] = mapped_column(ForeignKey("material.id"), index=True)
    material_text: Mapped[str | None] = mapped_column(String(200))  # the enterprise's own words
    unit: Mapped[str | None] = mapped_column(String(20))
    quantity_in_stock: Mapped[int] = mapped_column(Integer, default=0)
    capacity_per_day: Mapped[int] = mapped_column(Integer, default=0)
    lead_time_h: Mapped[float] = mapped_column(Float, default=0)
    service_regions: Mapped[str] = mapped_column(
        String(500), default=""
    )  # GB/T 2260 codes, comma-separated

    supplier = relationship("Supplier", back_populates="offers")
    material = relationship("Material", lazy="joined")

    @property
    def region_codes(self) -> list[str]:
        return [c for c in self.service_regions.split(",") if c]

    @property
    def is_planning_source(self) -> bool:
        return (
            self.supplier.is_approved
            and not self.supplier.is_suspended
            and self.material_id is not None
        )


class SupplierDocument(db.Model):
    """An uploaded document (business licence). The file lives outside the web root under a
    name the server chose; `original_name` is only shown, never used as a path."""

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(
        ForeignKey("supplier.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(30), default="business_licence")
    stored_name: Mapped[str] = mapped_column(String(80), unique=True)
    original_name: Mapped[str] = mapped_column(String(200))
    media_type: Mapped[str] = mapped_column(String(50))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)

    supplier = relationship("Supplier", back_populates="documents")


class DemandStatus(enum.StrEnum):
    OPEN = "open"
    FULFILLED = "fulfilled"
    CLOSED = "closed"


class BoardDemand(db.Model):
    """A published demand on the supply/demand board (供求信息). Posted by an administrator
    today; `source_kind`/`source_ref` name where it came from, so a demand generated from an
    incident can point back to it ("incident", "<incident id>") without a schema change."""

    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    material_id: Mapped[int | None] = mapped_column(ForeignKey("material.id"))
    material_text: Mapped[str | None] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(20))
    quantity: Mapped[int] = mapped_column(Integer)
    region_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"))
    needed_by: Mapped[date | None]
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(12), default=DemandStatus.OPEN.value, index=True)
    source_kind: Mapped[str] = mapped_column(String(20), default="admin")  # admin / incident
    source_ref: Mapped[str | None] = mapped_column(String(60), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    material = relationship("Material", lazy="joined")
    region = relationship("Region", lazy="joined")
    offers = relationship(
        "BoardOffer", back_populates="demand", lazy="selectin", order_by="BoardOffer.id"
    )

    @property
    def progress(self) -> Progress:
        return demand_progress(
            self.quantity, [(o.status, o.quantity, o.matched_quantity) for o in self.offers]
        )


class OfferStatus(enum.StrEnum):
    PENDING = "pending"
    MATCHED = "matched"
    DECLINED = "declined"


class BoardOffer(db.Model):
    """An offer to supply against a board demand, by a registered enterprise or anyone."""

    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("matched_quantity >= 0", name="matched_quantity_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    demand_id: Mapped[int] = mapped_column(ForeignKey("board_demand.id"), index=True)
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("supplier.id"))
    offerer_name: Mapped[str] = mapped_column(String(200))
    contact: Mapped[str] = mapped_column(String(100))  # private: administrators only
    quantity: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(12), default=OfferStatus.PENDING.value, index=True)
    matched_quantity: Mapped[int] = mapped_column(Integer, default=0)
    decision_note: Mapped[str | None] = mapped_column(String(300))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # an enterprise's answer to a call for supply (an incident's demand): its terms, and what
    # reached a depot once the goods arrived (staff record the receipt through the ledger)
    price_yuan: Mapped[float | None] = mapped_column(Float)  # per unit, if any
    lead_time_h: Mapped[float | None] = mapped_column(Float)
    from_region_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"))
    received_quantity: Mapped[int | None] = mapped_column(Integer)
    received_depot_id: Mapped[int | None] = mapped_column(ForeignKey("depot.id"))
    # on the private network: the offer's id on the extranet, where it was made (issue 21)
    external_ref: Mapped[int | None] = mapped_column(Integer, unique=True)
    received_at: Mapped[datetime | None]

    demand = relationship("BoardDemand", back_populates="offers")
    from_region = relationship("Region")
    received_depot = relationship("Depot")

    @property
    def is_received(self) -> bool:
        return self.received_at is not None


class FeedbackCategory(enum.StrEnum):
    SUGGESTION = "suggestion"
    QUESTION = "question"
    COMPLAINT = "complaint"
    REPORT = "report"  # 举报


class Feedback(db.Model):
    """A message from anyone (社会监督). Public only once answered and made public; the
    sender's contact is never public."""

    id: Mapped[int] = mapped_column(primary_key=True)
    category: Mapped[str] = mapped_column(String(12))
    text: Mapped[str] = mapped_column(Text)
    contact: Mapped[str | None] = mapped_column(String(100))
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None]
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    is_public: Mapped[bool] = mapped_column(default=False, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # on the private network: the message's id on the extranet, where it was written (issue 21)
    external_ref: Mapped[int | None] = mapped_column(Integer, unique=True)


class PublishedStock(db.Model):
    """On the extranet (DEPLOYMENT_ROLE=public): the public stock per city and material as the
    private network last published it (public_site/exchange.py); the overview reads it there
    instead of the ledger's rollups, which the extranet does not have."""

    __table_args__ = (CheckConstraint("quantity >= 0", name="quantity_not_negative"),)

    city_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    material_id: Mapped[int] = mapped_column(ForeignKey("material.id"), primary_key=True)
    quantity: Mapped[int] = mapped_column(Integer)


LABELS = {
    "notice_kind": {"notice": _l("Notice"), "news": _l("News"), "incident": _l("Incident notice")},
    "supplier_status": {
        "pending": _l("Pending review"),
        "changes_requested": _l("Changes requested"),
        "approved": _l("Approved"),
        "rejected": _l("Rejected"),
    },
    "demand_status": {
        "open": _l("Open for offers"),
        "fulfilled": _l("Fulfilled"),
        "closed": _l("Closed"),
    },
    "offer_status": {
        "pending": _l("Pending"),
        "matched": _l("Matched"),
        "declined": _l("Declined"),
    },
    "feedback_category": {
        "suggestion": _l("Suggestion"),
        "question": _l("Question"),
        "complaint": _l("Complaint"),
        "report": _l("Report of wrongdoing"),
    },
    "review_action": {
        "approve": _l("Approve"),
        "reject": _l("Reject"),
        "request_changes": _l("Ask for changes"),
    },
}
