"""Reading the audit log (administrators only)."""

import re
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from .audit import AuditLog, ChainReport, verify_chain
from .auth import ADMIN
from .errors import NotAllowed
from .exports import csv_bytes, readable_json
from .extensions import db
from .timeutil import local_text, to_local


def _require_admin(user):
    if ADMIN not in user.role_names:
        raise NotAllowed(_("Only administrators may read the audit log."))


def list_audit_entries(user, *, entity=None, entity_id=None, user_id=None):
    _require_admin(user)
    stmt = select(AuditLog)
    if entity:
        stmt = stmt.where(AuditLog.entity == entity)
    if entity_id:
        stmt = stmt.where(AuditLog.entity_id == entity_id)
    if user_id is not None:
        stmt = stmt.where(AuditLog.user_id == user_id)
    return stmt.order_by(AuditLog.id.desc())


AUDIT_CSV_HEADER = ["id", "at_utc", "actor", "action", "entity", "entity_id", "before", "after", "ip",
                    "request_id", "row_hash"]


def export_audit_csv(user, *, entity=None, limit: int = 100_000) -> bytes:
    """The audit entries (newest first, at most `limit`) as CSV, changes as readable JSON, times in the
    province's zone with their offset (unambiguous evidence that a person reads)."""
    rows = db.session.execute(list_audit_entries(user, entity=entity).limit(limit)).scalars()
    return csv_bytes(AUDIT_CSV_HEADER, (
        [r.id, to_local(r.at).isoformat(), r.actor, r.action, r.entity, r.entity_id, readable_json(r.before) if r.before else None,
         readable_json(r.after) if r.after else None, r.ip,
         r.request_id, r.row_hash] for r in rows))


def check_audit_chain(user) -> ChainReport:
    _require_admin(user)
    return verify_chain()


# --- the audit page as people read it -------------------------------------------------------

ACTION_LABELS = {"create": _l("Added"), "update": _l("Changed"), "delete": _l("Deleted"),
                 "submission.applied": _l("Report applied"), "submission.reverted": _l("Report reverted"),
                 "bulk_load": _l("Demo data loaded")}
ENTITY_LABELS = {
    "agency": _l("Agency"), "region": _l("Region"), "category": _l("Category"), "material": _l("Material"),
    "material_alias": _l("Material alias"), "depot": _l("Depot"), "stock_lot": _l("Lot"), "movement": _l("Movement"),
    "transport_capacity": _l("Transport capacity"), "emergency_plan": _l("Emergency plan"),
    "reserve_norm": _l("Reserve norm"), "submission": _l("Submission"), "user": _l("User"), "role": _l("Role"),
    "roles_users": _l("Role"), "supplier": _l("Supplier"), "supplier_offer": _l("Supplier offer"),
    "supplier_document": _l("Licence document"), "incident": _l("Incident"), "demand_point": _l("Demand point"),
    "demand": _l("Demand"), "plan_version": _l("Dispatch plan"), "plan_line": _l("Plan line"),
    "shipment": _l("Shipment"), "warning": _l("Warning"), "notice": _l("Notice"), "feedback": _l("Feedback"),
    "board_demand": _l("Call for supply"), "board_offer": _l("Offer"), "external_client": _l("External client"),
    "sharing_grant": _l("Sharing grant"), "shared_resource": _l("Shared resource"), "demo": _l("Demo data"),
    "after_action_record": _l("After-action record"), "consultation_message": _l("Consultation message"),
    "line_position": _l("Position"), "report_cadence": _l("Reporting cadence"), "stock_minimum": _l("Stock minimum"),
}
FIELD_LABELS = {
    "name": _l("Name"), "title": _l("Title"), "code": _l("Code"), "status": _l("Status"), "email": _l("E-mail"),
    "display_name": _l("Display name"), "active": _l("Active"), "quantity": _l("Quantity"), "on_hand": _l("On hand"),
    "reserved": _l("Reserved"), "reserve_type": _l("Reserve type"), "classification": _l("Classification"),
    "agency_id": _l("Agency"), "owner_agency_id": _l("Agency"), "depot_id": _l("Depot"), "material_id": _l("Material"),
    "region_code": _l("Region"), "address": _l("Address"), "lat": _l("Latitude"), "lon": _l("Longitude"),
    "contact_name": _l("Contact"), "contact_phone": _l("Contact phone"), "lot_no": _l("Lot number"),
    "expiry_date": _l("Expiry date"), "production_date": _l("Production date"), "unit": _l("Unit"),
    "reason": _l("Reason"), "note": _l("Note"), "level": _l("Level"), "count": _l("Count"),
    "payload_t": _l("Payload t"), "credit_code": _l("Credit code"), "kind": _l("Kind"), "mode": _l("Mode"),
    "enterprise_name": _l("Enterprise"), "last_login_at": _l("Last login"), "current_login_at": _l("Login"),
    "login_count": _l("Logins"), "approved_at": _l("Approved at"), "approved_by_id": _l("Approved by"),
    "reviewed_at": _l("Reviewed at"), "review_note": _l("Review note"), "capacity_m3": _l("Capacity m³"),
    "capacity_t": _l("Capacity t"), "basis": _l("Basis"), "priority": _l("Priority"), "severity": _l("Severity"),
}
ENTITY_LABELS.update({
    "line_allocation": _l("Stock allocation"), "demand_revision": _l("Demand revision"),
    "warning_event": _l("Warning history"), "notification": _l("Notification"), "outbox_message": _l("E-mail"),
    "login_session": _l("Login session"), "expiry_policy_override": _l("Expiry policy"),
    "sharing_access": _l("Sharing access"), "quality_snapshot": _l("Data-quality snapshot"),
})
# Field labels that differ by record kind (a submission's mode is full or incremental, not a road).
ENTITY_FIELD_LABELS = {("submission", "mode"): _l("Report mode"), ("submission", "kind"): _l("Report"),
                       ("supplier", "region_code"): _l("Region")}


