"""Pre-positioning: the transfers between depots and the purchases that raise the worst
scenario's weighted coverage most for a budget. One LP over the scenario set (OR-Tools GLOP),
pure: plain dicts in, plain dicts out.

Data: the stock snapshot per window (physical stock the same in every window), the scenarios,
candidate destination depots (the `nearest` depots to each affected county), unit prices and the
transfer cost per tonne-km.
Variables:
  move[a, b, m]   units of material m moved from depot a's physical stock to depot b
  buy[b, m]       units bought into depot b
  y[s, w, j, g, m] units source j sends the county group g (counties reached by the same
                  sources: lead time + travel hours ≤ w, the planner's arcs) in scenario s, window w
  share[s, w, c, m] what county c of the group gets
  z               the worst scenario's weighted coverage (mean over the windows)
Constraints: a depot moves out at most what it holds; in each scenario and window a source ships
at most its stock after the moves and purchases, and at most its transport capacity in tonnes;
a county gets at most what it asks; the moves' and purchases' cost stays within the budget;
z ≤ each scenario's weighted coverage.
Objective: maximise z, then (1e-3) the mean coverage, then (1e-4) spend less.
The solution is rounded down to whole units; what it really achieves is measured afterwards by
the assessment itself (services.recommend), never taken from the LP.
"""

from collections import defaultdict

from ortools.linear_solver import pywraplp

from . import rules


def _hours(settings: dict, lat1, lon1, lat2, lon2) -> tuple[float, float]:
    km = rules.distance_km(lat1, lon1, lat2, lon2) * settings["road_factor"]
    return km / settings["speed_kmh"] + settings["handling_h"], km


def candidate_depots(scenarios: list[dict], depots: dict, nearest: int) -> list[int]:
    """The `nearest` depots (by distance) to each affected county of any scenario."""
    chosen = set()
    for scenario in scenarios:
        for point in scenario["points"]:
            ranked = sorted(
                depots,
                key=lambda d: (
                    rules.distance_km(
                        point["lat"], point["lon"], depots[d]["lat"], depots[d]["lon"]
                    ),
                    d,
                ),
            )
            chosen.update(ranked[:nearest])
    return sorted(chosen)


def physical_stock(snapshot: dict) -> dict:
    """{(depot, material): units} of physical stock (the same in every window)."""
    window = min(snapshot)
    return {
        (s["depot_id"], m): q
        for s in snapshot[window]
        if s["kind"] == "physical"
        for m, q in s["stock"].items()
        if q > 0
    }


