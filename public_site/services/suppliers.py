"""Supplier enterprises: registration with an account, review by administrators, the public
list of approved enterprises, and approved offers as planning sources."""

from dataclasses import dataclass

from flask_babel import gettext as _
from flask_security import hash_password
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.auth import SUPPLIER
from core.policy import (
    may_administer_system,
    may_read_planning_sources,
    require_system_administration,
)
from core.errors import Conflict, Invalid, NotAllowed, NotFound
from core.extensions import db, security
from core.passwords import password_problems
from core.timeutil import local_today, utcnow
from core.search import contains
from core.organisation import Region
from reserve.models import Material
from reserve.rules import region_prefix

from .. import rules
from ..models import Supplier, SupplierDocument, SupplierOffer, SupplierStatus
from . import credit, uploads

DETAILS = (
    "name",
    "credit_code",
    "legal_representative",
    "contact_name",
    "contact_mobile",
    "address",
    "region_code",
)
OFFER_FIELDS = (
    "material_id",
    "material_text",
    "unit",
    "quantity_in_stock",
    "capacity_per_day",
    "lead_time_h",
)


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes


def _clean_details(details: dict, offers: list[dict]) -> dict:
    """Normalised details; Invalid (422) with every field error at once."""
    details, errors = _details_and_errors(details, offers)
    if errors:
        raise Invalid(
            _("The registration is not complete or not valid; see the marked fields."),
            errors=errors,
        )
    return details


def _details_and_errors(details: dict, offers: list[dict]) -> tuple[dict, dict]:
    """Normalised details and every field error; a detail missing (refused by the form's
    schema) is skipped here, its error comes from the schema."""
    details = {k: details.get(k) for k in DETAILS}
    errors = {}
    if details["credit_code"] is not None:
        details["credit_code"] = rules.normalise_credit_code(details["credit_code"])
        if len(details["credit_code"]) != 18:  # say what is wrong, not only what is right
            errors["credit_code"] = [
                _(
                    "A unified social credit code has 18 characters; this one has %(count)s.",
                    count=len(details["credit_code"]),
                )
            ]
        elif problem := rules.credit_code_problem(details["credit_code"]):
            errors["credit_code"] = [_(problem)]
    if details["contact_mobile"] is not None:
        details["contact_mobile"] = rules.normalise_mobile(details["contact_mobile"])
        if problem := rules.mobile_problem(details["contact_mobile"]):
            errors["contact_mobile"] = [_(problem)]
    if (
        details["region_code"] is not None
        and db.session.get(Region, details["region_code"]) is None
    ):
        errors["region_code"] = [_("not a known GB/T 2260 code")]
    if offer_errors := _offer_errors(offers or []):
        errors["offers"] = offer_errors
    return details, errors


def _offer_errors(offers: list[dict]) -> dict:
    errors = {}
    known_regions = set(db.session.scalars(select(Region.code)))
    for index, offer in enumerate(offers):
        problems = []
        if offer.get("material_id") is None and not offer.get("material_text"):
            problems.append(_("choose a catalog material or describe it"))
        elif (
            offer.get("material_id") is not None
            and db.session.get(Material, offer["material_id"]) is None
        ):
            problems.append(_("unknown catalog material"))
        if not offer.get("quantity_in_stock") and not offer.get("capacity_per_day"):
            problems.append(_("give the quantity in stock or the production capacity per day"))
        if set(offer.get("service_regions") or []) - known_regions:
            problems.append(_("unknown service region"))
        if not offer.get("service_regions"):
            problems.append(_("name at least one service region"))
        if problems:
            errors[str(index)] = problems
    return errors


def _check_unique(
    credit_code: str, email: str | None = None, current_id: int | None = None
) -> None:
    taken = db.session.scalar(
        select(Supplier.id).where(
            Supplier.credit_code == credit_code, Supplier.id != (current_id or -1)
        )
    )
    if taken:
        raise Conflict(
            _("An enterprise with this unified social credit code is already registered."),
            errors={"credit_code": [_("already registered")]},
        )
    if email and security.datastore.find_user(email=email) is not None:
        raise Conflict(
            _("An account with this email address already exists."),
            errors={"email": [_("already in use")]},
        )


def _offers(rows: list[dict]) -> list[SupplierOffer]:
    return [
        SupplierOffer(
            **{k: row.get(k) for k in OFFER_FIELDS if row.get(k) is not None},
            service_regions=",".join(sorted(set(row.get("service_regions") or []))),
        )
        for row in rows
    ]


def _attach_document(supplier: Supplier, licence: Upload) -> uploads.StoredFile:
    stored = uploads.save_document(licence.data)
    supplier.documents.append(
        SupplierDocument(
            kind="business_licence",
            stored_name=stored.stored_name,
            original_name=(licence.filename or "")[-200:],
            media_type=stored.media_type,
            size=stored.size,
            sha256=stored.sha256,
        )
    )
    return stored


