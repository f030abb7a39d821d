"""The hub network (hubs.py) is an exact reduction of the efficacy flow: it stands for exactly
the reachable (source, demand) pairs, and its min-cost flow has exactly the optimum of the
flow with one arc per pair."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from planning_factories import assert_valid
from test_planner_properties import FAST, problems

from dispatch.planning import flow, hubflow, hubs, load_problem, plan_allocation, planner
from dispatch.planning.problem import reachable_pairs

KEEP_EVERY_HUB = -(10**9)  # HUB_MIN_SAVING that keeps every hub, however small


def covered_pairs(problem, arcs: hubs.HubArcs) -> set:
    """Every (source, demand) a hub arc stands for: the holders of its material in its node."""
    pairs = set(zip(arcs.direct_source.tolist(), arcs.direct_demand.tolist()))
    n = arcs.tree.order.size
    for k, i, m, d in zip(arcs.hub_level, arcs.hub_node, arcs.hub_material, arcs.hub_demand):
        for pos in range(i << k, min((i + 1) << k, n)):
            s = int(arcs.tree.order[pos])
            if problem.stock[s, m] > 0:
                pairs.add((s, int(d)))
    return pairs


def random_problem(seed: int, n_src=300, n_pts=25, n_mat=6) -> dict:
    """A seeded instance big enough for a deep tree, with measured travel for some pairs
    (hours that geometry does not explain) and lead times of every kind."""
    rng = np.random.default_rng(seed)
    mats = [
        {
            "id": f"m{i}",
            "unit_weight_t": float(rng.choice([0.0, 0.02, 0.5, 1.5])),
            "criticality": int(rng.integers(1, 4)),
        }
        for i in range(n_mat)
    ]
    sources = [
        {
            "id": f"s{i}",
            "lat": float(34 + rng.uniform(-3, 3)),
            "lon": float(110 + rng.uniform(-4, 4)),
            "lead_time_h": float(rng.choice([0, 0, 0, rng.uniform(1, 40)])),
            "transport_capacity_t": float(rng.uniform(1, 200)),
            "stock": {m["id"]: int(rng.integers(1, 500)) for m in mats if rng.random() < 0.4},
        }
        for i in range(n_src)
    ]
    points = [
        {
            "id": f"p{i}",
            "lat": float(34 + rng.uniform(-1, 1)),
            "lon": float(110 + rng.uniform(-1, 1)),
            "severity": int(rng.integers(1, 4)),
            "demands": [
                {
                    "material": m["id"],
                    "quantity": int(rng.integers(0, 3000)),
                    "needed_within_h": float(rng.uniform(2, 30)),
                }
                for m in mats
                if rng.random() < 0.6
            ],
        }
        for i in range(n_pts)
    ]
    travel = [
        {
            "source": s["id"],
            "point": p["id"],
            "hours": float(rng.uniform(0, 30)),
            "km": float(rng.uniform(0, 900)),
        }
        for s in sources
        for p in points
        if rng.random() < 0.05
    ]
    return {
        "materials": mats,
        "sources": sources,
        "points": points,
        "travel": travel,
        "speed_kmh": 60,
        "road_factor": 1.3,
        "handling_h": 1,
    }


def assert_exact(data: dict, monkeypatch, saving: int) -> None:
    monkeypatch.setattr(hubs, "HUB_MIN_SAVING", saving)
    problem = load_problem(data)
    source, demand = reachable_pairs(problem)
    arcs = hubs.hub_arcs(problem)
    assert covered_pairs(problem, arcs) == set(zip(source.tolist(), demand.tolist()))
    _, bound = flow.efficacy_flow(problem, source, demand)
    src, dem, units, hub_bound, reachable = hubflow.hub_efficacy_flow(problem)
    assert reachable == source.size
    assert hub_bound == bound  # the same integer optimum, not merely close
    # The decomposed flow uses reachable pairs only, within stock and demand, and delivers
    # exactly the optimum's priority-weighted value.
    reachable_set = set(zip(source.tolist(), demand.tolist()))
    assert all(p in reachable_set for p in zip(src.tolist(), dem.tolist()))
    shipped = np.zeros(problem.stock.shape)
    np.add.at(shipped, (src, problem.demand_material[dem]), units)
    assert (shipped <= problem.stock + 1e-9).all()
    got = np.bincount(dem, weights=units, minlength=problem.demand_qty.size)
    assert (got <= problem.demand_qty + 1e-9).all()
    # With the next stage, each demand still receives exactly as much.
    _, dem2, units2, bound2, _ = hubflow.hub_efficacy_flow(problem, "speed", 2)
    got2 = np.bincount(dem2, weights=units2, minlength=problem.demand_qty.size)
    assert bound2 == bound
    assert got2 == pytest.approx(got, abs=1e-6)


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("saving", [KEEP_EVERY_HUB, 0, hubs.HUB_MIN_SAVING])
def test_the_hub_network_is_the_reachable_flow_on_seeded_instances(seed, saving, monkeypatch):
    assert_exact(random_problem(seed), monkeypatch, saving)


@FAST
@given(problems(), st.sampled_from([KEEP_EVERY_HUB, 0, 100]))
def test_the_hub_network_is_the_reachable_flow_on_random_instances(data, saving):
    with pytest.MonkeyPatch.context() as mp:
        assert_exact(data, mp, saving)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10**6))
def test_hub_plans_pass_check_plan(seed):
    data = random_problem(seed, n_src=60, n_pts=8, n_mat=3)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(planner, "LP_ARC_LIMIT", -1)
        mp.setattr(hubs, "HUB_MIN_SAVING", KEEP_EVERY_HUB)
        plan = plan_allocation(data)
    assert plan.metrics["engine"] == "flow"
    assert_valid(data, plan)
    assert plan.metrics["efficacy_bound"] <= plan.metrics["weighted_unmet"] + 1e-6


def test_decompose_splits_each_hub_over_its_keys():
    # hub 7 gets 5 + 3 from keys 0 and 1 and delivers 6 + 2; hub 9 gets 4, delivers 4.
    item, arc, amount = hubs.decompose(
        np.array([7, 7, 9]), np.array([5, 3, 4]), np.array([9, 7, 7]), np.array([4, 6, 2])
    )
    triples = sorted(zip(item.tolist(), arc.tolist(), amount.tolist()))
    assert triples == [(0, 1, 5), (1, 1, 1), (1, 2, 2), (2, 0, 4)]
