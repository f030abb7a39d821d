"""HTML pages of the public portal (/portal): public information, supplier registration and
the enterprise's own page, the supply/demand board, feedback, and the administrators' desk."""

import json

from flask import (
    Blueprint,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_security import auth_required, current_user
from marshmallow import ValidationError

from core.errors import DomainError
from core.extensions import csrf, db
from core.pagination import paginate
from core.timeutil import local_today
from core.organisation import Region
from reserve.models import Material

from . import schemas
from .http import limit_forms, limit_registration, public_cache
from .models import LABELS, FeedbackCategory, NoticeKind
from .services import board, credit, feedback, notices, overview, suppliers, uploads

bp = Blueprint(
    "public_site",
    __name__,
    url_prefix="/portal",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)
PER_PAGE = 20
OFFER_ROWS = 3


@bp.app_context_processor
def portal_labels():
    return {"portal_labels": LABELS}


def _page() -> int:
    return max(request.args.get("page", 1, type=int), 1)


def _form_failure(template: str, error, status: int = 422, **context):
    """Re-render a form with its field errors (from a schema or a domain rule); nothing was saved."""
    if isinstance(error, ValidationError):
        errors, detail = (
            error.normalized_messages(),
            _("Some fields are missing or not valid; see below."),
        )
    else:
        errors, detail, status = error.errors or {}, error.detail, error.status
    return render_template(
        template, errors=errors, detail=detail, form=request.form, **context
    ), status


def _cities():
    return (
        db.session.execute(
            db.select(Region)
            .where(Region.level == "city", Region.valid_to.is_(None))
            .order_by(Region.code)
        )
        .scalars()
        .all()
    )


def _region_names() -> dict:
    return dict(db.session.execute(db.select(Region.code, Region.name)).all())


def _materials():
    return db.session.execute(
        db.select(Material.id, Material.name, Material.spec, Material.unit).order_by(Material.code)
    ).all()


# --- public information ----------------------------------------------------------------


@bp.route("/")
@public_cache()
def index():
    data = overview.public_overview()
    latest = paginate(notices.list_published(), 1, 5).items
    demands = paginate(board.list_demands(status="open"), 1, 5).items
    chart = {
        "categories": [{"name": r["label"], "value": r["weight_t"]} for r in data["by_category"]],
        "cities": [
            {"name": r["label"], "lat": r["lat"], "lon": r["lon"], "value": r["weight_t"]}
            for r in data["by_city"]
            if r["lat"] is not None
        ],
    }
    return render_template(
        "public_site/index.html",
        data=data,
        latest=latest,
        demands=demands,
        chart=json.dumps(chart, ensure_ascii=False),
    )


@bp.route("/notices")
@public_cache()
def notice_list():
    kind = (
        request.args.get("kind")
        if request.args.get("kind") in {k.value for k in NoticeKind}
        else None
    )
    result = paginate(notices.list_published(kind=kind), _page(), PER_PAGE)
    return render_template("public_site/notices.html", result=result, kind=kind)


@bp.route("/notices/<int:notice_id>")
@public_cache()
def notice_detail(notice_id):
    return render_template("public_site/notice.html", notice=notices.get_published(notice_id))


@bp.route("/suppliers")
@public_cache()
def supplier_list():
    q = (request.args.get("q") or "").strip()[:100] or None
    result = paginate(suppliers.list_approved_suppliers(q=q), _page(), PER_PAGE)
    return render_template(
        "public_site/suppliers.html",
        result=result,
        q=q or "",
        region_names=_region_names(),
        red=credit.red_codes([s.credit_code for s in result.items], local_today()),
    )


@bp.route("/board")
@public_cache()
def board_list():
    result = paginate(board.list_demands(), _page(), PER_PAGE)
    return render_template("public_site/board.html", result=result)


@bp.route("/board/<int:demand_id>")
@public_cache()
def demand_detail(demand_id):
    return render_template("public_site/demand.html", demand=board.get_demand(demand_id))


@bp.route("/board/<int:demand_id>/offer", methods=["GET", "POST"])
@limit_forms
def demand_offer(demand_id):
    demand = board.get_demand(demand_id)
    if demand.source_kind == board.INCIDENT:
        return _call_offer(demand)
    if request.method == "GET":
        return render_template("public_site/offer_form.html", demand=demand, errors={}, form={})
    csrf.protect()
    try:
        data = schemas.BoardOfferInSchema().load(request.form)
        board.offer_supply(current_user, demand_id, **data)
    except (ValidationError, DomainError) as error:
        return _form_failure("public_site/offer_form.html", error, demand=demand)
    flash(
        _("Thank you: your offer has reached the administrators, who will contact you."), "success"
    )
    return redirect(url_for("public_site.demand_detail", demand_id=demand_id))


def _call_offer(demand):
    """A call for supply: approved enterprises answer with their terms; anyone else is told why
    not (no form the server would refuse)."""
    obstacle = board.call_offer_obstacle(current_user, demand)
    context = {"demand": demand, "cities": _cities(), "obstacle": obstacle}
    if request.method == "GET" or obstacle is not None:
        status = 200 if request.method == "GET" else obstacle.status
        return render_template(
            "public_site/call_offer_form.html", errors={}, form={}, **context
        ), status
    csrf.protect()
    try:
        data = schemas.CallOfferInSchema().load(request.form)
        board.answer_call(current_user, demand.id, **data)
    except (ValidationError, DomainError) as error:
        return _form_failure("public_site/call_offer_form.html", error, **context)
    flash(_("Thank you: your offer has reached the command staff."), "success")
    return redirect(url_for("public_site.demand_detail", demand_id=demand.id))


@bp.route("/feedback")
@public_cache()
def feedback_list():
    result = paginate(feedback.list_public(), _page(), PER_PAGE)
    return render_template("public_site/feedback.html", result=result)


@bp.route("/feedback/new", methods=["GET", "POST"])
@limit_forms
def feedback_new():
    categories = [c.value for c in FeedbackCategory]
    if request.method == "GET":
        return render_template(
            "public_site/feedback_form.html", categories=categories, errors={}, form={}
        )
    csrf.protect()
    try:
        feedback.submit_feedback(**schemas.FeedbackInSchema().load(request.form))
    except (ValidationError, DomainError) as error:
        return _form_failure("public_site/feedback_form.html", error, categories=categories)
    flash(
        _("Thank you: your message has been received. Answers made public appear on this page."),
        "success",
    )
    return redirect(url_for("public_site.feedback_list"))


# --- supplier registration and the enterprise's own page -----------------------------------


def _licence():
    upload = request.files.get("licence")
    if upload is None or not upload.filename:
        return None
    from .services.uploads import max_bytes

    return suppliers.Upload(upload.filename, upload.stream.read(max_bytes() + 1))


def _supplier_form_context():
    return {"cities": _cities(), "materials": _materials(), "offer_rows": OFFER_ROWS}


def _licence_kept() -> tuple[suppliers.Upload | None, str | None]:
    """This try's licence: a new upload, else the one kept from the previous try (and its token)."""
    fresh = _licence()
    if fresh is not None:
        return fresh, None
    token = request.form.get("licence_token") or None
    held = uploads.pending(token)
    return (suppliers.Upload(*held), token) if held else (None, None)


def _keep_licence(licence, token, errors: dict) -> dict:
    """Keep an accepted licence for the next try: the form gets its token and its name."""
    if licence is None or "licence" in errors:
        return {}
    return {
        "licence_token": token or uploads.hold_pending(licence.filename, licence.data),
        "licence_name": licence.filename,
    }


def _registration_limited(_limit):
    """Over the limit: the form comes back as typed (licence kept), with a message; nothing is saved."""
    licence, token = _licence_kept()
    kept = _keep_licence(licence, token, {}) if licence is not None and licence.data else {}
    detail = _(
        "Too many registrations from your network just now. Wait a minute and send the form again: "
        "what you typed is kept below."
    )
    return make_response(
        render_template(
            "public_site/register.html",
            errors={},
            detail=detail,
            form=request.form,
            **kept,
            **_supplier_form_context(),
        ),
        429,
    )


@bp.route("/register", methods=["GET", "POST"])
@limit_registration(_registration_limited)
def register():
    if request.method == "GET":
        return render_template(
            "public_site/register.html", errors={}, form={}, **_supplier_form_context()
        )
    csrf.protect()
    licence, token = _licence_kept()
    try:
        try:
            data, form_errors = schemas.SupplierRegistrationSchema().load(request.form), None
        except (
            ValidationError
        ) as refused:  # every problem at once: the rules check what the form let through
            data, form_errors = refused.valid_data or {}, refused.normalized_messages()
        suppliers.register_supplier(licence=licence, form_errors=form_errors, **data)
    except DomainError as error:
        return _form_failure(
            "public_site/register.html",
            error,
            **_keep_licence(licence, token, error.errors or {}),
            **_supplier_form_context(),
        )
    uploads.drop_pending(token)
    flash(
        _("Registration received. Log in with your email and password to follow the review."),
        "success",
    )
    return redirect(url_for("security.login"))


@bp.route("/enterprise")
@auth_required("session")
def enterprise():
    return render_template(
        "public_site/enterprise.html",
        supplier=suppliers.own_supplier(current_user),
        region_names=_region_names(),
    )


@bp.route("/enterprise/edit", methods=["GET", "POST"])
@auth_required("session")
def enterprise_edit():
    supplier = suppliers.own_supplier(current_user)
    if request.method == "GET":
        return render_template(
            "public_site/register.html",
            errors={},
            form=_as_form(supplier),
            supplier=supplier,
            **_supplier_form_context(),
        )
    csrf.protect()
    try:
        data = schemas.SupplierDetailsSchema().load(request.form)
        suppliers.resubmit_supplier(current_user, licence=_licence(), **data)
    except (ValidationError, DomainError) as error:
        return _form_failure(
            "public_site/register.html", error, supplier=supplier, **_supplier_form_context()
        )
    flash(_("Your corrected registration is back in the review queue."), "success")
    return redirect(url_for("public_site.enterprise"))


def _as_form(supplier) -> dict:
    """The registration as the form's field values, to edit it."""
    form = {k: getattr(supplier, k) for k in suppliers.DETAILS}
    for i, offer in enumerate(supplier.offers[:OFFER_ROWS]):
        form.update({f"offers-{i}-{k}": getattr(offer, k) for k in suppliers.OFFER_FIELDS})
        form[f"offers-{i}-service_regions"] = offer.region_codes
    return form


@bp.route("/documents/<int:document_id>")
@auth_required("session")
def document(document_id):
    path, media_type, name = suppliers.document_file(current_user, document_id)
    response = send_file(
        path, mimetype=media_type, as_attachment=True, download_name=name, max_age=0
    )
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


# --- the administrators' desk --------------------------------------------------------------


@bp.route("/admin/suppliers")
@auth_required("session")
def admin_suppliers():
    status = request.args.get("status", "pending")
    status = status if status in LABELS["supplier_status"] else None
    result = paginate(suppliers.list_suppliers(current_user, status=status), _page(), PER_PAGE)
    return render_template(
        "public_site/admin_suppliers.html",
        result=result,
        status=status,
        red=credit.red_codes([s.credit_code for s in result.items], local_today()),
        listed=credit.listed_codes([s.credit_code for s in result.items], local_today()),
    )


@bp.route("/admin/suppliers/<int:supplier_id>")
@auth_required("session")
def admin_supplier(supplier_id):
    supplier = suppliers.get_for_review(current_user, supplier_id)
    return render_template(
        "public_site/admin_supplier.html",
        supplier=supplier,
        errors={},
        form={},
        materials=_materials(),
        region_names=_region_names(),
        listings=credit.listings_of(supplier, local_today()),
    )


@bp.route("/admin/suppliers/<int:supplier_id>/review", methods=["POST"])
@auth_required("session")
def admin_review(supplier_id):
    csrf.protect()
    try:
        supplier = suppliers.review_supplier(
            current_user, supplier_id, **schemas.ReviewSchema().load(request.form)
        )
    except (ValidationError, DomainError) as error:
        return _form_failure(
            "public_site/admin_supplier.html",
            error,
            supplier=(supplier := suppliers.get_for_review(current_user, supplier_id)),
            materials=_materials(),
            region_names=_region_names(),
            listings=credit.listings_of(supplier, local_today()),
        )
    flash(
        _("Review recorded: %(status)s.", status=LABELS["supplier_status"][supplier.status]),
        "success",
    )
    return redirect(url_for("public_site.admin_suppliers"))


@bp.route("/admin/offers/<int:offer_id>/material", methods=["POST"])
@auth_required("session")
def admin_map_offer(offer_id):
    csrf.protect()
    data = schemas.OfferMappingSchema().load(request.form)
    offer = suppliers.map_offer_material(current_user, offer_id, data["material_id"])
    flash(_("The offer now refers to a catalog material."), "success")
    return redirect(url_for("public_site.admin_supplier", supplier_id=offer.supplier_id))


@bp.route("/admin/notices", methods=["GET", "POST"])
@auth_required("session")
def admin_notices():
    result = paginate(notices.list_all(current_user), _page(), PER_PAGE)
    if request.method == "GET":
        return render_template("public_site/admin_notices.html", result=result, errors={}, form={})
    csrf.protect()
    try:
        notices.create_notice(current_user, **schemas.NoticeInSchema().load(request.form))
    except (ValidationError, DomainError) as error:
        return _form_failure("public_site/admin_notices.html", error, result=result)
    flash(_("Notice saved."), "success")
    return redirect(url_for("public_site.admin_notices"))


@bp.route("/admin/notices/<int:notice_id>/publish", methods=["POST"])
@auth_required("session")
def admin_publish_notice(notice_id):
    csrf.protect()
    notices.set_published(current_user, notice_id, request.form.get("published") == "1")
    return redirect(url_for("public_site.admin_notices"))


@bp.route("/admin/board", methods=["GET", "POST"])
@auth_required("session")
def admin_board():
    demands = paginate(board.list_demands(), _page(), PER_PAGE)
    offers = paginate(board.list_offers(current_user, status="pending"), 1, 200).items
    context = {
        "demands": demands,
        "offers": offers,
        "cities": _cities(),
        "materials": _materials(),
        "suspended": credit.suspended_suppliers(o.supplier_id for o in offers),
    }
    if request.method == "GET":
        return render_template("public_site/admin_board.html", errors={}, form={}, **context)
    csrf.protect()
    try:
        board.create_demand(current_user, **schemas.DemandInSchema().load(request.form))
    except (ValidationError, DomainError) as error:
        return _form_failure("public_site/admin_board.html", error, **context)
    flash(_("Demand published on the board."), "success")
    return redirect(url_for("public_site.admin_board"))


@bp.route("/admin/board-offers/<int:offer_id>/decision", methods=["POST"])
@auth_required("session")
def admin_decide_offer(offer_id):
    csrf.protect()
    offer = board.decide_offer(
        current_user, offer_id, **schemas.DecisionSchema().load(request.form)
    )
    flash(_("Offer %(status)s.", status=LABELS["offer_status"][offer.status]), "success")
    return redirect(url_for("public_site.admin_board"))


@bp.route("/admin/board/<int:demand_id>/close", methods=["POST"])
@auth_required("session")
def admin_close_demand(demand_id):
    csrf.protect()
    board.close_demand(current_user, demand_id)
    return redirect(url_for("public_site.admin_board"))


@bp.route("/admin/feedback")
@auth_required("session")
def admin_feedback():
    result = paginate(feedback.list_feedback(current_user), _page(), PER_PAGE)
    return render_template("public_site/admin_feedback.html", result=result, errors={})


@bp.route("/admin/feedback/<int:feedback_id>/answer", methods=["POST"])
@auth_required("session")
def admin_answer_feedback(feedback_id):
    csrf.protect()
    try:
        feedback.answer_feedback(
            current_user, feedback_id, **schemas.AnswerSchema().load(request.form)
        )
    except (ValidationError, DomainError) as error:
        result = paginate(feedback.list_feedback(current_user), _page(), PER_PAGE)
        return _form_failure("public_site/admin_feedback.html", error, result=result)
    flash(_("Answer saved."), "success")
    return redirect(url_for("public_site.admin_feedback"))
