"""Generated small instances: every answer passes check_routes and accounts for every unit;
the same input gives the same output; no input makes the router raise."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from routing_factories import assert_valid, canonical

from dispatch.routing import check_routes, per_line, plan_routes

MATERIALS = [(0.03, 0.15), (0.003, 0.03), (0.5, 0.4), (2.5, 1.0), (0.0, 0.0), (12.0, 1.0)]


@st.composite
def problems(draw):
    n_dep = draw(st.integers(1, 2))
    coord = st.floats(-0.3, 0.3, allow_nan=False)
    depots = [
        {
            "id": f"D{i}",
            "lat": 37 + draw(coord),
            "lon": 112 + draw(coord),
            "opens_h": draw(st.sampled_from([0, 0, 1.5])),
            "loading_h_per_t": draw(st.sampled_from([0, 0, 0.1, 0.5])),
        }
        for i in range(n_dep)
    ]
    vehicles = [
        {
            "id": f"V{i}",
            "depot": f"D{draw(st.integers(0, n_dep - 1))}",
            "payload_t": draw(st.sampled_from([1, 2, 5, 10])),
            "volume_m3": draw(st.sampled_from([None, 5, 20])),
            "available_from_h": draw(st.sampled_from([0, 0, 2])),
            **({"max_stops": draw(st.integers(1, 2))} if draw(st.booleans()) else {}),
        }
        for i in range(draw(st.integers(0, 4)))
    ]
    points = [
        {"id": f"P{i}", "lat": 37 + draw(coord), "lon": 112 + draw(coord)}
        for i in range(draw(st.integers(1, 3)))
    ]
    deliveries = []
    for i in range(draw(st.integers(1, 6))):
        weight, volume = draw(st.sampled_from(MATERIALS))
        deliveries.append(
            {
                "id": f"L{i}",
                "depot": f"D{draw(st.integers(0, n_dep - 1))}",
                "point": draw(st.sampled_from(points))["id"],
                "material": "m",
                "quantity": draw(st.integers(0, 60)),
                "unit_weight_t": weight,
                "unit_volume_m3": volume,
                "due_h": draw(st.sampled_from([0.5, 2, 6, 24])),
                "priority": draw(st.integers(1, 3)),
            }
        )
    return {"depots": depots, "vehicles": vehicles, "points": points, "deliveries": deliveries}


def units_accounted(data, answer):
    carried = {}
    for route in answer["routes"]:
        for stop in route["stops"]:
            for drop in stop["drops"]:
                carried[drop["delivery"]] = carried.get(drop["delivery"], 0) + drop["quantity"]
    for item in answer["unassigned"]:
        carried[item["delivery"]] = carried.get(item["delivery"], 0) + item["quantity"]
    return {d["id"]: carried.get(d["id"], 0) for d in data["deliveries"]}


SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(problems())
def test_every_answer_is_valid_and_accounts_for_every_unit(data):
    answer = assert_valid(data, plan_routes(data))
    assert units_accounted(data, answer) == {d["id"]: d["quantity"] for d in data["deliveries"]}


@SETTINGS
@given(problems())
def test_same_input_same_output(data):
    assert canonical(plan_routes(data)) == canonical(plan_routes(data))


@SETTINGS
@given(problems())
def test_the_baseline_accounts_for_every_unit_and_only_breaks_the_fleet(data):
    answer = per_line(data)
    assert units_accounted(data, answer) == {d["id"]: d["quantity"] for d in data["deliveries"]}
    violations = check_routes(data, answer)
    if answer["baseline"]["vehicles_missing"] == 0:
        assert violations == []
    else:
        assert all("is not a vehicle of the problem" in v for v in violations), violations


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=3),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=60, deadline=None)
@given(problems(), st.data())
def test_no_input_makes_the_router_raise(data, draw):
    """Replace one field anywhere by any JSON value: an answer comes back, never an exception."""
    section = draw.draw(st.sampled_from(["depots", "vehicles", "points", "deliveries"]))
    if data[section]:
        item = draw.draw(st.sampled_from(data[section]))
        key = draw.draw(st.sampled_from(sorted(item) + ["extra"]))
        item[key] = draw.draw(json_values)
    answer = plan_routes(data)
    assert answer["status"] in ("optimal", "feasible", "error")
    if answer["status"] != "error":
        assert check_routes(data, answer) == []
