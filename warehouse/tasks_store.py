"""Task progress reports (任务进展) and the work ledger (工作台账), kept in the warehouse folder.

Every change is an event: one JSON file `<wh>/tasks/events/<event_id>.json`, never rewritten or deleted
(append-only history). Events are written under the warehouse writer lock (the same lock as ingest, so
ids are unique and state checks cannot race), to a temporary file first and then `os.replace`d, like the
ingest log. Attachments are kept like submission originals: `<wh>/originals/<sha256><ext>`.

Event kinds: `report` (this module) and `duban_open` / `duban_answer` / `duban_close` (warehouse/duban.py).
Each carries `by` (the identity: `--as NAME` in the CLI, self-declared by the operator; the signed-in identity's
email or subject in the dashboard, with its `role`) and `at` (UTC, ISO). Times are shown in China Standard Time.

Lateness (docs/tasks.md): a report for a period is due at 24:00 CST on the period's last day plus the task's
`due_days` (default 30), the rule used for overdue figures. A period's report is *late* when its first report
was recorded after that moment, and *missing* (overdue) when, as of a time after it, none was recorded.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import os
import re
import time
import unicodedata
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from warehouse.definitions import Definitions, Plan
from warehouse.periods import (
    CST, Period, month_period, parse_period, period_end_utc, quarter_period, to_cst, utc_now, year_period,
)
from warehouse.tasks_defs import Task, find_task

STATES = ("not_started", "on_track", "delayed", "done")
STATE_LABELS = {"not_started": "未开始", "on_track": "按计划推进", "delayed": "滞后", "done": "已完成"}
MAX_TEXT = 2000  # characters of an account / request / answer
MAX_NAME = 100  # characters of an identity or a department
MAX_ATTACHMENT = 20 * 1024 * 1024
LOCK_WAIT_SECONDS = 10.0  # how long a report waits for the warehouse writer lock
ATTACHMENT_TYPES = {".pdf", ".doc", ".docx", ".xls", ".xlsx", ".csv", ".txt", ".jpg", ".jpeg", ".png", ".zip"}
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


class TasksError(ValueError):
    """A refused input or action; str() is the zh / en message. Nothing was written."""

    def __init__(self, zh: str, en: str):
        self.zh, self.en = zh, en
        super().__init__(f"{zh} / {en}")


# --------------------------------------------------------------------------------------------------
# Checking hostile input


def clean_text(value: Any, what_zh: str, what_en: str, limit: int = MAX_TEXT, multiline: bool = True) -> str:
    """Stripped text or TasksError: not empty, at most `limit` characters, no control or bidi characters."""
    if not isinstance(value, str):
        raise TasksError(f"{what_zh}必须是文字", f"{what_en} must be text")
    text = unicodedata.normalize("NFC", value).strip()
    if not text:
        raise TasksError(f"{what_zh}不能为空", f"{what_en} is empty")
    if len(text) > limit:
        raise TasksError(f"{what_zh}过长（{len(text)} 字，上限 {limit}）",
                         f"{what_en} is too long ({len(text)} characters, at most {limit})")
    allowed = text.replace("\n", "").replace("\t", "") if multiline else text
    if _CONTROL.search(allowed) or (not multiline and ("\n" in text or "\t" in text)):
        raise TasksError(f"{what_zh}含有控制字符", f"{what_en} contains control characters")
    return text


def spreadsheet_safe(value: str) -> str:
    """A CSV cell that a spreadsheet will not run as a formula (OWASP: leading = + - @ tab CR get a `'`)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def identity(value: Any) -> str:
    return clean_text(value, "操作人（--as）", "identity (--as)", MAX_NAME, multiline=False)


def role_field(role: str | None) -> dict:
    """`{"role": ...}` for an event written by a signed-in person (the dashboard); the CLI records none."""
    return {} if role is None else {"role": clean_text(role, "角色", "role", 20, multiline=False)}


def parse_day(value: Any, what_zh: str, what_en: str) -> str:
    """`2026-12-31` -> the same ISO date text (a real calendar date), else TasksError."""
    text = str(value).strip() if value is not None else ""
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            raise ValueError
        return datetime.strptime(text, "%Y-%m-%d").date().isoformat()
    except ValueError:
        raise TasksError(f"{what_zh}不是日期：{text!r}（应为 2026-12-31）",
                         f"{what_en} is not a date: {text!r} (expected 2026-12-31)") from None


