"""The reporting calendar: cadence per agency and kind, on-time / late / missing per period,
completeness, and the scoreboard.

Rules (pure, documented in docs/reporting.md):
- A period is a calendar week (Monday first), month or quarter, in local dates.
- A period's report is due `grace_days` after the period ends. It is **on time** if a
  submission of the kind was applied between the period's start and its due date, **late** if
  the first one came after the due date but before the next period's due date, **missing** if
  none came by then, and **open** while the period has not reached its due date with none yet.
- Completeness (stock) = share of the agency's active depots covered by the period's applied
  stock reports (a full report covers all of them), and the share of the materials it holds.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, null, select

from core.audit import latest_change
from core.errors import Invalid, NotAllowed
from core.extensions import db
from core.kept import kept
from core.policy import may_administer_system
from core.scoping import scoped
from core.timeutil import to_local

from core.organisation import Agency
from ..models import Depot
from ..sharing.models import QualitySnapshot
from ..stock.queries import materials_held
from .models import PERIODS, ReportCadence, Submission
from .standard import KINDS

DEFAULT_CADENCE = ("monthly", 5)
STATUS_LABELS = {
    "on_time": _l("On time"),
    "late": _l("Late"),
    "overdue": _l("Overdue"),
    "missing": _l("Missing"),
    "open": _l("Open"),
    "not_started": _l("Before the calendar start"),
}
NOT_COUNTED = ("open", "not_started")  # statuses that are neither kept nor missed


def period_start(period: str, day: date) -> date:
    if period == "weekly":
        return day - timedelta(days=day.weekday())
    if period == "monthly":
        return day.replace(day=1)
    return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)


def next_period_start(period: str, start: date) -> date:
    if period == "weekly":
        return start + timedelta(days=7)
    months = 1 if period == "monthly" else 3
    month = start.month - 1 + months
    return date(start.year + month // 12, month % 12 + 1, 1)


def recent_periods(period: str, today: date, count: int) -> list[tuple[date, date]]:
    """The last `count` periods up to the current one, oldest first: (start, end exclusive)."""
    starts = [period_start(period, today)]
    while len(starts) < count:
        starts.insert(0, period_start(period, starts[0] - timedelta(days=1)))
    return [(s, next_period_start(period, s)) for s in starts]


def period_status(start: date, end: date, grace_days: int, applied: list[date], today: date) -> str:
    """on_time / late / missing / open for one period, from the local dates reports were applied."""
    due = end + timedelta(days=grace_days - 1)
    following_due = due + (end - start)
    if any(start <= d <= due for d in applied):
        return "on_time"
    if any(due < d <= following_due for d in applied):
        return "late"
    return "open" if today <= due else ("missing" if today > following_due else "overdue")


@dataclass
class ScoreRow:
    agency_id: int
    agency_code: str
    agency_name: str
    period: str
    last_applied_at: datetime | None
    statuses: list[str]  # one per recent period, oldest first
    on_time_share: float | None  # among the closed periods shown
    depots_share: float | None
    materials_share: float | None
    expected: bool = True  # stock: the agency has active depots; other kinds: a cadence is set
    quality_score: float | None = None  # latest data-quality snapshot (reserve/sharing)

    @property
    def current(self) -> str:
        return self.statuses[-1]


def cadence_for(agency_id: int, kind: str, cadences: dict) -> tuple[str, int]:
    return cadences.get((agency_id, kind)) or cadences.get((None, kind)) or DEFAULT_CADENCE


def start_for(agency_id: int, kind: str, starts: dict) -> date | None:
    """The calendar's first day for an agency and kind: its own cadence's, else the default's."""
    return starts.get((agency_id, kind)) or starts.get((None, kind))


def statuses_since(
    windows, grace: int, applied: list[date], today: date, start: date | None
) -> list[str]:
    """period_status of each window; a period that ended before the calendar start owes nothing."""
    return [
        "not_started"
        if start is not None and end <= start
        else period_status(begin, end, grace, applied, today)
        for begin, end in windows
    ]


