"""Streamlit glue of the task ledger's forms (issue 16): a department's 我的任务 (its tasks, reports due and late,
its open 督办 items, the progress form and the answer form), and a leader's 督办 forms (open from a delayed task or
a red/amber alert, close an answered item). Who may do what: warehouse/tasks_access.py; validation and storage:
warehouse/tasks_store.py and warehouse/duban.py, the same calls as the CLI, with the signed-in identity and role."""

from __future__ import annotations

import re
import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import streamlit as st

from warehouse import i18n, tables, tasks_access, tasks_views
from warehouse.periods import to_cst, utc_now
from warehouse.safe_text import md, no_paths

i18n.register({
    "tasks_ui.tab.mine": {"zh": "我的任务", "en": "My tasks"},
    "tasks_ui.tab.ledger": {"zh": "任务台账", "en": "Task ledger"},
    "tasks_ui.mine_caption": {"zh": "{units} 的重点任务、应报和逾期的进展报告、待办督办事项。",
                              "en": "Key tasks, due and late progress reports and open 督办 items of {units}."},
    "tasks_ui.no_tasks": {"zh": "您的单位在您的权限范围内没有重点任务。", "en": "Your unit has no key task inside your access."},
    "tasks_ui.m.tasks": {"zh": "我的任务", "en": "My tasks"},
    "tasks_ui.m.missing": {"zh": "逾期未报", "en": "Missing reports"},
    "tasks_ui.m.late": {"zh": "逾期报送", "en": "Late reports"},
    "tasks_ui.m.open": {"zh": "待答复督办", "en": "督办 to answer"},
    "tasks_ui.m.overdue": {"zh": "督办逾期", "en": "Overdue 督办"},
    "tasks_ui.due": {"zh": "应报与逾期", "en": "Due and late reports"},
    "tasks_ui.my_duban": {"zh": "交办给我单位的督办", "en": "督办 items given to my unit"},
    "tasks_ui.report": {"zh": "报送进展", "en": "Report progress"},
    "tasks_ui.task": {"zh": "任务", "en": "Task"},
    "tasks_ui.unit": {"zh": "单位", "en": "Unit"},
    "tasks_ui.period": {"zh": "报告期", "en": "Period"},
    "tasks_ui.state": {"zh": "进展状态", "en": "State"},
    "tasks_ui.account": {"zh": "进展说明", "en": "Account"},
    "tasks_ui.attachment": {"zh": "附件（可选，≤20 MB）", "en": "Attachment (optional, ≤ 20 MB)"},
    "tasks_ui.submit_report": {"zh": "提交进展", "en": "Submit progress"},
    "tasks_ui.reported": {"zh": "已记录进展：{task} {period}。", "en": "Progress recorded: {task} {period}."},
    "tasks_ui.reported_late": {"zh": "已记录进展：{task} {period}（逾期报送）。",
                               "en": "Progress recorded: {task} {period} (reported late)."},
    "tasks_ui.answer": {"zh": "答复督办", "en": "Answer a 督办 item"},
    "tasks_ui.item": {"zh": "督办事项", "en": "督办 item"},
    "tasks_ui.action": {"zh": "办理情况", "en": "What was done"},
    "tasks_ui.done_by": {"zh": "完成时间", "en": "Done by"},
    "tasks_ui.submit_answer": {"zh": "提交答复", "en": "Send the answer"},
    "tasks_ui.answered": {"zh": "已答复督办 {item}。", "en": "Answered {item}."},
    "tasks_ui.nothing_to_answer": {"zh": "没有待答复的督办事项。", "en": "No open 督办 item to answer."},
    "tasks_ui.open": {"zh": "发起督办", "en": "Open a 督办 item"},
    "tasks_ui.from": {"zh": "督办依据", "en": "Based on"},
    "tasks_ui.from.task": {"zh": "滞后或逾期未报的任务", "en": "A delayed or missing task report"},
    "tasks_ui.from.alert": {"zh": "红色或黄色预警", "en": "A red or amber alert"},
    "tasks_ui.pick_task": {"zh": "任务和报告期", "en": "Task and period"},
    "tasks_ui.pick_alert": {"zh": "预警", "en": "Alert"},
    "tasks_ui.department": {"zh": "督办部门", "en": "Department"},
    "tasks_ui.request": {"zh": "督办要求", "en": "What is asked"},
    "tasks_ui.deadline": {"zh": "办理期限", "en": "Deadline"},
    "tasks_ui.submit_open": {"zh": "发起督办", "en": "Open the item"},
    "tasks_ui.opened": {"zh": "已发起督办 {item} → {department}，期限 {deadline}。",
                        "en": "Opened {item} → {department}, deadline {deadline}."},
    "tasks_ui.no_source": {"zh": "目前没有滞后或逾期未报的任务，也没有您范围内的红色或黄色预警，无需督办。",
                           "en": "No delayed or missing task report and no red or amber alert in your scope: nothing to supervise."},
    "tasks_ui.close": {"zh": "办结督办", "en": "Close a 督办 item"},
    "tasks_ui.note": {"zh": "办结意见", "en": "Closing note"},
    "tasks_ui.submit_close": {"zh": "办结", "en": "Close the item"},
    "tasks_ui.closed": {"zh": "已办结督办 {item}。", "en": "Closed {item}."},
    "tasks_ui.nothing_to_close": {"zh": "没有可办结的督办事项（已答复的事项才能办结）。",
                                  "en": "No item to close (an item is closed once answered)."},
    "tasks_ui.how_to_act": {"zh": "登录的部门用户在“我的任务”中报送进展、答复督办；领导（查看者角色）在此发起和办结督办。"
                                  "命令行 planwatch tasks / planwatch duban 供运维人员使用。",
                            "en": "Signed-in departments report progress and answer 督办 under “My tasks”; leaders "
                                  "(viewer role) open and close 督办 here. The command line (planwatch tasks / duban) "
                                  "is the operator's."},
    "tasks_ui.failed": {"zh": "未能保存：{error}", "en": "Not saved: {error}"},
})


