"""Seeded synthetic routing instances at province and national scale.

    python bench/routing/generate.py --scale province --seed 1 > routing-p1.json

Shape of an instance (every choice is stated so results can be reasoned about):
- depots uniform over the region (province: 5 x 4 degrees, ~550 x 350 km; national:
  24 x 44 degrees); they open at 0-2 h and load 0.05-0.2 h per tonne;
- demand points in incident clusters (province one, national six), unloading 0.3-1.0 h;
- vehicles spread evenly over depots (3-4 each on average), types 2 t / 10 m³ (30 %),
  5 t / 25 m³ (35 %), 10 t / 45 m³ (25 %), 20 t / 70 m³ (10 %); 20 % become available
  only 2-6 h in; a few (10 %) limited to 3 stops;
- each delivery: a depot (uniform), one of that depot's 6 nearest points, a material,
  0.5-5 t of it in whole units, due in 6-48 h, priority 1-3; then, as an approved allocation
  respects each depot's transport capacity, a depot's quantities are scaled down where
  they would weigh or fill more than 80 % of its fleet's payload or volume;
- materials, unit weight / volume: tent 0.03 t / 0.15 m³, quilt 0.003 t / 0.03 m³,
  bottled water (case) 0.018 t / 0.025 m³, ration box 0.01 t / 0.02 m³, folding bed
  0.015 t / 0.08 m³ (bulky items make volume bind before weight).
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

SCALES = {
    # name: (depots, deliveries, vehicles, points, region half-size (lat, lon) deg, clusters)
    "province": (40, 300, 150, 60, (2.5, 2.0), 1),
    "national": (400, 3000, 1500, 600, (12.0, 22.0), 6),
}
CENTRE = (34.0, 110.0)
MATERIALS = [
    # id, unit weight t, unit volume m³
    ("tent", 0.03, 0.15),
    ("quilt", 0.003, 0.03),
    ("water", 0.018, 0.025),
    ("ration", 0.01, 0.02),
    ("bed", 0.015, 0.08),
]
VEHICLE_TYPES = [(2, 10, 0.30), (5, 25, 0.35), (10, 45, 0.25), (20, 70, 0.10)]
NEAREST_POINTS = 6
FLEET_SHARE = (
    0.8,
    0.8,
)  # most a depot's deliveries may weigh / fill of its fleet's payload / volume


def generate(scale: str, seed: int) -> dict:
    """One instance as a routing problem dict (docs/routing.md)."""
    n_dep, n_del, n_veh, n_pts, half, clusters = SCALES[scale]
    rng = np.random.default_rng([seed, list(SCALES).index(scale), 7])
    dep_lat = CENTRE[0] + rng.uniform(-half[0], half[0], n_dep)
    dep_lon = CENTRE[1] + rng.uniform(-half[1], half[1], n_dep)
    depots = [
        {
            "id": f"D{i:03d}",
            "lat": round(float(dep_lat[i]), 4),
            "lon": round(float(dep_lon[i]), 4),
            "opens_h": round(float(rng.uniform(0, 2)), 2),
            "loading_h_per_t": round(float(rng.uniform(0.05, 0.2)), 3),
        }
        for i in range(n_dep)
    ]
    pt_lat, pt_lon = _points(rng, n_pts, half, clusters, dep_lat, dep_lon)
    vehicles = _vehicles(rng, n_veh, n_dep)
    deliveries = _deliveries(rng, n_del, dep_lat, dep_lon, pt_lat, pt_lon)
    points = [
        {
            "id": f"P{i:04d}",
            "lat": round(float(pt_lat[i]), 4),
            "lon": round(float(pt_lon[i]), 4),
            "unloading_h": round(float(rng.uniform(0.3, 1.0)), 2),
        }
        for i in range(n_pts)
    ]
    return {
        "name": f"{scale}-{seed}",
        "depots": depots,
        "vehicles": vehicles,
        "points": points,
        "deliveries": _within_fleet(deliveries, vehicles),
        "speed_kmh": 60,
        "road_factor": 1.3,
    }


def _points(rng, n, half, clusters, dep_lat, dep_lon):
    """Half the points around incident centres, half near depots (every depot has some
    points within reach)."""
    centres = np.column_stack(
        [
            CENTRE[0] + rng.uniform(-0.7 * half[0], 0.7 * half[0], clusters),
            CENTRE[1] + rng.uniform(-0.7 * half[1], 0.7 * half[1], clusters),
        ]
    )
    k = n // 2
    which = rng.integers(0, clusters, k)
    lat = list(centres[which, 0] + rng.normal(0, 0.2 * half[0] / clusters**0.5, k))
    lon = list(centres[which, 1] + rng.normal(0, 0.2 * half[1] / clusters**0.5, k))
    near = rng.integers(0, dep_lat.size, n - k)
    lat += list(dep_lat[near] + rng.normal(0, 0.4, n - k))
    lon += list(dep_lon[near] + rng.normal(0, 0.4, n - k))
    return np.clip(lat, -89, 89), np.array(lon)


def _vehicles(rng, n, n_dep) -> list[dict]:
    depot = np.concatenate([np.arange(n_dep), rng.integers(0, n_dep, max(0, n - n_dep))])[:n]
    kinds = rng.choice(len(VEHICLE_TYPES), n, p=[t[2] for t in VEHICLE_TYPES])
    out = []
    for i in range(n):
        payload, volume, _ = VEHICLE_TYPES[kinds[i]]
        item = {
            "id": f"V{i:04d}",
            "depot": f"D{int(depot[i]):03d}",
            "payload_t": payload,
            "volume_m3": volume,
            "speed_kmh": 50 if payload >= 10 else 60,
            "available_from_h": round(float(rng.uniform(2, 6)), 1) if rng.random() < 0.2 else 0,
        }
        if rng.random() < 0.1:
            item["max_stops"] = 3
        out.append(item)
    return out


def _deliveries(rng, n, dep_lat, dep_lon, pt_lat, pt_lon) -> list[dict]:
    dist = (dep_lat[:, None] - pt_lat[None, :]) ** 2 + (
        (dep_lon[:, None] - pt_lon[None, :]) * np.cos(np.radians(dep_lat[:, None]))
    ) ** 2
    nearest = np.argsort(dist, axis=1, kind="stable")[:, :NEAREST_POINTS]
    out = []
    for i in range(n):
        d = int(rng.integers(0, dep_lat.size))
        p = int(nearest[d, rng.integers(0, NEAREST_POINTS)])
        material, weight, volume = MATERIALS[int(rng.integers(0, len(MATERIALS)))]
        tonnes = float(rng.uniform(0.5, 5.0))
        out.append(
            {
                "id": f"L{i:05d}",
                "depot": f"D{d:03d}",
                "point": f"P{p:04d}",
                "material": material,
                "quantity": max(1, int(tonnes / weight)),
                "unit_weight_t": weight,
                "unit_volume_m3": volume,
                "due_h": int(rng.integers(6, 49)),
                "priority": int(rng.integers(1, 4)),
            }
        )
    return out


def _within_fleet(deliveries: list[dict], vehicles: list[dict]) -> list[dict]:
    """Scale each depot's quantities down to at most FLEET_SHARE of its fleet's payload and
    volume: an approved allocation respects the depot's transport capacity."""
    fleet: dict[str, list[float]] = {}
    for v in vehicles:
        cap = fleet.setdefault(v["depot"], [0.0, 0.0])
        cap[0] += v["payload_t"]
        cap[1] += v["volume_m3"]
    asked: dict[str, list[float]] = {}
    for d in deliveries:
        need = asked.setdefault(d["depot"], [0.0, 0.0])
        need[0] += d["quantity"] * d["unit_weight_t"]
        need[1] += d["quantity"] * d["unit_volume_m3"]
    for d in deliveries:
        cap, need = fleet[d["depot"]], asked[d["depot"]]
        factor = min(1.0, FLEET_SHARE[0] * cap[0] / need[0], FLEET_SHARE[1] * cap[1] / need[1])
        d["quantity"] = max(1, int(d["quantity"] * factor))
    return deliveries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=list(SCALES), default="province")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    json.dump(generate(args.scale, args.seed), sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
