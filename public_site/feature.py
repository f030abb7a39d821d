"""What the public portal adds to the app (core/features.py): its pages and API, the demo notices
and suppliers, the supplier-review to-do and its audit-log labels."""

from core.features import DemoStep, Feature
from core.scheduler import Job

from . import demo, exchange, todos
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


# What the extranet serves of the portal (core/roles.py): the public pages and API, registration
# and the enterprise's own pages and licence; only the extranet serves the public side, the
# review, publishing and feedback desk (/portal/admin/...) stays on the private network.
_PUBLIC_PAGES = r"/portal(/(?!admin(/|$)|documents/|static/).*)?$"
OUTSIDE_ONLY = (_PUBLIC_PAGES, r"/api/v1/public(/|$)", r"/api/v1/portal/suppliers/me$")
OUTSIDE = (*OUTSIDE_ONLY, r"/portal/(documents|static)/")


def _demo_credit_check() -> str:
    from datetime import date

    from .services import credit

    found = credit.check_suppliers(date.today())
    return "demo credit check: " + ", ".join(f"{k} {v}" for k, v in found.items())


def _scheduled(config) -> tuple[Job, ...]:
    # after the registry's credit-daily (01:10): both read the lists as they are that day; the
    # extranet holds no credit list (it runs inside and its outcome crosses with the suppliers)
    if config.get("DEPLOYMENT_ROLE") == "public":
        return ()
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
    exchange=exchange.KINDS,
    outside=OUTSIDE,
    outside_only=OUTSIDE_ONLY,
    outside_home="/portal/",
    scheduled=_scheduled,
)
