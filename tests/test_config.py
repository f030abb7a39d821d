"""Production refuses unsafe configuration; limits and cookie settings are on."""

import pytest

from core import create_app
from core.config import DEFAULT_SECRET, from_environment

GOOD = {"APP_ENV": "production", "SECRET_KEY": "s" * 40, "SECURITY_PASSWORD_SALT": "t" * 40,
        "SQLALCHEMY_DATABASE_URI": "sqlite:///:memory:"}


@pytest.mark.parametrize("override, message", [
    ({"SECRET_KEY": DEFAULT_SECRET}, "SECRET_KEY"),
    ({"SECRET_KEY": ""}, "SECRET_KEY"),
    ({"SECRET_KEY": "short"}, "SECRET_KEY"),
    ({"SECURITY_PASSWORD_SALT": DEFAULT_SECRET}, "SECURITY_PASSWORD_SALT"),
    ({"DEBUG": True}, "DEBUG"),
    ({"JOB_HOLD_FILE": "/tmp/hold"}, "JOB_HOLD_FILE"),  # h-jobs: a test hook
])
def test_production_refuses_to_start_when_unsafe(override, message):
    with pytest.raises(RuntimeError, match=message):
        create_app({**GOOD, **override})


def test_production_needs_a_database_url():
    with pytest.raises(RuntimeError, match="DATABASE_URL"):
        create_app({**GOOD, "SQLALCHEMY_DATABASE_URI": None})


def test_production_config_is_hardened():
    app = create_app(GOOD)
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert app.config["MAX_CONTENT_LENGTH"] > 0
    assert app.config["DEBUG"] is False


def test_environment_is_read_when_the_app_is_created():
    config = from_environment({"DATABASE_URL": "postgresql+psycopg://db/x", "SESSION_IDLE_MINUTES": "15"})
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://db/x"
    assert config["SESSION_IDLE_TIMEOUT"].total_seconds() == 900


def test_unknown_app_env_is_an_error():
    with pytest.raises(RuntimeError, match="APP_ENV"):
        create_app("staging")
