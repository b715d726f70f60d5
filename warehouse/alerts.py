"""Alerts: every amber/red status and every overdue submission, with a one-sentence reason (zh/en).

Severity order (0 = most severe): binding red (0), red (1), binding amber (2), amber (3), overdue (4).
Red = far_behind or not_achieved; amber = behind. Within a severity: region code, then indicator id.
"""

from __future__ import annotations

import polars as pl

from warehouse.status_rows import SEVERITY_OVERDUE, lead_text

ALERT_SCHEMA = {
    "severity": pl.Int32, "kind": pl.String, "region_code": pl.String, "region_name": pl.String,
    "level": pl.String, "indicator_id": pl.String, "indicator_zh": pl.String, "indicator_en": pl.String,
    "attribute": pl.String, "plan_id": pl.String, "status": pl.String, "period": pl.String,
    "period_end": pl.Date, "value": pl.Float64, "comparator": pl.String, "target_value": pl.Float64,
    "target_year": pl.Int32, "progress_ratio": pl.Float64,
    "reason_zh": pl.String, "reason_en": pl.String, "department_zh": pl.String, "department_en": pl.String,
    "n_overdue_periods": pl.Int64,
}


def build_alerts(engine, status: pl.DataFrame, overdue: pl.DataFrame) -> pl.DataFrame:
    """Status rows with severity <= 3 plus one overdue alert per region and indicator (its latest overdue
    period; the count of overdue periods is in n_overdue_periods)."""
    rows = []
    for r in status.filter(pl.col("severity") <= 3).iter_rows(named=True):
        rows.append({
            "severity": r["severity"], "kind": "status", "region_code": r["region_code"],
            "region_name": r["region_name"], "level": r["level"], "indicator_id": r["indicator_id"],
            "indicator_zh": r["indicator_zh"], "indicator_en": r["indicator_en"], "attribute": r["attribute"],
            "plan_id": r["plan_id"], "status": r["status"], "period": r["period"], "period_end": r["period_end"],
            "value": r["value"], "comparator": r["comparator"], "target_value": r["target_value"],
            "target_year": r["target_year"], "progress_ratio": r["progress_ratio"],
            "reason_zh": r["reason_zh"], "reason_en": r["reason_en"],
            "department_zh": r["lead_department_zh"], "department_en": r["lead_department_en"],
            "n_overdue_periods": None,
        })
    if overdue.height:
        latest = (
            overdue.sort("period_end")
            .group_by(["region_code", "indicator_id"], maintain_order=True)
            .agg(pl.all().last(), pl.len().alias("n"))
        )
        for r in latest.iter_rows(named=True):
            ind = engine.defs.indicator(r["indicator_id"])
            name = engine.region_name(r["region_code"])
            ind_zh = engine.defs.indicator_name(r["plan_id"], ind.id, "zh")  # the plan's own wording
            ind_en = engine.defs.indicator_name(r["plan_id"], ind.id, "en")
            due = r["due_date"].isoformat()
            end = r["period_end"].isoformat()
            more_zh = f"（共 {r['n']} 期逾期）" if r["n"] > 1 else ""
            more_en = f" ({r['n']} periods overdue)" if r["n"] > 1 else ""
            rows.append({
                "severity": SEVERITY_OVERDUE, "kind": "overdue", "region_code": r["region_code"],
                "region_name": name, "level": engine.level(r["region_code"]), "indicator_id": ind.id,
                "indicator_zh": ind_zh, "indicator_en": ind_en, "attribute": r["attribute"],
                "plan_id": r["plan_id"], "status": "overdue", "period": None, "period_end": r["period_end"],
                "value": None, "comparator": None, "target_value": None, "target_year": None, "progress_ratio": None,
                "reason_zh": f"{name}「{ind_zh}」截至 {end} 的数据应于 {due} 前报送，已逾期 {r['days_overdue']} 天{more_zh}",
                "reason_en": (f"{name}: “{ind_en}” for the period ending {end} was due by {due}, "
                              f"{r['days_overdue']} days overdue{more_en}"),
                "department_zh": lead_text(engine.defs, r["plan_id"], ind, "zh"),
                "department_en": lead_text(engine.defs, r["plan_id"], ind, "en"),
                "n_overdue_periods": r["n"],
            })
    if not rows:
        return pl.DataFrame(schema=ALERT_SCHEMA)
    return pl.DataFrame(rows, schema=ALERT_SCHEMA, orient="row").sort(["severity", "region_code", "indicator_id"])
