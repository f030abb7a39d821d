"""Warning scan at scale: a full scan of the national dataset (~1,000,000 lots).

    python bench/warnings_scan.py --db sqlite --db postgresql [--scale national] [--repeat 5] [--reuse]

For each database: the registry benchmark's database (bench/registry_queries.py: a fresh SQLite
file under /tmp or the PostgreSQL database `emreserve_bench`, migrated and loaded; `--reuse`
keeps one a previous run loaded), then a full scan `--repeat` times. The first scan opens every
warning (cold); the following ones reconcile an unchanged state (the steady state of the
scheduler's 15-minute job): their median is the headline. Baseline from the same run: one
pass over the lots (`SELECT count(*) ... WHERE on_hand > 0 AND expiry_date IS NOT NULL`).
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

from sqlalchemy import func, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from registry_queries import database_url  # noqa: E402


def run(kind: str, scale: str, repeat: int, reuse: bool) -> dict:
    from flask_migrate import upgrade

    from core import create_app
    from core.extensions import db
    from reserve.demo import build_demo, is_empty
    from reserve.stock.models import StockLot
    from reserve.warnings import services
    from reserve.warnings.models import ReserveWarning

    app = create_app(
        {"APP_ENV": "development", "SQLALCHEMY_DATABASE_URI": database_url(kind, reuse)}
    )
    row = {"db": kind}
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        if is_empty():
            started = time.perf_counter()
            build_demo(scale, seed=2026)
            row["load_s"] = round(time.perf_counter() - started, 1)
        if kind == "postgresql":
            db.session.execute(text("ANALYZE"))
            db.session.commit()
        row["lots"] = db.session.scalar(select(func.count()).select_from(StockLot))
        started = time.perf_counter()
        db.session.scalar(
            select(func.count())
            .select_from(StockLot)
            .where(StockLot.on_hand > 0, StockLot.expiry_date.is_not(None))
        )
        row["baseline_s"] = round(time.perf_counter() - started, 3)
        runs = []
        for _ in range(repeat):
            result = services.scan()
            runs.append(result)
        row["first_s"] = runs[0].seconds
        row["first_opened"] = runs[0].opened
        steady = [r.seconds for r in runs[1:]] or [runs[0].seconds]
        row["median_s"] = round(statistics.median(steady), 2)
        row["max_s"] = round(max(steady), 2)
        row["active"] = db.session.scalar(
            select(func.count())
            .select_from(ReserveWarning)
            .where(ReserveWarning.status != "resolved")
        )
        row["steps"] = runs[-1].timings
        row["later_opened"] = sum(r.opened for r in runs[1:])
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", action="append", choices=["sqlite", "postgresql"])
    parser.add_argument("--scale", default="national", choices=["province", "national"])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--reuse", action="store_true")
    args = parser.parse_args()
    rows = []
    for kind in args.db or ["sqlite", "postgresql"]:
        rows.append(run(kind, args.scale, args.repeat, args.reuse))
        print(rows[-1], file=sys.stderr)
    print(
        "| database | lots | warnings | first scan s (opens all) | steady scan s, median (max) | one pass over the lots s "
        "| ratio | per step, last scan (s) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        steps = ", ".join(f"{k} {v}" for k, v in r["steps"].items())
        print(
            f"| {r['db']} | {r['lots']:,} | {r['active']:,} | {r['first_s']} | **{r['median_s']}** ({r['max_s']}) "
            f"| {r['baseline_s']} | {r['median_s'] / max(r['baseline_s'], 1e-3):.1f}× | {steps} |"
        )


if __name__ == "__main__":
    main()
