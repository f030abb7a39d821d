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

import math
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
    """The LP through OR-Tools' low-level API (constraints by coefficients: building the same
    model with the natural API's expressions took most of the time). An amount after the moves
    is (constant, [(variable, coefficient)])."""

    def __init__(self, data: dict):
        self.data = data
        self.solver = pywraplp.Solver.CreateSolver(data.get("solver", "GLOP"))
        self.weight = {m["id"]: m["unit_weight_t"] for m in data["materials"]}
        self.cost = {}  # variable -> yuan per unit
        self.objective = defaultdict(float)  # variable -> coefficient (maximised)
        self.coverage = {}  # scenario -> [(variable, coefficient)]: its weighted coverage
        self._after = {}  # depot -> {material: amount after the moves and purchases}

    def add(self, terms, upper: float, lower: float = -math.inf) -> None:
        """lower ≤ Σ coefficient × variable ≤ upper (each variable named once)."""
        row = self.solver.Constraint(lower, upper)
        for var, coef in terms:
            row.SetCoefficient(var, coef)

    def build(self):
        data, solver = self.data, self.solver
        demanded = {
            d["material"] for s in data["scenarios"] for d in s["demands"] if d["asked"] > 0
        }
        self.phys = {k: q for k, q in physical_stock(data["snapshot"]).items() if k[1] in demanded}
        self.depots = data["depots"]
        self.dest = [d for d in data["destinations"] if d in self.depots]
        self.move, self.buy = {}, {}
        self.changes = defaultdict(lambda: defaultdict(list))  # depot -> material -> (var, ±1)
        for (a, m), units in self.phys.items():
            if a not in self.depots:
                continue
            outs = []
            for b in self.dest:
                if b != a:
                    self.move[a, b, m] = var = solver.NumVar(0, units, "")
                    km = _hours(data["settings"], *self._at(a), *self._at(b))[1]
                    self.cost[var] = self.weight[m] * km * data["cost_per_tkm"]
                    outs.append((var, 1.0))
                    self.changes[a][m].append((var, -1.0))
                    self.changes[b][m].append((var, 1.0))
            if outs:
                self.add(outs, units)
        for b in self.dest:
            for m in sorted(demanded):
                if data["prices"].get(m):
                    self.buy[b, m] = var = solver.NumVar(0, data["max_units"], "")
                    self.cost[var] = data["prices"][m]
                    self.changes[b][m].append((var, 1.0))
        self.add(list(self.cost.items()), data["budget"])
        self.z = solver.NumVar(0, 1, "z")
        for scenario in data["scenarios"]:
            self.coverage[scenario["key"]] = terms = self._scenario(scenario)
            self.add([(self.z, 1.0)] + [(v, -c) for v, c in terms], 0.0)  # z ≤ coverage
        return self

    def _at(self, depot):
        return self.depots[depot]["lat"], self.depots[depot]["lon"]

    def _scenario(self, scenario: dict) -> list:
        """The scenario's weighted coverage as terms. Counties that the same sources reach in a
        window form one group: a source ships to the group, and the group's counties share what
        arrives (exact: inside a group any source serves any county), so a window every source
        reaches in time costs sources × materials variables, not × counties."""
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
            shipped = defaultdict(lambda: defaultdict(list))  # source n -> material -> flows
            for reach, counties in groups.items():
                delivered += self._group(sources, reach, counties, asked, shipped)
            self._ship_limits(sources, shipped)
        return [(v, c / total) for v, c in delivered] if total else []

    def _group(self, sources, reach, counties, asked, shipped) -> list:
        """Flows from the reachable sources to the group, split among its counties."""
        solver = self.solver
        terms = []
        for m in sorted({m for (c, m) in asked if c in counties}):
            inflow = []
            for n in reach:
                if m in sources[n][1]:
                    y = solver.NumVar(0, solver.infinity(), "")
                    inflow.append((y, -1.0))
                    shipped[n][m].append(y)
            if not inflow:
                continue
            shares = []
            for c in counties:
                if (c, m) in asked:
                    share = solver.NumVar(0, asked[c, m]["asked"], "")
                    shares.append((share, 1.0))
                    terms.append((share, asked[c, m]["weight"]))
            self.add(shares + inflow, 0.0)  # the counties share what arrives
        return terms

    def _ship_limits(self, sources, shipped) -> None:
        """A source ships at most its stock of each material and its transport capacity."""
        for n, (source, stock) in enumerate(sources):
            tonnes = []
            for m, ys in shipped[n].items():
                constant, changes = stock[m]
                self.add([(y, 1.0) for y in ys] + [(v, -c) for v, c in changes], constant)
                tonnes += [(y, self.weight[m]) for y in ys]
            if tonnes:
                self.add(tonnes, source["transport_capacity_t"])

    def _sources(self, window):
        """(source, {material: amount after the moves}) of the window."""
        seen = set()
        for source in self.data["snapshot"][window]:
            if source["kind"] != "physical":
                yield source, {m: (q, []) for m, q in source["stock"].items() if q > 0}
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
        """A depot's physical stock after the moves and purchases (built once per depot)."""
        if depot not in self._after:
            units = {m: (q, []) for m, q in stock.items() if q > 0}
            for m, changes in self.changes[depot].items():
                units[m] = (units.get(m, (0, []))[0], changes)
            self._after[depot] = units
        return self._after[depot]


def optimise(data: dict) -> dict:
    """Solve; the moves and purchases rounded down to whole units, with their cost, and the
    LP's own estimate of the worst coverage (for information only)."""
    model = _Model(data).build()
    solver = model.solver
    objective = solver.Objective()
    objective.SetCoefficient(model.z, 1.0)
    for terms in model.coverage.values():  # then the mean coverage
        for var, coef in terms:
            model.objective[var] += 1e-3 * coef / len(model.coverage)
    for var, price in model.cost.items():  # then spend less
        model.objective[var] -= 1e-4 * price / max(data["budget"], 1)
    for var, coef in model.objective.items():
        objective.SetCoefficient(var, coef)
    objective.SetMaximization()
    status = solver.Solve()
    if status not in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE):
        return {"status": "no_solution", "moves": [], "purchases": [], "estimate": None}
    moves = [
        {
            "from_depot": a,
            "to_depot": b,
            "material": m,
            "quantity": int(v.solution_value() + 1e-6),
            "unit_cost": model.cost[v],
        }
        for (a, b, m), v in sorted(model.move.items())
    ]
    purchases = [
        {
            "depot": b,
            "material": m,
            "quantity": int(v.solution_value() + 1e-6),
            "unit_cost": model.cost[v],
        }
        for (b, m), v in sorted(model.buy.items())
    ]
    for row in moves + purchases:
        row["cost"] = round(row["quantity"] * row.pop("unit_cost"), 2)
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
