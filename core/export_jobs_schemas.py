"""Schemas of the export jobs API (/api/v1/export-jobs). Inputs are allow-lists with documented bounds."""

from flask import url_for
from marshmallow import Schema, ValidationError, fields, validate

from .export_jobs import declared_exports
from .schemas import JobSchema

FORMATS = ("csv", "xlsx")


def _declared(name: str) -> bool:
    """One of the features' exports (declared when the app starts, after this module loads)."""
    names = list(declared_exports())
    if name not in names:
        raise ValidationError(f"Must be one of: {', '.join(names)}.")
    return True


class ExportJobRequestSchema(Schema):
    export = fields.Str(
        required=True,
        validate=_declared,
        metadata={
            "description": "stock: the lot list of /api/v1/stock/export; sharing: a shared "
            "kind of /api/v1/sharing/exports/{kind}"
        },
    )
    format = fields.Str(load_default="csv", validate=validate.OneOf(FORMATS))
    filters = fields.Dict(
        keys=fields.Str(validate=validate.Length(min=1, max=40)),
        values=fields.Raw(allow_none=True),
        load_default=dict,
        validate=validate.Length(max=20),
        metadata={
            "description": "the inline export's query parameters (at most 20), checked "
            "by its schema: stock as /api/v1/stock (material_id, "
            "category_code, region_code, agency_id, depot_id, reserve_type, "
            "expiring_within_days ≤ 36500, q ≤ 100 characters, "
            "include_empty); sharing: kind (required), agency_id"
        },
    )


class ExportJobSchema(JobSchema):
    """An export job (kind `export`) and its file."""

    export = fields.Str()
    label = fields.Str()
    format = fields.Str()
    filters = fields.Dict()
    expected_rows = fields.Int(
        allow_none=True, metadata={"description": "at most this many rows (counted at start)"}
    )
    rows = fields.Int(allow_none=True, metadata={"description": "rows in the file, once done"})
    size = fields.Int(allow_none=True, metadata={"description": "bytes of the file, once done"})
    filename = fields.Str(allow_none=True)
    expires_at = fields.DateTime(
        allow_none=True, metadata={"description": "the file is deleted then"}
    )
    expired = fields.Bool()
    can_cancel = fields.Bool()
    can_retry = fields.Bool()
    download_url = fields.Method("_download", allow_none=True)

    def _download(self, job) -> str | None:
        return url_for("export_jobs.export_file", job_id=job["id"]) if job["available"] else None
