"""What the dispatch pages share: the blueprint (its routes in views.py and trip_views.py),
the way back to the board, and a refusal shown as people read it."""

from datetime import datetime

from flask import Blueprint, flash, redirect, url_for
from flask_babel import lazy_gettext as _l
from flask_security import current_user

from core.errors import DomainError

bp = Blueprint(
    "dispatch",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/dispatch/static",
)
bp.add_app_template_filter(
    datetime.fromisoformat, "from_iso"
)  # the report's ISO times, then |local_time


def _back(incident_id, anchor=""):
    return redirect(url_for("dispatch.board", incident_id=incident_id) + anchor, 303)


# The form fields a refusal may name, as the form labels them.
FIELD_LABELS = {
    "name": _l("Name"),
    "lat": _l("Latitude"),
    "lon": _l("Longitude"),
    "population": _l("People affected"),
    "severity": _l("Severity"),
    "region_code": _l("Region"),
    "point_id": _l("Point"),
    "material_id": _l("Material"),
    "depot_id": _l("Depot"),
    "quantity": _l("Quantity"),
    "priority": _l("Priority"),
    "needed_by": _l("Needed by"),
    "reason": _l("reason"),
    "quantity_received": _l("Quantity received"),
    "discrepancy_reason": _l("Reason for the difference"),
    "vehicles": _l("Vehicles"),
    "position": _l("Position"),
    "body": _l("Message"),
    "note": _l("Note"),
    "plan_id": _l("Dispatch plan"),
    "status": _l("Status"),
    "plate": _l("Licence plate"),
    "driver": _l("Driver"),
    "phone": _l("Phone"),
    "action": _l("Edit"),
    "vehicle": _l("Vehicle"),
    "to_vehicle": _l("Vehicle"),
    "delivery": _l("Drop"),
    "from_key": _l("From"),
    "to_key": _l("To"),
    "hours": _l("Hours"),
    "km": _l("Distance km"),
}


def field_errors_text(errors: dict | None) -> str:
    """A refusal's field errors as a person reads them: 原因：必填；数量：无效 (never `reason: ['required']`)."""
    parts = []
    for field, messages in (errors or {}).items():
        if isinstance(messages, (list, tuple)):
            messages = "、".join(str(m) for m in messages if isinstance(m, str))
        elif not isinstance(messages, str):
            messages = ""
        parts.append(
            f"{FIELD_LABELS[field]}：{messages}"
            if field in FIELD_LABELS and messages
            else str(FIELD_LABELS.get(field, "")) or messages
        )
    return "；".join(p for p in parts if p)[:400]


def _attempt(action, *args, **kwargs):
    try:
        action(current_user, *args, **kwargs)
        return True
    except DomainError as exc:
        _flash_error(exc)
        return False


def _flash_error(exc: DomainError) -> None:
    details = field_errors_text(exc.errors)
    flash(exc.detail + (f"（{details}）" if details else ""), "error")
