"""docs/operations.md documents every configuration key and environment variable of
core/config.py (a key added without a line in the reference table fails here)."""

import re
from pathlib import Path

from core.config import CONFIGS, ENVIRONMENT

DOC = Path(__file__).resolve().parents[1] / "docs" / "operations.md"


def reference_rows() -> dict[str, str]:
    """key -> environment variable column, from the table of §4."""
    rows = {}
    for line in DOC.read_text().splitlines():
        match = re.match(r"\| `([A-Z0-9_]+)` \| (`([A-Z0-9_]+)`)? *\|", line)
        if match:
            rows[match.group(1)] = match.group(3) or ""
    return rows


def config_keys() -> set[str]:
    return {
        key
        for cls in CONFIGS.values()
        for klass in cls.__mro__
        for key in vars(klass)
        if key.isupper() and klass.__module__ == "core.config"
    }


def test_every_config_key_is_in_the_reference():
    missing = sorted(
        config_keys()
        - set(reference_rows())
        - {"SECURITY_PASSWORD_HASH_PASSLIB_OPTIONS", "RATELIMIT_ENABLED"}
    )
    assert missing == []


def test_every_environment_variable_is_named_beside_its_key():
    rows = reference_rows()
    wrong = [(name, key) for name, (key, _convert) in ENVIRONMENT.items() if rows.get(key) != name]
    assert wrong == []


def test_the_reference_names_no_key_that_does_not_exist():
    assert sorted(set(reference_rows()) - config_keys()) == []
