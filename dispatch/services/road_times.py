"""Road times for the 装车方案: a table of known times between two places (a depot, a demand
point) that command staff keep, and optionally a road-network service (an OSRM-compatible
`/table/v1/driving/` endpoint, DISPATCH_OSRM_URL). Both become the router's `travel`; a pair
neither knows is left to the router's straight line × DISPATCH_ROAD_FACTOR. The service is
never required: unset, slow or failing, the problem is built without it (and says so)."""

import json
import logging
import math
import urllib.error
import urllib.request

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from core.errors import Invalid, NotFound
from core.extensions import db

from ..models import DemandPoint, RoadTime
from .incidents import require_command

log = logging.getLogger(__name__)

MAX_HOURS = 240.0  # ten days on the road: anything longer is a typing error
MAX_KM = 10_000.0
MAX_NOTE = 200
MAX_OSRM_PLACES = 100  # OSRM's default table limit
KEY_PATTERN = ("D", "P")  # D<depot id>, P<demand point id>


def list_road_times_query(user):
    """A select of every known road time (command staff), for a page of them."""
    require_command(user)
    return select(RoadTime).order_by(RoadTime.from_key, RoadTime.to_key, RoadTime.id)


def _check_key(key: str, field: str) -> str:
    from reserve.models import Depot

    key = (key or "").strip().upper()
    kind, number = key[:1], key[1:]
    model = {"D": Depot, "P": DemandPoint}.get(kind)
    if model is None or not number.isdigit() or len(key) > 20:
        raise Invalid(
            _("A place is D<depot id> or P<demand point id>."), errors={field: [_("invalid")]}
        )
    if db.session.get(model, int(number)) is None:
        raise Invalid(_("No such depot or demand point."), errors={field: [_("not found")]})
    return key


def _check_figures(hours, km) -> tuple[float, float]:
    errors = {}
    if (
        not isinstance(hours, (int, float))
        or not math.isfinite(hours)
        or not 0 < hours <= MAX_HOURS
    ):
        errors["hours"] = [_("between 0 and %(n)s hours", n=int(MAX_HOURS))]
    if not isinstance(km, (int, float)) or not math.isfinite(km) or not 0 <= km <= MAX_KM:
        errors["km"] = [_("between 0 and %(n)s km", n=int(MAX_KM))]
    if errors:
        raise Invalid(_("The road time is not plausible."), errors=errors)
    return float(hours), float(km)


def set_road_time(
    user, *, from_key: str, to_key: str, hours, km, note: str | None = None
) -> RoadTime:
    """Record (or replace) the road time from one place to another; one direction only, as
    roads are not always the same both ways."""
    require_command(user)
    origin, target = _check_key(from_key, "from_key"), _check_key(to_key, "to_key")
    if origin == target:
        raise Invalid(
            _("A road time joins two different places."), errors={"to_key": [_("invalid")]}
        )
    hours, km = _check_figures(hours, km)
    row = db.session.execute(
        select(RoadTime).filter_by(from_key=origin, to_key=target)
    ).scalar_one_or_none() or RoadTime(from_key=origin, to_key=target)
    row.hours, row.km, row.updated_by_id = hours, km, user.id
    row.note = (note or "").strip()[:MAX_NOTE] or None
    db.session.add(row)
    db.session.commit()
    return row


def delete_road_time(user, road_time_id: int) -> None:
    require_command(user)
    row = db.session.get(RoadTime, road_time_id)
    if row is None:
        raise NotFound(_("Road time %(id)s not found.", id=road_time_id))
    db.session.delete(row)
    db.session.commit()


def place_names(keys) -> dict[str, str]:
    """What people call each place key (a depot's or a point's name)."""
    from reserve.models import Depot

    ids = {"D": set(), "P": set()}
    for key in keys:
        if key[:1] in ids and key[1:].isdigit():
            ids[key[:1]].add(int(key[1:]))
    names = {}
    for kind, model in (("D", Depot), ("P", DemandPoint)):
        if ids[kind]:
            for row_id, name in db.session.execute(
                select(model.id, model.name).where(model.id.in_(ids[kind]))
            ):
                names[f"{kind}{row_id}"] = name
    return names


