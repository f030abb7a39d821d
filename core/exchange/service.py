"""Sending and receiving bundles (core/exchange/__init__.py says what crosses and why).

A deployment's role (DEPLOYMENT_ROLE) decides its directions: `internal` sends OUTBOUND and
receives INBOUND, `public` the reverse, `combined` (the demo: both in one app and one database)
exchanges nothing. Every send and every receive holds its direction's cursor row locked, commits
once, and touches the drop directories only around that commit:

- send: the kinds collect what is new since their state in the cursor; the sealed bundle is
  written under a pending name, the cursor advanced and committed, then the file renamed into
  view (a sender stopped in between finishes or drops the pending file on its next run);
- receive: each inbox file is verified, its sequence number checked against the cursor, and its
  items applied by their kinds in one transaction with the cursor's advance; a refused file is
  moved to `rejected/` with the reason beside it, logged, and reported at ERROR.
"""

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import select

from .. import features
from ..extensions import db
from ..timeutil import utcnow
from . import bundles, keys, transport
from .bundles import INBOUND, OUTBOUND, Refused
from .models import APPLIED, RECEIVE, REFUSED, SEND, SENT, WAITING, ExchangeCursor, ExchangeLog

log = logging.getLogger(__name__)
SENDS = {"internal": OUTBOUND, "public": INBOUND}
RECEIVES = {"internal": INBOUND, "public": OUTBOUND}


@dataclass(frozen=True)
class ExchangeKind:
    """One kind of data that crosses. `collect(state)` runs on the sending side and returns
    `(payload, new_state)`, or None when it has nothing new since `state` (its own JSON dict in
    the cursor); the payload must be JSON and bounded. `apply(payload)` runs on the receiving
    side inside the bundle's transaction and returns how many items it took; it treats every
    field as untrusted, skips (and counts) an item it refuses, and raises only when it cannot
    apply the payload at all, which refuses the whole bundle."""

    name: str
    direction: str
    collect: Callable[[dict], tuple[Any, dict] | None]
    apply: Callable[[Any], int]


