"""The overview's overdue 督办 items (Streamlit glue; the list comes from warehouse/tasks_report.overdue_items):
for the overview's plan and region, the items past their deadline without an answer, most overdue first. The
plan-wide items (on tasks) only on the plan's own area and for a person whose scope holds it (docs/access.md); on a
sub-region, the items opened on its alerts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import streamlit as st

from warehouse import i18n, tables, tasks_access, tasks_report, tasks_views

i18n.register({
    "tasks_overview.title": {"zh": "逾期督办", "en": "Overdue 督办"},
    "tasks_overview.count": {"zh": "{n} 项督办逾期未复", "en": "{n} 督办 items overdue without an answer",
                              "en_one": "1 督办 item overdue without an answer"},
})


def overdue_section(plan: Any, region: str, as_of: datetime | None, lang: str) -> None:
    """Nothing at all when no item is overdue (the overview stays as it was for plans without 督办)."""
    from warehouse import app_state, auth_ui
    from warehouse.storage import Warehouse
    from warehouse.tasks_store import TasksError

    wh = app_state.warehouse_path()
    if not Warehouse(wh).exists():
        return
    defs = app_state.definitions()
    members = auth_ui.members_of(defs)
    who = app_state.identity()
    try:
        found = tasks_report.overdue_items(wh, defs, plan, region, as_of, members,
                                           plan_wide=region == plan.region and app_state.in_scope(plan.region))
    except TasksError as exc:
        st.warning(exc.en if lang == "en" else exc.zh)
        return
    found = tasks_access.scope_items(who, found, defs, members)
    if not found:
        return
    st.subheader(i18n.t("tasks_overview.title", lang))
    st.error(i18n.t("tasks_overview.count", lang, n=len(found)), icon=":material/assignment_late:")
    tables.dataframe(tasks_views.duban_table(found, lang, tasks_views.task_titles(defs, lang)), hide_index=True, width="stretch", key="overview_duban")
