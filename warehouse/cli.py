"""The `planwatch` command line (also `python -m warehouse`).

Each concern registers its own commands from its own module, so this file stays a table of contents.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    name="planwatch",
    help=(
        "planwatch: community service plan indicators, region by region, against their targets.\n\n"
        "Examples:\n\n"
        "  planwatch defs validate indicator_defs.yaml\n\n"
        "  planwatch ingest submissions.csv --warehouse wh/\n\n"
        "  planwatch status --region 50 --as-of 2025-12\n\n"
        "  planwatch export --month 2025-12 --region 50 --out report/"
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="markdown",
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """planwatch: community service plan indicators against their targets."""


@app.command()
def version() -> None:
    """Print the planwatch version."""
    from warehouse import __version__

    typer.echo(__version__)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def dashboard(ctx: typer.Context) -> None:
    """Start the dashboard (extra options go to Streamlit, e.g. `--server.port 8502`).

    The warehouse is $PLANWATCH_WAREHOUSE (default: the bundled sample) and the definitions $PLANWATCH_DEFS.

    Example: planwatch dashboard --server.port 8502 --server.headless true
    """
    from warehouse.serve import run_dashboard

    run_dashboard(list(ctx.args))


_registered = False


def _register() -> None:
    """Add every concern's commands (once: tests call it again)."""
    global _registered
    if _registered:
        return
    from warehouse import (cli_access, cli_defs, cli_engine, cli_export, cli_regions, cli_review, cli_tasks,
                           cli_warehouse)

    for module in (cli_defs, cli_regions, cli_warehouse, cli_engine, cli_export, cli_tasks, cli_access, cli_review):
        module.register(app)
    _registered = True


def main() -> None:
    from warehouse.safe_errors import cli_guard

    _register()
    # typer's own pretty tracebacks are off: an unexpected error ends with a message (warehouse/safe_errors.py)
    cli_guard(lambda: app(standalone_mode=True))