def snapshot_kind(name: str, direction: str, read: Callable[[], list], replace) -> ExchangeKind:
    """A kind that sends the whole of `read()` (JSON rows) whenever it differs from what was sent
    last, and whose receiving side replaces its copy with it (`replace(rows)` returns a count).
    For published data of bounded size: aggregates, notices, the catalog."""

    def collect(state: dict):
        rows = read()
        text = json.dumps(rows, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        digest = hashlib.sha256(text.encode()).hexdigest()
        if state.get("digest") == digest or (not state and not _has_rows(rows)):
            return None  # unchanged, or nothing yet
        return rows, {"digest": digest}

    return ExchangeKind(name, direction, collect, replace)


LATE_WINDOW = 1000  # ids below the highest one sent that may still commit (see `unsent`)


def unsent(model, state: dict, limit: int) -> list:
    """Rows of `model` (with an integer `id`) an event kind has not sent yet, oldest first: those
    above the highest id sent, and those below it, within LATE_WINDOW, that committed after a
    higher id was sent (a database hands out ids before the commit, so concurrent transactions
    commit out of order). Receivers take an item once (by its reference)."""
    high = int(state.get("high") or 0)
    sent = set(state.get("recent") or [])
    stmt = select(model).where(model.id > high - LATE_WINDOW).order_by(model.id)
    return [row for row in db.session.execute(stmt).scalars() if row.id not in sent][:limit]


def sent_state(state: dict, rows: list) -> dict:
    """The kind's state once `rows` are sent: the highest id and the ids sent within the window."""
    high = max([int(state.get("high") or 0), *(row.id for row in rows)])
    recent = set(state.get("recent") or []) | {row.id for row in rows}
    return {"high": high, "recent": sorted(i for i in recent if i > high - LATE_WINDOW)}


def _has_rows(rows) -> bool:
    return any(rows.values()) if isinstance(rows, dict) else bool(rows)


def kinds(direction: str, declared=None) -> list[ExchangeKind]:
    found = features.declared("exchange") if declared is None else declared
    return [kind for kind in found if kind.direction == direction]


def role() -> str:
    return current_app.config.get("DEPLOYMENT_ROLE", "combined")


def _direction(table: dict, what: str) -> str:
    direction = table.get(role())
    if direction is None:
        raise RuntimeError(
            f"DEPLOYMENT_ROLE={role()!r} {what} no bundles: only 'internal' and 'public' exchange"
        )
    return direction


def _path(key: str) -> Path:
    value = current_app.config.get(key)
    if not value:
        raise RuntimeError(f"{key} is not set (docs/operations.md, 'Two networks')")
    return Path(value)


def _cursor(direction: str, side: str) -> ExchangeCursor:
    """The direction's cursor, locked until the commit (created on first use)."""
    stmt = select(ExchangeCursor).where(
        ExchangeCursor.direction == direction, ExchangeCursor.side == side
    )
    cursor = db.session.execute(stmt.with_for_update()).scalar_one_or_none()
    if cursor is None:
        cursor = ExchangeCursor(direction=direction, side=side, seq=0, state={})
        db.session.add(cursor)
        db.session.flush()
    return cursor


def send(now=None, declared=None) -> dict:
    """Collect, seal and drop one bundle if any kind has something new."""
    now = now or utcnow()
    direction = _direction(SENDS, "sends")
    outbox, archive = _path("EXCHANGE_OUTBOX_DIR"), _path("EXCHANGE_ARCHIVE_DIR")
    signing_key = keys.load_private(_path("EXCHANGE_SIGNING_KEY"))
    cursor = _cursor(direction, SEND)
    _finish_leftovers(outbox, archive, direction, cursor.seq)
    state, items = dict(cursor.state or {}), {}
    for kind in kinds(direction, declared):
        collected = kind.collect(dict(state.get(kind.name) or {}))
        if collected is not None:
            items[kind.name], state[kind.name] = collected
    if not items:
        db.session.rollback()
        return {"sent": 0}
    seq = cursor.seq + 1
    data = bundles.seal(direction, seq, items, signing_key, now)
    limit = current_app.config["EXCHANGE_MAX_BUNDLE_BYTES"]
    if len(data) > limit:
        db.session.rollback()
        raise RuntimeError(f"bundle {seq} would be {len(data)} bytes > {limit}: kinds must bound")
    pending = transport.write_pending(outbox, direction, seq, data)
    cursor.seq, cursor.state, cursor.updated_at = seq, state, now
    counts = {name: _count(payload) for name, payload in items.items()}
    db.session.add(_log(direction, SEND, seq, SENT, data=data, counts=counts, now=now))
    try:
        db.session.commit()
    except Exception:
        db.session.rollback()
        pending.unlink(missing_ok=True)
        raise
    transport.publish(pending, archive)
    return {"sent": 1, "seq": seq, "counts": counts}


def _finish_leftovers(outbox: Path, archive: Path, direction: str, committed: int) -> None:
    for seq, path in transport.leftover_pending(outbox, direction):
        if seq <= committed:
            transport.publish(path, archive)
        else:
            path.unlink(missing_ok=True)


def _count(payload) -> int:
    return len(payload) if isinstance(payload, list | dict) else 1


def _log(
    direction, side, seq, status, *, data=None, bundle=None, now=None, **fields
) -> ExchangeLog:
    import hashlib

    if bundle is not None:
        fields.update(digest=bundle.digest, size=bundle.size, key_id=bundle.key_id)
    elif data is not None:
        fields.update(digest=hashlib.sha256(data).hexdigest(), size=len(data))
    return ExchangeLog(
        direction=direction, side=side, seq=seq, status=status, created_at=now or utcnow(), **fields
    )


def receive(now=None, declared=None) -> dict:
    """Apply every inbox bundle that is next in sequence; refuse the rest or let them wait."""
    now = now or utcnow()
    direction = _direction(RECEIVES, "receives")
    inbox = _path("EXCHANGE_INBOX_DIR")
    verify_keys = keys.load_public(current_app.config.get("EXCHANGE_VERIFY_KEYS") or "")
    outcome = {APPLIED: 0, REFUSED: 0, WAITING: 0}
    progress = True
    while progress:  # a file named out of order waits on the first pass, goes on the next
        progress, waiting = False, 0
        for path in transport.inbox_files(inbox):
            result = _receive_one(path, inbox, direction, verify_keys, now, declared)
            progress |= result == APPLIED
            waiting += result == WAITING
            if result != WAITING:
                outcome[result] += 1
        outcome[WAITING] = waiting
    return outcome


def _receive_one(path, inbox, direction, verify_keys, now, declared) -> str:
    limit = current_app.config["EXCHANGE_MAX_BUNDLE_BYTES"]
    try:
        if path.stat().st_size > limit:
            raise Refused(bundles.TOO_LARGE, f"{path.stat().st_size} bytes > {limit}")
        bundle = bundles.open_bundle(path.read_bytes(), verify_keys, direction, limit)
    except Refused as refusal:
        return _refuse(path, inbox, direction, None, refusal, now)
    cursor = _cursor(direction, RECEIVE)
    problem = bundles.sequence_problem(bundle.seq, cursor.seq)
    if problem == bundles.REPLAYED:
        db.session.rollback()
        detail = f"sequence {bundle.seq}, already at {cursor.seq}"
        return _refuse(path, inbox, direction, bundle, Refused(problem, detail), now)
    if problem == bundles.OUT_OF_ORDER:
        return _wait(path, direction, bundle, cursor.seq, now)
    try:
        counts = _apply(bundle, kinds(direction, declared))
    except Exception as exc:  # any failure of a kind refuses the bundle, whatever it was
        db.session.rollback()
        log.exception("exchange: applying %s bundle %s failed", direction, bundle.seq)
        refusal = Refused(bundles.APPLY_FAILED, f"{type(exc).__name__}: {exc}"[:400])
        return _refuse(path, inbox, direction, bundle, refusal, now)
    cursor.seq, cursor.updated_at = bundle.seq, now
    db.session.add(
        _log(direction, RECEIVE, bundle.seq, APPLIED, bundle=bundle, counts=counts, now=now)
    )
    db.session.commit()
    transport.file_away(path, inbox, "done")
    return APPLIED


def _apply(bundle, known: list[ExchangeKind]) -> dict:
    by_name = {kind.name: kind for kind in known}
    unknown = sorted(set(bundle.items) - set(by_name))
    if unknown:
        raise Refused(bundles.MALFORMED, f"kinds this side does not take: {', '.join(unknown)}")
    with db.session.begin_nested():  # in the kinds' declared order: the reference data first
        return {k.name: k.apply(bundle.items[k.name]) for k in known if k.name in bundle.items}


def _wait(path, direction, bundle, last, now) -> str:
    """A bundle ahead of the next one waits in the inbox; logged once per sequence number."""
    stmt = select(ExchangeLog.id).where(
        ExchangeLog.direction == direction,
        ExchangeLog.side == RECEIVE,
        ExchangeLog.seq == bundle.seq,
        ExchangeLog.status == WAITING,
    )
    if db.session.execute(stmt).first() is None:
        detail = f"waiting for sequence {last + 1}"
        log.warning("exchange: %s bundle %s %s", direction, bundle.seq, detail)
        db.session.add(
            _log(direction, RECEIVE, bundle.seq, WAITING, bundle=bundle, now=now, detail=detail)
        )
    db.session.commit()
    return WAITING


def _refuse(path, inbox, direction, bundle, refusal: Refused, now) -> str:
    log.error("exchange: %s file %s refused: %s", direction, path.name, refusal)
    seq = bundle.seq if bundle is not None else None
    db.session.add(
        _log(
            direction,
            RECEIVE,
            seq,
            REFUSED,
            bundle=bundle,
            now=now,
            reason=refusal.reason,
            detail=refusal.detail[:500],
            file_name=path.name[:200],
        )
    )
    db.session.commit()
    transport.file_away(path, inbox, "rejected", why=str(refusal))
    return REFUSED


def resend(seq: int) -> Path:
    """Put an archived bundle back into the outbox (the receiver refused or lost it)."""
    direction = _direction(SENDS, "sends")
    source = transport.archived(_path("EXCHANGE_ARCHIVE_DIR"), direction, seq)
    if not source.is_file():
        raise FileNotFoundError(f"no archived bundle {source.name}")
    outbox = _path("EXCHANGE_OUTBOX_DIR")
    pending = transport.write_pending(outbox, direction, seq, source.read_bytes())
    return transport.publish(pending, None)


def recent(limit: int = 50) -> list[ExchangeLog]:
    stmt = select(ExchangeLog).order_by(ExchangeLog.id.desc()).limit(limit)
    return list(db.session.execute(stmt).scalars())


def cursors() -> list[ExchangeCursor]:
    return list(db.session.execute(select(ExchangeCursor)).scalars())
