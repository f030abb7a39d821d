"""What the registry adds to the app (core/features.py): its pages and API (registry, reporting,
warnings, rotation, data sharing), its commands, the demo province, the home page's red warnings and
reporting rate, its to-dos, the unread-notification counter, its audit-log labels, the
external clients' service accounts and token scopes, the report jobs, the scheduled scans,
notifications, pruning and sharing snapshots, and the stock, rotation calendar and sharing
exports."""

from dataclasses import dataclass

from sqlalchemy import select

from flask_babel import lazy_gettext as _l

from core.audit import latest_change
from core.background import Kind
from core.export_jobs import Export
from core.features import DemoStep, Feature
from core.kept import kept
from core.scheduler import Job
from core.timeutil import local_today

from . import cli, demo, sharing, todos
from .credit import demo as credit_demo
from .credit import models as credit
from .credit import todos as credit_todos
from .models import LABELS
from .reporting import models as reporting
from .reporting.freshness import scoreboard
from .rotation import demo as rotation_demo
from .rotation import models as rotation
from .sharing import demo as sharing_demo
from .sharing.access import client_of
from .sharing.models import GRANT_STATUS_LABELS, ExternalClient
from .sharing.resources import RESOURCES
from .warnings import models as warnings
from .warnings import services as warning_services


def _blueprints(app, api):
    from . import views
    from .api import BLUEPRINTS as registry_api
    from .credit import views as credit_views
    from .credit.api import BLUEPRINTS as credit_api
    from .reporting import views as reporting_views
    from .reporting.api import BLUEPRINTS as reporting_api
    from .rotation import views as rotation_views
    from .rotation.api import BLUEPRINTS as rotation_api
    from .warnings import views as warning_views
    from .warnings.api import BLUEPRINTS as warning_api

    for blueprint in registry_api + reporting_api + warning_api + credit_api + rotation_api:
        api.register_blueprint(blueprint)
    for blueprint in (
        views.bp,
        reporting_views.bp,
        warning_views.bp,
        credit_views.bp,
        rotation_views.bp,
    ):
        app.register_blueprint(blueprint)
    sharing.register(app, api)


@dataclass
class Reporting:
    expected: int  # agencies in view that owe a stock report
    reported: int  # of them, reported in the current period (on time or late)
    previous_on_time: int  # of them, on time in the previous period

    @property
    def rate(self) -> float | None:
        return self.reported / self.expected if self.expected else None


def _reporting(user) -> Reporting:
    def compute() -> Reporting:
        rows = [
            r
            for r in scoreboard(
                user, "stock", local_today(), periods=2, completeness=False, scores=False
            )
            if r.expected
        ]
        return Reporting(
            len(rows),
            sum(1 for r in rows if r.statuses[-1] in ("on_time", "late")),
            sum(1 for r in rows if r.statuses[0] == "on_time"),
        )

    # kept per scope until the next audited change
    return kept("home_reporting", user, local_today(), latest_change(), compute)


def _home(user) -> dict:
    red = warning_services.count_warnings(user, warning_services.WarningFilter(severity="red"))
    return {"red_warnings": red, "reporting": _reporting(user)}


def _demo_province() -> str:
    counts = demo.build_demo("province")
    return "demo province loaded: " + ", ".join(f"{k} {v}" for k, v in vars(counts).items())


def _demo_sharing() -> str:
    made = sharing_demo.build_sharing_demo()
    return "demo sharing: " + ", ".join(f"{k} {v}" for k, v in made.items())


def _demo_credit() -> str:
    made = credit_demo.build_credit_demo()
    return "demo credit lists: " + ", ".join(f"{k} {v}" for k, v in made.items())


def _first_scan() -> str:
    result = warning_services.scan()
    return f"warning scan: {result.opened} warnings opened in {result.seconds:.2f} s"


def _demo_rotation() -> str:
    made = rotation_demo.build_rotation_demo()
    return "demo rotation: " + ", ".join(f"{k} {v}" for k, v in made.items())


