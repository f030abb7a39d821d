#!/usr/bin/env bash
# deploy/smoke.sh: the production steps of docs/operations.md §2, performed on this machine from
# a fresh clone against the local PostgreSQL, then one journey through the API:
#
#   fresh clone -> venv -> pip install -c requirements.lock '.[redis]' -> env file (as systemd
#   reads it) -> createdb -> db upgrade -> setup reference / agencies / admin -> users create
#   (the README's --agency SX-YJT example) -> gunicorn with 4 workers, the job worker, the
#   scheduler -> log in through the API -> incident, demand point, demand -> plan as a job
#   (202) -> 20 status polls, all 200 and consistent -> the finished plan read from every worker.
#
# Everything it starts (processes, the database, the folder) is removed on exit, pass or fail.
# Bounded: every step has its own time limit and the whole run stops after SMOKE_SECONDS.
#
# Environment: PGHOST/PGPORT/PGUSER (default 127.0.0.1:5432, postgres, trust auth as in CI),
# PYTHON (default python3), SMOKE_SECONDS (default 540), SMOKE_KEEP=1 keeps the folder.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-python3}
export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres}
LIMIT=${SMOKE_SECONDS:-540}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/emreserve-smoke.XXXXXX")
DB="emreserve_smoke_$$"
PIDS=()
STARTED=$SECONDS
DB_CREATED=

say() { printf "[smoke %3ds] %s\n" "$((SECONDS - STARTED))" "$*" >&2; }
fail() { say "FAILED: $*"; exit 1; }
left() { local rest=$((LIMIT - (SECONDS - STARTED))); [ "$rest" -gt 5 ] || fail "out of time (${LIMIT}s)"; echo "$rest"; }
# step SECONDS COMMAND...: a command with its own limit, never beyond the run's.
step() {
  local limit=$1; shift
  local rest; rest=$(left)
  [ "$limit" -lt "$rest" ] || limit=$rest
  timeout --kill-after=5 "$limit" "$@"
}

