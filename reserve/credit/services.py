"""Recording the credit lists: an import file, a partner's push, an administrator's end by
reversal; reading them (list with filters, one entry with its history). Every change keeps the
values before it (CreditEntryChange): nothing is overwritten without a trace."""

from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import func, select

from core.errors import Invalid, NotAllowed, NotFound
from core.extensions import db
from core.organisation import Agency
from core.policy import may_administer_system, may_read_planning_sources, works_in_registry
from core.search import contains, starts_with
from core.timeutil import local_today, utcnow

from . import rules
from .models import CreditEntry, CreditEntryChange

MAX_TEXT = 2**20  # of an import file's text once unpacked: 5,000 full rows take about 0.5 MB
MAX_ERRORS = 200  # rows with errors reported back; checking goes on to count them all


def require_reader(user) -> None:
    """Everyone who works in the registry reads the lists (they are shared with every agency
    through the sharing channel too); only administrators write them."""
    if not works_in_registry(user):
        raise NotAllowed(_("Only staff of the registry read the credit lists."))


def require_hit_reader(user) -> None:
    """The daily check's hits name suppliers and the enterprises behind reserves: for the
    administrators who review suppliers and the command staff who plan with them."""
    if not may_read_planning_sources(user):
        raise NotAllowed(_("Only administrators and command staff read the credit check's hits."))


def require_writer(user) -> None:
    if not may_administer_system(user):
        raise NotAllowed(_("Only administrators change the credit lists."))


def _owner_agency_id() -> int | None:
    """The agency at the top of the tree (the province's) holds the lists in the catalog."""
    return db.session.scalar(
        select(Agency.id).where(Agency.parent_id.is_(None)).order_by(Agency.path, Agency.id)
    )


def _plain(value):
    return value.isoformat() if isinstance(value, date) else value


@dataclass
class Recorded:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


def _record(values: dict, origin: str, origin_ref: str, by_id, owner, existing, counts) -> None:
    entry = existing.get(rules.entry_key(values))
    if entry is None:
        entry = CreditEntry(**values, origin=origin, origin_ref=origin_ref, recorded_by_id=by_id)
        entry.owner_agency_id = owner
        db.session.add(entry)
        existing[rules.entry_key(values)] = entry
        fields = {k: [None, _plain(v)] for k, v in values.items() if v is not None}
        entry.changes.append(
            CreditEntryChange(
                action="created", fields=fields, origin=origin, origin_ref=origin_ref, by_id=by_id
            )
        )
        counts.created += 1
        return
    current = {key: getattr(entry, key) for key in rules.TRACKED}
    changed = rules.changed_fields(current, values)
    if not changed:
        counts.unchanged += 1
        return
    for key, (_before, after) in changed.items():
        setattr(entry, key, after)
    entry.updated_at = utcnow()
    entry.changes.append(
        CreditEntryChange(
            action="updated",
            fields={k: [_plain(b), _plain(a)] for k, (b, a) in changed.items()},
            origin=origin,
            origin_ref=origin_ref,
            by_id=by_id,
        )
    )
    counts.updated += 1


def record_entries(rows: list[dict], *, origin: str, origin_ref: str, by_id) -> Recorded:
    """Check every row, then record all of them or none (422 with the rows' errors, in the
    order given, numbered from `row` when a row carries one, else from 1)."""
    checked, errors = [], []
    for number, row in enumerate(rows, start=1):
        check = rules.check_row(row)
        if check.problems:
            errors.append(
                {
                    "row": row.get("row", number),
                    "fields": {k: [_(m) for m in v] for k, v in check.problems.items()},
                }
            )
        checked.append(check.values)
    if errors:
        raise Invalid(
            _(
                "%(count)s rows have errors; nothing was recorded. Correct them and try again.",
                count=len(errors),
            ),
            errors={"rows": errors[:MAX_ERRORS]},
        )
    codes = {v["credit_code"] for v in checked}
    existing = (
        {
            rules.entry_key(
                {k: getattr(e, k) for k in ("credit_code", "list", "authority", "start_date")}
            ): e
            for e in db.session.scalars(
                select(CreditEntry).where(CreditEntry.credit_code.in_(codes))
            )
        }
        if codes
        else {}
    )
    counts, owner = Recorded(), _owner_agency_id()
    for values in checked:
        _record(values, origin, origin_ref[:200], by_id, owner, existing, counts)
    db.session.commit()
    return counts


