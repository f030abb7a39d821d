from flask_security import auth_required, current_user
from flask_smorest import Blueprint

from core.pagination import PageArgsSchema, page_schema, paginate

from ..schemas import (
    DepotQuerySchema,
    DepotSchema,
    DepotUpdateSchema,
    RegionQuerySchema,
    RegionSchema,
)
from ..services import depots as service

regions = Blueprint(
    "regions",
    __name__,
    url_prefix="/api/v1/regions",
    description="GB/T 2260 administrative divisions (行政区划)",
)
depots = Blueprint("depots", __name__, url_prefix="/api/v1/depots", description="Depots (储备库)")


@regions.route("")
@regions.doc(security=[])  # public: no sign-in
@regions.arguments(RegionQuerySchema, location="query")
@regions.arguments(PageArgsSchema, location="query", as_kwargs=True)
@regions.response(200, page_schema(RegionSchema))
def list_regions(query, page, per_page):
    """Divisions, public reference data; filter by level or parent."""
    return paginate(service.list_regions(**query), page, per_page)


@regions.route("/<code>")
@regions.doc(security=[])  # public: no sign-in
@regions.response(200, RegionSchema)
def get_region(code):
    return service.get_region(code)


@depots.route("")
@auth_required("token", "session")
@depots.arguments(DepotQuerySchema, location="query")
@depots.arguments(PageArgsSchema, location="query", as_kwargs=True)
@depots.response(200, page_schema(DepotSchema))
def list_depots(query, page, per_page):
    """Depots in the caller's scope; agency_id includes that agency's descendants."""
    return paginate(service.list_depots(current_user, **query), page, per_page)


@depots.route("", methods=["POST"])
@auth_required("token", "session")
@depots.arguments(DepotSchema)
@depots.response(201, DepotSchema)
def create_depot(data):
    return service.create_depot(current_user, **data)


@depots.route("/<int:depot_id>")
@auth_required("token", "session")
@depots.response(200, DepotSchema)
def get_depot(depot_id):
    return service.get_depot(current_user, depot_id)


@depots.route("/<int:depot_id>", methods=["PATCH"])
@auth_required("token", "session")
@depots.arguments(DepotUpdateSchema)
@depots.response(200, DepotSchema)
def update_depot(data, depot_id):
    return service.update_depot(current_user, depot_id, **data)


@depots.route("/<int:depot_id>/close", methods=["POST"])
@auth_required("token", "session")
@depots.response(200, DepotSchema)
def close_depot(depot_id):
    """Close a depot that holds no stock."""
    return service.close_depot(current_user, depot_id)
