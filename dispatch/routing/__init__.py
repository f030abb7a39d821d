"""Vehicle router: which vehicle carries what from an approved allocation, in what order,
arriving when (装车与路径).

Pure: depends on OR-Tools only. See docs/routing.md for the problem and routes formats,
reason codes, bounds, the model and what `time_limit_s` does.
"""

from .baseline import per_line
from .check import check_routes
from .problem import ProblemError, RoutingProblem, load_problem
from .router import REASONS, plan_routes

__all__ = [
    "REASONS",
    "ProblemError",
    "RoutingProblem",
    "check_routes",
    "load_problem",
    "per_line",
    "plan_routes",
]
