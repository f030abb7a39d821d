"""Request and response shapes of the sharing API (shape and field checks only)."""

from flask import url_for
from flask_babel import gettext
from marshmallow import Schema, validate
from marshmallow import fields as ma

from .models import ATTRIBUTES
from .resources import RESOURCES
from .rules import SCOPES

KIND = validate.OneOf(list(RESOURCES))


class CatalogQuerySchema(Schema):
    agency_id = ma.Int(load_default=None)
    kind = ma.Str(load_default=None, validate=KIND)
    attribute = ma.Str(load_default=None, validate=validate.OneOf(ATTRIBUTES))


class CatalogEntrySchema(Schema):
    agency_id = ma.Int()
    agency_code = ma.Str()
    agency_name = ma.Str()
    kind = ma.Str()
    title = ma.Str()
    description = ma.Str()
    fields = ma.List(ma.Str())
    cadence = ma.Str(
        metadata={"description": "weekly, monthly, quarterly (the reporting calendar) or on_change"}
    )
    records = ma.Int()
    restricted_records = ma.Int()
    last_update = ma.DateTime(allow_none=True)
    attribute = ma.Str(metadata={"description": "unconditional / conditional / not_shared"})
    legal_reason = ma.Str(allow_none=True)
    can_edit = ma.Bool()
    my_access = ma.Str(
        metadata={"description": "own, unconditional, grant, request (conditional: ask), none"}
    )


class AttributeSchema(Schema):
    attribute = ma.Str(required=True, validate=validate.OneOf(ATTRIBUTES))
    legal_reason = ma.Str(load_default=None, validate=validate.Length(max=300))
    description = ma.Str(load_default=None, validate=validate.Length(max=500))


class SharedResourceSchema(Schema):
    agency_id = ma.Int()
    kind = ma.Str()
    attribute = ma.Str()
    legal_reason = ma.Str(allow_none=True)
    description = ma.Str(allow_none=True)
    updated_at = ma.DateTime()


class SummarySchema(Schema):
    per_agency = ma.List(ma.Dict())
    per_kind = ma.Dict()


class FeedQuerySchema(Schema):
    cursor = ma.Int(
        load_default=0,
        validate=validate.Range(min=0),
        metadata={"description": "next_cursor of the previous page; 0 from the start"},
    )
    limit = ma.Int(load_default=200, validate=validate.Range(min=1, max=1000))
    agency_id = ma.Int(load_default=None, metadata={"description": "only this owner agency"})


class FeedItemSchema(Schema):
    seq = ma.Int()
    op = ma.Str(
        metadata={
            "description": "upsert (record as it is now) or delete (deleted or no longer readable)"
        }
    )
    id = ma.Int()
    agency_id = ma.Int(allow_none=True)
    changed_at = ma.DateTime()
    record = ma.Dict(allow_none=True)


class FeedPageSchema(Schema):
    kind = ma.Str()
    cursor = ma.Int()
    next_cursor = ma.Int()
    has_more = ma.Bool()
    items = ma.List(ma.Nested(FeedItemSchema))


class ExportQuerySchema(Schema):
    format = ma.Str(load_default="csv", validate=validate.OneOf(["csv", "xlsx"]))
    agency_id = ma.Int(load_default=None)


class ExportFilterSchema(Schema):
    """The filters of a `sharing` export job (core/export_jobs.py): those of /exports/{kind}."""

    kind = ma.Str(required=True, validate=KIND)
    agency_id = ma.Int(load_default=None, validate=validate.Range(min=1, max=2**63 - 1))


class DictionaryEntrySchema(Schema):
    key = ma.Str()
    type = ma.Str()
    label = ma.Str()


class GrantRequestSchema(Schema):
    owner_agency_id = ma.Int(required=True)
    kind = ma.Str(required=True, validate=KIND)
    purpose = ma.Str(required=True, validate=validate.Length(min=1, max=500))
    fields = ma.List(ma.Str(), required=True, validate=validate.Length(min=1))
    requested_from = ma.Date(required=True)
    requested_to = ma.Date(required=True)


class GrantQuerySchema(Schema):
    direction = ma.Str(load_default=None, validate=validate.OneOf(["incoming", "outgoing"]))
    status = ma.Str(
        load_default=None,
        validate=validate.OneOf(["pending", "approved", "rejected", "revoked", "timed_out"]),
    )
    kind = ma.Str(load_default=None, validate=KIND)


class ApproveSchema(Schema):
    fields = ma.List(
        ma.Str(), load_default=None, metadata={"description": "narrower than requested, or omit"}
    )
    valid_from = ma.Date(load_default=None)
    valid_to = ma.Date(load_default=None)


class ReasonSchema(Schema):
    reason = ma.Str(required=True, validate=validate.Length(min=1, max=300))


