"""HTML pages of the registry: depots (list, map, detail with lots and ledger), catalog browser,
stock query with totals and export, transport list, plans with their gap view."""

import json

from flask import Blueprint, render_template, request
from flask_babel import lazy_gettext as _l
from flask_security import auth_required, current_user

from core.agencies import region_names
from core.extensions import db
from core.pagination import paginate
from core.timeutil import local_today

from core.organisation import AGENCY_KIND_LABELS
from .models import LABELS, Depot, TransportMode
from .schemas import StockQuerySchema
from .services import catalog, depots, plans, transport
from .stock import queries as stock_reads
from .stock import ledger

bp = Blueprint(
    "reserve",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/reserve/static",
)
PER_PAGE = 50
MAP_LIMIT = 3000
GROUPS = ("material", "category", "region", "agency", "reserve_type")


def _page() -> int:
    return request.args.get("page", 1, type=int)


def _cities():
    return db.session.execute(depots.list_regions(level="city")).scalars().all()


@bp.route("/depots")
@auth_required("session")
def depot_list():
    filters = {
        "q": (request.args.get("q") or "").strip()[:100] or None,
        "region_code": request.args.get("region_code") or None,
        "status": request.args.get("status") or None,
    }
    stmt = depots.list_depots(current_user, **filters)
    result = paginate(stmt, _page(), PER_PAGE)
    # Four columns of the first depots with coordinates: the page's cost at national scale was
    # thousands of whole depot objects and a URL built for each (the script builds the links).
    mapped = stmt.with_only_columns(Depot.id, Depot.name, Depot.lat, Depot.lon).where(
        Depot.lat.is_not(None)
    )
    points = [
        {"id": r.id, "name": r.name, "lat": r.lat, "lon": r.lon}
        for r in db.session.execute(mapped.limit(MAP_LIMIT))
    ]
    return render_template(
        "reserve/depots.html",
        result=result,
        filters=filters,
        cities=_cities(),
        pager_args={k: v for k, v in filters.items() if v},
        points=json.dumps(points, ensure_ascii=False),
        map_limited=result.total > MAP_LIMIT,
    )


@bp.route("/depots/<int:depot_id>")
@auth_required("session")
def depot_detail(depot_id):
    depot = depots.get_depot(current_user, depot_id)
    f = stock_reads.StockFilter(depot_id=depot.id, include_empty=True)
    lots = paginate(
        stock_reads.stock_rows(current_user, f, local_today()),
        _page(),
        PER_PAGE,
        rows=True,
        count=stock_reads.stock_count(current_user, f, local_today()),
    )
    movements = ledger.depot_movements(current_user, depot.id)
    vehicles = (
        db.session.execute(transport.list_transport(current_user, depot_id=depot.id))
        .scalars()
        .all()
    )
    return render_template(
        "reserve/depot.html",
        depot=depot,
        lots=lots,
        movements=movements,
        vehicles=vehicles,
        today=local_today(),
    )


@bp.route("/catalog")
@auth_required("session")
def catalog_browser():
    code = request.args.get("code") or None
    q = (request.args.get("q") or "").strip()[:100] or None
    trail = catalog.category_trail(code)
    current = trail[-1] if trail else None
    children = (
        db.session.execute(
            catalog.list_categories(q=q)
            if q
            else catalog.list_categories(parent_code=code, level=None if code else 1)
        )
        .scalars()
        .all()
    )
    materials = (
        paginate(catalog.list_materials(q=q, category_code=None if q else code), _page(), PER_PAGE)
        if (q or (current and current.level >= 3))
        else None
    )
    return render_template(
        "reserve/catalog.html",
        current=current,
        trail=trail,
        children=children[:200],
        materials=materials,
        q=q or "",
    )


# The stock query's filters by the names its form gives them (a refused filter is named so).
STOCK_FILTER_LABELS = {
    "q": _l("Material"),
    "material_id": _l("Material"),
    "category_code": _l("Category code"),
    "region_code": _l("City"),
    "agency_id": _l("Agency"),
    "depot_id": _l("Depot"),
    "reserve_type": _l("Reserve type"),
    "expiring_within_days": _l("Expiring within days"),
    "include_empty": _l("Including empty lots"),
}


@bp.route("/stock")
@auth_required("session")
def stock_query():
    schema = StockQuerySchema()
    raw = {k: v for k, v in request.args.items() if k in schema.fields and v}
    errors = schema.validate(raw)
    args = schema.load({k: v for k, v in raw.items() if k not in errors})
    f = stock_reads.StockFilter(**args)
    group_by = (
        request.args.get("group_by") if request.args.get("group_by") in GROUPS else "material"
    )
    today = local_today()
    totals = stock_reads.stock_totals(current_user, f, group_by, today)
    rows = paginate(
        stock_reads.stock_rows(current_user, f, today),
        _page(),
        PER_PAGE,
        rows=True,
        count=stock_reads.stock_count(current_user, f, today),
    )
    query = {k: v for k, v in request.args.items() if k not in ("page",) and v}
    return render_template(
        "reserve/stock.html",
        totals=totals[:500],
        rows=rows,
        group_by=group_by,
        groups=GROUPS,
        args=args,
        query=query,
        cities=_cities(),
        refused_filters="、".join(
            str(STOCK_FILTER_LABELS[f]) for f in errors if f in STOCK_FILTER_LABELS
        ),
        export_query={k: v for k, v in args.items() if v is not None and v is not False},
    )


@bp.route("/transport")
@auth_required("session")
def transport_list():
    mode = (
        request.args.get("mode")
        if request.args.get("mode") in {m.value for m in TransportMode}
        else None
    )
    result = paginate(transport.list_transport(current_user, mode=mode), _page(), PER_PAGE)
    return render_template(
        "reserve/transport.html",
        result=result,
        mode=mode or "",
        modes=[m.value for m in TransportMode],
    )


@bp.route("/plans")
@auth_required("session")
def plan_list():
    result = paginate(plans.list_plans(current_user), _page(), PER_PAGE)
    return render_template(
        "reserve/plans.html",
        result=result,
        region_names=region_names(p.region_code for p in result.items),
    )


@bp.route("/plans/<int:plan_id>")
@auth_required("session")
def plan_detail(plan_id):
    plan = plans.get_plan(current_user, plan_id)
    rows = plans.plan_gap(current_user, plan_id)
    return render_template(
        "reserve/plan.html", plan=plan, rows=rows, short=sum(1 for r in rows if r.gap)
    )


@bp.app_context_processor
def labels():
    return {"agency_kind_labels": AGENCY_KIND_LABELS, "labels": LABELS}
