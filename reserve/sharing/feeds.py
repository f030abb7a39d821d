"""Change feeds and full exports of the shareable kinds, with their data dictionary.

A feed page lists the records changed after `cursor`, oldest change first, each once (at its
latest change). A record the caller may read comes as `upsert` with the fields it may read; a
deleted record, or one the caller may no longer read (say, it became restricted), comes as
`delete`. A follower that applies the pages in order holds exactly what an export would give.
Reads through a grant are logged (access.log_grant_reads)."""

from datetime import date

from flask_babel import gettext as _
from sqlalchemy import func, select

from core.errors import NotFound
from core.extensions import db
from core.scoping import scoped

from core.organisation import Agency
from .access import Reach, log_grant_reads, reach
from .models import SharedChange
from .resources import RESOURCES, Resource

MAX_PAGE = 1000
EXPORT_LIMIT = 200_000


def resource_of(kind: str) -> Resource:
    if kind not in RESOURCES:
        raise NotFound(_("There is no shared resource of kind %(kind)s.", kind=kind))
    return RESOURCES[kind]


def _paths(agency_ids) -> dict[int, str]:
    ids = sorted(set(agency_ids))
    return (
        dict(db.session.execute(select(Agency.id, Agency.path).where(Agency.id.in_(ids))).all())
        if ids
        else {}
    )


class _Reads:
    """Collects the records read through each grant, for the access log."""

    def __init__(self):
        self.by_grant: dict[int, dict] = {}

    def add(self, grants, record_id: int, classification: str, fields) -> None:
        for grant in grants:
            entry = self.by_grant.setdefault(
                grant.id, {"grant": grant, "ids": [], "restricted": 0, "fields": set()}
            )
            entry["ids"].append(record_id)
            entry["restricted"] += classification == "restricted"
            entry["fields"] |= set(fields)


def _visible(resource: Resource, r: Reach, records, reads: _Reads):
    """(record, fields or None) for each record, noting grant reads."""
    paths = _paths(resource.owner_id(rec) for rec in records)
    for rec in records:
        owner, classification = resource.owner_id(rec), resource.classification(rec)
        fields, grants = r.fields_for(owner, paths.get(owner), classification, resource.field_keys)
        if grants and fields is not None:
            reads.add(grants, rec.id, classification, fields)
        yield rec, fields


def read_feed(
    user, kind: str, *, cursor: int, limit: int, today: date, agency_id: int | None = None
) -> dict:
    resource = resource_of(kind)
    r = reach(user, kind, today)
    stmt = select(SharedChange).where(SharedChange.kind == kind, SharedChange.seq > cursor)
    if agency_id is not None:
        stmt = stmt.where(SharedChange.agency_id == agency_id)
    stmt = scoped(stmt, user, SharedChange.agency_id, None, shared=r.shared)
    changes = (
        db.session.execute(stmt.order_by(SharedChange.seq).limit(min(limit, MAX_PAGE) + 1))
        .scalars()
        .all()
    )
    has_more = len(changes) > min(limit, MAX_PAGE)
    changes = changes[: min(limit, MAX_PAGE)]
    live_ids = [c.record_id for c in changes if not c.deleted]
    model = resource.model
    records = (
        {
            rec.id: rec
            for rec in db.session.execute(select(model).where(model.id.in_(live_ids)))
            .unique()
            .scalars()
        }
        if live_ids
        else {}
    )
    reads = _Reads()
    allowed = {
        rec.id: fields for rec, fields in _visible(resource, r, list(records.values()), reads)
    }
    items = []
    for change in changes:
        record, fields = records.get(change.record_id), allowed.get(change.record_id)
        if record is None or fields is None:
            items.append(
                {
                    "seq": change.seq,
                    "op": "delete",
                    "id": change.record_id,
                    "agency_id": change.agency_id,
                    "changed_at": change.changed_at,
                    "record": None,
                }
            )
        else:
            items.append(
                {
                    "seq": change.seq,
                    "op": "upsert",
                    "id": record.id,
                    "agency_id": resource.owner_id(record),
                    "changed_at": change.changed_at,
                    "record": resource.serialize(record, fields),
                }
            )
    log_grant_reads(user, kind, "feed", reads.by_grant)
    db.session.commit()
    return {
        "kind": kind,
        "cursor": cursor,
        "next_cursor": changes[-1].seq if changes else cursor,
        "has_more": has_more,
        "items": items,
    }


