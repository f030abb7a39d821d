"""The router speaks in ids and codes; people read reasons. One place turns the router's
unassigned reasons and `check_routes` violations into sentences (Chinese by default), with the
line, vehicle and point ids kept beside them for the page to name."""

from flask_babel import gettext as _


import re

# The router's reason codes (dispatch.routing.REASONS) and the ones the 装车方案 adds.
REASON_CODES = {
    "no_vehicle_at_depot": "no_vehicles",
    "unit_heavier_than_any_vehicle": "too_heavy",
    "no_capacity_left": "capacity",
    "max_stops": "max_stops",
    "would_make_others_late": "delays_others",
}


def reason(code: str) -> str:
    """Why a line was left out before or by routing, in people's words."""
    texts = {
        "not_physical": _(
            "Agreement and capacity reserves and suppliers deliver with their own transport."
        ),
        "shipped_alone": _("This line already left as a shipment of its own."),
        "depot_not_placed": _("The depot has no position on the map: no route can be drawn."),
        "no_vehicles": _("The depot has no available road vehicle registered."),
        "too_heavy": _("One unit is heavier or larger than any vehicle of the depot can carry."),
        "capacity": _("The depot's vehicles cannot carry all of it."),
        "max_stops": _("The depot's vehicles cannot make that many stops."),
        "delays_others": _("Carrying it would make other deliveries late."),
    }
    code = REASON_CODES.get(code, code)
    return texts.get(code) or _("The router could not place it (%(code)s).", code=code)


def unassigned(rows: list[dict]) -> list[dict]:
    """The router's unassigned units as [{line_id, quantity, reason, code, from_router}]."""
    found = []
    for row in rows:
        delivery = str(row.get("delivery", ""))
        if not delivery.startswith("L") or not delivery[1:].isdigit():
            continue
        code = str(row.get("reason") or "")
        found.append(
            {
                "line_id": int(delivery[1:]),
                "quantity": int(row.get("quantity") or 0),
                "reason": reason(code),
                "code": code[:40],
                "from_router": True,
            }
        )
    return found


def violation(item) -> dict:
    """One finding of check_routes (a plain English sentence) as {text, vehicle, delivery,
    detail}: a sentence people read, the vehicle and line it names, the router's words kept."""
    detail = str(item)
    vehicle = re.search(r"vehicle (V[\w-]+)", detail)
    delivery = re.search(r"delivery (L\d+)", detail)
    return {
        "text": _violation_text(detail),
        "vehicle": vehicle.group(1) if vehicle else None,
        "delivery": delivery.group(1) if delivery else None,
        "detail": detail[:300],
    }


def _violation_text(detail: str) -> str:
    lowered = detail.lower()
    if " m3, volume" in lowered:
        return _("The vehicle carries more than its volume.")
    if " t, payload" in lowered:
        return _("The vehicle carries more than its payload.")
    if "loads only at" in lowered or ".depot:" in lowered:
        return _("The vehicle loads a delivery of another depot.")
    if "makes at most" in lowered:
        return _("The vehicle makes more stops than it may.")
    if "arrival_h" in lowered or "departure_h" in lowered:
        return _("The times along the route do not follow from the road times.")
    if "units on routes" in lowered:
        return _("Delivered and unassigned units do not add up to the delivery.")
    if "more than one route" in lowered:
        return _("A vehicle is on more than one route.")
    return _("The route breaks a rule of the problem.")
