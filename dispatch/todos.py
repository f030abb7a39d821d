"""Dispatch's to-dos (core/todos.py): plans awaiting approval, shipments to send and to receive,
positions awaited from an agency."""

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from core.features import TodoKind
from core.policy import todo_reach
from core.scoping import subtree_ids
from core.todos import TodoItem, group
from reserve.models import Depot, Material

from .models import Incident, LinePosition, PlanLine, PlanVersion, Shipment, Trip, TripDrop
from .statuses import TripStatus


def plan_approvals(user):
    """Command staff other than the author: draft plans of open incidents (four-eyes rule)."""
    if not todo_reach(user)[0].plan_approvals:
        return None
    stmt = (
        select(PlanVersion.id, PlanVersion.version, Incident.id, Incident.number, Incident.title)
        .join(Incident, Incident.id == PlanVersion.incident_id)
        .where(PlanVersion.status == "draft", Incident.status != "closed")
        .order_by(PlanVersion.created_at, PlanVersion.id)
    )
    if current_app.config.get("DISPATCH_FOUR_EYES"):
        stmt = stmt.where((PlanVersion.author_id.is_(None)) | (PlanVersion.author_id != user.id))
    # The version's words outside the f-string: Babel's extractor does not look inside one.
    return group(
        "plan_approval",
        stmt,
        lambda r: TodoItem(
            f"{r[4]}（{r[3]}）· " + _("plan version %(n)s", n=r[1]),
            "dispatch.board",
            {"incident_id": r[2], "_anchor": "plan"},
        ),
    )


def _lines_in_trips():
    """Plan lines carried by a trip of a 装车方案 (not cancelled): their own shipments move with
    the trips, so they are nobody's shipment to-do."""
    return (
        select(TripDrop.line_id)
        .join(Trip, Trip.id == TripDrop.trip_id)
        .where(Trip.status != TripStatus.CANCELLED)
    )


def _shipments(user, status: str, kind: str):
    """Shipments of approved plans of open incidents in `status`: an operator's subtree's, or the
    suppliers' ones for command staff, who move those."""
    reach, path = todo_reach(user)
    if reach.agency_shipments:
        scope = Shipment.agency_id.in_(subtree_ids(path))
    elif reach.all_shipments:
        scope = Shipment.agency_id.is_(None)
    else:
        return None
    stmt = (
        select(
            Shipment.batch_no,
            Shipment.quantity,
            Material.name,
            Material.unit,
            Incident.id,
            Incident.title,
        )
        .join(PlanLine, PlanLine.id == Shipment.line_id)
        .join(PlanVersion, PlanVersion.id == PlanLine.plan_id)
        .join(Incident, Incident.id == Shipment.incident_id)
        .join(Material, Material.id == PlanLine.material_id)
        .where(
            Shipment.status == status,
            PlanVersion.status == "approved",
            Incident.status != "closed",
            scope,
            ~Shipment.line_id.in_(_lines_in_trips()),  # those move by their trips
        )
        .order_by(Shipment.id)
    )
    return group(
        kind,
        stmt,
        lambda r: TodoItem(
            f"{r[5]} · {r[0]} · {r[2]} {r[1]} {r[3] or ''}".rstrip(),
            "dispatch.board",
            {"incident_id": r[4], "_anchor": "shipments"},
        ),
    )


def positions(user):
    """Operators: lines of draft plans in their subtree without the agency's position."""
    reach, path = todo_reach(user)
    if not reach.agency_shipments:  # an operator's agency: its lines
        return None
    stmt = (
        select(
            PlanLine.id,
            PlanLine.quantity,
            Material.name,
            Material.unit,
            Incident.id,
            Incident.title,
            Depot.name,
        )
        .join(PlanVersion, PlanVersion.id == PlanLine.plan_id)
        .join(Incident, Incident.id == PlanVersion.incident_id)
        .join(Material, Material.id == PlanLine.material_id)
        .outerjoin(Depot, Depot.id == PlanLine.depot_id)
        .outerjoin(LinePosition, LinePosition.line_id == PlanLine.id)
        .where(
            PlanVersion.status == "draft",
            Incident.status != "closed",
            LinePosition.id.is_(None),
            PlanLine.agency_id.in_(subtree_ids(path)),
        )
        .order_by(PlanLine.id)
    )
    return group(
        "position",
        stmt,
        lambda r: TodoItem(
            " · ".join(
                str(part) for part in (r[5], r[6], f"{r[2]} {r[1]} {r[3] or ''}".rstrip()) if part
            ),
            "dispatch.board",
            {"incident_id": r[4], "_anchor": "plan"},
        ),
    )


TODOS = (
    TodoKind("plan_approval", _l("Plans awaiting approval"), 10, plan_approvals),
    TodoKind(
        "shipment_send",
        _l("Shipments to send"),
        20,
        lambda user: _shipments(user, "ready", "shipment_send"),
    ),
    TodoKind(
        "shipment_receive",
        _l("Shipments to receive"),
        30,
        lambda user: _shipments(user, "arrived", "shipment_receive"),
    ),
    TodoKind("position", _l("Positions awaited from your agency"), 40, positions),
)
