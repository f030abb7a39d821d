"""Registry at national scale: load time and latency of the stock queries the pages use.

    python bench/registry_queries.py --db sqlite --db postgresql [--scale national] [--repeat 15]

For each database: a fresh database (SQLite file under /tmp; PostgreSQL database
`emreserve_bench` on TEST_DATABASE_URL's server, dropped and re-created), migrations applied,
the demo loaded at the scale, then each query run `--repeat` times (after one warm-up) as a
commander (no scope filter) and as a county operator (its subtree only). Prints a Markdown
table of load time and median / p95 milliseconds per query.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core import create_app  # noqa: E402
from core.auth import COMMANDER, OPERATOR, User  # noqa: E402
from core.extensions import db  # noqa: E402
from core.pagination import paginate  # noqa: E402
from core.timeutil import local_today  # noqa: E402


def database_url(kind: str, reuse: bool) -> str:
    if kind == "sqlite":
        path = Path("/tmp/emreserve_bench.db")
        for suffix in ("", "-wal", "-shm"):
            if not reuse:
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    base = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    if reuse:
        return make_url(base).set(database="emreserve_bench").render_as_string(hide_password=False)
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text('DROP DATABASE IF EXISTS "emreserve_bench" WITH (FORCE)'))
        conn.execute(text('CREATE DATABASE "emreserve_bench"'))
    admin.dispose()
    return make_url(base).set(database="emreserve_bench").render_as_string(hide_password=False)


def bench_users():
    found = [
        db.session.execute(select(User.id).filter_by(email=email)).scalar()
        for email in ("bench-commander@example.org", "bench-operator@example.org")
    ]
    return found if all(found) else make_users()


def make_users():
    from flask_security import hash_password

    from core.demo import ensure_roles
    from core.extensions import security
    from core.organisation import Agency

    ensure_roles()
    county = (
        db.session.execute(select(Agency).where(Agency.kind == "county").order_by(Agency.id))
        .scalars()
        .first()
    )
    commander = security.datastore.create_user(
        email="bench-commander@example.org",
        password=hash_password("x-Y-1234567"),
        roles=[COMMANDER],
    )
    operator = security.datastore.create_user(
        email="bench-operator@example.org",
        password=hash_password("x-Y-1234567"),
        roles=[OPERATOR],
        agency=county,
    )
    db.session.commit()
    return commander.id, operator.id


def queries(today):
    from reserve.services import depots, plans, stock

    def page(stmt, rows=False, count=None):
        return paginate(stmt, 1, 50, rows=rows, count=count)

    def lots(user, f):
        return page(
            stock.stock_rows(user, f, today), rows=True, count=stock.stock_count(user, f, today)
        )

    return {
        "stock list, page 1 (/stock)": lambda u: lots(u, stock.StockFilter()),
        "stock list, one city + material name": lambda u: lots(
            u, stock.StockFilter(region_code="140100", q="帐篷")
        ),
        "stock expiring within 30 days": lambda u: lots(
            u, stock.StockFilter(expiring_within_days=30)
        ),
        "totals by city": lambda u: stock.stock_totals(u, stock.StockFilter(), "region", today),
        "totals by material": lambda u: stock.stock_totals(
            u, stock.StockFilter(), "material", today
        ),
        "totals by category": lambda u: stock.stock_totals(
            u, stock.StockFilter(), "category", today
        ),
        "totals by agency": lambda u: stock.stock_totals(u, stock.StockFilter(), "agency", today),
        "available within 48 h (tents)": lambda u: stock.available_within(
            u, stock.StockFilter(q="帐篷"), 48, today
        ),
        "depot list, page 1 (/depots)": lambda u: page(depots.list_depots(u)),
        "depot detail lots (/depots/<id>)": lambda u: lots(
            u, stock.StockFilter(depot_id=_first_depot(u), include_empty=True)
        ),
        "plan gap (/plans/1)": lambda u: plans.plan_gap(u, 1) if _can_see_plan(u) else [],
    }


_depot_cache = {}


def _first_depot(user):
    from reserve.services import depots

    key = user.id
    if key not in _depot_cache:
        _depot_cache[key] = (
            db.session.execute(depots.list_depots(user).limit(1)).scalars().first().id
        )
    return _depot_cache[key]


def _can_see_plan(user):
    return COMMANDER in user.role_names


def measure(fn, user, repeat: int) -> tuple[float, float]:
    fn(user)  # warm-up
    db.session.rollback()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn(user)
        times.append((time.perf_counter() - started) * 1000)
        db.session.rollback()
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]


def run(kind: str, scale: str, repeat: int, reuse: bool = False) -> dict:
    from flask_migrate import upgrade

    from reserve.demo import build_demo, is_empty

    url = database_url(kind, reuse)
    app = create_app({"APP_ENV": "development", "SQLALCHEMY_DATABASE_URI": url})
    result = {"db": kind, "load_s": float("nan"), "counts": {}}
    with app.app_context():
        if not (reuse and not is_empty()):
            upgrade(directory=str(ROOT / "migrations"))
            started = time.perf_counter()
            counts = build_demo(scale, seed=2026)
            result["load_s"] = time.perf_counter() - started
            result["counts"] = vars(counts)
        if kind == "postgresql":
            db.session.execute(text("ANALYZE"))
            db.session.commit()
        commander_id, operator_id = bench_users()
        today = local_today()
        result["queries"] = {}
        for label, fn in queries(today).items():
            row = {}
            for role, user_id in (("commander", commander_id), ("operator", operator_id)):
                user = db.session.get(User, user_id)
                row[role] = measure(fn, user, repeat)
            result["queries"][label] = row
            print(
                f"  {kind:<10} {label:<40} commander {row['commander'][0]:7.1f} / {row['commander'][1]:7.1f} ms"
                f"   operator {row['operator'][0]:7.1f} / {row['operator'][1]:7.1f} ms",
                flush=True,
            )
        db.session.remove()
        db.engine.dispose()
    return result


def table(results: list[dict], repeat: int) -> str:
    lines = [
        "| query | "
        + " | ".join(f"{r['db']} commander | {r['db']} operator" for r in results)
        + " |",
        "|---|" + "---:|---:|" * len(results),
    ]
    for label in results[0]["queries"]:
        cells = []
        for r in results:
            for role in ("commander", "operator"):
                median, p95 = r["queries"][label][role]
                cells.append(f"{median:.1f} / {p95:.1f}")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    loads = "; ".join(f"{r['db']}: {r['load_s']:.0f} s" for r in results)
    counts = results[0]["counts"]
    head = (
        f"Load ({', '.join(f'{k} {v:,}' for k, v in counts.items())}): {loads}.\n"
        f"Latency in ms, median / p95 of {repeat} runs after a warm-up.\n\n"
    )
    return head + "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", action="append", choices=["sqlite", "postgresql"])
    parser.add_argument("--scale", default="national", choices=["province", "national"])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument(
        "--reuse", action="store_true", help="query the database a previous run loaded"
    )
    args = parser.parse_args()
    results = [
        run(kind, args.scale, args.repeat, args.reuse)
        for kind in (args.db or ["sqlite", "postgresql"])
    ]
    print()
    print(table(results, args.repeat))


if __name__ == "__main__":
    main()
