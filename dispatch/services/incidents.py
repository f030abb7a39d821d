"""Incidents, demand points and demands (需求接报): create, revise (versioned), cancel, suggest
from the plan's norms, import from a spreadsheet."""

from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import func, insert, select

from core.audit import record_event
from core.errors import Conflict, Invalid, NotAllowed, NotFound
from core.extensions import db
from core.policy import may_command_incidents, works_in_registry
from core.timeutil import utcnow
from core.organisation import Region
from reserve.models import EmergencyPlan, IncidentType, Material, ReserveNorm
from reserve.rules import MAX_QUANTITY, quantity_problem

from .. import rules
from ..models import SUBTYPES, Demand, DemandPoint, DemandRevision, Incident
from ..statuses import DemandStatus, IncidentStatus


def require_command(user) -> None:
    if not may_command_incidents(user):
        raise NotAllowed(_("Only command staff manage incidents, demands and plans."))


def list_incidents(user, *, status=None, drill=None):
    """Incidents are internal information: every staff role sees the list; the public sees
    incident notices through the portal."""
    _require_staff(user)
    stmt = select(Incident).order_by(Incident.started_at.desc(), Incident.id.desc())
    if status:
        stmt = stmt.where(Incident.status == status)
    if drill is not None:
        stmt = stmt.where(Incident.drill.is_(drill))
    return stmt


def active_incidents(user, limit: int) -> tuple[list, int]:
    """The newest `limit` incidents not closed (drills included; id, title, drill, start) and
    how many there are: the home page's figures."""
    active = list_incidents(user).where(Incident.status != IncidentStatus.CLOSED)
    # the columns shown only: whole incidents load their plan, its norms and more (47 ms)
    rows = db.session.execute(
        active.with_only_columns(
            Incident.id, Incident.title, Incident.drill, Incident.started_at
        ).limit(limit)
    ).all()
    count = (
        db.session.scalar(select(func.count()).select_from(active.order_by(None).subquery())) or 0
    )
    return rows, count


def is_staff(user) -> bool:
    """Incidents are internal: staff roles read them; a supplier's account is not staff."""
    return works_in_registry(user)


def _require_staff(user) -> None:
    if not is_staff(user):
        raise NotAllowed(_("Incidents are internal information for staff."))


def get_incident(user, incident_id: int) -> Incident:
    _require_staff(user)
    incident = db.session.get(Incident, incident_id)
    if incident is None:
        raise NotFound(_("Incident %(id)s not found.", id=incident_id))
    return incident


def create_incident(
    user,
    *,
    title: str,
    incident_type: str,
    level: str,
    region_code: str,
    started_at=None,
    subtype=None,
    lat=None,
    lon=None,
    drill=False,
    plan_id=None,
    description=None,
) -> Incident:
    require_command(user)
    errors = {}
    if incident_type not in {t.value for t in IncidentType}:
        errors["incident_type"] = [_("unknown incident type")]
    elif subtype and subtype not in SUBTYPES[incident_type]:
        errors["subtype"] = [_("not a subtype of this incident type")]
    if level not in rules.LEVELS:
        errors["level"] = [_("a level is I, II, III or IV")]
    region = db.session.get(Region, region_code or "")
    if region is None:
        errors["region_code"] = [_("not a known GB/T 2260 code")]
    if plan_id is not None and db.session.get(EmergencyPlan, plan_id) is None:
        errors["plan_id"] = [_("no such emergency plan")]
    if started_at is not None and not rules.is_plausible_start(started_at, utcnow()):
        errors["started_at"] = [_("a start time between 2000 and now")]
    if errors:
        raise Invalid(_("The incident is not valid."), errors=errors)
    started_at = started_at or utcnow()
    year = started_at.year
    sequence = 1 + (
        db.session.scalar(
            select(func.count())
            .select_from(Incident)
            .where(
                Incident.incident_type == incident_type,
                Incident.drill.is_(drill),
                Incident.number.like(f"%-{year}-%"),
            )
        )
        or 0
    )
    incident = Incident(
        number=rules.incident_number(
            region.code[:2] + "0000", year, incident_type, sequence, drill
        ),
        title=title.strip(),
        incident_type=incident_type,
        subtype=subtype,
        level=level,
        region_code=region.code,
        lat=lat if lat is not None else region.lat,
        lon=lon if lon is not None else region.lon,
        started_at=started_at,
        drill=drill,
        plan_id=plan_id,
        description=description,
        created_by_id=user.id,
        status=IncidentStatus.REPORTED,
    )
    db.session.add(incident)
    db.session.commit()
    return incident


