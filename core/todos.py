"""To-dos (待办): the actions waiting for a user, computed from the live data on each request.

Nothing is stored: a to-do disappears when the work is done (the plan approved, the shipment
moved, the registration reviewed, the position stated, the report applied, the warning
acknowledged). Who gets which kind, and scoped like the data it points at (core/scoping.py):

| kind             | who                                     | what                                             |
|------------------|-----------------------------------------|--------------------------------------------------|
| plan_approval    | command staff other than the author     | draft plans of open incidents (four-eyes rule)   |
| shipment_send    | operators (their subtree's shipments)   | shipments of approved plans still `ready`        |
|                  | command staff (suppliers' shipments)    |                                                  |
| shipment_receive | same as shipment_send                   | shipments `arrived`, receipt not yet recorded    |
| position         | operators (their subtree's lines)       | lines of draft plans without the agency's position |
| supplier_review  | administrators                          | registrations `pending`                          |
| credit_hit       | administrators                          | listed enterprises the daily credit check found  |
| report_overdue   | operators                               | agencies of the subtree whose stock report is overdue |
| red_warning      | operators and administrators with an agency | red warnings still `open` in the agency subtree |

The kinds are the features' (dispatch/todos.py, public_site/todos.py, reserve/todos.py), handed
to the app by their `Feature` (core/features.py). Each kind is one counting query and one query for its first ITEMS_PER_KIND items; the whole
list is kept per user until the next audited change or warning event (core/kept.py).
"""

from dataclasses import dataclass, field

from flask import g, has_request_context
from flask_babel import get_locale
from sqlalchemy import func, select

from . import features
from .audit import latest_change
from .extensions import db
from .kept import kept
from .timeutil import local_today

ITEMS_PER_KIND = 20


@dataclass
class TodoItem:
    title: str  # user text (escaped by the templates)
    endpoint: str  # where the work is done: url_for(endpoint, **params)
    params: dict = field(default_factory=dict)


@dataclass
class TodoGroup:
    kind: str
    count: int
    items: list[TodoItem]

    @property
    def label(self) -> str:
        return next(str(kind.label) for kind in features.todo_kinds() if kind.kind == self.kind)


def todo_list(user) -> list[TodoGroup]:
    """The user's non-empty to-do groups, in the kinds' order."""
    if not getattr(user, "is_authenticated", False):
        return []
    memo = (
        g.setdefault("todo_lists", {}) if has_request_context() else {}
    )  # the menu and the page ask twice
    if user.id not in memo:
        version = (latest_change(), features.todo_version(), local_today())
        # the titles are translated: kept per user and language
        memo[user.id] = kept(
            "todos", user, (user.id, str(get_locale())), version, lambda: _compute(user)
        )
    return memo[user.id]


def todo_count(user) -> int:
    return sum(group.count for group in todo_list(user))


def _compute(user) -> list[TodoGroup]:
    groups = (kind.compute(user) for kind in features.todo_kinds())
    return [group for group in groups if group is not None and group.count]


def group(kind: str, stmt, make) -> TodoGroup:
    """Count `stmt`'s rows and turn its first ITEMS_PER_KIND rows into items."""
    count = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = db.session.execute(stmt.limit(ITEMS_PER_KIND)).all() if count else []
    return TodoGroup(kind, count, [make(row) for row in rows])
