"""Command-line interface: `flask demo init`, `flask users ...`, `flask audit verify`, `flask report ...`,
`flask scheduler run`, `flask worker run`."""

import secrets
import sys

import click
from flask import current_app
from flask.cli import AppGroup
from flask_security import hash_password
from sqlalchemy import select

from . import demo, features
from .audit import act_as_command, verify_chain
from .auth import ROLES, User
from .passwords import password_problems
from .extensions import db, security
from .organisation import Agency

demo_cli = AppGroup("demo", help="Demo data and accounts.")
users_cli = AppGroup("users", help="User accounts and API tokens.")
audit_cli = AppGroup("audit", help="Audit log.")


def refuse_in_production(command: str) -> None:
    """Demo data and accounts with a published password never go into a production database."""
    if current_app.config.get("APP_ENV") == "production":
        raise click.ClickException(
            f"{command} refuses to run with APP_ENV=production: demo data and demo accounts "
            "have no place there; follow docs/operations.md (flask setup ...) instead"
        )


@demo_cli.command("init")
def demo_init():
    """Load the demo province if the database is empty; make sure one demo account per role exists."""
    refuse_in_production("demo init")
    act_as_command("demo init")
    accounts = []

    def ensure_accounts() -> str:
        accounts.extend(demo.ensure_demo_accounts())
        return ""

    steps = [step for f in features.registered() for step in f.demo]
    steps.append(
        features.DemoStep(20, lambda: True, ensure_accounts)
    )  # the accounts need the agencies
    for step in sorted(steps, key=lambda step: step.order):
        if step.is_empty():
            if message := step.build():
                click.echo(message)
        elif step.skipped:
            click.echo(step.skipped)
    click.echo("demo accounts (password: %s):" % current_app.config["DEMO_PASSWORD"])
    for account in accounts:
        click.echo(f"  {account.role:<16} {account.email:<24} {account.agency_code or '-'}")


@users_cli.command("create")
@click.argument("email")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(sorted(ROLES)))
@click.option("--agency", "agency_code", default=None, help="Code of the user's agency.")
@click.option("--name", "display_name", default="")
@click.password_option(prompt=True)
def users_create(email, roles, agency_code, display_name, password):
    """Create a user account."""
    act_as_command("users create")
    demo.ensure_roles()
    datastore = security.datastore
    if datastore.find_user(email=email) is not None:
        raise click.ClickException(f"user {email} already exists")
    if problems := password_problems(password, email=email, name=display_name):
        raise click.ClickException(" ".join(problems))
    agency = None
    if agency_code:
        agency = db.session.execute(select(Agency).filter_by(code=agency_code)).scalar_one_or_none()
        if agency is None:
            raise click.ClickException(f"no agency with code {agency_code}")
    datastore.create_user(
        email=email,
        password=hash_password(password),
        roles=list(roles),
        agency=agency,
        display_name=display_name,
    )
    db.session.commit()
    click.echo(f"created {email}")


def _user(email: str) -> User:
    user = security.datastore.find_user(email=email)
    if user is None:
        raise click.ClickException(f"no user {email}")
    return user


@users_cli.command("token")
@click.argument("email")
def users_token(email):
    """Print an API token for a (system) account; send it as the Authentication-Token header."""
    act_as_command("users token")
    user = _user(email)
    if not user.fs_token_uniquifier:
        user.fs_token_uniquifier = secrets.token_hex(32)
        db.session.commit()
    click.echo(user.get_auth_token())


@users_cli.command("revoke-tokens")
@click.argument("email")
def users_revoke_tokens(email):
    """Invalidate every API token issued to the account so far."""
    act_as_command("users revoke-tokens")
    user = _user(email)
    user.fs_token_uniquifier = secrets.token_hex(32)
    db.session.commit()
    click.echo(f"tokens of {email} revoked")


@audit_cli.command("verify")
def audit_verify():
    """Verify the audit hash chain; exit status 1 and the first broken row if it is broken."""
    report = verify_chain()
    if report.ok:
        click.echo(f"audit chain intact: {report.rows} rows")
        return
    click.echo(f"audit chain BROKEN at row id {report.broken_id}: {report.reason}", err=True)
    sys.exit(1)


scheduler_cli = AppGroup("scheduler", help="The scheduler process (one active at a time).")


