"""Key tasks in the definitions: the shipped Wansheng 分工表, the other plans' tasks, the listing and the checks.

The golden broken files for tasks are tests/defs_golden/32_* to 41_* (run by test_defs_loader.test_golden).
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from warehouse import cli
from warehouse.defs_loader import load_definitions, load_definitions_text
from warehouse.tasks_defs import split_units, task_rows

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "indicator_defs.yaml"
GOLDEN = ROOT / "tests" / "defs_golden"
WANSHENG_SEED = Path("/work/shared/seeds/003_89281f6f1bb08731.txt")

# The appendix 重点任务分工表 as the seed's text keeps it: (row, number printed?, 牵头单位 cell, 责任单位 cell).
WANSHENG_TABLE = [
    (1, False, "民政局", "各镇街、财政局"),
    (2, False, "民政局", "人力社保局、卫计局、残联、政法委、文广新局、教育局、公安分局、体育局、经信局、各镇街"),
    (3, False, "各镇街", "民政局、财政局、国土房管局、卫计局、公安分局、文广新局、发改局、农林局、建设局。"),
    (4, False, "民政局、经信局", "各镇街"),
    (6, True, "民政局", "文明办、人力社保局、各镇街"),
    (7, True, "文明办", "各镇街"),
    (8, True, "民政局", "各镇街、文广新局、教育局"),
]


@pytest.fixture(scope="module")
def shipped():
    result = load_definitions(SHIPPED)
    assert result.ok, [str(p) for p in result.errors]
    return result.definitions


def _cli(*args: str):
    cli._register()
    return CliRunner().invoke(cli.app, list(args))


def test_tasks_list_wansheng_json_has_every_kept_row_and_says_row_5_is_missing():
    result = _cli("tasks", "list", "--plan", "wansheng_2016", "--format", "json", "--defs", str(SHIPPED))
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    tasks = [r for r in rows if r["task"]]
    missing = [r for r in rows if r["missing"]]
    assert len(tasks) == 7
    assert [r["source"] for r in rows] == [f"附件:重点任务分工表 #{n}" for n in range(1, 9)]  # row 5 in its place
    assert len(missing) == 1 and missing[0]["source"].endswith("#5")
    assert "row 5 is missing from the source" in missing[0]["missing"] and "第5行" in missing[0]["missing"]
    for row, (number, printed, lead, responsible) in zip(tasks, WANSHENG_TABLE):
        assert row["source"].endswith(f"#{number}")
        assert row["row_inferred"] is (not printed)
        assert row["lead_units"] == split_units(lead)
        assert row["responsible_units"] == split_units(responsible)
        assert row["owner_inferred"] is False


def test_wansheng_cells_are_kept_as_written(shipped):
    tasks = shipped.plan("wansheng_2016").tasks
    for task, (_, _, lead, responsible) in zip(tasks, WANSHENG_TABLE):
        assert task.units_as_written.lead == lead
        assert task.units_as_written.responsible == responsible
    assert shipped.plan("wansheng_2016").task_tables[0].missing_rows == [5]


def test_wansheng_2020_milestones_and_indicators(shipped):
    by_id = {t.id: t for t in shipped.plan("wansheng_2016").tasks}
    assert by_id["ws_internet_plus_services"].milestones == {
        2020: "城市社区公共服务综合信息平台覆盖率达到60%,农村社区公共服务综合信息平台覆盖率达到30%"}
    assert by_id["ws_volunteer_system"].indicators == ["volunteer_share"]
    with_targets = {t.id for t in by_id.values() if t.milestones}
    assert with_targets == {"ws_internet_plus_services", "ws_service_workforce", "ws_volunteer_system",
                            "ws_social_organisations"}
    for task in by_id.values():  # a milestone is the plan's own words, found in the quoted row
        for text in task.milestones.values():
            assert text in task.quote


@pytest.mark.skipif(not WANSHENG_SEED.exists(), reason="the seed documents are outside the repository")
def test_wansheng_quotes_and_cells_are_in_the_seed(shipped):
    seed = WANSHENG_SEED.read_text(encoding="utf-8")
    appendix = seed[seed.index("附件:重点任务分工表"):]
    lines = [line.strip() for line in appendix.splitlines() if line.strip()]
    for task in shipped.plan("wansheng_2016").tasks:
        at = lines.index(task.quote)  # the whole cell, verbatim
        assert lines[at + 1] == task.units_as_written.lead
        assert lines[at + 2] == task.units_as_written.responsible


def test_other_plans_have_tasks_and_say_where_owners_are_inferred(shipped):
    counts = {p.id: len(p.tasks) for p in shipped.plans}
    assert all(counts[p] >= 2 for p in ("national_2021", "chongqing_2021", "sichuan_2021", "yuxi_2021"))
    inferred = [t for p in shipped.plans for t in p.tasks if t.owner_inferred]
    assert inferred and all(t.note for t in inferred)
    assert not any(t.owner_inferred for t in shipped.plan("wansheng_2016").tasks)
    text = SHIPPED.read_text(encoding="utf-8")
    assert text.count("owner_inferred: true  # owner inferred") == len(inferred)  # the YAML says so, too
    ids = [t.id for p in shipped.plans for t in p.tasks]
    assert len(ids) == len(set(ids))


def test_tasks_list_csv_and_table():
    result = _cli("tasks", "list", "--format", "csv", "--defs", str(SHIPPED))
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert {r["plan"] for r in rows} == {"national_2021", "chongqing_2021", "sichuan_2021", "yuxi_2021",
                                          "wansheng_2016"}
    ws4 = next(r for r in rows if r["task"] == "ws_internet_plus_services")
    assert ws4["lead_units"] == "民政局、经信局"
    table = _cli("tasks", "list", "--plan", "wansheng_2016", "--defs", str(SHIPPED))
    assert table.exit_code == 0 and table.stdout.strip().endswith("7 tasks, 1 missing rows")


def test_tasks_list_refuses_unknown_plan_and_broken_defs():
    result = _cli("tasks", "list", "--plan", "wansheng", "--defs", str(SHIPPED))
    assert result.exit_code == 2 and "did you mean `wansheng_2016`" in result.stderr
    broken = _cli("tasks", "list", "--defs", str(GOLDEN / "32_task_unknown_indicator.yaml"))
    assert broken.exit_code == 2 and "unknown indicator `urban_facility_coverag`" in broken.stderr


HEAD = (GOLDEN / "valid.yaml").read_text(encoding="utf-8")
TASK = """\
    tasks:
      - id: t1
        title: {zh: 任务}
        quote: 原文。
        source: {table: 专栏4, row: 1}
        lead_units: [{zh: 民政局}]