def travel_for(places: dict[str, tuple[float, float]]) -> tuple[list[dict], dict]:
    """The problem's `travel` between these places (key -> (lat, lon)): the road-network
    service's answers, then the table's known times over them. Also a note of where they came
    from, for the version's metrics."""
    travel: dict[tuple[str, str], dict] = {}
    note = {"road_times": 0, "osrm": "off"}
    if current_app.config.get("DISPATCH_OSRM_URL"):
        found, note["osrm"] = osrm_table(places)
        travel.update(found)
    keys = set(places)
    for row in db.session.execute(
        select(RoadTime).where(RoadTime.from_key.in_(keys), RoadTime.to_key.in_(keys))
    ).scalars():
        travel[(row.from_key, row.to_key)] = {
            "from": row.from_key,
            "to": row.to_key,
            "hours": row.hours,
            "km": row.km,
        }
        note["road_times"] += 1
    return list(travel.values()), note


def osrm_table(places: dict[str, tuple[float, float]]) -> tuple[dict, str]:
    """Durations and distances between every two places from the road-network service, or
    nothing (and why) when it is too many places, too slow, or answers nonsense."""
    keys = list(places)
    if len(keys) < 2:
        return {}, "ok"
    if len(keys) > MAX_OSRM_PLACES:
        return {}, "too-many-places"
    base = current_app.config["DISPATCH_OSRM_URL"].rstrip("/")
    if not base.startswith(("http://", "https://")):
        return {}, "failed"  # never file:// or another scheme urllib would open
    coordinates = ";".join(f"{places[k][1]:.6f},{places[k][0]:.6f}" for k in keys)
    url = f"{base}/table/v1/driving/{coordinates}?annotations=duration,distance"
    try:
        with urllib.request.urlopen(  # nosec B310: the scheme is checked above
            url, timeout=current_app.config["DISPATCH_OSRM_TIMEOUT_S"]
        ) as answer:
            body = json.loads(answer.read(2_000_000))
        durations, distances = body["durations"], body["distances"]
        if body.get("code", "Ok") != "Ok" or len(durations) != len(keys):
            return {}, "failed"
    except (OSError, ValueError, KeyError, TypeError, urllib.error.URLError) as exc:
        log.warning("road-network service failed, straight lines instead: %s", exc)
        return {}, "failed"
    travel = {}
    for i, origin in enumerate(keys):
        for j, target in enumerate(keys):
            seconds, metres = _cell(durations, i, j), _cell(distances, i, j)
            if i != j and seconds is not None and metres is not None:
                travel[(origin, target)] = {
                    "from": origin,
                    "to": target,
                    "hours": round(seconds / 3600, 4),
                    "km": round(metres / 1000, 3),
                }
    return travel, "ok"


def _cell(matrix, i: int, j: int) -> float | None:
    """A finite, non-negative figure of the answer's matrix, else None (OSRM answers null
    where no road joins two places)."""
    try:
        value = matrix[i][j]
    except (IndexError, TypeError):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) and 0 <= value < 10**7 else None


def known_places(user, incident_id: int | None) -> list[tuple[str, str]]:
    """(key, name) of the places a road time can join: an incident's demand points and the
    depots of its approved plan's lines (nothing without an incident)."""
    from .incidents import get_incident

    require_command(user)
    if not incident_id:
        return []
    get_incident(user, incident_id)
    from ..models import PlanLine, PlanStatus, PlanVersion
    from reserve.models import Depot

    points = db.session.execute(
        select(DemandPoint.id, DemandPoint.name).where(DemandPoint.incident_id == incident_id)
    ).all()
    depots = db.session.execute(
        select(Depot.id, Depot.name)
        .join(PlanLine, PlanLine.depot_id == Depot.id)
        .join(PlanVersion, PlanVersion.id == PlanLine.plan_id)
        .where(PlanVersion.incident_id == incident_id, PlanVersion.status == PlanStatus.APPROVED)
        .distinct()
    ).all()
    return [(f"D{i}", n) for i, n in depots] + [(f"P{i}", n) for i, n in points]
