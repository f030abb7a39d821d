"""Readiness API: the scenario library, assessments as jobs, runs, their export, and making a
recommended transfer. Command staff write; leaders (viewers) read."""

from flask_security import auth_required, current_user
from flask_smorest import Blueprint

from core import background

from . import actions, jobs, reading, scenarios, services
from .schemas import AssessSchema, ReadinessJobSchema, RunSummarySchema, ScenarioSchema
from .views import export_response

blp = Blueprint(
    "readiness_api", __name__, url_prefix="/api/v1/readiness", description="Readiness (备战评估)"
)


@blp.route("/scenarios")
@auth_required("token", "session")
@blp.response(200, ScenarioSchema(many=True))
def list_scenarios():
    return scenarios.list_scenarios(current_user)


@blp.route("/scenarios", methods=["POST"])
@auth_required("token", "session")
@blp.arguments(ScenarioSchema)
@blp.response(201, ScenarioSchema)
def create_scenario(data):
    """Counties are entered, or computed by the intensity rule from the epicentre and magnitude."""
    return scenarios.save_scenario(current_user, data)


@blp.route("/scenarios/<int:scenario_id>")
@auth_required("token", "session")
@blp.response(200, ScenarioSchema)
def get_scenario(scenario_id):
    return scenarios.get_scenario(current_user, scenario_id)


@blp.route("/scenarios/<int:scenario_id>", methods=["PUT"])
@auth_required("token", "session")
@blp.arguments(ScenarioSchema)
@blp.response(200, ScenarioSchema)
def update_scenario(data, scenario_id):
    return scenarios.save_scenario(current_user, data, scenario_id)


@blp.route("/scenarios/<int:scenario_id>/runs")
@auth_required("token", "session")
@blp.response(200, RunSummarySchema(many=True))
def list_runs(scenario_id):
    """The scenario's runs, oldest first (the trend), at most 30."""
    scenarios.get_scenario(current_user, scenario_id)
    return reading.trend(current_user, scenario_id)


@blp.route("/runs/<int:run_id>")
@auth_required("token", "session")
def get_run(run_id):
    """A run: the province's and each county's (weakest first) and material's coverage per window."""
    view = reading.run_view(services.get_run(current_user, run_id))
    return {**view, "created_at": view["created_at"].isoformat() + "Z"}


@blp.route("/runs/<int:run_id>/export")
@auth_required("token", "session")
def export_run(run_id):
    """?format=csv (default) or xlsx: one row per county, weakest first, and the province."""
    return export_response(run_id)


@blp.route("/assessments", methods=["POST"])
@auth_required("token", "session")
@blp.arguments(AssessSchema)
@blp.response(202, ReadinessJobSchema)
def assess(data):
    """Queue an assessment of 1..20 scenarios; with a budget (yuan), the recommendations too."""
    return background.as_dict(
        jobs.start_assessment(current_user, data["scenario_ids"], data["budget"])
    )


@blp.route("/jobs/<int:job_id>")
@auth_required("token", "session")
@blp.response(200, ReadinessJobSchema)
def get_job(job_id):
    return background.as_dict(background.get_job(current_user, job_id, "readiness"))


@blp.route("/jobs/<int:job_id>/moves/<int:index>/transfer", methods=["POST"])
@auth_required("token", "session")
def make_transfer(job_id, index):
    """Make recommended transfer `index` through the ledger (write rights on both depots)."""
    return actions.make_transfer(current_user, job_id, index)


BLUEPRINTS = [blp]
