"""Use cases of the resource catalog (信息资源目录) and of grants (共享申请): one function each,
one commit, domain errors. Access goes through core.scoping and sharing.access."""

from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from core.policy import may_oversee_sharing, may_write_for_agency
from core.errors import Conflict, Invalid, NotAllowed, NotFound
from core.extensions import db
from core.scoping import scoped, subtree_ids
from core.timeutil import utcnow

from core.organisation import Agency
from ..reporting.freshness import cadence_for
from ..reporting.models import ReportCadence
from ..services.access import require_write
from . import rules
from .access import client_of, reach
from .models import (
    ATTRIBUTES,
    CONDITIONAL,
    NOT_SHARED,
    UNCONDITIONAL,
    SharedChange,
    SharedResource,
    SharingAccess,
    SharingGrant,
)
from .resources import RESOURCES


def _require_kind(kind: str):
    if kind not in RESOURCES:
        raise NotFound(_("There is no shared resource of kind %(kind)s.", kind=kind))
    return RESOURCES[kind]


def _agency(agency_id: int) -> Agency:
    agency = db.session.get(Agency, agency_id)
    if agency is None:
        raise NotFound(_("%(what)s %(id)s not found.", what=_("Agency"), id=agency_id))
    return agency


# --- catalog --------------------------------------------------------------------------------


@dataclass
class CatalogEntry:
    agency_id: int
    agency_code: str
    agency_name: str
    kind: str
    title: str
    description: str
    fields: list[str]
    cadence: str
    records: int
    restricted_records: int
    last_update: datetime | None
    attribute: str
    legal_reason: str | None
    can_edit: bool
    my_access: str  # own, unconditional, grant, request, none


def _record_stats(kind: str | None, agency_id: int | None) -> dict[tuple, dict]:
    stmt = (
        select(
            SharedChange.agency_id,
            SharedChange.kind,
            SharedChange.classification,
            func.count(),
            func.max(SharedChange.changed_at),
        )
        .where(SharedChange.deleted.is_(False))
        .group_by(SharedChange.agency_id, SharedChange.kind, SharedChange.classification)
    )
    if kind:
        stmt = stmt.where(SharedChange.kind == kind)
    if agency_id:
        stmt = stmt.where(SharedChange.agency_id == agency_id)
    stats: dict[tuple, dict] = {}
    for owner, k, classification, count, last in db.session.execute(stmt):
        entry = stats.setdefault((owner, k), {"records": 0, "restricted": 0, "last": None})
        entry["records"] += count
        entry["restricted"] += count if classification == "restricted" else 0
        entry["last"] = max(filter(None, (entry["last"], last)), default=None)
    return stats


def catalog(
    user,
    today: date,
    *,
    agency_id: int | None = None,
    kind: str | None = None,
    attribute: str | None = None,
) -> list[CatalogEntry]:
    """Every resource the platform holds (agency x kind with records, or with a declared
    attribute), with what the caller may do with it. The catalog itself is open to every
    signed-in caller: knowing that data exists is what makes asking for it possible."""
    stats = _record_stats(kind, agency_id)
    declared = {
        (s.agency_id, s.kind): s
        for s in db.session.execute(
            select(SharedResource).where(
                *([SharedResource.kind == kind] if kind else []),
                *([SharedResource.agency_id == agency_id] if agency_id else []),
            )
        ).scalars()
    }
    keys = sorted(
        set(stats) | set(declared),
        key=lambda k: (k[0] or 0, list(RESOURCES).index(k[1]) if k[1] in RESOURCES else 99),
    )
    agencies = (
        {
            a.id: a
            for a in db.session.execute(
                select(Agency).where(Agency.id.in_({k[0] for k in keys}))
            ).scalars()
        }
        if keys
        else {}
    )
    cadences = {
        (c.agency_id, c.kind): (c.period, c.grace_days)
        for c in db.session.execute(select(ReportCadence)).scalars()
    }
    reaches = {k: reach(user, k, today) for k in {key[1] for key in keys if key[1] in RESOURCES}}
    entries = []
    for owner, k in keys:
        if k not in RESOURCES or owner not in agencies:
            continue
        resource, agency, row = RESOURCES[k], agencies[owner], declared.get((owner, k))
        attr = row.attribute if row else UNCONDITIONAL
        if attribute and attr != attribute:
            continue
        stat = stats.get((owner, k), {"records": 0, "restricted": 0, "last": None})
        entries.append(
            CatalogEntry(
                owner,
                agency.code,
                agency.name,
                k,
                str(resource.title),
                (row.description if row and row.description else str(resource.description)),
                resource.field_keys,
                cadence_for(owner, resource.cadence_kind, cadences)[0]
                if resource.cadence_kind
                else "on_change",
                stat["records"],
                stat["restricted"],
                stat["last"],
                attr,
                row.legal_reason if row else None,
                may_write_for_agency(user, agency.path),
                _my_access(user, agency, attr, reaches[k]),
            )
        )
    return entries


