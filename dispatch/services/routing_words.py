"""The router speaks in ids and codes; people read reasons. One place turns the router's
unassigned reasons and `check_routes` violations into sentences (Chinese by default), with the
line, vehicle and point ids kept beside them for the page to name."""

from flask_babel import gettext as _


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
        "late": _("No vehicle can reach the point by its deadline."),
        "unreachable": _("No vehicle can reach the point."),
        "excluded": _("Its vehicles were left out of this version."),
    }
    return texts.get(code) or _("The router could not place it (%(code)s).", code=code)


def _code_of(text: str) -> str:
    """The reason code in a router's free-text reason (its first word, or a known phrase)."""
    lowered = (text or "").lower()
    for code, words in (
        ("no_vehicles", ("no vehicle", "no_vehicle", "no-vehicle")),
        ("too_heavy", ("heavier", "too heavy", "too_heavy", "exceeds every", "unit_too", "larger")),
        ("late", ("deadline", "late", "due")),
        ("unreachable", ("unreachable", "cannot reach", "no route")),
        ("capacity", ("capacity", "payload", "volume", "fleet")),
    ):
        if any(word in lowered for word in words):
            return code
    return lowered.split(":")[0].strip() or "unknown"


def unassigned(rows: list[dict]) -> list[dict]:
    """The router's unassigned units as [{line_id, quantity, reason, from_router}]."""
    found = []
    for row in rows:
        delivery = str(row.get("delivery", ""))
        if not delivery.startswith("L") or not delivery[1:].isdigit():
            continue
        found.append(
            {
                "line_id": int(delivery[1:]),
                "quantity": int(row.get("quantity") or 0),
                "reason": reason(_code_of(str(row.get("reason") or ""))),
                "from_router": True,
            }
        )
    return found


VIOLATIONS = {
    "overload": "The vehicle carries more than its payload.",
    "volume": "The vehicle carries more than its volume.",
    "wrong_depot": "The vehicle loads a delivery of another depot.",
    "quantity": "Delivered and unassigned units do not add up to the delivery.",
    "time": "The times along the route do not follow from the road times.",
    "late": "A drop arrives after its deadline.",
    "max_stops": "The vehicle makes more stops than it may.",
    "unknown": "The route names something the problem does not know.",
}


def violation(item) -> dict:
    """One finding of check_routes as {code, text, detail}: a sentence people read, and the
    router's own words kept as detail."""
    if isinstance(item, dict):
        code = str(item.get("code") or item.get("kind") or "")
        detail = str(item.get("message") or item.get("detail") or item)
    else:
        detail = str(item)
        code = detail.split(":")[0].strip()
    known = _violation_text(code, detail)
    return {"code": code[:40], "text": known, "detail": detail[:300]}


def _violation_text(code: str, detail: str) -> str:
    lowered = f"{code} {detail}".lower()
    if "volume" in lowered:
        return _("The vehicle carries more than its volume.")
    if "payload" in lowered or "overload" in lowered or "weight" in lowered:
        return _("The vehicle carries more than its payload.")
    if "depot" in lowered:
        return _("The vehicle loads a delivery of another depot.")
    if "stops" in lowered:
        return _("The vehicle makes more stops than it may.")
    if "late" in lowered or "due" in lowered:
        return _("A drop arrives after its deadline.")
    if "time" in lowered or "arrival" in lowered or "departure" in lowered:
        return _("The times along the route do not follow from the road times.")
    if "quantit" in lowered or "unassigned" in lowered or "delivered" in lowered:
        return _("Delivered and unassigned units do not add up to the delivery.")
    return _("The route breaks a rule of the problem.")
