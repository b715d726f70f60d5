"""Data quality and the readable definition tables behind the dashboard's analyst pages.

Everything here is computed from the documented contracts only: the Definitions model, the warehouse
folder layout (manifest, batches, log, rejections, regions.parquet; see docs/architecture.md) and the
engine's status frames. The pages (`pages/data_quality.py`, `pages/definitions.py`, `pages/rankings.py`)
only lay these frames out.

Definitions used on the data-quality page (also in docs/dashboard.md):

- Expected report: one (region, indicator, period) where the region is one of the selected region's children
  (the region itself when it has none), its level is in the indicator's `reported_at`, the indicator is targeted by a plan covering the region, the period lies inside that
  plan's period (start year to target year) at the indicator's frequency, and the report is due by the
  as-of time. Due = 24:00 China Standard Time on the last day of the period plus `due_days` days.
- Received: at least one submitted row for that key was ingested at or before the as-of time.
- On time: the first submission's `submitted_at` is at or before the due time.
- Reporting rate = received / expected; on-time rate = on time / expected.
- Outlier: a period-to-period change whose z-score, among all changes of the same indicator in the
  regions shown, exceeds the threshold (default `defaults.outlier_z`). Changes are absolute, except for
  `sum` indicators (totals that scale with region size), where they are relative to the previous value.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import polars as pl

from warehouse import duck
from warehouse.definitions import AggregationRule, Definitions, Indicator, Plan
from warehouse.periods import month_period, period_end_utc, quarter_period, year_period
from warehouse.regions import sibling_codes
from warehouse.storage import Warehouse
from warehouse.value_sanity import ABSURD_ABS

# ----------------------------------------------------------------------------------------------------
# Small helpers
# ----------------------------------------------------------------------------------------------------


def _txt(text, lang: str) -> str | None:
    return text.get(lang) if text is not None else None


def _lead_for(target, ind, lang: str) -> str:
    if target.lead_department is not None:
        leads = target.lead_department if isinstance(target.lead_department, list) else [target.lead_department]
        return "、".join(d.get(lang) for d in leads)
    return ind.lead_text(lang) or ""


def _fmt_number(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:g}"


def region_contains(container: str, code: str, defs: Definitions) -> bool:
    """Whether `code` lies inside `container` (an NBS code, "CN" or "group:<id>"); itself included."""
    if container == "CN":
        return True
    if container.startswith("group:"):
        try:
            members = defs.group(container.split(":", 1)[1]).members
        except KeyError:
            return False
        return code == container or any(code.startswith(m) for m in members)
    if code.startswith("group:"):
        return False
    return code.startswith(container)


# ----------------------------------------------------------------------------------------------------
# Definition tables (the definitions page)
# ----------------------------------------------------------------------------------------------------

PLAN_COLUMNS = ["plan_id", "plan", "issuer", "doc_number", "region", "period", "baseline_year", "parent", "targets"]
TARGET_COLUMNS = [
    "plan_id", "plan", "indicator_id", "indicator", "unit", "category", "attribute", "kind",
    "baseline", "comparator", "target", "target_year", "applies_at", "exclude",
    "source_table", "source_row", "source_quote", "lead_department", "responsible_departments",
]
INDICATOR_COLUMNS = [
    "indicator_id", "indicator", "unit", "category", "direction", "aggregation", "covers", "frequency",
    "due_days", "reported_at", "method", "lead_department", "responsible_departments", "plans",
]


def plan_table(defs: Definitions, lang: str = "zh") -> pl.DataFrame:
    """One row per plan."""
    rows = [
        {
            "plan_id": p.id,
            "plan": p.name.get(lang),
            "issuer": p.issuer.get(lang),
            "doc_number": p.doc_number or "",
            "region": p.region,
            "period": f"{p.period.start}–{p.period.target}",
            "baseline_year": p.period.baseline,
            "parent": p.parent or "",
            "targets": len(p.targets),
        }
        for p in defs.plans
    ]
    return pl.DataFrame(rows, schema={c: (pl.Int64 if c in ("baseline_year", "targets") else pl.Utf8)
                                      for c in PLAN_COLUMNS})


def _baseline_text(target, lang: str) -> str:
    b = target.baseline
    if b is None:
        return ""
    if b.value is None:
        shown = b.as_written or "—"
        unknown = "unknown" if lang == "en" else "未知"
        return f"{shown} ({unknown}, {b.year})"
    return f"{b.as_written or _fmt_number(b.value)} ({b.year})"


def _target_text(target) -> str:
    t = target.target
    if t is None:
        return ""
    if t.value_high is not None:
        return f"{_fmt_number(t.value)}–{_fmt_number(t.value_high)}"
    return _fmt_number(t.value)


def target_table(
    defs: Definitions,
    lang: str = "zh",
    plan_id: str | None = None,
    attribute: str | None = None,
    category: str | None = None,
) -> pl.DataFrame:
    """One row per plan target, optionally filtered by plan id, attribute (binding/expected) and category
    (in the display language). Comparator and target value are separate columns; `as_written` is kept in
    the baseline column and the source quote so nothing of the plan's wording is lost."""
    rows = []
    for plan in defs.plans:
        if plan_id and plan.id != plan_id:
            continue
        for t in plan.targets:
            if attribute and t.attribute.value != attribute:
                continue
            try:
                ind = defs.indicator(t.indicator)
            except KeyError:
                continue
            cat = _txt(ind.category, lang) or ""
            if category and cat != category:
                continue
            comparator = ""
            if t.target is not None:
                comparator = t.target.comparator.value
                if t.target.comparator_inferred:
                    comparator += "*"
            rows.append({
                "plan_id": plan.id,
                "plan": plan.name.get(lang),
                "indicator_id": ind.id,
                "indicator": defs.indicator_name(plan, ind.id, lang, with_catalogue=True),
                "unit": ind.unit.get(lang),
                "category": cat,
                "attribute": t.attribute.value,
                "kind": t.kind,
                "baseline": _baseline_text(t, lang),
                "comparator": comparator,
                "target": _target_text(t),
                "target_year": t.target.year if t.target is not None else None,
                "applies_at": ", ".join(t.applies_at),
                "exclude": ", ".join(t.exclude),
                "source_table": t.source.table or "",
                "source_row": t.source.row,
                "source_quote": t.source.quote or "",
                # the target's own owners (a plan's task table) first, else the indicator's
                "lead_department": _lead_for(t, ind, lang),
                "responsible_departments": "、".join(
                    d.get(lang) for d in (t.responsible_departments if t.responsible_departments is not None
                                          else ind.responsible_departments)),
            })
    schema = {c: pl.Utf8 for c in TARGET_COLUMNS}
    schema["target_year"] = pl.Int64
    schema["source_row"] = pl.Int64
    return pl.DataFrame(rows, schema=schema)


