from flask import Response
from flask_security import auth_required, current_user
from flask_smorest import Blueprint

from core.pagination import PageArgsSchema, page_schema, paginate
from core.timeutil import local_today

from ..schemas import (
    AdjustmentSchema,
    CountSchema,
    ExportQuerySchema,
    LotSchema,
    MovementSchema,
    QuantitySchema,
    ReceiptSchema,
    ReservationSchema,
    ReversalSchema,
    StockQuerySchema,
    StockRowSchema,
    TotalRowSchema,
    TotalsQuerySchema,
    TransferSchema,
    WithinQuerySchema,
    WithinRowSchema,
)
from ..services import stock as stock_service
from ..stock import queries
from ..stock import ledger

stock = Blueprint(
    "stock",
    __name__,
    url_prefix="/api/v1/stock",
    description="Stock queries, statistics and receipts",
)
lots = Blueprint(
    "lots",
    __name__,
    url_prefix="/api/v1",
    description="Stock lots and their ledger (库存批次与变动)",
)


def _filter(query: dict) -> queries.StockFilter:
    keys = queries.StockFilter.__dataclass_fields__
    return queries.StockFilter(**{k: v for k, v in query.items() if k in keys})


@stock.route("")
@auth_required("token", "session")
@stock.arguments(StockQuerySchema, location="query")
@stock.arguments(PageArgsSchema, location="query", as_kwargs=True)
@stock.response(200, page_schema(StockRowSchema))
def list_stock(query, page, per_page):
    """One row per lot in scope, with filters (category code prefix, region incl. sub-regions,
    agency incl. descendants, reserve type, expiring within N days, material name)."""
    f, today = _filter(query), local_today()
    return paginate(
        queries.stock_rows(current_user, f, today),
        page,
        per_page,
        rows=True,
        count=queries.stock_count(current_user, f, today),
    )


@stock.route("/totals")
@auth_required("token", "session")
@stock.arguments(TotalsQuerySchema, location="query")
@stock.response(200, TotalRowSchema(many=True))
def stock_totals(query):
    """Totals by material, level-2 category, city, agency or reserve type."""
    return queries.stock_totals(current_user, _filter(query), query["group_by"], local_today())


@stock.route("/available-within")
@auth_required("token", "session")
@stock.arguments(WithinQuerySchema, location="query")
@stock.response(200, WithinRowSchema(many=True))
def available_within(query):
    """Per material, what can be had within `hours`: physical now, agreement and capacity reserves after their lead time."""
    return queries.available_within(current_user, _filter(query), query["hours"], local_today())


@stock.route("/export")
@auth_required("token", "session")
@stock.arguments(ExportQuerySchema, location="query")
@stock.doc(
    responses={
        "422": {
            "description": "Invalid filters, or more rows than EXPORT_INLINE_MAX_ROWS "
            "(`export-too-large`: use /api/v1/export-jobs)"
        },
        "200": {
            "description": "The file",
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                    "schema": {"type": "string", "format": "binary"}
                },
            },
        },
    }
)
def export_stock(query):
    """The filtered lot list as CSV (UTF-8 with BOM) or XLSX; cells cannot start a formula. More
    than EXPORT_INLINE_MAX_ROWS lots (20,000) answer 422 `export-too-large`: export them with
    `POST /api/v1/export-jobs` (`{"export": "stock", ...}`), written by the background worker."""
    body, mimetype = stock_service.export_stock(current_user, query, local_today(), query["format"])
    filename = f"stock-{local_today():%Y%m%d}.{query['format']}"
    return Response(
        body, mimetype=mimetype, headers={"Content-Disposition": f"attachment; filename={filename}"}
    )


@stock.route("/receipts", methods=["POST"])
@auth_required("token", "session")
@stock.arguments(ReceiptSchema)
@stock.response(201, MovementSchema)
def receive(data):
    """Stock arrives at a depot (into the depot x material x lot, opened if new)."""
    facts = ledger.LotFacts(
        **{k: data.pop(k) for k in list(data) if k in ledger.LotFacts.__dataclass_fields__}
    )
    return ledger.record_receipt(current_user, facts=facts, **data)


@lots.route("/lots/<int:lot_id>")
@auth_required("token", "session")
@lots.response(200, LotSchema)
def get_lot(lot_id):
    return ledger.get_lot(current_user, lot_id)


@lots.route("/lots/<int:lot_id>/movements")
@auth_required("token", "session")
@lots.arguments(PageArgsSchema, location="query", as_kwargs=True)
@lots.response(200, page_schema(MovementSchema))
def lot_movements(lot_id, page, per_page):
    """The lot's ledger, newest first."""
    return paginate(ledger.lot_movements(current_user, lot_id), page, per_page)


@lots.route("/lots/<int:lot_id>/issues", methods=["POST"])
@auth_required("token", "session")
@lots.arguments(QuantitySchema)
@lots.response(201, MovementSchema)
def issue(data, lot_id):
    """Stock leaves the depot; reserved units cannot be issued. Back-dating is checked."""
    return ledger.record_issue(current_user, lot_id, data.pop("quantity"), **data)


@lots.route("/lots/<int:lot_id>/adjustments", methods=["POST"])
@auth_required("token", "session")
@lots.arguments(AdjustmentSchema)
@lots.response(201, MovementSchema)
def adjust(data, lot_id):
    return ledger.record_adjustment(current_user, lot_id, data.pop("delta"), **data)


@lots.route("/lots/<int:lot_id>/counts", methods=["POST"])
@auth_required("token", "session")
@lots.arguments(CountSchema)
@lots.response(201, MovementSchema)
def count(data, lot_id):
    """Record a stock count; the ledger moves by the difference."""
    return ledger.record_count(current_user, lot_id, data.pop("counted"), **data)


@lots.route("/lots/<int:lot_id>/transfers", methods=["POST"])
@auth_required("token", "session")
@lots.arguments(TransferSchema)
@lots.response(201, MovementSchema(many=True))
def transfer(data, lot_id):
    """Move units to another depot; both legs share one reference."""
    return list(
        ledger.record_transfer(
            current_user, lot_id, data.pop("to_depot_id"), data.pop("quantity"), **data
        )
    )


@lots.route("/lots/<int:lot_id>/reservations", methods=["POST"])
@auth_required("token", "session")
@lots.arguments(ReservationSchema)
@lots.response(201, MovementSchema)
def reserve(data, lot_id):
    """Set units aside; refused with 409 when fewer are available (never oversold)."""
    return ledger.reserve_stock(current_user, lot_id, data["quantity"], reference=data["reference"])


@lots.route("/lots/<int:lot_id>/releases", methods=["POST"])
@auth_required("token", "session")
@lots.arguments(ReservationSchema)
@lots.response(201, MovementSchema)
def release(data, lot_id):
    return ledger.release_stock(current_user, lot_id, data["quantity"], reference=data["reference"])


@lots.route("/movements/<int:movement_id>/reversal", methods=["POST"])
@auth_required("token", "session")
@lots.arguments(ReversalSchema)
@lots.response(201, MovementSchema(many=True))
def reverse(data, movement_id):
    """Undo a movement by appending its opposite (both legs of a transfer)."""
    return ledger.reverse_movement(current_user, movement_id, reason=data["reason"])
