"""Load scenario: gunicorn + PostgreSQL on loopback, national-scale data, a mix of public
pages, command-staff API and pages, and report uploads; req/s and p50/p95/p99 per kind.

Kinds (the prefix of each request's name):
  public      anonymous portal pages and the public API (/portal, /api/v1/public), as fast as
              PUBLIC_USERS users can go (no think time): the throughput figure
  staff-api   stock list/totals/available-within, lot detail, warnings, incidents as a
              commander and a viewer with API tokens, at STAFF_RPS requests per second in total
  staff-page  the command staff's HTML pages (/stock, /warnings, /incidents, /depots), logged in
  upload      an operator uploads a 20-row stock report (CSV, random quantities) and confirms it

Targets (issue #10): public >= 300 req/s with p95 < 300 ms; staff API p95 < 500 ms at 50 req/s;
no errors. At the end the per-kind table is printed and written to $LOAD_RESULT (JSON), with
the load average of the machine before and after.

Exact commands (from the repository root; the database must be migrated and loaded once):

    createdb -h 127.0.0.1 -U postgres p10l_national
    export DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/p10l_national
    .venv/bin/flask --app core:create_app db upgrade
    .venv/bin/flask --app core:create_app demo load --scale national     # ~4 min, 1,000,000 lots
    .venv/bin/flask --app core:create_app demo init                      # portal demo, first warning scan
    psql -h 127.0.0.1 -U postgres -d p10l_national -c "VACUUM ANALYZE"   # index-only scans need the visibility map

    # the server: 4 processes x 8 threads (a thread waiting on PostgreSQL lets a cached
    # portal page through; sync workers queued public pages behind slow staff requests)
    export SECRET_KEY=load-test-secret-key-with-more-than-32-chars   # the tokens are signed with it
    .venv/bin/python bench/load/prepare.py -o /tmp/emreserve-load.json   # accounts, tokens, ids
    .venv/bin/gunicorn -k gthread -w 4 --threads 8 -b 127.0.0.1:8077 --access-logfile /dev/null \
        'core:create_app()' &

    # the load generator, in its own environment (locust pulls in gevent)
    python3 -m venv /tmp/locust-venv && /tmp/locust-venv/bin/pip install locust
    run() { LOAD_CONFIG=/tmp/emreserve-load.json LOAD_RESULT=/tmp/load-$1.json /tmp/locust-venv/bin/locust \
            -f bench/load/locustfile.py --headless -H http://127.0.0.1:8077 -u $2 -r $2 -t $3 --only-summary "${@:4}"; }
    run baseline 16 20s Healthz                                  # /healthz alone: the machine's baseline
    run public   16 30s PublicReader                             # public pages alone
    run staff    10 40s StaffApi                                 # staff API alone, offered 50 req/s
    run mixed    24 60s PublicReader StaffApi StaffPages Uploader
    # every target at once: public offered 11 x 30 = 330 req/s beside staff at 50 req/s
    PUBLIC_USER_RPS=30 run targets 24 60s PublicReader StaffApi StaffPages Uploader

    # each staff request alone, in process (server time and SQL statements per request)
    .venv/bin/python bench/load/single.py -n 3

`-u` is the total number of users: STAFF_USERS (default 10, each at STAFF_RPS / STAFF_USERS
req/s), 2 page readers, 1 uploader, and the rest public users (no think time). The user
classes named after the options choose what runs; `Healthz` is the baseline, run alone.
"""

import json
import os
import random
import statistics
import time
from pathlib import Path

from locust import FastHttpUser, between, constant, constant_throughput, events, task

CONFIG = json.loads(Path(os.environ.get("LOAD_CONFIG", "/tmp/emreserve-load.json")).read_text())
STAFF_RPS = float(os.environ.get("STAFF_RPS", "50"))
STAFF_USERS = int(os.environ.get("STAFF_USERS", "10"))
# Requests per second of each public user; 0: no think time (the throughput figure). Set it
# to offer the public target (e.g. 11 users x 30 = 330 req/s) while staff runs at STAFF_RPS.
PUBLIC_USER_RPS = float(os.environ.get("PUBLIC_USER_RPS", "0"))
TIMES: dict[str, list[float]] = {}
ERRORS: dict[str, int] = {}
FAILURES: dict[str, int] = {}
STARTED = {"at": None, "loadavg": None}