def _commit_with_file(stored: uploads.StoredFile | None) -> None:
    """Commit; a refused commit leaves no orphan file behind."""
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        if stored:
            uploads.remove(stored.stored_name)
        raise Conflict(
            _("An enterprise with this unified social credit code is already registered.")
        )
    except Exception:
        db.session.rollback()
        if stored:
            uploads.remove(stored.stored_name)
        raise


def _registration_errors(
    email, password, password_confirm, details: dict, licence: Upload | None
) -> dict:
    """Every problem of a registration at once (the form is corrected in one round)."""
    errors = {}
    if password is not None and password_confirm is not None and password != password_confirm:
        errors["password_confirm"] = [_("the two passwords differ")]
    if password and (
        problems := password_problems(password, email=email or "", name=details.get("name") or "")
    ):
        errors["password"] = problems
    if licence is None or not licence.data:
        errors["licence"] = [_("Attach the business licence (PDF, PNG or JPEG).")]
    else:
        try:
            uploads.check_document(licence.data)
        except Invalid as refused:
            errors.update(refused.errors)
    return errors


def _conflict(email, credit_code) -> Conflict | None:
    """The enterprise or the account exists already (409), or None."""
    try:
        _check_unique(credit_code or "", email=email)
    except Conflict as taken:
        return taken
    return None


def register_supplier(
    *,
    email: str | None = None,
    password: str | None = None,
    password_confirm: str | None = None,
    offers: list[dict] | None = None,
    licence: Upload | None,
    website: str | None = None,
    form_errors: dict | None = None,
    **details,
) -> Supplier | None:
    """Create the enterprise's account and its registration, waiting for review. Every problem
    is reported at once: the form's own (`form_errors`, from its schema; the fields it refused
    are missing here) and the rules' (Invalid, 422). A robot's submission (honeypot filled) is
    accepted silently and stores nothing (None)."""
    if rules.is_bot_submission(website):
        return None
    # a listed enterprise is refused first, whatever else the form lacks: nothing is stored
    credit.refuse_listed(
        rules.normalise_credit_code(details.get("credit_code") or ""), local_today()
    )
    details, errors = _details_and_errors(details, offers)
    errors.update(_registration_errors(email, password, password_confirm, details, licence))
    errors.update(form_errors or {})  # the schema's message wins for a field both refused
    conflict = _conflict(email, None if "credit_code" in errors else details.get("credit_code"))
    if errors:
        if conflict is not None:
            errors.update({k: v for k, v in conflict.errors.items() if k not in errors})
        raise Invalid(
            _("The registration is not complete or not valid; see the marked fields."),
            errors=errors,
        )
    if conflict is not None:
        raise conflict
    user = security.datastore.create_user(
        email=email,
        password=hash_password(password),
        roles=[SUPPLIER],
        display_name=details["name"][:100],
    )
    db.session.flush()  # the account's id
    supplier = Supplier(
        **details,
        user_id=user.id,
        status=SupplierStatus.PENDING.value,
        submitted_at=utcnow(),
        offers=_offers(offers),
    )
    db.session.add(supplier)
    stored = _attach_document(supplier, licence)
    _commit_with_file(stored)
    return supplier


def own_supplier(user) -> Supplier:
    supplier = (
        db.session.scalar(select(Supplier).where(Supplier.user_id == user.id))
        if user.is_authenticated
        else None
    )
    if supplier is None:
        raise NotFound(_("This account has no enterprise registration."))
    return supplier


def resubmit_supplier(
    user,
    *,
    offers: list[dict],
    licence: Upload | None = None,
    website: str | None = None,
    **details,
) -> Supplier:
    """The enterprise corrects its registration after a request for changes; it goes back to review."""
    supplier = own_supplier(user)
    if not rules.can_resubmit(supplier.status):
        raise Conflict(_("This registration can no longer be changed."))
    details = _clean_details(details, offers)
    _check_unique(details["credit_code"], current_id=supplier.id)
    if licence is not None and licence.data:
        uploads.check_document(licence.data)
    for key, value in details.items():
        setattr(supplier, key, value)
    supplier.offers = _offers(offers)
    supplier.status, supplier.review_reason, supplier.submitted_at = (
        SupplierStatus.PENDING.value,
        None,
        utcnow(),
    )
    stored = _attach_document(supplier, licence) if licence is not None and licence.data else None
    _commit_with_file(stored)
    return supplier


def list_suppliers(user, *, status: str | None = None):
    """Select of registrations for administrators, oldest waiting first."""
    require_system_administration(user)
    stmt = select(Supplier)
    if status:
        stmt = stmt.where(Supplier.status == status)
    return stmt.order_by(Supplier.submitted_at, Supplier.id)


