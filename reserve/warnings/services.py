"""Warning use cases: scan (and notify), list, acknowledge, resolve, dashboard figures,
minimum levels, expiry policies, in-app notifications."""

import math
from dataclasses import astuple, dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import String, and_, cast, func, insert, literal, or_, select, true
from sqlalchemy.orm import selectinload

from core import policy
from core.auth import Role, User
from core.errors import Conflict, Invalid, NotAllowed, NotFound
from core.extensions import db
from core.kept import kept
from core.scoping import scoped
from core.timeutil import utcnow

from core.organisation import Agency, Region
from ..models import Category, Depot, Material
from ..services.access import readable, require_write
from . import rules
from .models import (
    ExpiryPolicyOverride,
    Notification,
    ReserveWarning,
    StockMinimum,
    WarningEvent,
    WarningScan,
)
from .scan import ScanResult, local_day, norm_status, run_scan


def scan(now: datetime | None = None, *, agency_id: int | None = None) -> ScanResult:
    """Run a scan, queue in-app notifications for what it opened, commit."""
    now = now or utcnow()
    result = run_scan(now, agency_id=agency_id)
    notify_opened(result.scan_id, now)
    db.session.commit()
    return result


def notify_opened(scan_id: int, now: datetime) -> None:
    """In-app notifications for newly opened red and orange warnings: to the operators of the
    warning's agency; red ones also to command staff. One per user and warning."""
    w, users = ReserveWarning.__table__, User.__table__
    columns = (
        users.c.id,
        w.c.id,
        w.c.kind,
        w.c.severity,
        literal("warning:") + cast(w.c.id, String),
        literal(now),
    )
    audiences = (
        and_(
            w.c.severity.in_([rules.RED, rules.ORANGE]),
            users.c.agency_id == w.c.agency_id,
            User.roles.any(Role.name.in_(policy.AGENCY_WARNING_RECIPIENTS)),
        ),
        and_(
            w.c.severity == rules.RED, User.roles.any(Role.name.in_(policy.RED_WARNING_RECIPIENTS))
        ),
    )
    for audience in audiences:
        already = (
            select(Notification.id)
            .where(
                Notification.user_id == users.c.id,  # the unique index
                Notification.dedupe_key == literal("warning:") + cast(w.c.id, String),
            )
            .exists()
        )
        db.session.execute(
            insert(Notification).from_select(
                ["user_id", "warning_id", "kind", "severity", "dedupe_key", "created_at"],
                select(*columns)
                .select_from(w.join(users, true()))
                .where(w.c.opened_scan == scan_id, users.c.active.is_(True), audience, ~already),
            )
        )


@dataclass
class WarningFilter:
    kind: str | None = None
    severity: str | None = None
    status: str | None = "active"  # active = open or acknowledged; "all"; or one status
    agency_id: int | None = None
    depot_id: int | None = None


def list_warnings(user, f: WarningFilter):
    stmt = scoped(
        select(ReserveWarning), user, ReserveWarning.agency_id, ReserveWarning.classification
    )
    if f.status == "active":
        stmt = stmt.where(ReserveWarning.status != "resolved")
    elif f.status and f.status != "all":
        stmt = stmt.where(ReserveWarning.status == f.status)
    for column, value in (
        (ReserveWarning.kind, f.kind),
        (ReserveWarning.severity, f.severity),
        (ReserveWarning.agency_id, f.agency_id),
        (ReserveWarning.depot_id, f.depot_id),
    ):
        if value:
            stmt = stmt.where(column == value)
    # The page's agencies, depots and materials in separate IN queries: joined eagerly, every
    # active warning was joined to six tables before the sort and LIMIT (0.5 s at national scale).
    # The order is an index's (ix_warning_active_order): sorting by a CASE over the severity
    # sorted all 128,000 active warnings for each page (70 ms).
    return stmt.options(
        selectinload(ReserveWarning.agency),
        selectinload(ReserveWarning.depot),
        selectinload(ReserveWarning.material),
    ).order_by(
        ReserveWarning.urgency.desc(), ReserveWarning.opened_at.desc(), ReserveWarning.id.desc()
    )


