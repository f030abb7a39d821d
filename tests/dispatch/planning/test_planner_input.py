"""Bad problems are refused with a ProblemError naming the field; the CLI exits 2."""

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.dispatch.problem_edits import edited
from planning_factories import canonical, material, point, problem, source, travel

from dispatch.planning import ProblemError, load_problem, plan_allocation

ROOT = Path(__file__).resolve().parents[3]


def valid():
    return problem(
        [material()],
        [source("D1", {"tent": 5})],
        [point("P1", [("tent", 3, 24)])],
        [travel("D1", "P1", 2)],
    )


def broken(path, value):
    """A valid problem with the field at `path` (tuple of keys) set to `value` or removed."""
    return edited(valid(), path, value)


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("materials",), KeyError, "problem.materials"),
        (("sources", 0, "transport_capacity_t"), KeyError, "sources[0].transport_capacity_t"),
        (("sources", 0, "stock", "tent"), -1, "sources[0].stock.tent"),
        (("sources", 0, "stock", "rope"), 1, "sources[0].stock.rope: unknown material"),
        (("points", 0, "demands", 0, "quantity"), -3, "points[0].demands[0].quantity"),
        (("points", 0, "demands", 0, "quantity"), 2.5, "points[0].demands[0].quantity"),
        (("points", 0, "demands", 0, "quantity"), True, "points[0].demands[0].quantity"),
        (("points", 0, "demands", 0, "material"), "rope", "points[0].demands[0].material"),
        (("points", 0, "severity"), 4, "points[0].severity"),
        (("materials", 0, "criticality"), 0, "materials[0].criticality"),
        (("points", 0, "lat"), 91, "points[0].lat"),
        (("travel", 0, "source"), "D9", "travel[0].source"),
        (("speed_kmh",), 0, "problem.speed_kmh"),
        (("policy",), {"order": ["efficacy", "luck"]}, "policy.order[1]"),
        (("policy",), {"equity_tolerance": -0.1}, "policy.equity_tolerance"),
    ],
)
def test_bad_field_raises_problem_error_naming_it(path, value, message):
    with pytest.raises(ProblemError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_problem(broken(path, value))


def test_problem_error_is_a_value_error():
    assert issubclass(ProblemError, ValueError)


def test_duplicate_ids_are_refused():
    data = valid()
    data["sources"].append(copy.deepcopy(data["sources"][0]))
    with pytest.raises(ProblemError, match=r"sources\[1\].id: duplicate"):
        load_problem(data)


def test_extra_fields_are_allowed():
    data = valid()
    data["incident"] = "drill-7"
    data["sources"][0]["agency"] = "civil affairs"
    assert plan_allocation(data).lines


def _cli(*args, stdin=None):
    return subprocess.run(
        [sys.executable, "-m", "dispatch.planning", *args],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_prints_the_plan_as_json(tmp_path):
    path = tmp_path / "problem.json"
    path.write_text(json.dumps(valid()))
    done = _cli("solve", str(path))
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["status"] == "optimal"
    assert out["lines"][0]["quantity"] == 3
    greedy = json.loads(_cli("solve", str(path), "--greedy", "--time-limit", "5").stdout)
    assert greedy["status"] == "greedy"


def test_cli_output_matches_the_function():
    done = _cli("solve", "-", stdin=json.dumps(valid()))
    out = json.loads(done.stdout)
    out.pop("timings")
    assert json.dumps(out, sort_keys=True) == canonical(plan_allocation(valid()))


def test_cli_reports_bad_input_on_stderr_with_status_2():
    done = _cli("solve", "-", stdin=json.dumps(broken(("points", 0, "severity"), 7)))
    assert done.returncode == 2
    assert "points[0].severity" in done.stderr
    assert done.stdout == ""


def test_cli_reports_unreadable_json_with_status_2():
    done = _cli("solve", "-", stdin="{not json")
    assert done.returncode == 2
    assert "problem error" in done.stderr
