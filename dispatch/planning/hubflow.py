"""The efficacy flow over the hub network (hubs.py), and the next stage over a few arcs.

Same network as flow.py (super source -> source -> key -> demand -> sink, in scaled tonnes),
except that a key reaches most demands through hubs: key -> hub (node of the source tree,
material) -> demand. Same optimum and bound as one arc per reachable pair (tests:
test_planner_hubs.py), national: 23.7 M key -> demand arcs become ~7 M arcs in all.

After efficacy, the speed or cost flow (which has arc costs, so no hubs) keeps every
demand's receipt and runs over the pairs efficacy used plus each demand's `cheapest` arcs
for that stage, not over every reachable pair (at national scale that second flow took as
long as the first).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .flow import Scaled, cheapest_delivery, flow_bound, scaled, solve_flow, supply_arcs
from .hubs import HubArcs, decompose, holder_counts, hub_arcs
from .problem import Problem


def hub_efficacy_flow(problem: Problem, then: str | None = None, cheapest: int = 0):
    """The efficacy flow over the hub network (hubs.py): exactly the optimum and bound of
    `efficacy_flow` over every reachable arc, with far fewer arcs.

    Returns (source, demand, units, bound, reachable): the flow as (source, demand) amounts,
    decomposed from the hubs. With `then`, the receipts are then delivered at the least cost
    for that stage over a restricted set of real arcs: the decomposed ones (so the receipts
    stay feasible) and each demand's `cheapest` reachable arcs for that stage (`cheapest_arcs`).
    `reachable` is the number of reachable (source, demand) pairs the hubs stand for.
    """
    net = _hub_network(problem)
    sc = net.scaled
    solver = solve_flow(
        net.tails, net.heads, net.caps, net.costs, {0: sc.total, net.sink: -sc.total}
    )
    bound = flow_bound(problem, solver, sc)
    supply = np.asarray(solver.flows(net.up_arcs), np.int64)
    hub_amount = np.asarray(solver.flows(net.hub_arc_ids), np.int64)
    direct_amount = np.asarray(solver.flows(net.direct_arc_ids), np.int64)
    arcs = net.arcs
    item, hub_arc, amount = decompose(net.up_heads, supply, net.hub_tails, hub_amount)
    key = net.up_keys[item]
    source = np.concatenate([arcs.direct_source, sc.key_src[key]])
    demand = np.concatenate([arcs.direct_demand, arcs.hub_demand[hub_arc]])
    flows = np.concatenate([direct_amount, amount])
    if then is not None:
        used = flows > 0
        extra_src, extra_dem = cheapest_arcs(problem, then, cheapest)
        n_src = len(problem.source_ids)
        pairs = np.unique(
            np.concatenate([demand[used] * n_src + source[used], extra_dem * n_src + extra_src])
        )
        received = np.bincount(demand, weights=flows, minlength=problem.demand_qty.size)
        source, demand = pairs % n_src, pairs // n_src
        flows = cheapest_delivery(problem, source, demand, received.astype(np.int64), then)
    units = flows / sc.per_unit[problem.demand_material[demand]]
    return source, demand, units, bound, net.reachable


@dataclass
class HubNetwork:
    tails: np.ndarray
    heads: np.ndarray
    caps: np.ndarray
    costs: np.ndarray
    sink: int
    scaled: Scaled
    arcs: HubArcs
    direct_arc_ids: np.ndarray
    hub_arc_ids: np.ndarray
    hub_tails: np.ndarray  # hub of each hub arc
    up_keys: np.ndarray  # key -> hub arcs: key, hub, arc id
    up_heads: np.ndarray
    up_arcs: np.ndarray
    reachable: int


def _hub_network(problem: Problem) -> HubNetwork:
    """super -> source -> key -> (tree of hubs) -> demand -> sink, plus super -> sink.
    Node ids: 0 super, sources, keys, demands, sink, then the hubs level by level."""
    n_src, n_mat = len(problem.source_ids), len(problem.material_ids)
    n_dem = problem.demand_qty.size
    arcs = hub_arcs(problem)
    tree = arcs.tree
    demanded = np.zeros(n_mat, bool)
    demanded[problem.demand_material] = True
    keys = np.flatnonzero(((problem.stock > 0) & demanded[None, :]).ravel())
    sc = scaled(problem, keys)
    key0 = 1 + n_src
    dem0 = key0 + keys.size
    sink = dem0 + n_dem
    key_of = np.full(n_src * n_mat, -1, np.int64)
    key_of[keys] = np.arange(keys.size)
    hub_id, up_tails, up_heads = _hub_ids(arcs, tree, sc, sink + 1, n_mat, key0)
    tails, heads, caps = supply_arcs(sc, n_src)
    direct_key = key_of[arcs.direct_source * n_mat + problem.demand_material[arcs.direct_demand]]
    hub_tail = np.zeros(arcs.hub_demand.size, np.int64)
    holders = holder_counts(problem, tree)
    reachable = direct_key.size  # each hub arc stands for one pair per holder below it
    for k in range(1, len(hub_id)):
        at = arcs.hub_level == k
        hub_tail[at] = hub_id[k][arcs.hub_node[at], arcs.hub_material[at]]
        reachable += int(holders[k][arcs.hub_node[at], arcs.hub_material[at]].sum())
    n0 = tails.size
    parts_t = [tails, key0 + direct_key, hub_tail, up_tails, dem0 + np.arange(n_dem), [0]]
    parts_h = [
        heads,
        dem0 + arcs.direct_demand,
        dem0 + arcs.hub_demand,
        up_heads,
        np.full(n_dem, sink),
        [sink],
    ]
    big = np.full(up_tails.size, sc.total, np.int64)
    parts_c = [
        caps,
        np.minimum(sc.key_cap[direct_key], sc.dem_cap[arcs.direct_demand]),
        sc.dem_cap[arcs.hub_demand],
        big,
        sc.dem_cap,
        [sc.total],
    ]
    tails_all = np.concatenate(parts_t)
    n_before_sink = tails_all.size - n_dem - 1
    costs = np.concatenate([np.zeros(n_before_sink, np.int64), -sc.reward, [0]])
    n_direct, n_hub = direct_key.size, hub_tail.size
    up0 = n0 + n_direct + n_hub
    return HubNetwork(
        tails_all,
        np.concatenate(parts_h),
        np.concatenate(parts_c),
        costs,
        sink,
        sc,
        arcs,
        n0 + np.arange(n_direct),
        n0 + n_direct + np.arange(n_hub),
        hub_tail,
        up_tails - key0,
        up_heads,
        up0 + np.arange(up_tails.size),
        reachable,
    )


def _hub_ids(arcs: HubArcs, tree, sc: Scaled, first_id: int, n_mat: int, key0: int):
    """Ids of the hubs that have demand arcs, and the arcs into them: every key into each
    hub above it (flat, not a chain of hubs: paths of two arcs kept the flow solver's work
    down; mid scale, chained 45 s, flat 12 s). Returns (ids per level, tails, heads)."""
    levels = len(tree.latest)
    hub_id = [np.full((tree.latest[0].shape[0], n_mat), -1, np.int64)]
    key_pos = tree.position[sc.key_src]
    tails, heads, next_id = [], [], first_id
    for k in range(1, levels):
        ids = np.full((tree.latest[k].shape[0], n_mat), -1, np.int64)
        at = arcs.hub_level == k
        ids[arcs.hub_node[at], arcs.hub_material[at]] = 0
        used = ids == 0
        ids[used] = next_id + np.arange(int(used.sum()))
        next_id += int(used.sum())
        hub_id.append(ids)
        hub = ids[key_pos >> k, sc.key_mat]
        has = hub >= 0
        tails.append(key0 + np.flatnonzero(has))
        heads.append(hub[has])
    empty = [np.zeros(0, np.int64)]
    return hub_id, np.concatenate(tails or empty), np.concatenate(heads or empty)


def cheapest_arcs(problem: Problem, stage: str, k: int):
    """Each demand's (up to) `k` cheapest reachable arcs for `stage`: earliest arrival
    (speed) or shortest km (cost), among the 4k best sources of its point (about 30 % of
    sources hold a given material in the generated instances)."""
    if k <= 0:
        empty = np.zeros(0, np.int64)
        return empty, empty
    arrival = problem.lead_time_h[:, None] + problem.hours  # sources x points
    metric = arrival if stage == "speed" else problem.km
    width = min(4 * k, metric.shape[0])
    best = np.argsort(metric, axis=0, kind="stable")[:width].T  # points x width
    cand = best[problem.demand_point]  # demands x width
    mat = problem.demand_material[:, None]
    ok = (problem.stock[cand, mat] > 0) & (
        arrival[cand, problem.demand_point[:, None]] <= problem.demand_deadline_h[:, None]
    )
    ok &= np.cumsum(ok, axis=1) <= k
    dem, col = np.nonzero(ok)
    return cand[dem, col], dem
