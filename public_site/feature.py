"""What the public portal adds to the app (core/features.py): its pages and API, the demo notices
and suppliers, the supplier-review to-do and its audit-log labels."""

from core.features import DemoStep, Feature
from core.scheduler import Job

from . import demo, todos
from .models import LABELS


def _blueprints(app, api):
    from . import views
    from .api import BLUEPRINTS

    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)
    app.register_blueprint(views.bp)


def _demo() -> str:
    counts = demo.build_portal_demo()
    return "demo portal loaded: " + ", ".join(f"{k} {v}" for k, v in counts.items())


def _value_labels() -> dict:
    return {
        ("supplier", "status"): LABELS["supplier_status"],
        ("board_demand", "status"): LABELS["demand_status"],
        ("board_offer", "status"): LABELS["offer_status"],
        ("feedback", "category"): LABELS["feedback_category"],
        ("notice", "kind"): LABELS["notice_kind"],
    }


def _demo_credit_check() -> str:
    from datetime import date

    from .services import credit

    found = credit.check_suppliers(date.today())
    return "demo credit check: " + ", ".join(f"{k} {v}" for k, v in found.items())


def _scheduled(config) -> tuple[Job, ...]:
    # after the registry's credit-daily (01:10): both read the lists as they are that day
    return (
        Job("credit-suppliers", "public_site.jobs:check_credit", "cron", {"hour": 1, "minute": 12}),
    )


FEATURE = Feature(
    name="public_site",
    blueprints=_blueprints,
    demo=(
        DemoStep(30, demo.is_empty, _demo),
        DemoStep(50, lambda: True, _demo_credit_check),  # after the credit lists' demo (45)
    ),
    todos=todos.TODOS,
    value_labels=_value_labels,
    scheduled=_scheduled,
)
