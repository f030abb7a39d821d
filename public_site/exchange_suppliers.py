"""Supplier enterprises across the two networks (core/exchange/, docs/operations.md §10).

- in `registrations`: a registration or resubmission made on the extranet, with its details,
  offers and licence files, whenever it is pending review; inside it is checked again with the
  registration's own rules (details, offers, every file by its content) and queued for review;
- out `supplier_reviews`: the review outcome of each registration made outside, applied there
  only if it is about the submission the extranet still holds (a resubmission made meanwhile
  stays pending);
- out `supplier_list`: the approved enterprises registered inside, with their public fields only
  (name, credit code, region, what they supply and where), listed outside as they are inside.
The enterprise's account lives where it registered: on the extranet.
"""

import base64
import hashlib
import logging
from datetime import datetime

from sqlalchemy import delete, select

from core.errors import DomainError
from core.exchange.bundles import INBOUND, OUTBOUND
from core.exchange.service import ExchangeKind, snapshot_kind
from core.extensions import db

from .models import Supplier, SupplierDocument, SupplierOffer, SupplierStatus
from .services import uploads
from .services.suppliers import DETAILS, OFFER_FIELDS, _details_and_errors, _offers

log = logging.getLogger(__name__)
REGISTRATIONS_PER_BUNDLE = 50
FILE_BYTES_PER_BUNDLE = 32 * 1024 * 1024


def _stamp(moment) -> str | None:
    return moment.isoformat(timespec="microseconds") if moment else None


def _registration(supplier: Supplier) -> dict:
    return {
        "ref": supplier.id,
        "submitted_at": _stamp(supplier.submitted_at),
        "details": {k: getattr(supplier, k) for k in DETAILS},
        "offers": [
            {**{k: getattr(o, k) for k in OFFER_FIELDS}, "service_regions": o.region_codes}
            for o in supplier.offers
        ],
        "documents": [
            {"ref": d.id, "kind": d.kind, "name": d.original_name, "sha256": d.sha256,
             "content": base64.b64encode(uploads.path_of(d.stored_name).read_bytes()).decode()}
            for d in supplier.documents
        ],
    }  # fmt: skip


def _collect_registrations(state: dict):
    """Pending registrations not sent as they are now (new, or resubmitted since), oldest first,
    bounded in count and in file bytes (one registration always goes, whatever its files weigh).
    The state keeps each pending registration's submission sent, so none is missed whatever
    order registrations commit in."""
    sent = dict(state.get("sent") or {})
    pending = db.session.execute(
        select(Supplier)
        .where(Supplier.status == SupplierStatus.PENDING.value)
        .order_by(Supplier.submitted_at, Supplier.id)
    ).scalars().all()  # fmt: skip
    items, weight = [], 0
    for supplier in pending:
        if sent.get(str(supplier.id)) == _stamp(supplier.submitted_at):
            continue
        size = sum(d.size for d in supplier.documents)
        if len(items) == REGISTRATIONS_PER_BUNDLE or (
            items and weight + size > FILE_BYTES_PER_BUNDLE
        ):
            break
        items.append(_registration(supplier))
        weight += size
    if not items:
        return None
    still = {str(s.id) for s in pending}
    sent = {ref: stamp for ref, stamp in sent.items() if ref in still}
    sent.update({str(item["ref"]): item["submitted_at"] for item in items})
    return items, {"sent": sent}


def _apply_registrations(items: list) -> int:
    taken = 0
    for item in items[:REGISTRATIONS_PER_BUNDLE]:
        try:
            _take_registration(item)
            taken += 1
        except (DomainError, KeyError, TypeError, ValueError) as refused:
            log.warning("exchange: registration %r not taken: %s", _ref(item), refused)
    return taken


def _ref(item) -> int | None:
    ref = item.get("ref") if isinstance(item, dict) else None
    return ref if isinstance(ref, int) and not isinstance(ref, bool) and ref > 0 else None


def _take_registration(item: dict) -> None:
    """One registration made outside, as untrusted input: the registration's own checks; a
    credit code another enterprise holds inside, or a file that fails, refuses it whole."""
    ref = _ref(item)
    if ref is None:
        raise ValueError("no reference")
    details, errors = _details_and_errors(dict(item["details"]), list(item["offers"]))
    if errors:
        raise ValueError(f"fails the registration's checks: {sorted(errors)}")
    current = db.session.execute(select(Supplier).where(Supplier.external_ref == ref)).scalar()
    holder = db.session.execute(
        select(Supplier.id).where(Supplier.credit_code == details["credit_code"])
    ).scalar()
    if holder is not None and (current is None or holder != current.id):
        raise ValueError("the credit code belongs to another enterprise here")
    files = [_checked_file(document) for document in item["documents"]]
    with db.session.begin_nested():
        supplier = current or Supplier(external_ref=ref, user_id=None)
        for key, value in details.items():
            setattr(supplier, key, value)
        supplier.offers = _offers(item["offers"])
        supplier.status, supplier.review_reason = SupplierStatus.PENDING.value, None
        supplier.submitted_at = datetime.fromisoformat(item["submitted_at"])
        db.session.add(supplier)
        known = {d.sha256 for d in supplier.documents}
        for name, kind, data in files:
            if hashlib.sha256(data).hexdigest() not in known:
                stored = uploads.save_document(data)
                supplier.documents.append(
                    SupplierDocument(kind=kind, stored_name=stored.stored_name,
                                     original_name=name[-200:], media_type=stored.media_type,
                                     size=stored.size, sha256=stored.sha256)
                )  # fmt: skip
        db.session.flush()


