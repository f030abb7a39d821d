"""The stock pages' service: the stock export (CSV/XLSX, in the request or as a background job:
core/export_jobs.py), and the reads of reserve/stock/queries.py the stock list, totals and
"available within" pages show."""

from datetime import date

from core.extensions import db

# The stock pages' reads (reserve/views.py, reserve/api/stock.py) are reserve/stock/queries.py's own.
from ..stock.queries import STOCK_HEADER, StockFilter, stock_count, stock_rows

EXPORT_LIMIT = 200_000


def export_filter(filters: dict) -> StockFilter:
    """The StockFilter of an export's filters (the query of /api/v1/stock/export, or a job's)."""
    return StockFilter(
        **{k: v for k, v in filters.items() if k in StockFilter.__dataclass_fields__}
    )


def export_size(user, filters: dict, today: date) -> int:
    """How many rows the export would hold (at most EXPORT_LIMIT), counted without reading them."""
    return min(
        db.session.scalar(stock_count(user, export_filter(filters), today)) or 0, EXPORT_LIMIT
    )


def export_table(user, filters: dict, today: date) -> tuple[list[str], list]:
    """The `stock` export (core/export_jobs.py EXPORTS): the filtered lot list, at most EXPORT_LIMIT
    rows, scoped like the lots the user reads."""
    rows = db.session.execute(
        stock_rows(user, export_filter(filters), today).limit(EXPORT_LIMIT)
    ).all()
    return STOCK_HEADER, rows


def export_stock(user, filters: dict, today: date, file_format: str) -> tuple[bytes, str]:
    """The export written in the request, as CSV or XLSX bytes and its media type; more than
    EXPORT_INLINE_MAX_ROWS rows are refused with the way to the background export."""
    from core import export_jobs, exports

    export_jobs.check_inline(export_size(user, filters, today))
    header, rows = export_table(user, filters, today)
    return exports.file_bytes(file_format, [("stock", header, rows)])
