"""Who sees which lines of a plan, and what the plan's sources are called on the page."""

from flask_babel import gettext as _
from sqlalchemy import select

from core.extensions import db

from ..models import PlanLine, PlanVersion


def source_names(lines) -> dict[str, str]:
    """source key -> what people call the source: a depot by name, its agreement or capacity
    reserve said so; a supplier by its enterprise's name."""
    from public_site.models import Supplier, SupplierOffer
    from reserve.models import LABELS, ReserveType

    from public_site.models import BoardOffer

    from .problem import CALL_OFFER

    offers = {
        line.offer_id
        for line in lines
        if line.offer_id is not None and line.source_kind != CALL_OFFER
    }
    answered = {line.offer_id for line in lines if line.source_kind == CALL_OFFER}
    call_offers = (
        dict(
            db.session.execute(
                select(BoardOffer.id, BoardOffer.offerer_name).where(BoardOffer.id.in_(answered))
            ).all()
        )
        if answered
        else {}
    )
    suppliers = (
        dict(
            db.session.execute(
                select(SupplierOffer.id, Supplier.name)
                .join(Supplier, Supplier.id == SupplierOffer.supplier_id)
                .where(SupplierOffer.id.in_(offers))
            ).all()  # rows: dict() of a Result itself would call its keys()
        )
        if offers
        else {}
    )
    names = {}
    for line in lines:
        if line.depot is not None:
            kind = LABELS["reserve_type"].get(line.source_kind)
            names[line.source_key] = (
                line.depot.name
                if line.source_kind == ReserveType.PHYSICAL or kind is None
                else f"{line.depot.name}（{kind}）"
            )
        elif line.source_kind == CALL_OFFER:
            names[line.source_key] = _(
                "%(name)s (call for supply)", name=call_offers.get(line.offer_id) or _("Supplier")
            )
        else:
            names[line.source_key] = suppliers.get(line.offer_id) or _("Supplier")
    return names


def visible_lines(user, version: PlanVersion) -> list[PlanLine]:
    """Command staff and administrators see every line; an agency's operators only the lines
    its subtree supplies (the public summary is separate)."""
    from core.policy import is_in_subtree, sees_whole_plans

    from reserve.services.access import agency_path

    if sees_whole_plans(user):
        return list(version.lines)
    mine = getattr(getattr(user, "agency", None), "path", None)
    paths = {}
    visible = []
    for line in version.lines:
        if line.agency_id is None:
            continue
        paths.setdefault(line.agency_id, agency_path(line.agency_id))
        if is_in_subtree(paths[line.agency_id], mine):
            visible.append(line)
    return visible