def day_end_utc(day: str) -> datetime:
    """24:00 CST at the end of an ISO date, as aware UTC (a deadline on that day is met until then)."""
    d = datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=CST) + timedelta(days=1)
    return d.astimezone(timezone.utc)


def require_task(defs: Definitions, task_id: Any) -> tuple[Plan, Task]:
    found = find_task(defs, str(task_id)) if isinstance(task_id, str) else None
    if found is None:
        ids = [t.id for p in defs.plans for t in p.tasks]
        close = difflib.get_close_matches(str(task_id), ids, n=1)
        hint_zh = f"；是否为 `{close[0]}`？" if close else ""
        hint_en = f"; did you mean `{close[0]}`?" if close else ""
        raise TasksError(f"没有这个任务：`{task_id}`{hint_zh}", f"unknown task `{task_id}`{hint_en}")
    return found


def require_unit(task: Task, unit: Any, what_zh: str = "填报单位", what_en: str = "reporting unit") -> str:
    name = clean_text(unit, what_zh, what_en, MAX_NAME, multiline=False)
    names = [u.zh for u in task.units()]
    if name not in names:
        close = difflib.get_close_matches(name, names, n=1, cutoff=0.3)
        hint_zh = f"；是否为 `{close[0]}`？" if close else ""
        hint_en = f"; did you mean `{close[0]}`?" if close else ""
        raise TasksError(f"`{name}` 不是任务 {task.id} 的牵头或责任单位（{'、'.join(names)}）{hint_zh}",
                         f"`{name}` is not a lead or responsible unit of task {task.id} ({', '.join(names)}){hint_en}")
    return name


def task_period(plan: Plan, task: Task, value: Any, now: datetime) -> Period:
    """A reporting period of the task: its frequency, inside the plan period, already started at `now`."""
    try:
        period = parse_period(str(value))
    except ValueError:
        raise TasksError(f"不是报告期：{value!r}（应为 2019、2019-Q3 或 2019-07）",
                         f"not a period: {value!r} (expected 2019, 2019-Q3 or 2019-07)") from None
    example = {"annual": "2019", "quarterly": "2019-Q3", "monthly": "2019-07"}[task.frequency]
    if period.kind != task.frequency:
        raise TasksError(f"任务 {task.id} 按{ {'annual': '年', 'quarterly': '季', 'monthly': '月'}[task.frequency]}报告，"
                         f"报告期应写作 {example}", f"task {task.id} reports {task.frequency} periods, e.g. {example}")
    if not plan.period.start <= period.year <= plan.period.target:
        raise TasksError(f"报告期 {period.label} 不在规划期 {plan.period.start}–{plan.period.target} 内",
                         f"period {period.label} is outside the plan period {plan.period.start}–{plan.period.target}")
    if to_cst(now).date() < period.start:
        raise TasksError(f"报告期 {period.label} 尚未开始", f"period {period.label} has not started yet")
    return period


def days_late(moment: datetime, due: datetime) -> int:
    """Whole days past `due`, a started day counting as one (1 hour late -> 1; exactly 16 days -> 16)."""
    return math.ceil((moment - due).total_seconds() / 86400)


def due_at(task: Task, period: Period) -> datetime:
    """When the period's report is due: 24:00 CST on its last day plus `due_days` days (aware UTC)."""
    return period_end_utc(period) + timedelta(days=task.due_days)


def expected_periods(plan: Plan, task: Task) -> list[Period]:
    """Every reporting period of the task over its plan's period."""
    out: list[Period] = []
    for year in range(plan.period.start, plan.period.target + 1):
        if task.frequency == "annual":
            out.append(year_period(year))
        elif task.frequency == "quarterly":
            out.extend(quarter_period(year, q) for q in range(1, 5))
        else:
            out.extend(month_period(year, m) for m in range(1, 13))
    return out


# --------------------------------------------------------------------------------------------------
# The event log


