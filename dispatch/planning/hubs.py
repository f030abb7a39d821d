"""Exact arc reduction for the efficacy flow: hub nodes over a tree of sources.

Efficacy has no arc costs: a (source, demand) arc only says "this source can arrive in
time". So where every source of a group reaches a demand, the demand can be fed from one
hub node of the group instead of one arc per source, and the flow keeps exactly the same
feasible receipts (same optimum, same bound).

The groups form a binary tree over the sources, ordered by lead-time class (LEAD_CLASS_H)
and then by a Morton (Z-order) code of their position, so that a node is a contiguous run of
nearby sources with similar lead times. For every node and point the tree keeps the *latest*
arrival (lead time + hours) of any of its sources, computed from the problem's own hours
(measured `travel` included), never from geometry. A node is *full* for a demand when that
latest arrival is within the deadline; fullness passes down to the children, so the
maximal full nodes partition the sources that reach the demand. Per material:

    key (s, m) -> hub (level 1 node of s, m) -> hub (its parent, m) -> ... (tree arcs, upward)
    hub (node, m) -> demand d                  one per maximal full node holding m
    key (s, m) -> demand d                     where s alone is the maximal full node

Every path key -> ... -> hub -> d runs from a source inside the hub's node, which reaches d;
every reachable (s, d) has such a path. So flows of the two networks correspond one to one
in what each key sends and each demand receives. National instance (5,000 sources, 30,000
demands): 23.7 M arcs become 3.0 M hub and direct arcs plus 0.7 M tree arcs.

`decompose` turns the hub flow back into (source, demand) amounts: level by level from the
leaves up, each hub's deliveries are drawn from what the keys below it still send upwards.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .problem import Problem

LEAD_CLASS_H = 6.0  # sources are grouped by lead time in classes this wide (national: 3.0 M
# hub arcs; 1 h: 3.7 M, 3 h: 3.3 M, one class: 14.4 M)
MORTON_BITS = 16
# A hub is kept only where it saves this many arcs (arcs x holders - arcs - holders): each
# hub is a node of the flow too. Mid scale, first flow: 0 -> 12.3 s, 20 -> 9.3 s,
# 100 -> 7.8 s, 300 -> 9.7 s, 1000 -> 11.4 s (one arc per pair: 16.4 s), under load 7.
HUB_MIN_SAVING = 100


@dataclass
class SourceTree:
    """Sources in tree order; `latest[k][i, p]` the latest arrival at point p of any source of
    node i on level k (level 0: single sources; node i covers positions [i * 2**k, ...))."""

    order: np.ndarray  # position -> source
    position: np.ndarray  # source -> position
    latest: list[np.ndarray]


@dataclass
class HubArcs:
    """The reduced arcs of one problem.

    direct_*: (source, demand) pairs where the source alone is the maximal full node.
    hub_*: (level, node, material) of each hub arc's hub, and its demand.
    """

    direct_source: np.ndarray
    direct_demand: np.ndarray
    hub_level: np.ndarray
    hub_node: np.ndarray
    hub_material: np.ndarray
    hub_demand: np.ndarray
    tree: SourceTree

    @property
    def size(self) -> int:
        return int(self.direct_source.size + self.hub_demand.size)


def source_tree(problem: Problem) -> SourceTree:
    """The binary tree over sources, with each node's latest arrival per point."""
    lat, lon = problem.source_lat, problem.source_lon
    code = _morton(_grid(lat), _grid(lon))
    lead_class = np.floor(problem.lead_time_h / LEAD_CLASS_H).astype(np.int64)
    order = np.lexsort((np.arange(lat.size), code, lead_class))
    position = np.empty_like(order)
    position[order] = np.arange(order.size)
    latest = [(problem.lead_time_h[:, None] + problem.hours)[order]]
    while latest[-1].shape[0] > 1:
        latest.append(_pairs(latest[-1], np.maximum, -np.inf))
    return SourceTree(order, position, latest)