def _value_labels() -> dict:
    """(record kind or None for any, field) -> {stored code: label}."""
    from dispatch import models as dispatch_models
    from public_site.models import LABELS as PORTAL
    from reserve.models import LABELS as RESERVE
    from reserve.reporting import models as reporting
    from reserve.sharing.models import GRANT_STATUS_LABELS
    from reserve.warnings import models as warnings

    return {
        (None, "reserve_type"): RESERVE["reserve_type"], (None, "classification"): RESERVE["classification"],
        (None, "mode"): RESERVE["mode"], (None, "status"): RESERVE["status"],
        (None, "incident_type"): RESERVE["incident_type"], (None, "basis"): RESERVE["basis"],
        ("submission", "status"): reporting.STATUS_LABELS, ("submission", "kind"): reporting.KIND_LABELS,
        ("submission", "mode"): reporting.MODE_LABELS, ("supplier", "status"): PORTAL["supplier_status"],
        ("board_demand", "status"): PORTAL["demand_status"], ("board_offer", "status"): PORTAL["offer_status"],
        ("feedback", "category"): PORTAL["feedback_category"], ("notice", "kind"): PORTAL["notice_kind"],
        ("incident", "status"): dispatch_models.STATUS_LABELS, ("plan_version", "status"): dispatch_models.PLAN_STATUS_LABELS,
        ("plan_version", "method"): dispatch_models.METHOD_LABELS, ("shipment", "status"): dispatch_models.SHIPMENT_LABELS,
        ("line_position", "position"): dispatch_models.POSITION_LABELS,
        ("warning", "status"): warnings.STATUS_LABELS, ("warning", "severity"): warnings.SEVERITY_LABELS,
        ("warning", "kind"): warnings.KIND_LABELS, ("sharing_grant", "status"): GRANT_STATUS_LABELS,
    }


NAME_COLUMNS = ("name", "title", "number", "batch_no", "lot_no", "email")
HIDDEN_FIELDS = {"id", "password", "fs_uniquifier", "fs_token_uniquifier", "token_hash", "row_hash", "path",
                 "updated_at", "created_at", "version"}


