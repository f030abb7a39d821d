"""Node agencies (节点单位): a tree, scoped so an operator sees its own subtree."""

from flask_babel import gettext as _
from sqlalchemy import select

from core.agencies import get_agency
from core.errors import Conflict, Invalid, NotAllowed
from core.extensions import db
from core.policy import may_write_for_agency

from .. import rules
from core.organisation import Agency, AgencyKind, Region

EDITABLE = ("name", "kind", "credit_code", "region_code", "contact_name", "contact_phone")


def _check_fields(fields: dict, current: Agency | None = None) -> None:
    errors = {}
    if fields.get("kind") is not None and fields["kind"] not in {k.value for k in AgencyKind}:
        errors["kind"] = [_("unknown kind")]
    if fields.get("credit_code"):
        if problem := rules.credit_code_problem(fields["credit_code"]):
            errors["credit_code"] = [_(problem)]
        elif db.session.execute(
            select(Agency.id).where(
                Agency.credit_code == fields["credit_code"],
                Agency.id != (current.id if current else -1),
            )
        ).first():
            raise Conflict(_("Another agency already has this unified social credit code."))
    if fields.get("region_code") and db.session.get(Region, fields["region_code"]) is None:
        errors["region_code"] = [_("not a known GB/T 2260 code")]
    if errors:
        raise Invalid(_("The agency's details are not valid."), errors=errors)


def create_agency(
    user, *, code: str, name: str, kind: str, parent_id: int | None = None, **fields
) -> Agency:
    """Create an agency under `parent_id`; operators only inside their own subtree."""
    parent = get_agency(user, parent_id) if parent_id is not None else None
    if not may_write_for_agency(user, parent.path if parent else None):
        raise NotAllowed(_("You may only add agencies under your own agency."))
    if db.session.execute(select(Agency.id).filter_by(code=code)).first():
        raise Conflict(_("An agency with code %(code)s already exists.", code=code))
    _check_fields({"kind": kind, **fields})
    agency = Agency(
        code=code,
        name=name,
        kind=kind,
        parent=parent,
        **{k: v for k, v in fields.items() if k in EDITABLE},
    )
    db.session.add(agency)
    db.session.flush()  # the path is built from the new id
    agency.path = f"{parent.path if parent else '/'}{agency.id}/"
    db.session.commit()
    return agency


def update_agency(user, agency_id: int, **fields) -> Agency:
    agency = get_agency(user, agency_id)
    if not may_write_for_agency(user, agency.path):
        raise NotAllowed(_("You may only change your own agency and the agencies below it."))
    _check_fields(fields, agency)
    for key, value in fields.items():
        if key in EDITABLE:
            setattr(agency, key, value)
    db.session.commit()
    return agency
