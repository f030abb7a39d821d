"""The deploy kit (deploy/) says what the app reads: the environment example is valid exactly as
systemd reads it, the units run commands that exist, gunicorn's settings load, and the image
copies every package. deploy/smoke.sh runs all of it for real (.ci/run)."""

import configparser
import re
import runpy
from pathlib import Path

import pytest

from core import create_app
from core.config import ENVIRONMENT, from_environment

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
PROCESS_VARIABLES = {"APP_ENV", "PROMETHEUS_MULTIPROC_DIR"}  # read outside core/config.py
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))


def systemd_environment_file(text: str) -> dict[str, str]:
    """What systemd's EnvironmentFile= makes of the file: everything after `=` is the value,
    a `#` included; only lines starting with # or ; are comments."""
    values = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        name, _, value = line.partition("=")
        values[name.strip()] = value
    return values


def test_the_environment_example_is_read_as_written():
    values = systemd_environment_file((DEPLOY / "env.example").read_text())
    assert values["APP_ENV"] == "production"
    assert set(values) <= set(ENVIRONMENT) | PROCESS_VARIABLES, (
        set(values) - set(ENVIRONMENT) - PROCESS_VARIABLES
    )
    assert [name for name, value in values.items() if "#" in value or value != value.strip()] == []
    config = from_environment(values)  # raises on anything unreadable, naming it
    assert config["TRUSTED_PROXIES"] == 1


def test_an_inline_comment_in_the_environment_file_is_refused_by_name():
    values = systemd_environment_file("TRUSTED_PROXIES=1  # one nginx in front\n")
    assert values["TRUSTED_PROXIES"] == "1  # one nginx in front"
    with pytest.raises(RuntimeError, match="TRUSTED_PROXIES"):
        from_environment(values)


def unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read_string(path.read_text())
    return parser


@pytest.mark.parametrize("path", UNITS, ids=[p.name for p in UNITS])
def test_each_unit_runs_an_existing_command_as_the_service_user(path):
    app = create_app({"APP_ENV": "test", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    service = unit(path)["Service"]
    assert service["User"] == "emreserve" and service["EnvironmentFile"] == "/etc/emreserve/env"
    command = service["ExecStart"]
    match = re.search(r"/opt/emreserve/venv/bin/emreserve ([a-z-]+) ([a-z-]+)", command)
    if match is None:
        assert "gunicorn -c /opt/emreserve/src/deploy/gunicorn.conf.py core:create_app()" in command
        return
    group, name = match.groups()
    if (group, name) == ("worker", "run") and "worker" not in app.cli.commands:
        pytest.skip("`worker run` comes with the durable jobs (issue 16 item 1)")
    assert name in app.cli.commands[group].commands, f"{path.name}: no command {group} {name}"


def test_the_backup_timer_starts_the_backup_unit():
    timer = unit(DEPLOY / "systemd" / "emreserve-backup.timer")
    assert timer["Timer"]["OnCalendar"] and timer["Install"]["WantedBy"] == "timers.target"
    assert (DEPLOY / "systemd" / "emreserve-backup.service").is_file()


def test_gunicorn_settings_load_with_four_workers(monkeypatch):
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    monkeypatch.delenv("GUNICORN_BIND", raising=False)
    settings = runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))
    assert settings["workers"] == 4 and settings["bind"] == ["127.0.0.1:8000"]
    monkeypatch.setenv("GUNICORN_BIND", "127.0.0.1:9000, 10.0.0.11:8000")
    assert runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))["bind"] == [
        "127.0.0.1:9000",
        "10.0.0.11:8000",
    ]


def test_the_image_copies_every_package_and_the_lock():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    for needed in ("core", "reserve", "dispatch", "public_site", "migrations", "requirements.lock"):
        assert re.search(rf"^COPY .*\b{needed}\b", dockerfile, re.M), needed
    assert "-c requirements.lock" in dockerfile


def test_the_compose_file_runs_web_worker_scheduler_postgresql_and_redis():
    yaml = pytest.importorskip("yaml")
    services = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]
    assert set(services) == {"web", "worker", "scheduler", "db", "redis"}
    assert services["worker"]["command"] == ["emreserve", "worker", "run"]
    assert services["scheduler"]["command"][:3] == ["emreserve", "scheduler", "run"]


@pytest.mark.parametrize("role", ["internal", "public"])
def test_each_network_has_its_environment_lines_read_as_written(role):
    base = systemd_environment_file((DEPLOY / "env.example").read_text())
    extra = systemd_environment_file((DEPLOY / "two-networks" / f"{role}.env").read_text())
    assert extra["DEPLOYMENT_ROLE"] == role and set(extra) <= set(ENVIRONMENT)
    config = from_environment({**base, **extra})
    signing, verify = ("outbound", "inbound") if role == "internal" else ("inbound", "outbound")
    assert config["EXCHANGE_SIGNING_KEY"].endswith(f"{signing}-2026.key")
    assert config["EXCHANGE_VERIFY_KEYS"].endswith(f"{verify}-2026.pub")


def test_the_two_networks_compose_file_keeps_each_private_key_on_its_side():
    yaml = pytest.importorskip("yaml")
    services = yaml.safe_load((DEPLOY / "two-networks" / "compose.yaml").read_text())["services"]
    roles = {name: s.get("environment", {}).get("DEPLOYMENT_ROLE") for name, s in services.items()}
    assert {n for n, r in roles.items() if r == "internal"} == {
        "internal-web", "internal-worker", "internal-scheduler"
    }  # fmt: skip
    assert {n for n, r in roles.items() if r == "public"} == {"public-web", "public-scheduler"}
    for name, role in roles.items():
        if role:
            volumes = " ".join(services[name]["volumes"])
            assert (
                f"keys-{role}:/keys" in volumes
                and "keys-" + ("public" if role == "internal" else "internal") not in volumes
            )
            db = services[name]["environment"]["DATABASE_URL"]
            assert f"@{role}-db:" in db
