"""Wartime-response API: incidents, points, demands, plans (run, edit, compare, approve,
cancel), consultation and positions, shipments, after-action, the command board."""

from flask import Response, jsonify, request
from flask_babel import gettext as _
from flask_security import auth_required, current_user
from flask_smorest import Blueprint

from core import background as background_jobs
from core.errors import Invalid
from core.pagination import PageArgsSchema, page_schema, paginate

from .schemas import (
    RoadTimeSchema,
    RouteEditSchema,
    RouteJobSchema,
    RoutePlanSchema,
    RouteRequestSchema,
    StopReceiptSchema,
    TripCrewSchema,
    TripSchema,
    ConsumptionSchema,
    DemandRevisionSchema,
    DemandSchema,
    EditSchema,
    IncidentSchema,
    IncidentStatusSchema,
    MessageSchema,
    PlanJobSchema,
    PlanRequestSchema,
    DispatchPlanSchema,
    PointSchema,
    PositionSchema,
    DispatchReasonSchema,
    ReturnSchema,
    ShipmentSchema,
    ShipmentUpdateSchema,
)
from .services import (
    loads,
    road_times,
    trips,
    after_action,
    approval,
    board,
    consultation,
    incidents,
    plan_jobs,
    shipments,
    versions,
)

blp = Blueprint(
    "incidents", __name__, url_prefix="/api/v1", description="Wartime response (专项应急处置)"
)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@blp.route("/incidents")
@auth_required("token", "session")
@blp.arguments(PageArgsSchema, location="query", as_kwargs=True)
@blp.response(200, page_schema(IncidentSchema))
def list_incidents(page, per_page):
    return paginate(incidents.list_incidents(current_user), page, per_page)


@blp.route("/incidents", methods=["POST"])
@auth_required("token", "session")
@blp.arguments(IncidentSchema)
@blp.response(201, IncidentSchema)
def create_incident(data):
    """Record an incident (command staff). Number format: region-year-type letter and sequence
    (`140000-2026-N001`); drills `DRILL-…` never touch real stock."""
    return incidents.create_incident(current_user, **data)


@blp.route("/incidents/<int:incident_id>")
@auth_required("token", "session")
@blp.response(200, IncidentSchema)
def get_incident(incident_id):
    return incidents.get_incident(current_user, incident_id)


@blp.route("/incidents/<int:incident_id>/status", methods=["POST"])
@auth_required("token", "session")
@blp.arguments(IncidentStatusSchema)
@blp.response(200, IncidentSchema)
def move_incident(data, incident_id):
    return incidents.move_incident(current_user, incident_id, data["status"])


@blp.route("/incidents/<int:incident_id>/points", methods=["POST"])
@auth_required("token", "session")
@blp.arguments(PointSchema)
@blp.response(201, PointSchema)
def add_point(data, incident_id):
    return incidents.add_point(current_user, incident_id, **data)


@blp.route("/incidents/<int:incident_id>/points/<int:point_id>/suggestions")
@auth_required("token", "session")
@blp.response(200)
def suggestions(incident_id, point_id):
    """Suggested demand from the incident's emergency plan: norms × people affected."""
    return incidents.suggest_demands(current_user, incident_id, point_id)


@blp.route("/incidents/<int:incident_id>/demands")
@auth_required("token", "session")
@blp.response(200, DemandSchema(many=True))
def list_demands(incident_id):
    return incidents.list_demands(
        current_user, incident_id, include_cancelled=request.args.get("all") == "1"
    )


@blp.route("/incidents/<int:incident_id>/demands", methods=["POST"])
@auth_required("token", "session")
@blp.arguments(DemandSchema)
@blp.response(201, DemandSchema)
def add_demand(data, incident_id):
    return incidents.add_demand(current_user, incident_id, source="api", **data)


@blp.route("/incidents/<int:incident_id>/demands/import", methods=["POST"])
@auth_required("token", "session")
@blp.response(201, DemandSchema(many=True))
def import_demands(incident_id):
    """Demand lines from XLSX/CSV (multipart `file`): columns 点位, 物资编码, 数量, 优先级,
    需求时限(小时); all rows or none."""
    upload = request.files.get("file")
    if upload is None:
        raise Invalid(_("Attach the file as the multipart field 'file'."))
    return incidents.import_demand_file(current_user, incident_id, upload.read())


