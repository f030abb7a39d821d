"""`flask sharing ...`: rebuild the change log, take the daily quality snapshot, time out requests."""

import click
from flask import g
from flask.cli import AppGroup

from core.audit import Actor
from core.timeutil import local_today

sharing_cli = AppGroup(
    "sharing", help="Data sharing: change log, quality snapshots, grant timeouts."
)


@sharing_cli.command("backfill")
def backfill_command():
    """Give records loaded in bulk their entry in the change feeds (safe to run twice)."""
    from .changes import backfill

    g.audit_actor = Actor(name="cli:sharing backfill")
    click.echo(f"change log: {backfill()} records added")


@sharing_cli.command("daily")
def daily_command():
    """The daily job: quality snapshot and timed-out grant requests (safe to run twice)."""
    from .quality import take_snapshot
    from .services import time_out_requests

    g.audit_actor = Actor(name="cli:sharing daily")
    today = local_today()
    click.echo(
        f"quality snapshot {today}: {take_snapshot(today)} rows; "
        f"requests timed out: {time_out_requests(today)}"
    )