def indicator_table(defs: Definitions, lang: str = "zh", plan_id: str | None = None,
                    category: str | None = None) -> pl.DataFrame:
    """One row per indicator with how it is reported and rolled up, and the plans that target it."""
    used: dict[str, list[str]] = {}
    for plan in defs.plans:
        for t in plan.targets:
            used.setdefault(t.indicator, [])
            if plan.id not in used[t.indicator]:
                used[t.indicator].append(plan.id)
    rows = []
    for ind in defs.indicators:
        plans = used.get(ind.id, [])
        if plan_id and plan_id not in plans:
            continue
        cat = _txt(ind.category, lang) or ""
        if category and cat != category:
            continue
        agg = ind.aggregation.rule.value
        if ind.aggregation.rule == AggregationRule.ratio and ind.aggregation.scale != 1:
            agg += f" ×{_fmt_number(ind.aggregation.scale)}"
        rows.append({
            "indicator_id": ind.id,
            "indicator": ind.name.get(lang),
            "unit": ind.unit.get(lang),
            "category": cat,
            "direction": ind.direction.value,
            "aggregation": agg,
            "covers": ind.covers.value,
            "frequency": ind.frequency.value,
            "due_days": ind.due_days,
            "reported_at": ", ".join(lv.value for lv in ind.reported_at),
            "method": ind.method.value,
            "lead_department": ind.lead_text(lang) or "",
            "responsible_departments": "、".join(d.get(lang) for d in ind.responsible_departments),
            "plans": ", ".join(plans),
        })
    schema = {c: pl.Utf8 for c in INDICATOR_COLUMNS}
    schema["due_days"] = pl.Int64
    return pl.DataFrame(rows, schema=schema)