def _t(key: str, lang: str, **kw: Any) -> str:
    return i18n.t(key, lang, **kw)


def flash() -> None:
    """The last action's success message; and the fields it asked to empty, emptied before their widgets exist
    (a widget's value can only be set then; the file uploader gets a new key instead)."""
    for key in st.session_state.pop("tasks_clear", []):
        if key == "tasks_rep_file":
            st.session_state["tasks_rep_file_n"] = st.session_state.get("tasks_rep_file_n", 0) + 1
        else:
            st.session_state[key] = ""
    message = st.session_state.pop("tasks_flash", None)
    if message:
        st.success(md(message))


def _act(action: Any, lang: str, done: Any, clear: tuple[str, ...] = ()) -> None:
    """Run a store call; a refusal shows its zh/en message (no server path) and keeps what was typed; success a
    flash, the `clear` fields emptied, and a rerun."""
    from warehouse.storage import WarehouseError
    from warehouse.tasks_store import TasksError

    try:
        event = action()
    except TasksError as exc:
        st.error(md(_t("tasks_ui.failed", lang, error=no_paths(exc.en if lang == "en" else exc.zh))))
        return
    except (WarehouseError, OSError) as exc:
        parts = str(exc).split(" / ")
        st.error(md(_t("tasks_ui.failed", lang, error=no_paths(parts[1 if lang == "en" and len(parts) > 1 else 0]))))
        return
    st.session_state["tasks_flash"] = done(event)
    st.session_state["tasks_clear"] = list(clear)
    st.rerun()


def _safe_file_name(name: str) -> str:
    """The uploaded file's own name without folders or control characters (the ledger shows it)."""
    base = re.split(r"[\\/]", str(name))[-1]
    base = re.sub(r"[\x00-\x1f\x7f]", "", base).strip().lstrip(".")
    suffix = Path(base).suffix.lower()
    return base[:120] if base and Path(base[:120]).suffix.lower() == suffix else f"attachment{suffix}"


# ---------------------------------------------------------------------------------------------------
# 我的任务: a department's own view