def get_supplier(user, supplier_id: int) -> Supplier:
    """The registration, for administrators and the enterprise itself (404 for anyone else)."""
    supplier = db.session.get(Supplier, supplier_id)
    if supplier is None or not (
        may_administer_system(user) or (user.is_authenticated and supplier.user_id == user.id)
    ):
        raise NotFound(_("Enterprise %(id)s not found.", id=supplier_id))
    return supplier


def get_for_review(user, supplier_id: int) -> Supplier:
    require_system_administration(user)
    return get_supplier(user, supplier_id)


def review_supplier(user, supplier_id: int, *, action: str, reason: str | None = None) -> Supplier:
    """Approve, reject with a reason, or ask for changes with a reason."""
    supplier = get_for_review(user, supplier_id)
    if problem := rules.review_problem(supplier.status, action, reason):
        if supplier.status != SupplierStatus.PENDING.value:
            raise Conflict(_(problem))
        raise Invalid(_(problem), errors={"reason": [_(problem)]})
    if action == "approve":
        credit.refuse_listed(supplier.credit_code, local_today(), at_review=True)
    supplier.status = rules.REVIEW_OUTCOME[action]
    supplier.review_reason = (reason or "").strip() or None
    supplier.reviewed_at, supplier.reviewed_by_id = utcnow(), user.id
    db.session.commit()
    return supplier


def map_offer_material(user, offer_id: int, material_id: int) -> SupplierOffer:
    """An administrator maps an offer's free-text material to a catalog material."""
    require_system_administration(user)
    offer = db.session.get(SupplierOffer, offer_id)
    if offer is None:
        raise NotFound(_("Offer %(id)s not found.", id=offer_id))
    material = db.session.get(Material, material_id)
    if material is None:
        raise Invalid(
            _("Unknown catalog material."), errors={"material_id": [_("unknown catalog material")]}
        )
    offer.material_id = material.id
    offer.unit = offer.unit or material.unit
    db.session.commit()
    return offer


def list_approved_suppliers(*, q: str | None = None):
    """Select of the approved enterprises, by name (public); one the credit check suspended is
    not shown while it is suspended."""
    stmt = select(Supplier).where(
        Supplier.status == SupplierStatus.APPROVED.value, Supplier.suspended_at.is_(None)
    )
    if q:
        stmt = stmt.where(contains(Supplier.name, q))
    return stmt.order_by(Supplier.name, Supplier.id)


def approved_offers(
    *,
    material_ids: list[int] | None = None,
    region_code: str | None = None,
    include_suspended: bool = False,
) -> list[dict]:
    """Approved enterprises' offers of catalog materials, as plain data for the dispatch
    planner: agreement reserves where the enterprise holds stock, production capacity
    otherwise. Offers still in free text (not mapped to the catalog) are left out, and so are
    suspended enterprises' (the credit check) unless `include_suspended` (the planner names
    them as left out)."""
    stmt = (
        select(SupplierOffer, Supplier, Material)
        .join(Supplier, SupplierOffer.supplier_id == Supplier.id)
        .join(Material, SupplierOffer.material_id == Material.id)
        .where(Supplier.status == SupplierStatus.APPROVED.value)
    )
    if not include_suspended:
        stmt = stmt.where(Supplier.suspended_at.is_(None))
    if material_ids:
        stmt = stmt.where(SupplierOffer.material_id.in_(material_ids))
    result = []
    for offer, supplier, material in db.session.execute(stmt.order_by(SupplierOffer.id)).all():
        if region_code and not any(
            region_code.startswith(region_prefix(c)) for c in offer.region_codes
        ):
            continue
        result.append(
            {
                "offer_id": offer.id,
                "supplier_id": supplier.id,
                "supplier_name": supplier.name,
                "credit_code": supplier.credit_code,
                "material_id": material.id,
                "material_code": material.code,
                "unit": offer.unit or material.unit,
                "reserve_type": "agreement" if offer.quantity_in_stock > 0 else "capacity",
                "quantity_in_stock": offer.quantity_in_stock,
                "capacity_per_day": offer.capacity_per_day,
                "lead_time_h": offer.lead_time_h,
                "service_regions": offer.region_codes,
                "suspended_reason": supplier.suspended_reason if supplier.is_suspended else None,
            }
        )
    return result


def list_planning_sources(user) -> list[dict]:
    """`approved_offers()` for administrators and command staff."""
    if not may_read_planning_sources(user):
        raise NotAllowed(_("Only administrators and command staff read planning sources."))
    return approved_offers()


def document_file(user, document_id: int) -> tuple[str, str, str]:
    """(path, media type, download name) of a document, for administrators and its enterprise."""
    document = db.session.get(SupplierDocument, document_id)
    if document is None:
        raise NotFound(_("Document %(id)s not found.", id=document_id))
    get_supplier(user, document.supplier_id)  # 404 unless admin or owner
    return (
        str(uploads.path_of(document.stored_name)),
        document.media_type,
        f"licence-{document.supplier_id}-{document.id}.{document.stored_name.rsplit('.', 1)[-1]}",
    )
