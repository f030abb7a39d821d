"""Production refuses unsafe configuration; limits and cookie settings are on."""

import pytest

from core import create_app
from core.config import DEFAULT_SECRET, from_environment

GOOD = {
    "APP_ENV": "production",
    "SECRET_KEY": "s" * 40,
    "SECURITY_PASSWORD_SALT": "t" * 40,
    "SQLALCHEMY_DATABASE_URI": "sqlite:///:memory:",
}


@pytest.mark.parametrize(
    "override, message",
    [
        ({"SECRET_KEY": DEFAULT_SECRET}, "SECRET_KEY"),
        ({"SECRET_KEY": ""}, "SECRET_KEY"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY"),
        ({"SECURITY_PASSWORD_SALT": DEFAULT_SECRET}, "SECURITY_PASSWORD_SALT"),
        ({"DEBUG": True}, "DEBUG"),
        ({"JOB_HOLD_FILE": "/tmp/hold"}, "JOB_HOLD_FILE"),  # h-jobs: a test hook
    ],
)
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
    config = from_environment(
        {"DATABASE_URL": "postgresql+psycopg://db/x", "SESSION_IDLE_MINUTES": "15"}
    )
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://db/x"
    assert config["SESSION_IDLE_TIMEOUT"].total_seconds() == 900


def test_unknown_app_env_is_an_error():
    with pytest.raises(RuntimeError, match="APP_ENV"):
        create_app("staging")


@pytest.mark.parametrize(
    "environ, named",
    [
        ({"TRUSTED_PROXIES": "1  # one nginx in front"}, "TRUSTED_PROXIES"),
        ({"DATABASE_URL": "postgresql+psycopg://db/x # primary"}, "DATABASE_URL"),
        ({"HSTS_SECONDS": "a year"}, "HSTS_SECONDS"),
        ({"METRICS_ENABLED": "on # scraped"}, "METRICS_ENABLED"),
        ({"MAIL_USE_TLS": "maybe"}, "MAIL_USE_TLS"),
    ],
)
def test_an_unreadable_variable_stops_start_up_naming_it(environ, named):
    """systemd keeps an inline comment as part of the value: refused with the variable's name,
    never a bare ValueError deep in start-up nor a flag silently read as off."""
    with pytest.raises(RuntimeError, match=named):
        from_environment(environ)


def test_secrets_may_contain_a_hash_sign():
    config = from_environment(
        {"SECRET_KEY": "abc #def", "MAIL_PASSWORD": "p #1", "METRICS_ENABLED": "off"}
    )
    assert config["SECRET_KEY"] == "abc #def" and config["MAIL_PASSWORD"] == "p #1"
    assert config["METRICS_ENABLED"] is False
