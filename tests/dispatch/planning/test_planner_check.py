"""check_plan catches every kind of broken plan without using a solver."""

import copy

import pytest
from planning_factories import material, point, problem, source, travel

from dispatch.planning import check_plan, plan_allocation


@pytest.fixture
def case():
    data = problem(
        [material("water", weight=0.5)],
        [source("D1", {"water": 10}, capacity=4.0), source("D2", {"water": 10}, lead=5)],
        [point("P1", [("water", 12, 10)])],
        [travel("D1", "P1", 2), travel("D2", "P1", 4)],
    )
    plan = plan_allocation(data).to_dict()
    assert check_plan(data, plan).ok
    return data, plan


def tampered(plan, **changes):
    out = copy.deepcopy(plan)
    out["lines"][0].update(changes)
    return out


def test_detects_shipping_more_than_stock(case):
    data, plan = case
    data = copy.deepcopy(data)
    data["sources"][0]["stock"]["water"] = 1
    assert any(e.startswith("stock:") for e in check_plan(data, plan).errors)


def test_detects_delivering_more_than_asked(case):
    data, plan = case
    data = copy.deepcopy(data)
    data["points"][0]["demands"][0]["quantity"] = 2
    assert any(e.startswith("demand:") for e in check_plan(data, plan).errors)


def test_detects_exceeding_transport_tonnage(case):
    data, plan = case
    data = copy.deepcopy(data)
    data["sources"][0]["transport_capacity_t"] = 0.5
    assert any(e.startswith("capacity:") for e in check_plan(data, plan).errors)


def test_detects_a_late_source(case):
    data, plan = case
    data = copy.deepcopy(data)
    data["sources"][1]["lead_time_h"] = 8
    assert any(e.startswith("reachability:") for e in check_plan(data, plan).errors)


def test_detects_a_wrong_arrival_time(case):
    _, plan = case
    assert any(
        e.startswith("arrival_h") for e in check_plan(case[0], tampered(plan, arrival_h=1.0)).errors
    )


def test_detects_unknown_ids_and_bad_quantities(case):
    data, plan = case
    assert not check_plan(data, tampered(plan, source="D9")).ok
    assert not check_plan(data, tampered(plan, quantity=1.5)).ok
    assert not check_plan(data, tampered(plan, quantity=0)).ok


def test_detects_a_wrong_unmet_list_and_wrong_metrics(case):
    data, plan = case
    wrong = copy.deepcopy(plan)
    wrong["unmet"] = [{"point": "P1", "material": "water", "quantity": 1}]
    wrong["metrics"]["tonne_km"] += 1
    errors = check_plan(data, wrong).errors
    assert any(e.startswith("unmet") for e in errors)
    assert any(e.startswith("metrics.tonne_km") for e in errors)


def test_detects_a_bound_better_than_the_plan_could_be(case):
    data, plan = case
    wrong = copy.deepcopy(plan)
    wrong["metrics"]["efficacy_bound"] = wrong["metrics"]["weighted_unmet"] + 5
    assert any("efficacy_bound" in e for e in check_plan(data, wrong).errors)


def test_recomputes_metrics_from_the_lines(case):
    data, plan = case
    result = check_plan(data, plan)
    for name, value in result.metrics.items():
        assert plan["metrics"][name] == pytest.approx(value)
