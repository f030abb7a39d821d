"""Alembic migrations (Flask-Migrate). A package so that an installed wheel carries them: the
app finds this folder through the package, never through the working directory."""
