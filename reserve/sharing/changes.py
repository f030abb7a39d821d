"""The change log behind the feeds: which shareable record changed, in commit order.

ORM changes are seen after each flush; the ledger and the reporting apply also write with Core
statements (movements, guarded stock updates), which are seen as they execute, and on
PostgreSQL the reporting apply COPYs its lots and movements (`stock.bulk`), which is
announced on `bulk.rows_copied`. A lot is recorded through its movements (every new lot gets its
receipt movement in the same transaction) and through updates of it. Either way the record's row
in `shared_change` is replaced by a new one with a higher `seq`, under the audit log's lock
(PostgreSQL), so a feed reader that has passed `seq` N never sees a change <= N commit later.
"""

from sqlalchemy import (
    Integer,
    any_,
    bindparam,
    delete,
    event,
    false,
    func,
    insert,
    literal,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from core.audit import AUDIT_LOCK_KEY
from core.extensions import db
from core.timeutil import utcnow

from ..models import ReserveNorm
from ..stock import bulk
from ..stock.queries import moved_lot_id
from .models import SharedChange
from .resources import RESOURCES

CHUNK = 500
ORM_KINDS = {resource.model: kind for kind, resource in RESOURCES.items()}


def _facts(obj) -> tuple[str, int, int | None, str] | None:
    """(kind, record id, owner agency id, classification) of a tracked ORM object."""
    if isinstance(obj, ReserveNorm):
        plan = obj.plan
        return (
            ("plans", plan.id, plan.agency_id, plan.classification)
            if plan is not None and plan.id
            else None
        )
    kind = ORM_KINDS.get(type(obj))
    if kind is None or obj.__dict__.get("id") is None:
        return None
    resource = RESOURCES[kind]
    return kind, obj.id, resource.owner_id(obj), resource.classification(obj)


def _after_flush(session: Session, _context) -> None:
    touched, lots, deleted = {}, set(), set()
    for obj in list(session.new) + [o for o in session.dirty if session.is_modified(o)]:
        if (lot_id := moved_lot_id(obj)) is not None:
            lots.add(lot_id)
        elif (facts := _facts(obj)) is not None:
            touched[facts[:2]] = facts
    for obj in session.deleted:
        if isinstance(obj, ReserveNorm):
            if (facts := _facts(obj)) is not None:
                touched[facts[:2]] = facts
        elif (facts := _facts(obj)) is not None:
            touched[facts[:2]] = facts
            deleted.add(facts[:2])
    if touched:
        record_changes(session.connection(), list(touched.values()), deleted)
    record_lot_changes(session.connection(), lots - {r for k, r in touched if k == "stock"})


def _core_lot_ids(state) -> set[int]:
    """Lots a Core statement on movement or stock_lot touches (bulk parameters)."""
    statement = state.statement
    table = getattr(getattr(statement, "table", None), "name", None)
    if table not in ("movement", "stock_lot") or not (state.is_insert or state.is_update):
        return set()
    params = state.parameters
    params = params if isinstance(params, list) else [params or {}]
    key = "lot_id" if table == "movement" else "b_id"
    return {p[key] for p in params if isinstance(p, dict) and p.get(key) is not None}


def _on_execute(state):
    table = getattr(getattr(state.statement, "table", None), "name", None)
    if table == "stock_lot" and state.is_insert and getattr(state.statement, "_returning", ()):
        frozen = state.invoke_statement().freeze()
        ids = [row._mapping.get("id") for row in frozen()]
        if ids and ids[0] is not None:
            record_lot_changes(state.session.connection(), ids)
        return frozen()
    lot_ids = _core_lot_ids(state)
    if lot_ids:
        result = state.invoke_statement()
        record_lot_changes(state.session.connection(), lot_ids)
        return result
    return None


def _on_rows_copied(table_name: str, *, connection, rows: list[dict]) -> None:
    key = {"movement": "lot_id", "stock_lot": "id"}.get(table_name)
    if key is not None:
        record_lot_changes(connection, {row[key] for row in rows if row.get(key) is not None})


def _lock(conn) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_LOCK_KEY})


