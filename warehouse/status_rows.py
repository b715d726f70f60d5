"""Status rows: the engine's raw SQL result shaped into the documented status frame (docs/architecture.md).

Adds names (the plan's own wording `name_in_plan` first, the catalogue name as `catalogue_zh/en`), units,
lead departments, the reason sentences (whose baseline, observation period, awaiting final data) and the
severity. Kept apart from engine.py (which runs queries) and imported by alerts/rankings without a cycle.
"""

from __future__ import annotations

import polars as pl

from warehouse import annual_path
from warehouse import status as st

# Severity (0 = most severe): binding red, red, binding amber, amber, overdue, then the rest.
SEVERITY_OVERDUE = 4
_SEVERITY_REST = {st.NOT_REPORTED: 5, st.NOT_ASSESSABLE: 6, st.TOO_EARLY: 7, st.NO_DATA: 8, st.ON_SCHEDULE: 9,
                  st.ACHIEVED: 10}
RED = {st.FAR_BEHIND, st.NOT_ACHIEVED}
AMBER = {st.BEHIND}

STATUS_COLUMNS = [
    "region_code", "region_name", "level", "indicator_id", "indicator_zh", "indicator_en", "unit_zh", "unit_en",
    "plan_id", "attribute", "period", "period_end", "value", "value_source", "submitted_value", "rollup_value",
    "disagreement", "baseline_value", "baseline_year", "baseline_source", "comparator", "target_value",
    "target_year", "expected_now", "progress_ratio", "status", "final", "gap", "trend", "reason_zh",
    "reason_en", "lead_department_zh", "lead_department_en", "severity",
    # additive columns
    "target_high", "method", "method_used", "expected_value", "baseline_date", "reason", "rollup_n",
    "previous_value", "green", "amber", "direction",
    "awaiting_final", "final_deadline", "catalogue_zh", "catalogue_en", "baseline_region",
    "annual_path",  # annual targets the expected path runs through, `2022:65;2023:75` (warehouse/annual_path.py)
]

STATUS_SCHEMA = {
    "region_code": pl.String, "region_name": pl.String, "level": pl.String, "indicator_id": pl.String,
    "indicator_zh": pl.String, "indicator_en": pl.String, "unit_zh": pl.String, "unit_en": pl.String,
    "plan_id": pl.String, "attribute": pl.String, "period": pl.String, "period_end": pl.Date,
    "value": pl.Float64, "value_source": pl.String, "submitted_value": pl.Float64, "rollup_value": pl.Float64,
    "disagreement": pl.Boolean, "baseline_value": pl.Float64, "baseline_year": pl.Int32,
    "baseline_source": pl.String, "comparator": pl.String, "target_value": pl.Float64, "target_year": pl.Int32,
    "expected_now": pl.Float64, "progress_ratio": pl.Float64, "status": pl.String, "final": pl.Boolean,
    "gap": pl.Float64, "trend": pl.String, "reason_zh": pl.String, "reason_en": pl.String,
    "lead_department_zh": pl.String, "lead_department_en": pl.String, "severity": pl.Int32,
    "target_high": pl.Float64, "method": pl.String, "method_used": pl.String, "expected_value": pl.Float64,
    "baseline_date": pl.Date, "reason": pl.String, "rollup_n": pl.Int64, "previous_value": pl.Float64,
    "green": pl.Float64, "amber": pl.Float64, "direction": pl.String,
    "awaiting_final": pl.Boolean, "final_deadline": pl.Date, "catalogue_zh": pl.String, "catalogue_en": pl.String,
    "baseline_region": pl.String, "annual_path": pl.String,
}


def severity(status: str, attribute: str | None) -> int:
    binding = attribute == "binding"
    if status in RED:
        return 0 if binding else 1
    if status in AMBER:
        return 2 if binding else 3
    return _SEVERITY_REST.get(status, 11)


def empty() -> pl.DataFrame:
    return pl.DataFrame(schema=STATUS_SCHEMA)


def plan_wording(defs, plan_id: str | None, indicator_id: str):
    """The plan's own name for the indicator (`name_in_plan`), or None."""
    if plan_id is None:
        return None
    try:
        plan = defs.plan(plan_id)
    except KeyError:
        return None
    for target in plan.targets:
        if target.indicator == indicator_id and target.name_in_plan is not None:
            return target.name_in_plan
    return None


