"""The task ledger's display tables (no Streamlit): task list with the linked indicators' statuses, the work
ledger and the 督办 items, labelled in Chinese or English. Used by pages/tasks.py."""

from __future__ import annotations

from typing import Any

import polars as pl

from warehouse import i18n
from warehouse.definitions import Definitions
from warehouse.periods import to_cst

i18n.register({
    "nav.tasks": {"zh": "任务台账", "en": "Task ledger"},
    "tasks.state.not_started": {"zh": "未开始", "en": "Not started"},
    "tasks.state.on_track": {"zh": "按计划推进", "en": "On track"},
    "tasks.state.delayed": {"zh": "滞后", "en": "Delayed"},
    "tasks.state.done": {"zh": "已完成", "en": "Done"},
    "tasks.state.none": {"zh": "未报", "en": "Not reported"},
    "tasks.duban.open": {"zh": "办理中", "en": "Open"},
    "tasks.duban.overdue": {"zh": "逾期未复", "en": "Overdue"},
    "tasks.duban.answered": {"zh": "已答复", "en": "Answered"},
    "tasks.duban.answered_late": {"zh": "逾期答复", "en": "Answered late"},
    "tasks.duban.closed": {"zh": "已办结", "en": "Closed"},
    "tasks.role.lead": {"zh": "牵头", "en": "Lead"},
    "tasks.role.responsible": {"zh": "责任", "en": "Responsible"},
    "tasks.yes": {"zh": "是", "en": "Yes"},
    "tasks.missing_row": {"zh": "第{row}行原文缺失", "en": "Row {row} is missing from the source"},
    "tasks.inferred": {"zh": "（推定）", "en": " (inferred)"},
    "tasks.col.source": {"zh": "出处", "en": "Source"},
    "tasks.col.task": {"zh": "任务", "en": "Task"},
    "tasks.col.lead": {"zh": "牵头单位", "en": "Lead units"},
    "tasks.col.responsible": {"zh": "责任单位", "en": "Responsible units"},
    "tasks.col.milestones": {"zh": "年度节点", "en": "Milestones"},
    "tasks.col.indicators": {"zh": "关联指标（状态）", "en": "Indicators (status)"},
    "tasks.col.task_id": {"zh": "任务代码", "en": "Task id"},
    "tasks.col.unit": {"zh": "单位", "en": "Unit"},
    "tasks.col.role": {"zh": "角色", "en": "Role"},
    "tasks.col.period": {"zh": "报告期", "en": "Period"},
    "tasks.col.state": {"zh": "进展", "en": "State"},
    "tasks.col.late": {"zh": "逾期报送", "en": "Late"},
    "tasks.col.missing": {"zh": "逾期未报", "en": "Missing"},
    "tasks.col.days_overdue": {"zh": "逾期天数", "en": "Days overdue"},
    "tasks.col.reported_by": {"zh": "填报人", "en": "Reported by"},
    "tasks.col.reported_at": {"zh": "填报时间", "en": "Reported at"},
    "tasks.col.account": {"zh": "进展说明", "en": "Account"},
    "tasks.col.item": {"zh": "督办编号", "en": "Item"},
    "tasks.col.status": {"zh": "状态", "en": "Status"},
    "tasks.col.department": {"zh": "督办部门", "en": "Department"},
    "tasks.col.deadline": {"zh": "办理期限", "en": "Deadline"},
    "tasks.col.request": {"zh": "督办事项", "en": "Request"},
    "tasks.col.from": {"zh": "来源", "en": "From"},
    "tasks.col.opened_by": {"zh": "发起人", "en": "Opened by"},
    "tasks.col.answer": {"zh": "最新答复", "en": "Latest answer"},
})


def _names(units: list[Any], lang: str) -> str:
    return ("、" if lang == "zh" else ", ").join(u.get(lang) for u in units)


