"""Rankings page (排名): the league table of the selected region's children.

Composite score and per-indicator ranks come from engine.rank (docs/methodology.md); the table is assembled by
warehouse.quality.league_table and offered as XLSX and CSV (UTF-8 with BOM).
"""

from __future__ import annotations

from datetime import datetime

import polars as pl
import streamlit as st

from warehouse import charts, i18n, quality, tables
from warehouse import formatting as fmt
from warehouse.page_section import section
from warehouse.safe_text import md

i18n.register({
    "rankings.title": {"zh": "排名", "en": "Rankings"},
    "rankings.subtitle": {"zh": "{region} 下级地区排名 · {plan} · {when}",
                          "en": "Sub-regions of {region} · {plan} · {when}"},
    "rankings.explain": {
        "zh": "综合得分 = 各指标进度比（封顶为 1）的加权平均，约束性指标权重 {wb}、预期性指标权重 {we}；"
        "▲/▼ 为与上月相比名次上升/下降的位数；“滞后指标数”为黄色或红色状态的指标个数。各指标列为该地区在该指标上的名次（并列同名次）。",
        "en": "Composite score = weighted mean of the indicators' progress ratios (capped at 1), binding weight {wb}, "
        "expected weight {we}; ▲/▼ = places moved up/down since the previous month; 'Behind' = indicators in "
        "amber or red. Indicator columns give the region's rank on that indicator (ties share a rank).",
    },
    "rankings.table": {"zh": "综合排名表", "en": "League table"},
    "rankings.change": {"zh": "较上月", "en": "vs last month"},
    "rankings.behind": {"zh": "滞后指标数", "en": "Behind"},
    "rankings.download_xlsx": {"zh": "下载 Excel（XLSX）", "en": "Download Excel (XLSX)"},
    "rankings.download_csv": {"zh": "下载 CSV", "en": "Download CSV"},
    "rankings.best": {"zh": "第一名", "en": "Top"},
    "rankings.worst": {"zh": "末位", "en": "Bottom"},
    "rankings.count": {"zh": "参与排名地区", "en": "Regions ranked"},
})


def _short(name: str, limit: int = 14) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


def display_table(table: pl.DataFrame, indicator_names: dict[str, str], lang: str) -> pl.DataFrame:
    """The league table with headers in the display language (also what the downloads contain)."""
    columns = {
        "rank": i18n.t("col.rank", lang),
        "change": i18n.t("rankings.change", lang),
        "region_name": i18n.t("col.region", lang),
        "region_code": i18n.t("col.code", lang),
        "score": i18n.t("col.score", lang),
        "n_behind": i18n.t("rankings.behind", lang),
    }
    out = table.select(
        pl.col("rank"), pl.col("change"), pl.col("region_name"), pl.col("region_code"),
        pl.col("score").round(3), pl.col("n_behind"),
        *[pl.col(c) for c in table.columns if c.startswith("rank:")],
    )
    renames = dict(columns)
    used: set[str] = set(columns.values())
    for col in out.columns:
        if col.startswith("rank:"):
            ind = col.split(":", 1)[1]
            name = indicator_names.get(ind, ind)
            header = f"{name}（排名）" if lang == "zh" else f"{name} (rank)"
            if header in used:  # two names that only differ after the cut
                header = f"{name} [{ind}]（排名）" if lang == "zh" else f"{name} [{ind}] (rank)"
            used.add(header)
            renames[col] = header
    return out.rename(renames)


def render(*, query, defs, region: str, region_name: str, plan_id: str, as_of: datetime | None, month: str | None,
           lang: str) -> None:
    """Draw the league table of `region`'s children. `query` calls the engine (app_state.query)."""
    plan = defs.plan(plan_id)
    st.title(i18n.t("rankings.title", lang))
    st.caption(i18n.t("rankings.subtitle", lang, region=md(region_name), plan=md(plan.name.get(lang)),
                      when=fmt.format_as_of(as_of, lang)))
    weights = defs.defaults.composite_weights
    st.caption(i18n.t("rankings.explain", lang, wb=fmt.format_number(weights.get("binding", 2.0)),
                      we=fmt.format_number(weights.get("expected", 1.0))))

    composite = None
    with section(lang):  # without the composite ranking there is no table; the error says why
        composite = query("rank", region, "composite", as_of=as_of, plan_id=plan_id)
    if composite is None or composite.is_empty() or composite["rank"].drop_nulls().is_empty():
        st.info(i18n.t("empty.no_rank", lang))
        return
    indicator_ids: list[str] = []
    for target in sorted(plan.targets, key=lambda t: t.attribute.value != "binding"):
        if target.indicator not in indicator_ids:
            indicator_ids.append(target.indicator)
    per_indicator = {}
    for ind in indicator_ids:  # one indicator's failed ranking shows its error; the table goes on without it
        with section(lang):
            per_indicator[ind] = query("rank", region, ind, as_of=as_of, plan_id=plan_id)
    per_indicator = {k: v for k, v in per_indicator.items() if v is not None and not v.is_empty()}
    league = quality.league_table(composite, per_indicator)
    table = tables.with_rank_reasons(league, composite, per_indicator, lang)  # "no data" / "not applicable", never None
    names = {ind.id: _short(defs.indicator_name(plan, ind.id, lang), 14 if lang == "zh" else 30) for ind in defs.indicators}

    ranked = league.filter(pl.col("rank").is_not_null())
    cols = st.columns(3)
    cols[0].metric(i18n.t("rankings.count", lang), ranked.height)
    cols[1].metric(i18n.t("rankings.best", lang), ranked["region_name"][0])
    cols[2].metric(i18n.t("rankings.worst", lang), ranked["region_name"][-1])

    st.subheader(i18n.t("rankings.table", lang))
    shown = display_table(table, names, lang)
    tables.dataframe(shown, hide_index=True, width="stretch", key="rankings_table")

    stem = f"{month or 'latest'}_{region.replace(':', '-')}_rankings"
    dl = st.columns(2)
    dl[0].download_button(i18n.t("rankings.download_xlsx", lang), quality.xlsx_bytes(shown),
                          file_name=f"{stem}.xlsx", key="rankings_xlsx",
                          mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    dl[1].download_button(i18n.t("rankings.download_csv", lang), quality.csv_bytes(shown),
                          file_name=f"{stem}.csv", mime="text/csv", key="rankings_csv")

    st.plotly_chart(charts.rank_figure(ranked, lang, value_column="score"), theme=None, key="rankings_chart")


def _main() -> None:
    from warehouse import app_state

    state = app_state.current()
    defs = app_state.definitions()
    render(query=app_state.query, defs=defs, region=state.region,
           region_name=app_state.region_name(state.region, state.lang, defs), plan_id=state.plan_id,
           as_of=state.as_of, month=state.month, lang=state.lang)


_main()
