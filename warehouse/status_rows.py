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
    """Add names, units, departments, reasons and severity; order the columns as documented."""
    defs = engine.defs
    rows = []
    # what depends only on the (plan, indicator) pair or on the region, looked up once per call (a tier-M
    # overview has ~1,100 rows over ~80 pairs and 21 regions: a quarter of its Python time went to these lookups)
    pairs: dict[tuple, tuple] = {}
    places: dict[str, tuple[str, str]] = {}
    for r in raw.iter_rows(named=True):
        pair = (r["plan_id"], r["indicator_id"])
        found = pairs.get(pair)
        if found is None:
            ind = defs.indicator(r["indicator_id"])
            wording = plan_wording(defs, r["plan_id"], ind.id)
            found = pairs[pair] = (
                ind, wording,
                wording.zh if wording else ind.name.zh,
                (wording.en or wording.zh) if wording else (ind.name.en or ind.name.zh),
                lead_text(defs, r["plan_id"], ind, "zh"), lead_text(defs, r["plan_id"], ind, "en"),
            )
        ind, wording, name_zh, name_en, lead_zh, lead_en = found
        status = r["status"]
        place = places.get(r["region_code"])
        if place is None:
            place = places[r["region_code"]] = (engine.region_name(r["region_code"]), engine.level(r["region_code"]))
        region_zh, level = place
        cagr = r["method_used"] == "cagr"
        reason_zh, reason_en = st.reason_text(
            r["reason"], attribute=r["attribute"], indicator_zh=name_zh, indicator_en=name_en,
            method=r["method_used"], progress_ratio=r["progress_ratio"],
            green=st.CAGR_GREEN if cagr else r["green"], amber=st.CAGR_AMBER if cagr else r["amber"],
            comparator=r["comparator"], target=r["target_value"], value=r["actual"], gap=r["gap"],
            baseline_source=r["baseline_source"], region_zh=region_zh, region_en=region_zh,
            baseline_year=r["baseline_year"], previous=r["previous_value"],
        )
        baseline_region = None
        if r["baseline_source"] == "first_observation" and status != st.NO_DATA:
            reason_zh += "（基期值未知，以首次观测值代替）"
            reason_en += " (baseline unknown: first observation used)"
        elif r["baseline_source"] == "plan_fallback":
            plan = defs.plan(r["plan_id"])
            baseline_region = plan.region
            whose = engine.region_name(plan.region)
            reason_zh += f"（以{whose}全域基期值 {st._num(r['baseline'])} 为基准，非本地区数据）"
            reason_en += f" (measured from {whose}'s plan-wide baseline {st._num(r['baseline'])}, not this region's own)"
        elif r["baseline_source"] in ("plan", "region"):
            baseline_region = defs.plan(r["plan_id"]).region if r["baseline_source"] == "plan" else r["region_code"]
        annual = None
        if r["annual_path"]:
            annual = annual_path.describe(annual_path.points_of(defs, r["annual_key"]), r["path_start"], r["path_end"])
            if r["reason"] in (st.R_RATIO, st.R_MOVING_AWAY):
                reason_zh += "（按年度目标计算进度）"
                reason_en += " (measured against the annual targets)"
        if r["awaiting_final"]:
            deadline = r["final_deadline"].isoformat()
            reason_zh += f"（目标年已过，待终期数据，报送截止 {deadline}；此为中期状态）"
            reason_en += f" (target year over: awaiting final data, due by {deadline}; interim status)"
        base_date = r["first_period_end"] if r["baseline_source"] == "first_observation" else r["baseline_end"]
        rows.append({
            "region_code": r["region_code"],
            "region_name": region_zh,
            "level": level,
            "indicator_id": ind.id,
            "indicator_zh": name_zh,
            "indicator_en": name_en if wording else ind.name.en,
            "unit_zh": ind.unit.zh,
            "unit_en": ind.unit.en,
            "plan_id": r["plan_id"],
            "attribute": r["attribute"],
            "period": r["period"],
            "period_end": r["period_end"],
            "value": r["actual"],
            "value_source": r["value_source"] if r["actual"] is not None else None,
            "submitted_value": r["submitted_value"],
            "rollup_value": r["rollup_value"],
            "disagreement": bool(r["disagreement"]) if r["disagreement"] is not None else False,
            "baseline_value": r["baseline"],
            "baseline_year": base_date.year if base_date is not None and r["baseline"] is not None else r["baseline_year"],
            "baseline_source": r["baseline_source"],
            "comparator": r["comparator"],
            "target_value": r["target_value"],
            "target_year": r["target_year"],
            "expected_now": r["expected_now"],
            "progress_ratio": r["progress_ratio"],
            "status": status,
            "final": bool(r["final"]),
            "gap": r["gap"],
            "trend": r["trend"],
            "reason_zh": reason_zh,
            "reason_en": reason_en,
            "lead_department_zh": lead_zh,
            "lead_department_en": lead_en,
            "severity": severity(status, r["attribute"]),
            "target_high": r["target_high"],
            "method": r["method"],
            "method_used": r["method_used"],
            "expected_value": r["expected"],
            "baseline_date": base_date if r["baseline"] is not None else None,
            "reason": r["reason"],
            "rollup_n": r["rollup_n"],
            "previous_value": r["previous_value"],
            "green": r["green"],
            "amber": r["amber"],
            "direction": r["direction"],
            "awaiting_final": bool(r["awaiting_final"]),
            "final_deadline": r["final_deadline"],
            "catalogue_zh": ind.name.zh,
            "catalogue_en": ind.name.en,
            "baseline_region": baseline_region,
            "annual_path": annual,
        })
    return pl.DataFrame(rows, schema=STATUS_SCHEMA, orient="row") if rows else empty()