def task_table(defs: Definitions, plan_id: str, lang: str, statuses: dict[str, str] | None = None) -> pl.DataFrame:
    """One row per task of the plan (and per row its task table lost), in source order."""
    from warehouse.tasks_defs import task_rows

    plan = defs.plan(plan_id)
    by_id = {t.id: t for t in plan.tasks}
    names = {ind.id: ind.name.get(lang) for ind in defs.indicators}
    rows = []
    for r in task_rows(defs, plan_id):
        if r["task"] is None:
            row_no = r["source"].rsplit("#", 1)[-1]
            rows.append({"source": r["source"], "task": i18n.t("tasks.missing_row", lang, row=row_no), "lead": "",
                         "responsible": "", "milestones": "", "indicators": "", "task_id": ""})
            continue
        task = by_id[r["task"]]
        lead = _names(task.lead_units, lang) + (i18n.t("tasks.inferred", lang) if task.owner_inferred else "")
        linked = []
        for ind in task.indicators:
            status = (statuses or {}).get(ind)
            label = i18n.t(f"status.{status}", lang) if status and i18n.has(f"status.{status}") else None
            linked.append(f"{names.get(ind, ind)}（{label}）" if label else names.get(ind, ind))
        rows.append({
            "source": r["source"], "task": task.title.get(lang), "lead": lead,
            "responsible": _names(task.responsible_units, lang),
            "milestones": "；".join(f"{y}: {text}" for y, text in sorted(task.milestones.items())),
            "indicators": "；".join(linked), "task_id": task.id,
        })
    schema = {c: pl.String for c in ("source", "task", "lead", "responsible", "milestones", "indicators", "task_id")}
    return _rename(pl.DataFrame(rows, schema=schema, orient="row"), lang)


def task_titles(defs: Any, lang: str) -> dict[str, str]:
    """task id -> the task's title in `lang` (tables show what a task is, not only its code)."""
    return {task.id: task.title.get(lang) for plan in defs.plans for task in plan.tasks}


def ledger_table(rows: list[dict], lang: str, titles: dict[str, str] | None = None) -> pl.DataFrame:
    yes = i18n.t("tasks.yes", lang)
    titles = titles or {}
    out = [{
        "task": titles.get(r["task"], r["task"]), "task_id": r["task"], "unit": r["unit"], "role": i18n.t(f"tasks.role.{r['role']}", lang),
        "period": r["period"], "state": i18n.t(f"tasks.state.{r['state'] or 'none'}", lang),
        "late": yes if r["late"] else "", "missing": yes if r["missing"] else "", "days_overdue": _days(r["days_overdue"]),
        "reported_by": r["reported_by"] or "", "reported_at": _cst(r["reported_at"]), "account": r["account"] or "",
    } for r in rows]
    schema = {"task": pl.String, "task_id": pl.String, "unit": pl.String, "role": pl.String, "period": pl.String, "state": pl.String,
              "late": pl.String, "missing": pl.String, "days_overdue": pl.String, "reported_by": pl.String,
              "reported_at": pl.String, "account": pl.String}
    return _rename(pl.DataFrame(out, schema=schema, orient="row"), lang)


def duban_table(items: list[dict], lang: str, titles: dict[str, str] | None = None) -> pl.DataFrame:
    out = []
    titles = titles or {}
    for item in items:
        src = item["source"]
        origin = (f"{src.get('region_name') or src['region']} · {src['indicator']}" if src["kind"] == "alert"
                  else titles.get(src["task"], src["task"]))
        last = item["answers"][-1] if item["answers"] else None
        out.append({
            "item": item["item"], "status": i18n.t(f"tasks.duban.{item['status']}", lang),
            "days_overdue": _days(item["days_overdue"]), "department": item["department"], "deadline": item["deadline"],
            "request": item["request"], "from": origin, "opened_by": item["opened_by"],
            "answer": f"{last['done_by']}: {last['action']}" if last else "",
        })
    schema = {"item": pl.String, "status": pl.String, "days_overdue": pl.String, "department": pl.String,
              "deadline": pl.String, "request": pl.String, "from": pl.String, "opened_by": pl.String,
              "answer": pl.String}
    return _rename(pl.DataFrame(out, schema=schema, orient="row"), lang)


def _days(days: int | None) -> str:
    """Days overdue as text: blank when not overdue (a table shows no "None")."""
    return "" if days is None else str(days)


def _cst(iso: str | None) -> str:
    if not iso:
        return ""
    from datetime import datetime

    return to_cst(datetime.fromisoformat(iso)).strftime("%Y-%m-%d %H:%M")


def _rename(frame: pl.DataFrame, lang: str) -> pl.DataFrame:
    return frame.rename({c: i18n.t(f"tasks.col.{c}", lang) for c in frame.columns})
