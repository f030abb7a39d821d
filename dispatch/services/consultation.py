"""Online consultation (在线会商): messages per incident (and per plan version), each involved
agency's position on its own lines, and the decision log."""

from flask_babel import gettext as _
from sqlalchemy import select

from core.errors import Conflict, DomainError, Invalid, NotAllowed, NotFound
from core.extensions import db
from core.policy import may_write_for_agency, may_write_in_consultation
from reserve.services.access import agency_path

from ..models import POSITIONS, ConsultationMessage, LinePosition, PlanLine
from ..statuses import PlanStatus
from .incidents import get_incident, require_command
from .versions import get_plan
from .visibility import visible_lines


def post_message(
    user, incident_id: int, body: str, *, plan_id: int | None = None, decision: bool = False
) -> ConsultationMessage:
    incident = get_incident(user, incident_id)
    if not may_write_in_consultation(user):
        raise NotAllowed(
            _("Leaders and viewers read the consultation; staff of the agencies write in it.")
        )
    if not body or not body.strip():
        raise Invalid(_("Write a message."), errors={"body": [_("required")]})
    if decision:
        require_command(user)
    if plan_id is not None and get_plan(user, plan_id).incident_id != incident.id:
        raise Invalid(
            _("The plan belongs to another incident."), errors={"plan_id": [_("invalid")]}
        )
    message = ConsultationMessage(
        incident_id=incident.id,
        plan_id=plan_id,
        author_id=user.id,
        agency_id=getattr(user, "agency_id", None),
        body=body.strip()[:4000],
        kind="decision" if decision else "message",
    )
    db.session.add(message)
    db.session.commit()
    return message


def thread(
    user, incident_id: int, *, plan_id: int | None = None, decisions_only=False
) -> list[ConsultationMessage]:
    get_incident(user, incident_id)
    stmt = select(ConsultationMessage).where(ConsultationMessage.incident_id == incident_id)
    if plan_id is not None:
        stmt = stmt.where(ConsultationMessage.plan_id == plan_id)
    if decisions_only:
        stmt = stmt.where(ConsultationMessage.kind == "decision")
    return db.session.execute(stmt.order_by(ConsultationMessage.id)).scalars().all()


def position_obstacle(user, line: PlanLine, plan) -> DomainError | None:
    """Why `user` may not state a position on `line` now, or None: the rule behind the position
    form and the service. The position is the supplying agency's: only who writes for that agency
    states it (a viewer, or command staff of another agency, sees the line but does not speak for
    it), and only while the plan is a draft: once approved or cancelled it is decided."""
    if line.agency_id is None or not may_write_for_agency(user, agency_path(line.agency_id)):
        return NotAllowed(_("Positions are stated by the supplying agency's staff."))
    if plan.status != PlanStatus.DRAFT:
        return Conflict(_("The plan is no longer a draft: positions are stated before approval."))
    return None


def lines_to_state(user, plan, lines) -> list[PlanLine]:
    """The lines whose position `user` may state now (the position form shows only these)."""
    return [line for line in lines if position_obstacle(user, line, plan) is None]


def set_position(
    user,
    line_id: int,
    *,
    position: str,
    quantity: int | None = None,
    reason: str | None = None,
    available_in_h: float | None = None,
) -> LinePosition:
    """An agency states its position on a line it supplies (only on lines it can see): agree,
    cannot supply, partial (a quantity) or later (available in 1 to 720 hours)."""
    line = db.session.get(PlanLine, line_id)
    if line is None:
        raise NotFound(_("Plan line %(id)s not found.", id=line_id))
    plan = get_plan(user, line.plan_id)
    if (
        line.id not in {visible.id for visible in visible_lines(user, plan)}
        or line.agency_id is None
    ):
        raise NotFound(_("Plan line %(id)s not found.", id=line_id))
    if (obstacle := position_obstacle(user, line, plan)) is not None:
        raise obstacle
    agency_id = line.agency_id
    if position not in POSITIONS:
        raise Invalid(
            _("A position is agree, cannot_supply, partial or later."),
            errors={"position": list(POSITIONS)},
        )
    if position != "agree" and not (reason or "").strip():
        raise Invalid(_("Say why."), errors={"reason": [_("required")]})
    if position == "partial" and (quantity is None or not 0 < quantity < line.quantity):
        raise Invalid(
            _("A partial supply names a quantity between zero and the line's quantity."),
            errors={"quantity": [_("invalid")]},
        )
    if position == "later" and (available_in_h is None or not 1 <= available_in_h <= 720):
        raise Invalid(
            _("Later availability names the hours from now, 1 to 720."),
            errors={"available_in_h": [_("invalid")]},
        )
    row = db.session.execute(select(LinePosition).filter_by(line_id=line.id)).scalar_one_or_none()
    if row is None:
        row = LinePosition(line_id=line.id, agency_id=agency_id)
        db.session.add(row)
    row.agency_id, row.position, row.user_id = agency_id, position, user.id
    row.quantity = quantity if position == "partial" else None
    row.available_in_h = available_in_h if position == "later" else None
    row.reason = (reason or "").strip()[:300] or None
    db.session.commit()
    return row


def positions(user, plan_id: int) -> dict[int, LinePosition]:
    plan = get_plan(user, plan_id)
    ids = [line.id for line in visible_lines(user, plan)]
    return {
        p.line_id: p
        for p in db.session.execute(
            select(LinePosition).where(LinePosition.line_id.in_(ids))
        ).scalars()
    }
