"""Readiness benchmark: the assessment of the demo province over 10 scenarios, and the
recommendation solve over the 3 standard ones, on a fresh SQLite demo database.

    python bench/readiness/run.py [--scenarios 10] [--budget 2000000]

Beside every figure: the load average (1 min, /proc/loadavg) and the time of a fixed pure-Python
loop, taken at that moment, so figures from a busy machine can be told apart. Targets
(docs/readiness.md): 10 scenarios assessed in under 120 s; the recommendations for the 3
standard scenarios solved in under 60 s.
"""

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
DB = Path("/tmp/emreserve_bench_readiness.db")

# Earthquakes on the province's fault zones (epicentre lat, lon, magnitude), beside the demo's three
EXTRA = [
    ("大同6.5级地震", 40.08, 113.30, 6.5),
    ("忻定盆地6.8级地震", 38.42, 112.73, 6.8),
    ("临汾盆地7.0级地震", 36.09, 111.52, 7.0),
    ("运城盆地6.5级地震", 35.03, 111.01, 6.5),
    ("长治6.0级地震", 36.20, 113.12, 6.0),
    ("晋中6.2级地震", 37.69, 112.75, 6.2),
    ("吕梁6.0级地震", 37.52, 111.14, 6.0),
]


# Unit prices (yuan) of the demo's relief materials, for the purchases in the LP
PRICES = {
    "1040101001": 1500,
    "1040101002": 4000,
    "1030101001": 220,
    "1030101002": 160,
    "1020104001": 40,
    "1010101001": 60,
    "1010101002": 50,
}


def pure_python_loop() -> float:
    started, total = time.perf_counter(), 0
    for i in range(3_000_000):
        total += i
    return time.perf_counter() - started


def machine() -> str:
    return f"load {os.getloadavg()[0]:.2f}, loop {pure_python_loop():.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scenarios", type=int, default=10)
    parser.add_argument("--budget", type=float, default=2_000_000)
    args = parser.parse_args()
    DB.unlink(missing_ok=True)
    os.environ["DATABASE_URL"] = f"sqlite:///{DB}"
    flask = [sys.executable, "-m", "flask", "--app", "core:create_app"]
    import subprocess

    for command in (["db", "upgrade"], ["demo", "init"]):
        subprocess.run(flask + command, check=True, cwd=ROOT, capture_output=True)
    from core import create_app
    from core.auth import User
    from core.extensions import db
    from dispatch.readiness import services
    from dispatch.readiness.models import Scenario
    from dispatch.readiness.scenarios import save_scenario

    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{DB}", "READINESS_UNIT_PRICES": PRICES}
    )
    with app.app_context():
        user = db.session.execute(
            db.select(User).filter_by(email="commander@example.org")
        ).scalar_one()
        standard = list(db.session.execute(db.select(Scenario).order_by(Scenario.id)).scalars())
        plan_id = standard[0].plan_id
        for name, lat, lon, magnitude in EXTRA[: max(args.scenarios - len(standard), 0)]:
            save_scenario(
                user,
                {
                    "name": name,
                    "hazard": "earthquake",
                    "level": "I",
                    "plan_id": plan_id,
                    "population_rule": "intensity",
                    "epicentre_lat": lat,
                    "epicentre_lon": lon,
                    "magnitude": magnitude,
                    "is_standard": False,
                    "note": None,
                },
            )
        scenarios = list(db.session.execute(db.select(Scenario).order_by(Scenario.id)).scalars())
        counties = sum(len(s.counties) for s in scenarios)
        print(f"before: {machine()}")
        started = time.perf_counter()
        problems, materials, windows, agency_of, results = services.evaluate(user, scenarios)
        took = time.perf_counter() - started
        sources = len(windows[72])
        print(
            f"assessment: {len(scenarios)} scenarios, {counties} county entries, {len(materials)} materials, "
            f"{sources} sources at 72 h, 4 windows: {took:.1f} s ({machine()})"
        )
        for s, r in zip(scenarios, results, strict=True):
            print(f"  {s.name}: {len(s.counties)} counties, score {r['province']['score']}")
        three = [i for i, s in enumerate(scenarios) if s.is_standard][:3]
        started = time.perf_counter()
        advice = services.recommend(
            [problems[i] for i in three],
            materials,
            windows,
            agency_of,
            [results[i] for i in three],
            args.budget,
        )
        took = time.perf_counter() - started
        print(
            f"recommendations, 3 standard scenarios, budget {args.budget:,.0f}: {took:.1f} s in all, "
            f"LP {advice['solve_s']} s, {advice['variables']} variables, {advice['constraints']} constraints, "
            f"{len(advice['moves'])} transfers, {len(advice['purchases'])} purchases, spent {advice['spent']:,.0f}; "
            f"before {advice['before']} promised {advice['promised']} ({machine()})"
        )


if __name__ == "__main__":
    main()
