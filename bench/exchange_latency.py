"""How long an approval inside takes to be visible outside, and a message written outside to
reach the desk inside, with the two networks' real processes (docs/operations.md §10).

    .venv/bin/python bench/exchange_latency.py [--rounds 5] [--seconds 15] [--gateway-seconds 5]

Builds two SQLite databases in a scratch folder (the private network's with the demo province,
the extranet's empty), a key pair per direction, and starts the two schedulers as their own
processes (`flask scheduler run`, DEPLOYMENT_ROLE internal and public, EXCHANGE_SECONDS as
given) and a stand-in for the gateway that moves finished bundles every --gateway-seconds. Then,
each round, publishes a notice inside and writes a message outside, and polls the other side
until each is there. Prints each latency, the worst, and the load average and the time of a
fixed pure-Python loop beside them.
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

from core import create_app  # noqa: E402
from core.exchange import keys  # noqa: E402
from core.extensions import db  # noqa: E402


def pure_python_loop() -> float:
    started, total = time.perf_counter(), 0
    for i in range(3_000_000):
        total += i
    return time.perf_counter() - started


def environment(folder: Path, role: str, seconds: int) -> dict:
    signing, verify = ("outbound", "inbound") if role == "internal" else ("inbound", "outbound")
    return {
        **os.environ,
        "APP_ENV": "development",
        "DATABASE_URL": f"sqlite:///{folder / role}.db",
        "DEPLOYMENT_ROLE": role,
        "EXCHANGE_OUTBOX_DIR": str(folder / role / "outbox"),
        "EXCHANGE_INBOX_DIR": str(folder / role / "inbox"),
        "EXCHANGE_ARCHIVE_DIR": str(folder / role / "archive"),
        "EXCHANGE_SIGNING_KEY": str(folder / "keys" / f"{signing}.key"),
        "EXCHANGE_VERIFY_KEYS": str(folder / "keys" / f"{verify}.pub"),
        "EXCHANGE_SECONDS": str(seconds),
        "SCHEDULER_LOCK_FILE": str(folder / f"{role}.lock"),
        "PORTAL_UPLOAD_DIR": str(folder / role / "uploads"),
        "LOG_LEVEL": "WARNING",
    }


def prepare(folder: Path) -> None:
    keys.generate(folder / "keys", "outbound")
    keys.generate(folder / "keys", "inbound")
    for role in ("internal", "public"):
        app = create_app(
            {"APP_ENV": "test", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / role}.db"}
        )
        with app.app_context():
            db.create_all()
            db.engine.dispose()
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "core:create_app", "demo", "init"],
        env=environment(folder, "internal", 15),
        cwd=ROOT,
        check=True,
        capture_output=True,
    )


def gateway(folder: Path, every: float, stop: threading.Event) -> None:
    routes = (("internal", "public"), ("public", "internal"))
    while not stop.wait(every):
        for source, target in routes:
            outbox, inbox = folder / source / "outbox", folder / target / "inbox"
            inbox.mkdir(parents=True, exist_ok=True)
            for path in outbox.glob("*.emx") if outbox.is_dir() else []:
                shutil.move(path, inbox / path.name)


def wait_for(checks: dict, limit: float) -> dict:
    """Poll each (url, query, value) of `checks` until its row is there; seconds per name, from
    one common start, or None for a row that never came within `limit`."""
    engines = {name: create_engine(url) for name, (url, _q, _v) in checks.items()}
    started, seen = time.perf_counter(), {}
    try:
        while len(seen) < len(checks) and time.perf_counter() - started < limit:
            for name, (_url, query, value) in checks.items():
                if name not in seen:
                    with engines[name].connect() as conn:
                        if conn.execute(text(query), {"v": value}).first():
                            seen[name] = time.perf_counter() - started
            time.sleep(0.25)
        return {name: seen.get(name) for name in checks}
    finally:
        for engine in engines.values():
            engine.dispose()


def write(url: str, statement: str, value: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(statement), {"v": value})
    engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=15, help="EXCHANGE_SECONDS of both sides")
    parser.add_argument("--gateway-seconds", type=float, default=5.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        prepare(folder)
        schedulers = [
            subprocess.Popen(
                [sys.executable, "-m", "flask", "--app", "core:create_app", "scheduler", "run"],
                env=environment(folder, role, args.seconds),
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for role in ("internal", "public")
        ]
        stop = threading.Event()
        mover = threading.Thread(target=gateway, args=(folder, args.gateway_seconds, stop))
        mover.start()
        inside, outside = f"sqlite:///{folder / 'internal'}.db", f"sqlite:///{folder / 'public'}.db"
        limit = 4 * args.seconds + 4 * args.gateway_seconds + 30
        try:
            check = {"first": (outside, "SELECT 1 FROM notice WHERE title <> :v", "")}
            first = wait_for(check, limit)["first"]
            print(f"first publication (reference, stock, notices) outside after {first:.1f} s")
            out_times, in_times = [], []
            for n in range(args.rounds):
                title = f"延迟测量通知 {n}"
                write(inside, "INSERT INTO notice (kind, title, body, published, published_at, "
                      "created_at, updated_at) VALUES ('notice', :v, '正文', true, "
                      "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)", title)  # fmt: skip
                message = f"延迟测量留言 {n}"
                write(outside, "INSERT INTO feedback (category, text, is_public, created_at) "
                      "VALUES ('question', :v, false, CURRENT_TIMESTAMP)", message)  # fmt: skip
                seen = wait_for(
                    {
                        "out": (outside, "SELECT 1 FROM notice WHERE title = :v", title),
                        "in": (inside, "SELECT 1 FROM feedback WHERE text = :v", message),
                    },
                    limit,
                )
                out_times.append(seen["out"])
                in_times.append(seen["in"])
                print(f"round {n + 1}: notice outside after {out_times[-1]:.1f} s, "
                      f"message inside after {in_times[-1]:.1f} s")  # fmt: skip
        finally:
            stop.set()
            mover.join()
            for process in schedulers:
                process.send_signal(signal.SIGTERM)
            for process in schedulers:
                process.wait(timeout=30)
    load, loop = os.getloadavg()[0], pure_python_loop()
    print(
        f"RESULT: EXCHANGE_SECONDS={args.seconds}, gateway every {args.gateway_seconds:g} s: "
        f"approval inside -> visible outside worst {max(out_times):.1f} s "
        f"(mean {sum(out_times) / len(out_times):.1f}), message outside -> inside worst "
        f"{max(in_times):.1f} s (mean {sum(in_times) / len(in_times):.1f}); "
        f"load average {load:.2f}, fixed loop {loop:.2f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
