"""Tests for `planwatch defs validate|list` on the fixture files in tests/defs_golden/."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from warehouse import cli_defs

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "defs_golden"
VALID = GOLDEN / "valid.yaml"
BROKEN = GOLDEN / "28_multiple_errors.yaml"


@pytest.fixture(scope="module")
def run():
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """test root"""

    cli_defs.register(app)
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, ["defs", *args])

    return invoke


def test_validate_valid_file_exits_0(run):
    result = run("validate", str(VALID))
    assert result.exit_code == 0
    assert result.stdout == "0 errors, 0 warnings\n"


def test_validate_broken_file_text(run, monkeypatch):
    monkeypatch.chdir(GOLDEN)
    result = run("validate", BROKEN.name)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    expected = BROKEN.with_suffix(".expected").read_text(encoding="utf-8").splitlines()
    assert lines == expected + ["5 errors, 0 warnings"]


def test_validate_warnings_only_exits_0(run):
    result = run("validate", str(GOLDEN / "27_unused_indicator.yaml"))
    assert result.exit_code == 0
    assert result.stdout.splitlines()[-1] == "0 errors, 1 warning"


def test_validate_json(run):
    result = run("validate", str(BROKEN), "--format", "json")
    assert result.exit_code == 1
    problems = json.loads(result.stdout)
    assert len(problems) == 5
    first = problems[0]
    assert first["severity"] == "error" and first["line"] == 6 and first["column"] == 35
    assert first["path"] == "defaults.thresholds.expected.amber"
    assert set(first) == {"severity", "file", "line", "column", "path", "message", "expected", "found",
                          "suggestion"}
    assert any(p["suggestion"] == "target" for p in problems)


def test_validate_default_path_from_env(run, monkeypatch):
    monkeypatch.setenv("PLANWATCH_DEFS", str(BROKEN))
    result = run("validate")
    assert result.exit_code == 1 and "5 errors" in result.stdout


def test_list_json_rows(run):
    result = run("list", "--defs", str(VALID), "--format", "json")
    assert result.exit_code == 0
    rows = json.loads(result.stdout)
    assert [(r["plan"], r["indicator"], r["kind"]) for r in rows] == [
        ("sichuan_2021", "service_area_per_100_households", "main"),
        ("sichuan_2021", "urban_facility_coverage", "text"),
    ]
    first = rows[0]
    assert first["baseline"] == 28 and first["baseline_year"] == 2020
    assert first["comparator"] == ">=" and first["target"] == 35 and first["target_year"] == 2025
    assert first["name_zh"] == "每百户居民拥有社区综合服务设施面积" and first["unit_zh"] == "平方米"
    assert first["attribute"] == "binding" and first["source"] == "专栏1 #1"
    assert rows[1]["baseline"] is None


def test_list_csv_and_plan_filter(run):
    result = run("list", "--defs", str(VALID), "--format", "csv", "--plan", "sichuan_2021")
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 2
    assert list(rows[0]) == cli_defs.LIST_COLUMNS
    assert rows[0]["target"] == "35" and rows[1]["target"] == "98"


def test_list_table(run):
    result = run("list", "--defs", str(VALID))
    assert result.exit_code == 0
    assert "≥ 35 (2025)" in result.stdout and "28 (2020)" in result.stdout
    assert result.stdout.rstrip().endswith("2 targets")


def test_list_unknown_plan_suggests(run):
    result = run("list", "--defs", str(VALID), "--plan", "sichuan")
    assert result.exit_code == 1
    assert "unknown plan `sichuan`; did you mean `sichuan_2021`?" in result.stderr


def test_list_on_broken_file_prints_errors(run):
    result = run("list", "--defs", str(BROKEN), "--format", "json")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "traget" in result.stderr and "5 errors" in result.stderr


def _planwatch(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "warehouse", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)


def test_subprocess_validate_and_help():
    ok = _planwatch("defs", "validate", "tests/defs_golden/valid.yaml")
    assert ok.returncode == 0, ok.stderr
    bad = _planwatch("defs", "validate", "tests/defs_golden/08_tab_indentation.yaml")
    assert bad.returncode == 1
    assert bad.stdout.splitlines()[0] == (
        "tests/defs_golden/08_tab_indentation.yaml:23:1: error: "
        "YAML syntax error: tabs are not allowed for indentation; use spaces"
    )
    missing = _planwatch("defs", "list", "--defs", "no/such/file.yaml")
    assert missing.returncode == 1
    assert "file not found" in missing.stderr and "Traceback" not in missing.stderr
    for command in ("validate", "list"):
        helped = _planwatch("defs", command, "--help")
        assert helped.returncode == 0 and "Examples" in helped.stdout and f"planwatch defs {command}" in helped.stdout
