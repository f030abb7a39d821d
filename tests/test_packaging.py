"""Packaging: the lock pins versions pyproject.toml allows, every imported package is declared,
and a wheel installed elsewhere carries its migrations, licences and the `emreserve` command."""

import ast
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
LOCKED_EXTRAS = ("dev", "redis")  # `make install` installs these; bench is optional and unlocked
PACKAGES = ("core", "reserve", "dispatch", "public_site", "migrations")


def lock() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, version = line.partition("==")
        assert sep and version, f"not an exact pin: {line}"
        pins[canonicalize_name(name)] = version
    return pins


def declared(extras=LOCKED_EXTRAS) -> list[Requirement]:
    found = [Requirement(r) for r in PROJECT["dependencies"]]
    for extra in extras:
        found += [Requirement(r) for r in PROJECT["optional-dependencies"][extra]]
    return found


def test_the_lock_satisfies_every_requirement_of_pyproject():
    pins = lock()
    wrong = []
    for requirement in declared():
        name = canonicalize_name(requirement.name)
        if name not in pins:
            wrong.append(f"{requirement}: not in requirements.lock")
        elif not requirement.specifier.contains(pins[name], prereleases=True):
            wrong.append(f"{requirement}: locked at {pins[name]}")
    assert wrong == []


def test_every_dependency_has_an_upper_bound():
    assert [
        str(r)
        for r in declared(("redis",))
        if not any(s.operator in ("<", "<=", "==", "~=") for s in r.specifier)
    ] == []


def imported_top_level_names() -> set[str]:
    names = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names |= {alias.name.split(".")[0] for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - set(PACKAGES)


def test_every_imported_package_is_declared():
    """`limits` or `flask_login` arriving only as someone else's dependency is an accident."""
    declared_names = {canonicalize_name(r.name) for r in declared(())}
    distributions = packages_distributions()
    missing = sorted(
        f"{name} ({', '.join(distributions.get(name, ['not installed']))})"
        for name in imported_top_level_names()
        if not {canonicalize_name(d) for d in distributions.get(name, [])} & declared_names
    )
    assert missing == []


def test_licence_files_are_declared_and_present():
    assert PROJECT["license"] == "Apache-2.0"
    assert (
        "Apache License" in (ROOT / "LICENSE").read_text()
        and "Version 2.0" in (ROOT / "LICENSE").read_text()
    )
    notice = (ROOT / "NOTICE").read_text()
    for vendored in (
        "echarts/NOTICE",
        "echarts/LICENSE",
        "swagger-ui/NOTICE",
        "swagger-ui/LICENSE",
        "leaflet/LICENSE",
    ):
        assert (ROOT / "core/static/vendor" / vendored).is_file()
        assert "core/static/vendor/" + vendored in notice


@pytest.mark.slow
def test_an_installed_wheel_migrates_from_anywhere(tmp_path):
    """Build the wheel, install it (no dependencies: they are borrowed from this interpreter) into
    a new venv, and run `emreserve db upgrade` from an unrelated folder against a new SQLite file."""
    source, dist = tmp_path / "source", tmp_path / "dist"
    source.mkdir()  # a clean copy of what the wheel is built from: no stale build/ folder
    for name in ("pyproject.toml", "README.md", "LICENSE", "NOTICE"):
        shutil.copy2(ROOT / name, source / name)
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "-w",
            str(dist),
            str(source),
        ],
        check=True,
        timeout=300,
        cwd=tmp_path,
    )
    wheel = next(dist.glob("emreserve-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "migrations/versions/0001_foundation.py" in names and "migrations/alembic.ini" in names
    assert any(n.endswith(".dist-info/licenses/NOTICE") for n in names)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    site = next((venv / "lib").glob("python*/site-packages"))
    (site / "borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [str(venv / "bin/python"), "-m", "pip", "install", "--quiet", "--no-deps", str(wheel)],
        check=True,
        timeout=300,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("FLASK_APP", "PYTHONPATH")}
    env |= {"DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}", "APP_ENV": "development"}
    upgrade = subprocess.run(
        [str(venv / "bin/emreserve"), "db", "upgrade"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert upgrade.returncode == 0, upgrade.stderr[-2000:]
    current = subprocess.run(
        [str(venv / "bin/emreserve"), "db", "current"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "(head)" in current.stdout, current.stdout + current.stderr[-2000:]
    where = subprocess.run(
        [
            str(venv / "bin/python"),
            "-c",
            "import core, migrations; print(core.__file__, migrations.__file__)",
        ],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
    )
    assert str(site) in where.stdout and str(ROOT) not in where.stdout
