"""Upload cost against a real server: every upload path with its largest file within the limits
and its worst hostile file, one at a time and three at once, while /healthz is polled.

    .venv/bin/python bench/uploads.py [--only WORD] [--rows N] [--keep]

A fresh SQLite database under /tmp gets the province demo, an operator of the agency with the
most depots, an administrator and a commander (API tokens). gunicorn then serves it (one
worker, gthread, 8 threads: the uploads and the health checks share one process) with the job
worker beside it (`flask worker run`: large report files are checked and large reports applied
there), and each case is sent with `requests` over loopback; a 202 answer is followed by
polling the submission until its check ends. For each case the script
records the answer (status and what it says), the time (until the check ended), the time per
10,000 rows, the server's RSS growth (VmRSS of the web worker plus the job worker, sampled every
20 ms, peak of the sum minus the sum before; with --workers N, every web worker's), and the
slowest /healthz answer while it ran (polled every 50 ms from another thread). Beside the
figures: the load average when the run began and the time of a fixed pure-Python loop
(3,000,000 additions), so runs on a busy machine can be told apart.

Targets (issue 15): each case answered in under 2 s per 10,000 rows, RSS growth under 150 MB
for one request and under 300 MB for three at once, /healthz under 200 ms throughout.

The last line starts with RESULT: (docs/reliability.md, `make reliability ROWS=uploads`).
"""

import argparse
import io
import json
import os
import random
import signal
import socket
import subprocess  # nosec B404
import sys
import threading
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB_PATH = Path("/tmp/emreserve_bench_uploads.db")
SECRET = "bench-uploads-secret-key-0123456789abcdef"


def pure_python_loop() -> float:
    started, total = time.perf_counter(), 0
    for i in range(3_000_000):
        total += i
    return time.perf_counter() - started


