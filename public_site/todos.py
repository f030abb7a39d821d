"""The portal's to-dos (core/todos.py): supplier registrations awaiting an administrator."""

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from core.features import TodoKind
from core.policy import todo_reach
from core.todos import TodoItem, group

from .models import Supplier


def supplier_reviews(user):
    if not todo_reach(user)[0].supplier_reviews:
        return None
    stmt = (
        select(Supplier.id, Supplier.name)
        .where(Supplier.status == "pending")
        .order_by(Supplier.submitted_at, Supplier.id)
    )
    return group(
        "supplier_review",
        stmt,
        lambda r: TodoItem(r[1], "public_site.admin_supplier", {"supplier_id": r[0]}),
    )


TODOS = (TodoKind("supplier_review", _l("Supplier registrations to review"), 50, supplier_reviews),)