"""


@pytest.mark.parametrize("extra, path, message", [
    ("        responsible_units: [{zh: 财政局}, {zh: 财政局}]\n",
     "plans.sichuan_2021.tasks.t1.responsible_units[1]", "unit `财政局` is listed twice"),
    ("        due_days: -1\n", "plans.sichuan_2021.tasks.t1.due_days", "value too small"),
    ("        frequency: weekly\n", "plans.sichuan_2021.tasks.t1.frequency", "`weekly` is not an allowed value"),
    ("        milestones: {2020: 太早}\n", "plans.sichuan_2021.tasks.t1.milestones.2020",
     "milestone year is outside the plan period"),
    ("        milestones: {二〇二五: 年份不是数}\n", "plans.sichuan_2021.tasks.t1.milestones.二〇二五", "wrong type"),
    ("        indicators: urban_facility_coverage\n", "plans.sichuan_2021.tasks.t1.indicators", "wrong type"),
])
def test_task_checks(extra, path, message):
    result = load_definitions_text(HEAD + TASK + extra, "t.yaml")
    assert [(p.path, p.message.split(" (")[0]) for p in result.errors] == [(path, message)]
    assert result.definitions is None


def test_task_id_length_is_limited_and_tasks_must_be_a_list():
    long_id = "t" * 65
    result = load_definitions_text(HEAD + TASK.replace("id: t1", f"id: {long_id}"), "t.yaml")
    assert [(p.path, p.message) for p in result.errors] == [
        (f"plans.sichuan_2021.tasks.{long_id}.id", "string should have at most 64 characters")]
    result = load_definitions_text(HEAD + "    tasks: {id: t1}\n", "t.yaml")
    assert [str(p) for p in result.errors] == [
        f"t.yaml:{HEAD.count(chr(10)) + 1}:12: error: plans.sichuan_2021.tasks: wrong type (expected a list of `- id: ...` items, "
        "found a mapping)"]


def test_valid_task_builds_the_model():
    result = load_definitions_text(HEAD + TASK + "        milestones: {2025: 完成}\n", "t.yaml")
    assert result.ok, [str(p) for p in result.problems]
    task = result.definitions.plans[0].tasks[0]
    assert task.milestones == {2025: "完成"} and task.frequency == "annual" and task.due_days == 30
    assert task_rows(result.definitions)[0]["lead_units"] == ["民政局"]


@pytest.mark.parametrize("first", ["warehouse.tasks_defs", "warehouse.definitions", "warehouse.defs_loader"])
def test_either_import_order_completes_the_models(first):
    code = (f"import {first}\nfrom warehouse.definitions import Plan, Definitions\n"
            "assert Plan.__pydantic_complete__ and Definitions.__pydantic_complete__\n"
            "Plan.model_validate({'id': 'p', 'name': {'zh': 'p'}, 'issuer': {'zh': 'i'}, 'region': 'CN',"
            " 'period': {'start': 2021, 'baseline': 2020, 'target': 2025}, 'targets': [],"
            " 'tasks': [{'id': 't', 'title': {'zh': 't'}, 'quote': 'q', 'source': {'section': 's'},"
            " 'lead_units': [{'zh': 'u'}]}]})\nprint('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_split_units():
    assert split_units("民政局、财政局。") == ["民政局", "财政局"]
    assert split_units(" 民政局，经信局 ") == ["民政局", "经信局"]
    assert split_units("文明办") == ["文明办"]
