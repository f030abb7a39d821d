"""The `emreserve` command: the flask CLI with the app preset, so an installed system runs
`emreserve db upgrade`, `emreserve setup ...`, `emreserve scheduler run` without --app."""

from flask.cli import FlaskGroup

from . import create_app


def main() -> None:
    FlaskGroup(
        name="emreserve", create_app=lambda: create_app(), help=__doc__.split("\n\n")[0]
    ).main(prog_name="emreserve")
