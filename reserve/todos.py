"""The registry's to-dos (core/todos.py): overdue stock reports, open red warnings."""

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from core.features import TodoKind
from core.policy import todo_reach
from core.scoping import subtree_ids
from core.timeutil import local_today
from core.todos import ITEMS_PER_KIND, TodoGroup, TodoItem, group

from .models import Depot, Material
from .reporting.freshness import scoreboard
from .warnings.models import KIND_LABELS as WARNING_KINDS
from .warnings.models import ReserveWarning


def overdue_reports(user):
    """Operators: agencies of the subtree with an overdue stock report in the last two periods
    (the scoreboard's rule, reserve/reporting/freshness.py)."""
    if not todo_reach(user)[0].overdue_reports:
        return None
    rows = [
        row
        for row in scoreboard(
            user, "stock", local_today(), periods=2, completeness=False, scores=False
        )
        if row.expected and "overdue" in row.statuses
    ]
    items = [
        TodoItem(row.agency_name, "reporting.index", {"agency_id": row.agency_id})
        for row in rows[:ITEMS_PER_KIND]
    ]
    return TodoGroup("report_overdue", len(rows), items)


def red_warnings(user):
    """Operators and administrators with an agency: red warnings still open in the subtree."""
    reach, path = todo_reach(user)
    if not reach.red_warnings:
        return None
    stmt = (
        select(ReserveWarning.id, ReserveWarning.kind, Depot.name, Material.name)
        .outerjoin(Depot, Depot.id == ReserveWarning.depot_id)
        .outerjoin(Material, Material.id == ReserveWarning.material_id)
        .where(
            ReserveWarning.severity == "red",
            ReserveWarning.status == "open",
            ReserveWarning.agency_id.in_(subtree_ids(path)),
        )
        .order_by(ReserveWarning.opened_at.desc(), ReserveWarning.id.desc())
    )
    return group(
        "red_warning",
        stmt,
        lambda r: TodoItem(
            " · ".join(str(part) for part in (WARNING_KINDS.get(r[1], r[1]), r[2], r[3]) if part),
            "warnings_ui.detail",
            {"warning_id": r[0]},
        ),
    )


TODOS = (
    TodoKind("report_overdue", _l("Overdue reports"), 60, overdue_reports),
    TodoKind("red_warning", _l("Open red warnings"), 70, red_warnings),
)
