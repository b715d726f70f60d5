"""CLI commands for regions (registered by warehouse.cli)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the planwatch app."""
