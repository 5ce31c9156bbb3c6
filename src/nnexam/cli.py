"""The command line: parses options, calls the core verbs, prints, writes files and exits.

This is the only module that touches streams, files and exit codes. Core errors arrive as
NnexamError and leave as one line on stderr with the error's exit code.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from . import __version__
from .errors import NnexamError
from .notation import labels as make_labels
from .present import answer_table, worked_latex, worked_text
from .solve import solve
from .spec import load_spec


class NnexamGroup(click.Group):
    """Turns NnexamError into one stderr line and its exit code, never a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except NnexamError as e:
            click.echo(f"nnexam: error: {e.message}", err=True)
            ctx.exit(e.exit_code)


@click.group(cls=NnexamGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="nnexam")
def cli():
    """Per-student forward/backward-pass exercises: generate, solve, render and grade."""


@cli.command("solve")
@click.argument("spec", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--steps", is_flag=True, help="Print the worked solution step by step.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "latex"]), default="table", show_default=True,
              help="table: the answer key; json: full-precision values and labels; latex: the worked solution.")
@click.option("--decimals", type=click.IntRange(0, 12), default=4, show_default=True,
              help="Decimals of the human-readable output.")
def solve_cmd(spec: Path, steps: bool, fmt: str, decimals: int):
    """Print the full answer key of the network in SPEC (TOML, or JSON with the same keys)."""
    network = load_spec(spec)
    key = solve(network)
    names = make_labels(key.graph, network.notation, dict(network.names))
    if fmt == "json":
        doc = {
            "quantities": key.quantities(),
            "labels": {n: names[n].ascii for n in key.graph.names},
        }
        click.echo(json.dumps(doc, indent=2))
    elif fmt == "latex":
        click.echo(worked_latex(key.graph, key.values, names, decimals), nl=False)
    elif steps:
        click.echo(worked_text(key.graph, key.values, names, decimals), nl=False)
    else:
        click.echo(answer_table(key.graph, key.values, names, decimals), nl=False)


# --- generate, banks (issue 4: generator) ---------------------------------------------------


# --- render (issue 5: PDF builder) -----------------------------------------------------------


# --- grade, check (issue 6: grader) ----------------------------------------------------------


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="nnexam")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