def plan_target(defs, plan_id: str | None, indicator_id: str):
    """The plan's first target for the indicator (None when absent)."""
    if plan_id is None:
        return None
    try:
        plan = defs.plan(plan_id)
    except KeyError:
        return None
    return next((t for t in plan.targets if t.indicator == indicator_id), None)


def lead_text(defs, plan_id: str | None, ind, lang: str) -> str | None:
    """Lead units for the indicator under the plan: the target's own (task table) first, else the indicator's."""
    target = plan_target(defs, plan_id, ind.id)
    if target is not None and target.lead_department is not None:
        leads = target.lead_department if isinstance(target.lead_department, list) else [target.lead_department]
        return "、".join(d.get(lang) for d in leads)
    return ind.lead_text(lang)


def finish(engine, raw: pl.DataFrame) -> pl.DataFrame:
    """Add names, units, departments, reasons and severity; order the columns as documented.

    Column by column (issue 14): what depends only on the (plan, indicator) pair or on the region is looked up
    once per pair / region and joined; what is a copy or a fixed rule of the raw columns is a polars expression;
    only the sentences (reason texts, baseline region, annual path) are built row by row, from column lists (a
    tier-M overview: ~1,100 rows; building and reading a dict per row was a third of this function's time)."""
    if raw.height == 0:
        return empty()
    pairs = _pair_frame(engine.defs, raw)
    places = _place_frame(engine, raw)
    reason_zh, reason_en, baseline_region, annual = _sentences(engine, raw, pairs, places)
    rows = raw.join(pairs, on=["plan_id", "indicator_id"], how="left", nulls_equal=True, maintain_order="left")
    rows = rows.join(places, on="region_code", how="left", maintain_order="left")
    base_date = (pl.when(pl.col("baseline_source") == "first_observation")
                 .then(pl.col("first_period_end")).otherwise(pl.col("baseline_end")))
    has_baseline = pl.col("baseline").is_not_null()
    out = rows.select(
        "region_code", "region_name", "level", "indicator_id", "indicator_zh", "indicator_en", "unit_zh", "unit_en",
        "plan_id", "attribute", "period", "period_end",
        pl.col("actual").alias("value"),
        pl.when(pl.col("actual").is_not_null()).then(pl.col("value_source")).alias("value_source"),
        "submitted_value", "rollup_value",
        pl.col("disagreement").fill_null(False).alias("disagreement"),
        pl.col("baseline").alias("baseline_value"),
        pl.when(base_date.is_not_null() & has_baseline).then(base_date.dt.year())
        .otherwise(pl.col("baseline_year")).alias("baseline_year"),
        "baseline_source", "comparator", "target_value", "target_year", "expected_now", "progress_ratio", "status",
        pl.col("final").fill_null(False).alias("final"),
        "gap", "trend",
        pl.Series("reason_zh", reason_zh, dtype=pl.String), pl.Series("reason_en", reason_en, dtype=pl.String),
        "lead_department_zh", "lead_department_en",
        pl.Series("severity", [severity(s, a) for s, a in zip(raw["status"].to_list(), raw["attribute"].to_list())],
                  dtype=pl.Int32),
        "target_high", "method", "method_used",
        pl.col("expected").alias("expected_value"),
        pl.when(has_baseline).then(base_date).alias("baseline_date"),
        "reason", "rollup_n", "previous_value", "green", "amber", "direction",
        pl.col("awaiting_final").fill_null(False).alias("awaiting_final"),
        "final_deadline", "catalogue_zh", "catalogue_en",
        pl.Series("baseline_region", baseline_region, dtype=pl.String),
        pl.Series("annual_path", annual, dtype=pl.String),
    )
    return out.cast(STATUS_SCHEMA)


def _pair_frame(defs, raw: pl.DataFrame) -> pl.DataFrame:
    """Names, units and lead departments per (plan, indicator) pair of the raw rows."""
    rows = []
    for plan_id, indicator_id in raw.select("plan_id", "indicator_id").unique(maintain_order=True).iter_rows():
        ind = defs.indicator(indicator_id)
        wording = plan_wording(defs, plan_id, ind.id)
        rows.append((
            plan_id, indicator_id,
            wording.zh if wording else ind.name.zh,
            ((wording.en or wording.zh) if wording else (ind.name.en or ind.name.zh)),
            ((wording.en or wording.zh) if wording else ind.name.en),
            ind.unit.zh, ind.unit.en,
            lead_text(defs, plan_id, ind, "zh"), lead_text(defs, plan_id, ind, "en"),
            ind.name.zh, ind.name.en,
        ))
    schema = {"plan_id": raw.schema["plan_id"], "indicator_id": raw.schema["indicator_id"],
              "indicator_zh": pl.String, "name_en": pl.String, "indicator_en": pl.String, "unit_zh": pl.String,
              "unit_en": pl.String, "lead_department_zh": pl.String, "lead_department_en": pl.String,
              "catalogue_zh": pl.String, "catalogue_en": pl.String}
    return pl.DataFrame(rows, schema=schema, orient="row")


