"""Reporting throughput: a 50,000-row stock report (MAX_ROWS, the largest file accepted) (XLSX and CSV) validated and applied.

    python bench/reporting.py [--rows 50000] [--db sqlite --db postgresql] [--format xlsx --format csv]

Each case runs in a process of its own (so its peak memory is its own) on a fresh database
(SQLite file under /tmp; PostgreSQL database `emreserve_bench_reporting` on TEST_DATABASE_URL's
server) with the province demo loaded and migrations applied. One agency gets `--rows` new lots
spread over its depots and the catalog; the case measures:

- upload: reading the file, validating every row, computing the preview (the web/API upload);
- confirm: validating again against the current database and applying the change set
  (lots, ledger movements, rollups) in one transaction;
- a second upload of the same file (the preview must show no change);
- peak resident memory of the process (ru_maxrss).

Baselines measured in the same run: reading the file only (no validation), and the ledger's
per-movement API (`record_receipt`, one transaction per row) on 300 rows, extrapolated as rows/s.
"""

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def database_url(kind: str) -> str:
    if kind == "sqlite":
        path = Path("/tmp/emreserve_bench_reporting.db")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    base = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text('DROP DATABASE IF EXISTS "emreserve_bench_reporting" WITH (FORCE)'))
        conn.execute(text('CREATE DATABASE "emreserve_bench_reporting"'))
    admin.dispose()
    return (
        make_url(base)
        .set(database="emreserve_bench_reporting")
        .render_as_string(hide_password=False)
    )


def make_file(fmt: str, depots: list[str], materials: list[str], rows: int) -> bytes:
    from reserve.reporting import workbooks
    from reserve.reporting.standard import KINDS

    rng = random.Random(7)
    records = [
        {
            "depot_code": rng.choice(depots),
            "material_code": rng.choice(materials),
            "lot_no": f"B{n:07d}",
            "quantity": rng.randint(1, 5000),
            "reserve_type": "physical",
            "classification": None,
        }
        for n in range(rows)
    ]
    kind = KINDS["stock"]
    return (workbooks.template_xlsx if fmt == "xlsx" else workbooks.template_csv)(kind, records)


def run_case(db_kind: str, fmt: str, rows: int) -> dict:
    from flask_security import hash_password

    from core import create_app
    from core.auth import OPERATOR
    from core.demo import ensure_roles
    from core.extensions import db, security
    from flask_migrate import upgrade
    from reserve import demo
    from core.organisation import Agency
    from reserve.models import Depot, Material
    from reserve.stock.models import Movement, StockLot
    from reserve.reporting import files, services
    from reserve.stock import ledger
    from reserve.stock.ledger import LotFacts

    app = create_app({"APP_ENV": "development", "SQLALCHEMY_DATABASE_URI": database_url(db_kind)})
    result = {"db": db_kind, "format": fmt, "rows": rows}
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        demo.build_demo("province")
        ensure_roles()
        agency = db.session.execute(
            select(Agency)
            .join(Depot, Depot.agency_id == Agency.id)
            .group_by(Agency.id)
            .order_by(func.count().desc())
            .limit(1)
        ).scalar_one()
        user = security.datastore.create_user(
            email="bench@example.org",
            password=hash_password("x-Y-1234567"),
            roles=[OPERATOR],
            agency=agency,
        )
        db.session.commit()
        depots = list(db.session.scalars(select(Depot.code).where(Depot.agency_id == agency.id)))
        depot_ids = list(db.session.scalars(select(Depot.id).where(Depot.agency_id == agency.id)))
        materials = list(db.session.scalars(select(Material.code)))
        material_ids = list(db.session.scalars(select(Material.id)))
        data = make_file(fmt, depots, materials, rows)
        result["file_mb"] = round(len(data) / 2**20, 1)

        started = time.perf_counter()
        files.read_table(data)
        result["read_only_s"] = round(time.perf_counter() - started, 2)

        started = time.perf_counter()
        submission = services.submit_file(
            user,
            agency_id=agency.id,
            kind="stock",
            mode="incremental",
            filename=f"bench.{fmt}",
            data=data,
            channel="cli",
        )
        result["upload_s"] = round(time.perf_counter() - started, 2)
        assert submission.preview["counts"]["new"] == rows, submission.preview["counts"]
        started = time.perf_counter()
        services.confirm_submission(user, submission.id, fingerprint=submission.fingerprint)
        result["confirm_s"] = round(time.perf_counter() - started, 2)
        result["total_s"] = round(result["upload_s"] + result["confirm_s"], 2)
        result["rows_per_s"] = round(rows / result["total_s"])
        reference = f"SUB-{submission.id}"
        result["movements"] = db.session.scalar(
            select(func.count()).select_from(Movement).where(Movement.reference == reference)
        )
        started = time.perf_counter()
        again = services.submit_file(
            user,
            agency_id=agency.id,
            kind="stock",
            mode="incremental",
            filename=f"bench.{fmt}",
            data=data,
            channel="cli",
        )
        result["reupload_s"] = round(time.perf_counter() - started, 2)
        result["reupload_changes"] = (
            again.preview["counts"]["new"] + again.preview["counts"]["changed"]
        )

        rng, sample = random.Random(3), 300
        started = time.perf_counter()
        for n in range(sample):
            ledger.record_receipt(
                user,
                depot_id=rng.choice(depot_ids),
                material_id=rng.choice(material_ids),
                quantity=10,
                facts=LotFacts(f"R{n:06d}"),
            )
        result["per_row_api_rows_per_s"] = round(sample / (time.perf_counter() - started))
        result["lots"] = db.session.scalar(select(func.count()).select_from(StockLot))
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return result


def table(results: list[dict]) -> str:
    lines = [
        "| database | file | rows | file MB | read only s | upload (validate + preview) s | confirm (re-validate + apply) s "
        "| total s | rows/s | per-row ledger API rows/s | speed-up | re-upload s (changes) | peak RSS MB |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['db']} | {r['format']} | {r['rows']:,} | {r['file_mb']} | {r['read_only_s']} | {r['upload_s']} "
            f"| {r['confirm_s']} | **{r['total_s']}** | {r['rows_per_s']:,} | {r['per_row_api_rows_per_s']:,} "
            f"| {r['rows_per_s'] / r['per_row_api_rows_per_s']:.0f}× | {r['reupload_s']} ({r['reupload_changes']}) "
            f"| {r['peak_rss_mb']} |"
        )
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--db", action="append", choices=["sqlite", "postgresql"])
    parser.add_argument("--format", action="append", choices=["xlsx", "csv"])
    parser.add_argument("--case", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        db_kind, fmt = args.case.split(":")
        print(json.dumps(run_case(db_kind, fmt, args.rows)))
        return
    results = []
    for db_kind in args.db or ["sqlite", "postgresql"]:
        for fmt in args.format or ["xlsx", "csv"]:
            out = subprocess.run(
                [sys.executable, __file__, "--case", f"{db_kind}:{fmt}", "--rows", str(args.rows)],
                capture_output=True,
                text=True,
                check=True,
            )
            results.append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(f"{db_kind} {fmt}: {results[-1]}", file=sys.stderr)
    print(table(results))


if __name__ == "__main__":
    main()
