"""Rerun the commands of docs/reliability.md and rewrite its "latest result" column.

    make reliability                     # every row
    make reliability ROWS=backup         # rows whose test name contains "backup" (case-insensitive)

Rows whose name says "(by hand)" (long load or soak runs) run only when ROWS selects them.

A row is any line `| test | `command` | latest result |` of the doc's table: to add a test,
add a row. Its command runs with bash from the project root, with the caller's environment
(TEST_DATABASE_URL for the PostgreSQL rows). The result written back is the last line the
command prints that starts with "RESULT:", or else pytest's summary line ("12 passed in 3.4 s"),
or else the exit status, prefixed with the date and marked FAILED on a non-zero exit.
"""

import datetime as dt
import re
import subprocess  # nosec B404
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "reliability.md"
ROW = re.compile(r"^\| (?P<test>[^|]+?) \| `(?P<command>[^`]+)` \| (?P<result>.*) \|$")
PYTEST_SUMMARY = re.compile(r"^=*\s*(\d+ (passed|failed|error).*?)\s*=*$")


def summarise(output: str, status: int, seconds: float) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    result = next(
        (line[len("RESULT:") :].strip() for line in reversed(lines) if line.startswith("RESULT:")),
        None,
    )
    if result is None:
        result = next(
            (m.group(1) for line in reversed(lines) if (m := PYTEST_SUMMARY.match(line))), None
        )
    result = (result or f"exit status {status}").replace("|", "/")
    stamp = dt.date.today().isoformat()
    return f"{stamp}: {'FAILED, ' if status else ''}{result} ({seconds:.0f} s)"


def run(command: str) -> tuple[int, str, float]:
    started = time.perf_counter()
    done = subprocess.run(["bash", "-c", command], cwd=ROOT, capture_output=True, text=True)  # nosec B603
    return done.returncode, done.stdout + done.stderr, time.perf_counter() - started


def main(selector: str = "") -> int:
    lines, failures = DOC.read_text().splitlines(), 0
    for index, line in enumerate(lines):
        row = ROW.match(line)
        if not row or selector.lower() not in row["test"].lower():
            continue
        if not selector and "(by hand)" in row["test"]:
            continue
        print(f"running: {row['test']}: {row['command']}", flush=True)
        status, output, seconds = run(row["command"])
        failures += status != 0
        lines[index] = (
            f"| {row['test']} | `{row['command']}` | {summarise(output, status, seconds)} |"
        )
        print("   ", lines[index].rsplit("|", 2)[-2].strip(), flush=True)
        DOC.write_text("\n".join(lines) + "\n")  # after each row: a long run keeps what it measured
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else ""))