def move_incident(user, incident_id: int, status: str) -> Incident:
    require_command(user)
    incident = get_incident(user, incident_id)
    if not rules.can_move_incident(incident.status, status):
        raise Conflict(_("An incident goes reported → responding → recovery → closed."))
    incident.status = status
    if status == IncidentStatus.CLOSED:
        incident.closed_at = utcnow()
    db.session.commit()
    return incident


def _open_incident(user, incident_id: int) -> Incident:
    require_command(user)
    incident = get_incident(user, incident_id)
    if incident.status == IncidentStatus.CLOSED:
        raise Conflict(_("The incident is closed."))
    return incident


MAX_POPULATION = 200_000_000


def point_problems(
    name: str | None, lat: float | None, lon: float | None, population: int | None
) -> dict:
    """Field errors of a demand point (the form's and the API's one rule): a name of 1-200
    characters, a position on the globe (WGS-84 degrees, any number of decimals), people 0-200 M."""
    errors = {}
    if not (name or "").strip() or len(name.strip()) > 200:
        errors["name"] = [_("required, at most 200 characters")]
    if lat is None or not -90 <= lat <= 90:
        errors["lat"] = [_("a latitude between -90 and 90")]
    if lon is None or not -180 <= lon <= 180:
        errors["lon"] = [_("a longitude between -180 and 180")]
    if population is not None and not 0 <= population <= MAX_POPULATION:
        errors["population"] = [_("invalid")]
    return errors


def point_regions(incident: Incident) -> list[Region]:
    """The divisions a demand point of `incident` may lie in (those under the incident's region,
    itself included), for the form's region picker that centres the map."""
    prefix = incident.region_code.rstrip("0")
    prefix = prefix + "0" * (len(prefix) % 2)  # whole GB/T 2260 levels: 14, 1401, 140105
    return (
        db.session.execute(
            select(Region)
            .where(
                Region.code.startswith(prefix), Region.valid_to.is_(None), Region.lat.is_not(None)
            )
            .order_by(Region.code)
            .limit(500)
        )
        .scalars()
        .all()
    )


def add_point(
    user,
    incident_id: int,
    *,
    name: str,
    lat: float | None,
    lon: float | None,
    region_code=None,
    population=None,
    severity: int = 2,
) -> DemandPoint:
    incident = _open_incident(user, incident_id)
    if errors := point_problems(name, lat, lon, population):
        raise Invalid(
            _(
                "The demand point needs a name and a position (click the map or type its coordinates)."
            ),
            errors=errors,
        )
    if not 1 <= severity <= 3:
        raise Invalid(_("Severity is 1, 2 or 3."), errors={"severity": [_("invalid")]})
    if region_code and db.session.get(Region, region_code) is None:
        raise Invalid(
            _("Unknown region code."), errors={"region_code": [_("not a known GB/T 2260 code")]}
        )
    point = DemandPoint(
        incident_id=incident.id,
        name=name.strip(),
        lat=lat,
        lon=lon,
        region_code=region_code,
        population=population,
        severity=severity,
    )
    db.session.add(point)
    db.session.commit()
    return point


def list_points(user, incident_id: int) -> list[DemandPoint]:
    get_incident(user, incident_id)
    return (
        db.session.execute(
            select(DemandPoint)
            .where(DemandPoint.incident_id == incident_id)
            .order_by(DemandPoint.id)
        )
        .scalars()
        .all()
    )


def _point(incident: Incident, point_id: int) -> DemandPoint:
    point = db.session.get(DemandPoint, point_id)
    if point is None or point.incident_id != incident.id:
        raise Invalid(
            _("The demand point is not part of this incident."), errors={"point_id": [_("invalid")]}
        )
    return point


