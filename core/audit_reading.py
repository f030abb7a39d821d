"""The audit log as people read it: who acted, the action and record kind in words, each record
by its name, each changed field as label: before → after (the CSV export keeps the raw values)."""

import re
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from . import features
from .exports import readable_json
from .extensions import db
from .organisation import AGENCY_KIND_LABELS
from .timeutil import local_text

ACTION_LABELS = {
    "create": _l("Added"),
    "update": _l("Changed"),
    "delete": _l("Deleted"),
    "submission.applied": _l("Report applied"),
    "submission.reverted": _l("Report reverted"),
    "bulk_load": _l("Demo data loaded"),
}
ENTITY_LABELS = {
    "agency": _l("Agency"),
    "region": _l("Region"),
    "category": _l("Category"),
    "material": _l("Material"),
    "material_alias": _l("Material alias"),
    "depot": _l("Depot"),
    "stock_lot": _l("Lot"),
    "movement": _l("Stock movement"),
    "transport_capacity": _l("Transport capacity"),
    "emergency_plan": _l("Emergency plan"),
    "reserve_norm": _l("Reserve norm"),
    "submission": _l("Submission"),
    "user": _l("User"),
    "role": _l("Role"),
    "roles_users": _l("Role"),
    "supplier": _l("Supplier"),
    "supplier_offer": _l("Supplier offer"),
    "supplier_document": _l("Licence document"),
    "incident": _l("Incident"),
    "demand_point": _l("Demand point"),
    "demand": _l("Demand"),
    "plan_version": _l("Dispatch plan"),
    "plan_line": _l("Plan line"),
    "shipment": _l("Shipment"),
    "warning": _l("Warning"),
    "notice": _l("Notice"),
    "feedback": _l("Public feedback"),
    "board_demand": _l("Call for supply"),
    "board_offer": _l("Offer"),
    "external_client": _l("External client"),
    "sharing_grant": _l("Sharing grant"),
    "shared_resource": _l("Shared resource"),
    "demo": _l("Demo data"),
    "after_action_record": _l("After-action record"),
    "consultation_message": _l("Consultation message"),
    "line_position": _l("Position"),
    "report_cadence": _l("Reporting cadence"),
    "stock_minimum": _l("Stock minimum"),
}
FIELD_LABELS = {
    "name": _l("Name"),
    "title": _l("Title"),
    "code": _l("Code"),
    "status": _l("Status"),
    "email": _l("E-mail"),
    "display_name": _l("Display name"),
    "active": _l("Active"),
    "quantity": _l("Quantity"),
    "on_hand": _l("On hand"),
    "reserved": _l("Reserved"),
    "reserve_type": _l("Reserve type"),
    "classification": _l("Classification"),
    "agency_id": _l("Agency"),
    "owner_agency_id": _l("Agency"),
    "depot_id": _l("Depot"),
    "material_id": _l("Material"),
    "region_code": _l("Region"),
    "address": _l("Address"),
    "lat": _l("Latitude"),
    "lon": _l("Longitude"),
    "contact_name": _l("Contact"),
    "contact_phone": _l("Contact phone"),
    "lot_no": _l("Lot number"),
    "expiry_date": _l("Expiry date"),
    "production_date": _l("Production date"),
    "unit": _l("Unit"),
    "reason": _l("Reason"),
    "note": _l("Note"),
    "level": _l("Level"),
    "count": _l("Count"),
    "payload_t": _l("Payload t"),
    "credit_code": _l("Credit code"),
    "kind": _l("Kind"),
    "mode": _l("Mode"),
    "enterprise_name": _l("Enterprise"),
    "last_login_at": _l("Last login"),
    "current_login_at": _l("Login"),
    "login_count": _l("Logins"),
    "approved_at": _l("Approved at"),
    "approved_by_id": _l("Approved by"),
    "reviewed_at": _l("Reviewed at"),
    "review_note": _l("Review note"),
    "capacity_m3": _l("Capacity m³"),
    "capacity_t": _l("Capacity t"),
    "basis": _l("Basis"),
    "priority": _l("Priority"),
    "severity": _l("Severity"),
}
ENTITY_LABELS.update(
    {
        "line_allocation": _l("Stock allocation"),
        "demand_revision": _l("Demand revision"),
        "warning_event": _l("Warning history"),
        "notification": _l("Notification"),
        "outbox_message": _l("E-mail"),
        "login_session": _l("Login session"),
        "expiry_policy_override": _l("Expiry policy"),
        "sharing_access": _l("Sharing access"),
        "quality_snapshot": _l("Data-quality snapshot"),
    }
)
# Field labels that differ by record kind (a submission's mode is full or incremental, not a road).
ENTITY_FIELD_LABELS = {
    ("submission", "mode"): _l("Report mode"),
    ("submission", "kind"): _l("Report"),
    ("supplier", "region_code"): _l("Region"),
}


