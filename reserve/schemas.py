from marshmallow import Schema, fields, validate

from .models import AgencyKind


class AgencySchema(Schema):
    id = fields.Int(dump_only=True)
    code = fields.Str(required=True, validate=validate.Regexp(r"^[0-9A-Za-z-]{2,32}$"))
    name = fields.Str(required=True, validate=validate.Length(min=2, max=200))
    kind = fields.Str(required=True, validate=validate.OneOf([k.value for k in AgencyKind]))
    region_code = fields.Str(allow_none=True, load_default=None, validate=validate.Regexp(r"^\d{6}$"))
    parent_id = fields.Int(allow_none=True, load_default=None)
    path = fields.Str(dump_only=True)
    created_at = fields.DateTime(dump_only=True)


class AgencyQuerySchema(Schema):
    q = fields.Str(load_default=None, validate=validate.Length(max=100))
