"""The warning scan: compute the current warnings and reconcile them with the stored ones.

Per-lot rules run as INSERT ... SELECT with CASE expressions built from the pure rules'
thresholds, so a million lots never pass through Python. Per-depot, per-norm and per-agency
rules aggregate in SQL and classify the few thousand aggregates with the pure functions.
Candidates go into `warning_candidate` under this scan's id; reconciliation is four set-based
statements: severities of still-true warnings refreshed, cleared ones resolved, new ones
opened (the partial unique index allows one unresolved warning per kind and object), history
rows appended. A scan scoped to one agency (after its report is applied) touches only that
agency's warnings of the kinds it evaluated.
"""

import time
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import (
    String,
    Text,
    and_,
    case,
    cast,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    update,
)

from core.extensions import db
from core.timeutil import to_local

from .. import rules as reserve_rules
from core.organisation import Region
from ..models import Depot, EmergencyPlan, Material, ReserveNorm
from ..stock import queries as stock
from . import rules
from .models import (
    ExpiryPolicyOverride,
    ReserveWarning,
    StockMinimum,
    WarningCandidate,
    WarningEvent,
    WarningScan,
)

SCAN_LOCK_KEY = 7_406_221_002
AGENCY_KINDS = (
    *rules.LOT_PRECEDENCE,
    rules.CONTRACT_EXPIRING,
    rules.OVER_CAPACITY,
    rules.BELOW_MINIMUM,
    rules.STALE_REPORT,
)


@dataclass
class ScanResult:
    scan_id: int
    today: date
    candidates: int = 0
    opened: int = 0
    kept: int = 0
    resolved: int = 0
    seconds: float = 0.0
    timings: dict = field(default_factory=dict)


def local_day(now: datetime) -> date:
    return to_local(now).date()


def run_scan(now: datetime, *, agency_id: int | None = None) -> ScanResult:
    """Scan everything (or one agency's own objects) as of `now` (naive UTC) and reconcile.
    Safe to run twice: the second run keeps what the first opened. The caller commits."""
    started = time.perf_counter()
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SCAN_LOCK_KEY})
    # The next number, under the lock (SQLite: one writer). A random 31-bit id met an earlier
    # one (unique constraint, a 500) with even odds after ~55,000 scans, 1.5 years at 15 minutes.
    result = ScanResult(
        db.session.scalar(select(func.coalesce(func.max(WarningScan.scan_id), 0))) + 1,
        local_day(now),
    )
    kinds = AGENCY_KINDS if agency_id else rules.KINDS
    steps = [
        ("lots", _lot_candidates),
        ("contracts", _contract_candidates),
        ("capacity", _capacity_candidates),
        ("minimums", _minimum_candidates),
        ("reports", _report_candidates),
    ]
    if agency_id is None:
        steps.append(("norms", _norm_candidates))
    for name, step in steps:
        t = time.perf_counter()
        step(result, agency_id)
        result.timings[name] = round(time.perf_counter() - t, 3)
    t = time.perf_counter()
    _reconcile(result, now, kinds, agency_id)
    result.timings["reconcile"] = round(time.perf_counter() - t, 3)
    result.seconds = round(time.perf_counter() - started, 3)
    db.session.add(
        WarningScan(
            scan_id=result.scan_id,
            agency_id=agency_id,
            started_at=now,
            seconds=result.seconds,
            candidates=result.candidates,
            opened=result.opened,
            kept=result.kept,
            resolved=result.resolved,
        )
    )
    return result


# --- candidates --------------------------------------------------------------------------------


