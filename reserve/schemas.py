"""Request and response shapes of the reserve API (shape and field checks only)."""

from marshmallow import Schema, fields, validate

from core.schemas import Units, UtcDateTime

from core.scoping import Classification

from core.organisation import AgencyKind
from .models import IncidentType, ReserveType, TransportMode
from .stock import MovementKind
from .rules import MAX_QUANTITY

CLASSIFICATIONS = [c.value for c in Classification]
REGION_CODE = validate.Regexp(r"^\d{6}$", error="a GB/T 2260 code has 6 digits")
ID_MAX = 2**63 - 1  # the largest id SQLite and PostgreSQL store (a larger one is a 422, not a 500)
PHONE = validate.Regexp(r"^[0-9+\-() ]{5,30}$")


class RegionSchema(Schema):
    code = fields.Str()
    name = fields.Str()
    level = fields.Str()
    parent_code = fields.Str(allow_none=True)
    lat = fields.Float(allow_none=True)
    lon = fields.Float(allow_none=True)
    population = fields.Int(allow_none=True)


class RegionQuerySchema(Schema):
    level = fields.Str(load_default=None, validate=validate.OneOf(["province", "city", "county"]))
    parent_code = fields.Str(load_default=None, validate=REGION_CODE)


class AgencySchema(Schema):
    id = fields.Int(dump_only=True)
    code = fields.Str(required=True, validate=validate.Regexp(r"^[0-9A-Za-z-]{2,32}$"))
    name = fields.Str(required=True, validate=validate.Length(min=2, max=200))
    kind = fields.Str(required=True, validate=validate.OneOf([k.value for k in AgencyKind]))
    credit_code = fields.Str(allow_none=True, load_default=None)
    region_code = fields.Str(allow_none=True, load_default=None, validate=REGION_CODE)
    parent_id = fields.Int(allow_none=True, load_default=None)
    contact_name = fields.Str(allow_none=True, load_default=None, validate=validate.Length(max=50))
    contact_phone = fields.Str(allow_none=True, load_default=None, validate=PHONE)
    path = fields.Str(dump_only=True)
    created_at = fields.DateTime(dump_only=True)


class AgencyUpdateSchema(Schema):
    name = fields.Str(validate=validate.Length(min=2, max=200))
    kind = fields.Str(validate=validate.OneOf([k.value for k in AgencyKind]))
    credit_code = fields.Str(allow_none=True)
    region_code = fields.Str(allow_none=True, validate=REGION_CODE)
    contact_name = fields.Str(allow_none=True, validate=validate.Length(max=50))
    contact_phone = fields.Str(allow_none=True, validate=PHONE)


class AgencyQuerySchema(Schema):
    q = fields.Str(load_default=None, validate=validate.Length(max=100))


class DepotSchema(Schema):
    id = fields.Int(dump_only=True)
    agency_id = fields.Int(required=True)
    code = fields.Str(required=True, validate=validate.Regexp(r"^[0-9A-Za-z-]{2,40}$"))
    name = fields.Str(required=True, validate=validate.Length(min=2, max=200))
    address = fields.Str(allow_none=True, validate=validate.Length(max=300))
    region_code = fields.Str(allow_none=True, validate=REGION_CODE)
    lat = fields.Float(allow_none=True, validate=validate.Range(-90, 90))
    lon = fields.Float(allow_none=True, validate=validate.Range(-180, 180))
    capacity_m3 = fields.Float(allow_none=True, validate=validate.Range(min=0))
    capacity_t = fields.Float(allow_none=True, validate=validate.Range(min=0))
    classification = fields.Str(load_default="internal", validate=validate.OneOf(CLASSIFICATIONS))
    contact_name = fields.Str(allow_none=True, validate=validate.Length(max=50))
    contact_phone = fields.Str(allow_none=True, validate=PHONE)
    status = fields.Str(dump_only=True)


class DepotUpdateSchema(DepotSchema):
    class Meta:
        exclude = ("agency_id",)

    code = fields.Str(validate=validate.Regexp(r"^[0-9A-Za-z-]{2,40}$"))
    name = fields.Str(validate=validate.Length(min=2, max=200))
    classification = fields.Str(validate=validate.OneOf(CLASSIFICATIONS))


