"""Data-quality report (数据质量): completeness, validity, freshness and conflicts per agency and
overall, each finding pointing at its record; daily snapshots make the trend.

Checks (rules.py holds the pure parts):
- completeness: active depots with every required field; active depots holding stock; lots of
  materials with a shelf life that carry an expiry date;
- validity: depot region codes and coordinates, lot dates, enterprises of agreement and
  capacity reserves (credit code check digit), transport counts and payloads;
- freshness: the stock reporting status of the scoreboard;
- conflicts: one site registered as depots of two agencies (same name, address, or within
  100 m), the same material lot held by two agencies, one material listed in two units, and a
  stock report that moved a material's total by more than TOTAL_JUMP_THRESHOLD against the
  agency's previous figure.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import select

from core.extensions import db
from core.policy import SYSTEM_READER_ROLES
from core.scoping import scoped
from core.timeutil import utcnow

from core.organisation import Agency, Region
from ..models import Depot, Material, TransportCapacity
from ..reporting.freshness import scoreboard
from ..reporting.models import Submission
from ..stock import queries as stock
from ..rules import N_, credit_code_problem
from . import rules
from .models import QualitySnapshot

DIMENSIONS = ("completeness", "validity", "freshness", "conflicts")
JUMP_WINDOW_DAYS = 90
MAX_ISSUES = 5000


@dataclass
class Issue:
    dimension: str
    check: str
    agency_id: int
    record_type: str  # depot, lot, transport, material, submission, agency
    record_id: int
    detail: str  # a msgid, or a short fact (codes, numbers)
    related: list[int] = field(default_factory=list)


@dataclass
class AgencyQuality:
    agency_id: int
    agency_code: str
    agency_name: str
    checks: dict = field(
        default_factory=lambda: {d: [0, 0] for d in ("completeness", "validity")}
    )  # [good, total]
    freshness: float | None = None
    freshness_status: str | None = None
    conflicts: int = 0
    records: int = 0

    def tally(self, dimension: str, ok: bool) -> None:
        self.checks[dimension][0] += ok
        self.checks[dimension][1] += 1

    @property
    def completeness(self):
        return rules.share(*self.checks["completeness"])

    @property
    def validity(self):
        return rules.share(*self.checks["validity"])

    @property
    def score(self):
        return rules.overall_score(
            self.completeness, self.validity, self.freshness, self.conflicts, self.records
        )


@dataclass
class Report:
    agencies: list[AgencyQuality]
    overall: AgencyQuality
    issues: list[Issue]
    counts: dict


class SystemReader:
    """Reads everything, for the scheduled snapshot."""

    is_authenticated = True
    role_names = SYSTEM_READER_ROLES
    agency = None
    agency_id = None
    id = None


def report(user, today: date, *, agency_id: int | None = None) -> Report:
    agencies_stmt = scoped(select(Agency), user, Agency.id).order_by(Agency.path)
    if agency_id:
        agencies_stmt = agencies_stmt.where(Agency.id == agency_id)
    agencies = {
        a.id: AgencyQuality(a.id, a.code, a.name)
        for a in db.session.execute(agencies_stmt).scalars()
    }
    issues: list[Issue] = []
    _depots(user, agencies, issues)
    _lots(user, agencies, issues, today)
    _transport(user, agencies, issues)
    _freshness(user, agencies, today)
    _conflicts(agencies, issues, today)
    overall = AgencyQuality(0, "", "")
    for q in agencies.values():
        for d in ("completeness", "validity"):
            overall.checks[d][0] += q.checks[d][0]
            overall.checks[d][1] += q.checks[d][1]
        overall.conflicts += q.conflicts
        overall.records += q.records
    known = [q.freshness for q in agencies.values() if q.freshness is not None]
    overall.freshness = round(sum(known) / len(known), 3) if known else None
    counts = {d: sum(1 for i in issues if i.dimension == d) for d in DIMENSIONS}
    return Report(list(agencies.values()), overall, issues[:MAX_ISSUES], counts)


def _depots(user, agencies, issues) -> None:
    regions = set(db.session.scalars(select(Region.code).where(Region.valid_to.is_(None))))
    stocked = stock.stocked_depot_ids()
    stmt = scoped(select(Depot), user, Depot.agency_id, Depot.classification).where(
        Depot.status == "active"
    )
    for depot in db.session.execute(stmt.where(Depot.agency_id.in_(list(agencies)))).scalars():
        q = agencies[depot.agency_id]
        q.records += 1
        values = {
            k: getattr(depot, k)
            for k in (
                "address",
                "region_code",
                "lat",
                "lon",
                "contact_name",
                "contact_phone",
                "capacity_m3",
                "capacity_t",
            )
        }
        missing = rules.missing_fields(values)
        q.tally("completeness", not missing)
        if missing:
            issues.append(
                Issue(
                    "completeness",
                    "depot_fields",
                    depot.agency_id,
                    "depot",
                    depot.id,
                    ", ".join(missing),
                )
            )
        q.tally("completeness", depot.id in stocked)
        if depot.id not in stocked:
            issues.append(
                Issue(
                    "completeness",
                    "depot_without_stock",
                    depot.agency_id,
                    "depot",
                    depot.id,
                    depot.code,
                )
            )
        problems = rules.depot_problems(values, regions)
        q.tally("validity", not problems)
        issues += [
            Issue("validity", "depot_values", depot.agency_id, "depot", depot.id, p)
            for p in problems
        ]


def _lots(user, agencies, issues, today) -> None:
    for row in stock.quality_lots(user, agencies):
        q = agencies[row.owner_agency_id]
        q.records += 1
        if row.shelf_life_days:
            q.tally("completeness", row.expiry_date is not None)
            if row.expiry_date is None:
                issues.append(
                    Issue(
                        "completeness",
                        "lot_expiry",
                        row.owner_agency_id,
                        "lot",
                        row.id,
                        "expiry_date",
                    )
                )
        problems = rules.lot_problems(row._asdict(), today)
        if row.enterprise_credit_code and (
            problem := credit_code_problem(row.enterprise_credit_code)
        ):
            problems.append(problem)
        q.tally("validity", not problems)
        issues += [
            Issue("validity", "lot_values", row.owner_agency_id, "lot", row.id, p) for p in problems
        ]


def _transport(user, agencies, issues) -> None:
    stmt = scoped(
        select(TransportCapacity),
        user,
        TransportCapacity.agency_id,
        TransportCapacity.classification,
    )
    for row in db.session.execute(
        stmt.where(TransportCapacity.agency_id.in_(list(agencies)))
    ).scalars():
        q = agencies[row.agency_id]
        q.records += 1
        ok = row.count > 0 and row.payload_t > 0
        q.tally("validity", ok)
        if not ok:
            issues.append(
                Issue(
                    "validity",
                    "transport_values",
                    row.agency_id,
                    "transport",
                    row.id,
                    N_("count and payload must be positive"),
                )
            )


def _freshness(user, agencies, today) -> None:
    for row in scoreboard(user, "stock", today):
        if row.agency_id in agencies:
            previous = row.statuses[-2] if len(row.statuses) > 1 else None
            agencies[row.agency_id].freshness = rules.freshness_score(
                row.current, previous, row.last_applied_at is not None
            )
            agencies[row.agency_id].freshness_status = row.current


def _conflict(agencies, issues, issue: Issue, involved: set[int]) -> None:
    """Count a conflict against every agency involved that the report covers; list it once per agency."""
    for agency_id in sorted(involved):
        if agency_id in agencies:
            agencies[agency_id].conflicts += 1
            issues.append(
                Issue(
                    issue.dimension,
                    issue.check,
                    agency_id,
                    issue.record_type,
                    issue.record_id,
                    issue.detail,
                    issue.related,
                )
            )


def _conflicts(agencies, issues, today) -> None:
    depots = {
        d.id: d
        for d in db.session.execute(
            select(
                Depot.id, Depot.agency_id, Depot.name, Depot.address, Depot.lat, Depot.lon
            ).where(Depot.status == "active")
        ).all()
    }
    for a, b, why in rules.duplicate_depots([rules.DepotFacts(*d) for d in depots.values()]):
        _conflict(
            agencies,
            issues,
            Issue("conflicts", "duplicate_depot", 0, "depot", a, why, [b]),
            {depots[a].agency_id, depots[b].agency_id},
        )
    lots = stock.physical_lot_numbers()
    owners = {lot.id: lot.owner_agency_id for lot in lots}
    for group in rules.duplicate_lots([tuple(lot) for lot in lots]):
        _conflict(
            agencies,
            issues,
            Issue("conflicts", "duplicate_lot", 0, "lot", group[0], "", group[1:]),
            {owners[i] for i in group},
        )
    holders: dict[int, set] = {}
    for agency_id, material_id in stock.materials_held():
        holders.setdefault(material_id, set()).add(agency_id)
    materials = (
        db.session.execute(
            select(Material.id, Material.name, Material.spec, Material.unit).where(
                Material.id.in_(list(holders))
            )
        ).all()
        if holders
        else []
    )
    units = {m.id: m.unit for m in materials}
    for group in rules.unit_conflicts([tuple(m) for m in materials]):
        detail = " / ".join(sorted({units[i] for i in group}))
        _conflict(
            agencies,
            issues,
            Issue("conflicts", "unit_conflict", 0, "material", group[0], detail, group[1:]),
            set().union(*[holders[i] for i in group]),
        )
    _total_jumps(agencies, issues, today)


def _total_jumps(agencies, issues, today) -> None:
    since = utcnow() - timedelta(days=JUMP_WINDOW_DAYS)
    submissions = db.session.execute(
        select(Submission.id, Submission.agency_id)
        .where(
            Submission.kind == "stock",
            Submission.status == "applied",
            Submission.applied_at >= since,
            Submission.agency_id.in_(list(agencies)),
        )
        .order_by(Submission.id.desc())
        .limit(200)
    ).all()
    for submission_id, agency_id in submissions:
        for material_id, delta, first_id in stock.deltas_of(f"SUB-{submission_id}"):
            before = stock.on_hand_before(agency_id, material_id, first_id)
            change = rules.total_jump(int(before), int(before) + int(delta or 0))
            if change is not None:
                _conflict(
                    agencies,
                    issues,
                    Issue(
                        "conflicts",
                        "total_jump",
                        0,
                        "submission",
                        submission_id,
                        f"{int(before)} → {int(before) + int(delta or 0)} ({change:+.0%})",
                        [material_id],
                    ),
                    {agency_id},
                )


def record_names(user, issues) -> dict[tuple[str, int], str]:
    """(record type, id) -> what people call the record behind a finding or a conflict: a depot,
    material or agency by name, a lot by its number and material, a report by its file. Only the
    records `user` may read are named (a conflict's other depot may be another agency's restricted one)."""
    wanted: dict[str, set] = {}
    for issue in issues:
        wanted.setdefault(issue.record_type, set()).add(issue.record_id)
        if (
            issue.check != "total_jump"
        ):  # a total jump's related id is its material, named in the detail
            wanted[issue.record_type].update(issue.related)
    queries = {
        "depot": lambda: scoped(
            select(Depot.id, Depot.name), user, Depot.agency_id, Depot.classification
        ),
        "material": lambda: select(Material.id, Material.name),
        "agency": lambda: scoped(select(Agency.id, Agency.name), user, Agency.id),
        "lot": lambda: stock.lot_names(user),
        "submission": lambda: scoped(
            select(Submission.id, Submission.filename), user, Submission.agency_id
        ),
        "transport": lambda: scoped(
            select(TransportCapacity.id, TransportCapacity.vehicle_type),
            user,
            TransportCapacity.agency_id,
            TransportCapacity.classification,
        ),
    }
    names = {}
    for kind, ids in wanted.items():
        if kind in queries and ids:
            stmt = queries[kind]()
            key = stmt.selected_columns[0]
            names.update(
                {
                    (kind, k): name
                    for k, name in db.session.execute(stmt.where(key.in_(list(ids))))
                    if name
                }
            )
    return names


def material_names(ids) -> dict[int, str]:
    if not ids:
        return {}
    return dict(
        db.session.execute(
            select(Material.id, Material.name).where(Material.id.in_(list(ids)))
        ).all()
    )


# --- snapshots and trend --------------------------------------------------------------------


def take_snapshot(today: date) -> int:
    """Scheduled daily: store today's scores per agency and overall. Safe to run twice (replaces)."""
    result = report(SystemReader(), today)
    existing = {
        s.agency_id: s
        for s in db.session.execute(select(QualitySnapshot).filter_by(day=today)).scalars()
    }
    for q in result.agencies + [result.overall]:
        agency_id = q.agency_id or None
        row = existing.get(agency_id) or QualitySnapshot(day=today, agency_id=agency_id)
        row.completeness, row.validity, row.freshness = q.completeness, q.validity, q.freshness
        row.conflicts, row.score, row.taken_at = q.conflicts, q.score, utcnow()
        db.session.add(row)
    db.session.commit()
    return len(result.agencies) + 1


def trend(user, *, agency_id: int | None, days: int, today: date) -> list[QualitySnapshot]:
    """Snapshots of one agency the caller may see (None: the whole province), oldest first."""
    if agency_id is not None:
        visible = db.session.scalar(
            scoped(select(Agency.id), user, Agency.id).where(Agency.id == agency_id)
        )
        if visible is None:
            return []
    return (
        db.session.execute(
            select(QualitySnapshot)
            .where(
                QualitySnapshot.day >= today - timedelta(days=days),
                QualitySnapshot.agency_id.is_(None)
                if agency_id is None
                else QualitySnapshot.agency_id == agency_id,
            )
            .order_by(QualitySnapshot.day)
        )
        .scalars()
        .all()
    )