def _policies() -> list[tuple[rules.ExpiryPolicy, list[int] | None]]:
    """(policy, material ids) groups: materials under an override prefix (longest wins) get
    its policy; None = every other material (the default policy)."""
    overrides = db.session.execute(select(ExpiryPolicyOverride)).scalars().all()
    if not overrides:
        return [(rules.DEFAULT_POLICY, None)]
    by_prefix = sorted(overrides, key=lambda o: -len(o.category_prefix))
    groups: dict[int, list[int]] = {}
    for material_id, category in db.session.execute(select(Material.id, Material.category_code)):
        chosen = next((o for o in by_prefix if category.startswith(o.category_prefix)), None)
        groups.setdefault(chosen.id if chosen else 0, []).append(material_id)
    result = []
    for override in overrides:
        if override.id in groups:
            policy = rules.ExpiryPolicy(
                (override.blue_days, override.yellow_days, override.orange_days),
                override.rotation_lead_days,
                override.rotation_window_days,
            )
            result.append((policy, groups[override.id]))
    result.append((rules.DEFAULT_POLICY, groups.get(0, [])))
    return result


def policy_for(category_code: str) -> rules.ExpiryPolicy:
    """The expiry policy of one material's category: the longest override prefix, else the default."""
    overrides = db.session.execute(select(ExpiryPolicyOverride)).scalars().all()
    chosen = max(
        (o for o in overrides if category_code.startswith(o.category_prefix)),
        key=lambda o: len(o.category_prefix),
        default=None,
    )
    if chosen is None:
        return rules.DEFAULT_POLICY
    return rules.ExpiryPolicy(
        (chosen.blue_days, chosen.yellow_days, chosen.orange_days),
        chosen.rotation_lead_days,
        chosen.rotation_window_days,
    )


def _key(prefix: str, column):
    return literal(prefix) + cast(column, String)


CANDIDATE_COLUMNS = [
    "scan_id",
    "kind",
    "object_key",
    "severity",
    "agency_id",
    "depot_id",
    "lot_id",
    "material_id",
    "region_code",
    "classification",
]


def _lot_candidates(result: ScanResult, agency_id) -> None:
    for policy, material_ids in _policies():
        if material_ids == []:
            continue
        cut = rules.expiry_cutoffs(result.today, policy)
        lots = stock.dated_lots(
            True, "expiry_date", cut["rotation"], material_ids=material_ids, agency_id=agency_id
        )
        lot = lots.selected_columns
        expiry = lot.expiry_date
        kind = case(
            (expiry < cut["expired"], rules.EXPIRED),
            (expiry < cut["before_use"], rules.EXPIRES_BEFORE_USE),
            (expiry <= cut["blue"], rules.NEAR_EXPIRY),
            else_=rules.ROTATION_DUE,
        )
        severity = case(
            (expiry < cut["expired"], rules.RED),
            (expiry <= cut["orange"], rules.ORANGE),
            (expiry <= cut["yellow"], rules.YELLOW),
            else_=rules.BLUE,
        )
        _insert_from(
            lots.with_only_columns(
                literal(result.scan_id),
                kind,
                _key("lot:", lot.id),
                severity,
                lot.owner_agency_id,
                lot.depot_id,
                lot.id,
                lot.material_id,
                lot.region_code,
                lot.classification,
            )
        )


def _contract_candidates(result: ScanResult, agency_id) -> None:
    blue, yellow, orange = rules.CONTRACT_HORIZONS
    cut = rules.expiry_cutoffs(result.today, rules.ExpiryPolicy((blue, yellow, orange), 0, blue))
    lots = stock.dated_lots(False, "contract_valid_to", cut["blue"], agency_id=agency_id)
    lot = lots.selected_columns
    valid_to = lot.contract_valid_to
    severity = case(
        (valid_to < cut["expired"], rules.RED),
        (valid_to <= cut["orange"], rules.ORANGE),
        (valid_to <= cut["yellow"], rules.YELLOW),
        else_=rules.BLUE,
    )
    _insert_from(
        lots.with_only_columns(
            literal(result.scan_id),
            literal(rules.CONTRACT_EXPIRING),
            _key("contract:", lot.id),
            severity,
            lot.owner_agency_id,
            lot.depot_id,
            lot.id,
            lot.material_id,
            lot.region_code,
            lot.classification,
        )
    )