class EventLog:
    """Append-only events of the task ledger and 督办 in `<wh>/tasks/events/`."""

    def __init__(self, warehouse_dir: str | os.PathLike):
        from warehouse.storage import Warehouse

        self.wh = Warehouse(warehouse_dir)
        self.dir = self.wh.path / "tasks" / "events"

    def require(self) -> None:
        if not self.wh.exists():
            raise TasksError("不是数据仓库（缺少 manifest.json）；请先运行 planwatch warehouse init",
                             "not a warehouse (no manifest.json); run `planwatch warehouse init` first")

    def read(self, as_of: datetime | None = None) -> list[dict]:
        """Every event recorded at or before `as_of` (all when None), oldest first."""
        events = []
        if self.dir.is_dir():
            for path in sorted(self.dir.glob("*.json")):
                event = _load_event(path)
                if as_of is None or datetime.fromisoformat(event["at"]) <= as_of:
                    events.append(event)
        return events

    def append(self, event: dict) -> dict:
        """Write one event (caller holds the lock): temp file, fsync, os.replace. Returns it with its id."""
        self.dir.mkdir(parents=True, exist_ok=True)
        moment = datetime.fromisoformat(event["at"])
        digest = hashlib.sha256(json.dumps(event, ensure_ascii=False, sort_keys=True).encode()).hexdigest()[:8]
        base = f"{moment.strftime('%Y%m%dT%H%M%S%fZ')}-{event['kind']}-{digest}"
        event_id, n = base, 1
        while (self.dir / f"{event_id}.json").exists():
            n += 1
            event_id = f"{base}-{n}"
        event = {"event_id": event_id, **event}
        tmp_dir = self.wh.path / "tasks" / ".tmp"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        tmp = tmp_dir / f"{event_id}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(event, fh, ensure_ascii=False, indent=1)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.dir / f"{event_id}.json")
        return event


_REQUIRED = {"report": ("task", "unit", "period", "state", "account"),
             "duban_open": ("item", "source", "department", "request", "deadline"),
             "duban_answer": ("item", "department", "action", "done_by"), "duban_close": ("item", "note")}


def _load_event(path: Path) -> dict:
    """One stored event, checked (a stored file is input too): a damaged one is a clear error naming the file."""
    try:
        with open(path, encoding="utf-8") as fh:
            event = json.load(fh)
        if not isinstance(event, dict) or event.get("kind") not in _REQUIRED or not isinstance(event.get("by"), str):
            raise ValueError
        moment = datetime.fromisoformat(event["at"])
        kind = event["kind"]
        if moment.tzinfo is None or any(not isinstance(event.get(key), (str, dict)) for key in _REQUIRED[kind]):
            raise ValueError
        if kind == "report" and event["state"] not in STATES:
            raise ValueError
        if kind == "duban_open" and (not isinstance(event["source"], dict)
                                     or event["source"].get("kind") not in ("alert", "task")):
            raise ValueError
        for key in ("deadline", "done_by"):
            if key in event:
                datetime.strptime(event[key], "%Y-%m-%d")
        return event
    except (OSError, ValueError, TypeError, KeyError):
        name = f"tasks/events/{path.name}"
        raise TasksError(f"台账记录文件已损坏：{name}（请由管理员检查）",
                         f"a ledger event file is damaged: {name} (ask an administrator to check it)") from None


def locked(log: EventLog, by: str, action, wait_seconds: float | None = None):
    """Run action() under the warehouse writer lock, waiting up to `wait_seconds` for another writer (an
    ingest, another report) to finish; still held after that, a TasksError (nothing written)."""
    from warehouse.storage import WarehouseLocked

    deadline = time.monotonic() + (LOCK_WAIT_SECONDS if wait_seconds is None else wait_seconds)
    while True:
        try:
            with log.wh.lock(user=by):
                return action()
        except WarehouseLocked as exc:
            if time.monotonic() < deadline:
                time.sleep(0.05)
                continue
            zh, _, en = str(exc).partition(" / ")
            raise TasksError(zh, en or zh) from None


# --------------------------------------------------------------------------------------------------
# Progress reports


