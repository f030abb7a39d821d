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
| report_overdue   | operators                               | agencies of the subtree whose stock report is overdue |
| red_warning      | operators and administrators with an agency | red warnings still `open` in the agency subtree |

Each kind is one counting query and one query for its first ITEMS_PER_KIND items; the whole
list is kept per user until the next audited change or warning event (core/kept.py).
"""

from dataclasses import dataclass, field

from flask import current_app, g, has_request_context
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from .audit import latest_change
from .extensions import db
from .kept import kept
from .policy import facts, todo_scope
from .scoping import subtree_ids
from .timeutil import local_today

ITEMS_PER_KIND = 20

KIND_LABELS = {
    "plan_approval": _l("Plans awaiting approval"),
    "shipment_send": _l("Shipments to send"),
    "shipment_receive": _l("Shipments to receive"),
    "position": _l("Positions awaited from your agency"),
    "supplier_review": _l("Supplier registrations to review"),
    "report_overdue": _l("Overdue reports"),
    "red_warning": _l("Open red warnings"),
}


@dataclass
class TodoItem:
    title: str                   # user text (escaped by the templates)
    endpoint: str                # where the work is done: url_for(endpoint, **params)
    params: dict = field(default_factory=dict)


@dataclass
class TodoGroup:
    kind: str
    count: int
    items: list[TodoItem]

    @property
    def label(self) -> str:
        return str(KIND_LABELS[self.kind])


def todo_list(user) -> list[TodoGroup]:
    """The user's non-empty to-do groups, in KIND_LABELS order."""
    if not getattr(user, "is_authenticated", False):
        return []
    from reserve.warnings.services import warnings_version

    memo = g.setdefault("todo_lists", {}) if has_request_context() else {}  # the menu and the page ask twice
    if user.id not in memo:
        version = (latest_change(), warnings_version(), local_today())
        # the titles are translated: kept per user and language
        memo[user.id] = kept("todos", user, (user.id, str(get_locale())), version, lambda: _compute(user))
    return memo[user.id]


def todo_count(user) -> int:
    return sum(group.count for group in todo_list(user))


def _compute(user) -> list[TodoGroup]:
    roles, path = facts(user)
    reach = todo_scope(roles, bool(path))
    groups = []
    if reach.plan_approvals:
        groups.append(_plan_approvals(user))
    if reach.agency_shipments:
        groups += [_shipments(path, "ready", "shipment_send"), _shipments(path, "arrived", "shipment_receive"),
                   _positions(path)]
    elif reach.all_shipments:
        groups += [_shipments(None, "ready", "shipment_send"), _shipments(None, "arrived", "shipment_receive")]
    if reach.supplier_reviews:
        groups.append(_supplier_reviews())
    if reach.overdue_reports:
        groups.append(_overdue_reports(user))
    if reach.red_warnings:
        groups.append(_red_warnings(path))
    order = list(KIND_LABELS)
    return sorted((group for group in groups if group.count), key=lambda group: order.index(group.kind))


def _group(kind: str, stmt, make) -> TodoGroup:
    """Count `stmt`'s rows and turn its first ITEMS_PER_KIND rows into items."""
    count = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = db.session.execute(stmt.limit(ITEMS_PER_KIND)).all() if count else []
    return TodoGroup(kind, count, [make(row) for row in rows])


def _plan_approvals(user) -> TodoGroup:
    from dispatch.models import Incident, PlanVersion

    stmt = (select(PlanVersion.id, PlanVersion.version, Incident.id, Incident.number, Incident.title)
            .join(Incident, Incident.id == PlanVersion.incident_id)
            .where(PlanVersion.status == "draft", Incident.status != "closed")
            .order_by(PlanVersion.created_at, PlanVersion.id))
    if current_app.config.get("DISPATCH_FOUR_EYES"):
        stmt = stmt.where((PlanVersion.author_id.is_(None)) | (PlanVersion.author_id != user.id))
    # The version's words outside the f-string: Babel's extractor does not look inside one.
    return _group("plan_approval", stmt, lambda r: TodoItem(
        f"{r[4]}（{r[3]}）· " + _("plan version %(n)s", n=r[1]), "dispatch.board", {"incident_id": r[2],
                                                                                   "_anchor": "plan"}))


