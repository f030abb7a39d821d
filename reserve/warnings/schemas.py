"""Request and response shapes of the warnings API."""

from flask_babel import gettext
from marshmallow import Schema, fields, validate

from . import rules
from .models import STATUSES


class WarningQuerySchema(Schema):
    kind = fields.Str(load_default=None, validate=validate.OneOf(rules.KINDS))
    severity = fields.Str(load_default=None, validate=validate.OneOf(rules.SEVERITIES))
    status = fields.Str(
        load_default="active", validate=validate.OneOf(["active", "all", *STATUSES])
    )
    agency_id = fields.Int(load_default=None)
    depot_id = fields.Int(load_default=None)


class WarningSchema(Schema):
    id = fields.Int()
    kind = fields.Str()
    severity = fields.Str()
    status = fields.Str()
    object_key = fields.Str()
    agency_id = fields.Int(allow_none=True)
    agency = fields.Function(lambda w: w.agency.name if w.agency else None)
    depot_id = fields.Int(allow_none=True)
    depot = fields.Function(lambda w: w.depot.name if w.depot else None)
    lot_id = fields.Int(allow_none=True)
    material_id = fields.Int(allow_none=True)
    material = fields.Function(lambda w: w.material.name if w.material else None)
    region_code = fields.Str(allow_none=True)
    facts = fields.Dict(allow_none=True)
    suggestion = fields.Function(
        lambda w: gettext(rules.SUGGESTIONS[w.kind]) if w.kind in rules.SUGGESTIONS else None
    )
    opened_at = fields.DateTime()
    acknowledged_at = fields.DateTime(allow_none=True)
    acknowledge_note = fields.Str(allow_none=True)
    resolved_at = fields.DateTime(allow_none=True)
    resolution = fields.Str(allow_none=True)


class EventSchema(Schema):
    action = fields.Str()
    severity = fields.Str(allow_none=True)
    at = fields.DateTime()
    user_id = fields.Int(allow_none=True)
    note = fields.Str(allow_none=True)


class WarningDetailSchema(WarningSchema):
    history = fields.List(fields.Nested(EventSchema))


class AcknowledgeSchema(Schema):
    note = fields.Str(load_default=None, validate=validate.Length(max=300))


class ResolveSchema(Schema):
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=300))


class ScanResultSchema(Schema):
    scan_id = fields.Int()
    today = fields.Date()
    candidates = fields.Int()
    opened = fields.Int()
    kept = fields.Int()
    resolved = fields.Int()
    seconds = fields.Float()
    timings = fields.Dict()


class MinimumSchema(Schema):
    id = fields.Int(dump_only=True)
    depot_id = fields.Int(required=True)
    material_id = fields.Int(required=True)
    minimum = fields.Int(required=True, validate=validate.Range(min=0))


class PolicySchema(Schema):
    id = fields.Int(dump_only=True)
    category_prefix = fields.Str(required=True, validate=validate.Regexp(r"^\d{1,7}$"))
    blue_days = fields.Int(required=True, validate=validate.Range(1, 3650))
    yellow_days = fields.Int(required=True, validate=validate.Range(1, 3650))
    orange_days = fields.Int(required=True, validate=validate.Range(1, 3650))
    rotation_lead_days = fields.Int(load_default=15, validate=validate.Range(0, 3650))
    rotation_window_days = fields.Int(load_default=180, validate=validate.Range(1, 3650))


class NotificationSchema(Schema):
    id = fields.Int()
    warning_id = fields.Int(allow_none=True)
    kind = fields.Str()
    severity = fields.Str()
    created_at = fields.DateTime()
    read_at = fields.DateTime(allow_none=True)
