"""Every planwatch command answers --help with at least one example, and the top level lists them all."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from warehouse import cli


def _command_paths() -> list[list[str]]:
    cli._register()
    root = typer.main.get_command(cli.app)
    paths: list[list[str]] = []

    def walk(command, prefix: list[str]) -> None:
        if hasattr(command, "commands"):  # a group (typer ships its own click)
            for name, sub in command.commands.items():
                walk(sub, [*prefix, name])
        else:
            paths.append(prefix)

    walk(root, [])
    return paths


COMMANDS = _command_paths()


def test_the_expected_commands_exist():
    names = {" ".join(p) for p in COMMANDS}
    assert {"defs validate", "defs list", "regions import", "regions show", "ingest", "warehouse init",
            "warehouse compact", "warehouse check", "warehouse log", "sample", "status", "alerts", "rank",
            "export", "dashboard", "version"} <= names


@pytest.mark.parametrize("path", [p for p in COMMANDS if p != ["version"]], ids=" ".join)
def test_help_has_an_example(path):
    result = CliRunner().invoke(cli.app, [*path, "--help"], terminal_width=120)
    assert result.exit_code == 0, result.output
    assert "Example" in result.output and "planwatch " + path[0] in result.output.split("Example", 1)[1]
