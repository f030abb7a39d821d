"""Sharing API: the resource catalog, grants and their access log, change feeds and exports,
external clients, and the data-quality report."""

from flask import Response
from flask_security import auth_required, current_user
from flask_smorest import Blueprint

from core.pagination import PageArgsSchema, page_schema, paginate
from core.timeutil import local_today

from . import clients, feeds, quality
from . import services as service
from .schemas import (
    AccessQuerySchema,
    AccessSchema,
    ApproveSchema,
    AttributeSchema,
    CatalogEntrySchema,
    CatalogQuerySchema,
    ClientCreateSchema,
    ClientSchema,
    ClientTokenSchema,
    ClientUpdateSchema,
    DictionaryEntrySchema,
    ExportQuerySchema,
    FeedPageSchema,
    FeedQuerySchema,
    GrantQuerySchema,
    GrantRequestSchema,
    GrantSchema,
    QualityQuerySchema,
    QualityReportSchema,
    ReasonSchema,
    SharedResourceSchema,
    SnapshotSchema,
    SummarySchema,
    TrendQuerySchema,
)

SECURITY = [{"apiToken": []}, {"session": []}]


def _scope(scope: str) -> dict:
    """OpenAPI note of the scope an external client needs (x-client-scope)."""
    return {"security": SECURITY, "x-client-scope": scope}


catalog = Blueprint(
    "sharing_catalog",
    __name__,
    url_prefix="/api/v1/sharing",
    description="Resource catalog (信息资源目录) with sharing attributes",
)
grants = Blueprint(
    "sharing_grants",
    __name__,
    url_prefix="/api/v1/sharing",
    description="Grants (共享申请): request, approve, reject, revoke; access log",
)
feeds_blp = Blueprint(
    "sharing_feeds",
    __name__,
    url_prefix="/api/v1/sharing",
    description="Change feeds, full exports (CSV/XLSX) and the data dictionary",
)
clients_blp = Blueprint(
    "sharing_clients",
    __name__,
    url_prefix="/api/v1/sharing/clients",
    description="External system clients: tokens, scopes, rate limits (administrators)",
)
quality_blp = Blueprint(
    "sharing_quality",
    __name__,
    url_prefix="/api/v1/sharing/quality",
    description="Data-quality report (数据质量): completeness, validity, freshness, conflicts",
)


@catalog.route("/resources")
@auth_required("token", "session")
@catalog.arguments(CatalogQuerySchema, location="query")
@catalog.arguments(PageArgsSchema, location="query", as_kwargs=True)
@catalog.response(200, page_schema(CatalogEntrySchema))
@catalog.doc(**_scope("any"))
def list_resources(query, page, per_page):
    """Every resource: owner, kind, fields, cadence, last update, records, sharing attribute and
    the caller's access (own, unconditional, grant, request, none)."""
    entries = service.catalog(current_user, local_today(), **query)
    start = (page - 1) * per_page
    return {
        "items": entries[start : start + per_page],
        "total": len(entries),
        "page": page,
        "per_page": per_page,
        "pages": (len(entries) + per_page - 1) // per_page,
    }


@catalog.route("/resources/<int:agency_id>/<kind>", methods=["PUT"])
@auth_required("token", "session")
@catalog.arguments(AttributeSchema)
@catalog.response(200, SharedResourceSchema)
def set_attribute(data, agency_id, kind):
    """The owner sets the sharing attribute; `not_shared` needs `legal_reason`."""
    return service.set_attribute(current_user, agency_id, kind, **data)


@catalog.route("/summary")
@auth_required("token", "session")
@catalog.response(200, SummarySchema)
def summary():
    """Administrators: each agency's attribute per kind, and per kind the share of each attribute."""
    return service.sharing_summary(current_user)


@grants.route("/grants")
@auth_required("token", "session")
@grants.arguments(GrantQuerySchema, location="query")
@grants.arguments(PageArgsSchema, location="query", as_kwargs=True)
@grants.response(200, page_schema(GrantSchema))
@grants.doc(**_scope("any"))
def list_grants(query, page, per_page):
    """Incoming (of data the caller's agency owns) and outgoing (made to its agency or client)."""
    return paginate(service.list_grants(current_user, **query), page, per_page)


@grants.route("/grants", methods=["POST"])
@auth_required("token", "session")
@grants.arguments(GrantRequestSchema)
@grants.response(201, GrantSchema)
@grants.doc(**_scope("any"))
def request_grant(data):
    """Ask for a conditional resource: purpose, fields and period. The owner answers within
    14 days or the request times out."""
    return service.request_grant(current_user, today=local_today(), **data)


@grants.route("/grants/<int:grant_id>")
@auth_required("token", "session")
@grants.response(200, GrantSchema)
def get_grant(grant_id):
    return service.get_grant(current_user, grant_id)


@grants.route("/grants/<int:grant_id>/approve", methods=["POST"])
@auth_required("token", "session")
@grants.arguments(ApproveSchema)
@grants.response(200, GrantSchema)
def approve(data, grant_id):
    """The owner approves, as asked or narrower (fields, period)."""
    return service.approve_grant(current_user, grant_id, today=local_today(), **data)