@blp.route("/demands/<int:demand_id>", methods=["PATCH"])
@auth_required("token", "session")
@blp.arguments(DemandRevisionSchema)
@blp.response(200, DemandSchema)
def revise_demand(data, demand_id):
    return incidents.revise_demand(current_user, demand_id, **data)


@blp.route("/demands/<int:demand_id>/cancel", methods=["POST"])
@auth_required("token", "session")
@blp.arguments(DispatchReasonSchema)
@blp.response(200, DemandSchema)
def cancel_demand(data, demand_id):
    return incidents.cancel_demand(current_user, demand_id, reason=data["reason"])


@blp.route("/incidents/<int:incident_id>/plans")
@auth_required("token", "session")
@blp.response(200, DispatchPlanSchema(many=True))
def list_plans(incident_id):
    return versions.list_plans(current_user, incident_id)


@blp.route("/incidents/<int:incident_id>/plans", methods=["POST"])
@auth_required("token", "session")
@blp.arguments(PlanRequestSchema)
@blp.response(201, DispatchPlanSchema)
@blp.alt_response(
    202, schema=PlanJobSchema, description="A large problem: a background job to poll"
)
def plan(data, incident_id):
    """Plan from live stock now; keeps a new draft version. Large problems (or
    `background: true`) run in the background: 202 with a job to poll."""
    options = {"exclude": data["exclude"], "pin": data["pin"]}
    outcome = plan_jobs.plan_or_queue(
        current_user,
        incident_id,
        options=options,
        greedy=data["greedy"],
        background=data["background"],
    )
    if isinstance(
        outcome, background_jobs.BackgroundJob
    ):  # dumped here: DispatchPlanSchema would read it as a plan
        return jsonify(PlanJobSchema().dump(background_jobs.as_dict(outcome))), 202
    return outcome


@blp.route("/plan-jobs/<int:job_id>")
@auth_required("token", "session")
@blp.response(200, PlanJobSchema)
def plan_job(job_id):
    """A planning job's status, progress, plan (once done) or reason (once failed); the same
    from every web worker. Command staff and administrators."""
    return background_jobs.as_dict(background_jobs.get_job(current_user, job_id, "plan"))


@blp.route("/plan-jobs/<int:job_id>/cancel", methods=["POST"])
@auth_required("token", "session")
@blp.response(200, PlanJobSchema)
def cancel_plan_job(job_id):
    """Cancel a queued job now, a running one before it saves its plan; 409 once finished."""
    return background_jobs.as_dict(background_jobs.cancel(current_user, job_id, "plan"))


@blp.route("/plan-jobs/<int:job_id>/retry", methods=["POST"])
@auth_required("token", "session")
@blp.response(200, PlanJobSchema)
def retry_plan_job(job_id):
    """Queue a failed or cancelled job again (the same id); 409 otherwise."""
    return background_jobs.as_dict(background_jobs.retry(current_user, job_id, "plan"))


@blp.route("/dispatch-plans/<int:plan_id>")
@auth_required("token", "session")
@blp.response(200, DispatchPlanSchema)
def get_plan(plan_id):
    return versions.get_plan(current_user, plan_id)


@blp.route("/dispatch-plans/<int:plan_id>/compare")
@auth_required("token", "session")
@blp.response(200)
def compare(plan_id):
    return versions.compare(current_user, plan_id, request.args.get("with", type=int))


@blp.route("/dispatch-plans/<int:plan_id>/edit", methods=["POST"])
@auth_required("token", "session")
@blp.arguments(EditSchema)
@blp.response(201, DispatchPlanSchema)
def edit(data, plan_id):
    """A new version with lines' quantities changed by hand, checked with check_plan."""
    return versions.edit_plan(current_user, plan_id, data["changes"])


@blp.route("/dispatch-plans/<int:plan_id>/approve", methods=["POST"])
@auth_required("token", "session")
@blp.response(200, DispatchPlanSchema)
def approve(plan_id):
    """Approve and reserve every line's stock at once (all or none; 409 if stock moved)."""
    return approval.approve(current_user, plan_id)


