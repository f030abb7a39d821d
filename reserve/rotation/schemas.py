"""Request and response shapes of the rotation API. Every input has its bound."""

from marshmallow import Schema, fields, validate

from core.schemas import UtcDateTime

from ..rules import MAX_QUANTITY
from ..schemas import ID_MAX
from . import rules
from .calendar import DEFAULT_MONTHS, MAX_MONTHS
from .models import ACTION_LABELS, STATUS_LABELS
from .services import MAX_BULK

ID = validate.Range(min=1, max=ID_MAX)
UNITS = validate.Range(min=1, max=MAX_QUANTITY)


class RotationItemQuerySchema(Schema):
    status = fields.Str(
        load_default="active", validate=validate.OneOf(["active", "all", *rules.STATUSES])
    )
    action = fields.Str(load_default=None, validate=validate.OneOf(rules.ACTIONS))
    agency_id = fields.Int(load_default=None, validate=ID)
    depot_id = fields.Int(load_default=None, validate=ID)
    overdue = fields.Bool(load_default=False)


class RotationBulkCreateSchema(Schema):
    warning_ids = fields.List(
        fields.Int(validate=ID), required=True, validate=validate.Length(min=1, max=MAX_BULK)
    )
    responsible = fields.Str(required=True, validate=validate.Length(min=1, max=60))
    due_date = fields.Date(load_default=None)
    note = fields.Str(load_default=None, validate=validate.Length(max=300))


class RotationItemUpdateSchema(Schema):
    action = fields.Str(validate=validate.OneOf(rules.ACTIONS))
    quantity = fields.Int(strict=True, validate=UNITS)
    due_date = fields.Date()
    responsible = fields.Str(validate=validate.Length(min=1, max=60))
    to_depot_id = fields.Int(allow_none=True, validate=ID)
    recipient = fields.Str(allow_none=True, validate=validate.Length(max=120))
    note = fields.Str(allow_none=True, validate=validate.Length(max=300))


class RotationStepInputSchema(Schema):
    quantity = fields.Int(required=True, strict=True, validate=UNITS)
    replacement_quantity = fields.Int(
        load_default=0, strict=True, validate=validate.Range(min=0, max=MAX_QUANTITY)
    )
    replacement_lot_no = fields.Str(load_default=None, validate=validate.Length(max=60))
    replacement_expiry = fields.Date(load_default=None)
    confirm = fields.Bool(
        load_default=False,
        metadata={"description": "Go ahead although the step leaves a plan norm short"},
    )


class RotationReasonSchema(Schema):
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=300))


class RotationStepSchema(Schema):
    id = fields.Int()
    quantity = fields.Int()
    replacement_quantity = fields.Int()
    replacement_lot_no = fields.Str(allow_none=True)
    replacement_expiry = fields.Date(allow_none=True)
    reference = fields.Str()
    movement_ids = fields.List(fields.Int())
    shortfall_confirmed = fields.Bool()
    booked_at = UtcDateTime()
    reversed_at = UtcDateTime(allow_none=True)
    reverse_reason = fields.Str(allow_none=True)


class RotationItemSchema(Schema):
    id = fields.Int()
    agency_id = fields.Int()
    agency = fields.Function(lambda i: i.agency.name if i.agency else None)
    lot_id = fields.Int()
    lot_no = fields.Function(lambda i: i.lot.lot_no if i.lot else None)
    depot_id = fields.Int()
    depot = fields.Function(lambda i: i.depot.name if i.depot else None)
    material_id = fields.Int()
    material = fields.Function(lambda i: i.material.name if i.material else None)
    unit = fields.Function(lambda i: i.material.unit if i.material else None)
    classification = fields.Str()
    warning_id = fields.Int(allow_none=True)
    warning_kind = fields.Str(allow_none=True)
    expiry_date = fields.Date(allow_none=True)
    action = fields.Str()
    action_label = fields.Function(lambda i: str(ACTION_LABELS.get(i.action, i.action)))
    quantity = fields.Int()
    done_quantity = fields.Int()
    remaining = fields.Int()
    due_date = fields.Date()
    responsible = fields.Str()
    to_depot_id = fields.Int(allow_none=True)
    to_depot = fields.Function(lambda i: i.to_depot.name if i.to_depot else None)
    recipient = fields.Str(allow_none=True)
    note = fields.Str(allow_none=True)
    status = fields.Str()
    status_label = fields.Function(lambda i: str(STATUS_LABELS.get(i.status, i.status)))
    created_at = UtcDateTime()
    completed_at = UtcDateTime(allow_none=True)
    cancel_reason = fields.Str(allow_none=True)


class RotationItemDetailSchema(RotationItemSchema):
    steps = fields.List(fields.Nested(RotationStepSchema))


class RotationSkippedSchema(Schema):
    warning_id = fields.Int()
    reason = fields.Str()


class RotationBulkResultSchema(Schema):
    created = fields.List(fields.Nested(RotationItemSchema))
    skipped = fields.List(fields.Nested(RotationSkippedSchema))


class RotationCalendarQuerySchema(Schema):
    months = fields.Int(
        load_default=DEFAULT_MONTHS,
        validate=validate.Range(min=1, max=MAX_MONTHS),
        metadata={"description": "Months from the current one; earlier expiries come first"},
    )


class RotationCalendarExportSchema(RotationCalendarQuerySchema):
    format = fields.Str(load_default="csv", validate=validate.OneOf(["csv", "xlsx"]))


class RotationCalendarRowSchema(Schema):
    code = fields.Str()
    name = fields.Str()
    cells = fields.List(fields.Int())
    total = fields.Int()


class RotationCalendarSchema(Schema):
    columns = fields.List(fields.Str())
    by_category = fields.List(fields.Nested(RotationCalendarRowSchema))
    by_city = fields.List(fields.Nested(RotationCalendarRowSchema))
    total_lots = fields.Int()