def _insert_from(stmt) -> int:
    """INSERT ... SELECT of candidates (psycopg reports no row count for it: the caller counts)."""
    db.session.execute(insert(WarningCandidate.__table__).from_select(CANDIDATE_COLUMNS, stmt))
    return 0


def _add(result: ScanResult, rows: list[dict]) -> None:
    if rows:
        db.session.execute(
            insert(WarningCandidate), [{"scan_id": result.scan_id, **row} for row in rows]
        )


def _capacity_candidates(result: ScanResult, agency_id) -> None:
    rows = []
    for (
        depot_id,
        owner,
        region,
        classification,
        cap_m3,
        cap_t,
        used_m3,
        used_t,
    ) in stock.depot_loads(agency_id):
        severity = rules.worst(
            [
                rules.capacity_severity(used_m3 or 0, cap_m3),
                rules.capacity_severity(used_t or 0, cap_t),
            ]
        )
        if severity:
            rows.append(
                {
                    "kind": rules.OVER_CAPACITY,
                    "object_key": f"depot:{depot_id}",
                    "severity": severity,
                    "agency_id": owner,
                    "depot_id": depot_id,
                    "region_code": region,
                    "classification": classification,
                    "facts": {
                        "used_m3": round(used_m3 or 0, 1),
                        "capacity_m3": cap_m3,
                        "used_t": round(used_t or 0, 1),
                        "capacity_t": cap_t,
                    },
                }
            )
    _add(result, rows)


def _minimum_candidates(result: ScanResult, agency_id) -> None:
    available = stock.physical_available_at(StockMinimum.depot_id, StockMinimum.material_id)
    stmt = (
        select(
            StockMinimum.depot_id,
            StockMinimum.material_id,
            StockMinimum.minimum,
            available,
            Depot.agency_id,
            Depot.region_code,
            Depot.classification,
        )
        .join(Depot, StockMinimum.depot_id == Depot.id)
        .where(Depot.status == "active")
    )
    if agency_id is not None:
        stmt = stmt.where(Depot.agency_id == agency_id)
    rows = []
    for depot_id, material_id, minimum, have, owner, region, classification in db.session.execute(
        stmt
    ):
        if severity := rules.shortfall_severity(have, minimum):
            rows.append(
                {
                    "kind": rules.BELOW_MINIMUM,
                    "object_key": f"minimum:{depot_id}:{material_id}",
                    "severity": severity,
                    "agency_id": owner,
                    "depot_id": depot_id,
                    "material_id": material_id,
                    "region_code": region,
                    "classification": classification,
                    "facts": {"available": int(have), "required": minimum},
                }
            )
    _add(result, rows)


def _report_candidates(result: ScanResult, agency_id) -> None:
    from ..reporting import freshness

    rows = []
    for kind in freshness.required_kinds():
        for row in freshness.scoreboard(
            None,
            kind,
            result.today,
            periods=3,
            all_agencies=True,
            agency_id=agency_id,
            completeness=False,
            scores=False,
        ):
            if not freshness.is_reporting_expected(row, kind):
                continue
            if severity := rules.stale_severity(row.statuses):
                rows.append(
                    {
                        "kind": rules.STALE_REPORT,
                        "object_key": f"report:{row.agency_id}:{kind}",
                        "severity": severity,
                        "agency_id": row.agency_id,
                        "facts": {
                            "report_kind": kind,
                            "statuses": row.statuses,
                            "last_applied_at": row.last_applied_at.isoformat()
                            if row.last_applied_at
                            else None,
                        },
                    }
                )
    _add(result, rows)


