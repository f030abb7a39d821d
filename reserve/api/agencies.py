from flask import Response, request
from flask_babel import gettext as _
from flask_security import auth_required, current_user
from flask_smorest import Blueprint

from core.errors import Invalid

from core.pagination import PageArgsSchema, page_schema, paginate

from .. import services
from ..schemas import AgencyQuerySchema, AgencySchema, AgencyUpdateSchema

blp = Blueprint(
    "agencies", __name__, url_prefix="/api/v1/agencies", description="Node agencies (节点单位)"
)


@blp.route("")
@auth_required("token", "session")
@blp.arguments(AgencyQuerySchema, location="query")
@blp.arguments(PageArgsSchema, location="query", as_kwargs=True)
@blp.response(200, page_schema(AgencySchema))
def list_agencies(query, page, per_page):
    """Agencies the caller may see (its own subtree for operators), along the tree."""
    return paginate(services.list_agencies(current_user, q=query["q"]), page, per_page)


@blp.route("", methods=["POST"])
@auth_required("token", "session")
@blp.arguments(AgencySchema)
@blp.response(201, AgencySchema)
def create_agency(data):
    """Create an agency. Operators may only create inside their own subtree. Idempotency-Key supported."""
    return services.create_agency(current_user, **data)


@blp.route("/template")
@auth_required("token", "session")
@blp.response(200, description="The blank agencies template (XLSX, or CSV with ?format=csv)")
def agencies_template():
    """The first day's agencies template: Chinese headers, an instructions sheet (docs/operations.md §2.4)."""
    from .. import firstday

    fmt = "csv" if request.args.get("format") == "csv" else "xlsx"
    mimetype = (
        "text/csv"
        if fmt == "csv"
        else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    return Response(
        firstday.template(fmt),
        mimetype=mimetype,
        headers={
            "Content-Disposition": f"attachment; filename=agencies-template.{fmt}",
            "Cache-Control": "no-store",
        },
    )


@blp.route("/import", methods=["POST"])
@auth_required("token", "session")
@blp.response(201)
def import_agencies():
    """Administrators: import agencies from a CSV/XLSX file (multipart field `file`, the
    template's columns). Every row is checked first; with any error the answer is 422 with
    `errors.rows` (cell, header, message in Chinese) and nothing is imported."""
    from .. import firstday

    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise Invalid(_("Attach the file as the multipart field 'file'."))
    outcome = firstday.import_agencies_as(current_user, upload.read())
    return {"created": outcome.created}


@blp.route("/<int:agency_id>")
@auth_required("token", "session")
@blp.response(200, AgencySchema)
def get_agency(agency_id):
    return services.get_agency(current_user, agency_id)


@blp.route("/<int:agency_id>", methods=["PATCH"])
@auth_required("token", "session")
@blp.arguments(AgencyUpdateSchema)
@blp.response(200, AgencySchema)
def update_agency(data, agency_id):
    return services.update_agency(current_user, agency_id, **data)
