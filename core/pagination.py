"""Page-number pagination for API lists and pages: ?page=1&per_page=50 (at most 200)."""

from dataclasses import dataclass
from functools import cache

from marshmallow import Schema, fields, validate
from sqlalchemy import func, select

from .extensions import db

MAX_PER_PAGE = 200
MAX_PAGE = 10**9  # far past any list; a larger page number overflowed the database's OFFSET (a 500)


class PageArgsSchema(Schema):
    page = fields.Int(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))
    per_page = fields.Int(load_default=50, validate=validate.Range(min=1, max=MAX_PER_PAGE))


@cache
def page_schema(item_schema: type[Schema]) -> type[Schema]:
    """A schema for one page of `item_schema` items (one class per item schema, for OpenAPI)."""
    name = item_schema.__name__.removesuffix("Schema") + "PageSchema"
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item_schema)),
            "total": fields.Int(),
            "page": fields.Int(),
            "per_page": fields.Int(),
            "pages": fields.Int(),
        },
        name=name,
    )


@dataclass
class Page:
    items: list
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return (self.total + self.per_page - 1) // self.per_page

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


def paginate(stmt, page: int, per_page: int, *, rows: bool = False, count=None) -> Page:
    """One page of `stmt`: ORM objects, or (rows=True) dicts of a multi-column select.
    `count` is a cheaper select of the total, or the total itself, where the caller has one."""
    page, per_page = min(max(page, 1), MAX_PAGE), min(max(per_page, 1), MAX_PER_PAGE)
    if count is None:
        count = select(func.count()).select_from(stmt.order_by(None).subquery())
    total = count if isinstance(count, int) else db.session.scalar(count)
    result = db.session.execute(stmt.limit(per_page).offset((page - 1) * per_page))
    items = [row._asdict() for row in result] if rows else result.scalars().all()
    return Page(items, total, page, per_page)