def count_warnings(user, f: WarningFilter) -> int:
    """How many warnings `list_warnings` lists, kept per scope and filter until warnings change
    (core/kept.py): counting 128,000 active warnings took 20-60 ms for every page."""
    stmt = list_warnings(user, f).order_by(None)
    return kept(
        "warning_count",
        user,
        astuple(f),
        warnings_version(),
        lambda: db.session.scalar(select(func.count()).select_from(stmt.subquery())),
    )


def never_scanned() -> bool:
    """No warning was ever opened (a new database: the demo runs its first scan)."""
    return db.session.execute(select(ReserveWarning.id).limit(1)).first() is None


def warnings_version() -> int:
    """The newest history row: scans, acknowledgements and resolutions all append one."""
    return db.session.scalar(select(func.max(WarningEvent.id))) or 0


def get_warning(user, warning_id: int) -> ReserveWarning:
    return readable(user, ReserveWarning, warning_id, label=_("Warning"))


def last_scan() -> WarningScan | None:
    """The latest full scan (the scheduler's), or None before the first."""
    return db.session.execute(
        select(WarningScan)
        .where(WarningScan.agency_id.is_(None))
        .order_by(WarningScan.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def history(user, warning_id: int) -> list[WarningEvent]:
    get_warning(user, warning_id)
    return (
        db.session.execute(
            select(WarningEvent)
            .where(WarningEvent.warning_id == warning_id)
            .order_by(WarningEvent.id)
        )
        .scalars()
        .all()
    )


def _for_action(user, warning_id: int) -> ReserveWarning:
    warning = get_warning(user, warning_id)
    if not policy.acts_on_any_warning(user):
        if warning.agency_id is None:
            raise NotAllowed(_("Only command staff act on warnings that belong to no agency."))
        require_write(user, warning.agency_id)
    return warning


def acknowledge(user, warning_id: int, note: str | None = None) -> ReserveWarning:
    warning = _for_action(user, warning_id)
    if not rules.can_transition(warning.status, "acknowledged"):
        raise Conflict(_("Only an open warning can be acknowledged."))
    now = utcnow()
    warning.status, warning.acknowledged_at = "acknowledged", now
    warning.acknowledged_by_id, warning.acknowledge_note = (
        user.id,
        (note or "").strip()[:300] or None,
    )
    db.session.add(
        WarningEvent(
            warning_id=warning.id,
            action="acknowledged",
            severity=warning.severity,
            at=now,
            user_id=user.id,
            note=warning.acknowledge_note,
        )
    )
    db.session.commit()
    return warning


def resolve(user, warning_id: int, reason: str) -> ReserveWarning:
    """Close a warning by hand with a reason. If the condition still holds, the next scan opens
    a new warning for it: a reason does not make stock appear."""
    if not reason or not reason.strip():
        raise Invalid(_("Say why the warning is resolved."), errors={"reason": [_("required")]})
    warning = _for_action(user, warning_id)
    if not rules.can_transition(warning.status, "resolved"):
        raise Conflict(_("This warning is already resolved."))
    resolve_in_transaction(user, warning, reason)
    db.session.commit()
    return warning


def resolve_in_transaction(user, warning: ReserveWarning, reason: str) -> None:
    """Resolve a warning the caller has loaded and may act on, as a step of a larger use case
    (a rotation item done): its status and a history row; the caller commits. A warning
    already resolved stays as it is."""
    if not rules.can_transition(warning.status, "resolved"):
        return
    now = utcnow()
    warning.status, warning.resolved_at, warning.resolved_by_id = "resolved", now, user.id
    warning.resolution = reason.strip()[:300]
    db.session.add(
        WarningEvent(
            warning_id=warning.id,
            action="resolved",
            severity=warning.severity,
            at=now,
            user_id=user.id,
            note=warning.resolution,
        )
    )


# --- dashboard ---------------------------------------------------------------------------------


def summary(user, now: datetime | None = None, days: int = 30) -> dict:
    """`figures()` as of now, kept per scope (core/kept.py) in two parts: what comes from the
    warnings (counts, the depot map, the trend: it reads every active warning, 150-300 ms at
    national scale) until warnings change, and stock against norms (~10 ms) until the next
    movement or audited change. A report applied moves stock at once; it recomputes the map
    only when its warning scan changed a warning."""
    if now is not None:
        return figures(user, now, days)
    from ..stock.queries import stock_version

    warned = kept(
        "warning_figures",
        user,
        days,
        warnings_version(),
        lambda: _warning_figures(user, utcnow(), days),
    )
    return {
        **warned,
        "norms": kept("norm_chart", user, None, stock_version(), lambda: _norm_chart(user)),
    }


def figures(user, now: datetime, days: int = 30) -> dict:
    """Counts of active warnings by severity and kind, depots with their worst active warning
    (for the map), the trend of active warnings per day, and stock vs norm by category and city."""
    return {**_warning_figures(user, now, days), "norms": _norm_chart(user)}


def _warning_figures(user, now: datetime, days: int) -> dict:
    active = (
        scoped(
            select(ReserveWarning), user, ReserveWarning.agency_id, ReserveWarning.classification
        )
        .where(ReserveWarning.status != "resolved")
        .subquery()
    )
    by_severity = dict(
        db.session.execute(
            select(active.c.severity, func.count()).group_by(active.c.severity)
        ).all()
    )
    by_kind = [
        {"kind": k, "severity": s, "count": n}
        for k, s, n in db.session.execute(
            select(active.c.kind, active.c.severity, func.count()).group_by(
                active.c.kind, active.c.severity
            )
        )
    ]
    return {
        "by_severity": {s: by_severity.get(s, 0) for s in rules.SEVERITIES},
        "by_kind": by_kind,
        "depots": _depot_map(user, active),
        "trend": _trend(user, now, days),
    }


def _depot_map(user, active) -> list[dict]:
    worst = {}
    for depot_id, severity, count in db.session.execute(
        select(active.c.depot_id, active.c.severity, func.count())
        .where(active.c.depot_id.is_not(None))
        .group_by(active.c.depot_id, active.c.severity)
    ):
        entry = worst.setdefault(depot_id, {"severity": severity, "count": 0})
        entry["count"] += count
        if rules.SEVERITY_RANK[severity] < rules.SEVERITY_RANK[entry["severity"]]:
            entry["severity"] = severity
    depots = (
        scoped(
            select(Depot.id, Depot.name, Depot.lat, Depot.lon),
            user,
            Depot.agency_id,
            Depot.classification,
        )
        .where(Depot.status == "active", Depot.lat.is_not(None))
        .limit(5000)
    )
    return [
        {
            "id": d.id,
            "name": d.name,
            "lat": d.lat,
            "lon": d.lon,
            **worst.get(d.id, {"severity": None, "count": 0}),
        }
        for d in db.session.execute(depots)
    ]


def _trend(user, now: datetime, days: int) -> list[dict]:
    """Active warnings at the same time of day over the last `days` days. Active at a moment =
    opened by then - resolved by then (a warning resolves after it opens): counted in one
    aggregate row, not by fetching every warning (128,000 rows took ~1 s at national scale)."""
    start = now - timedelta(days=days)
    moments = [now - timedelta(days=offset) for offset in range(days, -1, -1)]
    counts = db.session.execute(
        scoped(
            select(
                *[func.count().filter(ReserveWarning.opened_at <= m) for m in moments],
                *[func.count().filter(ReserveWarning.resolved_at <= m) for m in moments],
            ),
            user,
            ReserveWarning.agency_id,
            ReserveWarning.classification,
        ).where(or_(ReserveWarning.resolved_at.is_(None), ReserveWarning.resolved_at >= start))
    ).one()
    return [
        {"day": local_day(moment).isoformat(), "active": counts[i] - counts[len(moments) + i]}
        for i, moment in enumerate(moments)
    ]


def _norm_chart(user) -> dict:
    """Required vs available for the norms the user may see, by level-2 category and by region."""
    from core.scoping import can_read

    by_category, by_region = {}, {}
    norms = norm_status()
    # One query for the owners' paths (a get per norm was 50 queries on the national dataset).
    paths = dict(
        db.session.execute(
            select(Agency.id, Agency.path).where(Agency.id.in_({n["agency_id"] for n in norms}))
        ).all()
    )
    for norm in norms:
        if (
            not can_read(user, paths.get(norm["agency_id"]), norm["classification"])
            or norm["required"] is None
        ):
            continue
        for bucket, key in (
            (by_category, norm["category_code"][:3]),
            (by_region, norm["region_code"]),
        ):
            entry = bucket.setdefault(key, {"key": key, "required": 0.0, "available": 0})
            entry["required"] += norm["required"]
            entry["available"] += min(norm["available"], norm["required"])
    regions = (
        dict(
            db.session.execute(
                select(Region.code, Region.name).where(Region.code.in_(list(by_region)))
            ).all()
        )
        if by_region
        else {}
    )
    categories = (
        dict(
            db.session.execute(
                select(Category.code, Category.name).where(Category.code.in_(list(by_category)))
            ).all()
        )
        if by_category
        else {}
    )

    def rows(bucket, names):  # whole units: a per-capita norm's requirement may be fractional
        return [
            {
                **e,
                "required": round(e["required"]),
                "available": round(e["available"]),
                "name": names.get(e["key"], e["key"]),
            }
            for e in sorted(bucket.values(), key=lambda e: e["key"])
        ]

    return {"by_category": rows(by_category, categories), "by_region": rows(by_region, regions)}


# --- minimum levels and expiry policies ---------------------------------------------------------


def list_minimums(user, depot_id: int | None = None):
    stmt = scoped(
        select(StockMinimum).join(Depot, StockMinimum.depot_id == Depot.id),
        user,
        Depot.agency_id,
        Depot.classification,
    )
    if depot_id:
        stmt = stmt.where(StockMinimum.depot_id == depot_id)
    return stmt.order_by(StockMinimum.depot_id, StockMinimum.material_id)


def set_minimum(user, *, depot_id: int, material_id: int, minimum: int) -> StockMinimum | None:
    """Set (minimum > 0) or remove (0) an agency's minimum level of a material at its depot."""
    depot = readable(user, Depot, depot_id, label=_("Depot"))
    require_write(user, depot.agency_id)
    if db.session.get(Material, material_id) is None:
        raise Invalid(_("Unknown material."), errors={"material_id": [_("not in the catalog")]})
    if minimum < 0:
        raise Invalid(
            _("The minimum is a whole number, zero or more."), errors={"minimum": [_("invalid")]}
        )
    row = db.session.execute(
        select(StockMinimum).filter_by(depot_id=depot_id, material_id=material_id)
    ).scalar_one_or_none()
    if minimum == 0:
        if row is not None:
            db.session.delete(row)
        db.session.commit()
        return None
    if row is None:
        row = StockMinimum(depot_id=depot_id, material_id=material_id, minimum=minimum)
        db.session.add(row)
    row.minimum = minimum
    db.session.commit()
    return row


def list_policies():
    return select(ExpiryPolicyOverride).order_by(ExpiryPolicyOverride.category_prefix)


def set_policy(
    user,
    *,
    category_prefix: str,
    blue_days: int,
    yellow_days: int,
    orange_days: int,
    rotation_lead_days: int = 15,
    rotation_window_days: int = 180,
) -> ExpiryPolicyOverride:
    if not policy.may_administer_system(user):
        raise NotAllowed(_("Only administrators change warning thresholds."))
    try:
        rules.ExpiryPolicy(
            (blue_days, yellow_days, orange_days), rotation_lead_days, rotation_window_days
        )
    except ValueError:
        raise Invalid(
            _(
                "Horizons must shrink (e.g. 90, 60, 30 days) and stay above the rotation lead time; the "
                "rotation window reaches past the first horizon."
            )
        ) from None
    row = db.session.execute(
        select(ExpiryPolicyOverride).filter_by(category_prefix=category_prefix)
    ).scalar_one_or_none()
    if row is None:
        row = ExpiryPolicyOverride(category_prefix=category_prefix)
        db.session.add(row)
    row.blue_days, row.yellow_days, row.orange_days = blue_days, yellow_days, orange_days
    row.rotation_lead_days, row.rotation_window_days = rotation_lead_days, rotation_window_days
    db.session.commit()
    return row


# --- in-app notifications ----------------------------------------------------------------------


def list_notifications(user, unread_only: bool = False):
    stmt = select(Notification).where(Notification.user_id == user.id)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    return stmt.order_by(Notification.id.desc())


def unread_count(user) -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        )
        or 0
    )


