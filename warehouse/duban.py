"""督办 (supervision items): opened from an indicator alert or a delayed task, answered by the department, closed.

The cycle (docs/tasks.md):
1. open: a leader asks a department to act, with a deadline (a date, met until 24:00 CST that day). The item
   starts from an alert the engine raises now for a region and indicator (red/amber status or an overdue
   report), or from a task whose latest report is `delayed` or whose report is missing after its due time.
2. answer: the department says what was done and by when (`done_by`); several answers may follow.
3. close: the leader closes it with a note.
An item is *overdue* while it has no answer after its deadline; an answer after the deadline marks it
*answered late*. Events live in the task ledger's append-only log (warehouse/tasks_store.py), under the
warehouse lock, each with the identity and the time.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from warehouse.definitions import Definitions
from warehouse.periods import to_cst, utc_now
from warehouse.tasks_store import (
    EventLog,
    TasksError,
    clean_text,
    day_end_utc,
    days_late,
    identity,
    ledger,
    role_field,
    locked,
    parse_day,
    require_task,
    require_unit,
    task_period,
)

MAX_NAME = 100
ITEM_STATUSES = ("open", "overdue", "answered", "answered_late", "closed")


def open_item(warehouse_dir: str | os.PathLike, defs: Definitions, *, department: str, request: str,
              deadline: str, by: str, region: str | None = None, indicator: str | None = None,
              task_id: str | None = None, period: str | None = None, now: datetime | None = None,
              role: str | None = None) -> dict:
    """Open a 督办 item; returns the event (its `item` is the new id, DB0001, DB0002, ...)."""
    now = now or utc_now()
    log = EventLog(warehouse_dir)
    log.require()
    who = identity(by)
    from_alert = region is not None or indicator is not None
    if from_alert == (task_id is not None):
        raise TasksError("督办须来自一个预警（--region 和 --indicator）或一个任务（--task），二者选一",
                         "a 督办 item starts from an alert (--region and --indicator) or from a task (--task), "
                         "one of the two")
    if from_alert:
        source = _alert_source(warehouse_dir, defs, region, indicator, now)
        dept = clean_text(department, "督办部门", "department", MAX_NAME, multiline=False)
    else:
        source, task = _task_source(warehouse_dir, defs, task_id, period, now)
        dept = require_unit(task, department, "督办部门", "department")
    asked = clean_text(request, "督办事项", "request")
    day = parse_day(deadline, "办理期限", "deadline")
    if day < to_cst(now).date().isoformat():
        raise TasksError(f"办理期限 {day} 已过", f"the deadline {day} is in the past")

    def write() -> dict:
        opened = [e for e in log.read() if e["kind"] == "duban_open"]
        return log.append({
            "kind": "duban_open", "at": now.isoformat(timespec="microseconds"), "by": who,
            "item": f"DB{len(opened) + 1:04d}", "source": source, "department": dept, "request": asked,
            "deadline": day, **role_field(role),
        })

    return locked(log, who, write)


def _alert_source(warehouse_dir: Any, defs: Definitions, region: Any, indicator: Any, now: datetime) -> dict:
    from warehouse.engine import Engine, EngineError
    from warehouse.regions import canonical_code

    if region is None or indicator is None:
        raise TasksError("来自预警的督办需要 --region 和 --indicator", "an item from an alert needs --region and --indicator")
    code = canonical_code(region)
    if code is None:
        raise TasksError(f"不是地区代码：{str(region)[:40]!r}", f"not a region code: {str(region)[:40]!r}")
    if str(indicator) not in {ind.id for ind in defs.indicators}:
        import difflib

        close = difflib.get_close_matches(str(indicator), [i.id for i in defs.indicators], n=1)
        hint_zh = f"；是否为 `{close[0]}`？" if close else ""
        hint = f"; did you mean `{close[0]}`?" if close else ""
        raise TasksError(f"没有这个指标：`{str(indicator)[:60]}`{hint_zh}", f"unknown indicator `{str(indicator)[:60]}`{hint}")
    try:
        engine = Engine(warehouse_dir, defs)
        if code not in engine.registry:
            raise TasksError(f"仓库的地区表中没有 {code}", f"region {code} is not in the warehouse's region registry")
        alerts = engine.alerts(code, as_of=now)
    except EngineError as exc:
        raise TasksError(str(exc), str(exc)) from None
    rows = alerts.filter((alerts["region_code"] == code) & (alerts["indicator_id"] == str(indicator)))
    if rows.height == 0:
        raise TasksError(f"{code} 的指标 {indicator} 目前没有红色或黄色预警，不能据此督办",
                         f"there is no red or amber alert for {indicator} in {code} now; nothing to supervise")
    first = rows.sort("severity").row(0, named=True)
    return {"kind": "alert", "region": code, "region_name": first.get("region_name"), "indicator": str(indicator),
            "alert_kind": first.get("kind"), "status": first.get("status"), "reason_zh": first.get("reason_zh"),
            "reason_en": first.get("reason_en")}


def _task_source(warehouse_dir: Any, defs: Definitions, task_id: Any, period: Any, now: datetime):
    plan, task = require_task(defs, task_id)
    label = task_period(plan, task, period, now).label if period is not None else None
    rows = [r for r in ledger(warehouse_dir, defs, plan.id, as_of=now) if r["task"] == task.id]
    if label is not None:
        rows = [r for r in rows if r["period"] == label]
    behind = [r for r in rows if r["state"] == "delayed" or r["missing"]]
    if not behind:
        where = f" {label}" if label is not None else ""
        raise TasksError(f"任务 {task.id}{where} 没有“滞后”的进展报告，也没有逾期未报，不能据此督办",
                         f"task {task.id}{where} has no `delayed` report and no overdue report; nothing to supervise")
    return {"kind": "task", "plan": plan.id, "task": task.id, "period": label,
            "behind": [{"unit": r["unit"], "period": r["period"], "state": r["state"], "missing": r["missing"]}
                       for r in behind[:20]], "behind_count": len(behind)}, task


def answer_item(warehouse_dir: str | os.PathLike, item_id: str, *, department: str, action: str, done_by: str,
                by: str, now: datetime | None = None, role: str | None = None) -> dict:
    """The department's answer: what was done (`action`) and by when (`done_by`, a date)."""
    now = now or utc_now()
    log = EventLog(warehouse_dir)
    log.require()
    who = identity(by)
    dept = clean_text(department, "答复部门", "department", MAX_NAME, multiline=False)
    text = clean_text(action, "办理情况", "action")
    day = parse_day(done_by, "完成时间", "done-by date")

    def write() -> dict:
        item = _require_item(log, item_id)
        if item["closed_at"] is not None:
            raise TasksError(f"督办 {item['item']} 已办结，不能再答复", f"item {item['item']} is closed; no more answers")
        if dept != item["department"]:
            raise TasksError(f"督办 {item['item']} 交办给 {item['department']}，不是 {dept}",
                             f"item {item['item']} was given to {item['department']}, not {dept}")
        return log.append({"kind": "duban_answer", "at": now.isoformat(timespec="microseconds"), "by": who,
                           "item": item["item"], "department": dept, "action": text, "done_by": day,
                           **role_field(role)})

    return locked(log, who, write)