class _Model:
    def __init__(self, data: dict):
        self.data = data
        self.solver = pywraplp.Solver.CreateSolver("GLOP")
        self.weight = {m["id"]: m["unit_weight_t"] for m in data["materials"]}
        self.cost_terms = []
        self.coverage = {}
        self._shipped = defaultdict(lambda: defaultdict(list))  # source n -> material -> flows
        self._tonnes = defaultdict(list)

    def build(self):
        data, solver = self.data, self.solver
        demanded = {
            d["material"] for s in data["scenarios"] for d in s["demands"] if d["asked"] > 0
        }
        self.phys = {k: q for k, q in physical_stock(data["snapshot"]).items() if k[1] in demanded}
        self.depots = data["depots"]
        self.dest = [d for d in data["destinations"] if d in self.depots]
        # data → variables
        self.move = {}
        for (a, m), units in self.phys.items():
            for b in self.dest:
                if b != a and a in self.depots:
                    self.move[a, b, m] = solver.NumVar(0, units, f"move_{a}_{b}_{m}")
                    km = _hours(data["settings"], *self._at(a), *self._at(b))[1]
                    self.cost_terms.append(
                        (self.move[a, b, m], self.weight[m] * km * data["cost_per_tkm"])
                    )
        self.buy = {}
        for b in self.dest:
            for m in demanded:
                if data["prices"].get(m):
                    self.buy[b, m] = solver.NumVar(0, data["max_units"], f"buy_{b}_{m}")
                    self.cost_terms.append((self.buy[b, m], data["prices"][m]))
        for (a, m), units in self.phys.items():
            outs = [v for (x, _b, mm), v in self.move.items() if x == a and mm == m]
            if outs:
                solver.Add(sum(outs) <= units)
        solver.Add(sum(c * v for v, c in self.cost_terms) <= data["budget"])
        self.z = solver.NumVar(0, 1, "z")
        for scenario in data["scenarios"]:
            self.coverage[scenario["key"]] = self._scenario(scenario)
            solver.Add(self.z <= self.coverage[scenario["key"]])
        return self

    def _at(self, depot):
        return self.depots[depot]["lat"], self.depots[depot]["lon"]

    def _scenario(self, scenario: dict):
        """The scenario's weighted coverage as a linear expression. Counties that the same
        sources reach in a window form one group: a source ships to the group, and the group's
        counties share what arrives (exact: inside a group any source serves any county), so a
        window every source reaches in time costs sources × materials variables, not × counties."""
        data = self.data
        asked = {(d["county"], d["material"]): d for d in scenario["demands"] if d["asked"] > 0}
        total = sum(d["weight"] * d["asked"] for d in asked.values()) * len(data["windows"])
        delivered = []
        for window in data["windows"]:
            sources = list(self._sources(window))
            groups = defaultdict(list)  # reachable sources -> counties
            for point in scenario["points"]:
                reach = tuple(
                    n
                    for n, (source, _stock) in enumerate(sources)
                    if source.get("lead_time_h", 0)
                    + _hours(
                        data["settings"], source["lat"], source["lon"], point["lat"], point["lon"]
                    )[0]
                    <= window
                )
                groups[reach].append(point["id"])
            for reach, counties in groups.items():
                delivered += self._group(sources, reach, counties, asked)
            self._ship_limits(sources)
        return sum(delivered) / total if total and delivered else 0

    def _group(self, sources, reach, counties, asked) -> list:
        """Flows from the reachable sources to the group, split among its counties."""
        solver = self.solver
        terms = []
        for m in {m for (c, m) in asked if c in counties}:
            inflow = []
            for n in reach:
                source, stock = sources[n]
                if m in stock:
                    y = solver.NumVar(0, solver.infinity(), "")
                    inflow.append(y)
                    self._shipped[n][m].append(y)
                    self._tonnes[n].append(self.weight[m] * y)
            if not inflow:
                continue
            shares = []
            for c in counties:
                if (c, m) in asked:
                    z = solver.NumVar(0, asked[c, m]["asked"], "")
                    shares.append(z)
                    terms.append(asked[c, m]["weight"] * z)
            solver.Add(sum(shares) <= sum(inflow))
        return terms

    def _ship_limits(self, sources) -> None:
        """A source ships at most its stock of each material and its transport capacity."""
        for n, (source, stock) in enumerate(sources):
            for m, ys in self._shipped[n].items():
                self.solver.Add(sum(ys) <= stock[m])
            if self._tonnes[n]:
                self.solver.Add(sum(self._tonnes[n]) <= source["transport_capacity_t"])
        self._shipped, self._tonnes = defaultdict(lambda: defaultdict(list)), defaultdict(list)

    def _sources(self, window):
        """(source, {material: units as a linear expression}) of the window, moves included."""
        seen = set()
        for source in self.data["snapshot"][window]:
            if source["kind"] != "physical":
                yield source, {m: q for m, q in source["stock"].items() if q > 0}
                continue
            seen.add(source["depot_id"])
            yield source, self._physical(source["depot_id"], source["stock"])
        for b in self.dest:
            if b not in seen:
                place = {
                    "lat": self.depots[b]["lat"],
                    "lon": self.depots[b]["lon"],
                    "lead_time_h": 0,
                }
                yield (
                    {**place, "transport_capacity_t": self.depots[b]["capacity_t"]},
                    self._physical(b, {}),
                )

    def _physical(self, depot, stock: dict) -> dict:
        units = {m: q for m, q in stock.items() if q > 0}
        for (a, b, m), v in self.move.items():
            if a == depot:
                units[m] = units.get(m, 0) - v
            if b == depot:
                units[m] = units.get(m, 0) + v
        for (b, m), v in self.buy.items():
            if b == depot:
                units[m] = units.get(m, 0) + v
        return units