def _my_access(user, agency: Agency, attribute: str, r) -> str:
    from core.scoping import can_read

    if can_read(user, agency.path, "restricted"):
        return "own"
    if agency.id in r.grants:
        return "grant"
    if attribute == UNCONDITIONAL and r.takes_unconditional:
        return "unconditional"
    if attribute == CONDITIONAL and (getattr(user, "agency_id", None) or client_of(user)):
        return "request"
    return "none"


def set_attribute(
    user,
    agency_id: int,
    kind: str,
    *,
    attribute: str,
    legal_reason: str | None = None,
    description: str | None = None,
) -> SharedResource:
    """The owner agency (its writers, or an administrator) sets how a resource is shared."""
    _require_kind(kind)
    _agency(agency_id)
    require_write(user, agency_id)
    if attribute not in ATTRIBUTES:
        raise Invalid(
            _("The sharing attribute is unconditional, conditional or not shared."),
            errors={"attribute": list(ATTRIBUTES)},
        )
    legal_reason = (legal_reason or "").strip() or None
    if attribute == NOT_SHARED and not legal_reason:
        raise Invalid(
            _("Name the legal reason why this resource is not shared."),
            errors={"legal_reason": [_("required when not shared")]},
        )
    row = db.session.execute(
        select(SharedResource).filter_by(agency_id=agency_id, kind=kind)
    ).scalar_one_or_none()
    if row is None:
        row = SharedResource(agency_id=agency_id, kind=kind)
        db.session.add(row)
    row.attribute = attribute
    row.legal_reason = legal_reason if attribute == NOT_SHARED else None
    row.description = (description or "").strip()[:500] or None
    row.updated_by_id = getattr(user, "id", None)
    db.session.commit()
    return row


def sharing_summary(user) -> dict:
    """Administrators: per agency, the attribute of each kind; per kind, the share of agencies
    (holding that kind) in each attribute."""
    if not may_oversee_sharing(user):
        raise NotAllowed(_("Only administrators see the sharing summary."))
    stats = _record_stats(None, None)
    declared = {
        (s.agency_id, s.kind): s.attribute
        for s in db.session.execute(select(SharedResource)).scalars()
    }
    keys = set(stats) | set(declared)
    agencies = (
        db.session.execute(
            select(Agency).where(Agency.id.in_({k[0] for k in keys})).order_by(Agency.path)
        )
        .scalars()
        .all()
        if keys
        else []
    )
    per_agency = [
        {
            "agency_id": a.id,
            "agency_name": a.name,
            "kinds": {
                k: declared.get((a.id, k), UNCONDITIONAL) for k in RESOURCES if (a.id, k) in keys
            },
        }
        for a in agencies
    ]
    per_kind = {}
    for k in RESOURCES:
        values = [declared.get(key, UNCONDITIONAL) for key in keys if key[1] == k]
        per_kind[k] = {
            attr: rules.share(values.count(attr), len(values)) for attr in ATTRIBUTES
        } | {"resources": len(values)}
    return {"per_agency": per_agency, "per_kind": per_kind}


