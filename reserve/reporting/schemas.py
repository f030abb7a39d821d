"""Request and response shapes of the reporting API (shape and field checks only)."""

from marshmallow import Schema, fields, validate

from .models import PERIODS
from .standard import KINDS, MAX_PUSH_ROWS, MODES

KIND = validate.OneOf(list(KINDS))


class TemplateQuerySchema(Schema):
    format = fields.Str(load_default="xlsx", validate=validate.OneOf(["xlsx", "csv"]))
    agency_id = fields.Int(
        load_default=None, metadata={"description": "prefill with this agency's current data"}
    )


class UploadFormSchema(Schema):
    agency_id = fields.Int(required=True)
    kind = fields.Str(required=True, validate=KIND)
    mode = fields.Str(load_default="incremental", validate=validate.OneOf(MODES))


class PushSchema(Schema):
    agency_id = fields.Int(required=True)
    kind = fields.Str(required=True, validate=KIND)
    mode = fields.Str(load_default="incremental", validate=validate.OneOf(MODES))
    confirm = fields.Bool(load_default=False, metadata={"description": "apply at once if valid"})
    rows = fields.List(
        fields.Dict(), required=True, validate=validate.Length(min=1, max=MAX_PUSH_ROWS)
    )


class ConfirmSchema(Schema):
    fingerprint = fields.Str(
        load_default=None, metadata={"description": "the preview's fingerprint"}
    )


class RevertSchema(Schema):
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=300))


class SubmissionQuerySchema(Schema):
    agency_id = fields.Int(load_default=None)
    kind = fields.Str(load_default=None, validate=KIND)
    status = fields.Str(load_default=None)


class SubmissionSchema(Schema):
    id = fields.Int()
    agency_id = fields.Int()
    agency = fields.Function(lambda s: s.agency.name)
    kind = fields.Str()
    mode = fields.Str()
    channel = fields.Str()
    status = fields.Str()
    filename = fields.Str(allow_none=True)
    file_format = fields.Str()
    file_hash = fields.Str()
    file_size = fields.Int()
    template_version = fields.Int(allow_none=True)
    row_count = fields.Int()
    error_count = fields.Int()
    fingerprint = fields.Str(allow_none=True)
    created_at = fields.DateTime()
    created_by = fields.Function(lambda s: s.created_by.email if s.created_by else None)
    applied_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    close_reason = fields.Str(allow_none=True)


class SubmissionJobSchema(Schema):
    id = fields.Int()
    kind = fields.Str(metadata={"description": "report-check or report-apply"})
    status = fields.Str(metadata={"description": "queued, running, done, failed or cancelled"})
    progress = fields.Int(metadata={"description": "percent"})
    step = fields.Str(allow_none=True)
    error = fields.Str(allow_none=True)


class SubmissionDetailSchema(SubmissionSchema):
    preview = fields.Dict(allow_none=True)
    changes = fields.List(fields.Dict(), allow_none=True)
    errors = fields.Method("translated_errors")
    job = fields.Method(
        "background_job",
        metadata={
            "description": "while `checking` or `applying`: the worker's job (poll this submission until the status "
            "changes); null otherwise"
        },
    )

    def background_job(self, submission):
        from .services import IN_BACKGROUND, submission_job

        job = submission_job(submission) if submission.status in IN_BACKGROUND else None
        return SubmissionJobSchema().dump(job) if job is not None else None

    def translated_errors(self, submission):
        from .services import describe_errors

        return describe_errors(submission.errors or [])


class CadenceSchema(Schema):
    id = fields.Int(dump_only=True)
    agency_id = fields.Int(allow_none=True, load_default=None)
    kind = fields.Str(required=True, validate=KIND)
    period = fields.Str(required=True, validate=validate.OneOf(PERIODS))
    grace_days = fields.Int(load_default=5, validate=validate.Range(0, 60))
    starts_on = fields.Date(
        allow_none=True,
        load_default=None,
        metadata={
            "description": "The calendar's first day: periods ending before it owe no report (kept when omitted)"
        },
    )


class ScoreQuerySchema(Schema):
    kind = fields.Str(load_default="stock", validate=KIND)
    periods = fields.Int(load_default=6, validate=validate.Range(1, 24))


class ScoreRowSchema(Schema):
    agency_id = fields.Int()
    agency_code = fields.Str()
    agency_name = fields.Str()
    period = fields.Str()
    last_applied_at = fields.DateTime(allow_none=True)
    statuses = fields.List(fields.Str())
    current = fields.Str()
    on_time_share = fields.Float(allow_none=True)
    depots_share = fields.Float(allow_none=True)
    materials_share = fields.Float(allow_none=True)
    quality_score = fields.Float(
        allow_none=True, metadata={"description": "latest data-quality score (0-1)"}
    )
