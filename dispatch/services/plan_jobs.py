"""Planning as a durable background job (core/background.py runs it in the worker): large
problems, above DISPATCH_BACKGROUND_ARCS, or when asked. The handlers `run_plan_job` and
`check_plan_job` are registered in core/background.py's KINDS."""

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from core.errors import Conflict
from core.extensions import db

from ..statuses import IncidentStatus
from . import planning
from .incidents import get_incident, require_command


def estimated_arcs(problem: dict) -> int:
    return len(problem["sources"]) * sum(len(p["demands"]) for p in problem["points"])


def plan_in_background(user, incident_id: int, options: dict | None = None, greedy: bool = False):
    """Queue a planning job for the worker (`flask worker run`); poll it at /plan-jobs/{id}.
    Used for problems above DISPATCH_BACKGROUND_ARCS, or when asked."""
    from core import background

    require_command(user)
    incident = get_incident(user, incident_id)
    if incident.status == IncidentStatus.CLOSED:
        raise Conflict(_("The incident is closed."))
    return background.enqueue(
        user,
        "plan",
        subject=("incident", incident.id),
        params={"options": options or {}, "greedy": bool(greedy)},
    )


def plan_or_queue(
    user, incident_id: int, *, options: dict, greedy: bool = False, background: bool | None = None
):
    """Plan now (a new draft version, returned) or, for a problem above DISPATCH_BACKGROUND_ARCS
    or when `background` is asked, queue a job for the worker (the job, returned)."""
    built = None
    if background is None:
        built = planning.build(user, get_incident(user, incident_id), options)
        background = estimated_arcs(built.problem) > current_app.config["DISPATCH_BACKGROUND_ARCS"]
        db.session.rollback()  # only read: end the transaction before planning or queueing
    if background:
        return plan_in_background(user, incident_id, options, greedy=greedy)
    return planning.plan_incident(user, incident_id, options=options, greedy=greedy, built=built)


def plan_job_to_show(user, incident_id: int, job_id: int | None = None):
    """The planning job the board shows: the one named (its outcome), else the incident's
    newest unfinished one; None for users who may not see planning jobs."""
    from core import background
    from core.policy import may_command_incidents

    if not may_command_incidents(user):
        return None
    stmt = select(background.BackgroundJob).where(
        background.BackgroundJob.kind == "plan",
        background.BackgroundJob.subject_kind == "incident",
        background.BackgroundJob.subject_id == incident_id,
    )
    if job_id is not None:
        return db.session.execute(
            stmt.where(background.BackgroundJob.id == job_id)
        ).scalar_one_or_none()
    return db.session.execute(
        stmt.where(background.BackgroundJob.status.in_(background.ACTIVE))
        .order_by(background.BackgroundJob.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def check_plan_job(user, job) -> None:
    """Who may see a planning job: who may plan its incident (command staff, administrators)."""
    require_command(user)
    get_incident(user, job.subject_id)


def run_plan_job(context) -> None:
    """The worker's handler: plan as the user who asked. The read transaction ends before each
    progress report; the version and the job's `done` are written in one transaction."""

    def report(percent, step):
        db.session.commit()  # nothing is written yet: end the read (SQLite: its lock) before reporting
        context.progress(percent, step)

    user = context.user()
    report(10, _("Building the problem from live stock"))
    version = planning.draft_plan(
        user,
        context.subject_id,
        options=context.params.get("options"),
        greedy=bool(context.params.get("greedy")),
        report=report,
    )
    context.checkpoint("plan-saved")
    context.finish({"plan_id": version.id})
    db.session.commit()
