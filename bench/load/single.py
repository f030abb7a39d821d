"""Each request of the load scenario's staff mix, one at a time, in process (no gunicorn, no
locust): the server time a request costs alone, median and max of a few repeats, and the
number of SQL statements it runs.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/p10l_national SECRET_KEY=... \
        .venv/bin/python bench/load/single.py [-n 5] [--config /tmp/emreserve-load.json] [--only WORD]

Run bench/load/prepare.py first (same SECRET_KEY): it writes the tokens and ids used here.
`--profile WORD` prints a cProfile of the first request whose name contains WORD.
"""

import argparse
import cProfile
import json
import pstats
import statistics
import sys
import time
from pathlib import Path

from sqlalchemy import event

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT))

from core import create_app  # noqa: E402
from core.extensions import db  # noqa: E402


def requests(config: dict) -> list[tuple[str, str, str]]:
    """(name, who, path) for each kind of request the StaffApi and StaffPages users make."""
    lot, region = config["lots"][0], config["regions"][0]
    api = [
        ("stock", "/api/v1/stock?page=7&per_page=50"),
        ("stock?region_code", f"/api/v1/stock?region_code={region}"),
    ]
    api += [
        (f"totals?group_by={g}", f"/api/v1/stock/totals?group_by={g}")
        for g in ("material", "category", "region", "agency", "reserve_type")
    ]
    api += [
        ("available-within", "/api/v1/stock/available-within?hours=48"),
        ("lot", f"/api/v1/lots/{lot}"),
        ("warnings", "/api/v1/warnings?page=3"),
        ("warnings/summary", "/api/v1/warnings/summary"),
        ("incidents", "/api/v1/incidents"),
    ]
    rows = [
        (f"api {name} ({who})", who, path) for who in ("commander", "viewer") for name, path in api
    ]
    rows += [
        (f"page {path}", "session", path)
        for path in ("/stock", "/warnings", "/incidents", "/depots")
    ]
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=5)
    parser.add_argument("--config", default="/tmp/emreserve-load.json")
    parser.add_argument("--only", default="")
    parser.add_argument("--profile", default=None)
    args = parser.parse_args()
    config = json.loads(Path(args.config).read_text())
    app = create_app({"APP_ENV": "development"})
    statements = []
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", lambda *a, **k: statements.append(1))
    api, client = (
        app.test_client(),
        app.test_client(),
    )  # API callers send a token, no session cookie
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    client.post(
        "/login",
        data={
            "email": config["emails"]["commander"],
            "password": config["password"],
            "csrf_token": token,
        },
    )
    print(f"{'request':<48} {'median ms':>9} {'max ms':>7} {'SQL':>4}")
    for name, who, path in requests(config):
        if args.only not in name:
            continue
        headers = (
            {}
            if who == "session"
            else {"Authentication-Token": config["tokens"][who], "Accept": "application/json"}
        )
        times = []
        for n in range(args.n + 1):  # the first warms the worker's caches, as in a running server
            statements.clear()
            profile = (
                cProfile.Profile() if args.profile and args.profile in name and n == 1 else None
            )
            started = time.perf_counter()
            if profile:
                profile.enable()
            response = (client if who == "session" else api).get(path, headers=headers)
            if profile:
                profile.disable()
            elapsed = (time.perf_counter() - started) * 1000
            assert response.status_code == 200, (
                path,
                response.status_code,
                response.get_data(as_text=True)[:300],
            )
            if n:
                times.append(elapsed)
            if profile:
                pstats.Stats(profile).sort_stats("cumulative").print_stats(35)
        print(
            f"{name:<48} {statistics.median(times):>9.1f} {max(times):>7.1f} {len(statements):>4}"
        )


if __name__ == "__main__":
    main()