def _local(moment: datetime) -> date:
    return to_local(moment).date()


def required_kinds() -> list[str]:
    """Kinds whose reports are expected: stock always; others once a cadence is set for them."""
    configured = set(db.session.scalars(select(ReportCadence.kind).distinct()))
    return ["stock"] + sorted(configured - {"stock"})


def is_reporting_expected(row: "ScoreRow", kind: str) -> bool:
    return row.expected


def scoreboard(
    user,
    kind: str,
    today: date,
    periods: int = 6,
    *,
    all_agencies: bool = False,
    agency_id: int | None = None,
    completeness: bool = True,
    scores: bool = True,
) -> list[ScoreRow]:
    """One row per agency the user may see (every agency with `all_agencies`, for the warning
    scan): its cadence, status in each recent period, share of periods on time, (stock and
    `completeness`; else None) the shares of depots and materials the current period's reports
    covered, and (`scores`) the latest data-quality score."""
    if kind not in KINDS:
        kind = "stock"
    columns = select(
        Agency.id, Agency.code, Agency.name
    )  # not whole agencies: 3,000 of them at national scale
    stmt = columns if all_agencies else scoped(columns, user, Agency.id)
    if agency_id is not None:
        stmt = stmt.where(Agency.id == agency_id)
    agencies = db.session.execute(stmt.order_by(Agency.path)).all()
    cadence_rows = db.session.execute(select(ReportCadence)).scalars().all()
    cadences = {(c.agency_id, c.kind): (c.period, c.grace_days) for c in cadence_rows}
    starts = {(c.agency_id, c.kind): c.starts_on for c in cadence_rows if c.starts_on}
    earliest = today - timedelta(days=400 if periods <= 4 else 100 * periods)
    applied: dict[int, list[datetime]] = {}
    coverage: dict[int, list[dict]] = {}
    cover_column = (
        Submission.coverage if completeness else null()
    )  # lists of ids: read only when used
    for agency_id, applied_at, cover in db.session.execute(
        select(Submission.agency_id, Submission.applied_at, cover_column).where(
            Submission.kind == kind,
            Submission.applied_at.is_not(None),
            Submission.applied_at >= earliest,
        )
    ):
        applied.setdefault(agency_id, []).append(applied_at)
        coverage.setdefault(agency_id, []).append((applied_at, cover))
    depot_counts, held = _holdings(with_materials=completeness) if kind == "stock" else ({}, {})
    rows, windows_of = [], {}
    for agency in agencies:
        period, grace = cadence_for(agency.id, kind, cadences)
        windows = windows_of.get(period) or windows_of.setdefault(
            period, recent_periods(period, today, periods)
        )
        days = [_local(a) for a in applied.get(agency.id, [])]
        statuses = statuses_since(windows, grace, days, today, start_for(agency.id, kind, starts))
        closed = [s for s in statuses if s not in NOT_COUNTED]
        depots_share = materials_share = None
        if kind == "stock" and completeness:
            start = windows[-1][0]
            current = [c for at, c in coverage.get(agency.id, []) if _local(at) >= start and c]
            depots_share = _share(
                current, "depots", depot_counts.get(agency.id, 0), full_means_all=True
            )
            materials_share = _share(
                current, "materials", len(held.get(agency.id, ())), subset=held.get(agency.id)
            )
        expected = (
            bool(depot_counts.get(agency.id))
            if kind == "stock"
            else ((agency.id, kind) in cadences or (None, kind) in cadences)
        )
        rows.append(
            ScoreRow(
                agency.id,
                agency.code,
                agency.name,
                period,
                max(applied[agency.id]) if agency.id in applied else None,
                statuses,
                round(closed.count("on_time") / len(closed), 3) if closed else None,
                depots_share,
                materials_share,
                expected,
            )
        )
    if scores:
        latest = latest_scores(row.agency_id for row in rows)
        for row in rows:
            row.quality_score = latest.get(row.agency_id)
    return rows