def categories(defs: Definitions, lang: str = "zh") -> list[str]:
    """Distinct indicator categories in the display language, in definition order."""
    seen: list[str] = []
    for ind in defs.indicators:
        cat = _txt(ind.category, lang)
        if cat and cat not in seen:
            seen.append(cat)
    return seen


# ----------------------------------------------------------------------------------------------------
# Reading the warehouse folder (documented layout; read-only)
# ----------------------------------------------------------------------------------------------------

SUBMISSION_COLUMNS = ["region_code", "indicator_id", "period", "period_end", "value",
                      "submitted_at", "ingested_at", "batch_id", "source_file", "source_row"]


def _as_naive_utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def load_submissions(warehouse_dir: str | Path, as_of: datetime | None = None) -> pl.DataFrame:
    """Every submitted row (superseded ones included) ingested at or before `as_of`: the storage snapshot
    registered as a DuckDB view. Timestamps are naive UTC."""
    snapshot = Warehouse(warehouse_dir).snapshot(as_of)
    con = duck.connect()
    try:
        snapshot.register(con, "submissions")
        duck.seal(con, snapshot.files)
        frame = con.sql(
            "SELECT region_code, indicator_id, period, period_end, value, submitted_at, ingested_at, batch_id,"
            " source_file, CAST(source_row AS BIGINT) AS source_row FROM submissions"
        ).pl()
    finally:
        con.close()
    return frame.with_columns(
        pl.col("submitted_at").cast(pl.Datetime("us")),
        pl.col("ingested_at").cast(pl.Datetime("us")),
    )


def current_values(submissions: pl.DataFrame) -> pl.DataFrame:
    """The latest submission per (region, indicator, period): later ingests supersede earlier ones. A latest
    value that is not finite or absurd is dropped, as the engine does (warehouse/value_sanity.py)."""
    if submissions.is_empty():
        return submissions
    return (
        submissions.sort(["ingested_at", "batch_id", "source_row"])
        .group_by(["region_code", "indicator_id", "period"], maintain_order=True)
        .last()
        .filter(pl.col("value").is_null() | (pl.col("value").is_finite() & (pl.col("value").abs() <= ABSURD_ABS)))
    )


def load_regions(warehouse_dir: str | Path) -> pl.DataFrame:
    """The warehouse's region registry (regions.parquet): code, name, level, parent."""
    path = Path(warehouse_dir) / "regions.parquet"
    if not path.exists():
        return pl.DataFrame(schema={"code": pl.Utf8, "name": pl.Utf8, "level": pl.Utf8, "parent": pl.Utf8})
    frame = pl.read_parquet(path)
    counts = [c for c in ("n_urban_communities", "n_rural_communities") if c in frame.columns]
    return frame.select("code", "name", "level", "parent", *counts)  # counts: applicability (urban/rural)


def scope_regions(regions: pl.DataFrame, region: str, defs: Definitions) -> pl.DataFrame:
    """The selected region itself (first) and its children, seeing through NBS pseudo-cities; for a named
    group, its members."""
    if region.startswith("group:"):
        group = defs.group(region.split(":", 1)[1])
        members = regions.filter(pl.col("code").is_in(group.members))
        order = {code: i for i, code in enumerate(group.members)}
        return members.with_columns(
            pl.col("code").replace_strict(order, default=len(order)).alias("_o")
        ).sort("_o").drop("_o")
    own = regions.filter(pl.col("code") == region)
    children = regions.filter(pl.col("code").is_in(sibling_codes(regions, region)))  # placeholders seen through
    return pl.concat([own, children.sort("code")])


def reporting_regions(regions: pl.DataFrame, region: str, defs: Definitions) -> pl.DataFrame:
    """The regions expected to report for the selected region: its children (the sibling set of
    `scope_regions`), whose values roll up to it; the region itself only when it has no children."""
    scope = scope_regions(regions, region, defs)
    if region.startswith("group:"):
        return scope
    children = scope.filter(pl.col("code") != region)
    return children if children.height else scope


# ----------------------------------------------------------------------------------------------------
# Reporting rate and on-time rate
# ----------------------------------------------------------------------------------------------------


def periods_between(frequency: str, first_year: int, last_year: int) -> list:
    """Every period of the frequency from January of `first_year` to December of `last_year`."""
    out = []
    for year in range(first_year, last_year + 1):
        if frequency == "annual":
            out.append(year_period(year))
        elif frequency == "quarterly":
            out.extend(quarter_period(year, q) for q in range(1, 5))
        else:
            out.extend(month_period(year, m) for m in range(1, 13))
    return out