def prepare() -> dict:
    """The database and the accounts; returns tokens and the codes the files refer to."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{DB_PATH}{suffix}").unlink(missing_ok=True)
    os.environ["DATABASE_URL"], os.environ["SECRET_KEY"] = f"sqlite:///{DB_PATH}", SECRET
    from flask_migrate import upgrade
    from flask_security import hash_password
    from sqlalchemy import func, select

    from core import create_app
    from core.auth import ADMIN, COMMANDER, OPERATOR
    from core.demo import ensure_roles
    from core.extensions import db, security
    from reserve import demo
    from reserve.models import Depot, Material

    app = create_app({"APP_ENV": "development", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{DB_PATH}"})
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        demo.build_demo("province")
        ensure_roles()
        agency_id = db.session.execute(
            select(Depot.agency_id)
            .group_by(Depot.agency_id)
            .order_by(func.count().desc(), Depot.agency_id)
            .limit(1)
        ).scalar()
        out = {"agency_id": agency_id, "tokens": {}}
        for name, role, agency in (
            ("operator", OPERATOR, agency_id),
            ("admin", ADMIN, None),
            ("commander", COMMANDER, None),
        ):
            user = security.datastore.create_user(
                email=f"bench-{name}@example.org",
                password=hash_password("B-ench-2026!"),
                roles=[role],
                agency_id=agency,
            )
            db.session.commit()
            out["tokens"][name] = user.get_auth_token()
        out["depots"] = list(
            db.session.scalars(
                select(Depot.code).where(Depot.agency_id == agency_id, Depot.status == "active")
            )
        )
        out["materials"] = list(db.session.scalars(select(Material.code).limit(200)))
        db.session.commit()
    return out


# --- files -----------------------------------------------------------------------------------------


def stock_records(ctx, rows, seed=7, prefix="B"):
    rng = random.Random(seed)
    return [
        {
            "depot_code": rng.choice(ctx["depots"]),
            "material_code": rng.choice(ctx["materials"]),
            "lot_no": f"{prefix}{n:07d}",
            "quantity": rng.randint(1, 5000),
            "reserve_type": "physical",
        }
        for n in range(rows)
    ]


def stock_file(ctx, rows, fmt, prefix="B") -> bytes:
    from reserve.reporting import workbooks
    from reserve.reporting.standard import KINDS

    return (workbooks.template_xlsx if fmt == "xlsx" else workbooks.template_csv)(
        KINDS["stock"], stock_records(ctx, rows, prefix=prefix)
    )


def invalid_csv(rows) -> bytes:
    lines = ["储备库编码,物资编码,批次号,在库数量"] + [f"NOPE{n},X,L{n},-1" for n in range(rows)]
    return "\r\n".join(lines).encode()


def wide_bomb(limit=None) -> bytes:
    """The most cells per byte the limits let through: rows of MAX_COLUMNS small numbers, up to
    the expansion limit (or `limit` bytes of text: an import's own cap), with a valid header (so
    nothing stops reading early)."""
    from reserve.reporting.files import MAX_COLUMNS, MAX_UNCOMPRESSED

    header = "".join(
        f'<c r="{_col(i)}1" t="inlineStr"><is><t>c{i}</t></is></c>' for i in range(MAX_COLUMNS)
    )
    rng = random.Random(5)
    width = len("<row></row>") + MAX_COLUMNS * len("<c><v>0.123</v></c>")
    count = ((limit or MAX_UNCOMPRESSED) - 200_000) // width
    body = io.StringIO()
    body.write(
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    )
    body.write(f'<row r="1">{header}</row>')
    for n in range(2, count + 2):  # random digits: it compresses like real data, within MAX_RATIO
        body.write(
            "<row>"
            + "".join(f"<c><v>0.{rng.randrange(1000):03d}</v></c>" for _ in range(MAX_COLUMNS))
            + "</row>"
        )
    body.write("</sheetData></worksheet>")
    return _workbook_with_sheet(body.getvalue().encode()), count


def blank_bomb() -> bytes:
    sheet = (
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        '<row r="1"><c r="A1"><v>1</v></c></row><row r="1048576"><c r="A1048576"><v>1</v></c></row>'
        "</sheetData></worksheet>"
    ).encode()
    return _workbook_with_sheet(sheet)


def _col(index):
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _workbook_with_sheet(sheet: bytes) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    book.active.title = "数据"
    base = io.BytesIO()
    book.save(base)
    source = zipfile.ZipFile(io.BytesIO(base.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for info in source.infolist():
            archive.writestr(
                info.filename,
                sheet if info.filename == "xl/worksheets/sheet1.xml" else source.read(info),
            )
    return out.getvalue()


def demand_csv(ctx, rows) -> bytes:
    """Distinct (point, material) pairs: the points 点1..点N the incident was given, every material."""
    materials = ctx["materials"]
    lines = ["点位,物资编码,数量,优先级,需求时限(小时)"] + [
        f"点{n // len(materials) + 1},{materials[n % len(materials)]},{n % 90 + 1},2,12"
        for n in range(rows)
    ]
    return "\r\n".join(lines).encode()


def category_csv(rows) -> bytes:
    """A valid tree under the top class 3, parents first: 3NN, 3NNNN, 3NNNNNN."""
    codes, level = [], ["3"]
    while len(codes) < rows:
        level = [f"{parent}{n:02d}" for parent in level for n in range(1, 99)]
        codes += level
    lines = ["code,name"] + [f"{code},类{code}" for code in codes[:rows]]
    return "\r\n".join(lines).encode()


# --- the server --------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port, workers=1, config=None):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{DB_PATH}",
        "SECRET_KEY": SECRET,
        "APP_ENV": "development",
        "PYTHONPATH": str(ROOT),
    }
    settings = ["-c", str(config)] if config else []
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            *settings,
            "-w",
            str(workers),  # nosec B603
            "-k",
            "gthread",
            "--threads",
            "8",
            "-b",
            f"127.0.0.1:{port}",
            "--timeout",
            "300",
            "core:create_app()",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    import requests

    for _ in range(200):
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=30).status_code == 200:
                break
        except requests.RequestException:
            time.sleep(0.1)
    else:
        process.kill()
        raise SystemExit("the server did not start: " + process.stderr.read().decode()[-2000:])
    time.sleep(1)  # every worker up
    web = _worker_pids(process.pid)
    jobs = subprocess.Popen(
        [str(Path(sys.executable).parent / "flask"), "--app", "core:create_app", "worker", "run"],  # nosec B603
        cwd=ROOT,
        env={**env, "JOB_POLL_SECONDS": "0.2", "LOG_LEVEL": "WARNING"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return (process, jobs), (*web, jobs.pid)


def _worker_pids(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [int(child) for child in children] or [master]


def rss_mb(pids) -> float:
    total = 0.0
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) / 1024
    return total


class Watch:
    """Peak RSS of the web worker and the job worker together and the slowest /healthz while a
    case runs."""

    def __init__(self, pid, port):
        self.pid, self.port, self.stop = pid, port, threading.Event()
        self.before = rss_mb(pid)
        self.peak, self.health_max, self.health_count = self.before, 0.0, 0

    def __enter__(self):
        self.threads = [
            threading.Thread(target=self._rss, daemon=True),
            threading.Thread(target=self._health, daemon=True),
        ]
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join()

    def _rss(self):
        while not self.stop.is_set():
            self.peak = max(self.peak, rss_mb(self.pid))
            time.sleep(0.02)

    def _health(self):
        import requests

        session = requests.Session()
        while not self.stop.is_set():
            started = time.perf_counter()
            session.get(f"http://127.0.0.1:{self.port}/healthz", timeout=60)
            self.health_max = max(self.health_max, time.perf_counter() - started)
            self.health_count += 1
            time.sleep(0.05)


def send(port, case, token, n=0):
    import requests

    path = case["paths"][n] if "paths" in case else case["path"]
    fields, name, data = case.get("fields", {}), case["filename"], case["data"]
    started = time.perf_counter()
    headers = {"Authentication-Token": token, "Accept": "application/json"}
    response = requests.post(
        f"http://127.0.0.1:{port}{path}",
        data=fields,
        files={"file": (name, data)},
        headers=headers,
        timeout=600,
    )
    try:
        body = response.json()
    except ValueError:
        body = {}
    status = response.status_code
    while status == 202 and body.get("status") in (
        "checking",
        "applying",
    ):  # the job worker checks it
        time.sleep(0.1)
        body = requests.get(
            f"http://127.0.0.1:{port}{response.headers['Location']}", headers=headers, timeout=60
        ).json()
    if case.get("confirm") and body.get("status") == "ready":  # then applied by the job worker
        location = f"/api/v1/submissions/{body['id']}"
        answer = requests.post(
            f"http://127.0.0.1:{port}{location}/confirm",
            headers=headers,
            json={"fingerprint": body["fingerprint"]},
            timeout=600,
        )
        body = answer.json()
        while answer.status_code == 202 and body.get("status") == "applying":
            time.sleep(0.1)
            body = requests.get(
                f"http://127.0.0.1:{port}{location}", headers=headers, timeout=60
            ).json()
        return (
            f"{status}→{body.get('status')}",
            f"{body.get('status')}: {body.get('row_count')} rows",
            time.perf_counter() - started,
        )
    if status == 202:
        status = {"ready": "202→ready", "invalid": "202→invalid"}.get(
            body.get("status"), f"202→{body.get('status')}"
        )
    seconds = time.perf_counter() - started
    if isinstance(body, list):  # the demand import answers with the lines it created
        return status, f"{len(body)} lines", seconds
    said = body.get("detail") or body.get("status") or ""
    if isinstance(body.get("preview"), dict):
        said = f"ready, {body['preview']['counts']['new']} new"
    elif body.get("status") == "invalid" and body.get("errors"):
        said = f"invalid, {body.get('error_count')} errors: {body['errors'][0]['message']}"
    return status, str(said)[:90], seconds


def run_case(port, pids, case, ctx, parallel=1):
    token = ctx["tokens"][case["who"]]
    with Watch(pids, port) as watch, ThreadPoolExecutor(parallel) as pool:
        started = time.perf_counter()
        answers = list(pool.map(lambda n: send(port, case, token, n), range(parallel)))
        wall = time.perf_counter() - started
    rows = max(case["rows"], 1)
    return {
        "case": case["name"],
        "parallel": parallel,
        "rows": case["rows"],
        "file_mb": round(len(case["data"]) / 2**20, 1),
        "status": sorted({str(a[0]) for a in answers}),
        "said": answers[0][1],
        "seconds": round(max(a[2] for a in answers), 2),
        "s_per_10k_rows": round(max(a[2] for a in answers) / parallel * 10_000 / rows, 2),
        "rss_before_mb": round(watch.before),
        "rss_growth_mb": round(watch.peak - watch.before),
        "healthz_max_ms": round(watch.health_max * 1000),
        "healthz_polls": watch.health_count,
        "wall_s": round(wall, 2),
    }


def cases(ctx, rows):
    from dispatch.services.incidents import MAX_DEMAND_TEXT
    from reserve.reporting.files import MAX_COLUMNS, MAX_ROWS
    from reserve.services.catalog import MAX_CATEGORY_TEXT

    report = {
        "path": "/api/v1/submissions",
        "who": "operator",
        "fields": {"agency_id": ctx["agency_id"], "kind": "stock", "mode": "incremental"},
    }
    wide, wide_rows = wide_bomb()
    yield {
        **report,
        "name": f"report xlsx, {rows:,} rows (largest accepted)",
        "filename": "r.xlsx",
        "data": stock_file(ctx, rows, "xlsx"),
        "rows": rows,
    }
    yield {
        **report,
        "name": f"report csv, {rows:,} rows (largest accepted)",
        "filename": "r.csv",
        "data": stock_file(ctx, rows, "csv"),
        "rows": rows,
    }
    yield {
        **report,
        "name": f"report csv, {rows:,} rows checked and applied",
        "filename": "a.csv",
        "data": stock_file(ctx, rows, "csv", prefix="A"),
        "rows": rows,
        "confirm": True,
        "alone": True,
    }
    yield {
        **report,
        "name": f"report csv, {MAX_ROWS - 1:,} invalid rows",
        "filename": "bad.csv",
        "data": invalid_csv(MAX_ROWS - 1),
        "rows": MAX_ROWS - 1,
    }
    yield {
        **report,
        "name": f"report xlsx bomb, {wide_rows:,} rows x {MAX_COLUMNS} cells",
        "filename": "wide.xlsx",
        "data": wide,
        "rows": wide_rows,
    }
    yield {
        **report,
        "name": "report xlsx, a row at 1,048,576",
        "filename": "blank.xlsx",
        "data": blank_bomb(),
        "rows": 10_001,
    }  # read up to the blank-row limit
    yield {
        "path": "/api/v1/categories/import",
        "who": "admin",
        "name": "catalog csv, 10,000 rows (largest accepted)",
        "filename": "c.csv",
        "data": category_csv(10_000),
        "rows": 10_000,
    }
    yield {
        "path": "/api/v1/categories/import",
        "who": "admin",
        "name": f"catalog xlsx bomb, {wide_rows:,} rows",
        "filename": "wide.xlsx",
        "data": wide,
        "rows": wide_rows,
    }
    capped, capped_rows = wide_bomb(MAX_CATEGORY_TEXT)
    yield {
        "path": "/api/v1/categories/import",
        "who": "admin",
        "filename": "capped.xlsx",
        "data": capped,
        "name": f"catalog xlsx at its text cap, {capped_rows:,} rows x {MAX_COLUMNS} cells",
        "rows": capped_rows,
    }
    yield {
        "path": "DEMAND",
        "fresh": True,
        "who": "commander",
        "name": "demand csv, 2,000 rows (largest accepted)",
        "filename": "d.csv",
        "data": demand_csv(ctx, 2_000),
        "rows": 2_000,
    }
    yield {
        "path": "DEMAND",
        "who": "commander",
        "name": f"demand xlsx bomb, {wide_rows:,} rows",
        "filename": "wide.xlsx",
        "data": wide,
        "rows": wide_rows,
    }
    capped, capped_rows = wide_bomb(MAX_DEMAND_TEXT)
    yield {
        "path": "DEMAND",
        "who": "commander",
        "filename": "capped.xlsx",
        "data": capped,
        "name": f"demand xlsx at its text cap, {capped_rows:,} rows x {MAX_COLUMNS} cells",
        "rows": capped_rows,
    }


def demand_path(port, ctx) -> str:
    import requests

    headers = {"Authentication-Token": ctx["tokens"]["commander"]}
    incident = requests.post(
        f"http://127.0.0.1:{port}/api/v1/incidents",
        headers=headers,
        json={"title": "压测", "incident_type": "accident", "level": "IV", "region_code": "140100"},
    ).json()
    if "id" not in incident:
        raise SystemExit(f"no incident: {incident}")
    for n in range(10_000 // len(ctx["materials"]) + 1):
        requests.post(
            f"http://127.0.0.1:{port}/api/v1/incidents/{incident['id']}/points",
            headers=headers,
            json={"name": f"点{n + 1}", "lat": 37.8, "lon": 112.5},
        )
    return f"/api/v1/incidents/{incident['id']}/demands/import"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="cases whose name contains this")
    parser.add_argument(
        "--rows", type=int, default=None, help="rows of the largest report (default MAX_ROWS)"
    )
    parser.add_argument("--json", help="write the figures here too")
    parser.add_argument(
        "--config",
        help="a gunicorn settings file (e.g. deploy/gunicorn.conf.py); the command "
        "line's workers, threads, bind and timeout override it",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="gunicorn workers (1: uploads and health checks share a process, the worst case; "
        "deploy/gunicorn.conf.py runs 4); RSS is the sum of every worker's",
    )
    args = parser.parse_args()
    from reserve.reporting.files import MAX_ROWS

    load, loop = os.getloadavg()[0], pure_python_loop()
    print(f"load average {load:.2f}, pure-Python loop {loop:.3f} s", flush=True)
    ctx = prepare()
    port = free_port()
    servers, pids = start_server(port, args.workers, args.config)
    results = []
    try:
        demand = demand_path(port, ctx)
        for case in cases(ctx, args.rows or MAX_ROWS):
            if args.only.lower() not in case["name"].lower():
                continue
            if case["path"] == "DEMAND":
                case["path"] = demand
            for parallel in (
                (1,) if case.get("alone") else (1, 3)
            ):  # the same lots applied thrice would conflict
                if case.get(
                    "fresh"
                ):  # demands accepted once are active: each request gets an incident of its own
                    case["paths"] = [demand_path(port, ctx) for _ in range(parallel)]
                result = run_case(port, pids, case, ctx, parallel)
                results.append(result)
                print(json.dumps(result, ensure_ascii=False), flush=True)
    finally:
        for server in servers:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {"load": load, "loop_s": loop, "results": results}, ensure_ascii=False, indent=1
            )
        )
    one = [r for r in results if r["parallel"] == 1]
    three = [r for r in results if r["parallel"] == 3]
    worst = lambda rs, k: max((r[k] for r in rs), default=0)  # noqa: E731
    met = (
        worst(results, "s_per_10k_rows") < 2
        and worst(one, "rss_growth_mb") < 150
        and worst(three, "rss_growth_mb") < 300
        and worst(results, "healthz_max_ms") < 200
    )
    print(
        f"RESULT: {len(results)} runs ({len(one)} cases, alone and three at once), load {load:.1f}, "
        f"loop {loop:.2f} s: worst {worst(results, 's_per_10k_rows')} s per 10,000 rows, RSS growth "
        f"{worst(one, 'rss_growth_mb')} MB alone / {worst(three, 'rss_growth_mb')} MB three at once, "
        f"/healthz max {worst(results, 'healthz_max_ms')} ms; targets {'met' if met else 'NOT met'}"
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
