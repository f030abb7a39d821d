"""Command line: `python -m dispatch.routing solve PROBLEM.json [--time-limit S] [--baseline]`.

Prints the routes JSON on stdout (exit status 0, also when some units stay unassigned). Bad
input: the same JSON with status `error` and a reason naming the field on stdout, the
reason on stderr, exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys

from .baseline import per_line
from .router import plan_routes
from .routes import error_answer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dispatch.routing")
    commands = parser.add_subparsers(dest="command", required=True)
    solve = commands.add_parser("solve", help="load and route a problem file")
    solve.add_argument("problem", help="problem JSON file, or - for stdin")
    solve.add_argument(
        "--time-limit",
        type=float,
        default=None,
        metavar="S",
        help="wall-clock seconds for the whole search (default: none; every depot's search "
        "runs to its local optimum and the answer is deterministic)",
    )
    solve.add_argument(
        "--baseline", action="store_true", help="the per-line rule instead of the router"
    )
    args = parser.parse_args(argv)
    data, problem_error = _read_json(args.problem)
    if problem_error:
        answer = error_answer(problem_error)
    elif args.baseline:
        answer = per_line(data)
    else:
        answer = plan_routes(data, time_limit_s=args.time_limit)
    json.dump(answer, sys.stdout, ensure_ascii=False, sort_keys=True)
    sys.stdout.write("\n")
    if answer["status"] == "error":
        print(f"problem error: {answer['reason']}", file=sys.stderr)
        return 2
    return 0


def _read_json(path: str):
    """(parsed file, None), or (None, a message) when it cannot be read or is not JSON."""
    try:
        if path == "-":
            return json.load(sys.stdin), None
        with open(path, encoding="utf-8") as fh:
            return json.load(fh), None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, f"{path}: not a readable JSON file ({exc})"


if __name__ == "__main__":
    sys.exit(main())