def _value_labels() -> dict:
    """(record kind or None for any, field) -> {stored code: label}: the features' (core/features.py)."""
    return {("agency", "kind"): AGENCY_KIND_LABELS, **features.value_labels()}


NAME_COLUMNS = ("display_name", "name", "title", "number", "batch_no", "lot_no", "alias", "email")
HIDDEN_FIELDS = {
    "id",
    "password",
    "fs_uniquifier",
    "fs_token_uniquifier",
    "token_hash",
    "row_hash",
    "path",
    "updated_at",
    "created_at",
    "version",
}
# Records without a name of their own are known by what they belong to: these columns, a
# reference shown as the referenced record's name, a coded value as its label.
NAMED_BY = {
    "stock_lot": ("lot_no", "material_id"),
    "movement": ("lot_id", "kind"),
    "line_allocation": ("lot_id",),
    "supplier_offer": ("supplier_id", "material_id"),
    "board_offer": ("offerer_name", "demand_id"),
    "supplier_document": ("supplier_id", "original_name"),
    "reserve_norm": ("plan_id", "material_id"),
    "plan_version": ("incident_id", "version"),
    "plan_line": ("depot_id", "material_id"),
    "after_action_record": ("incident_id", "kind", "material_id"),
    "consultation_message": ("incident_id", "kind"),
    "submission": ("agency_id", "filename"),
    "report_cadence": ("agency_id", "kind"),
    "shared_resource": ("agency_id", "kind"),
    "sharing_grant": ("owner_agency_id", "kind"),
    "warning": ("kind", "depot_id", "material_id"),
    "notification": ("user_id",),
    "demand_revision": ("demand_id",),
    "stock_minimum": ("depot_id", "material_id"),
    "material_alias": ("alias", "material_id"),
    "transport_capacity": ("depot_id", "vehicle_type"),
    "feedback": ("category",),
}
# Columns that refer to another record without a foreign key (the agency a row is scoped to).
REFERENCES = {"agency_id": "agency", "owner_agency_id": "agency", "user_id": "user"}
ISO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d")


def _name_column(table):
    return next((table.c[n] for n in NAME_COLUMNS if n in table.c), None)


def _referenced_table(entity: str, key: str):
    """The table a column of `entity` refers to, if that table's rows have names."""
    table = db.metadata.tables.get(entity)
    target = None
    if table is not None and key in table.c and table.c[key].foreign_keys:
        target = next(iter(table.c[key].foreign_keys)).column.table
    elif key in REFERENCES:
        target = db.metadata.tables[REFERENCES[key]]
    if target is None or _name_column(target) is None or len(target.primary_key.columns) != 1:
        return None
    return target


def _names_in(table, ids) -> dict:
    """id -> name of the rows of `table` (a user by display name, else e-mail; a lot by number)."""
    key = next(iter(table.primary_key.columns))
    typed = (
        [int(i) if str(i).isdigit() else i for i in ids]
        if key.type.python_type is int
        else [str(i) for i in ids]
    )
    shown = [
        c
        for c in (table.c.get("display_name"), _name_column(table), table.c.get("email"))
        if c is not None
    ]
    return {
        str(row[0]): next((v for v in row[1:] if v), str(row[0]))
        for row in db.session.execute(select(key, *shown).where(key.in_(typed)))
    }