def _check_line(material_id, quantity, priority, needed_by, now) -> None:
    errors = {}
    if db.session.get(Material, material_id) is None:
        errors["material_id"] = [_("not in the catalog")]
    if problem := quantity_problem(quantity, minimum=1):
        errors["quantity"] = [_(problem)]
    if priority not in (1, 2, 3):
        errors["priority"] = [_("1, 2 or 3")]
    if needed_by is None or needed_by <= now:
        errors["needed_by"] = [_("a time in the future")]
    if errors:
        raise Invalid(_("The demand is not valid."), errors=errors)


def add_demand(
    user,
    incident_id: int,
    *,
    point_id: int,
    material_id: int,
    quantity: int,
    needed_by: datetime,
    priority: int = 2,
    source: str = "form",
    commit: bool = True,
) -> Demand:
    """One active demand per point and material: a second one is a revision of the first."""
    incident = _open_incident(user, incident_id)
    point = _point(incident, point_id)
    _check_line(material_id, quantity, priority, needed_by, utcnow())
    if db.session.execute(
        select(Demand.id).filter_by(
            incident_id=incident.id,
            point_id=point.id,
            material_id=material_id,
            status=DemandStatus.ACTIVE,
        )
    ).first():
        raise Conflict(
            _("This point already has an active demand for this material; revise it instead.")
        )
    sequence = 1 + (
        db.session.scalar(
            select(func.count()).select_from(Demand).where(Demand.incident_id == incident.id)
        )
        or 0
    )
    demand = Demand(
        number=rules.demand_number(incident.number, sequence),
        incident_id=incident.id,
        point_id=point.id,
        material_id=material_id,
        quantity=quantity,
        priority=priority,
        needed_by=needed_by,
        source=source,
        created_by_id=user.id,
    )
    db.session.add(demand)
    if incident.status == IncidentStatus.REPORTED:
        incident.status = IncidentStatus.RESPONDING
    if commit:
        db.session.commit()
    return demand


def _demand(user, demand_id: int) -> Demand:
    require_command(user)
    demand = db.session.get(Demand, demand_id)
    if demand is None:
        raise NotFound(_("Demand %(id)s not found.", id=demand_id))
    if demand.status != DemandStatus.ACTIVE:
        raise Conflict(_("The demand was cancelled."))
    return demand


def _keep_revision(demand: Demand, user, reason) -> None:
    db.session.add(
        DemandRevision(
            demand_id=demand.id,
            version=demand.version,
            quantity=demand.quantity,
            priority=demand.priority,
            needed_by=demand.needed_by,
            status=demand.status,
            reason=reason,
            changed_by_id=user.id,
        )
    )


def revise_demand(
    user, demand_id: int, *, quantity=None, priority=None, needed_by=None, reason=None
) -> Demand:
    demand = _demand(user, demand_id)
    new = (
        quantity if quantity is not None else demand.quantity,
        priority if priority is not None else demand.priority,
        needed_by if needed_by is not None else demand.needed_by,
    )
    _check_line(demand.material_id, *new, utcnow())
    _keep_revision(demand, user, reason)
    demand.quantity, demand.priority, demand.needed_by = new
    demand.version += 1
    db.session.commit()
    return demand


def cancel_demand(user, demand_id: int, *, reason: str) -> Demand:
    if not reason or not reason.strip():
        raise Invalid(_("Say why the demand is cancelled."), errors={"reason": [_("required")]})
    demand = _demand(user, demand_id)
    _keep_revision(demand, user, reason.strip()[:300])
    demand.status, demand.version = DemandStatus.CANCELLED, demand.version + 1
    db.session.commit()
    return demand


def demand_history(user, demand_id: int) -> list[DemandRevision]:
    require_command(user)
    return (
        db.session.execute(
            select(DemandRevision)
            .where(DemandRevision.demand_id == demand_id)
            .order_by(DemandRevision.version)
        )
        .scalars()
        .all()
    )


