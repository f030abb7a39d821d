"""Command line: `python -m dispatch.planning solve PROBLEM.json [--greedy] [--time-limit S]`.

Prints the plan as JSON on stdout. Bad input: message on stderr, exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys

from .planner import plan_allocation
from .problem import ProblemError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dispatch.planning")
    commands = parser.add_subparsers(dest="command", required=True)
    solve = commands.add_parser("solve", help="plan the allocation of a problem file")
    solve.add_argument("problem", help="problem JSON file, or - for stdin")
    solve.add_argument("--greedy", action="store_true", help="greedy rule only, no solver")
    solve.add_argument(
        "--time-limit",
        type=float,
        default=None,
        metavar="S",
        help="seconds for the LP stages before falling back to greedy",
    )
    args = parser.parse_args(argv)
    try:
        data = _read_json(args.problem)
        plan = plan_allocation(data, greedy=args.greedy, time_limit_s=args.time_limit)
    except ProblemError as exc:
        print(f"problem error: {exc}", file=sys.stderr)
        return 2
    json.dump(plan.to_dict(), sys.stdout, ensure_ascii=False, sort_keys=True)
    sys.stdout.write("\n")
    return 0


def _read_json(path: str):
    """The parsed file; unreadable or non-JSON input is a ProblemError too."""
    try:
        if path == "-":
            return json.load(sys.stdin)
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, json.JSONDecodeError) as exc:
        raise ProblemError(f"{path}: {exc}") from None


if __name__ == "__main__":
    sys.exit(main())