# --- grants ---------------------------------------------------------------------------------


def grant_state(grant: SharingGrant, today: date) -> str:
    return rules.grant_state(
        grant.status, grant.valid_from, grant.valid_to, grant.requested_at.date(), today
    )


def request_grant(
    user,
    *,
    owner_agency_id: int,
    kind: str,
    purpose: str,
    fields: list[str],
    requested_from: date,
    requested_to: date,
    today: date,
) -> SharingGrant:
    """An agency (its operator) or an external system asks for a conditional resource."""
    resource = _require_kind(kind)
    _agency(owner_agency_id)
    client = client_of(user)
    agency_id = getattr(user, "agency_id", None)
    if client is None and agency_id is None:
        raise NotAllowed(_("Only an agency or an external system can request shared data."))
    if agency_id == owner_agency_id and client is None:
        raise Conflict(_("This is your own agency's data."))
    row = db.session.execute(
        select(SharedResource).filter_by(agency_id=owner_agency_id, kind=kind)
    ).scalar_one_or_none()
    attribute = row.attribute if row else UNCONDITIONAL
    if attribute == UNCONDITIONAL:
        raise Conflict(_("This resource is shared unconditionally; no request is needed."))
    if attribute == NOT_SHARED:
        raise Conflict(_("This resource is not shared: %(reason)s", reason=row.legal_reason or ""))
    purpose = (purpose or "").strip()
    if not purpose:
        raise Invalid(_("State the purpose of the request."), errors={"purpose": [_("required")]})
    if problem := rules.request_problem(
        fields, resource.field_keys, requested_from, requested_to, today
    ):
        raise Invalid(_(problem), errors={"fields": resource.field_keys})
    grant = SharingGrant(
        owner_agency_id=owner_agency_id,
        kind=kind,
        purpose=purpose[:500],
        grantee_agency_id=None if client else agency_id,
        grantee_client_id=client.id if client else None,
        requested_fields=sorted(set(fields)),
        requested_from=requested_from,
        requested_to=requested_to,
        status="pending",
        requested_by_id=getattr(user, "id", None),
    )
    db.session.add(grant)
    db.session.commit()
    return grant


def _grant_for_owner(user, grant_id: int) -> SharingGrant:
    grant = get_grant(user, grant_id)
    require_write(user, grant.owner_agency_id)
    return grant


def _require_pending(grant: SharingGrant, today: date) -> None:
    state = grant_state(grant, today)
    if state != "pending":
        raise Conflict(_("This request is no longer pending (%(state)s).", state=state))


def approve_grant(
    user,
    grant_id: int,
    *,
    fields: list[str] | None,
    valid_from: date | None,
    valid_to: date | None,
    today: date,
) -> SharingGrant:
    """The owner approves as asked or narrower (fewer fields, a shorter period)."""
    grant = _grant_for_owner(user, grant_id)
    _require_pending(grant, today)
    fields = sorted(set(fields)) if fields else grant.requested_fields
    valid_from, valid_to = valid_from or grant.requested_from, valid_to or grant.requested_to
    if problem := rules.approval_problem(
        grant.requested_fields,
        grant.requested_from,
        grant.requested_to,
        fields,
        valid_from,
        valid_to,
    ):
        raise Invalid(_(problem), errors={"fields": grant.requested_fields})
    grant.status, grant.fields, grant.valid_from, grant.valid_to = (
        "approved",
        fields,
        valid_from,
        valid_to,
    )
    grant.decided_by_id, grant.decided_at = getattr(user, "id", None), utcnow()
    db.session.commit()
    return grant


def reject_grant(user, grant_id: int, *, reason: str, today: date) -> SharingGrant:
    grant = _grant_for_owner(user, grant_id)
    _require_pending(grant, today)
    if not (reason or "").strip():
        raise Invalid(_("Give the reason for the rejection."), errors={"reason": [_("required")]})
    grant.status, grant.reason = "rejected", reason.strip()[:300]
    grant.decided_by_id, grant.decided_at = getattr(user, "id", None), utcnow()
    db.session.commit()
    return grant


