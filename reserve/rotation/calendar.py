"""The province's rotation calendar (轮换日历) for leaders: what expires when, by month x
category and by month x city, over the lots the reader may see; and its export (the
`rotation_calendar` export of reserve's Feature, core/export_jobs.py)."""

from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from core.agencies import region_names
from core.extensions import db

from ..models import Category, Material
from ..stock.queries import expiry_calendar

EARLIER = "earlier"  # the column of lots that expired before the current month
DEFAULT_MONTHS, MAX_MONTHS = 12, 36


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_keys(today: date, months: int) -> list[str]:
    start = today.replace(day=1)
    return [f"{_add_months(start, n):%Y-%m}" for n in range(months)]


def _rows(user, today: date, months: int) -> list[tuple]:
    """(month key, city code, material id, lots, units), the month key EARLIER before this month."""
    start = today.replace(day=1)
    first = start.year * 12 + start.month
    out = []
    stmt = expiry_calendar(user, _add_months(start, months))
    for year, month, city, material_id, lots, units in db.session.execute(stmt):
        year, month = int(year), int(month)
        key = EARLIER if year * 12 + month < first else f"{year:04d}-{month:02d}"
        out.append((key, f"{city}00", material_id, int(lots), int(units or 0)))
    return out


def _materials(ids) -> dict[int, tuple]:
    if not ids:
        return {}
    return {
        m.id: m for m in db.session.execute(select(Material).where(Material.id.in_(ids))).scalars()
    }


def _category_names(codes) -> dict[str, str]:
    if not codes:
        return {}
    return dict(
        db.session.execute(
            select(Category.code, Category.name).where(Category.code.in_(codes))
        ).all()
    )


def calendar(user, today: date, months: int = DEFAULT_MONTHS) -> dict:
    """Lots (and units) expiring per month, by level-2 category and by city, each row with its
    total; the columns: EARLIER, then `months` months from the current one."""
    columns = [EARLIER, *month_keys(today, months)]
    rows = _rows(user, today, months)
    materials = _materials({r[2] for r in rows})
    by_category: dict[str, dict] = {}
    by_city: dict[str, dict] = {}
    for key, city, material_id, lots, _units in rows:
        category = materials[material_id].category_code[:3]
        for bucket, code in ((by_category, category), (by_city, city)):
            cells = bucket.setdefault(code, dict.fromkeys(columns, 0))
            cells[key] += lots
    categories = _category_names(list(by_category))
    cities = region_names(list(by_city))

    def table(bucket, names):
        return [
            {
                "code": code,
                "name": names.get(code, code),
                "cells": [cells[c] for c in columns],
                "total": sum(cells.values()),
            }
            for code, cells in sorted(bucket.items())
        ]

    return {
        "columns": columns,
        "by_category": table(by_category, categories),
        "by_city": table(by_city, cities),
        "total_lots": sum(r[3] for r in rows),
    }


EXPORT_HEADER = (
    _l("Month"),
    _l("City"),
    _l("Category"),
    _l("Material"),
    _l("Unit"),
    _l("Lots"),
    _l("Units on hand"),
)


def export_size(user, filters: dict, today: date) -> int:
    """How many rows the export holds: its grouped rows, counted in SQL."""
    months = filters.get("months", DEFAULT_MONTHS)
    start = today.replace(day=1)
    stmt = expiry_calendar(user, _add_months(start, months))
    return db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0


def export_table(user, filters: dict, today: date) -> tuple[list[str], list]:
    """The `rotation_calendar` export: one row per month, city and material, names not codes."""
    rows = _rows(user, today, filters.get("months", DEFAULT_MONTHS))
    materials = _materials({r[2] for r in rows})
    categories = _category_names({m.category_code[:3] for m in materials.values()})
    cities = region_names({r[1] for r in rows})
    earlier = _("Expired before this month")
    table = []
    for key, city, material_id, lots, units in sorted(rows, key=lambda r: (r[0] != EARLIER, r)):
        material = materials[material_id]
        table.append(
            (
                earlier if key == EARLIER else key,
                cities.get(city, city),
                categories.get(material.category_code[:3], material.category_code[:3]),
                material.name,
                material.unit,
                lots,
                units,
            )
        )
    return [str(h) for h in EXPORT_HEADER], table


def export_calendar(user, filters: dict, today: date, file_format: str) -> tuple[bytes, str]:
    """The export written in the request (CSV or XLSX), refused past EXPORT_INLINE_MAX_ROWS."""
    from core import export_jobs, exports

    export_jobs.check_inline(export_size(user, filters, today))
    header, rows = export_table(user, filters, today)
    return exports.file_bytes(file_format, [(_("Rotation calendar"), header, rows)])
