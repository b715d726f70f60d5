"""Baselines per region for one plan (plan succession, docs/methodology.md §4).

`planwatch defs baselines --plan jiangsu_2026` prints, for the plan's region and its children, the baseline each
target is measured from: the plan's own value, the region's own baseline-year value from the warehouse
(`baseline: {from: warehouse, year: 2025}` or a region below the plan's), the plan-wide value where the target
opts in (`baseline_fallback: plan`), or none (flagged: the region is not assessed for progress).
"""

from __future__ import annotations

import polars as pl


SOURCE_TEXT = {
    "plan": ("规划基期值", "the plan's baseline"),
    "region": ("本地区基期年数据", "the region's own baseline-year value"),
    "plan_fallback": ("规划全域基期值（按设定回退）", "the plan-wide baseline (opt-in fallback)"),
    "first_observation": ("首次观测值（基期值未知）", "first observation (baseline unknown)"),
    "none": ("无：本地区无基期年数据，不计算进度", "none: no baseline-year value for this region; no progress ratio"),
    "unknown": ("未知", "unknown"),
}

COLUMNS = ["region_code", "region_name", "indicator_id", "indicator_zh", "baseline_year", "baseline_value",
           "baseline_source", "source_zh", "source_en", "missing"]


def baseline_table(engine, plan_id: str, as_of=None) -> pl.DataFrame:
    """One row per (region, target) for the plan's region and its children (see module doc), as of `as_of`
    (default: now)."""
    plan = engine.defs.plan(plan_id)
    own = engine.status(plan.region, as_of=as_of, plan_id=plan_id)
    kids = engine.children_status(plan.region, as_of=as_of, plan_id=plan_id)
    frame = pl.concat([own, kids], how="vertical_relaxed").filter(pl.col("plan_id") == plan_id)
    if frame.height == 0:
        return pl.DataFrame(schema={c: pl.String for c in COLUMNS})
    src = frame["baseline_source"].to_list()
    return frame.select(
        "region_code", "region_name", "indicator_id", "indicator_zh", "baseline_year", "baseline_value",
        "baseline_source",
        pl.Series("source_zh", [SOURCE_TEXT.get(s, (s, s))[0] for s in src]),
        pl.Series("source_en", [SOURCE_TEXT.get(s, (s, s))[1] for s in src]),
        pl.Series("missing", [s in ("none", "unknown") for s in src]),
    )