@events.request.add_listener
def _record(request_type, name, response_time, response_length, exception=None, **_):
    kind = name.split(":", 1)[0]
    TIMES.setdefault(kind, []).append(response_time)
    if exception is not None:
        ERRORS[kind] = ERRORS.get(kind, 0) + 1
        key = f"{name}: {str(exception)[:80]}"
        FAILURES[key] = FAILURES.get(key, 0) + 1


@events.test_start.add_listener
def _start(environment, **_):
    STARTED["loadavg"] = os.getloadavg()


@events.spawning_complete.add_listener
def _spawned(user_count, **_):
    TIMES.clear()
    ERRORS.clear()
    FAILURES.clear()
    STARTED["at"] = time.monotonic()


def _percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


@events.quitting.add_listener
def _report(environment, **_):
    elapsed = time.monotonic() - (STARTED["at"] or time.monotonic())
    rows = {}
    for kind, values in sorted(TIMES.items()):
        rows[kind] = {
            "requests": len(values),
            "rps": round(len(values) / elapsed, 1) if elapsed else 0,
            "p50_ms": round(_percentile(values, 0.50)),
            "p95_ms": round(_percentile(values, 0.95)),
            "p99_ms": round(_percentile(values, 0.99)),
            "mean_ms": round(statistics.fmean(values)),
            "errors": ERRORS.get(kind, 0),
        }
    result = {
        "seconds": round(elapsed, 1),
        "loadavg_before": STARTED["loadavg"],
        "loadavg_after": os.getloadavg(),
        "kinds": rows,
        "failures": FAILURES,
    }
    print(
        f"\n{'kind':<11} {'requests':>8} {'req/s':>7} {'p50':>6} {'p95':>6} {'p99':>6} {'errors':>6}   "
        f"({elapsed:.0f} s after ramp-up; load average before {STARTED['loadavg']}, after {os.getloadavg()})"
    )
    for kind, row in rows.items():
        print(
            f"{kind:<11} {row['requests']:>8} {row['rps']:>7} {row['p50_ms']:>6} {row['p95_ms']:>6} "
            f"{row['p99_ms']:>6} {row['errors']:>6}"
        )
    for key, n in sorted(FAILURES.items(), key=lambda kv: -kv[1])[:10]:
        print(f"  {n} x {key}")
    if os.environ.get("LOAD_RESULT"):
        Path(os.environ["LOAD_RESULT"]).write_text(json.dumps(result, indent=1))


def _get(client, name, path, **kwargs):
    with client.get(path, name=name, catch_response=True, **kwargs) as response:
        if response.status_code != 200:
            response.failure(f"HTTP {response.status_code}")


class Healthz(FastHttpUser):
    """The baseline: /healthz (one SELECT 1) as fast as possible; run alone, before the mix."""

    wait_time = constant(0)

    @task
    def healthz(self):
        _get(self.client, "baseline:/healthz", "/healthz")


class PublicReader(FastHttpUser):
    """A citizen: the portal's pages and public API, one after the other, no think time
    (or paced at PUBLIC_USER_RPS)."""

    weight = 100
    wait_time = constant_throughput(PUBLIC_USER_RPS) if PUBLIC_USER_RPS else constant(0)

    @task(4)
    def index(self):
        _get(self.client, "public:/portal/", "/portal/")

    @task(2)
    def notices(self):
        _get(self.client, "public:/portal/notices", "/portal/notices")

    @task(1)
    def suppliers(self):
        _get(self.client, "public:/portal/suppliers", "/portal/suppliers")

    @task(2)
    def board(self):
        _get(self.client, "public:/portal/board", "/portal/board")

    @task(1)
    def feedback(self):
        _get(self.client, "public:/portal/feedback", "/portal/feedback")

    @task(2)
    def overview_api(self):
        _get(self.client, "public:/api/v1/public/overview", "/api/v1/public/overview")


