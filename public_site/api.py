"""The portal's JSON API: public information under /api/v1/public (no login, cacheable),
the administrators' review, board and feedback desk, and planning sources for dispatch."""

from flask_security import auth_required, current_user
from flask_smorest import Blueprint

from core.pagination import PageArgsSchema, page_schema, paginate

from . import schemas
from .http import limit_forms, public_cache
from .services import board, feedback, notices, overview, suppliers

public = Blueprint(
    "public",
    __name__,
    url_prefix="/api/v1/public",
    description="Public information: aggregates of public reserves, notices, approved suppliers, "
    "the supply/demand board, answered feedback (no login)",
)
desk = Blueprint(
    "portal-desk",
    __name__,
    url_prefix="/api/v1/portal",
    description="Portal administration: supplier review, notices, board, feedback; planning sources",
)


@public.route("/overview")
@public.doc(security=[])  # public: no sign-in
@public_cache()
@public.response(200, schemas.OverviewSchema)
def get_overview():
    """Totals of public stock by category, city (centroid only) and top materials."""
    return overview.public_overview()


@public.route("/notices")
@public.doc(security=[])  # public: no sign-in
@public_cache()
@public.arguments(schemas.NoticeQuerySchema, location="query")
@public.arguments(PageArgsSchema, location="query", as_kwargs=True)
@public.response(200, page_schema(schemas.PublicNoticeSchema))
def list_notices(query, page, per_page):
    return paginate(notices.list_published(**query), page, per_page)


@public.route("/notices/<int:notice_id>")
@public.doc(security=[])  # public: no sign-in
@public_cache()
@public.response(200, schemas.PublicNoticeSchema)
def get_notice(notice_id):
    return notices.get_published(notice_id)


@public.route("/suppliers")
@public.doc(security=[])  # public: no sign-in
@public_cache()
@public.arguments(PageArgsSchema, location="query", as_kwargs=True)
@public.response(200, page_schema(schemas.PublicSupplierSchema))
def list_suppliers(page, per_page):
    """Approved supplier enterprises: name, region and what they supply (no contacts)."""
    return paginate(suppliers.list_approved_suppliers(), page, per_page)


@public.route("/demands")
@public.doc(security=[])  # public: no sign-in
@public_cache()
@public.arguments(schemas.DemandQuerySchema, location="query")
@public.arguments(PageArgsSchema, location="query", as_kwargs=True)
@public.response(200, page_schema(schemas.PublicDemandSchema))
def list_demands(query, page, per_page):
    """The supply/demand board with each demand's progress."""
    return paginate(board.list_demands(**query), page, per_page)


@public.route("/demands/<int:demand_id>")
@public.doc(security=[])  # public: no sign-in
@public_cache()
@public.response(200, schemas.PublicDemandSchema)
def get_demand(demand_id):
    return board.get_demand(demand_id)


@public.route("/demands/<int:demand_id>/offers", methods=["POST"])
@public.doc(security=[])  # public: no sign-in
@limit_forms
@public.arguments(schemas.BoardOfferInSchema)
@public.response(202, schemas.OfferReceiptSchema)
def offer_supply(data, demand_id):
    """Offer to supply against an open demand (rate-limited; `website` must stay empty)."""
    board.offer_supply(current_user, demand_id, **data)
    return {"received": True, "demand_id": demand_id}


@public.route("/feedback")
@public.doc(security=[])  # public: no sign-in
@public_cache()
@public.arguments(PageArgsSchema, location="query", as_kwargs=True)
@public.response(200, page_schema(schemas.PublicFeedbackSchema))
def list_feedback(page, per_page):
    """Answered messages made public (never the sender's contact)."""
    return paginate(feedback.list_public(), page, per_page)


@public.route("/feedback", methods=["POST"])
@public.doc(security=[])  # public: no sign-in
@limit_forms
@public.arguments(schemas.FeedbackInSchema)
@public.response(202, schemas.FeedbackReceiptSchema)
def send_feedback(data):
    """Send a message to the administrators (rate-limited; `website` must stay empty)."""
    feedback.submit_feedback(**data)
    return {"received": True}