def due_at(period, indicator: Indicator) -> datetime:
    """When a report is due: 24:00 CST on the period's last day plus `due_days` days, as aware UTC."""
    return period_end_utc(period) + timedelta(days=indicator.due_days)


def _plans_for(defs: Definitions, region: str, plan_id: str | None) -> list[Plan]:
    if plan_id:
        return [defs.plan(plan_id)]
    return [p for p in defs.plans if region_contains(p.region, region, defs)]


def _applicable(code: str, ind: Indicator, defs: Definitions, regions: pl.DataFrame) -> bool:
    """assess.applicable over the regions frame (no registry object here)."""
    if ind.covers.value == "all" or "n_urban_communities" not in regions.columns:
        return True
    row = regions.filter(pl.col("code") == code).select("n_urban_communities", "n_rural_communities")
    if row.height == 0:
        return True
    urban, rural = (int(v or 0) for v in row.row(0))
    if urban + rural == 0:
        return True
    return (urban if ind.covers.value == "urban" else rural) > 0


def expected_reports(
    defs: Definitions,
    regions: pl.DataFrame,
    as_of: datetime,
    plan_id: str | None = None,
) -> pl.DataFrame:
    """One row per expected report (region_code, region_name, level, indicator_id, period, period_end,
    due_at) for the given regions (code, name, level), due at or before `as_of`."""
    as_of = as_of if as_of.tzinfo else as_of.replace(tzinfo=timezone.utc)
    rows = []
    for reg in regions.iter_rows(named=True):
        plans = [p for p in _plans_for(defs, reg["code"], plan_id)
                 if region_contains(p.region, reg["code"], defs)]
        # indicator -> (first year, last year) over the plans that target it
        window: dict[str, tuple[int, int]] = {}
        for p in plans:
            for t in p.targets:
                lo, hi = window.get(t.indicator, (p.period.start, p.period.target))
                window[t.indicator] = (min(lo, p.period.start), max(hi, p.period.target))
        for ind_id, (first, last) in window.items():
            try:
                ind = defs.indicator(ind_id)
            except KeyError:
                continue
            if reg["level"] not in {lv.value for lv in ind.reported_at}:
                continue
            if not _applicable(reg["code"], ind, defs, regions):
                continue  # a rural indicator is not due from a region without rural communities (urban alike)
            for per in periods_between(ind.frequency.value, first, last):
                due = due_at(per, ind)
                if due > as_of:
                    break
                rows.append({
                    "region_code": reg["code"], "region_name": reg["name"], "level": reg["level"],
                    "indicator_id": ind_id, "period": per.label, "period_end": per.end,
                    "year": per.year, "due_at": due.replace(tzinfo=None),
                })
    return pl.DataFrame(rows, schema={
        "region_code": pl.Utf8, "region_name": pl.Utf8, "level": pl.Utf8, "indicator_id": pl.Utf8,
        "period": pl.Utf8, "period_end": pl.Date, "year": pl.Int64, "due_at": pl.Datetime("us"),
    })


def report_detail(expected: pl.DataFrame, submissions: pl.DataFrame) -> pl.DataFrame:
    """Expected reports joined with their first submission: received, first_submitted_at, on_time."""
    first = submissions.group_by(["region_code", "indicator_id", "period"]).agg(
        pl.col("submitted_at").min().alias("first_submitted_at")
    )
    return expected.join(first, on=["region_code", "indicator_id", "period"], how="left").with_columns(
        pl.col("first_submitted_at").is_not_null().alias("received"),
        (pl.col("first_submitted_at").is_not_null() & (pl.col("first_submitted_at") <= pl.col("due_at")))
        .alias("on_time"),
    )


def reporting_rates(detail: pl.DataFrame, by: list[str] | None = None) -> pl.DataFrame:
    """expected, received, on_time, reporting_rate, on_time_rate (fractions 0..1) grouped by `by`
    (default: per region)."""
    by = by or ["region_code", "region_name"]
    return (
        detail.group_by(by, maintain_order=True)
        .agg(
            pl.len().alias("expected"),
            pl.col("received").sum().alias("received"),
            pl.col("on_time").sum().alias("on_time"),
        )
        .with_columns(
            (pl.col("received") / pl.col("expected")).alias("reporting_rate"),
            (pl.col("on_time") / pl.col("expected")).alias("on_time_rate"),
        )
    )


