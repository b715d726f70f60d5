"""督办 on a real warehouse and the real engine: opening from an alert or a delayed task, deadlines, answers,
overdue flags, closing, refusals that change nothing, and the CLI cycle."""

from __future__ import annotations

import json
import re
from datetime import datetime

import pytest
import typer
from typer.testing import CliRunner

from tasks_fixtures import add_batch, task_definitions, task_warehouse, utc
from warehouse import cli_tasks
from warehouse.duban import answer_item, close_item, items, open_item
from warehouse.tasks_store import TasksError, report

DEFS = task_definitions()  # coverage: 50 (2020) -> 100 (2025), binding, for 50 and each county


@pytest.fixture()
def wh(tmp_path):
    path = task_warehouse(tmp_path / "wh")
    from warehouse.storage import Warehouse

    # 50 -> 100 from 2020 to 2025: the path expects 80 at the end of 2023. 万州 far behind (red), 涪陵 ahead;
    # every year reported so no overdue alert (2024 is not due before 30 January 2025)
    add_batch(Warehouse(path), [
        {"region_code": code, "indicator_id": "coverage", "period": str(year), "value": value}
        for code, values in (("500101", (51, 52, 52)), ("500102", (62, 75, 95)))
        for year, value in zip((2021, 2022, 2023), values)
    ], "2024-03-01")
    return path


def _files(wh):
    return {str(p.relative_to(wh)): p.read_bytes() for p in sorted(wh.rglob("*")) if p.is_file() and p.name != ".lock"}


def _delay(wh, now="2024-02-01"):
    return report(wh, DEFS, task_id="t_volunteers", unit="各镇街", period="2023", state="delayed",
                  account="招募滞后", by="镇街填报员", now=utc(now))


def _open_task(wh, **kw):
    args = dict(department="各镇街", request="说明滞后原因并提出整改措施", deadline="2024-03-10", by="李局长",
                task_id="t_volunteers", now=utc("2024-03-01"))
    args.update(kw)
    return open_item(wh, DEFS, **args)


# ---- opening ----------------------------------------------------------------------------------------

def test_open_from_a_red_alert_records_the_alert(wh):
    event = open_item(wh, DEFS, region="500101", indicator="coverage", department="万州区民政局",
                      request="覆盖率严重滞后，请说明原因", deadline="2024-06-30", by="李局长", now=utc("2024-06-01"))
    assert event["item"] == "DB0001" and event["by"] == "李局长"
    src = event["source"]
    assert (src["kind"], src["region"], src["indicator"], src["region_name"]) == ("alert", "500101", "coverage", "万州区")
    assert src["status"] in ("far_behind", "behind") and src["reason_zh"]


def test_no_alert_no_item(wh):
    before = _files(wh)
    with pytest.raises(TasksError, match="no red or amber alert for coverage in 500102"):
        open_item(wh, DEFS, region="500102", indicator="coverage", department="涪陵区民政局", request="x",
                  deadline="2024-06-30", by="李局长", now=utc("2024-06-01"))
    assert _files(wh) == before


def test_open_from_a_delayed_or_unreported_task(wh):
    with pytest.raises(TasksError, match="no `delayed` report and no overdue report"):
        _open_task(wh, period="2023", now=utc("2024-01-20"))  # 2023 not due until 30 Jan, nothing delayed
    _delay(wh)
    event = _open_task(wh, period="2023")
    assert {"unit": "各镇街", "period": "2023", "state": "delayed", "missing": False} in event["source"]["behind"]
    assert {"unit": "文明办", "period": "2023", "state": None, "missing": True} in event["source"]["behind"]
    # without --period, overdue missing reports count as behind too
    event = _open_task(wh, department="民政局")
    assert event["item"] == "DB0002" and event["source"]["behind_count"] >= 3


@pytest.mark.parametrize("change, fragment", [
    ({"department": "财政局"}, "is not a lead or responsible unit"),
    ({"department": ""}, "department is empty"),
    ({"request": " "}, "request is empty"),
    ({"deadline": "2024-02-30"}, "deadline is not a date"),
    ({"deadline": "10/03/2024"}, "deadline is not a date"),
    ({"deadline": "2024-02-29"}, "is in the past"),
    ({"task_id": "t_nope"}, "unknown task"),
    ({"region": "500101"}, "one of the two"),
    ({"period": "2023-Q1"}, "reports annual periods"),
    ({"period": "2030"}, "outside the plan period"),
    ({"by": " "}, "identity (--as) is empty"),
])
def test_bad_open_is_refused_and_changes_nothing(wh, change, fragment):
    _delay(wh)
    before = _files(wh)
    with pytest.raises(TasksError) as info:
        _open_task(wh, **change)
    assert fragment in info.value.en and info.value.zh
    assert _files(wh) == before