def _record_names(entries) -> dict[tuple[str, str], str]:
    """(entity, entity id) -> the record's name, for the rows on one page (one query per table)."""
    wanted: dict[str, set] = {}
    for e in entries:
        if e.entity_id and e.entity in db.metadata.tables:
            wanted.setdefault(e.entity, set()).add(e.entity_id)
    names = {}
    for entity, ids in wanted.items():
        table = db.metadata.tables[entity]
        column = next((table.c[n] for n in NAME_COLUMNS if n in table.c), None)
        keys = list(table.primary_key.columns)
        if column is None or len(keys) != 1:
            continue
        typed = [int(i) if i.isdigit() else i for i in ids] if keys[0].type.python_type is int else list(ids)
        for key, name in db.session.execute(select(keys[0], column).where(keys[0].in_(typed))):
            names[(entity, str(key))] = name
    return names


REFERENCES = {"agency_id": "agency", "owner_agency_id": "agency", "depot_id": "depot", "material_id": "material",
              "approved_by_id": "user", "created_by_id": "user", "user_id": "user", "author_id": "user",
              "reviewed_by_id": "user", "cancelled_by_id": "user", "updated_by_id": "user"}
ISO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d")


def _reference_names(entries) -> dict[tuple[str, object], str]:
    """(table, id) -> name for the ids the page's changes refer to (an agency's id shows as its name)."""
    wanted: dict[str, set] = {}
    for e in entries:
        for values in (e.before or {}, e.after or {}):
            for key, table in REFERENCES.items():
                if isinstance(values.get(key), int):
                    wanted.setdefault(table, set()).add(values[key])
    names = {}
    for table_name, ids in wanted.items():
        table = db.metadata.tables[table_name]
        column = table.c["display_name"] if "display_name" in table.c else table.c["name"] if "name" in table.c \
            else table.c["email"]
        for key, name in db.session.execute(select(table.c.id, column).where(table.c.id.in_(ids))):
            names[(table_name, key)] = name
    if "user" in wanted:   # a user without a display name is known by the e-mail
        table = db.metadata.tables["user"]
        for key, email in db.session.execute(select(table.c.id, table.c.email).where(table.c.id.in_(wanted["user"]))):
            names[("user", key)] = names.get(("user", key)) or email
    return names


def _shown(value, key: str = "", references: dict | None = None, entity: str = "", values: dict | None = None) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if values is not None and isinstance(value, str):
        labels = values.get((entity, key)) or values.get((None, key)) or {}
        if value in labels:
            return str(labels[value])
    if key in REFERENCES and references is not None:
        return references.get((REFERENCES[key], value), str(value))
    if isinstance(value, str) and ISO_TIME.match(value):
        try:
            return local_text(datetime.fromisoformat(value))
        except ValueError:
            return value
    return readable_json(value) if isinstance(value, (dict, list)) else str(value)


def readable_entries(entries) -> list[dict]:
    """Audit rows for the page: the action and record kind in words, the record's name (not
    "supplier#6"), and each changed field as label: before → after (not a JSON diff)."""
    names, references, values = _record_names(entries), _reference_names(entries), _value_labels()
    rows = []
    for e in entries:
        before, after = e.before or {}, e.after or {}
        changed = [k for k in sorted(set(before) | set(after)) if k not in HIDDEN_FIELDS and before.get(k) != after.get(k)]
        # Fields without a label for people (technical columns) stay in the CSV export, counted here.
        fields = [k for k in changed if k in FIELD_LABELS]
        rows.append({"entry": e, "action": str(ACTION_LABELS.get(e.action, e.action)),
                     "entity": str(ENTITY_LABELS.get(e.entity, _("Record"))),
                     "record": names.get((e.entity, e.entity_id or "")) or (e.entity_id or ""),
                     "changes": [(str(ENTITY_FIELD_LABELS.get((e.entity, k), FIELD_LABELS[k])),
                                  _shown(before.get(k), k, references, e.entity, values) if k in before else None,
                                  _shown(after.get(k), k, references, e.entity, values) if k in after else None)
                                 for k in fields[:12]],
                     "more": len(changed) - min(len(fields), 12)})
    return rows
