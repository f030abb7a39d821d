"""Reserve registry models. Agencies form a tree kept as a materialised path ("/1/4/9/"),
so "this agency and all its descendants" is one indexed prefix query."""

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.extensions import db
from core.timeutil import utcnow


class AgencyKind(enum.StrEnum):
    PROVINCIAL_DEPARTMENT = "provincial_department"
    CITY = "city"
    COUNTY = "county"
    CENTRAL_VERTICAL = "central_vertical"


AGENCY_KIND_LABELS = {
    AgencyKind.PROVINCIAL_DEPARTMENT.value: _l("Provincial department"),
    AgencyKind.CITY.value: _l("City"),
    AgencyKind.COUNTY.value: _l("County"),
    AgencyKind.CENTRAL_VERTICAL.value: _l("Central vertical unit"),
}


class Agency(db.Model):
    __table_args__ = (Index("ix_agency_path", "path", postgresql_ops={"path": "text_pattern_ops"}),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    region_code: Mapped[str | None] = mapped_column(String(6))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"), index=True)
    path: Mapped[str] = mapped_column(String(400), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    parent = relationship("Agency", remote_side=[id], lazy="joined", join_depth=1)

    @property
    def depth(self) -> int:
        return self.path.count("/") - 1