def _export_select(user, resource: Resource, r: Reach, agency_id: int | None):
    model = resource.model
    stmt = select(model)
    if agency_id is not None:
        stmt = stmt.where(getattr(model, resource.owner_attr) == agency_id)
    classification = model.classification if resource.classified else None
    return scoped(stmt, user, getattr(model, resource.owner_attr), classification, shared=r.shared)


def export_size(user, filters: dict, today: date) -> int:
    """At most how many rows the export would hold (records in scope, before each one's fields
    are decided), counted without reading them."""
    resource = resource_of(filters["kind"])
    stmt = _export_select(
        user, resource, reach(user, filters["kind"], today), filters.get("agency_id")
    )
    count = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    return min(count, EXPORT_LIMIT)


def export_rows(
    user, kind: str, *, today: date, agency_id: int | None = None
) -> tuple[list[str], list[list]]:
    """Every record of `kind` the caller may read, as rows under the dictionary's keys (fields
    it may not read are empty)."""
    resource = resource_of(kind)
    r = reach(user, kind, today)
    model = resource.model
    stmt = _export_select(user, resource, r, agency_id)
    records = (
        db.session.execute(stmt.order_by(model.id).limit(EXPORT_LIMIT)).unique().scalars().all()
    )
    reads = _Reads()
    keys = resource.field_keys
    rows = []
    for rec, fields in _visible(resource, r, records, reads):
        if fields is None:
            continue
        values = resource.serialize(rec, fields)
        rows.append([_cell(values.get(k)) for k in keys])
    log_grant_reads(user, kind, "export", reads.by_grant)
    db.session.commit()
    return keys, rows


def export_table(user, filters: dict, today: date) -> tuple[list[str], list[list]]:
    """The `sharing` export (core/export_jobs.py EXPORTS): export_rows of `filters["kind"]`."""
    return export_rows(user, filters["kind"], today=today, agency_id=filters.get("agency_id"))


def export_caption(filters: dict) -> str:
    """The exported kind's title, beside the export's label on the pages (共享数据 · 库存)."""
    resource = RESOURCES.get(filters.get("kind"))
    return str(resource.title) if resource else ""


def dictionary_sheet(filters: dict) -> tuple[str, list[str], list[list]]:
    """The XLSX's second sheet: the data dictionary of the exported kind."""
    return (
        "dictionary",
        [_("Field"), _("Type"), _("Meaning")],
        [[e["key"], e["type"], e["label"]] for e in dictionary(filters["kind"])],
    )


def _cell(value):
    if isinstance(value, (list, dict)):
        import json

        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return value


def dictionary(kind: str) -> list[dict]:
    resource = resource_of(kind)
    return [{"key": f.key, "type": f.type, "label": str(f.label)} for f in resource.fields]


def export_file(
    user, kind: str, file_format: str, *, today: date, agency_id: int | None = None
) -> tuple[bytes, str]:
    """CSV (UTF-8 with BOM) or XLSX with a second sheet holding the data dictionary, written in
    the request; more than EXPORT_INLINE_MAX_ROWS rows are refused with the way to the
    background export (core/export_jobs.py)."""
    from core import export_jobs, exports

    filters = {"kind": kind, "agency_id": agency_id}
    export_jobs.check_inline(export_size(user, filters, today))
    header, rows = export_table(user, filters, today)
    return exports.file_bytes(file_format, [(kind, header, rows), dictionary_sheet(filters)])


def dictionary_csv(kind: str) -> bytes:
    from core.exports import csv_bytes

    return csv_bytes(
        ["key", "type", "label"], [[e["key"], e["type"], e["label"]] for e in dictionary(kind)]
    )
