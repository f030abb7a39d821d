"""Backup, restore, and the checks a restore drill runs (`flask backup ...`, docs/operations.md).

SQLite is copied with its online backup API (a consistent copy while the app keeps writing).
PostgreSQL is dumped with `pg_dump --format=custom` and restored with `pg_restore` into an
empty database. Beside each backup lies a manifest (`<backup>.manifest.json`): every table's
row count and SHA-256 over its rows in primary-key order, taken from exactly the data in the
backup (the SQLite copy itself; on PostgreSQL the snapshot pg_dump reads, shared through
`pg_export_snapshot`). A restore is proven by recomputing them on the restored database, and by
the invariants no backup may break: every lot's `on_hand` / `reserved` equals the sum of its
movements and is not negative, and the audit hash chain is intact.
"""

import datetime as dt
import decimal
import hashlib
import json
import os
import sqlite3

# pg_dump and pg_restore run from an argument list, never through a shell.
import subprocess  # nosec B404
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sqlalchemy import MetaData, create_engine, select, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from .audit import verify_chain

MANIFEST_SUFFIX = ".manifest.json"


@dataclass
class TableSum:
    rows: int
    sha256: str


@dataclass
class Manifest:
    dialect: str
    created_at: str
    seconds: float
    tables: dict[str, TableSum] = field(default_factory=dict)

    def write(self, backup_path: str | Path) -> Path:
        path = Path(str(backup_path) + MANIFEST_SUFFIX)
        path.write_text(json.dumps(asdict(self), indent=1, sort_keys=True))
        return path

    @classmethod
    def read(cls, backup_path: str | Path) -> "Manifest":
        data = json.loads(Path(str(backup_path) + MANIFEST_SUFFIX).read_text())
        data["tables"] = {name: TableSum(**t) for name, t in data["tables"].items()}
        return cls(**data)


@dataclass
class DrillReport:
    seconds: float
    tables: dict[str, TableSum]
    mismatches: list[str]
    ledger_problems: list[str]
    audit_rows: int
    audit_problem: str | None

    @property
    def ok(self) -> bool:
        return not self.mismatches and not self.ledger_problems and self.audit_problem is None


# Fingerprints ---------------------------------------------------------------------------------


def _plain(value):
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (bytes, memoryview)):
        return bytes(value).hex()
    return str(value)


def fingerprint(conn: Connection) -> dict[str, TableSum]:
    """Row count and SHA-256 of every table, rows in primary-key order (all columns when none)."""
    metadata = MetaData()
    metadata.reflect(bind=conn)
    sums = {}
    for table in sorted(metadata.tables.values(), key=lambda t: t.name):
        order = list(table.primary_key.columns) or list(table.columns)
        digest, rows = hashlib.sha256(), 0
        result = conn.execution_options(yield_per=5000).execute(select(table).order_by(*order))
        for row in result:
            digest.update(
                json.dumps(list(row), default=_plain, sort_keys=True, ensure_ascii=False).encode()
            )
            digest.update(b"\n")
            rows += 1
        sums[table.name] = TableSum(rows, digest.hexdigest())
    return sums


LEDGER_CHECK = text("""
    SELECT l.id, l.on_hand, l.reserved, COALESCE(m.on_hand, 0) AS moved_on_hand, COALESCE(m.reserved, 0) AS moved_reserved
    FROM stock_lot l
    LEFT JOIN (SELECT lot_id, SUM(on_hand_delta) AS on_hand, SUM(reserved_delta) AS reserved
               FROM movement GROUP BY lot_id) m ON m.lot_id = l.id
    WHERE l.on_hand <> COALESCE(m.on_hand, 0) OR l.reserved <> COALESCE(m.reserved, 0)
       OR l.on_hand < 0 OR l.reserved < 0 OR l.reserved > l.on_hand
    ORDER BY l.id
""")


def ledger_problems(conn: Connection, limit: int = 20) -> list[str]:
    """Lots whose balances differ from the sum of their movements, or are negative."""
    found = conn.execute(LEDGER_CHECK).fetchmany(limit)
    return [
        f"lot {r.id}: on_hand {r.on_hand} / reserved {r.reserved}, movements say {r.moved_on_hand} / "
        f"{r.moved_reserved}"
        for r in found
    ]


def compare(expected: dict[str, TableSum], actual: dict[str, TableSum]) -> list[str]:
    problems = [f"table {name} missing" for name in sorted(set(expected) - set(actual))]
    problems += [f"table {name} not in the backup" for name in sorted(set(actual) - set(expected))]
    for name in sorted(set(expected) & set(actual)):
        want, got = expected[name], actual[name]
        if want.rows != got.rows:
            problems.append(f"table {name}: {got.rows} rows, backup had {want.rows}")
        elif want.sha256 != got.sha256:
            problems.append(f"table {name}: same row count, different content")
    return problems