def missing_reports(detail: pl.DataFrame, as_of: datetime) -> pl.DataFrame:
    """Expected reports not received by `as_of`, with days overdue, most overdue first."""
    as_of_naive = _as_naive_utc(as_of)
    return (
        detail.filter(~pl.col("received"))
        .with_columns(((pl.lit(as_of_naive) - pl.col("due_at")).dt.total_days()).alias("days_overdue"))
        .sort(["days_overdue", "region_code", "indicator_id"], descending=[True, False, False])
        .select("region_code", "region_name", "indicator_id", "period", "due_at", "days_overdue")
    )


# ----------------------------------------------------------------------------------------------------
# Outliers and roll-up disagreements
# ----------------------------------------------------------------------------------------------------


def outliers(values: pl.DataFrame, defs: Definitions, z: float | None = None) -> pl.DataFrame:
    """Period-to-period jumps beyond `z` (default defaults.outlier_z).

    `values`: current values with region_code, indicator_id, period, period_end, value. For each
    (region, indicator) the values are ordered by period_end and each change from the previous period is
    computed (relative for `sum` indicators, absolute otherwise). The z-score of a change is taken among all
    changes of the same indicator in `values` (mean and sample standard deviation); |z| > threshold is an
    outlier. Indicators with fewer than 3 changes or no spread are skipped."""
    threshold = defs.defaults.outlier_z if z is None else z
    relative = [i.id for i in defs.indicators if i.aggregation.rule == AggregationRule.sum]
    out_schema = {"region_code": pl.Utf8, "indicator_id": pl.Utf8, "previous_period": pl.Utf8,
                  "period": pl.Utf8, "previous_value": pl.Float64, "value": pl.Float64,
                  "change": pl.Float64, "z": pl.Float64}
    if values.is_empty():
        return pl.DataFrame(schema=out_schema)
    changes = (
        values.filter(pl.col("value").is_not_null())
        .sort(["region_code", "indicator_id", "period_end"])
        .with_columns(
            pl.col("value").shift(1).over(["region_code", "indicator_id"]).alias("previous_value"),
            pl.col("period").shift(1).over(["region_code", "indicator_id"]).alias("previous_period"),
        )
        .filter(pl.col("previous_value").is_not_null())
        .with_columns(
            pl.when(pl.col("indicator_id").is_in(relative))
            .then(pl.when(pl.col("previous_value") != 0)
                  .then((pl.col("value") - pl.col("previous_value")) / pl.col("previous_value").abs()))
            .otherwise(pl.col("value") - pl.col("previous_value"))
            .alias("change")
        )
        .filter(pl.col("change").is_not_null())
    )
    scored = (
        changes.with_columns(
            pl.col("change").mean().over("indicator_id").alias("_mean"),
            pl.col("change").std().over("indicator_id").alias("_std"),
            pl.len().over("indicator_id").alias("_n"),
        )
        .filter((pl.col("_n") >= 3) & (pl.col("_std") > 0))
        .with_columns(((pl.col("change") - pl.col("_mean")) / pl.col("_std")).alias("z"))
        .filter(pl.col("z").abs() > threshold)
    )
    return (
        scored.select(list(out_schema))
        .cast(out_schema)
        .sort(pl.col("z").abs(), descending=True)
    )


DISAGREEMENT_COLUMNS = ["region_code", "region_name", "indicator_id", "indicator_zh", "indicator_en", "period",
                        "submitted_value", "rollup_value"]


def disagreements(status: pl.DataFrame) -> pl.DataFrame:
    """Rows of an engine status frame where the region's own value and its children's roll-up disagree
    beyond the tolerance (the engine's `disagreement` flag), with the relative difference."""
    if status.is_empty() or "disagreement" not in status.columns:
        return pl.DataFrame(schema={c: pl.Utf8 for c in DISAGREEMENT_COLUMNS} | {"difference": pl.Float64})
    cols = [c for c in DISAGREEMENT_COLUMNS if c in status.columns]
    return (
        status.filter(pl.col("disagreement").fill_null(False))
        .select(cols)
        .with_columns(
            pl.when(pl.col("rollup_value") != 0)
            .then((pl.col("submitted_value") - pl.col("rollup_value")) / pl.col("rollup_value").abs())
            .alias("difference")
        )
    )


