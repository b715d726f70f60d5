"""Every CLI command with junk options: a non-zero exit, a specific message, no traceback, no absolute path.

Runs `warehouse.cli.main()` (the console script's entry point, with its last-resort handler) in-process."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from warehouse import cli

ROOT = Path(__file__).resolve().parent.parent
LONG = "x" * 5000


def _run(argv: list[str], capsys) -> tuple[int, str]:
    old = sys.argv
    sys.argv = ["planwatch", *argv]
    code = 0
    try:
        cli.main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    finally:
        sys.argv = old
    out = capsys.readouterr()
    return code, out.out + out.err


# (argv, a text the message must contain) - paths are relative to the test's working folder
CASES = [
    (["status", "--region", "50", "--as-of", "9999-12"], "9999-12"),
    (["status", "--region", "50", "--as-of", "0001-01"], "1900"),
    (["status", "--region", "50", "--as-of", "2025-13"], "--as-of"),
    (["status", "--region", "../../etc/passwd"], "unknown region code"),
    (["status", "--region", "50", "--indicator", "<script>alert(1)</script>"], "unknown indicator"),
    (["status", "--region", "50", "--plan", "**nope**"], "unknown plan"),
    (["status", "--region", LONG], "unknown region code"),
    (["status", "--region", "50", "--warehouse", "afile"], "not a warehouse"),
    (["status", "--region", "50", "--defs", "junk.yaml"], "UTF-8"),
    (["alerts", "--region", ""], "unknown region code"),
    (["alerts", "--region", "50", "--as-of", "1e21"], "not a date"),
    (["rank", "--parent", "50", "--indicator", "nope"], "unknown indicator"),
    (["rank", "--parent", "\u202e𝕏𝕏", "--as-of", "2025-12"], "unknown region code"),
    (["export", "--out", "out1", "--month", "9999-12"], "9999-12"),
    (["export", "--out", "out1", "--month", "abc"], "--month"),
    (["export", "--out", "out1", "--month", "2025-12", "--region", "nope"], "unknown region code"),
    (["export", "--out", "out1", "--month", "2025-12", "--lang", "xx"], "--lang"),
    (["export", "--out", "out1", "--month", "2025-12", "--formats", "gif"], "unknown format"),
    (["export", "--out", "afile", "--month", "2025-12", "--region", "50"], "--out is a file, not a folder"),
    (["ingest", "nonexistent.csv", "--warehouse", "wh"], "file not found"),
    (["ingest", "afile", "--warehouse", "notwh"], "Not a warehouse"),
    (["sample", "--out", "wh"], "not empty"),
    (["sample", "--out", "s2", "--today", "9999-99-99"], "not a date"),
    (["defs", "validate", "nonexistent.yaml"], "nonexistent.yaml"),
    (["defs", "validate", "junk.yaml"], "UTF-8"),
    (["defs", "list", "--defs", "junk.yaml"], "errors"),
    (["regions", "show", "nope", "--warehouse", "wh"], "unknown region code"),
    (["regions", "show", LONG, "--warehouse", "wh"], "unknown region code"),
    (["regions", "import", "nonexistent.csv", "--warehouse", "wh"], "not found"),
    (["regions", "import", "junk.yaml", "--warehouse", "wh"], "expected a folder"),
    (["warehouse", "check", "--warehouse", "notwh"], "Not a warehouse"),
    (["warehouse", "log", "--warehouse", "notwh"], "Not a warehouse"),
    (["warehouse", "compact", "--warehouse", "notwh"], "Not a warehouse"),
    (["warehouse", "init", "--warehouse", "afile/wh"], "not a folder"),
    (["warehouse", "log", "--warehouse", "wh", "-n", "-5"], "--limit"),
    (["nosuchcommand"], "nosuchcommand"),
]


@pytest.fixture()
def workdir(tmp_path, sample_warehouse, monkeypatch):
    shutil.copytree(sample_warehouse, tmp_path / "wh")
    (tmp_path / "afile").write_text("a file, not a folder", encoding="utf-8")
    (tmp_path / "junk.yaml").write_bytes(b"\x00\xff\xfe junk: [")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PLANWATCH_WAREHOUSE", "wh")
    monkeypatch.setenv("PLANWATCH_DEFS", str(ROOT / "indicator_defs.yaml"))
    monkeypatch.setenv("COLUMNS", "400")  # typer's panels do not wrap the message
    monkeypatch.delenv("PLANWATCH_DEBUG", raising=False)
    return tmp_path


def test_every_command_answers_junk_with_a_specific_message(workdir, capsys):
    failures = []
    for argv, expected in CASES:
        code, out = _run(argv, capsys)
        problems = []
        if code == 0:
            problems.append("exit 0")
        if "Traceback" in out or 'File "' in out:
            problems.append("traceback")
        for path in (str(workdir), str(ROOT), "/usr/", os.path.expanduser("~") + "/"):
            if path in out:
                problems.append(f"path {path}")
        if expected not in out:
            problems.append(f"no {expected!r}")
        if problems:
            failures.append((argv[:4], problems, out[-400:]))
    assert not failures, "\n".join(map(str, failures))
    # nothing was changed in the warehouse by any of these
    assert not (workdir / "out1").exists()