class GrantSchema(Schema):
    id = ma.Int()
    owner_agency_id = ma.Int()
    owner_name = ma.Function(lambda g: g.owner.name)
    kind = ma.Str()
    grantee_agency_id = ma.Int(allow_none=True)
    grantee_client_id = ma.Int(allow_none=True)
    grantee_name = ma.Function(
        lambda g: g.grantee_agency.name if g.grantee_agency else g.grantee_client.name
    )
    purpose = ma.Str()
    requested_fields = ma.List(ma.Str())
    requested_from = ma.Date()
    requested_to = ma.Date()
    status = ma.Str()
    state = ma.Method(
        "_state",
        metadata={
            "description": "today: pending, timed_out, scheduled, active, expired, "
            "rejected, revoked"
        },
    )
    fields = ma.List(ma.Str(), allow_none=True)
    valid_from = ma.Date(allow_none=True)
    valid_to = ma.Date(allow_none=True)
    reason = ma.Str(allow_none=True)
    requested_at = ma.DateTime()
    decided_at = ma.DateTime(allow_none=True)
    revoked_at = ma.DateTime(allow_none=True)

    def _state(self, grant):
        from core.timeutil import local_today

        from .services import grant_state

        return grant_state(grant, local_today())


class AccessQuerySchema(Schema):
    owner_agency_id = ma.Int(load_default=None)
    grant_id = ma.Int(load_default=None)


class AccessSchema(Schema):
    id = ma.Int()
    at = ma.DateTime()
    grant_id = ma.Int()
    owner_agency_id = ma.Int()
    kind = ma.Str()
    user_id = ma.Int(allow_none=True)
    client_id = ma.Int(allow_none=True)
    actor = ma.Str(allow_none=True)
    channel = ma.Str()
    rows = ma.Int()
    restricted_rows = ma.Int()
    record_ids = ma.List(ma.Int(), allow_none=True)
    fields = ma.List(ma.Str(), allow_none=True)
    ip = ma.Str(allow_none=True)
    request_id = ma.Str(allow_none=True)


class ClientCreateSchema(Schema):
    name = ma.Str(required=True, validate=validate.Length(min=1, max=100))
    agency_id = ma.Int(
        load_default=None, metadata={"description": "the agency it acts for; omit: grants only"}
    )
    scopes = ma.List(ma.Str(validate=validate.OneOf(SCOPES)), required=True)
    rate_limit = ma.Str(load_default="60 per minute", validate=validate.Length(max=60))
    contact = ma.Str(load_default=None, validate=validate.Length(max=200))


class ClientUpdateSchema(Schema):
    scopes = ma.List(ma.Str(validate=validate.OneOf(SCOPES)), load_default=None)
    rate_limit = ma.Str(load_default=None, validate=validate.Length(max=60))
    contact = ma.Str(load_default=None, validate=validate.Length(max=200))


class ClientSchema(Schema):
    id = ma.Int()
    name = ma.Str()
    agency_id = ma.Int(allow_none=True)
    scopes = ma.List(ma.Str())
    rate_limit = ma.Str()
    contact = ma.Str(allow_none=True)
    active = ma.Bool()
    token_issued_at = ma.DateTime(allow_none=True)
    token_count = ma.Int()
    created_at = ma.DateTime()
    revoked_at = ma.DateTime(allow_none=True)
    revoke_reason = ma.Str(allow_none=True)


class ClientTokenSchema(Schema):
    client = ma.Nested(ClientSchema)
    token = ma.Str(metadata={"description": "shown once; send it as Authentication-Token"})


class QualityQuerySchema(Schema):
    agency_id = ma.Int(load_default=None)
    dimension = ma.Str(
        load_default=None,
        validate=validate.OneOf(["completeness", "validity", "freshness", "conflicts"]),
    )


class AgencyQualitySchema(Schema):
    agency_id = ma.Int()
    agency_code = ma.Str()
    agency_name = ma.Str()
    completeness = ma.Float(allow_none=True)
    validity = ma.Float(allow_none=True)
    freshness = ma.Float(allow_none=True)
    freshness_status = ma.Str(allow_none=True)
    conflicts = ma.Int()
    records = ma.Int()
    score = ma.Float(allow_none=True)


def record_url(issue) -> str | None:
    """Where a person looks at the record behind a finding (a page, or the API for a lot)."""
    kind, record_id = issue.record_type, issue.record_id
    if kind == "depot":
        return url_for("reserve.depot_detail", depot_id=record_id)
    if kind == "lot":
        return url_for("lots.get_lot", lot_id=record_id)
    if kind == "submission":
        return url_for("reporting.submission", submission_id=record_id)
    if kind == "transport":
        return url_for("reserve.transport_list")
    if kind == "material":
        return url_for("materials.get_material", material_id=record_id)
    return None


class IssueSchema(Schema):
    dimension = ma.Str()
    check = ma.Str()
    agency_id = ma.Int()
    record_type = ma.Str()
    record_id = ma.Int()
    related = ma.List(ma.Int())
    detail = ma.Function(lambda issue: gettext(issue.detail) if issue.detail else "")
    url = ma.Function(record_url)


class QualityReportSchema(Schema):
    overall = ma.Nested(AgencyQualitySchema)
    agencies = ma.List(ma.Nested(AgencyQualitySchema))
    counts = ma.Dict()
    issues = ma.List(ma.Nested(IssueSchema))


class TrendQuerySchema(Schema):
    agency_id = ma.Int(load_default=None)
    days = ma.Int(load_default=90, validate=validate.Range(1, 730))


class SnapshotSchema(Schema):
    day = ma.Date()
    agency_id = ma.Int(allow_none=True)
    completeness = ma.Float(allow_none=True)
    validity = ma.Float(allow_none=True)
    freshness = ma.Float(allow_none=True)
    conflicts = ma.Int()
    score = ma.Float(allow_none=True)