def optimise(data: dict) -> dict:
    """Solve; the moves and purchases rounded down to whole units, with their cost, and the
    LP's own estimate of the worst coverage (for information only)."""
    model = _Model(data).build()
    solver = model.solver
    mean = sum(model.coverage.values()) / max(len(model.coverage), 1)
    spend = sum(c * v for v, c in model.cost_terms) / max(data["budget"], 1)
    solver.Maximize(model.z + 1e-3 * mean - 1e-4 * spend)
    status = solver.Solve()
    if status not in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE):
        return {"status": "no_solution", "moves": [], "purchases": [], "estimate": None}
    cost_of = {v.name(): c for v, c in model.cost_terms}
    moves = [
        {"from_depot": a, "to_depot": b, "material": m, "quantity": int(v.solution_value() + 1e-6)}
        for (a, b, m), v in sorted(model.move.items())
    ]
    purchases = [
        {"depot": b, "material": m, "quantity": int(v.solution_value() + 1e-6)}
        for (b, m), v in sorted(model.buy.items())
    ]
    for row, var in zip(moves, (model.move[k] for k in sorted(model.move)), strict=True):
        row["cost"] = round(row["quantity"] * cost_of[var.name()], 2)
    for row, var in zip(purchases, (model.buy[k] for k in sorted(model.buy)), strict=True):
        row["cost"] = round(row["quantity"] * cost_of[var.name()], 2)
    return {
        "status": "optimal" if status == pywraplp.Solver.OPTIMAL else "feasible",
        "moves": [r for r in moves if r["quantity"] > 0],
        "purchases": [r for r in purchases if r["quantity"] > 0],
        "estimate": round(model.z.solution_value(), 6),
        "variables": solver.NumVariables(),
        "constraints": solver.NumConstraints(),
        "solve_s": round(solver.wall_time() / 1000.0, 3),
    }


def apply_moves(snapshot: dict, moves: list[dict], purchases: list[dict], depots: dict) -> dict:
    """The snapshot as it would be after the moves and purchases (physical stock only changes);
    transport capacities are the caller's to recompute (they depend on which depots hold stock)."""
    delta = defaultdict(int)
    for move in moves:
        delta[move["from_depot"], move["material"]] -= move["quantity"]
        delta[move["to_depot"], move["material"]] += move["quantity"]
    for buy in purchases:
        delta[buy["depot"], buy["material"]] += buy["quantity"]
    after = {}
    for window, sources in snapshot.items():
        rows, seen = [], set()
        for source in sources:
            if source["kind"] == "physical":
                seen.add(source["depot_id"])
                stock = dict(source["stock"])
                for (d, m), q in delta.items():
                    if d == source["depot_id"]:
                        stock[m] = stock.get(m, 0) + q
                source = {**source, "stock": {m: q for m, q in stock.items() if q > 0}}
            rows.append(source)
        for d in sorted({d for (d, _m), q in delta.items() if q > 0} - seen):
            stock = {m: q for (dd, m), q in delta.items() if dd == d and q > 0}
            rows.append(
                {
                    "id": f"D{d}",
                    "depot_id": d,
                    "kind": "physical",
                    "lat": depots[d]["lat"],
                    "lon": depots[d]["lon"],
                    "lead_time_h": 0.0,
                    "transport_capacity_t": depots[d]["capacity_t"],
                    "stock": stock,
                }
            )
        after[window] = [s for s in rows if s["stock"]]
    return after
