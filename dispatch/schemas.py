"""Request and response shapes of the wartime-response API."""

from marshmallow import Schema, fields, validate

from core.schemas import JobSchema, Units, UtcDateTime

from reserve.models import IncidentType

from .models import INCIDENT_STATUSES, POSITIONS, SHIPMENT_STATUSES
from .rules import LEVELS


class IncidentSchema(Schema):
    id = fields.Int(dump_only=True)
    number = fields.Str(dump_only=True)
    title = fields.Str(required=True, validate=validate.Length(min=2, max=200))
    incident_type = fields.Str(
        required=True, validate=validate.OneOf([t.value for t in IncidentType])
    )
    subtype = fields.Str(load_default=None, allow_none=True)
    level = fields.Str(required=True, validate=validate.OneOf(LEVELS))
    region_code = fields.Str(required=True, validate=validate.Regexp(r"^\d{6}$"))
    lat = fields.Float(load_default=None, allow_none=True, validate=validate.Range(-90, 90))
    lon = fields.Float(load_default=None, allow_none=True, validate=validate.Range(-180, 180))
    started_at = UtcDateTime(load_default=None, allow_none=True)
    drill = fields.Bool(load_default=False)
    plan_id = fields.Int(load_default=None, allow_none=True)
    description = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=4000))
    status = fields.Str(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    closed_at = fields.DateTime(dump_only=True, allow_none=True)


class IncidentStatusSchema(Schema):
    status = fields.Str(required=True, validate=validate.OneOf(INCIDENT_STATUSES))


class PointSchema(Schema):
    id = fields.Int(dump_only=True)
    name = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    lat = fields.Float(required=True, validate=validate.Range(-90, 90))
    lon = fields.Float(required=True, validate=validate.Range(-180, 180))
    region_code = fields.Str(
        load_default=None, allow_none=True, validate=validate.Regexp(r"^\d{6}$")
    )
    population = fields.Int(load_default=None, allow_none=True, validate=validate.Range(min=0))
    severity = fields.Int(load_default=2, validate=validate.Range(1, 3))


class DemandSchema(Schema):
    id = fields.Int(dump_only=True)
    number = fields.Str(dump_only=True)
    point_id = fields.Int(required=True)
    material_id = fields.Int(required=True)
    material = fields.Function(lambda d: d.material.name, dump_only=True)
    quantity = Units(required=True)
    priority = fields.Int(load_default=2, validate=validate.Range(1, 3))
    needed_by = UtcDateTime(required=True)
    status = fields.Str(dump_only=True)
    version = fields.Int(dump_only=True)
    source = fields.Str(dump_only=True)


class DemandRevisionSchema(Schema):
    quantity = Units(load_default=None)
    priority = fields.Int(load_default=None, validate=validate.Range(1, 3))
    needed_by = UtcDateTime(load_default=None)
    reason = fields.Str(load_default=None, validate=validate.Length(max=300))


class DispatchReasonSchema(Schema):
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=300))


class PinSchema(Schema):
    source = fields.Str(required=True)
    point = fields.Str(required=True)
    material = fields.Str(required=True)
    quantity = Units(required=True)


class PlanRequestSchema(Schema):
    exclude = fields.List(fields.Str(), load_default=list)
    pin = fields.List(fields.Nested(PinSchema), load_default=list)
    greedy = fields.Bool(load_default=False)
    background = fields.Bool(load_default=None, allow_none=True)


class LineSchema(Schema):
    id = fields.Int()
    source_key = fields.Str()
    source_kind = fields.Str()
    depot_id = fields.Int(allow_none=True)
    depot = fields.Function(lambda line: line.depot.name if line.depot else None)
    agency_id = fields.Int(allow_none=True)
    offer_id = fields.Int(allow_none=True)
    point_id = fields.Int()
    point = fields.Function(lambda line: line.point.name)
    demand_id = fields.Int(allow_none=True)
    material_id = fields.Int()
    material = fields.Function(lambda line: line.material.name)
    quantity = fields.Int()
    arrival_h = fields.Float()
    lead_time_h = fields.Float()
    km = fields.Float()
    weight_t = fields.Float()
    edited = fields.Bool()