# ----------------------------------------------------------------------------------------------------
# Ingest log and rejections
# ----------------------------------------------------------------------------------------------------


def ingest_log(warehouse_dir: str | Path, as_of: datetime | None = None) -> pl.DataFrame:
    """Every ingest attempt (storage's log) made at or before `as_of`, newest first."""
    log = Warehouse(warehouse_dir).log_entries()
    if as_of is not None:
        cutoff = as_of if as_of.tzinfo else as_of.replace(tzinfo=timezone.utc)
        log = log.filter(pl.col("ingested_at") <= cutoff)
    return log.sort(["ingested_at", "entry_id"], descending=True)


REJECTION_COLUMNS = ["row", "column", "value", "reason_zh", "reason_en", "severity"]


def read_rejections(path: str | Path) -> pl.DataFrame:
    """A rejection CSV (UTF-8 with BOM) as text columns row, column, value, reason_zh, reason_en[, severity].

    Columns are taken by position, so both header spellings work: the documented `row,column,value,reason_zh,
    reason_en` and ingest's `行号,列,值,原因,reason,级别 severity`."""
    frame = pl.read_csv(Path(path).read_bytes().removeprefix(b"\xef\xbb\xbf"), infer_schema=False)
    names = REJECTION_COLUMNS[: frame.width] + frame.columns[len(REJECTION_COLUMNS):]
    return frame.rename(dict(zip(frame.columns, names)))


def rejection_file(warehouse_dir: str | Path, entry: dict) -> Path | None:
    """The rejection CSV of a log entry (its `rejection_file`, relative to the warehouse), if on disk."""
    named = entry.get("rejection_file")
    if not named:
        return None
    path = Path(warehouse_dir) / named
    return path if path.is_file() else None


# ----------------------------------------------------------------------------------------------------
# League table (rankings page) and downloads
# ----------------------------------------------------------------------------------------------------


def rank_change_text(rank: int | None, previous: int | None) -> str:
    """▲n when the region moved up n places since the previous month, ▼n when down, = when unchanged,
    — when there is no previous rank."""
    if rank is None or previous is None:
        return "—"
    moved = int(previous) - int(rank)
    if moved > 0:
        return f"▲{moved}"
    if moved < 0:
        return f"▼{-moved}"
    return "="


def league_table(composite: pl.DataFrame, indicator_ranks: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """One row per region in composite-rank order: rank, change (▲▼), region, score, indicators behind,
    then one `rank:<indicator_id>` column per indicator (the region's rank among the same siblings).

    `composite`: engine.rank(parent, "composite") with region_code, region_name, rank, previous_rank,
    score, n_behind. `indicator_ranks`: indicator id -> engine.rank(parent, id) with region_code, rank."""
    table = composite.sort("rank", nulls_last=True).select(
        "rank",
        pl.struct(["rank", "previous_rank"])
        .map_elements(lambda r: rank_change_text(r["rank"], r["previous_rank"]), return_dtype=pl.Utf8)
        .alias("change"),
        "region_code", "region_name", "score", "n_behind",
    )
    for ind_id, frame in indicator_ranks.items():
        ranks = frame.select("region_code", pl.col("rank").cast(pl.Int64).alias(f"rank:{ind_id}"))
        table = table.join(ranks, on="region_code", how="left", maintain_order="left")
    return table


def csv_bytes(frame: pl.DataFrame) -> bytes:
    """CSV in UTF-8 with a BOM, so Excel opens Chinese text correctly; formula cells neutralised (safe_cells)."""
    from warehouse.safe_cells import safe_frame

    return b"\xef\xbb\xbf" + safe_frame(frame).write_csv().encode("utf-8")


def xlsx_bytes(frame: pl.DataFrame, sheet: str = "rankings") -> bytes:
    """The frame as an XLSX workbook (one sheet, header row frozen)."""
    import io

    from warehouse.safe_cells import safe_frame

    buffer = io.BytesIO()
    safe_frame(frame).write_excel(buffer, worksheet=sheet, autofit=True, freeze_panes=(1, 0))
    return buffer.getvalue()
