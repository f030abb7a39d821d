"""Pure rules of the credit lists: which lists exist, when an entry is in force, what a listing
restricts, and the checks of one imported or pushed row. No Flask, no database; `today` comes in."""

from dataclasses import dataclass
from datetime import date, datetime

from ..rules import N_, credit_code_problem, normalise_credit_code

DISHONEST = "dishonest"  # 失信名单: restricts (一处失信、处处受限)
RED = "red"  # 红名单: a mark of good standing, restricts nothing
LISTS = (DISHONEST, RED)
ACTIVE, ENDED = "active", "ended"  # ended: by an administrator's reversal, with a reason
MAX_TEXT = {"name": 200, "reason": 500, "authority": 200, "source_document": 200}
# one import file: a province's list runs to hundreds of entries; 5,000 rows take ~11 s to
# check and record on the demo (SQLite, loaded machine: each entry and its history row are
# audited and enter the sharing change log)
MAX_ROWS = 5_000
MAX_PUSH = 1_000  # entries in one push request
# the columns of an import file: the English key, or its Chinese heading
COLUMNS = {
    "credit_code": "统一社会信用代码",
    "name": "名称",
    "list": "名单",
    "reason": "事由",
    "authority": "认定机关",
    "start_date": "起始日期",
    "end_date": "截止日期",
    "source_document": "文书",
}
REQUIRED = ("credit_code", "name", "list", "reason", "authority", "start_date")
LIST_WORDS = {
    "dishonest": DISHONEST,
    "失信": DISHONEST,
    "失信名单": DISHONEST,
    "严重失信主体名单": DISHONEST,
    "red": RED,
    "红名单": RED,
    "守信": RED,
    "守信红名单": RED,
}


def is_in_force(status: str, start: date, end: date | None, today: date) -> bool:
    """An entry restricts or marks from its start date to its end date, both included, unless
    an administrator ended it."""
    return status == ACTIVE and start <= today and (end is None or today <= end)


def restricts(list_: str) -> bool:
    """Only the dishonest list restricts; the red list only marks."""
    return list_ == DISHONEST


@dataclass(frozen=True)
class RowCheck:
    values: dict  # the normalised entry (credit_code, name, list, ... start_date, end_date)
    problems: dict  # field -> message ids (N_), empty when the row can be taken


def _date(value) -> date | None | str:
    """A date from a cell: a date, a datetime, or text YYYY-MM-DD (also YYYY/MM/DD, YYYYMMDD);
    '' for a blank cell; None when it cannot be read."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return ""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip().replace("/", "-").replace(".", "-")
    if len(text) == 8 and text.isdigit():
        text = f"{text[:4]}-{text[4:6]}-{text[6:]}"
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def _text(value) -> str:
    return "" if value is None else str(value).strip()


def check_row(row: dict) -> RowCheck:
    """One imported or pushed entry: normalised values and every problem at once."""
    problems: dict[str, list[str]] = {}
    values = {
        key: _text(row.get(key)) for key in ("name", "reason", "authority", "source_document")
    }
    values["credit_code"] = normalise_credit_code(_text(row.get("credit_code")))
    list_text = _text(row.get("list"))
    values["list"] = LIST_WORDS.get(list_text.lower(), LIST_WORDS.get(list_text))
    for key in REQUIRED:
        if key not in ("list", "start_date") and not values.get(key):
            problems.setdefault(key, []).append(N_("required"))
    if values["credit_code"] and (problem := credit_code_problem(values["credit_code"])):
        problems.setdefault("credit_code", []).append(problem)
    if values["list"] is None:
        problems["list"] = [N_("the list is 失信 (dishonest) or 红名单 (red)")]
    for key, limit in MAX_TEXT.items():
        if len(values[key]) > limit:
            problems.setdefault(key, []).append(N_("too long"))
    start, end = _date(row.get("start_date")), _date(row.get("end_date"))
    if start == "":
        problems.setdefault("start_date", []).append(N_("required"))
    elif start is None:
        problems.setdefault("start_date", []).append(N_("not a date (YYYY-MM-DD)"))
    if end is None:
        problems.setdefault("end_date", []).append(N_("not a date (YYYY-MM-DD)"))
    elif isinstance(start, date) and isinstance(end, date) and end < start:
        problems.setdefault("end_date", []).append(N_("the end date is before the start date"))
    values["start_date"] = start if isinstance(start, date) else None
    values["end_date"] = end if isinstance(end, date) else None
    values["source_document"] = values["source_document"] or None
    return RowCheck(values, problems)


def header_keys(header: list) -> list[str | None]:
    """The column key of each heading (English key or Chinese heading), None for others."""
    by_word = {word: key for key, word in COLUMNS.items()} | {key: key for key in COLUMNS}
    return [by_word.get(_text(h).lower(), by_word.get(_text(h))) for h in header]


def entry_key(values: dict) -> tuple:
    """What makes two rows the same listing: one authority's decision on one enterprise, one
    list, from one date. A later row with the same key changes the entry (its history keeps
    the earlier values)."""
    return (values["credit_code"], values["list"], values["authority"], values["start_date"])


TRACKED = ("name", "reason", "end_date", "source_document")


def changed_fields(current: dict, incoming: dict) -> dict:
    """{field: (before, after)} of the tracked fields that differ."""
    return {
        key: (current.get(key), incoming.get(key))
        for key in TRACKED
        if current.get(key) != incoming.get(key)
    }


def status_on(status: str, start: date, end: date | None, today: date) -> str:
    """What an entry is on `today`: in_force, not_yet, expired, or ended (by reversal)."""
    if status == ENDED:
        return ENDED
    if today < start:
        return "not_yet"
    if end is not None and today > end:
        return "expired"
    return "in_force"