class DispatchPlanSchema(Schema):
    id = fields.Int()
    incident_id = fields.Int()
    version = fields.Int()
    status = fields.Str()
    method = fields.Str()
    based_on_id = fields.Int(allow_none=True)
    options = fields.Dict(allow_none=True)
    metrics = fields.Dict(allow_none=True)
    unmet = fields.List(fields.Dict(), allow_none=True)
    timings = fields.Dict(allow_none=True)
    author_id = fields.Int(allow_none=True)
    created_at = fields.DateTime()
    approved_by_id = fields.Int(allow_none=True)
    approved_at = fields.DateTime(allow_none=True)
    cancelled_at = fields.DateTime(allow_none=True)
    cancel_reason = fields.Str(allow_none=True)
    lines = fields.Method("visible_lines")

    def visible_lines(self, plan):
        """Only the lines the caller may see (an operator: its own agency's)."""
        from flask_security import current_user

        from .services.visibility import visible_lines

        return LineSchema(many=True).dump(visible_lines(current_user, plan))


class EditSchema(Schema):
    changes = fields.List(fields.Dict(), required=True, validate=validate.Length(min=1))


class ShipmentSchema(Schema):
    id = fields.Int()
    batch_no = fields.Str()
    line_id = fields.Int()
    agency_id = fields.Int(allow_none=True)
    depot = fields.Function(lambda s: s.line.depot.name if s.line.depot else s.line.source_key)
    point = fields.Function(lambda s: s.line.point.name)
    material = fields.Function(lambda s: s.line.material.name)
    mode = fields.Str()
    vehicles = fields.Int()
    quantity = fields.Int()
    status = fields.Str()
    departed_at = fields.DateTime(allow_none=True)
    eta = fields.DateTime(allow_none=True)
    arrived_at = fields.DateTime(allow_none=True)
    received_at = fields.DateTime(allow_none=True)
    quantity_received = fields.Int(allow_none=True)
    discrepancy_reason = fields.Str(allow_none=True)


class ShipmentUpdateSchema(Schema):
    status = fields.Str(required=True, validate=validate.OneOf(SHIPMENT_STATUSES[1:]))
    quantity_received = Units(minimum=0, load_default=None)
    discrepancy_reason = fields.Str(load_default=None, validate=validate.Length(max=300))
    vehicles = fields.Int(load_default=None, validate=validate.Range(min=1))


class MessageSchema(Schema):
    id = fields.Int(dump_only=True)
    body = fields.Str(required=True, validate=validate.Length(min=1, max=4000))
    plan_id = fields.Int(load_default=None, allow_none=True)
    decision = fields.Bool(load_default=False, load_only=True)
    kind = fields.Str(dump_only=True)
    author = fields.Function(
        lambda m: m.author.display_name or m.author.email if m.author else None, dump_only=True
    )
    agency = fields.Function(lambda m: m.agency.name if m.agency else None, dump_only=True)
    created_at = fields.DateTime(dump_only=True)


class PositionSchema(Schema):
    line_id = fields.Int(dump_only=True)
    position = fields.Str(required=True, validate=validate.OneOf(POSITIONS))
    quantity = Units(minimum=0, load_default=None, allow_none=True)
    reason = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=300))
    available_in_h = fields.Float(
        load_default=None, allow_none=True, validate=validate.Range(min=1, max=720)
    )
    agency_id = fields.Int(dump_only=True)


class ReturnSchema(Schema):
    depot_id = fields.Int(required=True)
    material_id = fields.Int(required=True)
    quantity = Units(required=True)
    note = fields.Str(load_default=None, validate=validate.Length(max=300))


class ConsumptionSchema(Schema):
    point_id = fields.Int(required=True)
    material_id = fields.Int(required=True)
    quantity = Units(required=True)
    note = fields.Str(load_default=None, validate=validate.Length(max=300))


class PlanJobSchema(JobSchema):
    """A planning job."""

    plan_id = fields.Int(
        allow_none=True, metadata={"description": "the plan version made, once done"}
    )
    incident_id = fields.Int(allow_none=True)


# --- 装车方案: route plans, trips, road times (docs/api.md gives the bounds) --------------------


