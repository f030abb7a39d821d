"""Readiness to-dos (core/todos.py): standard scenarios whose latest nightly assessment leaves a
county below READINESS_WARN_THRESHOLD, for command staff."""

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from core.extensions import db
from core.features import TodoKind
from core.policy import may_command_incidents
from core.todos import ITEMS_PER_KIND, TodoGroup, TodoItem

from . import rules
from .models import ReadinessRun, Scenario


def counties_below(result: dict, threshold: float) -> list[str]:
    return sorted(
        c for c, v in result["counties"].items() if rules.should_warn(v["score"], threshold)
    )


def low_readiness(user):
    if not may_command_incidents(user):
        return None
    threshold = current_app.config["READINESS_WARN_THRESHOLD"]
    latest = (
        select(func.max(ReadinessRun.id))
        .where(ReadinessRun.nightly.is_(True))
        .group_by(ReadinessRun.scenario_id)
    )
    runs = db.session.execute(
        select(ReadinessRun)
        .join(Scenario, Scenario.id == ReadinessRun.scenario_id)
        .where(ReadinessRun.id.in_(latest), Scenario.is_standard.is_(True))
        .order_by(ReadinessRun.score, ReadinessRun.id)
    ).scalars()
    items = []
    for run in runs:
        low = counties_below(run.result, threshold)
        if low:
            items.append(
                TodoItem(
                    f"{run.scenario.name} · "
                    + _("%(n)s counties below %(t)s", n=len(low), t=threshold),
                    "readiness.page",
                    {"scenario_id": run.scenario_id},
                )
            )
    return TodoGroup("readiness_low", len(items), items[:ITEMS_PER_KIND])


TODOS = (
    TodoKind("readiness_low", _l("Counties not ready for a standard scenario"), 60, low_readiness),
)
