"""`flask setup ...`: a province's first day on an empty production database (docs/operations.md §2.2).

    flask db upgrade                       schema and the GB/T 2260 divisions
    flask setup reference                  catalog categories, materials, city populations
    flask setup agencies-template -o agencies.xlsx
    flask setup agencies agencies.xlsx     the province's node agencies, all rows or none
    flask setup admin EMAIL --agency CODE  the first administrator; password from a prompt or
                                           EMRESERVE_ADMIN_PASSWORD, never a default

Each step is safe to run again: reference data only adds what is missing, agencies refuse codes
already there, and `setup admin` refuses once an administrator exists.
"""

import os
import sys
from pathlib import Path

import click
from flask import g
from flask.cli import AppGroup
from flask_security import hash_password
from sqlalchemy import func, select

from .audit import Actor
from .auth import ADMIN, User
from .extensions import db, security
from .passwords import password_problems

setup_cli = AppGroup("setup", help="First-day setup of an empty production database.")
PASSWORD_VARIABLE = "EMRESERVE_ADMIN_PASSWORD"
MAX_AGENCY_FILE = 20 * 1024 * 1024  # the web upload limit


def _as_cli(command: str) -> None:
    g.audit_actor = Actor(name=f"cli:setup {command}")


@setup_cli.command("reference")
def setup_reference():
    """Load the shipped reference data (categories, materials, populations); adds only what is missing."""
    from reserve.services.reference import load_reference_data

    _as_cli("reference")
    added = load_reference_data()
    click.echo("reference data added: " + ", ".join(f"{k} {v}" for k, v in added.items()))


@setup_cli.command("agencies-template")
@click.option("--format", "fmt", type=click.Choice(["xlsx", "csv"]), default="xlsx", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), default=None,
              help="file to write (default: agencies-template.FORMAT)")
def setup_agencies_template(fmt, output):
    """Write the blank agencies template (Chinese headers, instructions sheet)."""
    from reserve import firstday

    path = Path(output or f"agencies-template.{fmt}")
    content = firstday.template(fmt)
    path.write_bytes(content)
    click.echo(f"wrote {path} ({len(content):,} bytes)")


@setup_cli.command("agencies")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def setup_agencies(path):
    """Import the province's agencies from a CSV/XLSX file: every row checked first, then all or nothing."""
    from reserve import firstday
    from reserve.reporting.files import BadFile

    _as_cli("agencies")
    if os.path.getsize(path) > MAX_AGENCY_FILE:
        raise click.ClickException(f"{path} is larger than {MAX_AGENCY_FILE // 2**20} MB")
    try:
        outcome = firstday.import_agencies(Path(path).read_bytes())
    except BadFile as exc:
        raise click.ClickException(exc.detail) from None
    if not outcome.ok:
        for error in outcome.errors[:500]:
            click.echo(f"{error['cell'] or '-':>8}  {error['header'] or '':<10} {error['message']}", err=True)
        click.echo(f"{len(outcome.errors)} errors in {outcome.rows} rows: nothing imported", err=True)
        sys.exit(1)
    click.echo(f"{len(outcome.created)} agencies imported")


@setup_cli.command("admin")
@click.argument("email")
@click.option("--agency", "agency_code", required=True, help="Code of the administrator's agency (the province's).")
@click.option("--name", "display_name", default="系统管理员", show_default=True)
def setup_admin(email, agency_code, display_name):
    """Create the first administrator. The password comes from EMRESERVE_ADMIN_PASSWORD or a prompt."""
    from .organisation import Agency

    from .demo import ensure_roles

    _as_cli("admin")
    ensure_roles()
    admins = db.session.scalar(select(func.count(User.id)).where(User.roles.any(name=ADMIN)))
    if admins:
        raise click.ClickException(f"{admins} administrator(s) exist already: create further accounts with "
                                   "`users create` or in the web app")
    agency = db.session.execute(select(Agency).filter_by(code=agency_code)).scalar_one_or_none()
    if agency is None:
        raise click.ClickException(f"no agency with code {agency_code}: import the agencies first (setup agencies)")
    if security.datastore.find_user(email=email) is not None:
        raise click.ClickException(f"user {email} already exists")
    password = os.environ.get(PASSWORD_VARIABLE) or click.prompt(
        "Password", hide_input=True, confirmation_prompt=True)
    if problems := password_problems(password, email=email, name=display_name):
        raise click.ClickException(" ".join(problems))
    security.datastore.create_user(email=email, password=hash_password(password), roles=[ADMIN], agency=agency,
                                   display_name=display_name)
    db.session.commit()
    click.echo(f"administrator {email} created for {agency.name}")
