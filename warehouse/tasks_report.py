"""The task ledger in the reports (no Streamlit): the monthly export's ledger summary, the overview's overdue
督办, and task completion in the final evaluation report (docs/tasks.md "In the reports").

- `ledger_summary`: for a plan and an export region, as of a time: task × unit counts by their latest reported
  state, the late and missing reports, and the overdue 督办 items. The plan-wide parts (tasks, reports, 督办 on
  tasks) only when the region is the plan's own area (a county's export does not show the city's departments);
  督办 on alerts of regions inside the export region always.
- `overdue_items`: the overdue 督办 items of a plan inside a region (the overview's list).
- `completion`: per task, its last reported state and whether each milestone was met.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from warehouse.definitions import Definitions, Plan
from warehouse.periods import to_cst

STATE_KEYS = ("done", "on_track", "delayed", "not_started", "none")
STATE_TEXT = {
    "done": ("已完成", "Done"), "on_track": ("按计划推进", "On track"), "delayed": ("滞后", "Delayed"),
    "not_started": ("未开始", "Not started"), "none": ("未报", "Not reported"),
}
MILESTONE_TEXT = {"met": ("已完成", "Met"), "not_met": ("未完成", "Not met"), "not_reported": ("未报告", "Not reported"),
                  "not_due": ("未到期", "Not due yet")}
_TEXT = {
    "ledger": ("工作台账摘要", "Work ledger summary"),
    "by_state": ("任务进展（各单位最近一次报告）", "Task progress (each unit's latest report)"),
    "late": ("逾期报送与逾期未报", "Late and missing reports"),
    "overdue": ("逾期未复的督办事项", "Overdue 督办 items"),
    "no_late": ("没有逾期报送或逾期未报。", "No late or missing report."),
    "no_overdue": ("没有逾期未复的督办事项。", "No overdue 督办 item."),
    "completion": ("重点任务完成情况", "Key task completion"),
    "no_tasks": ("此规划没有登记重点任务。", "This plan has no key tasks in the definitions."),
    "col_state": ("进展", "State"), "col_count": ("单位任务数", "Task × unit"),
    "col_task": ("任务", "Task"), "col_unit": ("单位", "Unit"), "col_period": ("报告期", "Period"),
    "col_kind": ("情况", "Kind"), "col_days": ("逾期天数", "Days overdue"),
    "col_item": ("督办编号", "Item"), "col_department": ("督办部门", "Department"), "col_deadline": ("办理期限", "Deadline"),
    "col_request": ("督办事项", "Request"), "col_last": ("最近报告", "Last report"),
    "col_milestones": ("年度节点", "Milestones"),
    "late_kind": ("逾期报送", "Reported late"), "missing_kind": ("逾期未报", "Missing"),
}


def text(key: str, lang: str) -> str:
    zh, en = _TEXT.get(key) or STATE_TEXT.get(key) or MILESTONE_TEXT[key]
    return en if lang == "en" else zh


def _in_region(item_source: dict, plan: Plan, region: str, members: Callable[[str], Sequence[str]] | None,
               plan_wide: bool) -> bool:
    if item_source.get("kind") == "alert":
        code = str(item_source.get("region") or "")
        if region == "CN":
            return True
        if region.startswith("group:"):
            try:
                return any(code.startswith(m) for m in (members(region) if members else []))
            except KeyError:
                return False
        return code.startswith(region)
    return plan_wide and item_source.get("plan") == plan.id


def plan_items(items: list[dict], defs: Definitions, plan: Plan, region: str,
               members: Callable[[str], Sequence[str]] | None = None, plan_wide: bool = True) -> list[dict]:
    """The 督办 items of `plan` that concern `region`: on the plan's tasks (when `plan_wide`) and on alerts of the
    plan's indicators in regions inside `region`."""
    indicators = {t.indicator for t in plan.targets}
    out = []
    for item in items:
        src = item["source"]
        if src.get("kind") == "alert" and src.get("indicator") not in indicators:
            continue
        if _in_region(src, plan, region, members, plan_wide):
            out.append(item)
    return out


def overdue_items(warehouse_dir: str | os.PathLike, defs: Definitions, plan: Plan, region: str,
                  as_of: datetime | None = None, members: Callable[[str], Sequence[str]] | None = None,
                  plan_wide: bool = True) -> list[dict]:
    """Overdue 督办 items (no answer after the deadline) of the plan concerning `region`, most overdue first."""
    from warehouse.duban import items

    found = [i for i in plan_items(items(warehouse_dir, as_of=as_of), defs, plan, region, members, plan_wide)
             if i["overdue"]]
    return sorted(found, key=lambda i: (-(i["days_overdue"] or 0), i["item"]))


