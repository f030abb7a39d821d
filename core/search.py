"""Text search in SQL: what a user types into `q` is matched literally.

`LIKE` treats `%` and `_` as wildcards; unescaped, a search for "100%" or "A_1" matches what
the user did not ask for, and a `q` of "%" lists everything. Every `LIKE` built from user input
goes through these helpers, which escape the wildcards and the escape character itself.
"""

ESCAPE = "\\"


def escape_like(text: str) -> str:
    return text.replace(ESCAPE, ESCAPE * 2).replace("%", ESCAPE + "%").replace("_", ESCAPE + "_")


def contains(column, text: str):
    """`column` contains `text` (case as the database's LIKE: SQLite ignores ASCII case)."""
    return column.like(f"%{escape_like(text)}%", escape=ESCAPE)


def starts_with(column, text: str):
    return column.like(f"{escape_like(text)}%", escape=ESCAPE)
