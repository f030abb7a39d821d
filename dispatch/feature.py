"""What dispatch adds to the app (core/features.py): its pages and API, the demo incidents, the
home page's active incidents, its to-dos, its audit-log labels and the plan job."""

from flask_babel import lazy_gettext as _l

from core.background import STATUS_LABELS as JOB_STATUS_LABELS
from core.background import Kind
from core.features import DemoStep, Feature

from . import demo, models, todos
from .readiness import demo as readiness_demo
from .readiness import models as readiness_models  # noqa: F401  its tables
from .readiness import todos as readiness_todos

INCIDENTS_SHOWN = 5


def _blueprints(app, api):
    from . import supply_views, trip_views, views  # noqa: F401  the 装车方案's and 供需发布's pages, on views.bp
    from .api import BLUEPRINTS

    from .readiness import api as readiness_api
    from .readiness import views as readiness_views

    for blueprint in BLUEPRINTS + readiness_api.BLUEPRINTS:
        api.register_blueprint(blueprint)
    app.register_blueprint(views.bp)
    app.register_blueprint(readiness_views.bp)


def _home(user) -> dict:
    from .services.incidents import active_incidents

    incidents, count = active_incidents(user, INCIDENTS_SHOWN)
    return {"incidents": incidents, "incident_count": count}


def _demo() -> str:
    made = demo.build_dispatch_demo()
    return "demo incidents: " + ", ".join(f"{k} {v}" for k, v in made.items())


def _value_labels() -> dict:
    from reserve.models import LABELS as RESERVE

    return {
        ("incident", "status"): models.STATUS_LABELS,
        ("plan_version", "status"): models.PLAN_STATUS_LABELS,
        ("plan_version", "method"): models.METHOD_LABELS,
        ("shipment", "status"): models.SHIPMENT_LABELS,
        ("line_position", "position"): models.POSITION_LABELS,
        ("incident", "level"): models.LEVEL_LABELS,
        ("emergency_plan", "level"): models.LEVEL_LABELS,
        ("demand", "status"): models.DEMAND_STATUS_LABELS,
        ("after_action_record", "kind"): models.RECORD_KIND_LABELS,
        ("route_plan", "status"): models.ROUTE_PLAN_LABELS,
        ("route_plan", "method"): models.ROUTE_METHOD_LABELS,
        ("trip", "status"): models.TRIP_LABELS,
        ("trip_stop", "status"): models.STOP_LABELS,
        ("consultation_message", "kind"): models.MESSAGE_KIND_LABELS,
        ("plan_line", "source_kind"): {
            **RESERVE["reserve_type"],
            "supplier": _l("Supplier"),
            "call_offer": _l("Offer on a call for supply"),
        },
        ("supply_call", "status"): models.CALL_STATUS_LABELS,
        ("scenario", "hazard"): readiness_models.HAZARD_LABELS,
        ("scenario", "level"): models.LEVEL_LABELS,
        ("background_job", "status"): JOB_STATUS_LABELS,
        ("background_job", "kind"): {
            "plan": _l("Planning"),
            "route": _l("Loading and routes"),
            "readiness": _l("Readiness assessment"),
        },
        ("scenario", "population_rule"): readiness_models.POPULATION_RULE_LABELS,
    }


def _scheduled(config):
    from core.scheduler import Job

    return (
        Job(
            "readiness-nightly",
            "dispatch.readiness.jobs:nightly",
            "cron",
            {"hour": config["READINESS_NIGHTLY_HOUR"], "minute": 10},
        ),
    )


FEATURE = Feature(
    name="dispatch",
    blueprints=_blueprints,
    demo=(
        DemoStep(50, demo.is_empty, _demo),
        DemoStep(55, readiness_demo.is_empty, readiness_demo.build_readiness_demo),
    ),
    home=_home,
    todos=todos.TODOS + readiness_todos.TODOS,
    value_labels=_value_labels,
    job_kinds=(
        Kind(
            "plan",
            "dispatch.services.plan_jobs:run_plan_job",
            "dispatch.services.plan_jobs:check_plan_job",
        ),
        Kind(
            "route",
            "dispatch.services.loads:run_route_job",
            "dispatch.services.loads:check_route_job",
        ),
        Kind(
            "readiness",
            "dispatch.readiness.jobs:run_readiness_job",
            "dispatch.readiness.jobs:check_readiness_job",
        ),
    ),
    scheduled=_scheduled,
)
