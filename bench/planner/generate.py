"""Seeded synthetic planner instances at three scales and two supply conditions.

    python bench/planner/generate.py --scale province --condition scarcity --seed 1 > p.json

Shape of an instance (all choices are stated so results can be reasoned about):
- sources spread uniformly over the region; 70 % are depots (lead time 0), 30 % are
  enterprises with agreement or capacity reserves (lead time 6-48 h);
- each source holds each material with probability 0.3, 20-2,000 units;
- transport tonnage per source: 30-100 % of the tonnage it holds (a depot rarely has trucks
  for everything at once), at least 5 t;
- demand points sit in incident clusters (one for province, two for mid, three for
  national), severity 1-3, each needs each material with probability 0.3, deadline 12-72 h;
- per material, total demand = ratio x total stock, ratio drawn from 0.5-1.6 (scarcity) or
  0.1-0.4 (typical), split over the points that need it with random shares.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

SCALES = {
    # name: (sources, points, materials, region half-size in degrees (lat, lon), clusters)
    "province": (250, 50, 50, (2.5, 2.0), 1),
    "mid": (1000, 200, 100, (6.0, 8.0), 2),
    "national": (5000, 500, 200, (12.0, 22.0), 3),
}
CONDITIONS = {"scarcity": (0.5, 1.6), "typical": (0.1, 0.4)}
CENTRE = (34.0, 110.0)
PRESENCE = 0.3


def generate(scale: str, condition: str, seed: int) -> dict:
    """One instance as a problem dict (see docs/planner.md)."""
    n_src, n_pts, n_mat, half, clusters = SCALES[scale]
    rng = np.random.default_rng(
        [seed, list(SCALES).index(scale), list(CONDITIONS).index(condition)]
    )
    materials = _materials(rng, n_mat)
    stock = np.where(
        rng.random((n_src, n_mat)) < PRESENCE, rng.integers(20, 2001, (n_src, n_mat)), 0
    )
    sources = _sources(rng, stock, materials, half)
    points = _points(rng, stock, n_pts, half, clusters, CONDITIONS[condition], materials)
    return {
        "name": f"{scale}-{condition}-{seed}",
        "materials": materials,
        "sources": sources,
        "points": points,
        "speed_kmh": 60,
        "road_factor": 1.3,
        "handling_h": 1,
        "policy": {"order": ["efficacy", "equity", "speed", "cost"], "equity_tolerance": 0.02},
    }


def _materials(rng, n: int) -> list[dict]:
    weight = np.round(np.exp(rng.uniform(np.log(0.001), np.log(0.5), n)), 4)
    return [
        {
            "id": f"M{i:03d}",
            "unit_weight_t": float(weight[i]),
            "unit_volume_m3": float(weight[i] * 3),
            "criticality": int(rng.integers(1, 4)),
        }
        for i in range(n)
    ]


def _sources(rng, stock, materials, half) -> list[dict]:
    n = stock.shape[0]
    lat = CENTRE[0] + rng.uniform(-half[0], half[0], n)
    lon = CENTRE[1] + rng.uniform(-half[1], half[1], n)
    lead = np.where(rng.random(n) < 0.7, 0, rng.integers(6, 49, n))
    weight = np.array([m["unit_weight_t"] for m in materials])
    capacity = np.maximum(5.0, np.round(stock @ weight * rng.uniform(0.3, 1.0, n), 1))
    return [
        {
            "id": f"S{i:05d}",
            "lat": round(float(lat[i]), 4),
            "lon": round(float(lon[i]), 4),
            "lead_time_h": int(lead[i]),
            "transport_capacity_t": float(capacity[i]),
            "stock": {materials[m]["id"]: int(stock[i, m]) for m in np.flatnonzero(stock[i])},
        }
        for i in range(n)
    ]


def _points(rng, stock, n, half, clusters, ratio, materials) -> list[dict]:
    centres = np.column_stack(
        [
            CENTRE[0] + rng.uniform(-0.6 * half[0], 0.6 * half[0], clusters),
            CENTRE[1] + rng.uniform(-0.6 * half[1], 0.6 * half[1], clusters),
        ]
    )
    which = rng.integers(0, clusters, n)
    spread = 0.25 * np.array(half)
    lat = centres[which, 0] + rng.normal(0, spread[0], n)
    lon = centres[which, 1] + rng.normal(0, spread[1], n)
    needs = rng.random((n, stock.shape[1])) < PRESENCE
    share = needs * rng.random((n, stock.shape[1]))
    share /= np.maximum(share.sum(axis=0), 1e-12)
    total = stock.sum(axis=0) * rng.uniform(*ratio, stock.shape[1])
    qty = np.floor(share * total).astype(np.int64)
    deadline = rng.integers(12, 73, (n, stock.shape[1]))
    severity = rng.integers(1, 4, n)
    return [
        {
            "id": f"P{i:04d}",
            "lat": round(float(np.clip(lat[i], -90, 90)), 4),
            "lon": round(float(lon[i]), 4),
            "severity": int(severity[i]),
            "demands": [
                {
                    "material": materials[m]["id"],
                    "quantity": int(qty[i, m]),
                    "needed_within_h": int(deadline[i, m]),
                }
                for m in np.flatnonzero(needs[i] & (qty[i] > 0))
            ],
        }
        for i in range(n)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=SCALES, default="province")
    parser.add_argument("--condition", choices=CONDITIONS, default="scarcity")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    json.dump(generate(args.scale, args.condition, args.seed), sys.stdout)


if __name__ == "__main__":
    main()
