"""Exports of 100,000 lots: written in the web request (inline) vs started as a background job.

    .venv/bin/python bench/exports.py [--lots 100000] [--db sqlite|postgresql] [--repeat 2]

A fresh database (SQLite file under /tmp, or TEST_DATABASE_URL's database with its schema
emptied) gets the migrations and the demo generator's
bulk load at a scale of `--lots` lots (3 provinces, 1,000 depots), and a commander (who reads
every lot). Then, for CSV and XLSX, through the Flask test client (in process: the time is the
application's, no network):

- inline: `GET /api/v1/stock/export` of every lot (EXPORT_INLINE_MAX_ROWS raised above the
  lots, as before this change): the time a web worker is held;
- job: `POST /api/v1/export-jobs` (the request's time: the web worker is free after it), then
  the worker's time to write the file (`core.worker.run(once=True)`, in process) and the size.

Beside every figure: the load average (/proc/loadavg) and the time of a fixed pure-Python loop
(3,000,000 additions) taken just before it, so runs on a busy machine can be told apart. The
last lines are a Markdown table for docs/benchmarks.md.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SQLITE_PATH = Path("/tmp/emreserve_bench_exports.db")


def pure_python_loop() -> float:
    started, total = time.perf_counter(), 0
    for i in range(3_000_000):
        total += i
    return time.perf_counter() - started


def machine() -> str:
    """Load average (1 min) and the fixed loop's time, taken now."""
    load = Path("/proc/loadavg").read_text().split()[0]
    return f"load {load}, loop {pure_python_loop():.2f} s"


def database_url(kind: str) -> str:
    """A fresh database: the SQLite file re-created, or TEST_DATABASE_URL's schema emptied (the
    database this branch's tests use; no other database is touched)."""
    if kind == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{SQLITE_PATH}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{SQLITE_PATH}"
    url = os.environ["TEST_DATABASE_URL"]
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


def prepare(kind: str, lots: int):
    """The app on a fresh database with `lots` demo lots and a commander's API token."""
    url = database_url(kind)
    os.environ["DATABASE_URL"], os.environ["SECRET_KEY"] = (
        url,
        "bench-exports-secret-key-0123456789abcdef",
    )
    from flask_migrate import upgrade
    from flask_security import hash_password

    from core import create_app
    from core.auth import COMMANDER
    from core.demo import ensure_roles
    from core.extensions import db, security
    from reserve import demo

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "RATELIMIT_ENABLED": False,
            "EXPORT_JOBS_PER_USER": 100,
            "LOG_LEVEL": "WARNING",
        }
    )
    with app.app_context():
        upgrade()
        ensure_roles()
        demo.SCALES["bench"] = demo.Scale(provinces=3, depots=1_000, lots=lots, transport=1_000)
        started = time.perf_counter()
        demo.build_demo("bench")
        print(f"loaded {lots:,} lots in {time.perf_counter() - started:.0f} s", flush=True)
        user = security.datastore.create_user(
            email="bench-exports@example.org",
            password=hash_password("Bench-9-long"),
            roles=[COMMANDER],
            display_name="导出压测",
        )
        db.session.commit()
        token = user.get_auth_token()
    return app, {"Authentication-Token": token}


def inline(app, headers, file_format: str) -> dict:
    app.config["EXPORT_INLINE_MAX_ROWS"] = 10**7
    where = machine()
    started = time.perf_counter()
    response = app.test_client().get(f"/api/v1/stock/export?format={file_format}", headers=headers)
    seconds = time.perf_counter() - started
    assert response.status_code == 200, response.text[:300]
    return {"seconds": seconds, "bytes": len(response.data), "machine": where}


def background(app, headers, file_format: str) -> dict:
    from core import worker

    app.config["EXPORT_INLINE_MAX_ROWS"] = 20_000
    where = machine()
    client = app.test_client()
    started = time.perf_counter()
    queued = client.post(
        "/api/v1/export-jobs",
        json={"export": "stock", "format": file_format, "filters": {}},
        headers=headers,
    )
    request_seconds = time.perf_counter() - started
    assert queued.status_code == 202, queued.text[:300]
    worker_where = machine()
    started = time.perf_counter()
    assert worker.run(app, once=True, echo=lambda _line: None) == 1
    worker_seconds = time.perf_counter() - started
    done = client.get(queued.headers["Location"], headers=headers).json
    assert done["status"] == "done", done
    return {
        "request": request_seconds,
        "worker": worker_seconds,
        "rows": done["rows"],
        "bytes": done["size"],
        "machine": where,
        "worker_machine": worker_where,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lots", type=int, default=100_000)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    app, headers = prepare(args.db, args.lots)
    table = []
    for file_format in ("csv", "xlsx"):
        inlines = [inline(app, headers, file_format) for _ in range(args.repeat)]
        jobs = [background(app, headers, file_format) for _ in range(args.repeat)]
        best_inline = min(inlines, key=lambda r: r["seconds"])
        best_job = min(jobs, key=lambda r: r["worker"])
        for r in inlines:
            print(
                f"{file_format} inline: {r['seconds']:.2f} s, {r['bytes']:,} B ({r['machine']})",
                flush=True,
            )
        for r in jobs:
            print(
                f"{file_format} job: request {r['request'] * 1000:.0f} ms ({r['machine']}), worker {r['worker']:.2f} s "
                f"({r['worker_machine']}), {r['rows']:,} rows, {r['bytes']:,} B",
                flush=True,
            )
        table.append(
            f"| {args.db} | {file_format.upper()} | {best_job['rows']:,} | {best_inline['seconds']:.1f} s "
            f"({best_inline['machine']}) | {statistics.median(j['request'] for j in jobs) * 1000:.0f} ms "
            f"({best_job['machine']}) | {best_job['worker']:.1f} s ({best_job['worker_machine']}) | "
            f"{best_job['bytes'] / 1e6:.1f} MB |"
        )
    print(
        "\n| database | format | rows | inline request (web worker held) | job request (202) | worker writes the file | file |"
    )
    print("|---|---|---|---|---|---|---|")
    print("\n".join(table))


if __name__ == "__main__":
    main()
