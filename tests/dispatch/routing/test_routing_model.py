"""Hand-solvable instances: the router's routes, loads and times are the ones worked out by
hand in each test's docstring."""

import pytest
from routing_factories import (
    assert_valid,
    delivery,
    depot,
    leg,
    loads,
    point,
    problem,
    vehicle,
    visits,
)

from dispatch.routing import plan_routes


def two_points(deliveries, vehicles, *, d1_p1=1, d1_p2=2, p1_p2=1, **kw):
    """D1 -> P1 1 h, D1 -> P2 2 h, P1 <-> P2 1 h (60 km an hour); unloading 0.5 h."""
    travel = [
        leg("D1", "P1", d1_p1),
        leg("D1", "P2", d1_p2),
        leg("P1", "P2", p1_p2),
        leg("P2", "P1", p1_p2),
    ]
    return problem([depot(**kw)], vehicles, [point("P1"), point("P2")], deliveries, travel)


def test_two_drops_ride_one_truck_in_order():
    """10 t truck, 2 t to P1 and 3 t to P2: one truck, P1 at 1 h, leaves 1.5 h, P2 at 2.5 h."""
    data = two_points([delivery("a", "P1", 20), delivery("b", "P2", 30)], [vehicle("V1", 10)])
    answer = assert_valid(data, plan_routes(data))
    assert visits(answer) == {"V1": ["P1", "P2"]}
    stops = answer["routes"][0]["stops"]
    assert [(s["arrival_h"], s["departure_h"]) for s in stops] == [(1.0, 1.5), (2.5, 3.0)]
    assert answer["routes"][0]["km"] == pytest.approx(120)
    assert answer["metrics"]["vehicles_used"] == 1
    assert answer["routes"][0]["return"] is False


def test_a_delivery_larger_than_a_truck_is_split_in_whole_units():
    """15 t of 0.1 t units, trucks of 10 t and 5 t: 100 units and 50 units."""
    data = two_points([delivery("a", "P1", 150)], [vehicle("V1", 10), vehicle("V2", 5)])
    answer = assert_valid(data, plan_routes(data))
    assert loads(answer) == {"V1": {"a": 100}, "V2": {"a": 50}}
    assert answer["unassigned"] == []


def test_a_deadline_forces_a_second_vehicle():
    """One truck would reach P2 at 1 + 0.5 + 1 = 2.5 h, after its 2 h deadline; two trucks
    reach P1 at 1 h and P2 at 2 h, both on time."""
    data = two_points(
        [delivery("a", "P1", 10, due=1), delivery("b", "P2", 10, due=2)],
        [vehicle("V1", 10), vehicle("V2", 10)],
    )
    answer = assert_valid(data, plan_routes(data))
    assert sorted(visits(answer).values()) == [["P1"], ["P2"]]
    assert answer["metrics"]["units_late"] == 0
    assert answer["status"] == "feasible"  # two vehicles: not provably optimal by our rule


def test_volume_binds_before_weight():
    """1,000 quilts weigh 3 t but fill 30 m³: two 10 t / 20 m³ trucks, 666 + 334."""
    data = two_points(
        [delivery("a", "P1", 1000, weight=0.003, volume=0.03)],
        [vehicle("V1", 10, volume=20), vehicle("V2", 10, volume=20)],
    )
    answer = assert_valid(data, plan_routes(data))
    assert sorted(u["a"] for u in loads(answer).values()) == [334, 666]
    assert max(r["load_m3"] for r in answer["routes"]) <= 20


def test_payload_leaves_the_excess_unassigned():
    data = two_points([delivery("a", "P1", 120)], [vehicle("V1", 10)])
    answer = assert_valid(data, plan_routes(data))
    assert loads(answer) == {"V1": {"a": 100}}
    assert answer["unassigned"] == [{"delivery": "a", "quantity": 20, "reason": "no_capacity_left"}]