def mark_read(user, notification_id: int | None = None) -> int:
    """Mark one notification (or all, with None) of the user as read; returns how many."""
    stmt = select(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None)
    )
    if notification_id is not None:
        if (
            db.session.get(Notification, notification_id) is None
            or db.session.get(Notification, notification_id).user_id != user.id
        ):
            raise NotFound(_("Notification %(id)s not found.", id=notification_id))
        stmt = stmt.where(Notification.id == notification_id)
    rows = db.session.execute(stmt).scalars().all()
    now = utcnow()
    for row in rows:
        row.read_at = now
    db.session.commit()
    return len(rows)


FACT_LABELS = {
    "available": _l("Available"),
    "required": _l("Required"),
    "used_m3": _l("Volume used m³"),
    "capacity_m3": _l("Capacity m³"),
    "used_t": _l("Weight used t"),
    "capacity_t": _l("Capacity t"),
    "report_kind": _l("Report"),
    "statuses": _l("Recent periods"),
    "last_applied_at": _l("Last applied"),
}


def warning_facts(warning: ReserveWarning) -> list[tuple[str, str]]:
    """What a person reads about a warning's object: a lot by its number, material, expiry and
    quantity (never "批次 #1512"), and the scan's facts by label with units and local times."""
    from reserve.reporting.freshness import STATUS_LABELS as PERIOD_LABELS
    from reserve.reporting.models import KIND_LABELS as REPORT_LABELS

    from core.timeutil import local_text
    from ..stock.queries import get_lot

    rows = []
    lot = get_lot(warning.lot_id) if warning.lot_id else None
    if lot is not None:
        unit = lot.material.unit if lot.material else ""
        rows += [
            (_("Lot number"), lot.lot_no),
            (_("Material"), lot.material.name if lot.material else ""),
            (_("Expiry date"), lot.expiry_date.isoformat() if lot.expiry_date else "—"),
            (_("On hand"), f"{lot.on_hand:,} {unit}".strip()),
        ]
    unit = warning.material.unit if warning.material else ""
    for key, value in (warning.facts or {}).items():
        if key not in FACT_LABELS or value is None:
            continue  # internal keys (a plan's id) stay out of the page
        if key in ("available", "required"):
            shown = f"{math.ceil(value):,} {unit}".strip()
        elif key == "report_kind":
            shown = str(REPORT_LABELS.get(value, value))
        elif key == "statuses":
            shown = "、".join(str(PERIOD_LABELS.get(s, s)) for s in value)
        elif key == "last_applied_at":
            shown = local_text(datetime.fromisoformat(value))
        else:
            shown = f"{value:,}" if isinstance(value, (int, float)) else str(value)
        rows.append((str(FACT_LABELS[key]), shown))
    return rows
