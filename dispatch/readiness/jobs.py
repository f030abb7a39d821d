"""Assessment as a durable background job (kind "readiness", declared in dispatch/feature.py),
and the nightly assessment of the standard scenarios (a scheduled job)."""

from flask_babel import gettext as _
from sqlalchemy import select

from core import background
from core.auth import User
from core.extensions import db

from . import services
from .models import Scenario
from .scenarios import require_editor, require_reader


def start_assessment(user, scenario_ids: list[int], budget: float | None = None):
    """Queue an assessment (with recommendations when a budget is given); poll the job."""
    require_editor(user)
    services._scenarios(user, scenario_ids)  # 404 / 422 now rather than in the worker
    return background.enqueue(
        user, "readiness", params={"scenario_ids": scenario_ids, "budget": budget}
    )


def check_readiness_job(user, job) -> None:
    require_reader(user)


def run_readiness_job(context) -> None:
    """The worker's handler: assess as the user who asked; the runs and the job's `done` commit
    together."""

    def report(percent, step):
        db.session.commit()  # nothing written yet: end the read before reporting
        context.progress(percent, step)

    user = context.user()
    report(5, _("Reading the stock"))
    outcome = services.assess(
        user,
        context.params["scenario_ids"],
        job_id=context.job_id,
        nightly=bool(context.params.get("nightly")),
        budget=context.params.get("budget"),
        report=report,
    )
    context.finish(outcome)
    db.session.commit()


def nightly(now=None) -> dict:
    """Queue the nightly assessment of the standard scenarios, as the command staff member who
    last edited one of them (the stock is read in that account's scope)."""
    row = db.session.execute(
        select(Scenario.updated_by_id)
        .where(Scenario.is_standard.is_(True), Scenario.updated_by_id.is_not(None))
        .order_by(Scenario.updated_at.desc())
        .limit(1)
    ).first()
    ids = list(
        db.session.execute(
            select(Scenario.id).where(Scenario.is_standard.is_(True)).order_by(Scenario.id)
        ).scalars()
    )
    user = db.session.get(User, row[0]) if row else None
    if not ids or user is None or not user.active:
        return {"job_id": None}
    job = background.enqueue(
        user,
        "readiness",
        params={"scenario_ids": ids[: services.MAX_SCENARIOS], "nightly": True, "budget": None},
    )
    return {"job_id": job.id}