def _shipments(path: str | None, status: str, kind: str) -> TodoGroup:
    """Shipments of approved plans of open incidents in `status`: the subtree's, or (path None)
    the suppliers' ones, which command staff move."""
    from dispatch.models import Incident, PlanLine, PlanVersion, Shipment
    from reserve.models import Material

    stmt = (select(Shipment.batch_no, Shipment.quantity, Material.name, Material.unit, Incident.id, Incident.title)
            .join(PlanLine, PlanLine.id == Shipment.line_id).join(PlanVersion, PlanVersion.id == PlanLine.plan_id)
            .join(Incident, Incident.id == Shipment.incident_id).join(Material, Material.id == PlanLine.material_id)
            .where(Shipment.status == status, PlanVersion.status == "approved", Incident.status != "closed")
            .order_by(Shipment.id))
    stmt = stmt.where(Shipment.agency_id.in_(subtree_ids(path))) if path else stmt.where(Shipment.agency_id.is_(None))
    return _group(kind, stmt, lambda r: TodoItem(f"{r[5]} · {r[0]} · {r[2]} {r[1]} {r[3] or ''}".rstrip(),
                                                 "dispatch.board", {"incident_id": r[4], "_anchor": "shipments"}))


def _positions(path: str) -> TodoGroup:
    from dispatch.models import Incident, LinePosition, PlanLine, PlanVersion
    from reserve.models import Depot, Material

    stmt = (select(PlanLine.id, PlanLine.quantity, Material.name, Material.unit, Incident.id, Incident.title, Depot.name)
            .join(PlanVersion, PlanVersion.id == PlanLine.plan_id).join(Incident, Incident.id == PlanVersion.incident_id)
            .join(Material, Material.id == PlanLine.material_id).outerjoin(Depot, Depot.id == PlanLine.depot_id)
            .outerjoin(LinePosition, LinePosition.line_id == PlanLine.id)
            .where(PlanVersion.status == "draft", Incident.status != "closed", LinePosition.id.is_(None),
                   PlanLine.agency_id.in_(subtree_ids(path)))
            .order_by(PlanLine.id))
    return _group("position", stmt, lambda r: TodoItem(" · ".join(str(part) for part in (
        r[5], r[6], f"{r[2]} {r[1]} {r[3] or ''}".rstrip()) if part),
                                                       "dispatch.board", {"incident_id": r[4], "_anchor": "plan"}))


def _supplier_reviews() -> TodoGroup:
    from public_site.models import Supplier

    stmt = (select(Supplier.id, Supplier.name).where(Supplier.status == "pending")
            .order_by(Supplier.submitted_at, Supplier.id))
    return _group("supplier_review", stmt, lambda r: TodoItem(r[1], "public_site.admin_supplier",
                                                              {"supplier_id": r[0]}))


def _overdue_reports(user) -> TodoGroup:
    """Agencies of the subtree with an overdue stock report in the last two periods (the
    scoreboard's rule, reserve/reporting/freshness.py)."""
    from reserve.reporting.freshness import scoreboard

    rows = [row for row in scoreboard(user, "stock", local_today(), periods=2, completeness=False, scores=False)
            if row.expected and "overdue" in row.statuses]
    items = [TodoItem(row.agency_name, "reporting.index", {"agency_id": row.agency_id})
             for row in rows[:ITEMS_PER_KIND]]
    return TodoGroup("report_overdue", len(rows), items)


def _red_warnings(path: str) -> TodoGroup:
    from reserve.models import Depot, Material
    from reserve.warnings.models import KIND_LABELS as WARNING_KINDS
    from reserve.warnings.models import ReserveWarning

    stmt = (select(ReserveWarning.id, ReserveWarning.kind, Depot.name, Material.name)
            .outerjoin(Depot, Depot.id == ReserveWarning.depot_id)
            .outerjoin(Material, Material.id == ReserveWarning.material_id)
            .where(ReserveWarning.severity == "red", ReserveWarning.status == "open",
                   ReserveWarning.agency_id.in_(subtree_ids(path)))
            .order_by(ReserveWarning.opened_at.desc(), ReserveWarning.id.desc()))
    return _group("red_warning", stmt, lambda r: TodoItem(
        " · ".join(str(part) for part in (WARNING_KINDS.get(r[1], r[1]), r[2], r[3]) if part),
        "warnings_ui.detail", {"warning_id": r[0]}))