class RouteRequestSchema(Schema):
    background = fields.Bool(load_default=None, allow_none=True)


class RouteEditSchema(Schema):
    action = fields.Str(
        required=True, validate=validate.OneOf(("pin", "unpin", "exclude", "include", "move"))
    )
    vehicle = fields.Str(required=True, validate=validate.Length(min=1, max=40))
    to_vehicle = fields.Str(load_default=None, validate=validate.Length(min=1, max=40))
    delivery = fields.Str(load_default=None, validate=validate.Length(min=1, max=40))
    point = fields.Str(load_default=None, validate=validate.Length(min=1, max=40))
    quantity = Units(load_default=None)


class RoutePlanSchema(Schema):
    id = fields.Int()
    incident_id = fields.Int()
    plan_id = fields.Int()
    version = fields.Int()
    status = fields.Str()
    method = fields.Str()
    based_on_id = fields.Int(allow_none=True)
    edit = fields.Dict(allow_none=True)
    time_zero = fields.DateTime()
    routes = fields.Function(
        lambda r: (r.routes or {}).get("routes") or [],
        metadata={
            "description": "the router's routes: vehicle, depot, stops (hours from time_zero)"
        },
    )
    unassigned = fields.List(fields.Dict(), allow_none=True)
    violations = fields.List(fields.Dict(), allow_none=True)
    metrics = fields.Dict(allow_none=True)
    author_id = fields.Int(allow_none=True)
    created_at = fields.DateTime()


class TripDropSchema(Schema):
    id = fields.Int()
    line_id = fields.Int()
    material = fields.Function(lambda d: d.line.material.name)
    unit = fields.Function(lambda d: d.line.material.unit)
    quantity = fields.Int()
    quantity_received = fields.Int(allow_none=True)
    discrepancy_reason = fields.Str(allow_none=True)


class TripStopSchema(Schema):
    id = fields.Int()
    sequence = fields.Int()
    point_id = fields.Int()
    point = fields.Function(lambda s: s.point.name)
    eta = fields.DateTime()
    status = fields.Str()
    received_at = fields.DateTime(allow_none=True)
    drops = fields.List(fields.Nested(TripDropSchema))


class TripSchema(Schema):
    id = fields.Int()
    number = fields.Str()
    route_plan_id = fields.Int()
    status = fields.Str()
    depot_id = fields.Int()
    depot = fields.Function(lambda t: t.depot.name)
    vehicle_type = fields.Str()
    payload_t = fields.Float()
    plate = fields.Str(allow_none=True)
    driver = fields.Str(allow_none=True)
    phone = fields.Str(allow_none=True)
    km = fields.Float()
    load_t = fields.Float()
    departed_at = fields.DateTime(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    stops = fields.List(fields.Nested(TripStopSchema))


class TripCrewSchema(Schema):
    plate = fields.Str(load_default=None, validate=validate.Length(max=16))
    driver = fields.Str(load_default=None, validate=validate.Length(max=50))
    phone = fields.Str(load_default=None, validate=validate.Length(max=20))


class DropReceiptSchema(Schema):
    drop_id = fields.Int(required=True)
    quantity_received = Units(minimum=0, required=True)
    discrepancy_reason = fields.Str(load_default=None, validate=validate.Length(max=300))


class StopReceiptSchema(Schema):
    drops = fields.List(
        fields.Nested(DropReceiptSchema), load_default=list, validate=validate.Length(max=500)
    )


class RoadTimeSchema(Schema):
    id = fields.Int(dump_only=True)
    from_key = fields.Str(required=True, validate=validate.Regexp(r"^[DPdp]\d{1,12}$"))
    to_key = fields.Str(required=True, validate=validate.Regexp(r"^[DPdp]\d{1,12}$"))
    hours = fields.Float(
        required=True, validate=validate.Range(min=0, max=240, min_inclusive=False)
    )
    km = fields.Float(required=True, validate=validate.Range(min=0, max=10_000))
    note = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=200))
    updated_at = fields.DateTime(dump_only=True)


class RouteJobSchema(JobSchema):
    """A routing job (a 装车方案 made in the background)."""

    route_plan_id = fields.Function(lambda j: (j.get("result") or {}).get("route_plan_id"))