def test_vehicles_load_only_their_own_depot():
    data = problem(
        [depot("D1"), depot("D2", lon=112.4), depot("D3", lon=112.6)],
        [vehicle("V1", 10, depot="D1"), vehicle("V2", 10, depot="D2")],
        [point("P1")],
        [delivery("a", "P1", 10, depot="D1"), delivery("b", "P1", 10, depot="D3")],
    )
    answer = assert_valid(data, plan_routes(data))
    assert loads(answer) == {"V1": {"a": 10}}
    assert answer["unassigned"] == [
        {"delivery": "b", "quantity": 10, "reason": "no_vehicle_at_depot"}
    ]


def test_available_from_delays_the_start():
    data = two_points([delivery("a", "P1", 10)], [vehicle("V1", 10, available_from_h=3)])
    answer = assert_valid(data, plan_routes(data))
    assert answer["routes"][0]["stops"][0]["arrival_h"] == 4.0


def test_depot_opening_delays_the_start():
    data = two_points([delivery("a", "P1", 10)], [vehicle("V1", 10)], opens=2)
    answer = assert_valid(data, plan_routes(data))
    assert answer["routes"][0]["stops"][0]["arrival_h"] == 3.0


def test_loading_time_counts_the_tonnes_on_board():
    """2 t at 0.5 h a tonne: leaves at max(opens 1, available 0) + 1 = 2 h, arrives 3 h."""
    data = two_points([delivery("a", "P1", 20)], [vehicle("V1", 10)], opens=1, loading=0.5)
    answer = assert_valid(data, plan_routes(data))
    assert answer["routes"][0]["stops"][0]["arrival_h"] == 3.0


def test_loading_time_can_make_a_delivery_late_and_splits_the_load():
    """4 t at 1 h a tonne on one truck: P1 at 5 h, after the 3 h deadline; two trucks with
    2 t each reach P1 at 3 h."""
    data = two_points(
        [delivery("a", "P1", 20, due=3), delivery("b", "P1", 20, due=3)],
        [vehicle("V1", 10), vehicle("V2", 10)],
        loading=1,
    )
    answer = assert_valid(data, plan_routes(data))
    assert answer["metrics"]["units_late"] == 0
    assert answer["metrics"]["vehicles_used"] == 2


def test_unloading_is_counted_once_per_stop():
    """Two deliveries to P1 (unloading 2 h) then P2: one stop at P1, P2 at 1 + 2 + 1 = 4 h."""
    data = two_points(
        [delivery("a", "P1", 10), delivery("b", "P1", 10), delivery("c", "P2", 10)],
        [vehicle("V1", 10)],
    )
    data["points"][0]["unloading_h"] = 2
    answer = assert_valid(data, plan_routes(data))
    stops = answer["routes"][0]["stops"]
    assert [s["point"] for s in stops] == ["P1", "P2"]
    assert {d["delivery"] for d in stops[0]["drops"]} == {"a", "b"}
    assert (stops[0]["departure_h"], stops[1]["arrival_h"]) == (3.0, 4.0)


def test_max_stops_leaves_the_second_point_out():
    data = two_points(
        [delivery("a", "P1", 10, priority=2), delivery("b", "P2", 10)],
        [vehicle("V1", 10, max_stops=1)],
    )
    answer = assert_valid(data, plan_routes(data))
    assert visits(answer) == {"V1": ["P1"]}
    assert answer["unassigned"] == [{"delivery": "b", "quantity": 10, "reason": "max_stops"}]


def test_travel_override_wins_over_the_estimate():
    """A slow mountain road: 5 h and 100 km instead of ~44 km at 60 km/h."""
    data = two_points([delivery("a", "P1", 10)], [vehicle("V1", 10)], d1_p1=5)
    data["travel"][0]["km"] = 100
    answer = assert_valid(data, plan_routes(data))
    assert answer["routes"][0]["stops"][0]["arrival_h"] == 5.0
    assert answer["routes"][0]["km"] == 100.0