@desk.route("/suppliers")
@auth_required("token", "session")
@desk.arguments(schemas.SupplierQuerySchema, location="query")
@desk.arguments(PageArgsSchema, location="query", as_kwargs=True)
@desk.response(200, page_schema(schemas.SupplierSchema))
def review_queue(query, page, per_page):
    """Registrations, oldest waiting first (administrators)."""
    return paginate(suppliers.list_suppliers(current_user, **query), page, per_page)


@desk.route("/suppliers/me")
@auth_required("token", "session")
@desk.response(200, schemas.SupplierSchema)
def my_registration():
    """The calling enterprise's registration, with its review status and reason."""
    return suppliers.own_supplier(current_user)


@desk.route("/suppliers/<int:supplier_id>")
@auth_required("token", "session")
@desk.response(200, schemas.SupplierSchema)
def get_registration(supplier_id):
    return suppliers.get_supplier(current_user, supplier_id)


@desk.route("/suppliers/<int:supplier_id>/review", methods=["POST"])
@auth_required("token", "session")
@desk.arguments(schemas.ReviewSchema)
@desk.response(200, schemas.SupplierSchema)
def review(data, supplier_id):
    """Approve, reject (reason required) or ask for changes (reason required)."""
    return suppliers.review_supplier(current_user, supplier_id, **data)


@desk.route("/supplier-offers/<int:offer_id>/material", methods=["POST"])
@auth_required("token", "session")
@desk.arguments(schemas.OfferMappingSchema)
@desk.response(200, schemas.OfferSchema)
def map_material(data, offer_id):
    """Map an offer's free-text material to a catalog material."""
    return suppliers.map_offer_material(current_user, offer_id, data["material_id"])


@desk.route("/planning-sources")
@auth_required("token", "session")
@desk.response(200, schemas.PlanningSourceSchema(many=True))
def planning_sources():
    """Approved offers of catalog materials: agreement/capacity sources for the dispatch planner
    (administrators and command staff)."""
    return suppliers.list_planning_sources(current_user)


@desk.route("/notices", methods=["POST"])
@auth_required("token", "session")
@desk.arguments(schemas.NoticeInSchema)
@desk.response(201, schemas.NoticeSchema)
def create_notice(data):
    return notices.create_notice(current_user, **data)


@desk.route("/demands", methods=["POST"])
@auth_required("token", "session")
@desk.arguments(schemas.DemandInSchema)
@desk.response(201, schemas.PublicDemandSchema)
def create_demand(data):
    """Publish a demand on the board (administrators)."""
    return board.create_demand(current_user, **data)


@desk.route("/board-offers")
@auth_required("token", "session")
@desk.arguments(PageArgsSchema, location="query", as_kwargs=True)
@desk.response(200, page_schema(schemas.BoardOfferSchema))
def board_offers(page, per_page):
    return paginate(board.list_offers(current_user), page, per_page)


@desk.route("/board-offers/<int:offer_id>/decision", methods=["POST"])
@auth_required("token", "session")
@desk.arguments(schemas.DecisionSchema)
@desk.response(200, schemas.BoardOfferSchema)
def decide(data, offer_id):
    """Match (up to what is still needed) or decline an offer."""
    return board.decide_offer(current_user, offer_id, **data)


@desk.route("/feedback")
@auth_required("token", "session")
@desk.arguments(PageArgsSchema, location="query", as_kwargs=True)
@desk.response(200, page_schema(schemas.FeedbackSchema))
def all_feedback(page, per_page):
    return paginate(feedback.list_feedback(current_user), page, per_page)


@desk.route("/feedback/<int:feedback_id>/answer", methods=["POST"])
@auth_required("token", "session")
@desk.arguments(schemas.AnswerSchema)
@desk.response(200, schemas.FeedbackSchema)
def answer(data, feedback_id):
    return feedback.answer_feedback(current_user, feedback_id, **data)


BLUEPRINTS = [public, desk]
