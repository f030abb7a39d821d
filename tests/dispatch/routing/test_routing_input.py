"""Bad input gives status `error` with a reason naming the field, never an exception; the
CLI exits 2 and says why."""

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.dispatch.problem_edits import edited
from routing_factories import delivery, depot, leg, point, problem, vehicle

from dispatch.routing import plan_routes
from dispatch.routing.baseline import per_line

ROOT = Path(__file__).resolve().parents[3]


def valid():
    return problem(
        [depot()],
        [vehicle("V1", 10)],
        [point("P1")],
        [delivery("a", "P1", 10)],
        [leg("D1", "P1", 1)],
    )


def broken(path, value):
    """A valid problem with the field at `path` set to `value`, or removed (KeyError)."""
    return edited(valid(), path, value)


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("depots",), KeyError, "problem.depots"),
        (("vehicles",), "V1", "problem.vehicles"),
        (("deliveries", 0, "quantity"), -1, "deliveries[0].quantity"),
        (("deliveries", 0, "quantity"), 2.5, "deliveries[0].quantity"),
        (("deliveries", 0, "quantity"), True, "deliveries[0].quantity"),
        (("deliveries", 0, "quantity"), 10**9 + 1, "deliveries[0].quantity"),
        (("deliveries", 0, "quantity"), KeyError, "deliveries[0].quantity"),
        (("deliveries", 0, "point"), "P9", "deliveries[0].point"),
        (("deliveries", 0, "depot"), "D9", "deliveries[0].depot"),
        (("deliveries", 0, "due_h"), KeyError, "deliveries[0].due_h"),
        (("deliveries", 0, "unit_weight_t"), float("nan"), "deliveries[0].unit_weight_t"),
        (("deliveries", 0, "priority"), 0, "deliveries[0].priority"),
        (("vehicles", 0, "depot"), "D9", "vehicles[0].depot"),
        (("vehicles", 0, "payload_t"), 0, "vehicles[0].payload_t"),
        (("vehicles", 0, "volume_m3"), -1, "vehicles[0].volume_m3"),
        (("vehicles", 0, "max_stops"), 0, "vehicles[0].max_stops"),
        (("vehicles", 0, "speed_kmh"), "fast", "vehicles[0].speed_kmh"),
        (("points", 0, "lat"), 91, "points[0].lat"),
        (("points", 0, "id"), "D1", "points[0].id"),
        (("depots", 0, "opens_h"), 1e6, "depots[0].opens_h"),
        (("travel", 0, "to"), "P9", "travel[0].to"),
        (("travel", 0, "hours"), -1, "travel[0].hours"),
        (("road_factor",), 0, "problem.road_factor"),
        (("policy",), {"objective": ["late", "luck"]}, "policy.objective[1]"),
        (("policy",), {"objective": ["km", "km"]}, "policy.objective"),
    ],
)
def test_bad_field_gives_an_error_naming_it(path, value, field):
    for answer in (plan_routes(broken(path, value)), per_line(broken(path, value))):
        assert answer["status"] == "error"
        assert answer["reason"].startswith(field), answer["reason"]
        assert answer["routes"] == [] and answer["unassigned"] == []


def test_duplicate_ids_are_refused():
    data = valid()
    data["vehicles"].append(copy.deepcopy(data["vehicles"][0]))
    assert plan_routes(data)["reason"].startswith("vehicles[1].id: duplicate")


def test_counts_are_bounded():
    data = valid()
    data["depots"] = [depot(f"D{i}") for i in range(2001)]
    assert plan_routes(data)["reason"] == "problem.depots: at most 2000 entries, got 2001"


@pytest.mark.parametrize("data", [None, [], "problem", 3, {"depots": None}])
def test_not_a_problem_at_all(data):
    assert plan_routes(data)["status"] == "error"


@pytest.mark.parametrize("limit", [0, -1, float("inf"), "5", True])
def test_a_bad_time_limit_is_an_error(limit):
    assert plan_routes(valid(), time_limit_s=limit)["reason"].startswith("time_limit_s")


def test_extra_fields_and_zero_quantities_are_fine():
    data = valid()
    data["incident"] = "drill-7"
    data["deliveries"].append(delivery("zero", "P1", 0))
    answer = plan_routes(data)
    assert answer["status"] == "optimal"
    assert answer["unassigned"] == []


def run_cli(*args, stdin=None):
    return subprocess.run(
        [sys.executable, "-m", "dispatch.routing", *args],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_solves_a_file(tmp_path):
    path = tmp_path / "problem.json"
    path.write_text(json.dumps(valid()), encoding="utf-8")
    result = run_cli("solve", str(path), "--time-limit", "5")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["routes"][0]["stops"][0]["arrival_h"] == 1.0
    baseline = json.loads(run_cli("solve", str(path), "--baseline").stdout)
    assert baseline["baseline"]["vehicles_needed"] == 1


def test_cli_reads_stdin():
    result = run_cli("solve", "-", stdin=json.dumps(valid()))
    assert result.returncode == 0 and json.loads(result.stdout)["status"] == "optimal"


def test_cli_refuses_a_bad_file_with_a_reason(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text("{not json", encoding="utf-8")
    result = run_cli("solve", str(path))
    assert result.returncode == 2
    assert json.loads(result.stdout)["status"] == "error"
    assert "not a readable JSON file" in result.stderr
    bad = broken(("deliveries", 0, "quantity"), -3)
    path.write_text(json.dumps(bad), encoding="utf-8")
    result = run_cli("solve", str(path))
    assert result.returncode == 2
    assert "deliveries[0].quantity: must be non-negative" in result.stderr


def test_cli_missing_file():
    result = run_cli("solve", "/nonexistent/problem.json")
    assert result.returncode == 2 and "not a readable JSON file" in result.stderr
