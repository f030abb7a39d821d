"""Readiness pages: the map and tables of one scenario's latest run, its trend, the latest
recommendations, and the forms that start an assessment or make a recommended transfer."""

import json

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_security import auth_required, current_user
from marshmallow import ValidationError

from core.exports import MIMETYPES, XLSX, csv_bytes, xlsx_bytes
from core.policy import may_command_incidents

from ..models import LEVEL_LABELS

from ..pages import _attempt
from . import actions, jobs, reading, scenarios, services
from .models import HAZARD_LABELS, POPULATION_RULE_LABELS
from .schemas import ScenarioSchema

bp = Blueprint(
    "readiness",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/readiness/static",
)
MAX_BUDGET_TEXT = 20


@bp.get("/readiness")
@auth_required("session")
def page():
    library = scenarios.list_scenarios(current_user)
    chosen = request.args.get("scenario_id", type=int) or (library[0].id if library else None)
    scenario = scenarios.get_scenario(current_user, chosen) if chosen else None
    run = reading.latest_run(current_user, scenario.id) if scenario else None
    view = reading.run_view(run) if run else None
    points = [
        {"name": c["name"], "lat": c["lat"], "lon": c["lon"], "score": c["score"]}
        for c in (view["counties"] if view else [])
        if c["lat"] is not None
    ]
    return render_template(
        "readiness/page.html",
        library=library,
        scenario=scenario,
        view=view,
        points=json.dumps(points, ensure_ascii=False),
        trend=reading.trend(current_user, scenario.id) if scenario else [],
        advice=reading.latest_advice(current_user, scenario.id) if scenario else None,
        hazards=HAZARD_LABELS,
        may_command=may_command_incidents(current_user),
    )


@bp.post("/readiness/assess")
@auth_required("session")
def assess():
    ids = [int(i) for i in request.form.getlist("scenario_ids") if i.isdigit()][
        : services.MAX_SCENARIOS
    ]
    text = (request.form.get("budget") or "").strip()[:MAX_BUDGET_TEXT]
    try:
        budget = float(text) if text else None
    except ValueError:
        budget = -1.0
    if budget is not None and not 0 <= budget <= services.MAX_BUDGET:
        flash(_("The budget must be 0 to %(max)s yuan.", max=f"{services.MAX_BUDGET:,}"), "error")
    elif _attempt(jobs.start_assessment, ids, budget):
        flash(
            _("The assessment is queued; the page shows it once the worker has run it."), "success"
        )
    return redirect(url_for("readiness.page", scenario_id=ids[0] if ids else None), 303)


@bp.post("/readiness/jobs/<int:job_id>/moves/<int:index>")
@auth_required("session")
def make_transfer(job_id, index):
    if _attempt(actions.make_transfer, job_id, index):
        flash(_("The transfer is recorded in the ledger."), "success")
    return redirect(
        url_for("readiness.page", scenario_id=request.form.get("scenario_id", type=int)), 303
    )


@bp.get("/readiness/runs/<int:run_id>/export")
@auth_required("session")
def export(run_id):
    return export_response(run_id)


@bp.get("/readiness/jobs/<int:job_id>/procurement")
@auth_required("session")
def procurement(job_id):
    """The recommended purchases as a procurement request sheet (CSV)."""
    named = reading.named(current_user, actions._advice(current_user, job_id), job_id)
    header, rows = actions.procurement_rows(current_user, job_id, named)
    return _download(csv_bytes(header, rows), "csv", f"procurement-{job_id}")


def export_response(run_id: int) -> Response:
    view = reading.run_view(services.get_run(current_user, run_id))
    kind = request.args.get("format", "csv")
    if kind not in MIMETYPES:
        abort(400)
    header, rows = reading.export_rows(view)
    data = (
        csv_bytes(header, rows) if kind == "csv" else xlsx_bytes([(_("Readiness"), header, rows)])
    )
    return _download(data, kind, f"readiness-{run_id}")


def _download(data: bytes, kind: str, name: str) -> Response:
    mimetype = XLSX if kind == "xlsx" else "text/csv"
    return Response(
        data,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{name}.{kind}"'},
    )


MAX_COUNTY_TEXT = 20_000  # characters of the counties box: 200 lines "code,people,severity"


@bp.get("/readiness/scenarios/new")
@bp.get("/readiness/scenarios/<int:scenario_id>/edit")
@auth_required("session")
def scenario_form(scenario_id=None):
    scenarios.require_editor(current_user)
    scenario = scenarios.get_scenario(current_user, scenario_id) if scenario_id else None
    return render_template(
        "readiness/scenario.html",
        scenario=scenario,
        plans=scenarios.plan_choices(current_user),
        hazards=HAZARD_LABELS,
        rules=POPULATION_RULE_LABELS,
        levels=LEVEL_LABELS,
        counties_text="\n".join(
            f"{c.region_code},{c.population},{c.severity}"
            for c in (scenario.counties if scenario else [])
        ),
    )


@bp.post("/readiness/scenarios")
@bp.post("/readiness/scenarios/<int:scenario_id>")
@auth_required("session")
def scenario_save(scenario_id=None):
    """Create or replace a scenario from the form (the API's ScenarioSchema checks the fields)."""
    form = request.form
    lines = (form.get("counties") or "")[:MAX_COUNTY_TEXT].splitlines()
    counties = [
        dict(
            zip(
                ("region_code", "population", "severity"),
                (p.strip() for p in line.split(",")),
                strict=False,
            )
        )
        for line in lines
        if line.strip()
    ]
    data = {
        key: (form.get(key) or None)
        for key in (
            "name",
            "hazard",
            "level",
            "plan_id",
            "population_rule",
            "epicentre_lat",
            "epicentre_lon",
            "magnitude",
            "note",
        )
    }
    data["is_standard"] = bool(form.get("is_standard"))
    data["counties"] = counties
    try:
        loaded = ScenarioSchema().load(data)
    except ValidationError:
        flash(
            _(
                "The scenario is not valid: check its fields and each county line (code, people, severity 1-3)."
            ),
            "error",
        )
        return redirect(request.referrer or url_for("readiness.page"), 303)
    saved = {}

    def save(user):
        saved["scenario"] = scenarios.save_scenario(user, loaded, scenario_id)

    if _attempt(save):
        flash(_("The scenario is saved; assess it to see its coverage."), "success")
        return redirect(url_for("readiness.page", scenario_id=saved["scenario"].id), 303)
    return redirect(request.referrer or url_for("readiness.page"), 303)