def my_tasks(who: Any, defs: Any, wh: Path, lang: str, members: Any, now: Any = None) -> None:
    from warehouse.duban import items
    from warehouse.tasks_store import ledger

    now = now or utc_now()
    mine = tasks_access.my_tasks(who, defs, members)
    st.caption(_t("tasks_ui.mine_caption", lang, units=md("、".join(who.units))))
    if not mine:
        st.info(_t("tasks_ui.no_tasks", lang))
        return
    pairs = {(task.id, unit) for _, task, units in mine for unit in units}
    plans = {plan.id for plan, _, _ in mine}
    rows = [r for pid in sorted(plans) for r in ledger(wh, defs, pid, as_of=now) if (r["task"], r["unit"]) in pairs]
    duban = [i for i in tasks_access.department_items(who, items(wh, as_of=now), defs, members)
             if i["closed_at"] is None]
    cols = st.columns(5)
    cols[0].metric(_t("tasks_ui.m.tasks", lang), len(mine))
    cols[1].metric(_t("tasks_ui.m.missing", lang), sum(r["missing"] for r in rows))
    cols[2].metric(_t("tasks_ui.m.late", lang), sum(r["late"] for r in rows))
    cols[3].metric(_t("tasks_ui.m.open", lang), sum(not i["answers"] for i in duban))
    cols[4].metric(_t("tasks_ui.m.overdue", lang), sum(i["overdue"] for i in duban))

    st.subheader(_t("tasks_ui.my_duban", lang))
    if duban:
        tables.dataframe(tasks_views.duban_table(duban, lang, tasks_views.task_titles(defs, lang)), hide_index=True, width="stretch", key="mine_duban")
    else:
        st.info(_t("tasks_ui.nothing_to_answer", lang))
    st.subheader(_t("tasks_ui.due", lang))
    # this year's periods and everything still missing or late, latest first
    year = str(to_cst(now).year)
    shown = [r for r in rows if r["missing"] or r["late"] or r["period"].startswith(year) or r["state"] == "delayed"]
    shown.sort(key=lambda r: (r["period"], r["task"]), reverse=True)
    if shown:
        tables.dataframe(tasks_views.ledger_table(shown, lang, tasks_views.task_titles(defs, lang)), hide_index=True, width="stretch", key="mine_ledger")
    report_form(who, defs, wh, lang, members, mine, now)
    answer_form(who, wh, lang, [i for i in duban], defs, members)


