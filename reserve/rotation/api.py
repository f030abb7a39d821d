"""Rotation API (轮换): the worklist, bulk creation from expiry warnings, editing, steps booked
through the ledger (409 `norm-shortfall` until confirmed), undo, cancel; the province's
rotation calendar and its export."""

from flask import Response
from flask_security import auth_required, current_user
from flask_smorest import Blueprint

from core.pagination import PageArgsSchema, page_schema, paginate
from core.timeutil import local_today

from . import calendar, completion, services
from .schemas import (
    RotationBulkCreateSchema,
    RotationBulkResultSchema,
    RotationCalendarExportSchema,
    RotationCalendarQuerySchema,
    RotationCalendarSchema,
    RotationItemDetailSchema,
    RotationItemQuerySchema,
    RotationItemSchema,
    RotationItemUpdateSchema,
    RotationReasonSchema,
    RotationStepInputSchema,
)

rotation = Blueprint(
    "rotation", __name__, url_prefix="/api/v1/rotation", description="Rotation plans (轮换)"
)


@rotation.route("/items")
@auth_required("token", "session")
@rotation.arguments(RotationItemQuerySchema, location="query")
@rotation.arguments(PageArgsSchema, location="query", as_kwargs=True)
@rotation.response(200, page_schema(RotationItemSchema))
def list_items(query, page, per_page):
    """Rotation items in scope, earliest due first; `status=active` (default): planned or in progress."""
    return paginate(services.list_items(current_user, services.ItemFilter(**query)), page, per_page)


@rotation.route("/items", methods=["POST"])
@auth_required("token", "session")
@rotation.arguments(RotationBulkCreateSchema)
@rotation.response(201, RotationBulkResultSchema)
def create_items(data):
    """One item per expiry warning (at most 200), with the action its kind proposes and the due
    date of the rules unless `due_date` is given; warnings already planned are skipped."""
    return services.create_from_warnings(current_user, data.pop("warning_ids"), **data)


@rotation.route("/items/<int:item_id>")
@auth_required("token", "session")
@rotation.response(200, RotationItemDetailSchema)
def get_item(item_id):
    return services.get_item(current_user, item_id)


@rotation.route("/items/<int:item_id>", methods=["PATCH"])
@auth_required("token", "session")
@rotation.arguments(RotationItemUpdateSchema)
@rotation.response(200, RotationItemDetailSchema)
def update_item(data, item_id):
    return services.update_item(current_user, item_id, data)


@rotation.route("/items/<int:item_id>/steps", methods=["POST"])
@auth_required("token", "session")
@rotation.arguments(RotationStepInputSchema)
@rotation.response(201, RotationItemDetailSchema)
@rotation.alt_response(409, description="`norm-shortfall`: errors.shortfalls; send confirm=true")
def complete_step(data, item_id):
    """Book `quantity` units of the item's action (and a replacement lot received, if given)
    through the ledger; the item is done, and its warning resolved, when every unit is."""
    return completion.complete_step(current_user, item_id, completion.StepInput(**data))


@rotation.route("/items/<int:item_id>/steps/<int:step_id>/undo", methods=["POST"])
@auth_required("token", "session")
@rotation.arguments(RotationReasonSchema)
@rotation.response(200, RotationItemDetailSchema)
def undo_step(data, item_id, step_id):
    """Reverse the step's movements (ledger reversal) and take its units off the progress."""
    return completion.undo_step(current_user, item_id, step_id, data["reason"])


@rotation.route("/items/<int:item_id>/cancel", methods=["POST"])
@auth_required("token", "session")
@rotation.arguments(RotationReasonSchema)
@rotation.response(200, RotationItemDetailSchema)
def cancel_item(data, item_id):
    return services.cancel_item(current_user, item_id, data["reason"])


@rotation.route("/calendar")
@auth_required("token", "session")
@rotation.arguments(RotationCalendarQuerySchema, location="query")
@rotation.response(200, RotationCalendarSchema)
def get_calendar(query):
    """Lots expiring per month (from the current one; `earlier`: already expired), by level-2
    category and by city, over the lots the caller reads."""
    return calendar.calendar(current_user, local_today(), query["months"])


@rotation.route("/calendar/export")
@auth_required("token", "session")
@rotation.arguments(RotationCalendarExportSchema, location="query")
@rotation.doc(
    responses={
        "422": {"description": "Invalid filters, or more rows than EXPORT_INLINE_MAX_ROWS"},
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
def export_calendar(query):
    """The calendar as rows (month, city, category, material, unit, lots, units), CSV or XLSX."""
    file_format = query.pop("format")
    body, mimetype = calendar.export_calendar(current_user, query, local_today(), file_format)
    filename = f"rotation-calendar-{local_today():%Y%m%d}.{file_format}"
    return Response(
        body, mimetype=mimetype, headers={"Content-Disposition": f"attachment; filename={filename}"}
    )


BLUEPRINTS = [rotation]
