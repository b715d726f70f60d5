"""Which stored values the engine can use, and which it skips (with a flag).

Ingest refuses non-finite and absurd values (docs/submissions.md), but a warehouse can still hold them: batches
written by an older version or by a tool that bypassed ingest are immutable, so every as-of view before a
correction keeps them. One such row must never make a query fail:

- a row whose value, numerator or denominator is not finite (NaN, +/-inf) or larger in magnitude than
  ABSURD_ABS is *unusable*: the engine reads the warehouse as if that row were not there (the region then shows
  the previous valid state or "no data"), the data-quality page lists it and `planwatch warehouse check`
  reports it;
- a roll-up is summed exactly (DECIMAL(38, 18), warehouse/sql.py `exact_sum`, byte-identical reruns) when every
  term is within EXACT_TERM_ABS; the sum fails beyond 1e20 (DuckDB: "Overflow in SUM of DECIMAL"), which takes
  ten million such terms (a roll-up has one term per region below it: China has about 700,000 divisions down
  to communities). A group with a larger term (a product such as value × denominator, or a value
  between the two limits) falls back to a DOUBLE sum: the same number to ~1e-16 relative, only the last bit
  may differ between runs. The data-quality page flags such rows as "not summed exactly".

Change the limits here (and say so in docs/operations.md).
"""

from __future__ import annotations

import polars as pl

ABSURD_ABS = 1e15  # larger than any count or amount a community plan measures (China's GDP is ~1.3e14 yuan)
EXACT_TERM_ABS = 1e13  # roll-up terms up to this are summed exactly
VALUE_COLUMNS = ("value", "numerator", "denominator")

# problem codes of `suspect_rows`, with their texts (zh, en)
PROBLEMS = {
    "non_finite": ("不是有限数值（NaN 或无穷大），计算时忽略此行", "not a finite number (NaN or infinity); ignored by the engine"),
    "absurd": (f"绝对值超过 {ABSURD_ABS:g}，计算时忽略此行", f"magnitude above {ABSURD_ABS:g}; ignored by the engine"),
    "inexact": (f"绝对值超过 {EXACT_TERM_ABS:g}，汇总时不能精确求和（改用浮点求和）",
                f"magnitude above {EXACT_TERM_ABS:g}; roll-ups containing it are not summed exactly (floating-point sum)"),
}


def usable_sql(alias: str = "") -> str:
    """SQL predicate: the row's value, numerator and denominator are each NULL or finite within ABSURD_ABS.
    isfinite() is needed: `abs(x) <= limit` alone let a NaN read from Parquet through (the scan's statistics
    ignore NaN, so the filter was judged always true for the row group)."""
    prefix = f"{alias}." if alias else ""
    return " AND ".join(f'coalesce(isfinite({prefix}"{c}") AND abs({prefix}"{c}") <= {ABSURD_ABS:.0e}, true)'
                        for c in VALUE_COLUMNS)


def exact_sum(expr: str, where: str = "") -> str:
    """sum() that gives the same bits on every run and never fails (see the module docstring).

    A DOUBLE sum depends on the order DuckDB's threads add the rows in (last-bit differences from run to run,
    which would break reproducible exports); summing as DECIMAL(38, 18) is exact integer arithmetic (terms
    rounded at 1e-18). Terms beyond EXACT_TERM_ABS cannot be cast or could overflow the sum: then the group's
    DOUBLE sum is used instead (both aggregates are computed; the guarded DECIMAL one cannot fail)."""
    flt = f" {where}" if where else ""
    limit = f"{EXACT_TERM_ABS:.0e}"
    exact = f"sum(TRY_CAST(CASE WHEN abs({expr}) <= {limit} THEN {expr} END AS DECIMAL(38, 18))){flt}"
    return (f"CASE WHEN coalesce(max(abs({expr})){flt} <= {limit}, true) "
            f"THEN CAST({exact} AS DOUBLE) ELSE sum({expr}){flt} END")


def _problem(col: str) -> pl.Expr:
    c = pl.col(col)
    return (pl.when(c.is_null()).then(None)
            .when(~c.is_finite()).then(pl.lit("non_finite"))
            .when(c.abs() > ABSURD_ABS).then(pl.lit("absurd"))
            .when(c.abs() > EXACT_TERM_ABS).then(pl.lit("inexact"))
            .otherwise(None))


def suspect_rows(files: list[str], as_of_naive_utc=None, limit: int = 1000) -> pl.DataFrame:
    """Stored rows with a non-finite, absurd or not exactly summable value, numerator or denominator
    (one row per cell), at most `limit`. `files`: batch Parquet files (a snapshot's); `as_of_naive_utc`:
    keep rows ingested at or before it."""
    schema = {"region_code": pl.Utf8, "indicator_id": pl.Utf8, "period": pl.Utf8, "column": pl.Utf8,
              "value": pl.Utf8, "problem": pl.Utf8, "batch_id": pl.Utf8, "source_file": pl.Utf8,
              "source_row": pl.Int32}
    if not files:
        return pl.DataFrame(schema=schema)
    lf = pl.scan_parquet(files)
    if as_of_naive_utc is not None:
        lf = lf.filter(pl.col("ingested_at") <= as_of_naive_utc)
    parts = []
    for col in VALUE_COLUMNS:
        parts.append(
            lf.with_columns(_problem(col).alias("problem"))
            .filter(pl.col("problem").is_not_null())
            .select("region_code", "indicator_id", "period", pl.lit(col).alias("column"),
                    pl.col(col).cast(pl.Utf8).alias("value"), "problem", "batch_id", "source_file",
                    pl.col("source_row").cast(pl.Int32))
        )
    frame = pl.concat(parts).head(limit).collect()
    return frame.sort(["problem", "region_code", "indicator_id", "period", "column"])


def describe(problem: str, lang: str) -> str:
    zh, en = PROBLEMS.get(problem, (problem, problem))
    return en if lang == "en" else zh


def warehouse_suspects(warehouse_dir, as_of=None, limit: int = 1000) -> pl.DataFrame:
    """`suspect_rows` over a warehouse's snapshot as of `as_of` (aware datetime or None = everything)."""
    from warehouse.storage import Warehouse

    snapshot = Warehouse(warehouse_dir).snapshot(as_of)
    return suspect_rows(snapshot.files, snapshot.as_of_naive_utc, limit=limit)


def under(frame: pl.DataFrame, prefixes: list[str]) -> pl.DataFrame:
    """Rows of a `suspect_rows` frame whose region is one of `prefixes` or below it ('CN': all)."""
    if "CN" in prefixes:
        return frame
    return frame.filter(pl.any_horizontal([pl.col("region_code").str.starts_with(p) for p in prefixes] or [pl.lit(False)]))
