"""`flask report template|submit`: the same templates and submissions from a terminal."""

import sys
from pathlib import Path

import click
from flask import current_app, g
from flask_babel import gettext as _
from flask.cli import AppGroup
from sqlalchemy import select

from core.audit import Actor
from core.errors import DomainError
from core.extensions import db, security

from core.organisation import Agency
from . import services
from .standard import KINDS, MODES

report_cli = AppGroup("report", help="Report templates and submissions (报送).")


def _agency(code: str) -> Agency:
    agency = db.session.execute(select(Agency).filter_by(code=code)).scalar_one_or_none()
    if agency is None:
        raise click.ClickException(f"no agency with code {code}")
    return agency


def _user(email: str):
    user = security.datastore.find_user(email=email)
    if user is None:
        raise click.ClickException(f"no user {email}")
    g.audit_actor = Actor(user_id=user.id, name=f"cli:{email}")
    return user


def read_upload(path: Path) -> bytes:
    """The file, if it is within the size the web and the API accept (MAX_CONTENT_LENGTH): the
    size is checked before a byte is read."""
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    size = path.stat().st_size
    if limit and size > limit:
        raise click.ClickException(
            _(
                "The file is %(mb)s MB; reports are at most %(limit)s MB (MAX_CONTENT_LENGTH).",
                mb=round(size / 2**20, 1),
                limit=round(limit / 2**20, 1),
            )
        )
    with path.open("rb") as stream:
        return stream.read(limit + 1 if limit else -1)


@report_cli.command("template")
@click.argument("kind", type=click.Choice(list(KINDS)))
@click.option("--format", "fmt", type=click.Choice(["xlsx", "csv"]), default="xlsx")
@click.option("--agency", "agency_code", help="prefill with this agency's current data")
@click.option(
    "--as", "email", help="account used to read the agency's data (required with --agency)"
)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, writable=True), help="file to write"
)
def template(kind, fmt, agency_code, email, output):
    """Write a blank or prefilled template."""
    user = _user(email) if email else None
    agency_id = _agency(agency_code).id if agency_code else None
    if agency_id and user is None:
        raise click.ClickException("--as EMAIL is needed to read an agency's data")
    try:
        content, name, _ = services.template_file(user, kind, fmt, agency_id=agency_id)
    except DomainError as exc:
        raise click.ClickException(exc.detail) from None
    Path(output or name).write_bytes(content)
    click.echo(f"wrote {output or name} ({len(content):,} bytes)")


@report_cli.command("submit")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--agency", "agency_code", required=True)
@click.option("--kind", type=click.Choice(list(KINDS)), required=True)
@click.option("--mode", type=click.Choice(MODES), default="incremental", show_default=True)
@click.option("--as", "email", required=True, help="the submitting account")
@click.option("--yes", is_flag=True, help="apply without asking after the preview")
def submit(path, agency_code, kind, mode, email, yes):
    """Validate a file, print the errors or the preview, and apply it when confirmed."""
    user = _user(email)
    data = read_upload(Path(path))
    try:
        submission = services.submit_file(
            user,
            agency_id=_agency(agency_code).id,
            kind=kind,
            mode=mode,
            inline=True,
            filename=Path(path).name,
            data=data,
            channel="cli",
        )
    except services.SubmissionInvalid as exc:
        for error in exc.errors["cells"][:200]:
            click.echo(
                f"{error['cell'] or '-':>8}  {error['header'] or '':<12} {error['message']}",
                err=True,
            )
        click.echo(f"submission #{exc.submission.id}: {exc.detail}", err=True)
        sys.exit(1)
    except DomainError as exc:
        raise click.ClickException(exc.detail) from None
    counts = submission.preview["counts"]
    click.echo(
        f"submission #{submission.id}: {counts['new']} new, {counts['changed']} changed, "
        f"{counts['closed']} closed, {counts['unchanged']} unchanged"
    )
    for group in submission.preview["groups"][:50]:
        click.echo(
            f"  {group['group'] or '-':<20} +{group['new']} ~{group['changed']} -{group['closed']}"
        )
    if not (yes or click.confirm("Apply these changes?")):
        services.discard_submission(user, submission.id)
        click.echo("discarded; nothing changed")
        return
    try:
        services.confirm_submission(
            user, submission.id, fingerprint=submission.fingerprint, inline=True
        )
    except DomainError as exc:
        raise click.ClickException(exc.detail) from None
    click.echo(f"applied submission #{submission.id}")
