"""任务台账 page (read-only, no sign-in): the plan's key tasks with their units and the linked indicators' statuses,
the work ledger (progress reports, late and missing ones) and the 督办 items. Reports and 督办 are recorded through
the CLI for now (`planwatch tasks report`, `planwatch duban ...`); the tables come from warehouse.tasks_views."""

from __future__ import annotations

import streamlit as st

from warehouse import app_state, auth_ui, i18n, tables, tasks_views
from warehouse.page_section import section
from warehouse.safe_text import md
from warehouse.storage import Warehouse

i18n.register({
    "tasks.title": {"zh": "任务台账", "en": "Task ledger"},
    "tasks.caption": {
        "zh": "只读视图：{plan} 的重点任务、各单位进展和督办事项。{when}。进展与督办目前通过命令行 planwatch tasks / "
              "planwatch duban 登记。",
        "en": "Read-only: the key tasks of {plan}, each unit's progress and the 督办 items. {when}. Progress and "
              "督办 are recorded with the command line (planwatch tasks / planwatch duban) for now.",
    },
    "tasks.none": {"zh": "此规划没有登记重点任务。", "en": "This plan has no key tasks in the definitions."},
    "tasks.list": {"zh": "重点任务", "en": "Key tasks"},
    "tasks.ledger": {"zh": "工作台账", "en": "Work ledger"},
    "tasks.duban": {"zh": "督办事项", "en": "督办 items"},
    "tasks.filter_unit": {"zh": "按单位筛选", "en": "Filter by unit"},
    "tasks.only_problems": {"zh": "只看滞后、逾期", "en": "Only delayed, late or missing"},
    "tasks.all": {"zh": "全部单位", "en": "All units"},
    "tasks.metric.missing": {"zh": "逾期未报", "en": "Missing reports"},
    "tasks.metric.late": {"zh": "逾期报送", "en": "Late reports"},
    "tasks.metric.delayed": {"zh": "进展滞后", "en": "Delayed"},
    "tasks.metric.overdue": {"zh": "督办逾期", "en": "Overdue 督办"},
    "tasks.no_rows": {"zh": "没有符合条件的记录。", "en": "Nothing matches."},
    "tasks.no_items": {"zh": "暂无督办事项。", "en": "No 督办 items."},
    "tasks.no_warehouse": {"zh": "未找到数据仓库，只显示任务清单。", "en": "No warehouse found: only the task list is shown."},
})


def _main() -> None:
    from warehouse import formatting as fmt
    from warehouse.duban import items
    from warehouse.tasks_store import TasksError, ledger

    state = app_state.current()
    lang = state.lang
    defs = app_state.definitions()
    plan = defs.plan(state.plan_id)
    st.title(i18n.t("tasks.title", lang))
    st.caption(i18n.t("tasks.caption", lang, plan=md(plan.name.get(lang)), when=fmt.format_as_of(state.as_of, lang)))
    if not plan.tasks:
        st.info(i18n.t("tasks.none", lang))
        return

    wh = app_state.warehouse_path()
    has_wh = Warehouse(wh).exists()
    statuses = None
    if has_wh:
        with section(lang):  # a failed query: its error, and the task table without statuses
            frame = app_state.query("status", state.region, as_of=state.as_of, plan_id=state.plan_id)
            statuses = dict(zip(frame["indicator_id"].to_list(), frame["status"].to_list()))
    st.subheader(i18n.t("tasks.list", lang))
    tables.dataframe(tasks_views.task_table(defs, plan.id, lang, statuses), hide_index=True, width="stretch")
    if not has_wh:
        st.info(i18n.t("tasks.no_warehouse", lang))
        return
    if not app_state.in_scope(plan.region):  # the ledger and 督办 are the plan's, not one region's (docs/access.md)
        auth_ui.show_outside(plan.region, lang)
        return

    try:
        rows = ledger(wh, defs, plan.id, as_of=state.as_of)
        duban = items(wh, as_of=state.as_of)
    except TasksError as exc:
        st.warning(exc.zh if lang == "zh" else exc.en)
        return
    task_ids = {t.id for t in plan.tasks}
    plan_indicators = {t.indicator for t in plan.targets}
    duban = [d for d in duban if d["source"].get("task") in task_ids
             or (d["source"]["kind"] == "alert" and d["source"]["indicator"] in plan_indicators)]

    cols = st.columns(4)
    cols[0].metric(i18n.t("tasks.metric.missing", lang), sum(r["missing"] for r in rows))
    cols[1].metric(i18n.t("tasks.metric.late", lang), sum(r["late"] for r in rows))
    cols[2].metric(i18n.t("tasks.metric.delayed", lang), sum(r["state"] == "delayed" for r in rows))
    cols[3].metric(i18n.t("tasks.metric.overdue", lang), sum(d["overdue"] for d in duban))

    st.subheader(i18n.t("tasks.ledger", lang))
    units = sorted({r["unit"] for r in rows})
    left, right = st.columns([2, 1])
    unit = left.selectbox(i18n.t("tasks.filter_unit", lang), ["", *units], key="tasks_unit",
                          format_func=lambda v: v or i18n.t("tasks.all", lang)) or None
    problems = right.checkbox(i18n.t("tasks.only_problems", lang), value=True, key="tasks_problems")
    shown = [r for r in rows if (unit is None or r["unit"] == unit)
             and (not problems or r["state"] == "delayed" or r["late"] or r["missing"])]
    shown.sort(key=lambda r: (r["period"], r["task"]), reverse=True)  # the latest periods first
    if shown:
        tables.dataframe(tasks_views.ledger_table(shown, lang), hide_index=True, width="stretch")
    else:
        st.info(i18n.t("tasks.no_rows", lang))

    st.subheader(i18n.t("tasks.duban", lang))
    if duban:
        tables.dataframe(tasks_views.duban_table(duban, lang), hide_index=True, width="stretch")
    else:
        st.info(i18n.t("tasks.no_items", lang))


_main()
