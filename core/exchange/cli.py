"""`flask exchange ...`: keys, a send or receive now, a resend, the state of both directions."""

import click
from flask.cli import AppGroup

from ..audit import act_as_command

exchange_cli = AppGroup("exchange", help="The exchange between the two networks (issue 21).")


@exchange_cli.command("keygen")
@click.argument("directory")
@click.argument("name")
def keygen(directory, name):
    """Write a new key pair NAME.key (keep it on the sending side, mode 600) and NAME.pub (give
    it to the receiving side) into DIRECTORY."""
    from .keys import KeyProblem, generate, load_public

    try:
        private_path, public_path = generate(directory, name)
    except KeyProblem as exc:
        raise click.ClickException(str(exc)) from None
    (ident,) = load_public([str(public_path)])
    click.echo(f"private key {private_path} (sender: EXCHANGE_SIGNING_KEY)")
    click.echo(f"public key  {public_path} (receiver: EXCHANGE_VERIFY_KEYS), key id {ident}")


@exchange_cli.command("send")
def send_now():
    """Seal and drop what is new now, without waiting for the scheduler."""
    from .service import send

    act_as_command("exchange send")
    click.echo(send())


@exchange_cli.command("receive")
def receive_now():
    """Apply the inbox's bundles now."""
    from .service import receive

    act_as_command("exchange receive")
    click.echo(receive())


@exchange_cli.command("resend")
@click.argument("seq", type=click.IntRange(min=1))
def resend_bundle(seq):
    """Drop the archived bundle SEQ into the outbox again (the other side lost or refused it)."""
    from .service import resend

    try:
        click.echo(f"dropped again: {resend(seq)}")
    except (FileNotFoundError, RuntimeError) as exc:
        raise click.ClickException(str(exc)) from None


@exchange_cli.command("status")
def status():
    """Each direction's last sequence number, and the latest bundles with their outcome."""
    from .service import cursors, recent, role

    click.echo(f"role: {role()}")
    for cursor in cursors():
        click.echo(f"{cursor.direction:<9} {cursor.side:<8} at {cursor.seq}")
    for row in recent(20):
        reason = f" {row.reason}: {row.detail}" if row.reason else ""
        click.echo(
            f"{row.created_at:%Y-%m-%d %H:%M:%S} {row.direction} {row.seq} {row.status}{reason}"
        )
