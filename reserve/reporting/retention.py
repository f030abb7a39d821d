"""Refused report files are not kept forever: the file of a submission that was refused
(`invalid`) or not confirmed (`discarded`) is dropped after SUBMISSION_FILE_RETENTION_DAYS, and
each agency keeps at most SUBMISSION_FILE_QUOTA_MB of such files (the newest). The submission
itself stays (who, when, hash, size, the errors found): only its `content` becomes empty, so
the annotated copy and the download answer 404 "not available". Applied and reverted files
are the ledger's evidence and are never dropped.

The quota is enforced when a file is refused (in the same transaction) and by the daily job
`submissions-prune` (core/scheduler.py), which also applies the age limit.
"""

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, update

from core.extensions import db

from .models import Submission

PRUNABLE = ("invalid", "discarded")


def _kept_refused():
    return (Submission.status.in_(PRUNABLE), Submission.content.is_not(None))


def drop_expired(now: datetime, days: int) -> int:
    """Drop the refused files older than `days`; the caller commits."""
    result = db.session.execute(
        update(Submission)
        .where(*_kept_refused(), Submission.created_at < now - timedelta(days=days))
        .values(content=None)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def enforce_quota(agency_id: int, quota_bytes: int) -> int:
    """Drop the agency's oldest refused files beyond `quota_bytes` (newest kept first); the caller commits."""
    rows = db.session.execute(
        select(Submission.id, Submission.file_size)
        .where(Submission.agency_id == agency_id, *_kept_refused())
        .order_by(Submission.created_at.desc(), Submission.id.desc())
    ).all()
    total, dropped = 0, []
    for submission_id, size in rows:
        total += size
        if total > quota_bytes:
            dropped.append(submission_id)
    for start in range(0, len(dropped), 500):
        db.session.execute(
            update(Submission)
            .where(Submission.id.in_(dropped[start : start + 500]))
            .values(content=None)
            .execution_options(synchronize_session=False)
        )
    return len(dropped)


def quota_bytes() -> int:
    return current_app.config["SUBMISSION_FILE_QUOTA_MB"] * 1024 * 1024


def prune_refused_files(now: datetime) -> dict:
    """The daily job's work: the age limit for every agency, then each agency's quota. Safe to
    run twice (a dropped file stays dropped)."""
    expired = drop_expired(now, current_app.config["SUBMISSION_FILE_RETENTION_DAYS"])
    agencies = db.session.scalars(
        select(Submission.agency_id).where(*_kept_refused()).distinct()
    ).all()
    over_quota = sum(enforce_quota(agency_id, quota_bytes()) for agency_id in agencies)
    db.session.commit()
    return {"expired": expired, "over_quota": over_quota}
