"""Schemas of the calls for supply (供需发布), the offers' acceptance and receipt, the re-plan."""

from marshmallow import Schema, fields, validate

from core.schemas import Units, UtcDateTime

from .rules import CALL_TEXT_MAX
from .schemas import DispatchPlanSchema


class CallDraftSchema(Schema):
    point_id = fields.Int(required=True)
    material_id = fields.Int(required=True)
    quantity = Units(load_default=None, allow_none=True)  # default: what the plan left unmet
    deadline = UtcDateTime(required=True)
    text = fields.Str(
        load_default=None, allow_none=True, validate=validate.Length(max=CALL_TEXT_MAX)
    )


class CallOfferSchema(Schema):
    id = fields.Int()
    offerer_name = fields.Str()
    quantity = fields.Int()
    price_yuan = fields.Float(allow_none=True)
    lead_time_h = fields.Float(allow_none=True)
    from_region_code = fields.Str(allow_none=True)
    status = fields.Str()
    matched_quantity = fields.Int()
    received_quantity = fields.Int(allow_none=True)
    received_depot_id = fields.Int(allow_none=True)
    received_at = UtcDateTime(allow_none=True)


class SupplyCallSchema(Schema):
    id = fields.Int()
    incident_id = fields.Int()
    plan_id = fields.Int()
    point_id = fields.Int()
    material_id = fields.Int()
    quantity = fields.Int()
    region_code = fields.Str()
    deadline = UtcDateTime()
    title = fields.Str()
    text = fields.Str()
    status = fields.Str()
    board_demand_id = fields.Int(allow_none=True)
    drafted_by_id = fields.Int(allow_none=True)
    approved_by_id = fields.Int(allow_none=True)
    closed_reason = fields.Str(allow_none=True)


class AcceptSchema(Schema):
    quantity = Units(load_default=None, allow_none=True)  # default: all of it, up to the need


class ReceiveSchema(Schema):
    depot_id = fields.Int(required=True)
    quantity = Units(load_default=None, allow_none=True)  # default: what was accepted


class DiffSchema(Schema):
    before_version = fields.Int()
    after_version = fields.Int()
    lines = fields.List(fields.Dict())
    unchanged = fields.Int()
    unmet = fields.List(fields.Dict())
    totals = fields.Dict()


class ReplanSchema(Schema):
    plan = fields.Nested(DispatchPlanSchema)
    diff = fields.Nested(DiffSchema)


class NoticeDraftSchema(Schema):
    id = fields.Int()
    kind = fields.Str()
    title = fields.Str()
    body = fields.Str()
    published = fields.Bool()