def ledger_summary(warehouse_dir: str | os.PathLike, defs: Definitions, plan: Plan, region: str,
                   as_of: datetime | None, members: Callable[[str], Sequence[str]] | None = None) -> dict[str, Any]:
    """What the monthly export's ledger page shows (see the module docstring)."""
    from warehouse.tasks_store import EventLog, ledger

    if not EventLog(warehouse_dir).wh.exists():
        return {"plan_wide": False, "by_state": {}, "late": [], "overdue": []}
    plan_wide = bool(plan.tasks) and region == plan.region
    by_state = dict.fromkeys(STATE_KEYS, 0)
    late: list[dict] = []
    if plan_wide:
        rows = ledger(warehouse_dir, defs, plan.id, as_of=as_of)
        latest: dict[tuple[str, str], dict] = {}
        for r in rows:
            if r["state"] is not None:
                key = (r["task"], r["unit"])
                if key not in latest or (r["reported_at"] or "") > (latest[key]["reported_at"] or ""):
                    latest[key] = r
        for task in plan.tasks:
            for unit in task.units():
                found = latest.get((task.id, unit.zh))
                by_state[found["state"] if found else "none"] += 1
        late = [r for r in rows if r["late"] or r["missing"]]
        late.sort(key=lambda r: (r["period"], r["task"], r["unit"]), reverse=True)
    overdue = overdue_items(warehouse_dir, defs, plan, region, as_of, members, plan_wide)
    return {"plan_wide": plan_wide, "by_state": by_state, "late": late, "overdue": overdue}


def summary_pages(summary: dict[str, Any], plan: Plan, lang: str) -> list:
    """The export's ledger pages (plotly tables through report_pdf.table_figures)."""
    from warehouse import report_pdf

    titles = {t.id: t.title.get(lang) for t in plan.tasks}
    figures = []
    if summary["plan_wide"]:
        figures += report_pdf.table_figures(
            f"{text('ledger', lang)} · {text('by_state', lang)}", [text("col_state", lang), text("col_count", lang)],
            [[text(k, lang), str(summary["by_state"].get(k, 0))] for k in STATE_KEYS], lang, [3, 1])
        figures += report_pdf.table_figures(
            text("late", lang),
            [text("col_task", lang), text("col_unit", lang), text("col_period", lang), text("col_kind", lang),
             text("col_days", lang)],
            [[titles.get(r["task"], r["task"]), r["unit"], r["period"],
              text("missing_kind" if r["missing"] else "late_kind", lang),
              "" if r["days_overdue"] is None else str(r["days_overdue"])] for r in summary["late"][:200]],
            lang, [4, 2, 1, 1.2, 1], empty_text=text("no_late", lang))
    figures += report_pdf.table_figures(
        text("overdue", lang),
        [text("col_item", lang), text("col_department", lang), text("col_deadline", lang), text("col_days", lang),
         text("col_request", lang)],
        [[i["item"], i["department"], i["deadline"], str(i["days_overdue"]), i["request"]] for i in summary["overdue"]],
        lang, [1, 2, 1.2, 1, 5], empty_text=text("no_overdue", lang))
    return figures


def milestone_result(reports: list[dict], lead_units: list[str], year: int, as_of: datetime) -> str:
    """A milestone of `year` is met when every lead unit's latest report for a period of that year says `done`
    or `on_track`; not met when one says `delayed` or `not_started`; not reported when a lead unit has none;
    not due while the year has not ended at `as_of`."""
    if to_cst(as_of).year <= year:
        return "not_due"
    states = []
    for unit in lead_units:
        mine = [r for r in reports if r["unit"] == unit and r["period"][:4] == str(year)]
        if not mine:
            return "not_reported"
        states.append(max(mine, key=lambda r: (r["period"], r["at"]))["state"])
    return "met" if all(s in ("done", "on_track") for s in states) else "not_met"


def completion(warehouse_dir: str | os.PathLike, defs: Definitions, plan: Plan, as_of: datetime) -> list[dict]:
    """Per task (source order): its last reported state (any unit, latest report) and each milestone's result."""
    from warehouse.tasks_store import EventLog, history

    have = EventLog(warehouse_dir).wh.exists()
    out = []
    for task in plan.tasks:
        reports = history(warehouse_dir, task_id=task.id, as_of=as_of) if have else []
        last = max(reports, key=lambda r: r["at"]) if reports else None
        lead = [u.zh for u in task.lead_units]
        out.append({
            "task": task.id, "title_zh": task.title.zh, "title_en": task.title.get("en"),
            "last_state": last["state"] if last else None, "last_unit": last["unit"] if last else None,
            "last_period": last["period"] if last else None,
            "last_at": to_cst(datetime.fromisoformat(last["at"])).date().isoformat() if last else None,
            "milestones": [{"year": y, "text": m, "result": milestone_result(reports, lead, y, as_of)}
                           for y, m in sorted(task.milestones.items())],
        })
    return out


def completion_pages(rows: list[dict], lang: str) -> list:
    from warehouse import report_pdf

    table = []
    for r in rows:
        last = (f"{text(r['last_state'], lang)} · {r['last_unit']} · {r['last_period']} · {r['last_at']}"
                if r["last_state"] else text("none", lang))
        ms = "；".join(f"{m['year']} {m['text']}：{text(m['result'], lang)}" for m in r["milestones"]) or "—"
        table.append([r["title_en"] if lang == "en" else r["title_zh"], last, ms])
    return report_pdf.table_figures(
        text("completion", lang), [text("col_task", lang), text("col_last", lang), text("col_milestones", lang)],
        table, lang, [3, 3, 5], empty_text=text("no_tasks", lang))