def close_item(warehouse_dir: str | os.PathLike, item_id: str, *, note: str, by: str,
               now: datetime | None = None, role: str | None = None) -> dict:
    """The leader closes an item (办结) with a note."""
    now = now or utc_now()
    log = EventLog(warehouse_dir)
    log.require()
    who = identity(by)
    text = clean_text(note, "办结意见", "note")

    def write() -> dict:
        item = _require_item(log, item_id)
        if item["closed_at"] is not None:
            raise TasksError(f"督办 {item['item']} 已办结", f"item {item['item']} is already closed")
        return log.append({"kind": "duban_close", "at": now.isoformat(timespec="microseconds"), "by": who,
                           "item": item["item"], "note": text, **role_field(role)})

    return locked(log, who, write)


def _require_item(log: EventLog, item_id: Any) -> dict:
    wanted = str(item_id).strip().upper()
    for item in _fold(log.read(), utc_now()):
        if item["item"] == wanted:
            return item
    raise TasksError(f"没有督办事项 {str(item_id)[:20]!r}", f"no 督办 item {str(item_id)[:20]!r}")


def items(warehouse_dir: str | os.PathLike, as_of: datetime | None = None) -> list[dict]:
    """Every item as known at `as_of` (default now) with its status and overdue flag, oldest first."""
    log = EventLog(warehouse_dir)
    log.require()
    moment = as_of or utc_now()
    return _fold(log.read(moment), moment)


def _fold(events: list[dict], moment: datetime) -> list[dict]:
    out: dict[str, dict] = {}
    for e in events:
        if e["kind"] == "duban_open":
            out[e["item"]] = {
                "item": e["item"], "source": e["source"], "department": e["department"], "request": e["request"],
                "deadline": e["deadline"], "opened_by": e["by"], "opened_role": e.get("role"), "opened_at": e["at"],
                "answers": [],
                "closed_at": None, "closed_by": None, "close_note": None,
            }
        elif e["kind"] == "duban_answer" and e["item"] in out:
            out[e["item"]]["answers"].append({"by": e["by"], "role": e.get("role"), "at": e["at"],
                                              "action": e["action"], "done_by": e["done_by"]})
        elif e["kind"] == "duban_close" and e["item"] in out:
            out[e["item"]].update(closed_at=e["at"], closed_by=e["by"], close_note=e["note"])
    for item in out.values():
        due = day_end_utc(item["deadline"])
        answers = item["answers"]
        answered_late = bool(answers) and datetime.fromisoformat(answers[0]["at"]) > due
        overdue = not answers and item["closed_at"] is None and moment > due
        if item["closed_at"] is not None:
            status = "closed"
        elif answers:
            status = "answered_late" if answered_late else "answered"
        else:
            status = "overdue" if overdue else "open"
        item.update(
            status=status, overdue=overdue, answered_late=answered_late,
            days_overdue=days_late(moment, due) if overdue else None,
            done_by_after_deadline=bool(answers) and answers[-1]["done_by"] > item["deadline"],
        )
    return list(out.values())
