"""E-mail through the outbox: a daily digest per agency to its operators, and the sender.

Queuing is idempotent (a unique `dedupe_key` per recipient and day); sending is at most once
(a message is committed as `sending` before the SMTP call; a crash leaves it there to be
looked at, never re-sent blindly). Failures before the server accepted a message are retried
three times."""

from datetime import datetime

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func, select

from core import outbox, policy
from core.auth import Role, User
from core.extensions import db

from core.organisation import Agency
from . import rules

from .models import KIND_LABELS, SEVERITY_LABELS, ReserveWarning
from .scan import local_day

DIGEST_LIMIT = 30


def queue_digests(now: datetime) -> int:
    """One digest per operator of each agency with active warnings, for today's local date, with
    the operator's to-dos; and one of to-dos alone for other staff with work waiting."""
    day = local_day(now)
    queued = 0
    covered: set[int] = set()
    agencies = db.session.execute(
        select(ReserveWarning.agency_id, func.count())
        .where(ReserveWarning.status != "resolved", ReserveWarning.agency_id.is_not(None))
        .group_by(ReserveWarning.agency_id)
    ).all()
    for agency_id, total in agencies:
        recipients = (
            db.session.execute(
                select(User).where(
                    User.agency_id == agency_id,
                    User.active.is_(True),
                    User.roles.any(Role.name.in_(policy.AGENCY_WARNING_RECIPIENTS)),
                )
            )
            .scalars()
            .all()
        )
        if not recipients:
            continue
        agency = db.session.get(Agency, agency_id)
        subject, body = _digest(agency, day, total)
        for user in recipients:
            queued += outbox.queue(
                f"digest:{user.id}:{day.isoformat()}",
                user.email,
                subject,
                body + _todo_section(user),
            )
            covered.add(user.id)
    queued += _queue_todo_digests(day, covered)
    db.session.commit()
    return queued


def _todo_section(user) -> str:
    """The user's to-dos (core/todos.py) as the digest's closing lines ("" when none wait)."""
    from core.todos import todo_list

    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        groups = todo_list(user)
        if not groups:
            return ""
        lines = ["", _("To-dos: %(n)s waiting", n=sum(g.count for g in groups))]
        for group in groups:
            lines.append(f"{group.label} {group.count}")
            lines += [f"  - {item.title}" for item in group.items[:5]]
        lines.append(_("See the to-do page for links to each item."))
        return "\n".join(str(line) for line in lines)


def _queue_todo_digests(day, covered: set[int]) -> int:
    """A digest of to-dos alone for staff without a warning digest today (command staff,
    administrators, operators of agencies without warnings) who have work waiting."""
    queued = 0
    from ..sharing.clients import CLIENT_EMAIL_DOMAIN  # a sharing client's account reads no mail

    staff = (
        db.session.execute(
            select(User)
            .where(
                User.active.is_(True),
                User.id.not_in(covered or {0}),
                User.email.not_like(f"%@{CLIENT_EMAIL_DOMAIN}"),
                User.roles.any(Role.name.in_(policy.TODO_DIGEST_RECIPIENTS)),
            )
            .order_by(User.id)
        )
        .scalars()
        .all()
    )
    for user in staff:
        section = _todo_section(user)
        if not section:
            continue
        with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
            subject = _("Your to-dos on %(day)s", day=day.isoformat())
        queued += outbox.queue(
            f"digest:{user.id}:{day.isoformat()}", user.email, subject, subject + "\n" + section
        )
    return queued


def _digest(agency: Agency, day, total: int) -> tuple[str, str]:
    warnings = (
        db.session.execute(
            select(ReserveWarning)
            .where(ReserveWarning.agency_id == agency.id, ReserveWarning.status != "resolved")
            .order_by(ReserveWarning.opened_at.desc())
            .limit(500)
        )
        .scalars()
        .all()
    )
    warnings.sort(key=lambda w: (rules.SEVERITY_RANK[w.severity], -w.id))
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        counts = {s: sum(1 for w in warnings if w.severity == s) for s in rules.SEVERITIES}
        subject = _(
            "%(agency)s: %(n)s active warnings on %(day)s",
            agency=agency.name,
            n=total,
            day=day.isoformat(),
        )
        lines = [
            subject,
            "",
            " · ".join(f"{SEVERITY_LABELS[s]} {n}" for s, n in counts.items()),
            "",
        ]
        for warning in warnings[:DIGEST_LIMIT]:
            place = warning.depot.name if warning.depot else (warning.region_code or "")
            what = warning.material.name if warning.material else ""
            lines.append(
                f"[{SEVERITY_LABELS[warning.severity]}] {KIND_LABELS[warning.kind]} {place} {what}".rstrip()
            )
        if total > DIGEST_LIMIT:
            lines.append(_("… and %(n)s more; see the warnings page.", n=total - DIGEST_LIMIT))
        return subject, "\n".join(str(line) for line in lines)
