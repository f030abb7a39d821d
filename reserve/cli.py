"""The registry's commands: first-day steps under `flask setup`, `flask demo load`, `flask warnings
scan` and `flask report ...`, attached to the app's CLI by reserve/feature.py."""

import os
import sys
import time
from pathlib import Path

import click
from flask.cli import AppGroup, with_appcontext

from core.audit import act_as_command
from core.cli import refuse_in_production

from . import demo, firstday
from .reporting.cli import report_cli
from .reporting.files import BadFile
from .services.reference import load_reference_data
from .warnings import services as warning_services

MAX_AGENCY_FILE = 20 * 1024 * 1024  # the web upload limit
warnings_cli = AppGroup("warnings", help="Early warnings.")


@click.command("reference")
@with_appcontext
def setup_reference():
    """Load the shipped reference data (categories, materials, populations); adds only what is missing."""
    act_as_command("setup reference")
    added = load_reference_data()
    click.echo("reference data added: " + ", ".join(f"{k} {v}" for k, v in added.items()))


@click.command("agencies-template")
@with_appcontext
@click.option(
    "--format", "fmt", type=click.Choice(["xlsx", "csv"]), default="xlsx", show_default=True
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="file to write (default: agencies-template.FORMAT)",
)
def setup_agencies_template(fmt, output):
    """Write the blank agencies template (Chinese headers, instructions sheet)."""
    path = Path(output or f"agencies-template.{fmt}")
    content = firstday.template(fmt)
    path.write_bytes(content)
    click.echo(f"wrote {path} ({len(content):,} bytes)")


@click.command("agencies")
@with_appcontext
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def setup_agencies(path):
    """Import the province's agencies from a CSV/XLSX file: every row checked first, then all or nothing."""
    act_as_command("setup agencies")
    if os.path.getsize(path) > MAX_AGENCY_FILE:
        raise click.ClickException(f"{path} is larger than {MAX_AGENCY_FILE // 2**20} MB")
    try:
        outcome = firstday.import_agencies(Path(path).read_bytes())
    except BadFile as exc:
        raise click.ClickException(exc.detail) from None
    if not outcome.ok:
        for error in outcome.errors[:500]:
            click.echo(
                f"{error['cell'] or '-':>8}  {error['header'] or '':<10} {error['message']}",
                err=True,
            )
        click.echo(
            f"{len(outcome.errors)} errors in {outcome.rows} rows: nothing imported", err=True
        )
        sys.exit(1)
    click.echo(f"{len(outcome.created)} agencies imported")


@click.command("load")
@with_appcontext
@click.option(
    "--scale", type=click.Choice(["province", "national"]), default="province", show_default=True
)
@click.option("--seed", type=int, default=2026, show_default=True)
def demo_load(scale, seed):
    """Load demo data at a scale into an EMPTY database (national: ~1,000,000 lots, for benchmarks)."""
    refuse_in_production("demo load")
    act_as_command(f"demo load --scale {scale}")
    if not demo.is_empty():
        raise click.ClickException(
            "the database already has agencies; load demo data into an empty one"
        )
    started = time.perf_counter()
    with click.progressbar(length=1, label=f"loading the {scale} demo") as bar:
        counts = demo.build_demo(scale, seed=seed)
        bar.update(1)
    click.echo(
        ", ".join(f"{k} {v}" for k, v in vars(counts).items())
        + f" in {time.perf_counter() - started:.1f} s"
    )


@warnings_cli.command("scan")
def warnings_scan():
    """Scan now and print what changed."""
    act_as_command("warnings scan")
    result = warning_services.scan()
    click.echo(
        f"scan {result.scan_id}: {result.candidates} conditions, {result.opened} opened, {result.kept} kept, "
        f"{result.resolved} resolved in {result.seconds:.2f} s {result.timings}"
    )


def extend(groups) -> tuple:
    """Add the registry's commands to core's groups; the registry's own groups."""
    for command in (setup_reference, setup_agencies_template, setup_agencies):
        groups["setup"].add_command(command)
    groups["demo"].add_command(demo_load)
    return (report_cli, warnings_cli)
