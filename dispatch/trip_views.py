"""Pages of the 装车方案: its forms on the command board (build, edit, adopt; a trip's crew,
departure and receipts), the printable waybill (运单) and the table of known road times."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_security import auth_required, current_user

from core.background import BackgroundJob
from core.errors import DomainError

from .models import STOP_LABELS, TRIP_LABELS
from .services import loads, road_times, trips, versions, waybills
from .pages import _attempt, _back, _flash_error, bp


@bp.route("/plans/<int:plan_id>/routes", methods=["POST"])
@auth_required("session")
def build_routes(plan_id):
    plan = versions.get_plan(current_user, plan_id)
    try:
        outcome = loads.route_or_queue(current_user, plan_id)
    except DomainError as exc:
        _flash_error(exc)
        return _back(plan.incident_id, "#loads")
    if isinstance(outcome, BackgroundJob):
        flash(_("The loading plan is being made in the background; reload in a moment."), "info")
    return _back(plan.incident_id, "#loads")


@bp.route("/route-plans/<int:route_plan_id>/edit", methods=["POST"])
@auth_required("session")
def edit_routes(route_plan_id):
    route_plan = loads.get_route_plan(current_user, route_plan_id)
    form = request.form
    edit = {
        key: form.get(key)
        for key in ("action", "vehicle", "to_vehicle", "delivery", "point")
        if form.get(key)
    }
    if form.get("quantity", "").strip():
        edit["quantity"] = form.get("quantity", type=int) or 0
    drop = form.get("drop", "").split("|")
    if len(drop) == 3:  # the move form names a drop as "<vehicle>|<line>|<point>"
        edit["vehicle"], edit["delivery"], edit["point"] = drop
    _attempt(loads.edit_routes, route_plan_id, edit)
    return _back(route_plan.incident_id, "#loads")


@bp.route("/route-plans/<int:route_plan_id>/adopt", methods=["POST"])
@auth_required("session")
def adopt_routes(route_plan_id):
    route_plan = loads.get_route_plan(current_user, route_plan_id)
    if _attempt(trips.adopt, route_plan_id):
        flash(_("Loading plan adopted: the trips below are ready to load."), "info")
    return _back(route_plan.incident_id, "#loads")


@bp.route("/trips/<int:trip_id>/crew", methods=["POST"])
@auth_required("session")
def trip_crew(trip_id):
    trip = trips.get_trip(current_user, trip_id)
    form = request.form
    _attempt(
        trips.set_crew,
        trip_id,
        plate=form.get("plate", ""),
        driver=form.get("driver", ""),
        phone=form.get("phone", ""),
    )
    return _back(trip.incident_id, "#loads")


@bp.route("/trips/<int:trip_id>/depart", methods=["POST"])
@auth_required("session")
def trip_depart(trip_id):
    trip = trips.get_trip(current_user, trip_id)
    if _attempt(trips.depart, trip_id):
        flash(_("Trip %(n)s has left: its lots were issued.", n=trip.number), "info")
    return _back(trip.incident_id, "#loads")


@bp.route("/trip-stops/<int:stop_id>/receive", methods=["POST"])
@auth_required("session")
def stop_receive(stop_id):
    form = request.form
    received = {}
    for key, value in form.items():
        if key.startswith("received-") and key[9:].isdigit():
            drop_id = int(key[9:])
            received[drop_id] = {
                "quantity_received": int(value) if value.strip().isdigit() else None,
                "reason": form.get(f"reason-{drop_id}", ""),
            }
    _attempt(trips.receive_stop, stop_id, received)
    return _back(form.get("incident_id", 0, type=int), "#loads")


@bp.route("/trips/<int:trip_id>/waybill")
@auth_required("session")
def waybill(trip_id):
    return render_template(
        "dispatch/waybill.html",
        bill=waybills.waybill(current_user, trip_id),
        trip_labels=TRIP_LABELS,
        stop_labels=STOP_LABELS,
    )


@bp.route("/road-times")
@auth_required("session")
def road_time_list():
    from core.pagination import paginate

    result = paginate(
        road_times.list_road_times_query(current_user), request.args.get("page", 1, type=int), 50
    )
    names = road_times.place_names(
        {row.from_key for row in result.items} | {row.to_key for row in result.items}
    )
    return render_template(
        "dispatch/road_times.html",
        result=result,
        names=names,
        places=road_times.known_places(current_user, request.args.get("incident", type=int)),
        incident_id=request.args.get("incident", type=int),
        max_hours=road_times.MAX_HOURS,
        max_km=road_times.MAX_KM,
    )


def _road_times_page():
    incident = request.form.get("incident", type=int)
    return redirect(
        url_for("dispatch.road_time_list", incident=incident)
        if incident
        else url_for("dispatch.road_time_list"),
        303,
    )


@bp.route("/road-times", methods=["POST"])
@auth_required("session")
def road_time_set():
    form = request.form
    if _attempt(
        road_times.set_road_time,
        from_key=form.get("from_key", ""),
        to_key=form.get("to_key", ""),
        hours=_number(form.get("hours")),
        km=_number(form.get("km")),
        note=form.get("note"),
    ):
        flash(_("Road time saved: the next loading plan uses it."), "info")
    return _road_times_page()


@bp.route("/road-times/<int:road_time_id>/delete", methods=["POST"])
@auth_required("session")
def road_time_delete(road_time_id):
    _attempt(road_times.delete_road_time, road_time_id)
    return _road_times_page()


def _number(text: str | None) -> float | None:
    try:
        return float((text or "").strip())
    except ValueError:
        return None