def norm_status(material_id: int | None = None) -> list[dict]:
    """Every plan norm (of one material if given) with what it requires and the physical stock
    available in its region (all classifications: warnings are scoped when read). From the
    rollups for provinces and cities; counties are summed from their lots."""
    stmt = (
        select(
            ReserveNorm.id,
            ReserveNorm.material_id,
            ReserveNorm.region_code,
            ReserveNorm.basis,
            ReserveNorm.quantity,
            Region.population,
            EmergencyPlan.agency_id,
            EmergencyPlan.classification,
            EmergencyPlan.id,
            Material.category_code,
        )
        .join(EmergencyPlan, ReserveNorm.plan_id == EmergencyPlan.id)
        .join(Region, ReserveNorm.region_code == Region.code)
        .join(Material, ReserveNorm.material_id == Material.id)
    )
    if material_id is not None:
        stmt = stmt.where(ReserveNorm.material_id == material_id)
    norms = db.session.execute(stmt).all()
    if not norms:
        return []
    material_ids = {n[1] for n in norms}
    by_city: dict[tuple[str, int], int] = {}
    for city, material_id, available in stock.physical_available_by_city(material_ids):
        by_city[(city, material_id)] = int(available or 0)
    counties = {n[2] for n in norms if len(reserve_rules.region_prefix(n[2])) == 6}
    by_county = {}
    if counties:
        for county, material_id, available in stock.physical_available_in_counties(
            counties, material_ids
        ):
            by_county[(county, material_id)] = int(available or 0)
    rows = []
    for (
        norm_id,
        material_id,
        region,
        basis,
        quantity,
        population,
        owner,
        classification,
        plan_id,
        category,
    ) in norms:
        prefix = reserve_rules.region_prefix(region)
        if len(prefix) == 6:
            available = by_county.get((region, material_id), 0)
        else:
            available = sum(
                q
                for (city, m), q in by_city.items()
                if m == material_id and city.startswith(prefix)
            )
        rows.append(
            {
                "norm_id": norm_id,
                "plan_id": plan_id,
                "material_id": material_id,
                "region_code": region,
                "required": reserve_rules.norm_requirement(basis, quantity, population),
                "available": available,
                "agency_id": owner,
                "classification": classification,
                "category_code": category,
            }
        )
    return rows


def _norm_candidates(result: ScanResult, agency_id) -> None:
    rows = []
    for norm in norm_status():
        if severity := rules.shortfall_severity(norm["available"], norm["required"]):
            rows.append(
                {
                    "kind": rules.BELOW_NORM,
                    "object_key": f"norm:{norm['norm_id']}",
                    "severity": severity,
                    "agency_id": norm["agency_id"],
                    "material_id": norm["material_id"],
                    "region_code": norm["region_code"],
                    "classification": norm["classification"],
                    "facts": {
                        "available": norm["available"],
                        "required": round(norm["required"], 1),
                        "plan_id": norm["plan_id"],
                    },
                }
            )
    _add(result, rows)


# --- reconciliation ----------------------------------------------------------------------------