@scheduler_cli.command("run")
@click.option(
    "--once", is_flag=True, help="run every job one time and exit (if no other scheduler is active)"
)
@click.option(
    "--poll", default=10.0, show_default=True, help="standby: seconds between attempts to take over"
)
def scheduler_run(once, poll):
    """Run the scheduled jobs (warning scan, notification sender, daily digest). A second
    scheduler waits as a standby until the active one stops."""
    from . import scheduler

    scheduler.run(current_app._get_current_object(), once=once, poll_seconds=poll, echo=click.echo)


worker_cli = AppGroup("worker", help="The background job worker (any number may run).")


@worker_cli.command("run")
@click.option("--once", is_flag=True, help="run the queued jobs, then exit")
@click.option(
    "--poll",
    default=None,
    type=float,
    help="seconds between looks for queued jobs [JOB_POLL_SECONDS]",
)
def worker_run(once, poll):
    """Run background jobs (large plans) from the database queue until stopped; SIGTERM stops
    after the running job."""
    from . import worker

    app = current_app._get_current_object()
    ran = worker.run(
        app, once=once, poll_seconds=poll or app.config["JOB_POLL_SECONDS"], echo=click.echo
    )
    if once:
        click.echo(f"{ran} jobs run")


backup_cli = AppGroup("backup", help="Backup, restore and restore drills (docs/operations.md).")


def _echo_report(report, compared: bool) -> None:
    rows = sum(t.rows for t in report.tables.values())
    click.echo(
        f"{len(report.tables)} tables, {rows} rows checked in {report.seconds:.2f} s; "
        f"audit chain {report.audit_rows} rows {'intact' if report.audit_problem is None else 'BROKEN'}"
    )
    for problem in (
        report.mismatches
        + report.ledger_problems
        + ([report.audit_problem] if report.audit_problem else [])
    ):
        click.echo(f"  PROBLEM {problem}", err=True)
    if not report.ok:
        sys.exit(1)
    click.echo(
        "OK: "
        + ("content equals the backup's manifest, " if compared else "")
        + "ledger balances equal their movements, audit chain intact"
    )


@backup_cli.command("create")
@click.argument("path", type=click.Path(dir_okay=False))
def backup_create(path):
    """Back up the app's database to PATH (SQLite online backup / pg_dump), with PATH.manifest.json."""
    from . import backup

    manifest = backup.create_backup(current_app.config["SQLALCHEMY_DATABASE_URI"], path)
    rows = sum(t.rows for t in manifest.tables.values())
    click.echo(
        f"{manifest.dialect} backup written to {path} in {manifest.seconds:.2f} s: "
        f"{len(manifest.tables)} tables, {rows} rows; manifest {path}{backup.MANIFEST_SUFFIX}"
    )


@backup_cli.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--into", "into_url", required=True, help="URL of an EMPTY database (created beforehand)."
)
def backup_restore(path, into_url):
    """Restore PATH into an empty database, then check it against the manifest (exit 1 on a difference)."""
    from . import backup

    seconds = backup.restore_backup(path, into_url)
    click.echo(f"restored {path} in {seconds:.2f} s")
    _echo_report(backup.verify(into_url, backup.Manifest.read(path).tables), compared=True)


@backup_cli.command("verify")
@click.option("--url", default=None, help="Database to check (default: the app's).")
@click.option(
    "--manifest",
    "backup_path",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="A backup whose manifest the content must equal.",
)
def backup_verify(url, backup_path):
    """Check a database: ledger invariants and audit chain, and optionally equality with a backup."""
    from . import backup

    expected = backup.Manifest.read(backup_path).tables if backup_path else None
    _echo_report(
        backup.verify(url or current_app.config["SQLALCHEMY_DATABASE_URI"], expected),
        compared=bool(expected),
    )


def register(app):
    from .exchange.cli import exchange_cli
    from .setup_cli import setup_cli

    groups = {
        "setup": setup_cli,
        "demo": demo_cli,
        "users": users_cli,
        "audit": audit_cli,
        "scheduler": scheduler_cli,
        "worker": worker_cli,
        "backup": backup_cli,
        "exchange": exchange_cli,
    }
    for group in groups.values():
        app.cli.add_command(group)
    for feature in features.registered(app):
        for group in feature.cli(groups):
            app.cli.add_command(group)
