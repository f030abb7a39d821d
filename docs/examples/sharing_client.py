"""Example external system: follow the platform's stock feed and push a report back.

    python docs/examples/sharing_client.py --url http://127.0.0.1:5000 --token TOKEN [--state feed.json]

The token belongs to an external client registered by an administrator (page "External
systems", or POST /api/v1/sharing/clients) with the scopes `read:stock` and `push:submissions`,
acting for an agency. The script

1. says who it is (GET /api/v1/me) and what the catalog offers;
2. follows GET /api/v1/sharing/feeds/stock from the cursor kept in the state file, page by
   page, applying upserts and deletes to a local copy (a real system would write its database);
3. pushes a stock count for one of its own lots (POST /api/v1/submissions/push, confirm: true),
   with an Idempotency-Key so a retry is applied once;
4. follows the feed again: the change it just made comes back with a higher `seq`.

Standard library only.
"""

import argparse
import hashlib
import json
import os
import sys
import time
import urllib.error
import urllib.request


class Platform:
    def __init__(self, url: str, token: str):
        self.url, self.token = url.rstrip("/"), token

    def call(self, method: str, path: str, body=None, headers=None):
        data = json.dumps(body, ensure_ascii=False).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method, headers={
            "Authentication-Token": self.token, "Accept-Language": "zh-CN", "Accept": "application/json",
            **({"Content-Type": "application/json"} if data else {}), **(headers or {})})
        for attempt in range(5):
            try:
                with urllib.request.urlopen(request, timeout=60) as response:
                    return json.load(response)
            except urllib.error.HTTPError as error:
                if error.code == 429 and attempt < 4:          # rate limit: wait as told, then retry
                    time.sleep(int(error.headers.get("Retry-After", "1")))
                    continue
                problem = json.load(error)
                raise SystemExit(f"{method} {path}: {error.code} {problem.get('title')}: {problem.get('detail')}")


def follow(platform: Platform, kind: str, state: dict) -> int:
    """Apply every change after state['cursor'] to state['records']; returns how many came."""
    seen = 0
    while True:
        page = platform.call("GET", f"/api/v1/sharing/feeds/{kind}?cursor={state['cursor']}&limit=500")
        for item in page["items"]:
            if item["op"] == "upsert":
                state["records"][str(item["id"])] = item["record"]
            else:
                state["records"].pop(str(item["id"]), None)
        seen += len(page["items"])
        state["cursor"] = page["next_cursor"]
        if not page["has_more"]:
            return seen


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--state", default="stock-feed.json", help="where the cursor and the local copy live")
    args = parser.parse_args()
    platform = Platform(args.url, args.token)

    me = platform.call("GET", "/api/v1/me")
    agency = me.get("agency") or {}
    agency_id = agency.get("id")
    print(f"client account {me['email']}, acting for {agency.get('name')} (agency {agency_id})")
    catalog = platform.call("GET", "/api/v1/sharing/resources?kind=stock&per_page=200")
    shared = sum(1 for e in catalog["items"] if e["my_access"] in ("own", "unconditional", "grant"))
    print(f"catalog: {catalog['total']} stock resources, {shared} readable by this client")

    state = {"cursor": 0, "records": {}}
    if os.path.exists(args.state):
        with open(args.state, encoding="utf-8") as handle:
            state = json.load(handle)
    started = time.perf_counter()
    changes = follow(platform, "stock", state)
    print(f"feed: {changes} changes applied in {time.perf_counter() - started:.1f} s; "
          f"local copy {len(state['records'])} lots, cursor {state['cursor']}")

    own = [r for r in state["records"].values() if r.get("owner_agency_id") == agency_id]
    if not own:
        raise SystemExit("no lot of this client's agency in the feed: nothing to report")
    lot = sorted(own, key=lambda r: r["id"])[0]
    counted = lot["on_hand"] + 1
    body = {"agency_id": agency_id, "kind": "stock", "mode": "incremental", "confirm": True,
            "rows": [{"depot_code": lot["depot_code"], "material_code": lot["material_code"], "lot_no": lot["lot_no"],
                      "quantity": counted}]}
    key = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
    submission = platform.call("POST", "/api/v1/submissions/push", body, {"Idempotency-Key": key})
    print(f"push: submission {submission['id']} {submission['status']}: lot {lot['id']} "
          f"({lot['depot_code']} {lot['material_name']} {lot['lot_no']}) {lot['on_hand']} -> {counted}")

    changes = follow(platform, "stock", state)
    print(f"feed again: {changes} change(s); lot {lot['id']} now {state['records'][str(lot['id'])]['on_hand']} "
          f"in the local copy, cursor {state['cursor']}")
    with open(args.state, "w", encoding="utf-8") as handle:
        json.dump(state, handle, ensure_ascii=False)


if __name__ == "__main__":
    sys.exit(main())