@grants.route("/grants/<int:grant_id>/reject", methods=["POST"])
@auth_required("token", "session")
@grants.arguments(ReasonSchema)
@grants.response(200, GrantSchema)
def reject(data, grant_id):
    return service.reject_grant(current_user, grant_id, reason=data["reason"], today=local_today())


@grants.route("/grants/<int:grant_id>/revoke", methods=["POST"])
@auth_required("token", "session")
@grants.arguments(ReasonSchema)
@grants.response(200, GrantSchema)
def revoke(data, grant_id):
    """Takes effect at once."""
    return service.revoke_grant(current_user, grant_id, reason=data["reason"], today=local_today())


@grants.route("/access-log")
@auth_required("token", "session")
@grants.arguments(AccessQuerySchema, location="query")
@grants.arguments(PageArgsSchema, location="query", as_kwargs=True)
@grants.response(200, page_schema(AccessSchema))
def access_log(query, page, per_page):
    """Every read through a grant of the caller's agency's data: who, what, when, which grant."""
    return paginate(service.access_log(current_user, **query), page, per_page)


@feeds_blp.route("/feeds/<kind>")
@auth_required("token", "session")
@feeds_blp.arguments(FeedQuerySchema, location="query")
@feeds_blp.response(200, FeedPageSchema)
@feeds_blp.doc(**_scope("read:{kind}"))
def feed(query, kind):
    """Records of `kind` changed after `cursor`, oldest first, each at its latest change;
    follow `next_cursor` while `has_more`. `op: delete` = deleted or no longer readable."""
    return feeds.read_feed(current_user, kind, today=local_today(), **query)


@feeds_blp.route("/exports/<kind>")
@auth_required("token", "session")
@feeds_blp.arguments(ExportQuerySchema, location="query")
@feeds_blp.response(200, description="CSV (UTF-8 with BOM) or XLSX with a `dictionary` sheet")
@feeds_blp.doc(**_scope("read:{kind}"))
def export(query, kind):
    """Everything of `kind` the caller may read, now."""
    body, mimetype = feeds.export_file(
        current_user, kind, query["format"], today=local_today(), agency_id=query["agency_id"]
    )
    name = f"{kind}-{local_today():%Y%m%d}.{query['format']}"
    return Response(
        body,
        mimetype=mimetype,
        headers={
            "Content-Disposition": f"attachment; filename={name}",
            "Cache-Control": "no-store",
        },
    )


@feeds_blp.route("/dictionary/<kind>")
@auth_required("token", "session")
@feeds_blp.response(200, DictionaryEntrySchema(many=True))
@feeds_blp.doc(**_scope("read:{kind}"))
def dictionary(kind):
    """The data dictionary: every field of `kind`, its type and meaning."""
    return feeds.dictionary(kind)


@clients_blp.route("")
@auth_required("token", "session")
@clients_blp.arguments(PageArgsSchema, location="query", as_kwargs=True)
@clients_blp.response(200, page_schema(ClientSchema))
def list_clients(page, per_page):
    return paginate(clients.list_clients(current_user), page, per_page)


@clients_blp.route("", methods=["POST"])
@auth_required("token", "session")
@clients_blp.arguments(ClientCreateSchema)
@clients_blp.response(201, ClientTokenSchema)
def register_client(data):
    """Register a system; the answer carries its token, shown this once."""
    client, token = clients.register_client(current_user, **data)
    return {"client": client, "token": token}


@clients_blp.route("/<int:client_id>", methods=["PATCH"])
@auth_required("token", "session")
@clients_blp.arguments(ClientUpdateSchema)
@clients_blp.response(200, ClientSchema)
def update_client(data, client_id):
    return clients.update_client(current_user, client_id, **data)


@clients_blp.route("/<int:client_id>/rotate", methods=["POST"])
@auth_required("token", "session")
@clients_blp.response(200, ClientTokenSchema)
def rotate(client_id):
    """A new token; every earlier one stops working at once."""
    client, token = clients.rotate_token(current_user, client_id)
    return {"client": client, "token": token}


@clients_blp.route("/<int:client_id>/revoke", methods=["POST"])
@auth_required("token", "session")
@clients_blp.arguments(ReasonSchema)
@clients_blp.response(200, ClientSchema)
def revoke_client(data, client_id):
    return clients.revoke_client(current_user, client_id, reason=data["reason"])


@quality_blp.route("")
@auth_required("token", "session")
@quality_blp.arguments(QualityQuerySchema, location="query")
@quality_blp.response(200, QualityReportSchema)
@quality_blp.doc(**_scope("read:quality"))
def quality_report(query):
    """Per agency in scope and overall, with every finding (at most 5,000) and its record's link."""
    result = quality.report(current_user, local_today(), agency_id=query["agency_id"])
    if query["dimension"]:
        result.issues = [i for i in result.issues if i.dimension == query["dimension"]]
    return result


@quality_blp.route("/trend")
@auth_required("token", "session")
@quality_blp.arguments(TrendQuerySchema, location="query")
@quality_blp.response(200, SnapshotSchema(many=True))
@quality_blp.doc(**_scope("read:quality"))
def quality_trend(query):
    """Daily snapshots of an agency (or, without agency_id, the province), oldest first."""
    return quality.trend(
        current_user, agency_id=query["agency_id"], days=query["days"], today=local_today()
    )


BLUEPRINTS = [catalog, grants, feeds_blp, clients_blp, quality_blp]