def _checked_file(document: dict) -> tuple[str, str, bytes]:
    data = base64.b64decode(document["content"], validate=True)
    if hashlib.sha256(data).hexdigest() != document["sha256"]:
        raise ValueError("a file does not match its checksum")
    uploads.check_document(data)  # PDF, PNG or JPEG by content, within the size bound
    kind = document.get("kind") if document.get("kind") == "business_licence" else "document"
    return str(document.get("name") or "licence"), kind, data


def _read_reviews() -> list:
    rows = db.session.execute(
        select(Supplier).where(Supplier.external_ref.is_not(None)).order_by(Supplier.external_ref)
    ).scalars()
    return [
        {"ref": s.external_ref, "status": s.status, "reason": s.review_reason,
         "reviewed_at": _stamp(s.reviewed_at), "submitted_at": _stamp(s.submitted_at),
         "suspended_at": _stamp(s.suspended_at), "suspended_reason": s.suspended_reason}
        for s in rows
    ]  # fmt: skip


def _apply_reviews(rows: list) -> int:
    applied = 0
    for row in rows:
        supplier = db.session.get(Supplier, row["ref"])
        if supplier is None or supplier.user_id is None:
            continue  # not a registration of this side
        suspended = row.get("suspended_at")  # the daily credit check's, whatever the submission
        supplier.suspended_at = datetime.fromisoformat(suspended) if suspended else None
        supplier.suspended_reason = row.get("suspended_reason") if suspended else None
        if _stamp(supplier.submitted_at) != row["submitted_at"]:
            continue  # about an earlier submission: the newer one waits for its review
        if row["status"] not in {s.value for s in SupplierStatus}:
            continue
        supplier.status, supplier.review_reason = row["status"], row["reason"]
        supplier.reviewed_at = (
            datetime.fromisoformat(row["reviewed_at"]) if row["reviewed_at"] else None
        )
        applied += 1
    db.session.flush()
    return applied


def _read_listing() -> list:
    rows = db.session.execute(
        select(Supplier)
        .where(
            Supplier.status == SupplierStatus.APPROVED.value,
            Supplier.external_ref.is_(None),
            Supplier.suspended_at.is_(None),  # a suspended enterprise leaves the public list
        )
        .order_by(Supplier.id)
    ).scalars()
    return [
        {"id": s.id, "name": s.name, "credit_code": s.credit_code, "region_code": s.region_code,
         "offers": [{"material_id": o.material_id, "material_text": o.material_text,
                     "unit": o.unit, "service_regions": o.region_codes} for o in s.offers]}
        for s in rows
    ]  # fmt: skip


def _apply_listing(rows: list) -> int:
    """Enterprises listed from inside have no account here (user_id None) and only public fields."""
    mirrors = {
        s.external_ref: s
        for s in db.session.execute(
            select(Supplier).where(Supplier.user_id.is_(None), Supplier.external_ref.is_not(None))
        ).scalars()
    }
    listed = {row["id"] for row in rows}
    gone = [s.id for ref, s in mirrors.items() if ref not in listed]
    if gone:
        db.session.execute(delete(SupplierOffer).where(SupplierOffer.supplier_id.in_(gone)))
        db.session.execute(delete(Supplier).where(Supplier.id.in_(gone)))
    for row in rows:
        supplier = mirrors.get(row["id"]) or Supplier(external_ref=row["id"], user_id=None,
                                                      legal_representative="", contact_name="",
                                                      contact_mobile="", address="")  # fmt: skip
        supplier.name, supplier.credit_code = row["name"], row["credit_code"]
        supplier.region_code, supplier.status = row["region_code"], SupplierStatus.APPROVED.value
        supplier.offers = [
            SupplierOffer(material_id=o["material_id"], material_text=o["material_text"],
                          unit=o["unit"], service_regions=",".join(o["service_regions"]))
            for o in row["offers"]
        ]  # fmt: skip
        db.session.add(supplier)
    db.session.flush()
    return len(rows)


KINDS = (
    snapshot_kind("supplier_list", OUTBOUND, _read_listing, _apply_listing),
    snapshot_kind("supplier_reviews", OUTBOUND, _read_reviews, _apply_reviews),
    ExchangeKind("registrations", INBOUND, _collect_registrations, _apply_registrations),
)
