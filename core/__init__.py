"""Application factory. `create_app` only wires: config, extensions, blueprints, handlers, CLI.

Importing the package loads nothing else: pure modules under it (`core.limits`) stay usable from
code that must not load Flask (the planner, the rules)."""

import os
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def create_app(config=None):
    """Build the app. `config`: None (APP_ENV picks a class, default development), a name from
    CONFIGS, or a dict of overrides applied on top of the class its "APP_ENV" key (or the
    APP_ENV variable) names. The environment
    (DATABASE_URL, SECRET_KEY, ...) overrides class defaults; an explicit dict overrides both."""
    from .config import CONFIGS, DEPLOYMENT_ROLES, ProductionConfig, from_environment

    from .roles import RoleApp

    app = RoleApp(__name__, instance_relative_config=True)
    if isinstance(config, str):
        name = config
    elif isinstance(config, dict) and config.get("APP_ENV"):
        name = config["APP_ENV"]
    else:
        name = os.environ.get("APP_ENV", "development")
    if name not in CONFIGS:
        raise RuntimeError(f"APP_ENV={name!r} is not one of {sorted(CONFIGS)}")
    app.config.from_object(CONFIGS[name])
    if name != "test":
        app.config.update(from_environment())
    if isinstance(config, dict):
        app.config.update(config)
    app.config["APP_ENV"] = name
    try:  # one clock: Babel's zone is the display zone; an unknown zone stops the start
        ZoneInfo(app.config["DISPLAY_TIMEZONE"])
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise RuntimeError(
            f"DISPLAY_TIMEZONE={app.config['DISPLAY_TIMEZONE']!r} is not a known time zone"
        ) from exc
    app.config["BABEL_DEFAULT_TIMEZONE"] = app.config["DISPLAY_TIMEZONE"]
    if app.config["DEPLOYMENT_ROLE"] not in DEPLOYMENT_ROLES:
        raise RuntimeError(
            f"DEPLOYMENT_ROLE={app.config['DEPLOYMENT_ROLE']!r} is not one of {DEPLOYMENT_ROLES}"
        )
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        if name == "production":
            raise RuntimeError("DATABASE_URL must be set in production")
        os.makedirs(app.instance_path, exist_ok=True)
        app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.path.join(
            app.instance_path, "emreserve.db"
        )
    if name == "production" and (problems := ProductionConfig.problems(app.config)):
        raise RuntimeError("refusing to start: " + "; ".join(problems))

    from . import wiring

    wiring.init_extensions(app)
    wiring.register_blueprints(app)
    wiring.register_cli(app)
    return app
