"""The organisation tree and the administrative divisions: the ground floor every feature stands on.

Agencies (节点单位) form a tree kept as a materialised path ("/1/4/9/"), so "this agency and all
its descendants" is one indexed prefix query. Users belong to an agency (core/auth.py); every
agency-owned row of the features points here. Regions are the GB/T 2260 divisions.
"""

import enum
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db
from .timeutil import utcnow


class AgencyKind(enum.StrEnum):
    PROVINCIAL_DEPARTMENT = "provincial_department"
    CITY = "city"
    COUNTY = "county"
    CENTRAL_VERTICAL = "central_vertical"


AGENCY_KIND_LABELS = {
    AgencyKind.PROVINCIAL_DEPARTMENT.value: _l("Provincial department"),
    AgencyKind.CITY.value: _l("City agency"),
    AgencyKind.COUNTY.value: _l("County agency"),
    AgencyKind.CENTRAL_VERTICAL.value: _l("Central vertical unit"),
}


class Region(db.Model):
    """A GB/T 2260 administrative division. Divisions change over time: keep validity dates."""

    code: Mapped[str] = mapped_column(String(6), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(10))  # province / city / county
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"), index=True)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    population: Mapped[int | None]  # residents, for norms "per 10,000 people"
    valid_from: Mapped[date | None]
    valid_to: Mapped[date | None]


class Agency(db.Model):
    __table_args__ = (Index("ix_agency_path", "path", postgresql_ops={"path": "text_pattern_ops"}),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    credit_code: Mapped[str | None] = mapped_column(String(18), unique=True)
    region_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"), index=True)
    path: Mapped[str] = mapped_column(String(400), default="")
    contact_name: Mapped[str | None] = mapped_column(String(50))
    contact_phone: Mapped[str | None] = mapped_column(String(30))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    parent = relationship("Agency", remote_side=[id], lazy="joined", join_depth=1)

    @property
    def depth(self) -> int:
        return self.path.count("/") - 1