class DepotQuerySchema(Schema):
    agency_id = fields.Int(load_default=None)
    region_code = fields.Str(load_default=None, validate=REGION_CODE)
    status = fields.Str(load_default=None, validate=validate.OneOf(["active", "closed"]))
    q = fields.Str(load_default=None, validate=validate.Length(max=100))


class CategorySchema(Schema):
    code = fields.Str(required=True)
    name = fields.Str(required=True, validate=validate.Length(min=1, max=100))
    level = fields.Int(dump_only=True)
    parent_code = fields.Str(dump_only=True, allow_none=True)
    illustrative = fields.Bool(dump_only=True)


class CategoryQuerySchema(Schema):
    parent_code = fields.Str(load_default=None)
    level = fields.Int(load_default=None, validate=validate.Range(1, 4))
    q = fields.Str(load_default=None, validate=validate.Length(max=100))


class ImportResultSchema(Schema):
    created = fields.Int()
    updated = fields.Int()
    unchanged = fields.Int()


class MaterialSchema(Schema):
    id = fields.Int(dump_only=True)
    code = fields.Str(required=True, validate=validate.Regexp(r"^\d{7,20}$"))
    name = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    spec = fields.Str(allow_none=True, validate=validate.Length(max=200))
    unit = fields.Str(required=True, validate=validate.Length(min=1, max=20))
    unit_weight_kg = fields.Float(required=True, validate=validate.Range(min=0))
    unit_volume_m3 = fields.Float(required=True, validate=validate.Range(min=0))
    shelf_life_days = fields.Int(allow_none=True, validate=validate.Range(min=1))
    category_code = fields.Str(required=True)


class MaterialUpdateSchema(MaterialSchema):
    class Meta:
        exclude = ("code",)

    name = fields.Str(validate=validate.Length(min=1, max=200))
    unit = fields.Str(validate=validate.Length(min=1, max=20))
    unit_weight_kg = fields.Float(validate=validate.Range(min=0))
    unit_volume_m3 = fields.Float(validate=validate.Range(min=0))
    category_code = fields.Str()


class MaterialQuerySchema(Schema):
    q = fields.Str(load_default=None, validate=validate.Length(max=100))
    category_code = fields.Str(load_default=None, validate=validate.Regexp(r"^\d{1,7}$"))


class AliasSchema(Schema):
    id = fields.Int(dump_only=True)
    agency_id = fields.Int(required=True)
    alias = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    material_id = fields.Int(required=True)


class AliasQuerySchema(Schema):
    agency_id = fields.Int(required=True)


class LotSchema(Schema):
    id = fields.Int()
    depot_id = fields.Int()
    material_id = fields.Int()
    lot_no = fields.Str()
    production_date = fields.Date(allow_none=True)
    expiry_date = fields.Date(allow_none=True)
    reserve_type = fields.Str()
    owner_agency_id = fields.Int()
    classification = fields.Str()
    on_hand = fields.Int()
    reserved = fields.Int()
    available = fields.Int()
    enterprise_name = fields.Str(allow_none=True)
    enterprise_credit_code = fields.Str(allow_none=True)
    units_per_day = fields.Int(allow_none=True)
    lead_time_h = fields.Float(allow_none=True)
    contract_valid_from = fields.Date(allow_none=True)
    contract_valid_to = fields.Date(allow_none=True)


class MovementSchema(Schema):
    id = fields.Int()
    lot_id = fields.Int()
    kind = fields.Str()
    on_hand_delta = fields.Int()
    reserved_delta = fields.Int()
    occurred_at = fields.DateTime()
    recorded_at = fields.DateTime()
    reason = fields.Str(allow_none=True)
    reference = fields.Str(allow_none=True)
    reverses_id = fields.Int(allow_none=True)
    user_id = fields.Int(allow_none=True)


