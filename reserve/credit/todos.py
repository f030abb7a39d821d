"""The credit lists' to-do (core/todos.py): hits of the daily check waiting for the reviewing
administrators (a listed approved supplier, now suspended; a listed reserve enterprise)."""

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from core.features import TodoKind
from core.policy import todo_reach
from core.todos import TodoItem, group

from .models import CreditHit


def credit_hits(user):
    if not todo_reach(user)[0].supplier_reviews:  # the administrators who review suppliers
        return None
    stmt = (
        select(CreditHit.subject_name, CreditHit.credit_code)
        .where(CreditHit.acknowledged_at.is_(None))
        .order_by(CreditHit.found_at.desc(), CreditHit.id.desc())
    )
    return group(
        "credit_hit",
        stmt,
        lambda r: TodoItem(f"{r[0]}（{r[1]}）", "credit_ui.entries"),
    )


TODOS = (
    TodoKind("credit_hit", _l("Listed enterprises found by the credit check"), 55, credit_hits),
)