def verify(url: str, expected: dict[str, TableSum] | None = None) -> DrillReport:
    """Check a database: ledger invariants, audit chain, and (given a manifest) its content."""
    started = time.perf_counter()
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            tables = fingerprint(conn)
            ledger = ledger_problems(conn)
            conn.rollback()
        with Session(engine) as session:
            chain = verify_chain(session=session)
    finally:
        engine.dispose()
    return DrillReport(
        seconds=time.perf_counter() - started,
        tables=tables,
        mismatches=compare(expected, tables) if expected is not None else [],
        ledger_problems=ledger,
        audit_rows=chain.rows,
        audit_problem=None if chain.ok else f"row {chain.broken_id}: {chain.reason}",
    )


# Backup and restore ---------------------------------------------------------------------------


def _sqlite_file(url) -> str:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise ValueError("an in-memory SQLite database cannot be backed up or restored into")
    return database


def _libpq(url) -> tuple[dict, str]:
    """Environment for pg_dump / pg_restore (the password never appears on a command line)."""
    parsed = make_url(url)
    env = dict(os.environ)
    for name, value in (
        ("PGHOST", parsed.host),
        ("PGPORT", parsed.port),
        ("PGUSER", parsed.username),
        ("PGPASSWORD", parsed.password),
    ):
        if value is not None:
            env[name] = str(value)
    return env, parsed.database


def _run(command: list[str], env: dict) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True)  # nosec B603
    if result.returncode != 0:
        raise RuntimeError(f"{command[0]} failed ({result.returncode}): {result.stderr.strip()}")


def create_backup(url: str, path: str | Path) -> Manifest:
    """Write a backup of the database at `url` to `path`, and its manifest beside it."""
    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path} exists; a backup never overwrites one")
    started, backend = time.perf_counter(), make_url(url).get_backend_name()
    if backend == "sqlite":
        source, target = sqlite3.connect(_sqlite_file(url)), sqlite3.connect(path)
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
        seconds = time.perf_counter() - started
        engine = create_engine(f"sqlite:///{path}", poolclass=NullPool)
        with engine.connect() as conn:
            tables = fingerprint(conn)
        engine.dispose()
    elif backend == "postgresql":
        tables, seconds = _dump_postgresql(url, path, started)
    else:
        raise ValueError(f"no backup method for {backend}")
    manifest = Manifest(
        backend,
        dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        round(seconds, 3),
        tables,
    )
    manifest.write(path)
    return manifest


def _dump_postgresql(url: str, path: Path, started: float) -> tuple[dict[str, TableSum], float]:
    """pg_dump reads the snapshot of an open REPEATABLE READ transaction, which is fingerprinted
    too: the manifest describes exactly what the dump holds, however busy the database is."""
    env, database = _libpq(url)
    engine = create_engine(url, poolclass=NullPool, isolation_level="REPEATABLE READ")
    try:
        with engine.connect() as conn:
            snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar()
            _run(
                [
                    "pg_dump",
                    "--format=custom",
                    "--no-owner",
                    "--no-privileges",
                    f"--snapshot={snapshot}",
                    f"--file={path}",
                    f"--dbname={database}",
                ],
                env,
            )
            seconds = time.perf_counter() - started
            tables = fingerprint(conn)
            conn.rollback()
    finally:
        engine.dispose()
    return tables, seconds


def _is_empty(url: str) -> bool:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            metadata = MetaData()
            metadata.reflect(bind=conn)
            return not metadata.tables
    finally:
        engine.dispose()


def restore_backup(path: str | Path, into_url: str) -> float:
    """Restore the backup at `path` into the EMPTY database at `into_url`; seconds taken."""
    path, backend = Path(path), make_url(into_url).get_backend_name()
    if not path.exists():
        raise FileNotFoundError(path)
    if not _is_empty(into_url):
        raise RuntimeError("the target database is not empty; restore into a new one")
    started = time.perf_counter()
    if backend == "sqlite":
        source, target = sqlite3.connect(path), sqlite3.connect(_sqlite_file(into_url))
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
    elif backend == "postgresql":
        env, database = _libpq(into_url)
        _run(
            [
                "pg_restore",
                "--no-owner",
                "--no-privileges",
                "--exit-on-error",
                "--single-transaction",
                f"--dbname={database}",
                str(path),
            ],
            env,
        )
        engine = create_engine(into_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("ANALYZE"))  # planner statistics are not part of a dump
        engine.dispose()
    else:
        raise ValueError(f"no restore method for {backend}")
    return time.perf_counter() - started