@blp.route("/dispatch-plans/<int:plan_id>/cancel", methods=["POST"])
@auth_required("token", "session")
@blp.arguments(DispatchReasonSchema)
@blp.response(200, DispatchPlanSchema)
def cancel(data, plan_id):
    return approval.cancel(current_user, plan_id, reason=data["reason"])


@blp.route("/dispatch-plans/<int:plan_id>/positions")
@auth_required("token", "session")
@blp.response(200, PositionSchema(many=True))
def positions(plan_id):
    return list(consultation.positions(current_user, plan_id).values())


@blp.route("/plan-lines/<int:line_id>/position", methods=["PUT"])
@auth_required("token", "session")
@blp.arguments(PositionSchema)
@blp.response(200, PositionSchema)
def set_position(data, line_id):
    return consultation.set_position(current_user, line_id, **data)


@blp.route("/incidents/<int:incident_id>/messages")
@auth_required("token", "session")
@blp.response(200, MessageSchema(many=True))
def messages(incident_id):
    return consultation.thread(
        current_user,
        incident_id,
        plan_id=request.args.get("plan_id", type=int),
        decisions_only=request.args.get("decisions") == "1",
    )


@blp.route("/incidents/<int:incident_id>/messages", methods=["POST"])
@auth_required("token", "session")
@blp.arguments(MessageSchema)
@blp.response(201, MessageSchema)
def post_message(data, incident_id):
    return consultation.post_message(
        current_user, incident_id, data["body"], plan_id=data["plan_id"], decision=data["decision"]
    )


@blp.route("/incidents/<int:incident_id>/shipments")
@auth_required("token", "session")
@blp.response(200, ShipmentSchema(many=True))
def list_shipments(incident_id):
    return shipments.list_shipments(current_user, incident_id)


@blp.route("/shipments/<int:shipment_id>", methods=["POST"])
@auth_required("token", "session")
@blp.arguments(ShipmentUpdateSchema)
@blp.response(200, ShipmentSchema)
def update_shipment(data, shipment_id):
    """Move a shipment on: departed (issues the reserved lots), arrived, received (quantity and
    the reason for any difference)."""
    return shipments.advance(current_user, shipment_id, data.pop("status"), **data)


@blp.route("/incidents/<int:incident_id>/returns", methods=["POST"])
@auth_required("token", "session")
@blp.arguments(ReturnSchema)
@blp.response(201)
def record_return(data, incident_id):
    record = after_action.record_return(current_user, incident_id, **data)
    return {"id": record.id, "lot_id": record.lot_id}


@blp.route("/incidents/<int:incident_id>/consumption", methods=["POST"])
@auth_required("token", "session")
@blp.arguments(ConsumptionSchema)
@blp.response(201)
def record_consumption(data, incident_id):
    return {"id": after_action.record_consumption(current_user, incident_id, **data).id}


@blp.route("/incidents/<int:incident_id>/report")
@auth_required("token", "session")
@blp.response(200)
def report(incident_id):
    """The after-action report (JSON; `?format=xlsx` for the spreadsheet)."""
    if request.args.get("format") == "xlsx":
        return Response(
            after_action.report_xlsx(current_user, incident_id),
            mimetype=XLSX,
            headers={
                "Content-Disposition": f"attachment; filename=incident-{incident_id}-report.xlsx"
            },
        )
    return after_action.report(current_user, incident_id)


@blp.route("/incidents/<int:incident_id>/board")
@auth_required("token", "session")
@blp.response(200)
def command_board(incident_id):
    return board.board(current_user, incident_id)


# --- 装车方案: route plans, trips, waybills' data, road times --------------------------------------


@blp.route("/dispatch-plans/<int:plan_id>/route-plans")
@auth_required("token", "session")
@blp.response(200, RoutePlanSchema(many=True))
def list_route_plans(plan_id):
    """Every 装车方案 version of an approved plan, newest first (command staff, leaders)."""
    return loads.list_route_plans(current_user, plan_id)


@blp.route("/dispatch-plans/<int:plan_id>/route-plans", methods=["POST"])
@auth_required("token", "session")
@blp.arguments(RouteRequestSchema)
@blp.response(201, RoutePlanSchema)
@blp.alt_response(202, schema=RouteJobSchema, description="A large problem: a background job")
def build_route_plan(data, plan_id):
    """Route the approved plan's lines onto the source depots' vehicles: a new version (201),
    or above DISPATCH_ROUTE_BACKGROUND_PAIRS deliveries × vehicles a job to poll (202)."""
    outcome = loads.route_or_queue(current_user, plan_id, background=data["background"])
    if isinstance(outcome, background_jobs.BackgroundJob):
        return jsonify(RouteJobSchema().dump(background_jobs.as_dict(outcome))), 202
    return outcome


