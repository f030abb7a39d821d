"""The demo's rotation items (`flask demo init`, after the first warning scan): a few expiry
warnings of the demo province planned by their agencies' administrators, one of them half done,
so the worklist, an item's steps and the calendar have something to show."""

from sqlalchemy import func, select

from core.auth import OPERATOR, User
from core.extensions import db

from ..warnings.models import ReserveWarning
from . import completion, rules, services
from .models import RotationItem

PER_KIND = 2


def is_empty() -> bool:
    return not db.session.scalar(select(func.count(RotationItem.id)))


def _planner(agency_id: int) -> User:
    """Someone who writes for the agency: one of its operators, else the system's admin."""
    from core.auth import ADMIN, Role

    for role in (OPERATOR, ADMIN):
        stmt = select(User).where(User.roles.any(Role.name == role), User.active.is_(True))
        if role == OPERATOR:
            stmt = stmt.where(User.agency_id == agency_id)
        user = db.session.execute(stmt.order_by(User.id).limit(1)).scalar_one_or_none()
        if user is not None:
            return user
    raise LookupError("no user may plan rotations")


def _demo_warnings() -> list[ReserveWarning]:
    """PER_KIND warnings of each expiry kind across the province, and PER_KIND of each kind of
    the agencies whose operators sign in to the demo (so their worklist is not empty)."""
    operated = select(User.agency_id).where(User.agency_id.is_not(None))
    chosen: dict[int, ReserveWarning] = {}
    for kind in rules.ROTATABLE_KINDS:
        for scope in (None, operated):
            stmt = select(ReserveWarning).where(
                ReserveWarning.kind == kind, ReserveWarning.status != "resolved"
            )
            if scope is not None:
                stmt = stmt.where(ReserveWarning.agency_id.in_(scope))
            stmt = stmt.order_by(ReserveWarning.urgency.desc(), ReserveWarning.id).limit(PER_KIND)
            for warning in db.session.execute(stmt).scalars():
                chosen[warning.id] = warning
    return list(chosen.values())


def build_rotation_demo() -> dict:
    """Plan the demo's warnings (one item each, by a user of the agency); book half of the
    first issue or donation."""
    made = {"items": 0, "steps": 0}
    for warning in _demo_warnings():
        planner = _planner(warning.agency_id)
        outcome = services.create_from_warnings(
            planner, [warning.id], responsible=planner.display_name or "仓储科"
        )
        made["items"] += len(outcome["created"])
    first = db.session.execute(
        select(RotationItem)
        .where(RotationItem.action.in_([rules.ISSUE, rules.DONATION]))
        .order_by(RotationItem.id)
        .limit(1)
    ).scalar_one_or_none()
    if first is not None and first.quantity > 1:
        if first.action == rules.DONATION:
            first.recipient = "县红十字会"
            db.session.commit()
        completion.complete_step(
            _planner(first.agency_id),
            first.id,
            completion.StepInput(quantity=first.quantity // 2, confirm=True),
        )
        made["steps"] += 1
    return made
