from flask_security import auth_required, current_user
from flask_smorest import Blueprint

from core.pagination import PageArgsSchema, page_schema, paginate

from ..schemas import GapRowSchema, NormSchema, PlanQuerySchema, PlanSchema
from ..services import plans as service

blp = Blueprint(
    "plans",
    __name__,
    url_prefix="/api/v1/plans",
    description="Emergency plans and reserve norms (应急预案)",
)


@blp.route("")
@auth_required("token", "session")
@blp.arguments(PlanQuerySchema, location="query")
@blp.arguments(PageArgsSchema, location="query", as_kwargs=True)
@blp.response(200, page_schema(PlanSchema))
def list_plans(query, page, per_page):
    return paginate(service.list_plans(current_user, **query), page, per_page)


@blp.route("", methods=["POST"])
@auth_required("token", "session")
@blp.arguments(PlanSchema)
@blp.response(201, PlanSchema)
def create_plan(data):
    return service.create_plan(current_user, **data)


@blp.route("/<int:plan_id>")
@auth_required("token", "session")
@blp.response(200, PlanSchema)
def get_plan(plan_id):
    return service.get_plan(current_user, plan_id)


@blp.route("/<int:plan_id>/norms", methods=["POST"])
@auth_required("token", "session")
@blp.arguments(NormSchema)
@blp.response(201, NormSchema)
def add_norm(data, plan_id):
    """Add a reserve norm: a quantity per region, or per 10,000 residents of the region."""
    return service.add_norm(current_user, plan_id, **data)


@blp.route("/<int:plan_id>/gap")
@auth_required("token", "session")
@blp.response(200, GapRowSchema(many=True))
def plan_gap(plan_id):
    """Required vs available physical stock per norm (stock the caller may see, in the norm's region)."""
    return service.plan_gap(current_user, plan_id)
