"""Benchmark the dispatch planner against greedy and an independent HiGHS solve, same run.

    python bench/planner/run.py --scales province,mid --seeds 1,2,3 \
        --highs-python /path/to/python-with-highspy --write docs/benchmarks.md

For every generated instance (bench/planner/generate.py): our plan (cold, full policy),
the greedy plan (also our "first feasible plan"), both checked with check_plan; the
efficacy LP optimum re-solved by HiGHS in a subprocess and compared with our efficacy LP
value (for the flow engine, with its bound: the same LP, rounded to the flow's scale);
and for the LP engine a re-plan after one demand is edited (+10 %), timed against a cold
plan of the edited problem. Generation time is not counted.

With `--baseline-root DIR` (an older version of the package, e.g. `git archive COMMIT
dispatch | tar -x -C DIR`, or a worktree of main), every instance runs twice, each in a
process of its own (`--planner-root`): that version first, then ours, back to back, so
before and after share the machine's load of that moment, and a second table compares them.
Every row carries the 1-minute load average and the seconds of a fixed pure-Python loop
taken right before it (`machine()`), and the process's peak resident memory.
"""

from __future__ import annotations

import argparse
import copy
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def _planner_root() -> Path:
    """`--planner-root DIR` plans with the dispatch.planning found under DIR (a baseline);
    read before the import below, so it cannot wait for argparse."""
    if "--planner-root" in sys.argv[:-1]:
        return Path(sys.argv[sys.argv.index("--planner-root") + 1]).resolve()
    return ROOT


sys.path.insert(0, str(_planner_root()))
sys.path.insert(0, str(HERE))

from generate import CONDITIONS, generate  # noqa: E402

from dispatch.planning import Replanner, check_plan, plan_allocation  # noqa: E402

SECTION = "## Dispatch planner"
HIGHS_TIMEOUT_S = 900
REPLAN_EDITS = 3
BEFORE_KEYS = ("wu", "replan_ratio", "bound", "gap", "rss_gb", "load", "loop_s", "tkm", "valid")


def machine() -> dict:
    """The 1-minute load average and the seconds of a fixed pure-Python loop (the same loop
    as the router's benchmark, ~0.5 s on this machine when quiet): how busy the machine was
    when a time was taken."""
    with open("/proc/loadavg") as f:
        load = float(f.read().split()[0])
    t0 = time.perf_counter()
    sum(i * i for i in range(10**7))
    return {"load": load, "loop_s": time.perf_counter() - t0}