def list_demands(user, incident_id: int, *, include_cancelled=False) -> list[Demand]:
    get_incident(user, incident_id)
    stmt = select(Demand).where(Demand.incident_id == incident_id)
    if not include_cancelled:
        stmt = stmt.where(Demand.status == DemandStatus.ACTIVE)
    return db.session.execute(stmt.order_by(Demand.point_id, Demand.id)).scalars().all()


def suggest_demands(user, incident_id: int, point_id: int) -> list[dict]:
    """A starting point from the incident's emergency plan: for each of its norms, the norm
    applied to the point's affected population (per-region norms as they are)."""
    incident = _open_incident(user, incident_id)
    point = _point(incident, point_id)
    if incident.plan_id is None:
        return []
    norms = (
        db.session.execute(
            select(ReserveNorm)
            .where(ReserveNorm.plan_id == incident.plan_id)
            .order_by(ReserveNorm.material_id)
        )
        .scalars()
        .all()
    )
    # relief standards first: a material with one is not sized by a reserve level per resident
    norms.sort(key=lambda norm: (norm.basis != "per_10k_affected", norm.material_id))
    suggestions, seen = [], set()
    for norm in norms:
        if norm.material_id in seen:
            continue
        quantity = rules.suggested_quantity(norm.basis, norm.quantity, point.population)
        if quantity:
            seen.add(norm.material_id)
            suggestions.append(
                {
                    "material_id": norm.material_id,
                    "material": norm.material.name,
                    "unit": norm.material.unit,
                    "quantity": quantity,
                    "basis": norm.basis,
                    "priority": rules.criticality(norm.material.category_code),
                }
            )
    return suggestions


DEMAND_COLUMNS = {
    "点位": "point",
    "point": "point",
    "物资编码": "material_code",
    "material_code": "material_code",
    "数量": "quantity",
    "quantity": "quantity",
    "优先级": "priority",
    "priority": "priority",
    "需求时限(小时)": "hours",
    "hours": "hours",
}


MAX_DEMAND_HOURS = 24 * 365  # a demand is needed within a year at the latest
# Per demand file (the reader refuses more rows, or more text than such a file needs, before
# parsing: the file is read in the request).
MAX_DEMAND_ROWS = 2_000
MAX_DEMAND_TEXT = 2 * 2**20  # once unpacked; 2,000 lines of five cells take about 0.4 MB
MAX_IMPORT_ERRORS = 1000  # checking stops after them


def import_demand_file(user, incident_id: int, data: bytes) -> list[Demand]:
    """An uploaded demand file, read by the one hardened reader of uploads, then imported."""
    from reserve.reporting.files import read_table
    from reserve.reporting.services import release_read_transaction

    _open_incident(user, incident_id)
    release_read_transaction()
    # The header first: a file without the needed columns is refused before its rows are read.
    _demand_header(
        [
            cells
            for _number, cells in read_table(
                data, head=1, max_rows=MAX_DEMAND_ROWS, max_text=MAX_DEMAND_TEXT
            ).rows
        ][:1]
    )
    rows = [
        cells
        for _number, cells in read_table(
            data, max_rows=MAX_DEMAND_ROWS, max_text=MAX_DEMAND_TEXT
        ).rows
    ]
    return import_demands(user, incident_id, rows)


def _demand_header(rows: list[list]) -> list[str | None]:
    """The column keys of the header row, or Invalid naming the columns it lacks."""
    if not rows:
        raise Invalid(_("The file is empty."))
    header = [DEMAND_COLUMNS.get(str(h or "").strip()) for h in rows[0]]
    missing = {"point", "material_code", "quantity", "hours"} - set(header)
    if missing:
        raise Invalid(_("Missing columns: %(cols)s", cols=", ".join(sorted(missing))))
    return header