class StaffApi(FastHttpUser):
    """Command staff's systems and dashboards on the API, paced to STAFF_RPS in total."""

    fixed_count = STAFF_USERS
    wait_time = constant_throughput(STAFF_RPS / STAFF_USERS)

    def on_start(self):
        who = random.choice(["commander", "viewer"])
        self.headers = {"Authentication-Token": CONFIG["tokens"][who], "Accept": "application/json"}

    def _api(self, name, path):
        _get(self.client, f"staff-api:{name}", path, headers=self.headers)

    @task(4)
    def stock_page(self):
        self._api("/api/v1/stock", f"/api/v1/stock?page={random.randint(1, 20)}&per_page=50")

    @task(2)
    def stock_filtered(self):
        self._api(
            "/api/v1/stock?region_code",
            f"/api/v1/stock?region_code={random.choice(CONFIG['regions'])}",
        )

    @task(2)
    def totals(self):
        group = random.choice(["material", "category", "region", "agency", "reserve_type"])
        self._api("/api/v1/stock/totals", f"/api/v1/stock/totals?group_by={group}")

    @task(1)
    def within(self):
        self._api("/api/v1/stock/available-within", "/api/v1/stock/available-within?hours=48")

    @task(2)
    def lot(self):
        self._api("/api/v1/lots/<id>", f"/api/v1/lots/{random.choice(CONFIG['lots'])}")

    @task(3)
    def warnings(self):
        self._api("/api/v1/warnings", f"/api/v1/warnings?page={random.randint(1, 5)}")

    @task(1)
    def warning_summary(self):
        self._api("/api/v1/warnings/summary", "/api/v1/warnings/summary")

    @task(2)
    def incidents(self):
        self._api("/api/v1/incidents", "/api/v1/incidents")


class StaffPages(FastHttpUser):
    """A duty commander in the browser: logs in once, then reads the pages."""

    fixed_count = 2
    wait_time = between(0.5, 1.5)

    def on_start(self):
        import re

        page = self.client.get("/login", name="staff-page:/login")
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
        self.client.post(
            "/login",
            name="staff-page:/login POST",
            data={
                "email": CONFIG["emails"]["commander"],
                "password": CONFIG["password"],
                "csrf_token": token,
            },
        )

    @task(3)
    def stock(self):
        _get(self.client, "staff-page:/stock", "/stock")

    @task(2)
    def warnings(self):
        _get(self.client, "staff-page:/warnings", "/warnings")

    @task(1)
    def incidents(self):
        _get(self.client, "staff-page:/incidents", "/incidents")

    @task(1)
    def depots(self):
        _get(self.client, "staff-page:/depots", "/depots")


class Uploader(FastHttpUser):
    """A county operator uploads a 20-row stock report and confirms it, every few seconds."""

    fixed_count = 1
    wait_time = between(2, 4)

    def on_start(self):
        self.headers = {
            "Authentication-Token": CONFIG["tokens"]["operator"],
            "Accept": "application/json",
        }

    @task
    def upload(self):
        lines = [
            "depot_code,material_code,material_name,lot_no,quantity,expiry_date,production_date"
        ]
        for n in range(20):
            lines.append(
                f"{CONFIG['depots'][n % len(CONFIG['depots'])]},{CONFIG['materials'][n % len(CONFIG['materials'])]},"
                f",LOAD-{n:03d},{random.randint(1, 1000)},,"
            )
        body = ("\n".join(lines) + "\n").encode()
        with self.client.post(
            "/api/v1/submissions",
            name="upload:/api/v1/submissions",
            headers=self.headers,
            files={"file": ("load.csv", body, "text/csv")},
            data={"agency_id": str(CONFIG["agency_id"]), "kind": "stock", "mode": "incremental"},
            catch_response=True,
        ) as response:
            if response.status_code != 201:
                response.failure(f"HTTP {response.status_code}: {response.text[:200]}")
                return
            submission = response.json()
        with self.client.post(
            f"/api/v1/submissions/{submission['id']}/confirm",
            name="upload:/confirm",
            headers=self.headers,
            json={"fingerprint": submission.get("fingerprint")},
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}: {response.text[:200]}")