class QuantitySchema(Schema):
    quantity = Units(required=True, strict=True)
    occurred_at = UtcDateTime(load_default=None)
    reason = fields.Str(load_default=None, validate=validate.Length(max=300))
    reference = fields.Str(load_default=None, validate=validate.Length(max=100))


class ReceiptSchema(QuantitySchema):
    depot_id = fields.Int(required=True)
    material_id = fields.Int(required=True)
    lot_no = fields.Str(required=True, validate=validate.Length(min=1, max=60))
    production_date = fields.Date(load_default=None)
    expiry_date = fields.Date(load_default=None)
    reserve_type = fields.Str(
        load_default=ReserveType.PHYSICAL.value,
        validate=validate.OneOf([r.value for r in ReserveType]),
    )
    classification = fields.Str(
        load_default=None,
        validate=validate.OneOf(CLASSIFICATIONS),
        metadata={"description": "defaults to the depot's classification"},
    )
    enterprise_name = fields.Str(load_default=None, validate=validate.Length(max=200))
    enterprise_credit_code = fields.Str(load_default=None)
    units_per_day = Units(load_default=None)
    lead_time_h = fields.Float(load_default=None, validate=validate.Range(min=0))
    contract_valid_from = fields.Date(load_default=None)
    contract_valid_to = fields.Date(load_default=None)


class AdjustmentSchema(Schema):
    delta = fields.Int(
        required=True, strict=True, validate=validate.Range(min=-MAX_QUANTITY, max=MAX_QUANTITY)
    )
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=300))
    occurred_at = UtcDateTime(load_default=None)
    reference = fields.Str(load_default=None, validate=validate.Length(max=100))


class CountSchema(Schema):
    counted = Units(minimum=0, required=True, strict=True)
    reason = fields.Str(load_default=None, validate=validate.Length(max=300))
    occurred_at = UtcDateTime(load_default=None)


class TransferSchema(QuantitySchema):
    to_depot_id = fields.Int(required=True)


class ReservationSchema(Schema):
    quantity = Units(required=True, strict=True)
    reference = fields.Str(load_default=None, validate=validate.Length(max=100))


class ReversalSchema(Schema):
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=300))


class StockQuerySchema(Schema):
    material_id = fields.Int(load_default=None, validate=validate.Range(min=1, max=ID_MAX))
    category_code = fields.Str(load_default=None, validate=validate.Regexp(r"^\d{1,7}$"))
    region_code = fields.Str(load_default=None, validate=REGION_CODE)
    agency_id = fields.Int(load_default=None, validate=validate.Range(min=1, max=ID_MAX))
    depot_id = fields.Int(load_default=None, validate=validate.Range(min=1, max=ID_MAX))
    reserve_type = fields.Str(
        load_default=None, validate=validate.OneOf([r.value for r in ReserveType])
    )
    expiring_within_days = fields.Int(load_default=None, validate=validate.Range(min=0, max=36500))
    q = fields.Str(load_default=None, validate=validate.Length(max=100))
    include_empty = fields.Bool(load_default=False)


class StockRowSchema(Schema):
    lot_id = fields.Int()
    depot_code = fields.Str()
    depot_name = fields.Str()
    agency = fields.Str()
    region_code = fields.Str(allow_none=True)
    region = fields.Str(allow_none=True)
    material_code = fields.Str()
    material = fields.Str()
    spec = fields.Str(allow_none=True)
    unit = fields.Str()
    category_code = fields.Str()
    lot_no = fields.Str()
    expiry_date = fields.Date(allow_none=True)
    reserve_type = fields.Str()
    on_hand = fields.Int()
    reserved = fields.Int()
    available = fields.Int()
    weight_t = fields.Float()


class TotalsQuerySchema(StockQuerySchema):
    group_by = fields.Str(
        load_default="material",
        validate=validate.OneOf(["material", "category", "region", "agency", "reserve_type"]),
    )


class TotalRowSchema(Schema):
    key = fields.Str()
    label = fields.Str(allow_none=True)
    unit = fields.Str(allow_none=True)
    lots = fields.Int()
    on_hand = fields.Int()
    reserved = fields.Int()
    available = fields.Int()
    weight_t = fields.Float()