@pytest.mark.parametrize("region, indicator, fragment", [
    ("500199", "coverage", "not in the warehouse's region registry"),
    ("abc", "coverage", "not a region code"),
    ("500101", "coverag", "did you mean `coverage`"),
    (None, "coverage", "needs --region and --indicator"),
])
def test_bad_alert_source(wh, region, indicator, fragment):
    before = _files(wh)
    with pytest.raises(TasksError, match=re.escape(fragment)):
        open_item(wh, DEFS, region=region, indicator=indicator, department="d", request="r",
                  deadline="2024-06-30", by="李局长", now=utc("2024-06-01"))
    assert _files(wh) == before


# ---- deadlines, answers, overdue flags ------------------------------------------------------------

@pytest.mark.parametrize("answer_at, as_of, status, overdue, days", [
    # deadline 2024-03-10: met until 24:00 CST that day = 2024-03-10T16:00Z
    (None, "2024-03-10T15:59:59+00:00", "open", False, None),
    (None, "2024-03-10T16:00:00+00:00", "open", False, None),
    (None, "2024-03-10T16:00:01+00:00", "overdue", True, 1),
    (None, "2024-03-15T16:00:00+00:00", "overdue", True, 5),
    ("2024-03-10T15:00:00+00:00", "2024-03-20T00:00:00+00:00", "answered", False, None),
    ("2024-03-12T02:00:00+00:00", "2024-03-20T00:00:00+00:00", "answered_late", False, None),
    # as of before the late answer existed, the item was overdue
    ("2024-03-12T02:00:00+00:00", "2024-03-11T16:00:00+00:00", "overdue", True, 1),
])
def test_status_and_overdue(wh, answer_at, as_of, status, overdue, days):
    _delay(wh)
    _open_task(wh)
    if answer_at is not None:
        answer_item(wh, "DB0001", department="各镇街", action="已补招志愿者", done_by="2024-03-09", by="王五",
                    now=datetime.fromisoformat(answer_at))
    (item,) = items(wh, as_of=datetime.fromisoformat(as_of))
    assert (item["status"], item["overdue"], item["days_overdue"]) == (status, overdue, days)


def test_full_cycle_with_identities(wh):
    _delay(wh)
    _open_task(wh)
    answer_item(wh, "db0001", department="各镇街", action="已补招300人", done_by="2024-03-20", by="王五",
                now=utc("2024-03-05"))
    close_item(wh, "DB0001", note="整改到位", by="李局长", now=utc("2024-03-25"))
    (item,) = items(wh, as_of=utc("2024-04-01"))
    assert item["status"] == "closed" and item["closed_by"] == "李局长" and item["close_note"] == "整改到位"
    assert item["answers"] == [{"by": "王五", "role": None, "at": utc("2024-03-05").isoformat(timespec="microseconds"),
                                "action": "已补招300人", "done_by": "2024-03-20"}]
    assert item["done_by_after_deadline"] is True  # promised after the 10 March deadline
    assert item["opened_by"] == "李局长" and item["deadline"] == "2024-03-10"
    kinds = [json.loads(p.read_text(encoding="utf-8"))["kind"] for p in sorted((wh / "tasks" / "events").glob("*"))]
    assert kinds == ["report", "duban_open", "duban_answer", "duban_close"]


@pytest.mark.parametrize("step, fragment", [
    (lambda wh: answer_item(wh, "DB0001", department="民政局", action="a", done_by="2024-03-09", by="x"),
     "was given to 各镇街, not 民政局"),
    (lambda wh: answer_item(wh, "DB0099", department="各镇街", action="a", done_by="2024-03-09", by="x"),
     "no 督办 item"),
    (lambda wh: answer_item(wh, "DB0001", department="各镇街", action="a", done_by="soon", by="x"),
     "done-by date is not a date"),
    (lambda wh: answer_item(wh, "DB0001", department="各镇街", action="", done_by="2024-03-09", by="x"),
     "action is empty"),
    (lambda wh: close_item(wh, "DB0001", note="", by="x"), "note is empty"),
    (lambda wh: close_item(wh, "DB0001", note="ok", by=""), "identity (--as) is empty"),
])
def test_bad_answer_or_close_changes_nothing(wh, step, fragment):
    _delay(wh)
    _open_task(wh)
    before = _files(wh)
    with pytest.raises(TasksError, match=re.escape(fragment)):
        step(wh)
    assert _files(wh) == before