def peak_rss_gb() -> float:
    """Peak resident memory of this process so far, GB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def run_instance(
    scale, condition, seed, highs_python, crosscheck, workdir, baseline, time_limit=None
) -> dict:
    if baseline:
        # Before, then after, each in a process of its own (so peak memory is the plan's),
        # right after one another: both share the machine's load of that moment.
        row = {}
        for name, root in (("before", baseline), ("ours", ROOT)):
            child = _child(root, scale, condition, seed, workdir, time_limit, highs_python)
            if name == "ours":
                row.update(child)
            else:
                row.update({f"before_{k}": child.get(k) for k in BEFORE_KEYS})
                row["before_s"] = child["ours_s"]
        return row
    row = {"scale": scale, "condition": condition, "seed": seed}
    row.update(machine())
    data = generate(scale, condition, seed)
    t0 = time.perf_counter()
    ours = plan_allocation(data, time_limit_s=time_limit)
    row["ours_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    greedy = plan_allocation(data, greedy=True)
    row["greedy_s"] = time.perf_counter() - t0
    row.update(_compare(data, ours, greedy))
    if crosscheck and highs_python:
        row.update(_highs(data, ours, highs_python, workdir))
    if ours.metrics.get("engine") == "lp":
        row.update(_replan(data))
    row["rss_gb"] = peak_rss_gb()
    return row


def _child(root: Path, scale, condition, seed, workdir, time_limit, highs_python) -> dict:
    """One instance measured by this script in a new process, planning with the
    dispatch.planning under `root`."""
    out = Path(workdir) / "child.json"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--scales", scale]
    cmd += ["--conditions", condition, "--seeds", str(seed), "--json", str(out)]
    cmd += ["--planner-root", str(root)]
    if time_limit is not None:
        cmd += ["--time-limit", str(time_limit)]
    if highs_python and root == ROOT:
        cmd += ["--highs-python", highs_python, "--crosscheck-scales", scale]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    (row,) = json.loads(out.read_text())
    row["tkm"] = row.get("tkm_ratio")
    return row


def _compare(data, ours, greedy) -> dict:
    om, gm = ours.metrics, greedy.metrics
    return {
        "arcs": ours.timings["arcs"],
        "demands": sum(len(p["demands"]) for p in data["points"]),
        "engine": om.get("engine"),
        "status": ours.status,
        "valid": check_plan(data, ours).ok and check_plan(data, greedy).ok,
        "wu": om["weighted_unmet"],
        "greedy_wu": gm["weighted_unmet"],
        "bound": om["efficacy_bound"],
        "gap": om["efficacy_gap"],
        "jain": om["jain_index"],
        "greedy_jain": gm["jain_index"],
        "tkm_ratio": om["tonne_km"] / gm["tonne_km"] if gm["tonne_km"] else None,
        "stage_efficacy": (om.get("stage_objectives") or {}).get("efficacy"),
    }


def _highs(data, ours, python, workdir) -> dict:
    path = Path(workdir) / "problem.json"
    path.write_text(json.dumps(data))
    cmd = [python, str(HERE / "highs_check.py"), str(path)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=HIGHS_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return {"highs": None, "highs_note": f"no answer in {HIGHS_TIMEOUT_S} s"}
    if done.returncode != 0:
        return {"highs": None, "highs_note": done.stderr.strip().splitlines()[-1:]}
    # highspy 1.16 prints its banner on stdout before our JSON line.
    out = json.loads(done.stdout.strip().splitlines()[-1])
    ref = (ours.metrics.get("stage_objectives") or {}).get(
        "efficacy", ours.metrics["efficacy_bound"]
    )
    diff = abs(ref - out["objective"]) / max(1.0, abs(out["objective"]))
    return {
        "highs": out["objective"],
        "highs_s": out["seconds"],
        "highs_rel_diff": diff,
        "highs_model": "full",
    }


def _replan(data) -> dict:
    """Edit one demand REPLAN_EDITS times (+10 %, +20 %, ..., at least +1 each) and re-plan
    warm; each edit is timed against a cold plan of the edited problem right after it, and
    the median ratio is kept (single pairs swung by ±0.1 with the shared machine's load)."""
    point = next(p for p in data["points"] if p["demands"])
    demand = point["demands"][0]
    step = max(1, demand["quantity"] // 10)
    replanner = Replanner(data)
    edited = copy.deepcopy(data)
    pairs, valid = [], True
    for k in range(1, REPLAN_EDITS + 1):
        new_qty = demand["quantity"] + k * step
        t0 = time.perf_counter()
        warm = replanner.set_demand(point["id"], demand["material"], new_qty)
        warm_s = time.perf_counter() - t0
        target = next(p for p in edited["points"] if p["id"] == point["id"])
        target["demands"][0]["quantity"] = new_qty
        t0 = time.perf_counter()
        cold = plan_allocation(edited)
        cold_s = time.perf_counter() - t0
        pairs.append((warm_s / cold_s, warm_s, cold_s))
        same = abs(
            warm.metrics["stage_objectives"]["efficacy"]
            - cold.metrics["stage_objectives"]["efficacy"]
        )
        valid = valid and check_plan(edited, warm).ok
        valid = valid and same <= 1e-6 * max(1.0, abs(cold.metrics["weighted_unmet"]))
    ratio, warm_s, cold_s = sorted(pairs)[len(pairs) // 2]
    return {
        "replan_s": warm_s,
        "replan_cold_s": cold_s,
        "replan_ratio": ratio,
        "replan_ratios": [p[0] for p in pairs],
        "replan_valid": valid,
    }


def table(rows: list[dict]) -> str:
    before = any("before_s" in r for r in rows)
    head = (
        "| instance | demands | arcs | engine | ours s | greedy s | weighted unmet ours / greedy "
        "| ratio | bound / greedy | efficacy gap | HiGHS rel. diff | Jain ours / greedy "
        "| t-km ratio | re-plan s (ratio) | valid |"
    )
    if before:
        head += " before s (re-plan ratio) |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        ratio = f"{r['wu'] / r['greedy_wu']:.3f}" if r["greedy_wu"] else "n/a"
        best = "n/a"
        if r["greedy_wu"] and r["bound"] is not None:
            best = f"{r['bound'] / r['greedy_wu']:.3f}"
        highs = "n/a"
        if r.get("highs") is not None:
            highs = f"{r['highs_rel_diff']:.1e} ({r['highs_model']}, {r['highs_s']:.1f} s)"
        replan = f"{r['replan_s']:.2f} ({r['replan_ratio']:.2f})" if "replan_s" in r else "n/a"
        gap = "n/a" if r["gap"] is None else f"{100 * r['gap']:.2f} %"
        tkm = "n/a" if r["tkm_ratio"] is None else f"{r['tkm_ratio']:.2f}"
        valid = "yes" if r["valid"] and r.get("replan_valid", True) else "NO"
        cells = [
            f"{r['scale']}-{r['condition']}-{r['seed']}",
            str(r["demands"]),
            "not built" if r["arcs"] is None else f"{r['arcs']:,}",
            r["engine"],
            f"{r['ours_s']:.2f}",
            f"{r['greedy_s']:.2f}",
            f"{r['wu']:,.0f} / {r['greedy_wu']:,.0f}",
            ratio,
            best,
            gap,
            highs,
            f"{r['jain']:.3f} / {r['greedy_jain']:.3f}",
            tkm,
            replan,
            valid,
        ]
        if before:
            cells.append(_before_cell(r))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def compare_table(rows: list[dict]) -> str:
    """Before and after, same instances, one run: time, memory, what each certified, and
    how busy the machine was (load average, seconds of the fixed loop) for each."""
    head = (
        "| instance | engine | before s | after s | after / before | before gap | after gap "
        "| weighted unmet before / after | t-km vs greedy before / after "
        "| peak GB before / after | load, loop s before | load, loop s after | valid |"
    )
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        if r.get("before_s") is None:
            continue
        cells = [
            f"{r['scale']}-{r['condition']}-{r['seed']}",
            r["engine"],
            f"{r['before_s']:.2f}",
            f"{r['ours_s']:.2f}",
            f"{r['ours_s'] / r['before_s']:.2f}",
            _pct(r.get("before_gap")),
            _pct(r["gap"]),
            f"{r['before_wu']:,.0f} / {r['wu']:,.0f}",
            f"{_num(r.get('before_tkm'))} / {_num(r.get('tkm_ratio'))}",
            f"{r['before_rss_gb']:.2f} / {r['rss_gb']:.2f}",
            f"{r['before_load']:.2f}, {r['before_loop_s']:.2f}",
            f"{r['load']:.2f}, {r['loop_s']:.2f}",
            "yes" if r["valid"] and r.get("before_valid", True) else "NO",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _pct(value) -> str:
    return "n/a" if value is None else f"{100 * value:.2f} %"


def _num(value) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _before_cell(r: dict) -> str:
    if r.get("before_s") is None:
        return "n/a"
    ratio = r.get("before_replan_ratio")
    return f"{r['before_s']:.2f} ({'n/a' if ratio is None else f'{ratio:.2f}'})"


def write_table(path: Path, label: str, body: str) -> None:
    """Put `body` under '### <label>' inside the '## Dispatch planner' section of `path`,
    replacing an earlier table with the same label; the rest of the file is kept."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    if SECTION not in text:
        text = text.rstrip("\n") + f"\n\n{SECTION}\n"
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    end = len(text) if end < 0 else end + 1
    section = text[start:end]
    heading = f"### {label}"
    block = f"{heading}\n\n{body}\n"
    if heading in section:
        a = section.index(heading)
        b = section.find("\n### ", a + len(heading))
        section = section[:a] + block + ("" if b < 0 else section[b:])
    else:
        section = section.rstrip("\n") + "\n\n" + block
    rest = text[end:]
    section = section.rstrip("\n") + ("\n\n" if rest else "\n")
    path.write_text(text[:start] + section + rest, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="province", help="comma list: province,mid,national")
    parser.add_argument("--conditions", default=",".join(CONDITIONS))
    parser.add_argument("--seeds", default="1", help="comma list of generator seeds")
    parser.add_argument(
        "--highs-python",
        default=None,
        help="python executable with highspy installed (skip the cross-check if unset)",
    )
    parser.add_argument(
        "--crosscheck-scales",
        default="province",
        help="scales to cross-check with HiGHS (its simplex took over 10 min on mid scarcity)",
    )
    parser.add_argument(
        "--baseline-root",
        type=Path,
        default=None,
        help="older dispatch.planning (its parent directory) that plans each instance first",
    )
    parser.add_argument(
        "--planner-root",
        type=Path,
        default=None,
        help="plan with the dispatch.planning under this directory (used for the baseline)",
    )
    parser.add_argument(
        "--time-limit",
        type=float,
        default=None,
        help="our planner's time budget in s (default: its own, 50 s above 400,000 arcs;"
        " national needs ~600 for the exact flow)",
    )
    parser.add_argument("--write", type=Path, default=None, help="markdown file to update")
    parser.add_argument("--label", default=None, help="table heading in that file")
    parser.add_argument("--json", type=Path, default=None, help="also dump raw rows here")
    parser.add_argument(
        "--from-json",
        type=Path,
        default=None,
        help="render rows saved by --json instead of running",
    )
    args = parser.parse_args()
    rows = json.loads(args.from_json.read_text()) if args.from_json else []
    with tempfile.TemporaryDirectory() as workdir:
        for scale in [] if args.from_json else args.scales.split(","):
            for condition in args.conditions.split(","):
                for seed in (int(s) for s in args.seeds.split(",")):
                    cross = scale in args.crosscheck_scales.split(",")
                    highs = args.highs_python
                    base = args.baseline_root
                    row = run_instance(
                        scale, condition, seed, highs, cross, workdir, base, args.time_limit
                    )
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    body = table(rows)
    if any(r.get("before_s") is not None for r in rows):
        body += "\n\nBefore and after, same run:\n\n" + compare_table(rows)
    print(body)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    if args.write:
        label = args.label or f"Run: scales {args.scales}, seeds {args.seeds}"
        write_table(args.write, label, body)


if __name__ == "__main__":
    main()