def test_road_factor_and_speed_estimate_km_and_hours():
    """No override: km = great-circle km x road_factor, hours = km / the vehicle's speed."""
    from dispatch.routing.problem import haversine_km

    data = problem(
        [depot()],
        [vehicle("V1", 10, speed_kmh=40)],
        [point("P1")],
        [delivery("a", "P1", 10)],
        road_factor=2.0,
    )
    answer = assert_valid(data, plan_routes(data))
    km = 2.0 * haversine_km(37.0, 112.0, 37.0, 112.5)
    assert answer["routes"][0]["km"] == pytest.approx(km, abs=1e-6)
    assert answer["routes"][0]["stops"][0]["arrival_h"] == pytest.approx(km / 40, abs=1e-6)


def test_priority_decides_under_a_scarcity_of_vehicles():
    """One 1 t truck, one stop, two 1 t deliveries: the priority-3 one goes."""
    data = two_points(
        [delivery("low", "P1", 10, priority=1), delivery("high", "P2", 10, priority=3)],
        [vehicle("V1", 1)],
    )
    answer = assert_valid(data, plan_routes(data))
    assert loads(answer) == {"V1": {"high": 10}}
    assert answer["unassigned"][0]["delivery"] == "low"


def test_late_is_better_than_undelivered():
    """Due before the truck can arrive: delivered anyway, counted late."""
    data = two_points([delivery("a", "P1", 10, due=0.5)], [vehicle("V1", 10)])
    answer = assert_valid(data, plan_routes(data))
    assert loads(answer) == {"V1": {"a": 10}}
    assert answer["metrics"]["units_late"] == 10


def test_fewer_vehicles_before_fewer_km():
    """Both deliveries fit one truck and stay on time: one vehicle, though two direct trips
    would not drive more km here either way."""
    data = two_points(
        [delivery("a", "P1", 10), delivery("b", "P2", 10)],
        [vehicle("V1", 10), vehicle("V2", 10)],
    )
    answer = assert_valid(data, plan_routes(data))
    assert answer["metrics"]["vehicles_used"] == 1


def test_a_unit_too_heavy_for_every_vehicle():
    data = two_points([delivery("a", "P1", 2, weight=12)], [vehicle("V1", 10)])
    answer = assert_valid(data, plan_routes(data))
    assert answer["unassigned"] == [
        {"delivery": "a", "quantity": 2, "reason": "unit_heavier_than_any_vehicle"}
    ]


def test_a_single_direct_trip_is_reported_optimal():
    data = two_points([delivery("a", "P1", 10)], [vehicle("V1", 10), vehicle("V2", 5)])
    answer = assert_valid(data, plan_routes(data))
    assert answer["status"] == "optimal"
    assert visits(answer) == {"V1": ["P1"]} or visits(answer) == {"V2": ["P1"]}


def test_objective_weights_are_lexicographic_and_fit_int64():
    """Realistic depot: exact weights, each level above everything below it. At the input
    bounds (10^9 units, priority 100): coarsened, but the objective still fits 2^62."""
    from dispatch.routing.model import COST_LIMIT, Piece, weights
    from dispatch.routing.problem import load_problem

    data = two_points([delivery("a", "P1", 100, priority=3)], [vehicle("V1", 10)])
    a = load_problem(data).deliveries["a"]
    vehicles = list(load_problem(data).vehicles.values()) * 10
    metres = [[0, 500_000], [0, 0]]
    w = weights(("late", "vehicles", "km"), [Piece(a, 100)] * 30, vehicles, metres)
    assert (w["km_unit"], w["late_unit"]) == (1, 1)
    km_total = 30 * 500_000 + 30
    assert w["vehicles"] > km_total * w["km"]
    assert w["unassigned"] > len(vehicles) * w["vehicles"] + km_total * w["km"]
    assert w["late"] > (9000 + 30) * w["unassigned"] + len(vehicles) * w["vehicles"]
    huge = a.__class__(**{**a.__dict__, "quantity": 10**9, "priority": 100})
    w = weights(("late", "vehicles", "km"), [Piece(huge, 10**9)] * 200, vehicles, [[10**8]])
    units = 200 * 10**11 // w["late_unit"] + 200
    assert w["late"] * (units + 1) <= COST_LIMIT