def record_lot_changes(conn, lot_ids) -> None:
    """Replace the change rows of these lots by new ones, taking each lot's owner and
    classification from the database: two statements (PostgreSQL: one array parameter) or two
    per CHUNK ids (SQLite), nothing read into Python."""
    ids = sorted(i for i in lot_ids if i is not None)
    if not ids:
        return
    _lock(conn)
    now = utcnow()
    lot = RESOURCES["stock"].model
    columns = ["kind", "record_id", "agency_id", "classification", "deleted", "changed_at"]
    for among in _among(conn, ids):
        conn.execute(
            delete(SharedChange.__table__).where(
                SharedChange.kind == "stock", among(SharedChange.record_id)
            )
        )
        conn.execute(
            insert(SharedChange.__table__).from_select(
                columns,
                select(
                    literal("stock"),
                    lot.id,
                    lot.owner_agency_id,
                    func.coalesce(lot.classification, "internal"),
                    false(),
                    literal(now),
                )
                .where(among(lot.id))
                .order_by(lot.id),
            )
        )


def _among(conn, ids: list[int]) -> list:
    """Conditions "column is one of ids": one with an array parameter on PostgreSQL, one per
    CHUNK ids elsewhere (SQLite's limit on bound parameters)."""
    if conn.dialect.name == "postgresql":
        return [lambda column: column == any_(bindparam("ids", ids, type_=ARRAY(Integer)))]
    return [
        lambda column, chunk=ids[start : start + CHUNK]: column.in_(chunk)
        for start in range(0, len(ids), CHUNK)
    ]


def record_changes(conn, rows: list[tuple], deleted: set) -> None:
    """Replace the change rows of these (kind, id, agency, classification) records by new ones."""
    if not rows:
        return
    _lock(conn)
    now = utcnow()
    by_kind: dict[str, list] = {}
    for row in rows:
        by_kind.setdefault(row[0], []).append(row)
    for kind, items in by_kind.items():
        ids = sorted({r[1] for r in items})
        for start in range(0, len(ids), CHUNK):
            conn.execute(
                delete(SharedChange.__table__).where(
                    SharedChange.kind == kind,
                    SharedChange.record_id.in_(ids[start : start + CHUNK]),
                )
            )
        values = [
            {
                "kind": kind,
                "record_id": r[1],
                "agency_id": r[2],
                "classification": r[3] or "internal",
                "deleted": (kind, r[1]) in deleted,
                "changed_at": now,
            }
            for r in sorted({r[1]: r for r in items}.values(), key=lambda r: r[1])
        ]
        conn.execute(insert(SharedChange.__table__), values)


def backfill(kinds=None) -> int:
    """Give every existing record without a change row one (records loaded in bulk, before the
    change log existed). Safe to run twice. Returns the number of rows added.

    One INSERT ... SELECT per kind, in id order, under the change log's lock: in batches with a
    delete per 500 ids and a NOT IN over the growing log, the national demo's million lots
    took more than half an hour."""
    conn = db.session.connection()
    _lock(conn)
    now, added = utcnow(), 0
    columns = ["kind", "record_id", "agency_id", "classification", "deleted", "changed_at"]
    for kind in kinds or RESOURCES:
        model = RESOURCES[kind].model
        classification = (
            func.coalesce(model.classification, "internal")
            if RESOURCES[kind].classified
            else literal("internal")
        )
        known = select(SharedChange.seq).where(
            SharedChange.kind == kind, SharedChange.record_id == model.id
        )
        added += conn.execute(
            insert(SharedChange.__table__).from_select(
                columns,
                select(
                    literal(kind),
                    model.id,
                    getattr(model, RESOURCES[kind].owner_attr),
                    classification,
                    false(),
                    literal(now),
                )
                .where(~known.exists())
                .order_by(model.id),
            ),
            execution_options={"preserve_rowcount": True},
        ).rowcount
    db.session.commit()
    return added


def install_change_hooks() -> None:
    """Idempotent, like the audit hooks."""
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "do_orm_execute", _on_execute)
        bulk.rows_copied.connect(_on_rows_copied)
