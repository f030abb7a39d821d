"""What is deployed: the app's version (its installed package metadata) and migration heads."""

import functools
import logging
import os
from importlib import metadata

from flask import current_app
from sqlalchemy import text

from .extensions import db

log = logging.getLogger(__name__)


def app_version() -> str:
    try:
        return metadata.version("emreserve")
    except metadata.PackageNotFoundError:
        return "unknown"


@functools.cache
def _head(directory: str) -> str | None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    try:
        config = Config()
        config.set_main_option("script_location", directory)
        return ScriptDirectory.from_config(config).get_current_head()
    except Exception:  # noqa: BLE001 - a missing folder is reported as "unknown", not a 500
        log.warning("no migration scripts at %s", directory, exc_info=True)
        return None


def migration_head() -> str | None:
    directory = current_app.extensions["migrate"].directory
    if not os.path.isabs(directory):
        candidate = os.path.join(os.path.dirname(current_app.root_path), directory)
        directory = candidate if os.path.isdir(candidate) else os.path.abspath(directory)
    return _head(directory)


def database_revision() -> str | None:
    try:
        return db.session.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception:  # noqa: BLE001 - a database made without migrations has no such table
        db.session.rollback()
        return None


def describe() -> dict:
    head, current = migration_head(), database_revision()
    return {
        "version": app_version(),
        "migration_head": head,
        "database_revision": current,
        "migrations_current": head is not None and head == current,
    }
