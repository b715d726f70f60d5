"""Task progress reports and the work ledger on a real warehouse folder: due dates, lateness, history,
attachments, hostile input (nothing written), the lock and concurrent writers."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
from pathlib import Path

import pytest

from tasks_fixtures import task_definitions, task_warehouse, utc
from warehouse.periods import parse_period
from warehouse.storage import Warehouse
from warehouse.tasks_defs import Task
from warehouse.tasks_store import (
    TasksError,
    days_late,
    due_at,
    history,
    ledger,
    locked,
    report,
    EventLog,
)

DEFS = task_definitions()


@pytest.fixture()
def wh(tmp_path) -> Path:
    return task_warehouse(tmp_path / "wh")


def _report(wh, **kw):
    args = dict(task_id="t_volunteers", unit="文明办", period="2023", state="on_track", account="按计划推进",
                by="张三", now=utc("2024-01-10"))
    args.update(kw)
    return report(wh, DEFS, **args)


def _files(wh: Path) -> dict[str, bytes]:
    """Every file under the warehouse folder except the lock (to prove nothing changed)."""
    return {str(p.relative_to(wh)): p.read_bytes() for p in sorted(wh.rglob("*")) if p.is_file() and p.name != ".lock"}


# ---- due dates and lateness ------------------------------------------------------------------------

def _task(frequency: str, due_days: int) -> Task:
    return Task(id="t", title={"zh": "t"}, quote="q", source={"section": "s"}, lead_units=[{"zh": "u"}],
                frequency=frequency, due_days=due_days)


@pytest.mark.parametrize("frequency, due_days, period, due", [
    # 24:00 CST on the period's last day is 16:00 UTC that day; then + due_days
    ("annual", 30, "2023", "2024-01-30T16:00:00+00:00"),
    ("annual", 0, "2023", "2023-12-31T16:00:00+00:00"),
    ("quarterly", 15, "2023-Q1", "2023-04-15T16:00:00+00:00"),
    ("quarterly", 15, "2023-Q4", "2024-01-15T16:00:00+00:00"),
    ("monthly", 0, "2024-02", "2024-02-29T16:00:00+00:00"),  # leap year
    ("monthly", 10, "2024-12", "2025-01-10T16:00:00+00:00"),
])
def test_due_at(frequency, due_days, period, due):
    assert due_at(_task(frequency, due_days), parse_period(period)).isoformat() == due


@pytest.mark.parametrize("recorded, late", [
    ("2024-01-10T00:00:00+00:00", False),
    ("2024-01-30T15:59:59+00:00", False),
    ("2024-01-30T16:00:00+00:00", False),  # exactly at the due time (24:00 CST on 30 January) is on time
    ("2024-01-30T16:00:01+00:00", True),
    ("2024-06-01T00:00:00+00:00", True),
])
def test_report_lateness(wh, recorded, late):
    from datetime import datetime

    event = _report(wh, now=datetime.fromisoformat(recorded))
    assert event["late"] is late and event["due_at"] == "2024-01-30T16:00:00+00:00"
    assert [e["late"] for e in history(wh)] == [late]


@pytest.mark.parametrize("moment, due, days", [
    ("2024-01-30T17:00:00+00:00", "2024-01-30T16:00:00+00:00", 1),  # an hour late counts as a day
    ("2024-02-15T16:00:00+00:00", "2024-01-30T16:00:00+00:00", 16),  # exactly 16 days
    ("2024-02-15T16:00:01+00:00", "2024-01-30T16:00:00+00:00", 17),
])
def test_days_late(moment, due, days):
    from datetime import datetime

    assert days_late(datetime.fromisoformat(moment), datetime.fromisoformat(due)) == days


# ---- the ledger ------------------------------------------------------------------------------------

def test_ledger_missing_late_and_latest_state(wh):
    _report(wh, period="2023", state="on_track", now=utc("2024-01-10"))
    _report(wh, period="2023", state="delayed", account="招募不足", now=utc("2024-02-01"))
    _report(wh, unit="民政局", period="2022", state="done", now=utc("2023-03-01"))  # late (due 2023-01-30)
    rows = [r for r in ledger(wh, DEFS, "cq", as_of=utc("2024-02-15")) if r["task"] == "t_volunteers"]
    by_key = {(r["unit"], r["period"]): r for r in rows}
    # periods 2021-2024 have started by 2024-02-15; the task has three units (lead first)
    assert sorted({r["period"] for r in rows}) == ["2021", "2022", "2023", "2024"]
    assert [r["unit"] for r in rows[:3]] == ["文明办", "各镇街", "民政局"]
    assert by_key[("文明办", "2021")]["role"] == "lead" and by_key[("民政局", "2021")]["role"] == "responsible"
    first = by_key[("文明办", "2023")]
    assert (first["state"], first["reports"], first["late"], first["missing"]) == ("delayed", 2, False, False)
    assert first["account"] == "招募不足"  # the latest report's account; the first one decides lateness
    assert by_key[("民政局", "2022")]["late"] is True
    missing = [r for r in rows if r["missing"]]
    assert len(missing) == 3 + 2 + 2  # 2021 all three units, 2022 and 2023 the two that did not report
    assert by_key[("各镇街", "2023")]["days_overdue"] == 16  # due 24:00 CST 30 Jan, as of 24:00 CST 15 Feb
    assert not any(r["missing"] for r in rows if r["period"] == "2024")  # not due yet
    # as of an earlier time, later reports do not exist yet
    earlier = {(r["unit"], r["period"]): r for r in ledger(wh, DEFS, "cq", as_of=utc("2024-01-20"))}
    assert earlier[("文明办", "2023")]["state"] == "on_track" and earlier[("文明办", "2023")]["reports"] == 1


def test_ledger_quarterly_task(wh):
    rows = [r for r in ledger(wh, DEFS, as_of=utc("2021-07-20")) if r["task"] == "t_platform"]
    # 2021-Q1 (due 15 April), Q2 (due 15 July) missing; Q3 started, not due
    assert [(r["period"], r["unit"], r["missing"]) for r in rows] == [
        ("2021-Q1", "民政局", True), ("2021-Q1", "经信局", True), ("2021-Q2", "民政局", True),
        ("2021-Q2", "经信局", True), ("2021-Q3", "民政局", False), ("2021-Q3", "经信局", False)]


# ---- history, append-only, attachments ---------------------------------------------------------------

def test_history_is_append_only(wh):
    first = _report(wh, state="on_track")
    before = (wh / "tasks" / "events" / f"{first['event_id']}.json").read_bytes()
    _report(wh, state="delayed", now=utc("2024-01-11"), by="李四")
    events = history(wh, "t_volunteers")
    assert [(e["state"], e["by"]) for e in events] == [("on_track", "张三"), ("delayed", "李四")]
    assert (wh / "tasks" / "events" / f"{first['event_id']}.json").read_bytes() == before
    assert len(list((wh / "tasks" / "events").glob("*.json"))) == 2
    assert not list((wh / "tasks" / ".tmp").iterdir())  # temp files were renamed into place
    assert history(wh, unit="民政局") == []


def test_attachment_is_kept_by_sha256(wh, tmp_path):
    doc = tmp_path / "进展材料.PDF"
    doc.write_bytes(b"%PDF-1.4 progress\n")
    event = _report(wh, attachment=doc)
    sha = hashlib.sha256(doc.read_bytes()).hexdigest()
    assert event["attachment"] == {"sha256": sha, "file_name": "进展材料.PDF", "bytes": 18,
                                   "original": f"originals/{sha}.pdf.gz"}  # originals are kept gzip-compressed
    assert Warehouse(wh).read_original(sha) == doc.read_bytes()  # sha256 checked on read-back
    assert Warehouse(wh).original_path(sha) == wh / "originals" / f"{sha}.pdf.gz"


# ---- hostile input: a clear zh/en error and nothing written ----------------------------------------

@pytest.mark.parametrize("change, fragment", [
    ({"task_id": "t_volunteer"}, "did you mean `t_volunteers`"),
    ({"task_id": "../../etc"}, "unknown task"),
    ({"unit": "文明"}, "did you mean `文明办`"),
    ({"unit": "财政局"}, "is not a lead or responsible unit"),
    ({"period": "2023-Q1"}, "reports annual periods"),
    ({"period": "2019"}, "outside the plan period"),
    ({"period": "2024", "now": utc("2023-12-01")}, "has not started"),
    ({"period": "二〇二三"}, "not a period"),
    ({"state": "late"}, "state must be one of"),
    ({"state": "delayd"}, "did you mean `delayed`"),
    ({"account": "   "}, "account is empty"),
    ({"account": "x" * 2001}, "account is too long"),
    ({"account": "ok\x1b[31m"}, "control characters"),
    ({"account": "ok\u202eevil"}, "control characters"),
    ({"account": 12}, "account must be text"),
    ({"by": ""}, "identity (--as) is empty"),
    ({"by": "a\nb"}, "control characters"),
    ({"by": "名" * 101}, "too long"),
])
def test_bad_report_is_refused_and_changes_nothing(wh, change, fragment):
    _report(wh)  # one good report first, so "nothing changed" is about an existing ledger
    before = _files(wh)
    with pytest.raises(TasksError) as info:
        _report(wh, **change)
    assert fragment in info.value.en and info.value.zh  # both languages
    assert _files(wh) == before


@pytest.mark.parametrize("name, content, fragment", [
    ("a.exe", b"MZ", "attachment type not accepted"),
    ("noext", b"x", "attachment type not accepted"),
    ("missing.pdf", None, "attachment not found"),
])
def test_bad_attachment_changes_nothing(wh, tmp_path, name, content, fragment):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    before = _files(wh)
    with pytest.raises(TasksError, match=fragment):
        _report(wh, attachment=path)
    assert _files(wh) == before


def test_attachment_size_limit(wh, tmp_path, monkeypatch):
    from warehouse import tasks_store

    monkeypatch.setattr(tasks_store, "MAX_ATTACHMENT", 10)
    big = tmp_path / "big.pdf"
    big.write_bytes(b"x" * 11)
    with pytest.raises(TasksError, match="attachment too large"):
        _report(wh, attachment=big)
    assert not (wh / "tasks").exists()


def test_not_a_warehouse(tmp_path):
    with pytest.raises(TasksError, match="not a warehouse"):
        _report(tmp_path)
    assert list(tmp_path.iterdir()) == []


# ---- the lock and concurrent writers --------------------------------------------------------------

def test_held_lock_is_a_clear_error_and_nothing_is_written(wh):
    ingest = Warehouse(wh)  # another writer (an ingest) holds the lock
    with ingest.lock(user="ingest-bot"):
        with pytest.raises(TasksError) as info:
            locked(EventLog(wh), "张三", lambda: pytest.fail("ran without the lock"), wait_seconds=0.2)
    assert "locked by another writer" in info.value.en and "ingest-bot" in info.value.en
    assert not (wh / "tasks").exists()


def _writer(args):
    wh, n = args
    for k in range(5):
        report(wh, DEFS, task_id="t_volunteers", unit="各镇街", period="2023", state="on_track",
               account=f"writer {n} report {k}", by=f"user{n}")
    return n


def test_concurrent_writers_lose_nothing(wh):
    # spawn, not fork: a fork of a test process whose polars/DuckDB/JVM threads hold locks can hang for ever
    # (seen in the full suite after the Spark tests); and a bounded wait, so a hang fails instead of stalling CI
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        assert sorted(pool.map_async(_writer, [(wh, n) for n in range(4)]).get(timeout=300)) == [0, 1, 2, 3]
    events = history(wh)
    assert len(events) == 20 and len({e["event_id"] for e in events}) == 20
    assert sorted(e["account"] for e in events) == sorted(f"writer {n} report {k}" for n in range(4) for k in range(5))
    for path in (wh / "tasks" / "events").glob("*.json"):
        json.loads(path.read_text(encoding="utf-8"))  # every file complete


@pytest.mark.parametrize("content", [
    b"{not json", b"[]", b'{"kind": "report", "at": "yesterday", "by": "x"}',
    b'{"kind": "report", "at": "2024-01-01T00:00:00+00:00", "by": "x"}',
    b'{"kind": "report", "at": "2024-01-01T00:00:00+00:00", "by": "x", "task": "t", "unit": "u", "period": "2023",'
    b' "state": "<script>", "account": "a"}',
    b'{"kind": "duban_open", "at": "2024-01-01T00:00:00+00:00", "by": "x", "item": "DB0001", "source": {},'
    b' "department": "d", "request": "r", "deadline": "2024-01-09"}',
    b'{"kind": "duban_answer", "at": "2024-01-01T00:00:00+00:00", "by": "x", "item": "DB0001", "department": "d",'
    b' "action": "a", "done_by": "soon"}',
])
def test_damaged_event_file_is_a_clear_error(wh, content):
    _report(wh)
    (wh / "tasks" / "events" / "20240101T000000000000Z-report-bad.json").write_bytes(content)
    with pytest.raises(TasksError) as info:
        history(wh)
    assert info.value.en == ("a ledger event file is damaged: tasks/events/20240101T000000000000Z-report-bad.json "
                             "(ask an administrator to check it)")
    assert str(wh) not in str(info.value)  # no server path
