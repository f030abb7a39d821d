"""Benchmark the vehicle router against today's per-line rule, same run, same instances.

    python bench/routing/run.py --scales province --seeds 1,2,3 --write docs/benchmarks.md
    python bench/routing/run.py --scales national --seeds 1,2 --write docs/benchmarks.md

For every generated instance (bench/routing/generate.py, seeded; generation not timed): the
router (`plan_routes`, no time limit, so deterministic) and the per-line rule
(`dispatch.routing.per_line`), both checked with `check_routes`; the router is run a second
time and its answer compared byte for byte (timings aside). Beside the absolute times the
table gives the machine's load average and the seconds of a fixed pure-Python loop, so that
runs on a busy machine can be told apart.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(ROOT), str(HERE)]

from generate import SCALES, generate  # noqa: E402

from dispatch.routing import check_routes, per_line, plan_routes  # noqa: E402

SECTION = "## Vehicle router"
COLUMNS = [
    ("scale", "scale"),
    ("seed", "seed"),
    ("ours_s", "ours s"),
    ("per_line_s", "per-line s"),
    ("vehicles", "vehicles ours / per-line (missing)"),
    ("ratio", "vehicle ratio"),
    ("km", "km ours / per-line"),
    ("late", "units late ours / per-line"),
    ("unassigned", "units unassigned ours / per-line (of total)"),
    ("checks", "check_routes ours / per-line"),
    ("same", "same twice"),
    ("load", "load avg"),
    ("loop_s", "loop s"),
]


def loop_seconds() -> float:
    """A fixed pure-Python loop: how fast this machine runs Python right now."""
    t0 = time.perf_counter()
    sum(i * i for i in range(10**7))
    return time.perf_counter() - t0


def run_instance(scale: str, seed: int) -> dict:
    data = generate(scale, seed)
    load, loop = os.getloadavg()[0], loop_seconds()
    t0 = time.perf_counter()
    ours = plan_routes(data)
    ours_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    base = per_line(data)
    base_s = time.perf_counter() - t0
    again = plan_routes(data)
    same = _canonical(ours) == _canonical(again)
    mo, mb = ours["metrics"], base["metrics"]
    ours_bad, base_bad = check_routes(data, ours), check_routes(data, base)
    return {
        "scale": scale,
        "seed": seed,
        "ours_s": f"{ours_s:.2f}",
        "per_line_s": f"{base_s:.2f}",
        "vehicles": f"{mo['vehicles_used']} / {mb['vehicles_used']} "
        f"({base['baseline']['vehicles_missing']})",
        "ratio": f"{mo['vehicles_used'] / max(1, mb['vehicles_used']):.2f}",
        "km": f"{mo['km']:,.0f} / {mb['km']:,.0f}",
        "late": f"{mo['units_late']:,} / {mb['units_late']:,}",
        "unassigned": f"{mo['units_unassigned']:,} / {mb['units_unassigned']:,} "
        f"({mo['units_total']:,})",
        "checks": f"{_verdict(ours_bad)} / {_verdict(base_bad)}",
        "same": "yes" if same else "NO",
        "load": f"{load:.2f}",
        "loop_s": f"{loop:.2f}",
        "status": ours["status"],
        "reasons": _reasons(ours),
    }


def _verdict(violations: list[str]) -> str:
    if not violations:
        return "valid"
    unknown = sum("is not a vehicle of the problem" in v for v in violations)
    if unknown == len(violations):
        return f"{unknown} trips on vehicles that do not exist"
    return f"{len(violations)} violations"


def _reasons(answer) -> dict:
    out: dict[str, int] = {}
    for item in answer["unassigned"]:
        out[item["reason"]] = out.get(item["reason"], 0) + item["quantity"]
    return out


def _canonical(answer) -> str:
    data = dict(answer)
    data.pop("timings", None)
    return json.dumps(data, sort_keys=True)


def render(rows: list[dict]) -> str:
    head = "| " + " | ".join(title for _, title in COLUMNS) + " |"
    rule = "|" + "---|" * len(COLUMNS)
    body = ["| " + " | ".join(str(r[key]) for key, _ in COLUMNS) + " |" for r in rows]
    notes = [
        f"- {r['scale']} seed {r['seed']}: status {r['status']}; unassigned by reason "
        f"{r['reasons'] or 'none'}"
        for r in rows
    ]
    return "\n".join([head, rule, *body, "", *notes])


def write_section(path: Path, label: str, body: str) -> None:
    """Replace or append the `### label` block inside the router's section of `path`."""
    text = path.read_text(encoding="utf-8")
    if SECTION not in text:
        text = text.rstrip("\n") + f"\n\n{SECTION}\n"
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    end = len(text) if end < 0 else end + 1
    section, heading = text[start:end], f"### {label}"
    block = f"{heading}\n\n{body}\n"
    if heading in section:
        a = section.index(heading)
        b = section.find("\n### ", a + len(heading))
        section = section[:a] + block + ("" if b < 0 else section[b + 1 :])
    else:
        section = section.rstrip("\n") + "\n\n" + block
    rest = text[end:]
    section = section.rstrip("\n") + ("\n\n" if rest else "\n")
    path.write_text(text[:start] + section + rest, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="province", help=f"comma list of {list(SCALES)}")
    parser.add_argument("--seeds", default="1", help="comma list of generator seeds")
    parser.add_argument("--write", type=Path, default=None, help="markdown file to update")
    parser.add_argument("--label", default=None, help="heading of the table in --write")
    args = parser.parse_args()
    rows = []
    for scale in args.scales.split(","):
        for seed in (int(s) for s in args.seeds.split(",")):
            rows.append(run_instance(scale, seed))
            print(json.dumps(rows[-1]), flush=True)
    table = render(rows)
    print(table)
    if args.write:
        label = args.label or f"{args.scales}, seeds {args.seeds}"
        write_section(args.write, label, table)


if __name__ == "__main__":
    main()
