from flask_security import auth_required, current_user
from flask_smorest import Blueprint

from core.pagination import PageArgsSchema, page_schema, paginate

from ..schemas import TransportQuerySchema, TransportSchema, TransportUpdateSchema
from ..services import transport as service

blp = Blueprint(
    "transport", __name__, url_prefix="/api/v1/transport", description="Transport capacity (运输力)"
)


@blp.route("")
@auth_required("token", "session")
@blp.arguments(TransportQuerySchema, location="query")
@blp.arguments(PageArgsSchema, location="query", as_kwargs=True)
@blp.response(200, page_schema(TransportSchema))
def list_transport(query, page, per_page):
    return paginate(service.list_transport(current_user, **query), page, per_page)


@blp.route("", methods=["POST"])
@auth_required("token", "session")
@blp.arguments(TransportSchema)
@blp.response(201, TransportSchema)
def create_transport(data):
    return service.create_transport(current_user, **data)


@blp.route("/<int:transport_id>")
@auth_required("token", "session")
@blp.response(200, TransportSchema)
def get_transport(transport_id):
    return service.get_transport(current_user, transport_id)


@blp.route("/<int:transport_id>", methods=["PATCH"])
@auth_required("token", "session")
@blp.arguments(TransportUpdateSchema)
@blp.response(200, TransportSchema)
def update_transport(data, transport_id):
    return service.update_transport(current_user, transport_id, **data)
