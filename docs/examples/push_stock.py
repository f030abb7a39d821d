"""Example client: push an agency's stock from its own system to the reserve platform.

    python docs/examples/push_stock.py --url http://127.0.0.1:5000 --token TOKEN --agency-id 3 lots.csv

`lots.csv` has the template's machine keys as its header (depot_code, material_code, lot_no,
quantity, ...). Rows are sent in batches of up to 10,000; each batch carries an Idempotency-Key
derived from its content, so re-running after a network failure applies every batch once.
Standard library only.
"""

import argparse
import csv
import hashlib
import json
import sys
import urllib.error
import urllib.request

BATCH = 10_000


def push(url: str, token: str, body: dict) -> dict:
    data = json.dumps(body, ensure_ascii=False).encode()
    request = urllib.request.Request(url + "/api/v1/submissions/push", data=data, method="POST", headers={
        "Content-Type": "application/json", "Authentication-Token": token, "Accept-Language": "zh-CN",
        "Idempotency-Key": hashlib.sha256(data).hexdigest()})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return json.load(response)
    except urllib.error.HTTPError as error:
        problem = json.load(error)
        for cell in (problem.get("errors") or {}).get("cells", [])[:50]:
            print(f"row {cell['row']} {cell['key'] or ''}: {cell['message']}", file=sys.stderr)
        raise SystemExit(f"{error.code} {problem.get('detail')}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--agency-id", type=int, required=True)
    parser.add_argument("path")
    args = parser.parse_args()
    with open(args.path, encoding="utf-8-sig", newline="") as handle:
        rows = [{k: v for k, v in row.items() if v not in ("", None)} for row in csv.DictReader(handle)]
    for row in rows:
        row["quantity"] = int(row["quantity"])
    for start in range(0, len(rows), BATCH):
        result = push(args.url, args.token, {"agency_id": args.agency_id, "kind": "stock", "mode": "incremental",
                                             "confirm": True, "rows": rows[start:start + BATCH]})
        counts = result["preview"]["counts"]
        print(f"rows {start + 1}-{start + len(rows[start:start + BATCH])}: submission #{result['id']} "
              f"{result['status']}: {counts}")


if __name__ == "__main__":
    main()
