"""What each side remembers of the exchange: one cursor per direction and side (the last
sequence number sent or applied, and the kinds' own cursors), and a log row per bundle."""

from datetime import datetime

from sqlalchemy import JSON, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..timeutil import utcnow

SEND, RECEIVE = "send", "receive"
SENT, APPLIED, REFUSED, WAITING = "sent", "applied", "refused", "waiting"


class ExchangeCursor(db.Model):
    """Locked (SELECT ... FOR UPDATE) by every send and every receive of its direction, so two
    schedulers, or a scheduler and an operator's command, never use one sequence number twice."""

    __tablename__ = "exchange_cursor"

    direction: Mapped[str] = mapped_column(String(10), primary_key=True)
    side: Mapped[str] = mapped_column(String(10), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    # per kind: what was last sent (an id, the digest of a snapshot); receivers keep none
    state: Mapped[dict] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ExchangeLog(db.Model):
    """One row per bundle sent, applied, refused or waiting for an earlier one."""

    __tablename__ = "exchange_log"
    __table_args__ = (Index("ix_exchange_log_direction_seq", "direction", "side", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    direction: Mapped[str] = mapped_column(String(10))
    side: Mapped[str] = mapped_column(String(10))
    seq: Mapped[int | None] = mapped_column(Integer)  # None: a file that is no bundle at all
    status: Mapped[str] = mapped_column(String(10), index=True)
    reason: Mapped[str | None] = mapped_column(String(20))
    detail: Mapped[str | None] = mapped_column(String(500))
    file_name: Mapped[str | None] = mapped_column(String(200))
    digest: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[int | None] = mapped_column(Integer)
    key_id: Mapped[str | None] = mapped_column(String(16))
    counts: Mapped[dict | None] = mapped_column(JSON)  # items per kind
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
