"""Time a backup and a restore of the demo data and prove the copy (docs/operations.md §5).

    .venv/bin/python bench/backup_drill.py --backend sqlite
    TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \
        .venv/bin/python bench/backup_drill.py --backend postgresql [--scale national]

Creates two scratch databases (PostgreSQL: beside TEST_DATABASE_URL, named
TEST_SCRATCH_DB_PREFIX + suffix) and drops them at the end. The last line starts with RESULT:
(make reliability copies it into docs/reliability.md).
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade  # noqa: E402

from core import backup, create_app  # noqa: E402
from core.extensions import db  # noqa: E402
from tests.core.test_backup import scratch_database  # noqa: E402


def load(url: str, scale: str) -> float:
    from reserve import demo

    started = time.perf_counter()
    app = create_app({"APP_ENV": "test", "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        demo.build_demo(scale)
        db.session.remove()
        db.engine.dispose()
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--scale", choices=["province", "national"], default="province")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as folder,
        scratch_database(args.backend, Path(folder)) as source,
        scratch_database(args.backend, Path(folder)) as target,
    ):
        loaded = load(source, args.scale)
        file = Path(folder) / "backup"
        manifest = backup.create_backup(source, file)
        restored = backup.restore_backup(file, target)
        report = backup.verify(target, manifest.tables)
        rows = sum(t.rows for t in manifest.tables.values())
        size = file.stat().st_size / 1e6
        print(
            f"loaded the {args.scale} demo in {loaded:.1f} s; {rows} rows in {len(manifest.tables)} tables, "
            f"backup file {size:.1f} MB"
        )
        for problem in report.mismatches + report.ledger_problems + [report.audit_problem or ""]:
            if problem:
                print("PROBLEM", problem)
        print(
            f"RESULT: {args.backend} {args.scale} ({rows} rows, {size:.1f} MB): backup {manifest.seconds:.2f} s, "
            f"restore {restored:.2f} s, verify {report.seconds:.2f} s; "
            + ("content, ledger and audit chain OK" if report.ok else "FAILED")
        )
        return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