def revoke_grant(user, grant_id: int, *, reason: str, today: date) -> SharingGrant:
    """Takes effect at once: the next read no longer sees the owner's rows through it."""
    grant = _grant_for_owner(user, grant_id)
    if grant_state(grant, today) not in ("active", "scheduled"):
        raise Conflict(_("Only an approved grant that has not expired can be revoked."))
    if not (reason or "").strip():
        raise Invalid(_("Give the reason for the revocation."), errors={"reason": [_("required")]})
    grant.status, grant.reason = "revoked", reason.strip()[:300]
    grant.revoked_by_id, grant.revoked_at = getattr(user, "id", None), utcnow()
    db.session.commit()
    return grant


def time_out_requests(today: date) -> int:
    """Scheduled job: store the state of requests nobody answered in time. Safe to run twice."""
    pending = db.session.execute(select(SharingGrant).filter_by(status="pending")).scalars().all()
    timed_out = [g for g in pending if grant_state(g, today) == "timed_out"]
    for grant in timed_out:
        grant.status = "timed_out"
    db.session.commit()
    return len(timed_out)


def _visible_grants(user):
    """Grants the caller may see: those of owners it may change (incoming), those made to its
    agency or client (outgoing); administrators see all."""
    stmt = select(SharingGrant)
    if may_oversee_sharing(user):
        return stmt
    who = []
    agency = getattr(user, "agency", None)
    if agency is not None:
        who.append(SharingGrant.owner_agency_id.in_(subtree_ids(agency.path)))
        who.append(SharingGrant.grantee_agency_id == agency.id)
    client = client_of(user)
    if client is not None:
        who.append(SharingGrant.grantee_client_id == client.id)
    return stmt.where(or_(*who)) if who else stmt.where(SharingGrant.id.is_(None))


def list_grants(
    user, *, direction: str | None = None, status: str | None = None, kind: str | None = None
):
    stmt = _visible_grants(user)
    agency = getattr(user, "agency", None)
    if direction == "incoming" and agency is not None:
        stmt = stmt.where(SharingGrant.owner_agency_id.in_(subtree_ids(agency.path)))
    elif direction == "outgoing":
        client = client_of(user)
        stmt = stmt.where(
            or_(
                SharingGrant.grantee_agency_id == getattr(agency, "id", -1),
                SharingGrant.grantee_client_id == (client.id if client else -1),
            )
        )
    if status:
        stmt = stmt.where(SharingGrant.status == status)
    if kind:
        stmt = stmt.where(SharingGrant.kind == kind)
    return stmt.order_by(SharingGrant.id.desc())


def get_grant(user, grant_id: int) -> SharingGrant:
    grant = db.session.execute(
        _visible_grants(user).where(SharingGrant.id == grant_id)
    ).scalar_one_or_none()
    if grant is None:
        raise NotFound(_("%(what)s %(id)s not found.", what=_("Grant"), id=grant_id))
    return grant


def access_log(user, *, owner_agency_id: int | None = None, grant_id: int | None = None):
    """Reads through grants of the data the caller's agency owns (administrators: all)."""
    stmt = select(SharingAccess)
    if not may_oversee_sharing(user):
        agency = getattr(user, "agency", None)
        if agency is None:
            raise NotAllowed(_("Only the owner agency and administrators read the access log."))
        stmt = scoped(stmt, user, SharingAccess.owner_agency_id)
        stmt = stmt.where(SharingAccess.owner_agency_id.in_(subtree_ids(agency.path)))
    if owner_agency_id:
        stmt = stmt.where(SharingAccess.owner_agency_id == owner_agency_id)
    if grant_id:
        stmt = stmt.where(SharingAccess.grant_id == grant_id)
    return stmt.order_by(SharingAccess.id.desc())