def _value_labels() -> dict:
    resources = {kind: r.title for kind, r in RESOURCES.items()}
    return {
        (None, "reserve_type"): LABELS["reserve_type"],
        (None, "classification"): LABELS["classification"],
        (None, "mode"): LABELS["mode"],
        (None, "status"): LABELS["status"],
        (None, "incident_type"): LABELS["incident_type"],
        (None, "basis"): LABELS["basis"],
        ("submission", "status"): reporting.STATUS_LABELS,
        ("submission", "kind"): reporting.KIND_LABELS,
        ("submission", "mode"): reporting.MODE_LABELS,
        ("warning", "status"): warnings.STATUS_LABELS,
        ("warning", "severity"): warnings.SEVERITY_LABELS,
        ("warning", "kind"): warnings.KIND_LABELS,
        ("rotation_item", "status"): rotation.STATUS_LABELS,
        ("rotation_item", "action"): rotation.ACTION_LABELS,
        ("rotation_item", "warning_kind"): warnings.KIND_LABELS,
        ("sharing_grant", "status"): GRANT_STATUS_LABELS,
        ("movement", "kind"): LABELS["movement"],
        ("report_cadence", "kind"): reporting.KIND_LABELS,
        ("report_cadence", "period"): reporting.PERIOD_LABELS,
        ("shared_resource", "kind"): resources,
        ("sharing_grant", "kind"): resources,
        ("credit_entry", "list"): credit.LIST_LABELS,
        ("credit_entry_change", "action"): credit.ACTION_LABELS,
        ("credit_hit", "subject_kind"): credit.SUBJECT_LABELS,
    }


def _token_scopes(user) -> set | None:
    client = client_of(user)
    return set(client.scopes or ()) if client is not None else None


def _scheduled(config) -> tuple[Job, ...]:
    return (
        Job(
            "warnings-scan",
            "reserve.warnings.jobs:scan",
            "interval",
            {"minutes": config["WARNING_SCAN_MINUTES"]},
        ),
        Job(
            "warnings-digest",
            "reserve.warnings.jobs:queue_digests",
            "cron",
            {"hour": config["DIGEST_HOUR"], "minute": 0},
        ),
        Job(
            "submissions-prune",
            "reserve.reporting.jobs:prune_refused_files",
            "cron",
            {"hour": 4, "minute": 15},
        ),
        Job("sharing-daily", "reserve.sharing.jobs:daily", "cron", {"hour": 1, "minute": 30}),
        Job("credit-daily", "reserve.credit.jobs:daily", "cron", {"hour": 1, "minute": 10}),
    )


EXPORTS = (
    Export(
        "stock",
        _l("Stock lots"),
        "reserve.services.stock:export_table",
        "reserve.services.stock:export_size",
        "reserve.schemas:StockQuerySchema",
        "stock",
        "read:stock",
        "stock.export_stock",
    ),
    Export(
        "rotation_calendar",
        _l("Rotation calendar"),
        "reserve.rotation.calendar:export_table",
        "reserve.rotation.calendar:export_size",
        "reserve.rotation.schemas:RotationCalendarQuerySchema",
        "rotation-calendar",
        "read:stock",
        "rotation.export_calendar",
    ),
    Export(
        "sharing",
        _l("Shared data"),
        "reserve.sharing.feeds:export_table",
        "reserve.sharing.feeds:export_size",
        "reserve.sharing.schemas:ExportFilterSchema",
        "{kind}",
        "read:{kind}",
        "sharing_feeds.export",
        "reserve.sharing.feeds:dictionary_sheet",
        "reserve.sharing.feeds:export_caption",
    ),
)

FEATURE = Feature(
    name="reserve",
    init=sharing.init_sharing,
    blueprints=_blueprints,
    cli=cli.extend,
    demo=(
        DemoStep(
            10, demo.is_empty, _demo_province, skipped="database not empty: demo data left as it is"
        ),
        DemoStep(40, sharing_demo.is_empty, _demo_sharing),
        DemoStep(45, credit_demo.is_empty, _demo_credit),
        DemoStep(60, warning_services.never_scanned, _first_scan),
        DemoStep(65, rotation_demo.is_empty, _demo_rotation),
    ),
    home=_home,
    todos=todos.TODOS + credit_todos.TODOS,
    todo_version=warning_services.warnings_version,
    counters={"unread_notifications": warning_services.unread_count},
    value_labels=_value_labels,
    service_accounts=lambda: select(ExternalClient.user_id),
    token_scopes=_token_scopes,
    job_kinds=(
        Kind(
            "report-check",
            "reserve.reporting.services:run_check_job",
            "reserve.reporting.services:check_submission_job",
        ),
        Kind(
            "report-apply",
            "reserve.reporting.services:run_apply_job",
            "reserve.reporting.services:check_submission_job",
        ),
    ),
    scheduled=_scheduled,
    exports=EXPORTS,
)
