"""The home page's live figures for staff: active incidents, red warnings, the reporting rate
and the user's to-dos, each read through the services that scope it (a few queries, and the
reporting figures kept per scope until the next audited change)."""

from dataclasses import dataclass

from sqlalchemy import func, select

from .audit import latest_change
from .extensions import db
from .kept import kept
from .timeutil import local_today
from .todos import TodoGroup, todo_list

INCIDENTS_SHOWN = 5


@dataclass
class Reporting:
    expected: int        # agencies in view that owe a stock report
    reported: int        # of them, reported in the current period (on time or late)
    previous_on_time: int  # of them, on time in the previous period

    @property
    def rate(self) -> float | None:
        return self.reported / self.expected if self.expected else None


@dataclass
class HomeFigures:
    incidents: list          # the newest active incidents (not closed), drills included and marked
    incident_count: int
    red_warnings: int        # active (open or acknowledged) red warnings in view
    reporting: Reporting
    todos: list[TodoGroup]


def home_figures(user) -> HomeFigures:
    from dispatch.services.incidents import list_incidents
    from reserve.warnings.services import WarningFilter, count_warnings

    from dispatch.models import Incident

    active = list_incidents(user).where(_incident_open())
    # the columns shown only: whole incidents load their plan, its norms and more (47 ms)
    incidents = db.session.execute(active.with_only_columns(Incident.id, Incident.title, Incident.drill,
                                                            Incident.started_at).limit(INCIDENTS_SHOWN)).all()
    count = db.session.scalar(select(func.count()).select_from(active.order_by(None).subquery())) or 0
    return HomeFigures(incidents, count, count_warnings(user, WarningFilter(severity="red")), _reporting(user),
                       todo_list(user))


def _incident_open():
    from dispatch.models import Incident

    return Incident.status != "closed"


def _reporting(user) -> Reporting:
    from reserve.reporting.freshness import scoreboard

    def compute() -> Reporting:
        rows = [r for r in scoreboard(user, "stock", local_today(), periods=2, completeness=False, scores=False)
                if r.expected]
        return Reporting(len(rows), sum(1 for r in rows if r.statuses[-1] in ("on_time", "late")),
                         sum(1 for r in rows if r.statuses[0] == "on_time"))

    return kept("home_reporting", user, local_today(), latest_change(), compute)