@blp.route("/route-jobs/<int:job_id>")
@auth_required("token", "session")
@blp.response(200, RouteJobSchema)
def route_job(job_id):
    return background_jobs.as_dict(background_jobs.get_job(current_user, job_id, "route"))


@blp.route("/route-plans/<int:route_plan_id>")
@auth_required("token", "session")
@blp.response(200, RoutePlanSchema)
def get_route_plan(route_plan_id):
    return loads.get_route_plan(current_user, route_plan_id)


@blp.route("/route-plans/<int:route_plan_id>/edit", methods=["POST"])
@auth_required("token", "session")
@blp.arguments(RouteEditSchema)
@blp.response(201, RoutePlanSchema)
def edit_route_plan(data, route_plan_id):
    """A new version with one edit (pin, unpin, exclude, include a vehicle; move a drop),
    checked with check_routes; its violations are kept with it."""
    return loads.edit_routes(current_user, route_plan_id, data)


@blp.route("/route-plans/<int:route_plan_id>/adopt", methods=["POST"])
@auth_required("token", "session")
@blp.response(200, RoutePlanSchema)
def adopt_route_plan(route_plan_id):
    """Make the version's trips (409 while it breaks a rule)."""
    return trips.adopt(current_user, route_plan_id)


@blp.route("/incidents/<int:incident_id>/trips")
@auth_required("token", "session")
@blp.response(200, TripSchema(many=True))
def list_trips(incident_id):
    return trips.visible_trips(current_user, incident_id)


@blp.route("/trips/<int:trip_id>")
@auth_required("token", "session")
@blp.response(200, TripSchema)
def get_trip(trip_id):
    return trips.get_trip(current_user, trip_id)


@blp.route("/trips/<int:trip_id>", methods=["PATCH"])
@auth_required("token", "session")
@blp.arguments(TripCrewSchema)
@blp.response(200, TripSchema)
def set_trip_crew(data, trip_id):
    """Plate (晋A12345), driver (at most 50 characters), phone (mobile or landline)."""
    return trips.set_crew(current_user, trip_id, **data)


@blp.route("/trips/<int:trip_id>/depart", methods=["POST"])
@auth_required("token", "session")
@blp.response(200, TripSchema)
def depart_trip(trip_id):
    """The trip leaves: the lots of all its drops are issued in one transaction."""
    return trips.depart(current_user, trip_id)


@blp.route("/trip-stops/<int:stop_id>/receive", methods=["POST"])
@auth_required("token", "session")
@blp.arguments(StopReceiptSchema)
@blp.response(200, TripSchema)
def receive_stop(data, stop_id):
    """Receive a stop: each drop's quantity received (drops not named: in full)."""
    received = {
        row["drop_id"]: {
            "quantity_received": row["quantity_received"],
            "reason": row["discrepancy_reason"],
        }
        for row in data["drops"]
    }
    return trips.receive_stop(current_user, stop_id, received).trip


@blp.route("/road-times")
@auth_required("token", "session")
@blp.arguments(PageArgsSchema, location="query", as_kwargs=True)
@blp.response(200, page_schema(RoadTimeSchema))
def list_road_times(page, per_page):
    return paginate(road_times.list_road_times_query(current_user), page, per_page)


@blp.route("/road-times", methods=["POST"])
@auth_required("token", "session")
@blp.arguments(RoadTimeSchema)
@blp.response(201, RoadTimeSchema)
def set_road_time(data):
    """Record or replace a known road time from one place to another (D<depot>, P<point>)."""
    return road_times.set_road_time(current_user, **data)


@blp.route("/road-times/<int:road_time_id>", methods=["DELETE"])
@auth_required("token", "session")
@blp.response(204)
def delete_road_time(road_time_id):
    road_times.delete_road_time(current_user, road_time_id)


from .supply_api import blp as supply_blp  # noqa: E402  calls for supply, re-plans

BLUEPRINTS = [blp, supply_blp]