def report_form(who: Any, defs: Any, wh: Path, lang: str, members: Any, mine: list, now: Any) -> None:
    from warehouse.tasks_store import ATTACHMENT_TYPES, MAX_ATTACHMENT, STATES, expected_periods, report

    st.subheader(_t("tasks_ui.report", lang))
    by_id = {task.id: (plan, task, units) for plan, task, units in mine}
    task_id = st.selectbox(_t("tasks_ui.task", lang), list(by_id), key="tasks_rep_task",
                           format_func=lambda i: f"{by_id[i][1].title.get(lang)}（{i}）")
    plan, task, units = by_id[task_id]
    unit = units[0] if len(units) == 1 else st.selectbox(_t("tasks_ui.unit", lang), units, key="tasks_rep_unit")
    today = to_cst(now).date()
    periods = [p.label for p in expected_periods(plan, task) if p.start <= today][::-1]
    if not periods:
        return
    left, right = st.columns(2)
    period = left.selectbox(_t("tasks_ui.period", lang), periods, key="tasks_rep_period")
    state = right.selectbox(_t("tasks_ui.state", lang), list(STATES), key="tasks_rep_state",
                            format_func=lambda s: _t(f"tasks.state.{s}", lang))
    account = st.text_area(_t("tasks_ui.account", lang), key="tasks_rep_account", max_chars=2000)
    upload = st.file_uploader(_t("tasks_ui.attachment", lang), key=f"tasks_rep_file_{st.session_state.get('tasks_rep_file_n', 0)}",
                              type=sorted(e.lstrip(".") for e in ATTACHMENT_TYPES),
                              max_upload_size=MAX_ATTACHMENT // (1024 * 1024))  # MB; tasks_store checks it again
    if not st.button(_t("tasks_ui.submit_report", lang), type="primary", key="tasks_rep_submit"):
        return
    if not tasks_access.may_report(who, plan, task, unit, members):  # the options offer only these; a check anyway
        st.error(_t("tasks_ui.failed", lang, error=i18n.t("auth.outside_short", lang)))
        return

    def run() -> dict:
        kwargs = dict(task_id=task.id, unit=unit, period=period, state=state, account=account,
                      **tasks_access.actor(who))
        if upload is None:
            return report(wh, defs, **kwargs)
        with tempfile.TemporaryDirectory(prefix="planwatch-task-") as tmp:  # removed with the run, stored or not
            path = Path(tmp) / _safe_file_name(upload.name)
            path.write_bytes(upload.getvalue())
            return report(wh, defs, attachment=path, **kwargs)

    _act(run, lang, lambda e: _t("tasks_ui.reported_late" if e["late"] else "tasks_ui.reported", lang,
                                 task=task.title.get(lang), period=e["period"]),
         clear=("tasks_rep_account", "tasks_rep_file"))


def answer_form(who: Any, wh: Path, lang: str, open_items: list[dict], defs: Any, members: Any) -> None:
    from warehouse.duban import answer_item

    st.subheader(_t("tasks_ui.answer", lang))
    if not open_items:
        st.info(_t("tasks_ui.nothing_to_answer", lang))
        return
    by_id = {i["item"]: i for i in open_items}
    item_id = st.selectbox(_t("tasks_ui.item", lang), list(by_id), key="tasks_ans_item",
                           format_func=lambda i: f"{i} · {by_id[i]['deadline']} · {by_id[i]['request'][:40]}")
    item = by_id[item_id]
    action = st.text_area(_t("tasks_ui.action", lang), key="tasks_ans_action", max_chars=2000)
    done_by = st.date_input(_t("tasks_ui.done_by", lang), value=to_cst(utc_now()).date(), key="tasks_ans_done_by")
    if not st.button(_t("tasks_ui.submit_answer", lang), type="primary", key="tasks_ans_submit"):
        return
    if not tasks_access.may_answer(who, item, defs, members):
        st.error(_t("tasks_ui.failed", lang, error=i18n.t("auth.outside_short", lang)))
        return
    _act(lambda: answer_item(wh, item_id, department=item["department"], action=action,
                             done_by=done_by.isoformat() if isinstance(done_by, date) else str(done_by),
                             **tasks_access.actor(who)),
         lang, lambda e: _t("tasks_ui.answered", lang, item=e["item"]), clear=("tasks_ans_action",))


# ---------------------------------------------------------------------------------------------------
# a leader's forms


def leader_forms(who: Any, defs: Any, plan: Any, wh: Path, lang: str, members: Any, rows: list[dict],
                 alerts: Any, plan_items: list[dict]) -> None:
    """Open a 督办 item (from the plan's delayed/missing task reports or the current alerts of the leader's
    scope) and close answered ones. `rows`: the plan's ledger now; `alerts`: engine alerts now (a frame)."""
    if tasks_access.is_department(who) or not (tasks_access.is_leader(who) or tasks_access.is_admin(who)):
        return
    open_form(who, defs, plan, wh, lang, members, rows, alerts)
    close_form(who, defs, wh, lang, members, plan_items)


def open_form(who: Any, defs: Any, plan: Any, wh: Path, lang: str, members: Any, rows: list[dict], alerts: Any) -> None:
    from warehouse.duban import open_item

    st.subheader(_t("tasks_ui.open", lang))
    behind: dict[str, dict] = {}
    if tasks_access.may_open_on_task(who, plan, members):
        for r in rows:
            if r["state"] == "delayed" or r["missing"]:
                entry = behind.setdefault(f"{r['task']}|{r['period']}", {"task": r["task"], "period": r["period"],
                                                                           "units": []})
                entry["units"].append(r["unit"])
    red: dict[str, dict] = {}
    for a in (alerts.iter_rows(named=True) if alerts is not None and alerts.height else []):
        if tasks_access.may_open_on_alert(who, a["region_code"], members):
            red.setdefault(f"{a['region_code']}|{a['indicator_id']}", a)
    kinds = [k for k, found in (("task", behind), ("alert", red)) if found]
    if not kinds:
        st.info(_t("tasks_ui.no_source", lang))
        return
    kind = st.radio(_t("tasks_ui.from", lang), kinds, key="tasks_open_kind", horizontal=True,
                    format_func=lambda k: _t(f"tasks_ui.from.{k}", lang))
    titles = {t.id: t.title.get(lang) for t in plan.tasks}
    if kind == "task":
        key = st.selectbox(_t("tasks_ui.pick_task", lang), sorted(behind, key=lambda k: k.split("|")[::-1], reverse=True),
                           key="tasks_open_task", format_func=lambda k: f"{titles.get(behind[k]['task'])} · {behind[k]['period']} "
                           f"· {'、'.join(behind[k]['units'][:3])}")
        task = next(t for t in plan.tasks if t.id == behind[key]["task"])
        department = st.selectbox(_t("tasks_ui.department", lang), [u.zh for u in task.units()],
                                  index=[u.zh for u in task.units()].index(behind[key]["units"][0]),
                                  key=f"tasks_open_dept_{key}")
    else:
        key = st.selectbox(_t("tasks_ui.pick_alert", lang), list(red), key="tasks_open_alert",
                           format_func=lambda k: f"{red[k].get('region_name') or red[k]['region_code']} · "
                           f"{red[k].get('indicator_en' if lang == 'en' else 'indicator_zh') or red[k]['indicator_id']} · "
                           f"{i18n.t('status.' + str(red[k].get('status')), lang) if i18n.has('status.' + str(red[k].get('status'))) else ''}")
        units = sorted({u.zh for t in plan.tasks for u in t.units()})
        suggested = str(red[key].get("department_zh") or red[key].get("lead_department_zh") or "")
        department = st.text_input(_t("tasks_ui.department", lang), value=suggested or (units[0] if units else ""),
                                   key=f"tasks_open_dept_{key}", max_chars=100)
    request = st.text_area(_t("tasks_ui.request", lang), key="tasks_open_request", max_chars=2000)
    deadline = st.date_input(_t("tasks_ui.deadline", lang), value=to_cst(utc_now()).date() + timedelta(days=14),
                             key="tasks_open_deadline")
    if not st.button(_t("tasks_ui.submit_open", lang), type="primary", key="tasks_open_submit"):
        return
    day = deadline.isoformat() if isinstance(deadline, date) else str(deadline)
    if kind == "task":
        call = lambda: open_item(wh, defs, department=department, request=request, deadline=day,  # noqa: E731
                                 task_id=behind[key]["task"], period=behind[key]["period"], **tasks_access.actor(who))
    else:
        call = lambda: open_item(wh, defs, department=department, request=request, deadline=day,  # noqa: E731
                                 region=red[key]["region_code"], indicator=red[key]["indicator_id"],
                                 **tasks_access.actor(who))
    _act(call, lang, lambda e: _t("tasks_ui.opened", lang, item=e["item"], department=e["department"],
                                  deadline=e["deadline"]), clear=("tasks_open_request",))


def close_form(who: Any, defs: Any, wh: Path, lang: str, members: Any, plan_items: list[dict]) -> None:
    from warehouse.duban import close_item

    st.subheader(_t("tasks_ui.close", lang))
    answered = {i["item"]: i for i in plan_items
                if i["closed_at"] is None and i["answers"] and tasks_access.may_close(who, i, defs, members)}
    if not answered:
        st.info(_t("tasks_ui.nothing_to_close", lang))
        return
    item_id = st.selectbox(_t("tasks_ui.item", lang), list(answered), key="tasks_close_item",
                           format_func=lambda i: f"{i} · {answered[i]['department']} · "
                           f"{answered[i]['answers'][-1]['action'][:40]}")
    note = st.text_area(_t("tasks_ui.note", lang), key="tasks_close_note", max_chars=2000)
    if st.button(_t("tasks_ui.submit_close", lang), type="primary", key="tasks_close_submit"):
        _act(lambda: close_item(wh, item_id, note=note, **tasks_access.actor(who)), lang,
             lambda e: _t("tasks_ui.closed", lang, item=e["item"]), clear=("tasks_close_note",))