def _place_frame(engine, raw: pl.DataFrame) -> pl.DataFrame:
    codes = raw["region_code"].unique(maintain_order=True).to_list()
    return pl.DataFrame({"region_code": pl.Series(codes, dtype=raw.schema["region_code"]),
                         "region_name": pl.Series([engine.region_name(c) for c in codes], dtype=pl.String),
                         "level": pl.Series([engine.level(c) for c in codes], dtype=pl.String)})


_SENTENCE_COLUMNS = (
    "region_code", "plan_id", "indicator_id", "reason", "attribute", "method_used", "progress_ratio", "green",
    "amber", "comparator", "target_value", "actual", "gap", "baseline_source", "baseline_year", "previous_value",
    "status", "baseline", "annual_path", "annual_key", "path_start", "path_end", "awaiting_final", "final_deadline",
)


def _sentences(engine, raw: pl.DataFrame, pairs: pl.DataFrame, places: pl.DataFrame):
    """Per row: reason_zh, reason_en, baseline_region, annual_path (lists in raw's row order)."""
    defs = engine.defs
    names = {(p, i): (zh, en) for p, i, zh, en in pairs.select("plan_id", "indicator_id", "indicator_zh",
                                                                 "name_en").iter_rows()}
    region_names = dict(zip(places["region_code"].to_list(), places["region_name"].to_list()))
    cols = [raw[c].to_list() if c in raw.columns else [None] * raw.height for c in _SENTENCE_COLUMNS]
    reason_zh, reason_en, baseline_region, annual = [], [], [], []
    for (code, plan_id, indicator_id, reason, attribute, method_used, ratio, green, amber, comparator, target,
         actual, gap, baseline_source, baseline_year, previous, status, baseline, annual_on, annual_key,
         path_start, path_end, awaiting, deadline) in zip(*cols):
        name_zh, name_en = names[(plan_id, indicator_id)]
        region_zh = region_names[code]
        cagr = method_used == "cagr"
        zh, en = st.reason_text(
            reason, attribute=attribute, indicator_zh=name_zh, indicator_en=name_en,
            method=method_used, progress_ratio=ratio,
            green=st.CAGR_GREEN if cagr else green, amber=st.CAGR_AMBER if cagr else amber,
            comparator=comparator, target=target, value=actual, gap=gap,
            baseline_source=baseline_source, region_zh=region_zh, region_en=region_zh,
            baseline_year=baseline_year, previous=previous,
        )
        region = None
        if baseline_source == "first_observation" and status != st.NO_DATA:
            zh += "（基期值未知，以首次观测值代替）"
            en += " (baseline unknown: first observation used)"
        elif baseline_source == "plan_fallback":
            region = defs.plan(plan_id).region
            whose = engine.region_name(region)
            zh += f"（以{whose}全域基期值 {st._num(baseline)} 为基准，非本地区数据）"
            en += f" (measured from {whose}'s plan-wide baseline {st._num(baseline)}, not this region's own)"
        elif baseline_source in ("plan", "region"):
            region = defs.plan(plan_id).region if baseline_source == "plan" else code
        path = None
        if annual_on:
            path = annual_path.describe(annual_path.points_of(defs, annual_key), path_start, path_end)
            if reason in (st.R_RATIO, st.R_MOVING_AWAY):
                zh += "（按年度目标计算进度）"
                en += " (measured against the annual targets)"
        if awaiting:
            zh += f"（目标年已过，待终期数据，报送截止 {deadline.isoformat()}；此为中期状态）"
            en += f" (target year over: awaiting final data, due by {deadline.isoformat()}; interim status)"
        reason_zh.append(zh)
        reason_en.append(en)
        baseline_region.append(region)
        annual.append(path)
    return reason_zh, reason_en, baseline_region, annual