def current_counts(user, kind: str, today: date) -> dict[str, int]:
    """How many of the agencies the user may see are on time, late, open... in the current
    period: the warning dashboard's freshness line, kept per scope until the next audited change
    (a report applied, a cadence or an agency changed; core/kept.py)."""

    def count() -> dict[str, int]:
        counts: dict[str, int] = {}
        for row in scoreboard(user, kind, today, periods=2, completeness=False, scores=False):
            counts[row.current] = counts.get(row.current, 0) + 1
        return counts

    return kept("report_freshness", user, (kind, today), latest_change(), count)


def latest_scores(agency_ids) -> dict[int, float | None]:
    """The latest data-quality snapshot score of each agency, for the scoreboard. Read here, not in
    reserve/sharing/quality.py, which takes the snapshots and itself reads the scoreboard."""
    ids = list(agency_ids)
    if not ids:
        return {}
    latest = (
        select(QualitySnapshot.agency_id, func.max(QualitySnapshot.day).label("day"))
        .where(QualitySnapshot.agency_id.in_(ids))
        .group_by(QualitySnapshot.agency_id)
        .subquery()
    )
    rows = db.session.execute(
        select(QualitySnapshot.agency_id, QualitySnapshot.score).join(
            latest,
            (QualitySnapshot.agency_id == latest.c.agency_id)
            & (QualitySnapshot.day == latest.c.day),
        )
    ).all()
    return dict(rows)


def _holdings(with_materials: bool = True) -> tuple[dict[int, int], dict[int, set[int]]]:
    depot_counts = dict(
        db.session.execute(
            select(Depot.agency_id, func.count())
            .where(Depot.status == "active")
            .group_by(Depot.agency_id)
        ).all()
    )
    held: dict[int, set[int]] = {}
    if not with_materials:
        return depot_counts, held
    for agency_id, material_id in materials_held():
        held.setdefault(agency_id, set()).add(material_id)
    return depot_counts, held


def _share(coverages, key, total, *, full_means_all=False, subset=None) -> float | None:
    if not total:
        return None
    if full_means_all and any(c.get("full") for c in coverages):
        return 1.0
    covered = set().union(*[set(c.get(key, ())) for c in coverages]) if coverages else set()
    if subset is not None:
        covered &= subset
    return round(min(len(covered) / total, 1.0), 3)


def list_cadences():
    return select(ReportCadence).order_by(
        ReportCadence.agency_id.is_not(None), ReportCadence.agency_id, ReportCadence.kind
    )


def set_cadence(
    user,
    *,
    agency_id: int | None,
    kind: str,
    period: str,
    grace_days: int,
    starts_on: date | None = None,
) -> ReportCadence:
    """Create or change a cadence (administrators). No agency: the default for every agency."""
    if not may_administer_system(user):
        raise NotAllowed(_("Only administrators set the reporting calendar."))
    if agency_id is not None and db.session.get(Agency, agency_id) is None:
        raise Invalid(_("Unknown agency."), errors={"agency_id": [_("not found")]})
    if period not in PERIODS or kind not in KINDS or not 0 <= grace_days <= 60:
        raise Invalid(
            _("A cadence is weekly, monthly or quarterly, with 0 to 60 days of grace."),
            errors={"period": list(PERIODS), "kind": list(KINDS)},
        )
    row = db.session.execute(
        select(ReportCadence).filter_by(agency_id=agency_id, kind=kind)
    ).scalar_one_or_none()
    if row is None:
        row = ReportCadence(agency_id=agency_id, kind=kind)
        db.session.add(row)
    row.period, row.grace_days = period, grace_days
    if starts_on is not None:
        row.starts_on = starts_on
    db.session.commit()
    return row