def import_demands(user, incident_id: int, rows: list[list]) -> list[Demand]:
    """Demand lines from a spreadsheet (header: 点位/point, 物资编码/material_code, 数量/quantity,
    优先级/priority, 需求时限(小时)/hours): all rows or none; errors name their row."""
    incident = _open_incident(user, incident_id)
    header = _demand_header(rows)
    points = {
        p.name: p
        for p in db.session.execute(
            select(DemandPoint).filter_by(incident_id=incident.id)
        ).scalars()
    }
    materials = dict(db.session.execute(select(Material.code, Material.id)).all())
    # (point, material) -> the row that holds it: one active demand per point and material
    taken = {
        pair: None
        for pair in db.session.execute(
            select(Demand.point_id, Demand.material_id).where(
                Demand.incident_id == incident.id, Demand.status == DemandStatus.ACTIVE
            )
        ).tuples()
    }
    now, parsed, errors = utcnow(), [], {}
    for number, cells in enumerate(rows[1:], start=2):
        if len(errors) >= MAX_IMPORT_ERRORS:
            raise Invalid(
                _(
                    "Nothing was imported: more than %(n)s rows have errors. The first %(n)s are shown, "
                    "the rest of the file was not checked.",
                    n=MAX_IMPORT_ERRORS,
                ),
                errors=errors,
            )
        record = {key: cells[i] if i < len(cells) else None for i, key in enumerate(header) if key}
        try:
            point = points[str(record["point"]).strip()]
            code = record["material_code"]
            if not isinstance(code, str):
                raise ValueError(
                    _("the material code arrived as a number: format the column as text")
                )
            material_id = materials[code.strip()]
            quantity, hours = float(record["quantity"]), float(record["hours"])
            priority = float(record.get("priority") or 2)
            if (
                not (0 < quantity <= MAX_QUANTITY and quantity.is_integer())
                or not 0 < hours <= MAX_DEMAND_HOURS
                or priority not in (1, 2, 3)
            ):
                raise ValueError(
                    _(
                        "a whole quantity from 1 to 1,000,000,000, hours above zero and at most "
                        "8,760 (a year), priority 1-3"
                    )
                )
            quantity, priority = int(quantity), int(priority)
        except KeyError:
            errors[f"row {number}"] = [_("unknown point or material code")]
            continue
        except (TypeError, ValueError) as exc:
            errors[f"row {number}"] = [
                str(exc)
                if str(exc) and not str(exc).startswith(("invalid", "could"))
                else _("not a number")
            ]
            continue
        if (point.id, material_id) in taken:
            earlier = taken[point.id, material_id]
            errors[f"row {number}"] = [
                _("the same point and material as row %(row)s", row=earlier)
                if earlier
                else _(
                    "this point already has an active demand for this material: revise it instead"
                )
            ]
            continue
        taken[point.id, material_id] = number
        parsed.append((point.id, material_id, quantity, priority, now + timedelta(hours=hours)))
    if errors:
        raise Invalid(
            _("Nothing was imported: %(n)s rows have errors.", n=len(errors)), errors=errors
        )
    # All rows in one INSERT, audited as one event (add_demand line by line: 10,000 lines took 101 s).
    sequence = (
        db.session.scalar(
            select(func.count()).select_from(Demand).where(Demand.incident_id == incident.id)
        )
        or 0
    )
    lines = [
        {
            "number": rules.demand_number(incident.number, sequence + n),
            "incident_id": incident.id,
            "point_id": p,
            "material_id": m,
            "quantity": q,
            "priority": pr,
            "needed_by": nb,
            "status": DemandStatus.ACTIVE.value,
            "version": 1,
            "source": "sheet",
            "created_by_id": user.id,
            "created_at": now,
        }
        for n, (p, m, q, pr, nb) in enumerate(parsed, start=1)
    ]
    db.session.execute(insert(Demand), lines)
    record_event(
        "demand.imported",
        "incident",
        {"lines": len(lines), "first": lines[0]["number"], "last": lines[-1]["number"]},
        str(incident.id),
    )
    if incident.status == IncidentStatus.REPORTED:
        incident.status = IncidentStatus.RESPONDING
    db.session.commit()
    return list(
        db.session.scalars(
            select(Demand)
            .where(
                Demand.incident_id == incident.id,
                Demand.number.in_([line["number"] for line in lines]),
            )
            .order_by(Demand.number)
        )
    )
