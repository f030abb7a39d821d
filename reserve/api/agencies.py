from flask_security import auth_required, current_user
from flask_smorest import Blueprint

from core.pagination import PageArgsSchema, page_schema, paginate

from .. import services
from ..schemas import AgencyQuerySchema, AgencySchema, AgencyUpdateSchema

blp = Blueprint("agencies", __name__, url_prefix="/api/v1/agencies", description="Node agencies (节点单位)")


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
