"""Indicator page: actual vs expected trajectory (baseline and target marked), distribution across sub-regions,
sub-regions ranked with the target line, the definition and its source, and the revision history."""

from __future__ import annotations

import streamlit as st

from warehouse import app_state, charts, tables, views
from warehouse import formatting as fmt
from warehouse.i18n import pick, t
from warehouse.page_section import section
from warehouse.safe_text import md

state = app_state.current()
defs = app_state.definitions()
lang = state.lang
plan = defs.plan(state.plan_id)
region_label = app_state.region_name(state.region, lang, defs)

st.title(t("indicator.title", lang))
indicator_id = app_state.indicator_picker(state, defs)
if indicator_id is None:
    st.info(t("empty.no_indicators", lang))
    st.stop()
indicator = defs.indicator(indicator_id)
unit = indicator.unit.get(lang)
st.caption(f"{md(plan.name.get(lang))} · {md(region_label)} · {fmt.format_as_of(state.as_of, lang)}")

# ---- headline ----
# each part below is a page section: a failed query shows its error there and the other parts still draw
status, row = None, None
with section(lang):
    status = app_state.query("status", state.region, as_of=state.as_of, plan_id=state.plan_id, indicator=indicator_id)
    row = status.row(0, named=True) if status.height else None

    if row is not None:
        label = fmt.status_label(row.get("status"), lang)
        c1, c2, c3, c4 = st.columns(4)
        c1.metric(t("col.status", lang), label.text)
        c2.metric(t("col.value", lang), fmt.format_value(row.get("value"), unit),
                  help=fmt.format_period(row.get("period"), lang))
        c3.metric(t("col.expected_now", lang), fmt.format_value(row.get("expected_now"), unit))
        c4.metric(t("col.target", lang), views.target_text(row, unit, lang, with_year=False),
                  help=fmt.format_period(str(row["target_year"]), lang) if row.get("target_year") else None)
        reason = pick(row, "reason", lang, default="")
        if reason:
            st.markdown(f"{label.symbol} {md(reason)}")
        if row.get("value") is None:
            latest = status if state.as_of is None else app_state.query(
                "status", state.region, plan_id=state.plan_id, indicator=indicator_id)
            st.info(t("empty.region_no_data", lang, last=views.last_submission_text(latest, lang)))

# ---- trajectory ----
with section(lang):
    trajectory = app_state.query("trajectory", state.region, indicator_id, as_of=state.as_of, plan_id=state.plan_id)
    if trajectory.height == 0 and (row is None or row.get("target_value") is None):
        st.info(t("empty.no_trajectory", lang))
    else:
        st.plotly_chart(charts.trajectory_figure(trajectory, row, lang), theme=None, key="indicator_trajectory")

# ---- sub-regions ----
with section(lang):
    st.subheader(t("indicator.children", lang))
    children = app_state.query("children_status", state.region, as_of=state.as_of, plan_id=state.plan_id,
                               indicator=indicator_id)
    if children.height == 0:
        st.info(t("empty.no_children", lang, region=region_label))
    else:
        left, right = st.columns(2)
        with left:
            st.plotly_chart(charts.ranked_bar_figure(children, indicator_id, lang, indicator.direction.value),
                            theme=None, key="indicator_ranked")
        with right:
            st.plotly_chart(charts.distribution_figure(children, indicator_id, lang), theme=None,
                            key="indicator_distribution")

# ---- definition and source ----
st.subheader(t("indicator.definition", lang))
st.markdown(views.definition_markdown(defs, plan, indicator_id, lang))

# ---- revision history ----
with section(lang):
    st.subheader(t("indicator.history", lang))
    history = app_state.query("history", state.region, indicator_id, as_of=state.as_of)
    if history.height == 0 and row is not None and row.get("value_source") == "rollup":
        st.info(t("empty.history_rollup", lang))
    elif history.height == 0:
        st.info(t("empty.no_history", lang))
    else:
        tables.dataframe(views.history_table(history, unit, lang), hide_index=True, width="stretch")

# ---- review history of this figure (browser reporting, issue 15) ----
from warehouse.review_ui import figure_history  # noqa: E402

with section(lang):
    figure_history(state.region, indicator_id, lang)