def _reconcile(result: ScanResult, now: datetime, kinds, agency_id) -> None:
    w, c = ReserveWarning.__table__, WarningCandidate.__table__
    result.candidates = db.session.scalar(
        select(func.count()).select_from(c).where(c.c.scan_id == result.scan_id)
    )
    match = and_(
        c.c.scan_id == result.scan_id, c.c.kind == w.c.kind, c.c.object_key == w.c.object_key
    )
    unresolved = w.c.status != "resolved"
    differs = or_(
        c.c.severity != w.c.severity, cast(c.c.facts, Text).is_distinct_from(cast(w.c.facts, Text))
    )
    # The rows this scan changes go to the data-sharing change log (feeds), as the ORM's would.
    changed = set(
        db.session.scalars(select(w.c.id).where(unresolved, exists().where(match, differs)))
    )
    # 1. still true, but its severity or facts moved: a history row (severity), then the update.
    db.session.execute(
        insert(WarningEvent.__table__).from_select(
            ["warning_id", "action", "severity", "at"],
            select(
                w.c.id,
                literal("severity"),
                select(c.c.severity).where(match).scalar_subquery(),
                literal(now),
            ).where(unresolved, exists().where(match, c.c.severity != w.c.severity)),
        )
    )
    db.session.execute(
        update(w)
        .where(unresolved, exists().where(match, differs))
        .values(
            severity=select(c.c.severity).where(match).scalar_subquery(),
            urgency=select(_urgency(c.c.severity)).where(match).scalar_subquery(),
            facts=select(c.c.facts).where(match).scalar_subquery(),
        )
    )
    # 2. no longer true: resolved by this scan.
    in_scope = [unresolved, w.c.kind.in_(kinds), ~exists().where(match)]
    if agency_id is not None:
        in_scope.append(w.c.agency_id == agency_id)
    result.resolved = db.session.execute(
        update(w)
        .where(*in_scope)
        .values(
            status="resolved", resolved_at=now, resolution="cleared", resolved_scan=result.scan_id
        )
    ).rowcount
    db.session.execute(
        insert(WarningEvent.__table__).from_select(
            ["warning_id", "action", "severity", "at", "note"],
            select(
                w.c.id, literal("resolved"), w.c.severity, literal(now), literal("cleared")
            ).where(w.c.resolved_scan == result.scan_id),
        )
    )
    # 3. new: the candidates left once those of still-open warnings are dropped are opened (the
    # partial unique index allows one unresolved warning per kind and object). Two statements:
    # an INSERT into `warning` that also read `warning` made PostgreSQL scan the rows it was
    # inserting once per candidate (quadratic: 114 s for 128,000 warnings).
    stored = select(w.c.id).where(
        unresolved, w.c.kind == c.c.kind, w.c.object_key == c.c.object_key
    )
    db.session.execute(delete(c).where(c.c.scan_id == result.scan_id, exists(stored)))
    db.session.execute(
        insert(w).from_select(
            [
                "kind",
                "object_key",
                "severity",
                "urgency",
                "status",
                "agency_id",
                "depot_id",
                "lot_id",
                "material_id",
                "region_code",
                "classification",
                "facts",
                "opened_at",
                "opened_scan",
            ],
            select(
                c.c.kind,
                c.c.object_key,
                c.c.severity,
                _urgency(c.c.severity),
                literal("open"),
                c.c.agency_id,
                c.c.depot_id,
                c.c.lot_id,
                c.c.material_id,
                c.c.region_code,
                c.c.classification,
                c.c.facts,
                literal(now),
                literal(result.scan_id),
            ).where(c.c.scan_id == result.scan_id),
        )
    )
    result.opened = db.session.scalar(
        select(func.count()).select_from(w).where(w.c.opened_scan == result.scan_id)
    )
    result.kept = result.candidates - result.opened
    db.session.execute(
        insert(WarningEvent.__table__).from_select(
            ["warning_id", "action", "severity", "at"],
            select(w.c.id, literal("opened"), w.c.severity, literal(now)).where(
                w.c.opened_scan == result.scan_id
            ),
        )
    )
    # 4. the scratch rows go; the changes are logged for the feeds.
    db.session.execute(delete(c).where(c.c.scan_id == result.scan_id))
    _log_changes(result.scan_id, changed)


def _urgency(severity):
    return case(rules.URGENCY, value=severity, else_=-1)


def _log_changes(scan_id: int, changed: set[int]) -> None:
    from ..sharing.changes import record_changes

    w = ReserveWarning.__table__
    rows = db.session.execute(
        select(w.c.id, w.c.agency_id, w.c.classification).where(
            or_(
                w.c.opened_scan == scan_id,
                w.c.resolved_scan == scan_id,
                w.c.id.in_(changed) if changed else False,
            )
        )
    ).all()
    if rows:
        record_changes(db.session.connection(), [("warnings", i, a, c) for i, a, c in rows], set())
