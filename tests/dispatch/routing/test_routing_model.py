"""Hand-solvable instances: the router's routes, loads and times are the ones worked out by
hand in each test's docstring."""

import pytest
from routing_factories import (
    assert_valid,
    delivery,
    depot,
    leg,
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
