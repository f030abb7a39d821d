"""`flask setup ...`: a province's first day on an empty production database (docs/operations.md §2.2).

    flask db upgrade                       schema and the GB/T 2260 divisions
    flask setup reference                  catalog categories, materials, city populations
    flask setup agencies-template -o agencies.xlsx
    flask setup agencies agencies.xlsx     the province's node agencies, all rows or none
    flask setup admin EMAIL --agency CODE  the first administrator; password from a prompt or
                                           EMRESERVE_ADMIN_PASSWORD, never a default

The feature packages add their steps to this group (reserve/cli.py: reference, agencies-template,
agencies); `admin` is core's. Each step is safe to run again: reference data only adds what is missing, agencies refuse codes
already there, and `setup admin` refuses once an administrator exists.
"""

import os

import click
from flask.cli import AppGroup
from flask_security import hash_password
from sqlalchemy import func, select

from .audit import act_as_command
from .auth import ADMIN, User
from .extensions import db, security
from .organisation import Agency
from .passwords import password_problems

setup_cli = AppGroup("setup", help="First-day setup of an empty production database.")
PASSWORD_VARIABLE = "EMRESERVE_ADMIN_PASSWORD"


@setup_cli.command("admin")
@click.argument("email")
@click.option(
    "--agency",
    "agency_code",
    required=True,
    help="Code of the administrator's agency (the province's).",
)
@click.option("--name", "display_name", default="系统管理员", show_default=True)
def setup_admin(email, agency_code, display_name):
    """Create the first administrator. The password comes from EMRESERVE_ADMIN_PASSWORD or a prompt."""
    from .demo import ensure_roles

    act_as_command("setup admin")
    ensure_roles()
    admins = db.session.scalar(select(func.count(User.id)).where(User.roles.any(name=ADMIN)))
    if admins:
        raise click.ClickException(
            f"{admins} administrator(s) exist already: create further accounts with "
            "`users create` or in the web app"
        )
    agency = db.session.execute(select(Agency).filter_by(code=agency_code)).scalar_one_or_none()
    if agency is None:
        raise click.ClickException(
            f"no agency with code {agency_code}: import the agencies first (setup agencies)"
        )
    if security.datastore.find_user(email=email) is not None:
        raise click.ClickException(f"user {email} already exists")
    password = os.environ.get(PASSWORD_VARIABLE) or click.prompt(
        "Password", hide_input=True, confirmation_prompt=True
    )
    if problems := password_problems(password, email=email, name=display_name):
        raise click.ClickException(" ".join(problems))
    security.datastore.create_user(
        email=email,
        password=hash_password(password),
        roles=[ADMIN],
        agency=agency,
        display_name=display_name,
    )
    db.session.commit()
    click.echo(f"administrator {email} created for {agency.name}")
