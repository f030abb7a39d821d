"""bandit finds nothing of medium or high severity in the code we deploy (CI runs this file
with the rest of the suite; bandit comes with the dev extra)."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEPLOYED = ["core", "reserve", "dispatch", "public_site", "migrations"]


def test_bandit_finds_no_medium_or_high_severity_issue():
    bandit = shutil.which("bandit", path=str(Path(sys.executable).parent)) or "bandit"
    result = subprocess.run(
        [bandit, "-q", "-r", *DEPLOYED, "--severity-level", "medium", "-f", "txt"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