def hub_arcs(problem: Problem, tree: SourceTree | None = None) -> HubArcs:
    """For every demand, its maximal full nodes that hold its material."""
    tree = source_tree(problem) if tree is None else tree
    holders = holder_counts(problem, tree)
    material, deadline = problem.demand_material, problem.demand_deadline_h
    # Demands grouped by point, by deadline within a point.
    by_point = np.lexsort((deadline, problem.demand_point))
    sorted_deadline = deadline[by_point]
    n_points = len(problem.point_ids)
    first = np.searchsorted(problem.demand_point[by_point], np.arange(n_points))
    last = np.searchsorted(problem.demand_point[by_point], np.arange(n_points), "right")
    parts = []
    for k, latest in enumerate(tree.latest):
        n = latest.shape[0]
        if k + 1 < len(tree.latest):
            parent = tree.latest[k + 1][np.arange(n) // 2]
        else:
            parent = np.full_like(latest, np.inf)
        # Demands at p with latest[i, p] <= deadline < parent[i, p]: node i is maximal full.
        lo, hi = np.empty(latest.shape, np.int64), np.empty(latest.shape, np.int64)
        for p in range(n_points):
            seg = sorted_deadline[first[p] : last[p]]
            lo[:, p] = first[p] + np.searchsorted(seg, latest[:, p], "left")
            hi[:, p] = first[p] + np.searchsorted(seg, parent[:, p], "left")
        count = np.maximum(hi - lo, 0).ravel()
        node = np.repeat(np.arange(n).repeat(n_points), count)
        demand = by_point[_ranges(lo.ravel(), count)]
        keep = holders[k][node, material[demand]] > 0
        parts.append((np.full(int(keep.sum()), k), node[keep], demand[keep]))
    level, node, demand = (np.concatenate(c) for c in zip(*parts))
    level, node, demand = _expand_small_hubs(problem, tree, holders, level, node, demand)
    direct = level == 0
    hub = ~direct
    return HubArcs(
        direct_source=tree.order[node[direct]],
        direct_demand=demand[direct],
        hub_level=level[hub],
        hub_node=node[hub],
        hub_material=material[demand[hub]],
        hub_demand=demand[hub],
        tree=tree,
    )


def _expand_small_hubs(problem, tree, holders, level, node, demand):
    """Hubs that save fewer arcs than HUB_MIN_SAVING become direct arcs from their holders:
    every hub is a node of the flow, and the flow solver's time grows with nodes too."""
    n_mat = len(problem.material_ids)
    material = problem.demand_material[demand]
    hub = np.flatnonzero(level > 0)
    group = (level[hub] * (tree.latest[0].shape[0] + 1) + node[hub]) * n_mat + material[hub]
    _, inverse, arcs_of = np.unique(group, return_inverse=True, return_counts=True)
    h = _holders_of(holders, level[hub], node[hub], material[hub])
    a = arcs_of[inverse]
    small = a * h - (a + h) < HUB_MIN_SAVING
    expand = hub[small]
    if expand.size == 0:
        return level, node, demand
    size = 1 << level[expand]
    start = node[expand] * size
    count = np.minimum(size, tree.latest[0].shape[0] - start)
    pos = _ranges(start, count)
    arc = np.repeat(expand, count)
    holds = problem.stock[tree.order[pos], problem.demand_material[demand[arc]]] > 0
    keep = np.ones(level.size, bool)
    keep[expand] = False
    return (
        np.concatenate([level[keep], np.zeros(int(holds.sum()), np.int64)]),
        np.concatenate([node[keep], pos[holds]]),
        np.concatenate([demand[keep], demand[arc[holds]]]),
    )


def _holders_of(holders, level, node, material):
    out = np.zeros(level.size, np.int64)
    for k in np.unique(level):
        at = level == k
        out[at] = holders[k][node[at], material[at]]
    return out


def holder_counts(problem: Problem, tree: SourceTree) -> list[np.ndarray]:
    """holders[k][i, m]: sources of node i on level k that hold material m."""
    counts = [(problem.stock[tree.order] > 0).astype(np.int32)]
    while counts[-1].shape[0] > 1:
        counts.append(_pairs(counts[-1], np.add, 0))
    return counts


def decompose(supply_hub, supply, arc_hub, amount):
    """Split each hub's deliveries over what its keys send in: returns (supply item, arc,
    amount) triples. `supply_hub[j]`, `supply[j]`: hub and flow of key arc j into a hub;
    `arc_hub[a]`, `amount[a]`: hub and flow of hub arc a. By flow conservation each hub
    receives exactly what it delivers; any split is a valid one (every key of a hub reaches
    every demand the hub feeds)."""
    items = np.flatnonzero(supply > 0)
    items = items[np.argsort(supply_hub[items], kind="stable")]
    arcs = np.flatnonzero(amount > 0)
    arcs = arcs[np.argsort(arc_hub[arcs], kind="stable")]
    if arcs.size == 0:
        empty = np.zeros(0, np.int64)
        return empty, empty, empty
    # Both sides laid end to end, hub after hub, in the same order: equal totals per hub.
    supply_end = np.cumsum(supply[items])
    arc_end = np.cumsum(amount[arcs])
    cuts = np.union1d(supply_end, arc_end)
    starts = np.concatenate([[0], cuts[:-1]])
    item = np.searchsorted(supply_end, starts, "right")
    arc = np.searchsorted(arc_end, starts, "right")
    return items[item], arcs[arc], np.diff(np.concatenate([[0], cuts]))


def _pairs(a: np.ndarray, combine, pad) -> np.ndarray:
    """Combine rows 2i and 2i + 1 (the last row alone if the count is odd)."""
    if a.shape[0] % 2:
        a = np.vstack([a, np.full((1, a.shape[1]), pad, a.dtype)])
    return combine(a[0::2], a[1::2])


def _ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenation of arange(s, s + c) for every (s, c)."""
    total = int(counts.sum())
    offset = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    return np.repeat(starts, counts) + offset


def _grid(v: np.ndarray) -> np.ndarray:
    span = float(np.ptp(v)) if v.size else 0.0
    scaled = (v - (v.min() if v.size else 0.0)) / max(span, 1e-12)
    return np.floor(scaled * (2**MORTON_BITS - 1)).astype(np.uint64)


def _morton(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Interleave the bits of x and y (Z-order): near codes are near places."""
    code = np.zeros_like(x)
    for b in range(MORTON_BITS):
        bit = np.uint64(b)
        code |= ((x >> bit) & np.uint64(1)) << np.uint64(2 * b)
        code |= ((y >> bit) & np.uint64(1)) << np.uint64(2 * b + 1)
    return code
