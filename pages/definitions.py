"""Definitions page (指标定义): plans and indicators as readable tables, with sources.

Only needs the definitions; the tables come from warehouse.quality (target_table, indicator_table, plan_table).
"""

from __future__ import annotations

import polars as pl
import streamlit as st

from warehouse import i18n, quality, tables

i18n.register({
    "definitions.title": {"zh": "指标定义", "en": "Indicator definitions"},
    "definitions.caption": {
        "zh": "以下内容全部来自指标定义文件 {path}（版本 {hash}）。比较符后带 * 表示规划原文未写比较符、系推定。",
        "en": "Everything below comes from the definitions file {path} (version {hash}). "
        "A comparator followed by * was not printed in the plan and is inferred.",
    },
    "definitions.plans": {"zh": "规划", "en": "Plans"},
    "definitions.targets": {"zh": "规划目标（每行一个规划 × 指标）", "en": "Plan targets (one row per plan × indicator)"},
    "definitions.indicators": {"zh": "指标目录", "en": "Indicator catalogue"},
    "definitions.filter_plan": {"zh": "按规划筛选", "en": "Filter by plan"},
    "definitions.filter_attribute": {"zh": "按属性筛选", "en": "Filter by attribute"},
    "definitions.filter_category": {"zh": "按类别筛选", "en": "Filter by category"},
    "definitions.all": {"zh": "全部", "en": "All"},
    "definitions.count": {"zh": "共 {n} 行", "en": "{n} rows", "en_one": "1 row"},
    "definitions.none": {"zh": "没有符合筛选条件的目标。", "en": "No targets match the filters."},
    "definitions.col.plan_id": {"zh": "规划代码", "en": "Plan id"},
    "definitions.col.plan": {"zh": "规划", "en": "Plan"},
    "definitions.col.issuer": {"zh": "发文机关", "en": "Issued by"},
    "definitions.col.doc_number": {"zh": "文号", "en": "Document no."},
    "definitions.col.region": {"zh": "适用地区", "en": "Region"},
    "definitions.col.period": {"zh": "规划期", "en": "Plan period"},
    "definitions.col.baseline_year": {"zh": "基期年", "en": "Baseline year"},
    "definitions.col.parent": {"zh": "上级规划", "en": "Parent plan"},
    "definitions.col.targets": {"zh": "目标数", "en": "Targets"},
    "definitions.col.indicator_id": {"zh": "指标代码", "en": "Indicator id"},
    "definitions.col.indicator": {"zh": "指标", "en": "Indicator"},
    "definitions.col.unit": {"zh": "单位", "en": "Unit"},
    "definitions.col.category": {"zh": "类别", "en": "Category"},
    "definitions.col.attribute": {"zh": "属性", "en": "Attribute"},
    "definitions.col.kind": {"zh": "出处类型", "en": "Kind"},
    "definitions.col.baseline": {"zh": "基期值", "en": "Baseline"},
    "definitions.col.comparator": {"zh": "比较", "en": "Comparator"},
    "definitions.col.target": {"zh": "目标值", "en": "Target"},
    "definitions.col.target_year": {"zh": "目标年", "en": "Target year"},
    "definitions.col.applies_at": {"zh": "适用层级", "en": "Applies at"},
    "definitions.col.exclude": {"zh": "排除地区", "en": "Excluded"},
    "definitions.col.source_table": {"zh": "来源表", "en": "Source table"},
    "definitions.col.source_row": {"zh": "来源行", "en": "Source row"},
    "definitions.col.source_quote": {"zh": "原文", "en": "Quote"},
    "definitions.col.lead_department": {"zh": "牵头单位", "en": "Lead department"},
    "definitions.col.responsible_departments": {"zh": "责任单位", "en": "Responsible departments"},
    "definitions.col.direction": {"zh": "方向", "en": "Direction"},
    "definitions.col.aggregation": {"zh": "汇总方式", "en": "Aggregation"},
    "definitions.col.covers": {"zh": "覆盖", "en": "Covers"},
    "definitions.col.frequency": {"zh": "报送频率", "en": "Frequency"},
    "definitions.col.due_days": {"zh": "报送期限（天）", "en": "Days allowed"},
    "definitions.col.reported_at": {"zh": "报送层级", "en": "Reported at"},
    "definitions.col.method": {"zh": "评估方法", "en": "Method"},
    "definitions.col.plans": {"zh": "所属规划", "en": "Plans"},
    "definitions.kind.main": {"zh": "主要指标表", "en": "main table"},
    "definitions.kind.text": {"zh": "正文", "en": "text"},
})


