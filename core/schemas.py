from datetime import UTC

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields, validate

from .limits import MAX_QUANTITY


def _iso_utc(value) -> str:
    """The database keeps naive UTC; an API answer says so (RFC 3339 `date-time` needs an offset,
    and a client reading "2026-05-01T08:00:00" cannot tell UTC from local time)."""
    return (value if value.tzinfo is not None else value.replace(tzinfo=UTC)).isoformat()


# Every DateTime field of every schema dumps with its offset (marshmallow's one table of formats).
fields.DateTime.SERIALIZATION_FUNCS = {
    **fields.DateTime.SERIALIZATION_FUNCS,
    "iso": _iso_utc,
    "iso8601": _iso_utc,
}


class UtcDateTime(fields.DateTime):
    """A datetime input kept as the database keeps it, naive UTC: a value with an offset is
    converted to UTC, one without is taken as UTC already. (Comparing an aware input with
    `utcnow()` raised TypeError: a 500.)"""

    def _deserialize(self, value, attr, data, **kwargs):
        result = super()._deserialize(value, attr, data, **kwargs)
        return result.astimezone(UTC).replace(tzinfo=None) if result.tzinfo is not None else result


class Units(fields.Int):
    """A quantity of a material's units: a whole number from `minimum` (1, or 0 where zero is
    a fact, e.g. a count) to MAX_QUANTITY, the one bound of every quantity (docs/registry.md)."""

    def __init__(self, *, minimum: int = 1, **kwargs):
        super().__init__(
            validate=validate.Range(
                min=minimum, max=MAX_QUANTITY, error=_l("Between {min} and {max}.")
            ),
            **kwargs,
        )


class ProblemSchema(Schema):
    """RFC 9457 problem details, the body of every error response (application/problem+json)."""

    type = fields.Str(
        metadata={"description": "URI naming the problem type; about:blank for plain HTTP errors"}
    )
    title = fields.Str(metadata={"description": "Short summary in the caller's language"})
    status = fields.Int()
    detail = fields.Str(metadata={"description": "What went wrong with this request"})
    instance = fields.Str(metadata={"description": "The request path"})
    request_id = fields.Str(
        metadata={"description": "Also sent as the X-Request-ID header; quote it when reporting"}
    )
    errors = fields.Dict(metadata={"description": "Field errors, by location and field name"})


class AgencyBriefSchema(Schema):
    id = fields.Int()
    code = fields.Str()
    name = fields.Str()


class MeSchema(Schema):
    id = fields.Int()
    email = fields.Str()
    display_name = fields.Str()
    roles = fields.List(fields.Str(), attribute="role_names")
    agency = fields.Nested(AgencyBriefSchema, allow_none=True)


class AuditEntrySchema(Schema):
    id = fields.Int()
    at = fields.DateTime()
    user_id = fields.Int(allow_none=True)
    agency_id = fields.Int(allow_none=True)
    actor = fields.Str(allow_none=True)
    action = fields.Str()
    entity = fields.Str()
    entity_id = fields.Str(allow_none=True)
    before = fields.Dict(allow_none=True)
    after = fields.Dict(allow_none=True)
    ip = fields.Str(allow_none=True)
    request_id = fields.Str(allow_none=True)
    prev_hash = fields.Str()
    row_hash = fields.Str()


class AuditQuerySchema(Schema):
    entity = fields.Str(load_default=None)
    entity_id = fields.Str(load_default=None)
    user_id = fields.Int(load_default=None)


class ChainReportSchema(Schema):
    ok = fields.Bool()
    rows = fields.Int()
    broken_id = fields.Int(allow_none=True)
    reason = fields.Str(allow_none=True)


class TodoItemSchema(Schema):
    title = fields.Str()
    url = fields.Function(
        lambda item: _todo_url(item), metadata={"description": "The page where the work is done"}
    )


def _todo_url(item) -> str:
    from flask import url_for

    return url_for(item.endpoint, **item.params)


class TodoGroupSchema(Schema):
    kind = fields.Str(
        metadata={
            "description": "plan_approval, shipment_send, shipment_receive, position, "
            "supplier_review, report_overdue or red_warning"
        }
    )
    label = fields.Str()
    count = fields.Int(
        metadata={"description": "All waiting items of the kind (items lists the first 20)"}
    )
    items = fields.List(fields.Nested(TodoItemSchema))


class JobSchema(Schema):
    """A background job (core/background.py, `as_dict`) as every web worker reports it; each kind's
    schema adds what its job makes."""

    id = fields.Int()
    kind = fields.Str()
    status = fields.Str(metadata={"description": "queued, running, done, failed or cancelled"})
    progress = fields.Int(metadata={"description": "percent, 0-100"})
    step = fields.Str(allow_none=True)
    error = fields.Str(allow_none=True, metadata={"description": "why it failed"})
    attempts = fields.Int()
    cancel_requested = fields.Bool()
    created_at = fields.DateTime()
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)
