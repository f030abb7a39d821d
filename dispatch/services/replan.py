"""Re-planning in one action: a new version from live stock that takes the offers accepted on
this incident's calls for supply (sources `B<offer>`, always in the problem) and the agencies'
positions on the base version's lines as bounds (cannot supply → that source left out for that
material; partial → at most the stated quantity; later → the source's lead time), then says what
changed against the base: per line the source and quantities, per demand the unmet before and
after, and the totals."""

from collections import defaultdict

from flask_babel import gettext as _
from sqlalchemy import select

from core.errors import Conflict
from core.extensions import db

from .. import rules
from ..models import DemandPoint, LinePosition, PlanVersion
from ..statuses import PlanStatus
from .incidents import require_command
from .planning import plan_incident
from .versions import get_plan
from .visibility import source_names, visible_lines


def replan_options(base: PlanVersion) -> dict:
    """The planner's options of a re-plan of `base`: its exclusions, plus the positions."""
    said = {
        p.line_id: p
        for p in db.session.execute(
            select(LinePosition).where(LinePosition.line_id.in_([line.id for line in base.lines]))
        ).scalars()
    }
    lines = [
        (
            said[line.id].position if line.id in said else None,
            line.source_key,
            line.material_id,
            line.quantity,
            said[line.id].quantity if line.id in said else None,
            said[line.id].available_in_h if line.id in said else None,
        )
        for line in base.lines
    ]
    return {
        "exclude": list((base.options or {}).get("exclude") or []),
        "pin": [],
        **rules.position_bounds(lines),
        "replan_of": base.id,
    }


def replan(user, plan_id: int) -> tuple[PlanVersion, dict]:
    """A new draft version of the base's incident (committed) and its differences."""
    require_command(user)
    base = get_plan(user, plan_id)
    if base.status not in (PlanStatus.DRAFT, PlanStatus.APPROVED):
        raise Conflict(_("Only the current draft or the approved plan is planned again."))
    version = plan_incident(user, base.incident_id, options=replan_options(base))
    return version, differences(user, version, base)


def replan_base(user, version: PlanVersion) -> PlanVersion | None:
    """The version a re-plan started from, when `version` is a re-plan."""
    base_id = (version.options or {}).get("replan_of")
    return get_plan(user, base_id) if base_id else None


def differences(user, after: PlanVersion, before: PlanVersion) -> dict:
    """Per line (source, point, material): quantity before and after; per demand (point,
    material): unmet before and after; totals. Only the lines the caller may read."""
    mine, theirs = _keyed(user, after), _keyed(user, before)
    names = source_names(list(mine.values()) + list(theirs.values()))
    rows = []
    for key in sorted(set(mine) | set(theirs)):
        line = mine.get(key) or theirs.get(key)
        old, new = theirs.get(key), mine.get(key)
        rows.append(
            {
                "source": names.get(line.source_key, line.source_key),
                "source_kind": line.source_kind,
                "point": line.point.name,
                "material": line.material.name,
                "before": old.quantity if old else 0,
                "after": new.quantity if new else 0,
            }
        )
    unmet_before, unmet_after = _unmet(before), _unmet(after)
    point_names = dict(
        db.session.execute(
            select(DemandPoint.id, DemandPoint.name).where(
                DemandPoint.incident_id == after.incident_id
            )
        ).all()
    )
    materials = {
        line.material_id: line.material.name for line in list(mine.values()) + list(theirs.values())
    }
    unmet = [
        {
            "point": point_names.get(point, str(point)),
            "material": materials.get(material) or _material_name(material),
            "before": unmet_before.get((point, material), 0),
            "after": unmet_after.get((point, material), 0),
        }
        for point, material in sorted(set(unmet_before) | set(unmet_after))
    ]
    return {
        "before_version": before.version,
        "after_version": after.version,
        "lines": [r for r in rows if r["before"] != r["after"]],
        "unchanged": sum(1 for r in rows if r["before"] == r["after"]),
        "unmet": unmet,
        "totals": {
            "planned_before": sum(line.quantity for line in theirs.values()),
            "planned_after": sum(line.quantity for line in mine.values()),
            "unmet_before": sum(unmet_before.values()),
            "unmet_after": sum(unmet_after.values()),
        },
    }


def _keyed(user, version):
    keyed = {}
    for line in visible_lines(user, version):
        key = (line.source_key, line.point_id, line.material_id)
        if key in keyed:  # one source may serve a point's material at two weights
            keyed[key] = _Summed(keyed[key], line)
        else:
            keyed[key] = line
    return keyed


class _Summed:
    """Two lines of one source, point and material, read as one."""

    def __init__(self, first, second):
        self.__dict__.update({k: getattr(first, k) for k in _FIELDS})
        self.quantity = first.quantity + second.quantity


_FIELDS = ("source_key", "source_kind", "point", "material", "material_id", "depot", "offer_id")


def _unmet(version: PlanVersion) -> dict:
    unmet = defaultdict(int)
    for u in version.unmet or []:
        unmet[(u["point_id"], u["material_id"])] += int(u["quantity"])
    return dict(unmet)


def _material_name(material_id: int) -> str:
    from reserve.models import Material

    material = db.session.get(Material, material_id)
    return material.name if material else str(material_id)