def _labelled(frame: pl.DataFrame, lang: str) -> pl.DataFrame:
    """Translate coded values and rename columns to the display language."""
    mapped = []
    for col, prefix in (("attribute", "attribute"), ("kind", "definitions.kind"), ("direction", "def.direction"),
                        ("covers", "def.covers"), ("frequency", "def.frequency"), ("method", "def.method")):
        if col in frame.columns:
            values = {v: i18n.t(f"{prefix}.{v}", lang) for v in frame[col].unique().to_list()
                      if v is not None and i18n.has(f"{prefix}.{v}")}
            mapped.append(pl.col(col).replace(values))
    if mapped:
        frame = frame.with_columns(mapped)
    return frame.rename({c: i18n.t(f"definitions.col.{c}", lang) for c in frame.columns})


def render(defs, lang: str, plan_id: str | None = None, defs_path: str = "", defs_hash: str = "") -> None:
    """Draw the page for these definitions. `plan_id` pre-selects the plan filter (the sidebar's plan)."""
    st.title(i18n.t("definitions.title", lang))
    st.caption(i18n.t("definitions.caption", lang, path=defs_path, hash=defs_hash[:12]))

    all_label = i18n.t("definitions.all", lang)
    plan_ids = [p.id for p in defs.plans]
    plan_names = {p.id: f"{p.name.get(lang)} ({p.id})" for p in defs.plans}
    cols = st.columns(3)
    plan_choice = cols[0].selectbox(
        i18n.t("definitions.filter_plan", lang), ["", *plan_ids],
        index=(plan_ids.index(plan_id) + 1) if plan_id in plan_ids else 0,
        format_func=lambda v: plan_names.get(v, all_label), key="definitions_plan",
    ) or None
    attribute = cols[1].selectbox(
        i18n.t("definitions.filter_attribute", lang), ["", "binding", "expected"],
        format_func=lambda v: i18n.t(f"attribute.{v}", lang) if v else all_label,
        key="definitions_attribute",
    ) or None
    category = cols[2].selectbox(
        i18n.t("definitions.filter_category", lang), ["", *quality.categories(defs, lang)],
        format_func=lambda v: v or all_label, key="definitions_category",
    ) or None

    st.subheader(i18n.t("definitions.targets", lang))
    targets = quality.target_table(defs, lang, plan_id=plan_choice, attribute=attribute, category=category)
    if targets.is_empty():
        st.info(i18n.t("definitions.none", lang))
    else:
        st.caption(i18n.t("definitions.count", lang, n=targets.height))
        # what a reader compares first (indicator, attribute, baseline, target) on the left; the plan's name,
        # the same on every row once a plan is chosen, and the codes at the right end
        first = ["indicator", "unit", "attribute", "baseline", "comparator", "target", "target_year", "kind"]
        last = ["plan", "plan_id", "indicator_id"]
        order = first + [c for c in targets.columns if c not in first + last] + last
        tables.dataframe(_labelled(targets, lang), hide_index=True, width="stretch",
                     column_order=[i18n.t(f"definitions.col.{c}", lang) for c in order if c in targets.columns])

    st.subheader(i18n.t("definitions.indicators", lang))
    indicators = quality.indicator_table(defs, lang, plan_id=plan_choice, category=category)
    tables.dataframe(_labelled(indicators, lang), hide_index=True, width="stretch")

    st.subheader(i18n.t("definitions.plans", lang))
    tables.dataframe(_labelled(quality.plan_table(defs, lang), lang), hide_index=True, width="stretch")


def _main() -> None:
    from warehouse import app_state

    state = app_state.current()
    defs_state = app_state.load_defs()
    render(app_state.definitions(), state.lang, plan_id=state.plan_id, defs_path=defs_state.path.name,
           defs_hash=defs_state.defs_hash)


_main()
