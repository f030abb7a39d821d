"""What the portal sends across the two networks (core/exchange/, docs/operations.md §10).

Out (private network → extranet), each as a whole whenever it changed:
- `reference`: the regions, the catalog's categories and materials (the extranet's only source
  of them: it loads no reference data of its own, so ids agree on both sides);
- `public_stock`: public stock per city and material, the numbers of the portal's overview;
- `notices`: the published notices (a withdrawn one disappears outside);
- `feedback_answers`: the answers to messages written outside, and whether each is public;
- `supplier_list`, `supplier_reviews`: public_site/exchange_suppliers.py;
- `board`: public_site/exchange_board.py.

In (extranet → private network), as new rows since the last bundle:
- `feedback`: messages written on the extranet, checked again inside with the portal form's own
  schema; one that fails is skipped and counted, never stored;
- `registrations`: public_site/exchange_suppliers.py;
- `board_offers`: public_site/exchange_board.py.
"""

from datetime import datetime

from marshmallow import ValidationError
from sqlalchemy import delete, select

from core.exchange.bundles import INBOUND, OUTBOUND
from core.exchange.service import ExchangeKind, sent_state, snapshot_kind, unsent
from core.extensions import db
from core.organisation import Region
from reserve.models import Category, Material
from reserve.stock.queries import public_on_hand_by_city

from . import exchange_board, exchange_suppliers
from .models import Feedback, Notice, PublishedStock
from .schemas import FeedbackInSchema

MESSAGES_PER_BUNDLE = 500


def _stamp(moment) -> str | None:
    return moment.isoformat(timespec="seconds") if moment else None


def _read_reference() -> dict:
    regions = db.session.execute(select(Region).order_by(Region.code)).scalars()
    categories = db.session.execute(select(Category).order_by(Category.level, Category.code))
    materials = db.session.execute(select(Material).order_by(Material.id)).scalars()
    return {
        "regions": [
            [r.code, r.name, r.level, r.parent_code, r.lat, r.lon, r.population] for r in regions
        ],
        "categories": [
            [c.code, c.name, c.level, c.parent_code, c.illustrative] for c in categories.scalars()
        ],
        "materials": [
            [m.id, m.code, m.name, m.spec, m.unit, m.unit_weight_kg, m.unit_volume_m3,
             m.shelf_life_days, m.category_code]
            for m in materials
        ],
    }  # fmt: skip


def _apply_reference(payload: dict) -> int:
    regions = sorted(payload["regions"], key=lambda r: (r[3] is not None, len(r[0]), r[0]))
    for code, name, level, parent, lat, lon, population in regions:
        db.session.merge(
            Region(code=code, name=name, level=level, parent_code=parent, lat=lat, lon=lon,
                   population=population)
        )  # fmt: skip
        db.session.flush()  # a parent before its children (the foreign key)
    for code, name, level, parent, illustrative in payload["categories"]:
        db.session.merge(
            Category(code=code, name=name, level=level, parent_code=parent,
                     illustrative=illustrative)
        )  # fmt: skip
        db.session.flush()
    fields = ("id", "code", "name", "spec", "unit", "unit_weight_kg", "unit_volume_m3",
              "shelf_life_days", "category_code")  # fmt: skip
    for row in payload["materials"]:
        db.session.merge(Material(**dict(zip(fields, row, strict=True))))
    db.session.flush()
    return sum(len(rows) for rows in payload.values())


def _read_public_stock() -> list:
    return sorted([city, material, units] for city, material, units in public_on_hand_by_city())


def _apply_public_stock(rows: list) -> int:
    db.session.execute(delete(PublishedStock))
    db.session.add_all(
        PublishedStock(city_code=city, material_id=material, quantity=units)
        for city, material, units in rows
        if city and units >= 0
    )
    db.session.flush()
    return len(rows)


def _read_notices() -> list:
    rows = db.session.execute(select(Notice).where(Notice.published.is_(True)).order_by(Notice.id))
    return [
        {"id": n.id, "kind": n.kind, "title": n.title, "body": n.body,
         "published_at": _stamp(n.published_at)}
        for n in rows.scalars()
    ]  # fmt: skip


def _apply_notices(rows: list) -> int:
    kept = [row["id"] for row in rows]
    db.session.execute(delete(Notice).where(Notice.id.not_in(kept)))
    for row in rows:
        published_at = datetime.fromisoformat(row["published_at"]) if row["published_at"] else None
        db.session.merge(
            Notice(id=row["id"], kind=row["kind"], title=row["title"], body=row["body"],
                   published=True, published_at=published_at)
        )  # fmt: skip
    db.session.flush()
    return len(rows)


def _read_answers() -> list:
    answered = select(Feedback).where(
        Feedback.external_ref.is_not(None), Feedback.answer.is_not(None)
    )
    return [
        {"ref": f.external_ref, "answer": f.answer, "answered_at": _stamp(f.answered_at),
         "is_public": f.is_public}
        for f in db.session.execute(answered.order_by(Feedback.external_ref)).scalars()
    ]  # fmt: skip


def _apply_answers(rows: list) -> int:
    applied = 0
    for row in rows:
        item = db.session.get(Feedback, row["ref"])
        if item is None:
            continue
        item.answer, item.is_public = row["answer"], bool(row["is_public"])
        item.answered_at = (
            datetime.fromisoformat(row["answered_at"]) if row["answered_at"] else None
        )
        applied += 1
    db.session.flush()
    return applied


def _collect_feedback(state: dict):
    rows = unsent(Feedback, state, MESSAGES_PER_BUNDLE)
    if not rows:
        return None
    items = [
        {"ref": f.id, "category": f.category, "text": f.text, "contact": f.contact,
         "created_at": _stamp(f.created_at)}
        for f in rows
    ]  # fmt: skip
    return items, sent_state(state, rows)


def _apply_feedback(items: list) -> int:
    """Every field is untrusted: the form's schema checks it again; a message already taken (a
    resent bundle) or one that fails is skipped."""
    schema, taken = FeedbackInSchema(), 0
    for item in items[:MESSAGES_PER_BUNDLE]:
        ref = item.get("ref") if isinstance(item, dict) else None
        if not isinstance(ref, int) or isinstance(ref, bool) or ref < 1:
            continue
        try:
            fields = schema.load(
                {k: item.get(k) for k in ("category", "text", "contact") if item.get(k) is not None}
            )
            created = datetime.fromisoformat(item["created_at"])
        except (ValidationError, KeyError, TypeError, ValueError):
            continue
        if db.session.execute(select(Feedback.id).where(Feedback.external_ref == ref)).first():
            continue
        fields.pop("website", None)
        db.session.add(Feedback(external_ref=ref, created_at=created, **fields))
        taken += 1
    db.session.flush()
    return taken


KINDS = (
    snapshot_kind("reference", OUTBOUND, _read_reference, _apply_reference),
    *exchange_suppliers.KINDS,
    *exchange_board.KINDS,
    snapshot_kind("public_stock", OUTBOUND, _read_public_stock, _apply_public_stock),
    snapshot_kind("notices", OUTBOUND, _read_notices, _apply_notices),
    snapshot_kind("feedback_answers", OUTBOUND, _read_answers, _apply_answers),
    ExchangeKind("feedback", INBOUND, _collect_feedback, _apply_feedback),
)
