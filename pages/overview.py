"""Overview (领导驾驶舱): status counts (binding first), the most severe alerts, the sub-region heatmap,
leading and lagging regions, and how far through the plan period we are."""

from __future__ import annotations

import polars as pl
import streamlit as st

from warehouse import app_state, charts, final_button, narrow, tables, tasks_overview, views
from warehouse import formatting as fmt
from warehouse.i18n import t
from warehouse.page_section import section
from warehouse.periods import utc_now
from warehouse.safe_text import md

ALERTS_SHOWN = 10
LEADERS_SHOWN = 3

state = app_state.current()
defs = app_state.definitions()
lang = state.lang
plan = defs.plan(state.plan_id)
region_label = app_state.region_name(state.region, lang, defs)

st.title(t("overview.title", lang))
st.caption(t("overview.subtitle", lang, plan=md(plan.name.get(lang)), region=md(region_label),
             when=fmt.format_as_of(state.as_of, lang)))

share = fmt.plan_elapsed(plan.period.start, plan.period.target, state.as_of or utc_now())
st.progress(share, text=t("overview.elapsed", lang, start=plan.period.start, end=plan.period.target,
                          pct=fmt.format_percent(share), when=fmt.format_date(fmt.as_of_day(state.as_of or utc_now()), lang)))

# ---- final evaluation (once the plan period is over) ----
final_button.final_report_control(state, plan, fmt.as_of_day(state.as_of or utc_now()),
                                  fmt.as_of_day(state.as_of or utc_now()).strftime("%Y-%m"))

# ---- counts by status, binding first ----
# each part below is a page section: a failed query shows its error there and the other parts still draw
with section(lang):
    st.subheader(t("overview.counts", lang))
    status = app_state.query("status", state.region, as_of=state.as_of, plan_id=state.plan_id)
    if status.height == 0:
        st.info(t("empty.no_indicators", lang))
        st.stop()
    if status.filter(pl.col("value").is_not_null()).height == 0:
        latest = status if state.as_of is None else app_state.query("status", state.region, plan_id=state.plan_id)
        st.info(t("empty.region_no_data", lang, last=views.last_submission_text(latest, lang)))
    for attribute in ("binding", "expected"):
        subset = status.filter(pl.col("attribute") == attribute)
        if subset.height == 0:
            continue
        st.markdown(f"**{t(f'overview.{attribute}', lang)}** · {t('overview.total', lang, n=subset.height)}")
        narrow.status_badges(views.bucket_counts(subset), lang)  # one wrapping line, also on a phone
    with narrow.wide_only("overview_counts"):  # the badges above say the same on a phone
        st.plotly_chart(charts.status_counts_figure(status, lang), theme=None, key="overview_counts")

# ---- most severe alerts ----
with section(lang):
    st.subheader(t("overview.alerts", lang))
    alerts = app_state.query("alerts", state.region, as_of=state.as_of, plan_id=state.plan_id)
    if alerts.height == 0:
        st.success(t("empty.no_alerts", lang))
    else:
        table = views.alerts_table(alerts, defs, lang, limit=ALERTS_SHOWN)
        picked = tables.dataframe(
            table.drop("indicator_id", "region_code"), hide_index=True, width="stretch",
            on_select="rerun", selection_mode="single-row", key="overview_alerts",
        )
        if alerts.height > ALERTS_SHOWN:
            st.caption(t("overview.alerts_more", lang, n=alerts.height - ALERTS_SHOWN))
        rows = picked.selection.rows if picked is not None else []
        if rows:
            chosen = table.row(rows[0], named=True)
            if st.button(f"→ {t('nav.indicator', lang)}: {chosen[t('col.indicator', lang)]}", key="overview_open_alert"):
                app_state.open_indicator(chosen["indicator_id"])

# ---- overdue 督办 items of this plan and region (warehouse/tasks_report.py; docs/tasks.md) ----
with section(lang):
    tasks_overview.overdue_section(plan, state.region, state.as_of, lang)

# ---- sub-regions: heatmap, leading and lagging ----
with section(lang):
    st.subheader(t("overview.heatmap", lang))
    children = app_state.query("children_status", state.region, as_of=state.as_of, plan_id=state.plan_id)
    if children.height == 0:
        st.info(t("empty.no_children", lang, region=region_label))
    else:
        with narrow.wide_only("overview_heatmap"):
            st.plotly_chart(charts.status_heatmap(children.sort("region_code"), lang), theme=None, key="overview_heatmap")
        with narrow.narrow_only("overview_heatmap"):  # a phone: a list instead of labels that overprint
            st.caption(t("narrow.list_caption", lang))
            tables.dataframe(narrow.status_list(children, lang), hide_index=True, width="stretch", key="overview_list")
        ranks = app_state.query("rank", state.region, "composite", as_of=state.as_of, plan_id=state.plan_id)
        ranked = views.ranked_regions(ranks)
        if ranked.height:
            lead, lag = st.columns(2)
            for column, title, rows in ((lead, "overview.leading", ranked.head(LEADERS_SHOWN)),
                                        (lag, "overview.lagging", ranked.tail(LEADERS_SHOWN).reverse())):
                with column:
                    st.markdown(f"**{t(title, lang)}**")
                    tables.dataframe(views.leader_table(rows, lang), hide_index=True, width="stretch")
