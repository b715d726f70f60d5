"""Region page: every indicator with status, a progress (bullet) bar and a sparkline; the region's rank among
its siblings (composite and per indicator); its overdue submissions."""

from __future__ import annotations

import polars as pl
import streamlit as st

from warehouse import app_state, charts, narrow, tables, views
from warehouse import formatting as fmt
from warehouse import i18n
from warehouse.i18n import t
from warehouse.page_section import section
from warehouse.safe_text import md

i18n.register({"region.overdue_deeper": {
    "zh": "下级地区另有 {n:,} 条逾期未报（在地区选择中打开下级地区查看）。",
    "en": "{n:,} more overdue reports further down (open a sub-region to see them).",
}})

state = app_state.current()
defs = app_state.definitions()
lang = state.lang
plan = defs.plan(state.plan_id)
region_label = app_state.region_name(state.region, lang, defs)

st.title(f"{t('region.title', lang)}：{md(region_label)}" if lang == "zh" else f"{t('region.title', lang)}: {md(region_label)}")
st.caption(f"{md(plan.name.get(lang))} · {fmt.format_as_of(state.as_of, lang)}")

# ---- every indicator ----
# each part below is a page section: a failed query shows its error there and the other parts still draw
status = None
with section(lang):
    st.subheader(t("region.indicators", lang))
    status = app_state.query("status", state.region, as_of=state.as_of, plan_id=state.plan_id)
    if status.height == 0:
        st.info(t("empty.no_indicators", lang))
        st.stop()
    if status.filter(pl.col("value").is_not_null()).height == 0:
        latest = status if state.as_of is None else app_state.query("status", state.region, plan_id=state.plan_id)
        st.info(t("empty.region_no_data", lang, last=views.last_submission_text(latest, lang)))

    trajectories = app_state.query("trajectories", state.region, tuple(status["indicator_id"].unique(maintain_order=True)),
                                   as_of=state.as_of, plan_id=state.plan_id)  # one query for all indicators
    sparklines = {indicator_id: [v for v in trajectory["actual"].to_list() if v is not None]
                  for indicator_id, trajectory in trajectories.items()}
    table = views.status_table(status, lang, sparklines)
    tables.dataframe(
        table.drop("indicator_id"), hide_index=True, width="stretch", height=36 * (table.height + 1) + 4,
        column_config={
            t("col.progress", lang): st.column_config.ProgressColumn(
                t("col.progress", lang), min_value=0.0, max_value=1.5, format="percent",
                help=t("chart.bullet", lang)),
            t("col.sparkline", lang): st.column_config.LineChartColumn(t("col.sparkline", lang)),
        },
    )
    with narrow.wide_only("region_bullet"):  # on a phone the table's progress column says the same
        st.plotly_chart(charts.bullet_figure(views.sort_for_display(status), lang), theme=None, key="region_bullet")

# ---- rank among siblings ----
with section(lang):
    st.subheader(t("region.rank", lang))
    parent = app_state.parent_of(state.region, defs)
    composite = app_state.query("rank", parent, "composite", as_of=state.as_of, plan_id=state.plan_id) if parent else None
    mine = views.rank_of(composite, state.region) if composite is not None else None
    if mine is None:
        st.info(t("region.rank_none", lang, region=region_label))
    else:
        st.metric(t("col.score", lang), t("region.rank_composite", lang, rank=mine["rank"], n=mine["n"]),
                  help=fmt.format_number(mine.get("score"), 2) if mine.get("score") is not None else None)
        st.plotly_chart(charts.rank_figure(views.ranked_regions(composite), lang, highlight=state.region),
                        theme=None, key="region_rank")
        per_indicator = {
            indicator_id: app_state.query("rank", parent, indicator_id, as_of=state.as_of, plan_id=state.plan_id)
            for indicator_id in status["indicator_id"].unique(maintain_order=True).to_list()
        } if status is not None else None
        if per_indicator is not None:  # without the status (its section failed) there is no per-indicator table
            tables.dataframe(views.indicator_rank_table(status, per_indicator, state.region, lang),
                             hide_index=True, width="stretch")

# ---- overdue ----
with section(lang):
    st.subheader(t("region.overdue", lang))
    overdue, deeper = views.split_overdue(app_state.query("overdue", state.region, as_of=state.as_of, plan_id=state.plan_id),
                                          state.region, app_state.regions_table())
    if overdue.height == 0 and not deeper:
        st.success(t("empty.no_overdue", lang))
    elif overdue.height:
        codes = overdue["region_code"].unique().to_list()
        names = {code: app_state.region_name(code, lang, defs) for code in codes}
        st.caption(t("region.overdue_count", lang, n=overdue.height))
        tables.dataframe(views.overdue_table(overdue, defs, lang, names), hide_index=True, width="stretch")
    if deeper:
        st.caption(t("region.overdue_deeper", lang, n=deeper))
