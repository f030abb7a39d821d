"""What the readiness pages, API and exports show: a run with names instead of ids, counties
weakest first; the latest recommendations with depot names the reader may see."""

from flask_babel import gettext as _
from sqlalchemy import select

from core import background
from core.extensions import db
from core.organisation import Region
from core.scoping import scoped
from reserve.models import Depot, Material

from . import rules
from .actions import is_made, transfer_reference
from .models import ReadinessRun
from .scenarios import get_scenario, require_reader


def latest_run(user, scenario_id: int) -> ReadinessRun | None:
    get_scenario(user, scenario_id)
    return db.session.execute(
        select(ReadinessRun)
        .where(ReadinessRun.scenario_id == scenario_id)
        .order_by(ReadinessRun.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def run_view(run: ReadinessRun) -> dict:
    """The run for people: counties (weakest first) with names and places, materials with names."""
    result = run.result
    regions = {
        r.code: r
        for r in db.session.execute(
            select(Region).where(Region.code.in_(result["counties"]))
        ).scalars()
    }
    materials = {
        str(m.id): m
        for m in db.session.execute(
            select(Material).where(Material.id.in_([int(m) for m in result["materials"]]))
        ).scalars()
    }
    counties = [
        {
            "code": code,
            "name": regions[code].name if code in regions else code,
            "lat": regions[code].lat if code in regions else None,
            "lon": regions[code].lon if code in regions else None,
            **result["counties"][code],
        }
        for code in rules.weakest(result["counties"], len(result["counties"]))
    ]
    rows = [
        {
            "id": key,
            "name": materials[key].name if key in materials else key,
            "unit": materials[key].unit if key in materials else "",
            **value,
        }
        for key, value in sorted(result["materials"].items())
    ]
    return {
        "id": run.id,
        "scenario": run.scenario.name,
        "created_at": run.created_at,
        "score": run.score,
        "nightly": run.nightly,
        "windows": [str(w) for w in rules.WINDOWS_H],
        "province": result["province"],
        "counties": counties,
        "materials": rows,
    }


def latest_advice(user, scenario_id: int) -> dict | None:
    """The newest finished assessment with recommendations that covered the scenario; depots
    the reader may not see are named as such."""
    require_reader(user)
    jobs = db.session.execute(
        select(background.BackgroundJob)
        .where(
            background.BackgroundJob.kind == "readiness", background.BackgroundJob.status == "done"
        )
        .order_by(background.BackgroundJob.id.desc())
        .limit(20)
    ).scalars()
    for job in jobs:
        result = job.result or {}
        advice = result.get("recommendations")
        if advice and scenario_id in result.get("scenario_ids", []):
            return {"job_id": job.id, "finished_at": job.finished_at, **named(user, advice, job.id)}
    return None


def named(user, advice: dict, job_id: int) -> dict:
    ids = {m["from_depot"] for m in advice["moves"]} | {m["to_depot"] for m in advice["moves"]}
    ids |= {p["depot"] for p in advice["purchases"]}
    names = dict(
        db.session.execute(
            scoped(
                select(Depot.id, Depot.name).where(Depot.id.in_(ids)),
                user,
                Depot.agency_id,
                Depot.classification,
            )
        ).all()
    )
    keys = {int(m["material"]) for m in advice["moves"] + advice["purchases"]}
    materials = {
        m.id: m for m in db.session.execute(select(Material).where(Material.id.in_(keys))).scalars()
    }
    hidden = _("a depot you may not see")

    def material(row):
        m = materials.get(int(row["material"]))
        return {"material_name": m.name if m else row["material"], "unit": m.unit if m else ""}

    return {
        **advice,
        "moves": [
            {
                **m,
                **material(m),
                "made": is_made(transfer_reference(job_id, n)),
                "from_name": names.get(m["from_depot"], hidden),
                "to_name": names.get(m["to_depot"], hidden),
                "index": n,
            }
            for n, m in enumerate(advice["moves"])
        ],
        "purchases": [
            {**p, **material(p), "depot_name": names.get(p["depot"], hidden)}
            for p in advice["purchases"]
        ],
    }


def trend(user, scenario_id: int, limit: int = 30) -> list[dict]:
    require_reader(user)
    rows = db.session.execute(
        select(ReadinessRun.id, ReadinessRun.created_at, ReadinessRun.score, ReadinessRun.nightly)
        .where(ReadinessRun.scenario_id == scenario_id)
        .order_by(ReadinessRun.id.desc())
        .limit(limit)
    ).all()
    return [
        {"id": r[0], "created_at": r[1], "score": r[2], "nightly": r[3]} for r in reversed(rows)
    ]


def export_rows(view: dict) -> tuple[list[str], list[list]]:
    """One row per county (weakest first): its score and coverage per window, for printing."""
    header = [_("County"), _("Readiness score")] + [
        _("Coverage within %(h)s h", h=w) for w in view["windows"]
    ]
    rows = [
        [c["name"], c["score"]] + [f"{100 * c['coverage'][w]:.1f}%" for w in view["windows"]]
        for c in view["counties"]
    ]
    rows.append(
        [_("Province"), view["province"]["score"]]
        + [f"{100 * view['province']['coverage'][w]:.1f}%" for w in view["windows"]]
    )
    return header, rows
