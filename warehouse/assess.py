"""The `assess` relation: one row per region and indicator with its governing plan target (engine metadata).

Built in Python from the definitions and the region registry (never from submitted data) and registered in
DuckDB for the generated SQL (warehouse/sql.py, ASSESS_COLUMNS). Two rules live here:

- **Not applicable is not assessed** (docs/methodology.md §3): an indicator covering rural communities is not
  due from a region that has communities but no rural ones (and urban alike). Such a region gets no status
  row, no overdue alert, and is not counted in reporting rates (warehouse/quality.py uses `applicable`).
  A region whose registry row counts no communities at all (a registry without community rows) is left
  applicable: absence of counts is not evidence.
- **Final evaluation deadline** (§5): `final_deadline` = 31 Dec of the target year + the indicator's
  `due_days` + `defaults.final_grace_days`.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import polars as pl

from warehouse import annual_path
from warehouse.definitions import Covers, Definitions, Indicator
from warehouse.moments import as_of_date

ASSESS_SCHEMA = {
    "region_code": pl.String, "indicator_id": pl.String, "plan_id": pl.String, "attribute": pl.String,
    "method": pl.String, "direction": pl.String, "comparator": pl.String, "target_value": pl.Float64,
    "target_high": pl.Float64, "target_year": pl.Int32, "plan_baseline": pl.Float64,
    "baseline_year": pl.Int32, "plan_region_self": pl.Boolean, "green": pl.Float64, "amber": pl.Float64,
    "baseline_end": pl.Date, "path_end": pl.Date, "value_cutoff": pl.Date, "target_over": pl.Boolean,
    "final_deadline": pl.Date, "observation_months": pl.Int32, "baseline_from_warehouse": pl.Boolean,
    "baseline_fallback": pl.Boolean, "frequency": pl.String, "due_days": pl.Int32, "plan_start": pl.Date,
    "reported": pl.Boolean, "annual_key": pl.String, "annual_kind": pl.String,
}


def community_counts(registry, defs: Definitions, code: str) -> tuple[int, int] | None:
    """(urban, rural) communities under a region or a group's members; None when the region is unknown."""
    codes = defs.group(code.split(":", 1)[1]).members if code.startswith("group:") else [code]
    urban = rural = 0
    found = False
    for member in codes:
        region = registry.get(member)
        if region is None:
            continue
        found = True
        urban += region.n_urban_communities
        rural += region.n_rural_communities
    return (urban, rural) if found else None


def applicable(registry, defs: Definitions, code: str, ind: Indicator) -> bool:
    """False when the indicator covers a kind of community the region has none of (but it has others)."""
    if ind.covers == Covers.all:
        return True
    counts = community_counts(registry, defs, code)
    if counts is None or sum(counts) == 0:
        return True
    urban, rural = counts
    return (urban if ind.covers == Covers.urban else rural) > 0


def final_deadline(target_year: int, ind: Indicator, defs: Definitions) -> date:
    """The day after which a missing target-year value is "not reported" for good."""
    return date(target_year, 12, 31) + timedelta(days=ind.due_days + defs.defaults.final_grace_days)


def assess_frame(engine, codes: list[str], indicators: list[Indicator], moment: datetime,
                 plan_id: str | None) -> pl.DataFrame:
    """The `assess` relation for the regions and indicators (see module doc)."""
    defs = engine.defs
    day = as_of_date(moment)
    rows = []
    applies_cache: dict[tuple[str, str], bool] = {}
    for code in codes:
        chain = engine._plan_chain(code, moment, plan_id)
        for ind in indicators:
            resolved = engine._resolve(code, ind.id, moment, plan_id, chain)
            if resolved is None:
                continue
            key = (code, ind.id)
            if key not in applies_cache:
                applies_cache[key] = applicable(engine.registry, defs, code, ind)
            if not applies_cache[key]:
                continue
            plan, target = resolved
            thresholds = defs.thresholds_for(plan, target)
            tgt = target.target
            base = target.baseline
            base_year = base.year if base is not None else plan.period.baseline
            target_year = tgt.year if tgt is not None else plan.period.target
            path_end = date(target_year, 12, 31)
            annual_key, annual_kind = annual_path.assess_columns(plan, target, code)
            rows.append({
                "region_code": code,
                "indicator_id": ind.id,
                "plan_id": plan.id,
                "attribute": target.attribute.value,
                "method": (target.method or ind.method).value,
                "direction": ind.direction.value,
                "comparator": tgt.comparator.value if tgt is not None else None,
                "target_value": tgt.value if tgt is not None else None,
                "target_high": tgt.value_high if tgt is not None else None,
                "target_year": target_year,
                "plan_baseline": base.value if base is not None else None,
                "baseline_year": base_year,
                "plan_region_self": code == plan.region,
                "green": float(thresholds.green),
                "amber": float(thresholds.amber),
                "baseline_end": date(base_year, 12, 31),
                "path_end": path_end,
                "value_cutoff": min(day, path_end),
                "target_over": day >= path_end,
                "final_deadline": final_deadline(target_year, ind, defs),
                "observation_months": defs.defaults.observation_months,
                "baseline_from_warehouse": base is not None and base.from_ == "warehouse",
                "baseline_fallback": target.baseline_fallback == "plan",
                "frequency": ind.frequency.value,
                "due_days": ind.due_days,
                "plan_start": date(plan.period.start, 1, 1),
                # groups do not report; divisions report at the indicator's reporting levels
                "reported": not code.startswith("group:") and engine.level(code) in [lv.value for lv in ind.reported_at],
                # annual targets (年度目标): which set of annual points may shape the path (warehouse/annual_path.py)
                "annual_key": annual_key,
                "annual_kind": annual_kind,
            })
    return pl.DataFrame(rows, schema=ASSESS_SCHEMA)