class WithinQuerySchema(StockQuerySchema):
    hours = fields.Float(required=True, validate=validate.Range(min=0, max=24 * 365))


class WithinRowSchema(Schema):
    material_id = fields.Int()
    material_code = fields.Str()
    material = fields.Str()
    unit = fields.Str()
    physical_now = fields.Int()
    available_within = fields.Int()


class ExportQuerySchema(StockQuerySchema):
    format = fields.Str(load_default="csv", validate=validate.OneOf(["csv", "xlsx"]))


class TransportSchema(Schema):
    id = fields.Int(dump_only=True)
    agency_id = fields.Int(required=True)
    depot_id = fields.Int(allow_none=True, load_default=None)
    mode = fields.Str(required=True, validate=validate.OneOf([m.value for m in TransportMode]))
    vehicle_type = fields.Str(required=True, validate=validate.Length(min=1, max=60))
    count = fields.Int(required=True, validate=validate.Range(min=0))
    payload_t = fields.Float(required=True, validate=validate.Range(min=0))
    volume_m3 = fields.Float(allow_none=True, load_default=None, validate=validate.Range(min=0))
    available = fields.Bool(load_default=True)
    base = fields.Str(allow_none=True, load_default=None, validate=validate.Length(max=200))
    classification = fields.Str(load_default="internal", validate=validate.OneOf(CLASSIFICATIONS))
    updated_at = fields.DateTime(dump_only=True)


class TransportUpdateSchema(TransportSchema):
    class Meta:
        exclude = ("agency_id",)

    mode = fields.Str(validate=validate.OneOf([m.value for m in TransportMode]))
    vehicle_type = fields.Str(validate=validate.Length(min=1, max=60))
    count = fields.Int(validate=validate.Range(min=0))
    payload_t = fields.Float(validate=validate.Range(min=0))
    available = fields.Bool()
    classification = fields.Str(validate=validate.OneOf(CLASSIFICATIONS))


class TransportQuerySchema(Schema):
    agency_id = fields.Int(load_default=None)
    depot_id = fields.Int(load_default=None)
    mode = fields.Str(load_default=None, validate=validate.OneOf([m.value for m in TransportMode]))


class NormSchema(Schema):
    id = fields.Int(dump_only=True)
    material_id = fields.Int(required=True)
    region_code = fields.Str(required=True, validate=REGION_CODE)
    basis = fields.Str(
        required=True, validate=validate.OneOf(["per_region", "per_10k_people", "per_10k_affected"])
    )
    quantity = fields.Float(required=True, validate=validate.Range(min=0, max=MAX_QUANTITY))


class PlanSchema(Schema):
    id = fields.Int(dump_only=True)
    agency_id = fields.Int(required=True)
    name = fields.Str(required=True, validate=validate.Length(min=2, max=200))
    incident_type = fields.Str(
        required=True, validate=validate.OneOf([t.value for t in IncidentType])
    )
    level = fields.Str(required=True, validate=validate.OneOf(["I", "II", "III", "IV"]))
    region_code = fields.Str(required=True, validate=REGION_CODE)
    classification = fields.Str(load_default="internal", validate=validate.OneOf(CLASSIFICATIONS))
    norms = fields.List(fields.Nested(NormSchema), dump_only=True)


class PlanQuerySchema(Schema):
    incident_type = fields.Str(
        load_default=None, validate=validate.OneOf([t.value for t in IncidentType])
    )
    level = fields.Str(load_default=None, validate=validate.OneOf(["I", "II", "III", "IV"]))


class GapRowSchema(Schema):
    region_code = fields.Str()
    region = fields.Str()
    material_id = fields.Int()
    material_code = fields.Str()
    material = fields.Str()
    unit = fields.Str()
    category_code = fields.Str()
    required = fields.Float(allow_none=True)
    available = fields.Int()
    gap = fields.Float(allow_none=True)
    fill_rate = fields.Float(allow_none=True)


MOVEMENT_KINDS = [k.value for k in MovementKind]
