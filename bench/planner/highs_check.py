"""Independent cross-check of the efficacy optimum with HiGHS (highspy).

    python bench/planner/highs_check.py PROBLEM.json [--relax-tonnage]

Prints {"objective": ..., "status": ..., "seconds": ...} as JSON. It shares no code with
dispatch.planning on purpose (its own reading of the problem, its own LP) and must run in a
process of its own: ortools and highspy cannot be imported together (or-tools issue #5246).
The LP: minimise sum priority * unmet subject to demand, stock and tonnage rows over every
reachable arc; --relax-tonnage drops the tonnage rows (the flow engine's relaxation).
"""

from __future__ import annotations

import argparse
import json
import time

import highspy
import numpy as np

EARTH_RADIUS_KM = 6371.0088


def travel_matrices(data: dict, src: list, pts: list) -> tuple[np.ndarray, np.ndarray]:
    """Hours and km per (source, point): measured where given, else the documented estimate."""
    lat_s = np.radians([s["lat"] for s in src])[:, None]
    lon_s = np.radians([s["lon"] for s in src])[:, None]
    lat_p = np.radians([p["lat"] for p in pts])[None, :]
    lon_p = np.radians([p["lon"] for p in pts])[None, :]
    h = (
        np.sin((lat_p - lat_s) / 2) ** 2
        + np.cos(lat_s) * np.cos(lat_p) * np.sin((lon_p - lon_s) / 2) ** 2
    )
    km = data.get("road_factor", 1.3) * 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0, 1)))
    hours = km / data.get("speed_kmh", 60.0) + data.get("handling_h", 0.0)
    s_at = {s["id"]: i for i, s in enumerate(src)}
    p_at = {p["id"]: j for j, p in enumerate(pts)}
    for t in data.get("travel", []):
        hours[s_at[t["source"]], p_at[t["point"]]] = t["hours"]
    return hours, km


def efficacy_lp(data: dict, relax_tonnage: bool) -> highspy.HighsLp:
    mats = {m["id"]: m for m in data["materials"]}
    src, pts = data["sources"], data["points"]
    hours, _ = travel_matrices(data, src, pts)
    demands = [(j, d) for j, p in enumerate(pts) for d in p["demands"]]
    cols, rows = [], []  # columns as (cost, upper, [(row, coef)]); rows as (lower, upper)
    stock_row, tonnage_row = {}, {}
    for k, (j, d) in enumerate(demands):
        rows.append((d["quantity"], d["quantity"]))
        prio = pts[j]["severity"] * mats[d["material"]]["criticality"]
        cols.append((prio, d["quantity"], [(k, 1.0)]))  # unmet units of demand k
    for k, (j, d) in enumerate(demands):
        m = d["material"]
        for i, s in enumerate(src):
            held = s["stock"].get(m, 0)
            if held <= 0 or s.get("lead_time_h", 0) + hours[i, j] > d["needed_within_h"]:
                continue
            if (i, m) not in stock_row:
                stock_row[(i, m)] = len(rows)
                rows.append((-highspy.kHighsInf, held))
            entries = [(k, 1.0), (stock_row[(i, m)], 1.0)]
            weight = mats[m]["unit_weight_t"]
            if not relax_tonnage and weight > 0:
                if i not in tonnage_row:
                    tonnage_row[i] = len(rows)
                    rows.append((-highspy.kHighsInf, s["transport_capacity_t"]))
                entries.append((tonnage_row[i], weight))
            cols.append((0.0, min(held, d["quantity"]), entries))
    return _to_highs(cols, rows)


def _to_highs(cols: list, rows: list) -> highspy.HighsLp:
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = len(cols), len(rows)
    lp.col_cost_ = np.array([c[0] for c in cols], float)
    lp.col_lower_ = np.zeros(len(cols))
    lp.col_upper_ = np.array([c[1] for c in cols], float)
    lp.row_lower_ = np.array([r[0] for r in rows], float)
    lp.row_upper_ = np.array([r[1] for r in rows], float)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.cumsum([0] + [len(c[2]) for c in cols]).astype(np.int32)
    lp.a_matrix_.index_ = np.array([r for c in cols for r, _ in c[2]], np.int32)
    lp.a_matrix_.value_ = np.array([v for c in cols for _, v in c[2]], float)
    return lp


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("problem")
    parser.add_argument("--relax-tonnage", action="store_true")
    args = parser.parse_args()
    with open(args.problem, encoding="utf-8") as fh:
        data = json.load(fh)
    t0 = time.perf_counter()
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    h.passModel(efficacy_lp(data, args.relax_tonnage))
    h.run()
    print(
        json.dumps(
            {
                "objective": h.getInfo().objective_function_value,
                "status": h.modelStatusToString(h.getModelStatus()),
                "seconds": round(time.perf_counter() - t0, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
