"""What a caller may read of one kind of shared data, beyond the role table of core.scoping:
other agencies' unconditional resources (their public and internal rows) and conditional
resources it holds an active grant for (every row, the granted fields only).

Who the caller is for sharing: its agency (operators, and clients bound to an agency) and, for
an external client's service account, the client itself (grants made to the system)."""

from dataclasses import dataclass, field
from datetime import date

from flask import g, has_request_context
from sqlalchemy import or_, select

from core.audit import current_actor
from core.extensions import db
from core.scoping import Classification, Shared, can_read

from core.organisation import Agency
from .models import (
    CONDITIONAL,
    NOT_SHARED,
    UNCONDITIONAL,
    ExternalClient,
    SharedResource,
    SharingAccess,
    SharingGrant,
)
from .rules import is_grant_active


def client_of(user) -> ExternalClient | None:
    """The external client whose service account `user` is (cached for the request)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    cache = g.setdefault("sharing_clients", {}) if has_request_context() else {}
    if user.id not in cache:
        cache[user.id] = db.session.execute(
            select(ExternalClient).filter_by(user_id=user.id)
        ).scalar_one_or_none()
    return cache[user.id]


def attributes(kind: str) -> dict[int, str]:
    """agency id -> attribute, for the agencies that changed the default (unconditional)."""
    rows = db.session.execute(
        select(SharedResource.agency_id, SharedResource.attribute).filter_by(kind=kind)
    )
    return {agency_id: attribute for agency_id, attribute in rows if attribute != UNCONDITIONAL}


def active_grants(user, kind: str, today: date) -> list[SharingGrant]:
    """Grants for `kind` the caller holds today: made to its agency or to its client."""
    client = client_of(user)
    agency_id = (
        getattr(user, "agency_id", None) if user is not None and user.is_authenticated else None
    )
    who = []
    if agency_id is not None:
        who.append(SharingGrant.grantee_agency_id == agency_id)
    if client is not None:
        who.append(SharingGrant.grantee_client_id == client.id)
    if not who:
        return []
    grants = (
        db.session.execute(
            select(SharingGrant).where(
                SharingGrant.kind == kind, SharingGrant.status == "approved", or_(*who)
            )
        )
        .scalars()
        .all()
    )
    conditional = {a for a, attr in attributes(kind).items() if attr == CONDITIONAL}
    # A grant works while the resource stays conditional: "not shared" suspends it.
    return [
        gr
        for gr in grants
        if is_grant_active(gr.status, gr.valid_from, gr.valid_to, gr.requested_at.date(), today)
        and gr.owner_agency_id in conditional
    ]


@dataclass
class Reach:
    """The caller's reach into one kind of shared data today."""

    user: object
    kind: str
    not_default: dict[int, str]  # agency id -> conditional / not_shared
    grants: dict[int, list] = field(default_factory=dict)  # owner agency id -> active grants
    takes_unconditional: bool = False

    @property
    def shared(self) -> Shared:
        excluded = [a for a, attr in self.not_default.items() if attr in (CONDITIONAL, NOT_SHARED)]
        unrestricted = (
            select(Agency.id).where(Agency.id.not_in(excluded))
            if self.takes_unconditional
            else None
        )
        return Shared(unrestricted_owners=unrestricted, granted_owners=list(self.grants) or None)

    def fields_for(
        self, agency_id: int, agency_path: str | None, classification: str, all_fields: list[str]
    ):
        """(fields the caller may read of this row or None if invisible, grants that let it through)."""
        if can_read(self.user, agency_path, classification):
            return all_fields, []
        if (
            self.takes_unconditional
            and classification != Classification.RESTRICTED.value
            and self.not_default.get(agency_id, UNCONDITIONAL) == UNCONDITIONAL
        ):
            return all_fields, []
        grants = self.grants.get(agency_id)
        if grants:
            granted = set().union(*[set(gr.fields or ()) for gr in grants]) | {"id"}
            return [f for f in all_fields if f in granted], grants
        return None, []


def reach(user, kind: str, today: date) -> Reach:
    has_agency = (
        user is not None and user.is_authenticated and getattr(user, "agency_id", None) is not None
    )
    result = Reach(user, kind, attributes(kind), takes_unconditional=has_agency)
    for grant in active_grants(user, kind, today):
        result.grants.setdefault(grant.owner_agency_id, []).append(grant)
    return result


def log_grant_reads(user, kind: str, channel: str, reads: dict[int, dict]) -> None:
    """One access-log row per grant used by this request. `reads`: grant id -> {grant, ids,
    restricted, fields}. Added to the session; the caller commits."""
    client = client_of(user)
    actor = current_actor()
    for entry in reads.values():
        grant = entry["grant"]
        db.session.add(
            SharingAccess(
                grant_id=grant.id,
                owner_agency_id=grant.owner_agency_id,
                kind=kind,
                user_id=getattr(user, "id", None),
                client_id=client.id if client else None,
                actor=getattr(user, "email", None),
                channel=channel,
                rows=len(entry["ids"]),
                restricted_rows=entry["restricted"],
                record_ids=entry["ids"][:1000],
                fields=sorted(entry["fields"]),
                ip=actor.ip if has_request_context() else None,
                request_id=g.get("request_id") if has_request_context() else None,
            )
        )
