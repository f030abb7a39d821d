"""Request and response shapes of the credit lists API. Every text field has its bound
(rules.MAX_TEXT); a push carries at most rules.MAX_PUSH entries."""

from marshmallow import Schema, fields, validate

from core.timeutil import local_today

from . import rules

STATUSES = ("in_force", "not_yet", "expired", rules.ENDED)


class EntryQuerySchema(Schema):
    list = fields.Str(load_default=None, validate=validate.OneOf(rules.LISTS))
    status = fields.Str(load_default=None, validate=validate.OneOf(STATUSES))
    code = fields.Str(load_default=None, validate=validate.Length(max=18))
    q = fields.Str(load_default=None, validate=validate.Length(max=100))


class CreditPushEntrySchema(Schema):
    """One entry as a partner sends it: the rules check it (row errors, in Chinese)."""

    credit_code = fields.Str(required=True, validate=validate.Length(max=40))
    name = fields.Str(required=True, validate=validate.Length(max=rules.MAX_TEXT["name"]))
    list = fields.Str(required=True, validate=validate.Length(max=20))
    reason = fields.Str(required=True, validate=validate.Length(max=rules.MAX_TEXT["reason"]))
    authority = fields.Str(required=True, validate=validate.Length(max=rules.MAX_TEXT["authority"]))
    start_date = fields.Str(required=True, validate=validate.Length(max=20))
    end_date = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=20))
    source_document = fields.Str(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=rules.MAX_TEXT["source_document"]),
    )


class CreditPushSchema(Schema):
    entries = fields.List(
        fields.Nested(CreditPushEntrySchema),
        required=True,
        validate=validate.Length(min=1, max=rules.MAX_PUSH),
    )


class RecordedSchema(Schema):
    created = fields.Int()
    updated = fields.Int()
    unchanged = fields.Int()


class EndSchema(Schema):
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=500))


def _status(entry) -> str:
    return rules.status_on(entry.status, entry.start_date, entry.end_date, local_today())


class ChangeSchema(Schema):
    action = fields.Str()
    fields_ = fields.Dict(data_key="fields", attribute="fields")
    origin = fields.Str()
    origin_ref = fields.Str()
    reason = fields.Str(allow_none=True)
    by = fields.Function(lambda c: c.by.email if c.by else None)
    at = fields.DateTime()


class EntrySchema(Schema):
    id = fields.Int()
    credit_code = fields.Str()
    name = fields.Str()
    list = fields.Str()
    reason = fields.Str()
    authority = fields.Str()
    start_date = fields.Date()
    end_date = fields.Date(allow_none=True)
    source_document = fields.Str(allow_none=True)
    status = fields.Function(_status)  # in_force, not_yet, expired, ended: today
    origin = fields.Str()
    origin_ref = fields.Str()
    recorded_at = fields.DateTime()
    updated_at = fields.DateTime()


class EntryDetailSchema(EntrySchema):
    changes = fields.List(fields.Nested(ChangeSchema))


class CheckQuerySchema(Schema):
    code = fields.Str(required=True, validate=validate.Length(min=1, max=40))
    on = fields.Date(load_default=None)


class CheckSchema(Schema):
    credit_code = fields.Str()
    on = fields.Date()
    restricted = fields.Bool()
    red_listed = fields.Bool()
    entries = fields.List(fields.Nested(EntrySchema))


class HitSchema(Schema):
    id = fields.Int()
    entry_id = fields.Int()
    credit_code = fields.Str()
    subject_kind = fields.Str()
    subject_ref = fields.Str()
    subject_name = fields.Str()
    detail = fields.Str()
    found_at = fields.DateTime()
    acknowledged_at = fields.DateTime(allow_none=True)
