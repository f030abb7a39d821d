"""Planning from live stock for the demo province: build the problem from the database, solve,
save the version (what a commander's click does), median of several runs.

    python bench/dispatch_plan.py [--db sqlite|postgresql] [--runs 7] [--points 10] [--materials 8]

A fresh database with the province demo (232 depots, 1,522 lots, 1,111 transport records);
one incident in Taiyuan with `--points` demand points, each asking for `--materials` of the
most stocked materials (quantities drawn so the province is short of some). Baseline from the
same run: the planner alone on the stored problem (no database).
"""

import argparse
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--points", type=int, default=10)
    parser.add_argument("--materials", type=int, default=8)
    args = parser.parse_args()

    from flask_migrate import upgrade
    from flask_security import hash_password

    from core import create_app
    from core.auth import COMMANDER
    from core.demo import ensure_roles
    from core.extensions import db, security
    from core.timeutil import utcnow
    from dispatch.planning import plan_allocation
    from dispatch.services import incidents, planning
    from registry_queries import database_url
    from reserve import demo
    from reserve.stock.models import StockLot

    app = create_app(
        {"APP_ENV": "development", "SQLALCHEMY_DATABASE_URI": database_url(args.db, False)}
    )
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        demo.build_demo("province")
        ensure_roles()
        commander = security.datastore.create_user(
            email="bench-cmd@example.org", roles=[COMMANDER], password=hash_password("x-Y-1234567")
        )
        db.session.commit()
        top = [
            m
            for (m,) in db.session.execute(
                select(StockLot.material_id)
                .where(StockLot.reserve_type == "physical")
                .group_by(StockLot.material_id)
                .order_by(func.sum(StockLot.on_hand).desc())
                .limit(args.materials)
            )
        ]
        incident = incidents.create_incident(
            commander,
            title="基准地震",
            incident_type="natural_disaster",
            level="I",
            region_code="140100",
        )
        rng = random.Random(5)
        totals = dict(
            db.session.execute(
                select(StockLot.material_id, func.sum(StockLot.on_hand))
                .where(StockLot.material_id.in_(top))
                .group_by(StockLot.material_id)
            ).all()
        )
        for n in range(args.points):
            point = incidents.add_point(
                commander,
                incident.id,
                name=f"安置点{n + 1}",
                lat=37.5 + rng.random() * 0.8,
                lon=112.2 + rng.random() * 0.8,
                population=rng.randint(1000, 20000),
                severity=rng.randint(1, 3),
            )
            for material_id in top:
                quantity = max(1, int(totals[material_id] * rng.uniform(0.02, 0.15)))
                incidents.add_demand(
                    commander,
                    incident.id,
                    point_id=point.id,
                    material_id=material_id,
                    quantity=quantity,
                    priority=rng.randint(1, 3),
                    needed_by=utcnow() + timedelta(hours=rng.choice([12, 24, 48])),
                )
        runs, solver_only = [], []
        for _ in range(args.runs):
            version = planning.plan_incident(commander, incident.id)
            runs.append(version.timings)
            started = time.perf_counter()
            plan_allocation(version.problem)
            solver_only.append(time.perf_counter() - started)
        last = db.session.get(type(version), version.id)
        print(
            f"| database | points × materials | sources | lines | build s | solve s | save s | **total s (median of {args.runs})** "
            "| planner alone s | unmet t |"
        )
        print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        med = {
            k: statistics.median(r[k] for r in runs)
            for k in ("build_s", "solve_s", "save_s", "total_s")
        }
        print(
            f"| {args.db} | {args.points} × {args.materials} | {len(last.problem['sources'])} | {len(last.lines)} "
            f"| {med['build_s']:.3f} | {med['solve_s']:.3f} | {med['save_s']:.3f} | **{med['total_s']:.3f}** "
            f"(max {max(r['total_s'] for r in runs):.3f}) | {statistics.median(solver_only):.3f} "
            f"| {last.metrics.get('unmet_t', 0):.1f} |"
        )


if __name__ == "__main__":
    main()
