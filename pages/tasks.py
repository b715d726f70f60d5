"""任务台账 page: the plan's key tasks with their units and the linked indicators' statuses, the work ledger
(progress reports, late and missing ones) and the 督办 items (tables: warehouse.tasks_views). Signed in, a
department (a grant with `units`) gets a 我的任务 tab with its progress and answer forms, a leader (viewer) the
forms that open and close 督办 items (warehouse/tasks_ui.py; who may: warehouse/tasks_access.py)."""

from __future__ import annotations

import streamlit as st

from warehouse import app_state, auth_ui, i18n, tables, tasks_access, tasks_ui, tasks_views
from warehouse.page_section import section
from warehouse.safe_text import md
from warehouse.storage import Warehouse

i18n.register({
    "tasks.title": {"zh": "任务台账", "en": "Task ledger"},
    "tasks.caption": {
        "zh": "{plan} 的重点任务、各单位进展和督办事项。{when}。",
        "en": "The key tasks of {plan}, each unit's progress and the 督办 items. {when}.",
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

    state = app_state.current()
    lang = state.lang
    defs = app_state.definitions()
    plan = defs.plan(state.plan_id)
    st.title(i18n.t("tasks.title", lang))
    st.caption(i18n.t("tasks.caption", lang, plan=md(plan.name.get(lang)), when=fmt.format_as_of(state.as_of, lang)))
    tasks_ui.flash()
    who = app_state.identity()
    wh = app_state.warehouse_path()
    if tasks_access.is_department(who) and Warehouse(wh).exists():
        mine, ledger_tab = st.tabs([i18n.t("tasks_ui.tab.mine", lang), i18n.t("tasks_ui.tab.ledger", lang)])
        with mine:
            tasks_ui.my_tasks(who, defs, wh, lang, auth_ui.members_of(defs))
        with ledger_tab:
            _ledger(state, defs, plan, lang, who, wh)
        return
    _ledger(state, defs, plan, lang, who, wh)
    if not who.signed_in:
        st.caption(i18n.t("tasks_ui.how_to_act", lang))


def _ledger(state, defs, plan, lang, who, wh) -> None:
    from warehouse.duban import items
    from warehouse.tasks_store import TasksError, ledger

    if not plan.tasks:
        st.info(i18n.t("tasks.none", lang))
        return

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
    duban = tasks_access.scope_items(who, duban, defs, auth_ui.members_of(defs))

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
        tables.dataframe(tasks_views.ledger_table(shown, lang, tasks_views.task_titles(defs, lang)), hide_index=True, width="stretch")
    else:
        st.info(i18n.t("tasks.no_rows", lang))

    st.subheader(i18n.t("tasks.duban", lang))
    if duban:
        tables.dataframe(tasks_views.duban_table(duban, lang, tasks_views.task_titles(defs, lang)), hide_index=True, width="stretch")
    else:
        st.info(i18n.t("tasks.no_items", lang))
    if tasks_access.is_leader(who) or tasks_access.is_admin(who):
        from warehouse.periods import utc_now

        now = utc_now()  # a 督办 is opened on what stands now, whatever month the sidebar shows
        alerts = None
        with section(lang):  # a failed alerts query: its error, and the form offers the tasks only
            alerts = app_state.query("alerts", state.region, plan_id=plan.id)
        tasks_ui.leader_forms(who, defs, plan, wh, lang, auth_ui.members_of(defs),
                              ledger(wh, defs, plan.id, as_of=now), alerts, duban)


_main()