def test_closed_item_takes_no_more_answers(wh):
    _delay(wh)
    _open_task(wh)
    close_item(wh, "DB0001", note="撤回", by="李局长")
    before = _files(wh)
    with pytest.raises(TasksError, match="is closed; no more answers"):
        answer_item(wh, "DB0001", department="各镇街", action="a", done_by="2024-03-09", by="x")
    with pytest.raises(TasksError, match="already closed"):
        close_item(wh, "DB0001", note="again", by="李局长")
    assert _files(wh) == before


# ---- the CLI cycle ------------------------------------------------------------------------------------

@pytest.fixture()
def run(tmp_path, monkeypatch):
    from tasks_fixtures import task_definitions  # noqa: F401

    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """test root"""

    cli_tasks.register(app)
    monkeypatch.setattr(cli_tasks, "_defs", lambda path: DEFS)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args))


def test_cli_cycle(wh, run):
    w = ["--warehouse", str(wh)]
    r = run("tasks", "report", "t_volunteers", "--unit", "各镇街", "--period", "2023", "--state", "delayed",
            "--account", "招募滞后", "--as", "填报员", *w)
    assert r.exit_code == 0 and "recorded: t_volunteers 各镇街 2023 delayed" in r.stdout
    r = run("duban", "open", "--task", "t_volunteers", "--department", "各镇街", "--request", "整改",
            "--deadline", "2099-12-31", "--as", "李局长", *w)
    assert r.exit_code == 0 and "DB0001" in r.stdout
    r = run("duban", "answer", "DB0001", "--department", "各镇街", "--action", "已整改", "--done-by", "2099-12-01",
            "--as", "王五", *w)
    assert r.exit_code == 0, r.output
    r = run("duban", "list", "--format", "json", *w)
    (item,) = json.loads(r.stdout)
    assert item["status"] == "answered" and item["answers"][0]["by"] == "王五"
    r = run("duban", "list", "--overdue", "--format", "csv", "--as-of", "2100-02", *w)
    assert r.stdout.splitlines()[1:] == []  # answered before the deadline: never overdue
    r = run("tasks", "history", "t_volunteers", "--format", "csv", *w)
    assert r.stdout.splitlines()[1].split(",")[1:6] == ["填报员", "t_volunteers", "各镇街", "2023", "delayed"]


def test_cli_requires_identity_and_reports_errors_without_traceback(wh, run):
    w = ["--warehouse", str(wh)]
    r = run("duban", "open", "--task", "t_volunteers", "--department", "各镇街", "--request", "整改",
            "--deadline", "2099-12-31", *w)
    assert r.exit_code == 2 and "Missing option '--as'" in r.output
    r = run("duban", "open", "--task", "t_volunteers", "--department", "各镇", "--request", "整改",
            "--deadline", "2099-12-31", "--as", "李局长", *w)
    assert r.exit_code == 2 and r.stderr.startswith("错误 / error: ") and "Traceback" not in r.output
    assert "did you mean `各镇街`" in r.stderr
    assert not (wh / "tasks").exists()
    r = run("duban", "list", "--as-of", "2024-13", *w)
    assert r.exit_code == 2 and "not a valid as-of time" in r.stderr


def test_cli_csv_cells_cannot_start_a_formula(wh, run):
    w = ["--warehouse", str(wh)]
    run("tasks", "report", "t_volunteers", "--unit", "各镇街", "--period", "2023", "--state", "delayed",
        "--account", "=HYPERLINK(\"http://x\")", "--as", "@evil", *w)
    r = run("tasks", "history", "--format", "csv", *w)
    cells = r.stdout.splitlines()[1]
    assert "'@evil" in cells and "'=HYPERLINK" in cells


def test_commands_are_registered():
    from warehouse import cli

    cli._register()
    root = typer.main.get_command(cli.app)
    assert set(root.commands["tasks"].commands) == {"list", "report", "history", "ledger"}
    assert set(root.commands["duban"].commands) == {"open", "answer", "close", "list"}
