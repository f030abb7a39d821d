"""The demo's standard scenarios (a strong earthquake in the Taiyuan basin by the intensity
rule, a Fen River flood and a northern blizzard with entered counties) and a first assessment
with recommendations for a 2 million yuan budget, as a job run in place (no worker needed)."""

from flask import current_app
from sqlalchemy import func, select

from core import background, worker

from core.auth import User
from core.extensions import db
from reserve.models import EmergencyPlan

from . import jobs
from .models import ReadinessRun, Scenario
from .scenarios import save_scenario

PROVINCE_PLAN = "山西省自然灾害救助应急预案（Ⅰ级响应）"
FLOOD = [
    ("140105", 30_000, 3),
    ("140106", 20_000, 2),
    ("141002", 40_000, 3),
    ("140702", 25_000, 2),
    ("141081", 15_000, 2),
]
BLIZZARD = [
    ("140213", 20_000, 2),
    ("140215", 12_000, 2),
    ("140902", 15_000, 1),
    ("140221", 8_000, 1),
]


def is_empty() -> bool:
    return not db.session.scalar(select(func.count(Scenario.id)))


def build_readiness_demo(email: str = "commander@example.org") -> str:
    user = db.session.execute(select(User).filter_by(email=email)).scalar_one()
    plan = db.session.execute(
        select(EmergencyPlan.id).where(EmergencyPlan.name == PROVINCE_PLAN)
    ).scalar()
    base = {"level": "I", "plan_id": plan, "is_standard": True, "note": None}
    made = [
        save_scenario(
            user,
            {
                **base,
                "name": "太原盆地6.5级地震",
                "hazard": "earthquake",
                "population_rule": "intensity",
                "epicentre_lat": 37.75,
                "epicentre_lon": 112.55,
                "magnitude": 6.5,
            },
        ),
        save_scenario(
            user,
            {
                **base,
                "name": "汾河流域洪水",
                "hazard": "flood",
                "population_rule": "entered",
                "counties": _rows(FLOOD),
            },
        ),
        save_scenario(
            user,
            {
                **base,
                "name": "晋北暴雪",
                "hazard": "blizzard",
                "level": "II",
                "population_rule": "entered",
                "counties": _rows(BLIZZARD),
            },
        ),
    ]
    job_id = jobs.start_assessment(user, [s.id for s in made], budget=2_000_000).id
    db.session.commit()
    db.session.close()  # the worker's session writes next (SQLite: one writer at a time)
    status = "queued for the worker"
    if background.claim("demo") == job_id:  # nothing else queued before it: run it now
        status = worker.run_job(current_app._get_current_object(), job_id, "demo")
    runs = db.session.scalar(select(func.count(ReadinessRun.id)))
    return f"readiness: {len(made)} standard scenarios, {runs} runs, assessment job {status}"


def _rows(rows):
    return [{"region_code": c, "population": p, "severity": s} for c, p, s in rows]