cleanup() {
  local status=$?
  set +e
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for _ in $(seq 1 75); do   # 15 s for all of them together, then KILL
    alive=
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ -n "$alive" ] || break
    sleep 0.2
  done
  for pid in "${PIDS[@]}"; do
    kill -0 "$pid" 2>/dev/null && { say "process $pid did not stop on TERM: killed"; kill -KILL "$pid" 2>/dev/null; }
  done
  if [ "$status" -ne 0 ] && [ -d "$WORK/logs" ]; then
    for log in "$WORK"/logs/*.log; do echo "----- last lines of $log"; tail -n 40 "$log"; done
  fi
  [ -n "$DB_CREATED" ] && dropdb --if-exists --force "$DB"
  if [ "${SMOKE_KEEP:-}" = 1 ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
  say "$([ "$status" -eq 0 ] && echo "passed" || echo "failed (exit $status)"); cleaned up"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# --- 1. the code: a fresh clone of the committed tree --------------------------------------
say "fresh clone of $ROOT"
mkdir -p "$WORK/logs" "$WORK/run" "$WORK/uploads"
step 120 git clone --quiet --no-hardlinks "$ROOT" "$WORK/src"
SRC="$WORK/src"

# --- 2. a venv with the locked versions (§2.1) -------------------------------------------
say "venv and pip install -c requirements.lock '.[redis]'"
step 60 "$PYTHON" -m venv "$WORK/venv"
BIN="$WORK/venv/bin"
step 300 "$BIN/pip" install --quiet --disable-pip-version-check -c "$SRC/requirements.lock" "$SRC[redis]" \
  >"$WORK/logs/pip.log" 2>&1 || fail "pip install (see pip.log)"
rm -rf "$SRC/build"

# --- 3. the environment file, filled in as an operator does and read as systemd reads it ----
say "environment file from deploy/env.example"
REDIS_URI=memory://
if command -v redis-server >/dev/null 2>&1; then
  REDIS_PORT=$(free_port)
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no >"$WORK/logs/redis.log" 2>&1 &
  PIDS+=($!)
  REDIS_URI="redis://127.0.0.1:$REDIS_PORT/0"
fi
secret() { "$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(48))'; }
sed -e "s|^DATABASE_URL=.*|DATABASE_URL=postgresql+psycopg://$PGUSER@$PGHOST:$PGPORT/$DB|" \
    -e "s|^SECRET_KEY=.*|SECRET_KEY=$(secret)|" \
    -e "s|^SECURITY_PASSWORD_SALT=.*|SECURITY_PASSWORD_SALT=$(secret)|" \
    -e "s|^RATELIMIT_STORAGE_URI=.*|RATELIMIT_STORAGE_URI=$REDIS_URI|" \
    -e "s|^PORTAL_UPLOAD_DIR=.*|PORTAL_UPLOAD_DIR=$WORK/uploads|" \
    -e "s|^PROMETHEUS_MULTIPROC_DIR=.*|PROMETHEUS_MULTIPROC_DIR=$WORK/run/metrics|" \
    -e "/^MAIL_/d" "$SRC/deploy/env.example" >"$WORK/env"
# Maintenance commands go through deploy/emreserve-cli (/usr/local/bin/emreserve on a host);
# the processes get the file the way systemd's EnvironmentFile= reads it.
export EMRESERVE_ENV_FILE="$WORK/env" EMRESERVE_VENV="$WORK/venv" EMRESERVE_USER="$(id -un)"
EMRESERVE="$SRC/deploy/emreserve-cli"
while IFS= read -r line; do
  case "$line" in ''|'#'*) continue ;; esac
  export "${line%%=*}=${line#*=}"
done <"$WORK/env"

# --- 4. the database and the first day (§2.2) --------------------------------------------
say "createdb $DB, db upgrade, first-day setup"
step 30 createdb --encoding UTF8 --template template0 "$DB"
DB_CREATED=1
cd "$WORK/run"
step 120 "$EMRESERVE" db upgrade >"$WORK/logs/upgrade.log" 2>&1 || fail "db upgrade"
step 120 "$EMRESERVE" setup reference
step 60 "$EMRESERVE" setup agencies-template -o "$WORK/agencies-template.xlsx"
step 120 "$EMRESERVE" setup agencies "$SRC/deploy/agencies.example.csv"
ADMIN_PASSWORD="Smoke-$(secret | cut -c1-20)"
EMRESERVE_ADMIN_PASSWORD="$ADMIN_PASSWORD" step 60 "$EMRESERVE" setup admin admin@province.example --agency SX-YJT
COMMANDER_PASSWORD="Smoke-$(secret | cut -c1-20)"
printf '%s\n%s\n' "$COMMANDER_PASSWORD" "$COMMANDER_PASSWORD" | \
  step 60 "$EMRESERVE" users create commander@province.example --role commander --agency SX-YJT --name 指挥员 \
  >/dev/null
( APP_ENV=production step 60 "$EMRESERVE" demo init >/dev/null 2>&1 ) && fail "demo init ran in production"
say "demo init refused in production, as it must"

# --- 5. the processes (§2.3, §2.4): web with 4 workers, the job worker, the scheduler ------
PORT=$(free_port)
BASE="http://127.0.0.1:$PORT"
say "gunicorn (4 workers) on $BASE, worker, scheduler"
GUNICORN_BIND="127.0.0.1:$PORT" WEB_CONCURRENCY=4 \
  "$BIN/gunicorn" -c "$SRC/deploy/gunicorn.conf.py" "core:create_app()" >"$WORK/logs/web.log" 2>&1 &
PIDS+=($!)
env -u PROMETHEUS_MULTIPROC_DIR "$BIN/emreserve" worker run >"$WORK/logs/worker.log" 2>&1 &
WORKER=$!
PIDS+=($WORKER)
env -u PROMETHEUS_MULTIPROC_DIR "$BIN/emreserve" scheduler run --poll 2 >"$WORK/logs/scheduler.log" 2>&1 &
SCHEDULER=$!
PIDS+=($SCHEDULER)

for _ in $(seq 1 60); do
  grep -q "scheduler active" "$WORK/logs/scheduler.log" 2>/dev/null && \
    curl -fsS --max-time 2 "$BASE/healthz" >/dev/null 2>&1 && break
  left >/dev/null
  sleep 0.5
done
curl -fsS --max-time 5 "$BASE/healthz" >/dev/null || fail "the web process does not answer /healthz"
grep -q "scheduler active" "$WORK/logs/scheduler.log" || fail "the scheduler did not become active"
kill -0 "$WORKER" 2>/dev/null || fail "the job worker is not running (emreserve worker run)"
kill -0 "$SCHEDULER" 2>/dev/null || fail "the scheduler stopped"
[ "$(grep -c 'Booting worker' "$WORK/logs/web.log")" -ge 4 ] || fail "gunicorn did not boot 4 workers"

# --- 6. the journey through the API ---------------------------------------------------------
say "log in through the API, plan an incident as a job, poll it 20 times"
SMOKE_BASE="$BASE" SMOKE_EMAIL=commander@province.example SMOKE_PASSWORD="$COMMANDER_PASSWORD" \
  step 240 "$BIN/python" - <<'PY'
import json
import os
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone

BASE = os.environ["SMOKE_BASE"]
TERMINAL_OK, TERMINAL_BAD = {"done", "succeeded", "finished"}, {"failed", "cancelled", "canceled"}
ORDER = {"queued": 0, "pending": 0, "running": 1}


def call(method, path, body=None, headers=None, expect=(200,)):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(BASE + path, data=data, method=method,
                                     headers={"Accept": "application/json", **(headers or {}),
                                              **({"Content-Type": "application/json"} if data else {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            status, text, cookies = answer.status, answer.read().decode(), answer.headers.get_all("Set-Cookie") or []
    except urllib.error.HTTPError as error:
        status, text, cookies = error.code, error.read().decode(), []
    if status not in expect:
        sys.exit(f"{method} {path}: {status} {text[:500]}")
    return status, (json.loads(text) if text else None), cookies


# The session cookie is Secure in production: carried by hand over this plain loopback HTTP.
_s, page, cookies = call("GET", "/login")
cookie = "; ".join(c.split(";", 1)[0] for c in cookies)
_s, answer, _c = call("POST", "/login?include_auth_token", {"email": os.environ["SMOKE_EMAIL"],
                                                             "password": os.environ["SMOKE_PASSWORD"]},
                      {"X-CSRF-Token": page["response"]["csrf_token"], "Cookie": cookie})
auth = {"Authentication-Token": answer["response"]["user"]["authentication_token"]}
print("logged in; API token received")

_s, incident, _c = call("POST", "/api/v1/incidents", {"title": "冒烟测试：太原市暴雨内涝", "incident_type": "natural_disaster",
                                                    "level": "IV", "region_code": "140100"}, auth, (201,))
_s, point, _c = call("POST", f"/api/v1/incidents/{incident['id']}/points",
                     {"name": "小店区安置点", "lat": 37.74, "lon": 112.56, "region_code": "140105", "population": 3000},
                     auth, (201,))
_s, materials, _c = call("GET", "/api/v1/materials?per_page=5", headers=auth)
items = materials["items"] if isinstance(materials, dict) else materials
needed_by = (datetime.now(timezone.utc) + timedelta(hours=24)).isoformat()
_s, demand, _c = call("POST", f"/api/v1/incidents/{incident['id']}/demands",
                      {"point_id": point["id"], "material_id": items[0]["id"], "quantity": 200, "needed_by": needed_by},
                      auth, (201,))
print(f"incident {incident['number']}, point {point['id']}, demand {demand['number']}")

status, job, _c = call("POST", f"/api/v1/incidents/{incident['id']}/plans", {"background": True}, auth, (202,))
assert {"id", "status"} <= set(job), f"the job answer lacks id/status: {job}"
print(f"job {job['id']} {job['status']}")

seen, rank = [], -1
for number in range(20):
    _s, polled, _c = call("GET", f"/api/v1/plan-jobs/{job['id']}", headers=auth)   # 200 or exit
    assert polled["id"] == job["id"], polled
    state = polled["status"]
    now = 2 if state in TERMINAL_OK | TERMINAL_BAD else ORDER.get(state, -1)
    assert now >= 0, f"poll {number + 1}: unknown status {state!r}"
    assert now >= rank, f"poll {number + 1}: status went back to {state!r} after {seen[-1]!r}: {seen}"
    if rank == 2:
        assert state == seen[-1], f"poll {number + 1}: a finished job changed its status: {seen + [state]}"
    rank = now
    seen.append(state)
    time.sleep(0.25)
print("20 polls, all 200:", " ".join(seen))

deadline = time.monotonic() + 120
while polled["status"] not in TERMINAL_OK | TERMINAL_BAD:
    assert time.monotonic() < deadline, f"job still {polled['status']} after 120 s"
    time.sleep(0.5)
    _s, polled, _c = call("GET", f"/api/v1/plan-jobs/{job['id']}", headers=auth)
assert polled["status"] in TERMINAL_OK, f"the job ended {polled['status']}: {polled.get('error')}"
plan_id = polled.get("plan_id") or (polled.get("result") or {}).get("plan_id")
assert plan_id, f"the finished job names no plan: {polled}"
for _ in range(8):   # the finished plan, from whichever worker answers
    _s, plan, _c = call("GET", f"/api/v1/dispatch-plans/{plan_id}", headers=auth)
    assert plan["id"] == plan_id
_s, listed, _c = call("GET", f"/api/v1/incidents/{incident['id']}/plans", headers=auth)
assert any(p["id"] == plan_id for p in listed), listed
print(f"job {job['id']} {polled['status']}; plan {plan_id} read 8 times from the pool")
PY
kill -0 "$WORKER" 2>/dev/null || fail "the job worker died during the journey"
say "all steps passed"
