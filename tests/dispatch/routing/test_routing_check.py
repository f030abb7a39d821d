"""check_routes catches every kind of violation: each test breaks a valid answer one way."""

import copy

import pytest
from routing_factories import delivery, depot, leg, point, problem, vehicle

from dispatch.routing import check_routes, plan_routes
from dispatch.routing.problem import load_problem
from dispatch.routing.routes import assemble, build_route


def instance():
    """D1 with two 10 t / 20 m³ trucks (V2 makes one stop at most), D2 with one; 1 h legs."""
    return problem(
        [depot("D1"), depot("D2", lon=112.2)],
        [
            vehicle("V1", 10, volume=20),
            vehicle("V2", 10, volume=20, max_stops=1),
            vehicle("W1", 10, depot="D2"),
        ],
        [point("P1"), point("P2", lon=112.6)],
        [
            delivery("a", "P1", 60),
            delivery("b", "P2", 60),
            delivery("c", "P1", 10, depot="D2"),
        ],
        [leg("D1", "P1", 1), leg("D1", "P2", 1), leg("P1", "P2", 1), leg("D2", "P1", 1)],
    )


def answer_of(data, plan: dict, unassigned=()) -> dict:
    """An answer with the given drops per vehicle, timed and measured like the router's."""
    p = load_problem(data)
    routes = [build_route(p, p.vehicles[v], drops) for v, drops in plan.items()]
    return assemble(p, routes, list(unassigned), "feasible", {})


VALID = {"V1": [("a", 60), ("b", 40)], "V2": [("b", 20)], "W1": [("c", 10)]}


def test_the_router_and_the_hand_made_answer_pass():
    data = instance()
    assert check_routes(data, plan_routes(data)) == []
    assert check_routes(data, answer_of(data, VALID)) == []


@pytest.mark.parametrize(
    ("plan", "message"),
    [
        ({"V1": [("a", 60), ("b", 60)], "W1": [("c", 10)]}, "carries 12 t, payload 10 t"),
        ({"V2": [("a", 60), ("b", 60)], "W1": [("c", 10)]}, "2 stops, the vehicle makes at most 1"),
        (
            {"V1": [("a", 60), ("b", 40)], "V2": [("b", 20), ("c", 10)]},
            "vehicle V2 loads only at D1",
        ),
        (
            {"V1": [("a", 60), ("b", 40)], "V2": [("b", 10)], "W1": [("c", 10)]},
            "delivery b: 50 units",
        ),
    ],
)
def test_a_broken_plan_is_reported(plan, message):
    violations = check_routes(instance(), answer_of(instance(), plan))
    assert any(message in v for v in violations), violations


def test_volume_is_checked():
    data = instance()
    for d in data["deliveries"]:
        d["unit_volume_m3"] = 0.3
    violations = check_routes(data, answer_of(data, VALID))
    assert any("carries 30 m3, volume 20 m3" in v for v in violations), violations


def mutated(change):
    data = instance()
    answer = copy.deepcopy(answer_of(data, VALID))
    change(answer)
    return check_routes(data, answer)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda a: a["routes"][0]["stops"][1].update(arrival_h=1.5), "stops[1].arrival_h"),
        (lambda a: a["routes"][0]["stops"][0].update(departure_h=9), "stops[0].departure_h"),
        (lambda a: a["routes"][0].update(km=1), ".km: says 1"),
        (lambda a: a["routes"][0].update(load_t=1), ".load_t: says 1"),
        (lambda a: a["routes"][0].update({"return": True}), "return must be false"),
        (lambda a: a["routes"][0].update(vehicle="V9"), "'V9' is not a vehicle"),
        (lambda a: a["routes"][0].update(depot="D2"), ".depot: says 'D2'"),
        (lambda a: a["routes"].append(copy.deepcopy(a["routes"][2])), "on more than one route"),
        (lambda a: a["routes"][0]["stops"][0].update(point="P2"), "goes to P1, not P2"),
        (lambda a: a["routes"][0]["stops"][0]["drops"][0].update(quantity=0), "positive whole"),
        (lambda a: a["routes"][0]["stops"][0]["drops"][0].update(quantity=2.5), "positive whole"),
        (lambda a: a["routes"][0]["stops"][0]["drops"][0].update(delivery="zz"), "not a delivery"),
        (lambda a: a["routes"][0].update(stops=[]), "stops: expected a non-empty list"),
        (
            lambda a: a["unassigned"].append({"delivery": "a", "quantity": 1, "reason": "x"}),
            "a: 60",
        ),
        (
            lambda a: a["unassigned"].append({"delivery": "a", "quantity": 1, "reason": "luck"}),
            "not a known reason code",
        ),
        (lambda a: a["metrics"].update(units_late=3), "metrics.units_late"),
        (lambda a: a["metrics"].update(vehicles_used=1), "metrics.vehicles_used"),
        (lambda a: a.update(status="great"), "status: 'great'"),
        (lambda a: a.update(routes=None), "routes: expected a list"),
    ],
)
def test_a_tampered_answer_is_reported(change, message):
    violations = mutated(change)
    assert any(message in v for v in violations), violations


def test_late_drops_must_be_counted_as_late():
    data = instance()
    data["deliveries"][1]["due_h"] = 1.5  # b reaches P2 at 2.5 h on V1
    answer = answer_of(data, VALID)
    assert answer["metrics"]["units_late"] == 40
    answer["metrics"]["units_late"] = 0
    assert any("metrics.units_late" in v for v in check_routes(data, answer))


def test_a_bad_problem_is_one_violation_not_an_exception():
    assert check_routes({"depots": 3}, {}) == ["problem: problem.depots: expected a list"]
    assert check_routes(instance(), "nonsense") == ["answer: expected a JSON object"]