def read_rows(data: bytes) -> list[dict]:
    """The rows of an import file (CSV UTF-8/GB18030, XLSX, XLS) read by the one hardened reader,
    keyed by the heading row (English keys or the Chinese headings), with their row numbers."""
    from ..reporting.files import read_table

    table = read_table(data, max_rows=rules.MAX_ROWS + 1, max_text=MAX_TEXT)
    if not table.rows:
        raise Invalid(_("The file has no heading row."))
    keys = rules.header_keys(table.rows[0][1])
    if missing := [k for k in rules.REQUIRED if k not in keys]:
        raise Invalid(
            _(
                "Missing columns: %(cols)s",
                cols="、".join(f"{rules.COLUMNS[k]}（{k}）" for k in missing),
            )
        )
    return [
        {"row": number} | {key: cells[i] for i, key in enumerate(keys) if key and i < len(cells)}
        for number, cells in table.rows[1:]
    ]


def import_file(user, filename: str, data: bytes) -> Recorded:
    """An administrator's import of a list file: every row or none."""
    from ..reporting.services import release_read_transaction

    require_writer(user)
    release_read_transaction()
    rows = read_rows(data)
    if not rows:
        raise Invalid(_("The file has no entries below its heading row."))
    return record_entries(
        rows, origin="import", origin_ref=(filename or "upload")[-200:], by_id=user.id
    )


def push_entries(user, entries: list[dict]) -> Recorded:
    """A credit-sharing partner's push (scope push:credit, checked for every client request by
    reserve.sharing.access) or an administrator's: every entry or none."""
    from ..sharing.access import client_of

    client = client_of(user)
    if client is not None and "push:credit" not in (client.scopes or ()):
        raise NotAllowed(_("This client may not push credit lists (scope push:credit)."))
    if client is None and not may_administer_system(user):
        raise NotAllowed(_("Only credit-sharing partners and administrators push credit lists."))
    ref = client.name if client is not None else user.email  # shown beside "partner push"
    return record_entries(entries, origin="push", origin_ref=ref, by_id=user.id)


def end_entry(user, entry_id: int, reason: str) -> CreditEntry:
    """An administrator ends a listing by reversal: it stays, with its history and the reason."""
    require_writer(user)
    entry = _entry(entry_id)
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(_("Give the reason."), errors={"reason": [_("required")]})
    if entry.status == rules.ENDED:
        raise Invalid(_("This entry has already been ended."))
    entry.status, entry.updated_at = rules.ENDED, utcnow()
    entry.changes.append(
        CreditEntryChange(
            action="ended",
            fields={"status": [rules.ACTIVE, rules.ENDED]},
            origin="manual",
            origin_ref=_("Credit list page"),
            reason=reason[:500],
            by_id=user.id,
        )
    )
    db.session.commit()
    return entry


def _entry(entry_id: int) -> CreditEntry:
    entry = db.session.get(CreditEntry, entry_id)
    if entry is None:
        raise NotFound(_("Credit list entry %(id)s not found.", id=entry_id))
    return entry


def get_entry(user, entry_id: int) -> CreditEntry:
    require_reader(user)
    return _entry(entry_id)


@dataclass(frozen=True)
class EntryFilter:
    list: str | None = None
    status: str | None = None  # in_force, not_yet, expired, ended
    code: str | None = None  # the start of a credit code
    q: str | None = None  # part of the name


def _status_clause(status: str, today: date):
    active = CreditEntry.status == rules.ACTIVE
    started = CreditEntry.start_date <= today
    not_over = CreditEntry.end_date.is_(None) | (CreditEntry.end_date >= today)
    return {
        "in_force": active & started & not_over,
        "not_yet": active & ~started,
        "expired": active & started & ~not_over,
        rules.ENDED: CreditEntry.status == rules.ENDED,
    }[status]


def list_entries(user, f: EntryFilter, today: date | None = None):
    """Select of the entries, newest first."""
    require_reader(user)
    stmt = select(CreditEntry)
    if f.list:
        stmt = stmt.where(CreditEntry.list == f.list)
    if f.status:
        stmt = stmt.where(_status_clause(f.status, today or local_today()))
    if f.code:
        stmt = stmt.where(starts_with(CreditEntry.credit_code, rules.normalise_credit_code(f.code)))
    if f.q:
        stmt = stmt.where(contains(CreditEntry.name, f.q))
    return stmt.order_by(CreditEntry.recorded_at.desc(), CreditEntry.id.desc())


def count_entries(user, f: EntryFilter, today: date | None = None) -> int:
    stmt = list_entries(user, f, today)
    return db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
