"""Dispatch planner: which source sends how much of which material to which demand point.

Pure: depends on numpy and OR-Tools only. See docs/planner.md for the problem and plan
formats, the model and the re-planning API.
"""

from .check import PlanCheck, check_plan
from .plan import Plan
from .planner import Replanner, plan_allocation
from .problem import Problem, ProblemError, load_problem

__all__ = [
    "Plan",
    "PlanCheck",
    "Problem",
    "ProblemError",
    "Replanner",
    "check_plan",
    "load_problem",
    "plan_allocation",
]