def report(warehouse_dir: str | os.PathLike, defs: Definitions, *, task_id: str, unit: str, period: str,
           state: str, account: str, by: str, attachment: str | os.PathLike | None = None,
           now: datetime | None = None, role: str | None = None) -> dict:
    """Record one unit's progress on a task for a period. Every input is checked before anything is written."""
    now = now or utc_now()
    log = EventLog(warehouse_dir)
    log.require()
    who = identity(by)
    plan, task = require_task(defs, task_id)
    unit_name = require_unit(task, unit)
    per = task_period(plan, task, period, now)
    if state not in STATES:
        close = difflib.get_close_matches(str(state), STATES, n=1)
        hint = f"; did you mean `{close[0]}`?" if close else ""
        raise TasksError(f"进展状态应为 {' / '.join(STATES)}（{'、'.join(STATE_LABELS.values())}）",
                         f"state must be one of {', '.join(STATES)}{hint}")
    text = clean_text(account, "进展说明", "account")
    source = _check_attachment(attachment) if attachment is not None else None
    due = due_at(task, per)

    def write() -> dict:
        stored = None
        if source is not None:
            sha = log.wh.store_original(source)
            stored = {"sha256": sha, "file_name": source.name, "bytes": source.stat().st_size,
                      "original": log.wh.original_path(sha).relative_to(log.wh.path).as_posix()}  # stored compressed
        return log.append({
            "kind": "report", "at": now.isoformat(timespec="microseconds"), "by": who, "plan": plan.id,
            "task": task.id, "unit": unit_name, "period": per.label, "state": state, "account": text,
            "attachment": stored, "due_at": due.isoformat(), "late": now > due, **role_field(role),
        })

    return locked(log, who, write)


def _check_attachment(path: str | os.PathLike) -> Path:
    src = Path(path)
    if not src.is_file():
        raise TasksError(f"附件不存在或不是文件：{src.name}", f"attachment not found or not a file: {src.name}")
    if src.suffix.lower() not in ATTACHMENT_TYPES:
        raise TasksError(f"附件类型不受支持：{src.suffix or '（无扩展名）'}（可用 {' '.join(sorted(ATTACHMENT_TYPES))}）",
                         f"attachment type not accepted: {src.suffix or '(none)'} "
                         f"(accepted: {' '.join(sorted(ATTACHMENT_TYPES))})")
    size = src.stat().st_size
    if size > MAX_ATTACHMENT:
        raise TasksError(f"附件过大（{size} 字节，上限 {MAX_ATTACHMENT}）",
                         f"attachment too large ({size} bytes, at most {MAX_ATTACHMENT})")
    return src


def history(warehouse_dir: str | os.PathLike, task_id: str | None = None, unit: str | None = None,
            as_of: datetime | None = None) -> list[dict]:
    """Every progress report (oldest first), optionally of one task and/or one unit."""
    log = EventLog(warehouse_dir)
    log.require()
    return [e for e in log.read(as_of) if e["kind"] == "report"
            and (task_id is None or e["task"] == task_id) and (unit is None or e["unit"] == unit)]


def ledger(warehouse_dir: str | os.PathLike, defs: Definitions, plan_id: str | None = None,
           as_of: datetime | None = None) -> list[dict]:
    """The work ledger: one row per task, unit and reporting period that has started by `as_of`.

    state: the unit's latest report for the period (None when there is none); late: the period's first report
    came after the due time; missing: no report and the due time has passed; days_overdue for missing rows.
    """
    moment = as_of or utc_now()
    reports = history(warehouse_dir, as_of=moment)
    by_key: dict[tuple[str, str, str], list[dict]] = {}
    for event in reports:
        by_key.setdefault((event["task"], event["unit"], event["period"]), []).append(event)
    rows = []
    today = to_cst(moment).date()
    for plan in defs.plans:
        if plan_id is not None and plan.id != plan_id:
            continue
        for task in plan.tasks:
            for per in expected_periods(plan, task):
                if per.start > today:
                    break
                due = due_at(task, per)
                for unit in task.units():
                    events = by_key.get((task.id, unit.zh, per.label), [])
                    last = events[-1] if events else None
                    missing = last is None and moment > due
                    rows.append({
                        "plan": plan.id, "task": task.id, "unit": unit.zh,
                        "role": "lead" if unit in task.lead_units else "responsible",
                        "period": per.label, "due_at": due.isoformat(), "state": last["state"] if last else None,
                        "account": last["account"] if last else None, "reported_by": last["by"] if last else None,
                        "reported_at": last["at"] if last else None, "reports": len(events),
                        "late": bool(events) and datetime.fromisoformat(events[0]["at"]) > due,
                        "missing": missing,
                        "days_overdue": days_late(moment, due) if missing else None,
                        "milestone": task.milestones.get(per.year) if per.end.month == 12 else None,
                    })
    return rows