class _Namer:
    """Names for the records one page of the log shows and refers to: one query per table."""

    def __init__(self, entries):
        self.values = _value_labels()
        self.names: dict[tuple[str, str], str] = {}
        wanted: dict[str, set] = {
            "user": {str(e.user_id) for e in entries if e.user_id is not None}
        }  # who acted
        for e in entries:
            for values in (e.before or {}, e.after or {}):
                for key, value in values.items():
                    if (
                        isinstance(value, (int, str))
                        and not isinstance(value, bool)
                        and (target := _referenced_table(e.entity, key)) is not None
                    ):
                        wanted.setdefault(target.name, set()).add(str(value))
        records = self._records(entries, wanted)
        for table_name, ids in wanted.items():
            if ids:
                table = db.metadata.tables[table_name]
                self.names.update({(table_name, k): v for k, v in _names_in(table, ids).items()})
        self.records = {where: self._compose(where[0], row) for where, row in records.items()}

    def _records(self, entries, wanted) -> dict:
        """(entity, id) -> the record's name or its NAMED_BY columns; the references they hold join `wanted`."""
        ids: dict[str, set] = {}
        for e in entries:
            if e.entity_id and e.entity in db.metadata.tables:
                ids.setdefault(e.entity, set()).add(e.entity_id)
        found = {}
        for entity, keys in ids.items():
            table = db.metadata.tables[entity]
            if len(table.primary_key.columns) != 1:
                continue
            columns = NAMED_BY.get(entity)
            if columns is None:
                if _name_column(table) is not None:
                    found.update({(entity, k): v for k, v in _names_in(table, keys).items()})
                continue
            key = next(iter(table.primary_key.columns))
            typed = (
                [int(i) for i in keys if i.isdigit()] if key.type.python_type is int else list(keys)
            )
            for row in db.session.execute(
                select(key, *(table.c[c] for c in columns)).where(key.in_(typed))
            ):
                found[(entity, str(row[0]))] = dict(zip(columns, row[1:]))
                for column, value in zip(columns, row[1:]):
                    if (
                        value is not None
                        and (target := _referenced_table(entity, column)) is not None
                    ):
                        wanted.setdefault(target.name, set()).add(str(value))
        return found

    def _compose(self, entity: str, row) -> str:
        if isinstance(row, str):
            return row
        parts = [
            _("version %(n)s", n=v) if k == "version" else self.shown(v, k, entity)
            for k, v in row.items()
            if v not in (None, "")
        ]
        return " · ".join(parts)

    def record(self, entry) -> str:
        return self.records.get((entry.entity, entry.entity_id or "")) or (entry.entity_id or "")

    def shown(self, value, key: str = "", entity: str = "") -> str:
        if value is None or value == "":
            return "—"
        if isinstance(value, bool):
            return _("yes") if value else _("no")
        if isinstance(value, str):
            labels = self.values.get((entity, key)) or self.values.get((None, key)) or {}
            if value in labels:
                return str(labels[value])
        if (target := _referenced_table(entity, key)) is not None:
            return self.names.get((target.name, str(value)), str(value))
        if isinstance(value, str) and ISO_TIME.match(value):
            try:
                return local_text(datetime.fromisoformat(value))
            except ValueError:
                return value
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return readable_json(value) if isinstance(value, (dict, list)) else str(value)


def actor_label(entry, namer: _Namer) -> tuple[str, str | None]:
    """Who made a change, as people know them, and the command typed if it was one: a user by
    name, a scheduled job by what it does, a change with no one signed in (a public form) as a
    visitor's."""
    actor = entry.actor or ""
    if entry.user_id is not None:
        return namer.names.get(("user", str(entry.user_id))) or actor, None
    kind, _sep, what = actor.partition(":")
    if kind == "cli":
        return _("Command line"), f"flask {what}"
    if kind == "scheduler":
        return _("Scheduled job: %(job)s", job=str(SCHEDULED_JOB_LABELS.get(what, what))), None
    if kind == "worker":  # a background job that nobody started (its starter is named above)
        return _("Background job"), None
    if actor == "anonymous":
        return _("Visitor (not signed in)"), None
    if actor == "system":
        return _("System"), None
    return actor, None


SCHEDULED_JOB_LABELS = {
    "warnings-scan": _l("warning scan"),
    "notifications-send": _l("sending notifications"),
    "warnings-digest": _l("daily warning digest"),
    "submissions-prune": _l("removing refused report files"),
    "background-jobs-sweep": _l("background job sweep"),
    "sharing-daily": _l("daily sharing and data-quality run"),
    "audit-verify": _l("audit chain check"),
    "backup-verify": _l("database check"),
}


def readable_entries(entries) -> list[dict]:
    """Audit rows for the page: who in words, the action and record kind in words, the record's
    name (not "supplier#6"), and each changed field as label: before → after (not a JSON diff)."""
    entries = list(entries)
    namer = _Namer(entries)
    rows = []
    for e in entries:
        before, after = e.before or {}, e.after or {}
        changed = [
            k
            for k in sorted(set(before) | set(after))
            if k not in HIDDEN_FIELDS and before.get(k) != after.get(k)
        ]
        # Fields without a label for people (technical columns) stay in the CSV export, counted here.
        fields = [k for k in changed if k in FIELD_LABELS]
        rows.append(
            {
                "entry": e,
                "actor": actor_label(e, namer),
                "action": str(ACTION_LABELS.get(e.action, e.action)),
                "entity": str(ENTITY_LABELS.get(e.entity, _("Record"))),
                "record": namer.record(e),
                "changes": [
                    (
                        str(ENTITY_FIELD_LABELS.get((e.entity, k), FIELD_LABELS[k])),
                        namer.shown(before.get(k), k, e.entity) if k in before else None,
                        namer.shown(after.get(k), k, e.entity) if k in after else None,
                    )
                    for k in fields[:12]
                ],
                "more": len(changed) - min(len(fields), 12),
            }
        )
    return rows
