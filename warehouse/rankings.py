"""Rankings among siblings (docs/methodology.md, "Rankings").

- Per indicator: by the value, direction-aware (higher: largest first; lower: smallest first; bands and "="
  targets: smallest distance from the target first). Ties share a rank ("competition" ranking 1, 1, 3).
  Regions without a value have no rank.
- Composite: weighted mean over the region's assessed indicators of the ratio clamped to [0, 1] (a region
  moving away contributes 0, never a negative; the score is bounded to [0, 1]), achieved = 1, weights from
  defaults.composite_weights by attribute (binding 2, expected 1). no_data, not_assessable, too_early
  (观察期) and not_reported rows are left out of the mean; no_data and not_reported rows are counted in
  n_no_data. Highest score first.
- rank_change = previous rank (as of the end of the previous month) - rank: positive means moved up.
- n_behind: indicators behind, far behind or not achieved.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import polars as pl

from warehouse import status as st
from warehouse.moments import as_of_moment as _as_of_moment, previous_month_end

RANK_SCHEMA = {
    "region_code": pl.String, "region_name": pl.String, "rank": pl.Int64, "score": pl.Float64,
    "previous_rank": pl.Int64, "rank_change": pl.Int64, "n_indicators": pl.Int64, "n_no_data": pl.Int64,
    "n_behind": pl.Int64, "indicator_id": pl.String, "status": pl.String,
}


def competition_rank(score: pl.Expr, descending: bool) -> pl.Expr:
    """1, 1, 3 ranking; null scores stay unranked."""
    return score.rank(method="min", descending=descending).cast(pl.Int64)


def _indicator_scores(frame: pl.DataFrame) -> pl.DataFrame:
    """score = value for higher-is-better, the ranking key otherwise (see module doc)."""
    if frame.height == 0:
        return frame.with_columns(score=pl.lit(None, pl.Float64), key=pl.lit(None, pl.Float64))
    row = frame.row(0, named=True)
    by_distance = row["comparator"] == "=" or row["target_high"] is not None
    if by_distance:
        key = -pl.col("gap")
    elif row["direction"] == "lower":
        key = -pl.col("value")
    else:
        key = pl.col("value")
    return frame.with_columns(score=pl.col("value"), key=key)


def _composite(frame: pl.DataFrame, weights: dict[str, float]) -> pl.DataFrame:
    assessed = ~pl.col("status").is_in([st.NO_DATA, st.NOT_ASSESSABLE, st.TOO_EARLY, st.NOT_REPORTED])
    credit = (
        pl.when(pl.col("status") == st.ACHIEVED).then(1.0)
        .otherwise(pl.col("progress_ratio").fill_null(0.0).clip(0.0, 1.0))
    )
    weight = pl.col("attribute").replace_strict(weights, default=1.0, return_dtype=pl.Float64)
    return (
        frame.with_columns(credit=credit, weight=weight, assessed=assessed)
        .group_by(["region_code", "region_name"])
        .agg(
            ((pl.col("credit") * pl.col("weight")).filter(pl.col("assessed")).sum()
             / pl.col("weight").filter(pl.col("assessed")).sum()).alias("score"),
            pl.len().alias("n_indicators"),
            pl.col("status").is_in([st.NO_DATA, st.NOT_REPORTED]).sum().cast(pl.Int64).alias("n_no_data"),
            pl.col("status").is_in([st.BEHIND, st.FAR_BEHIND, st.NOT_ACHIEVED]).sum().cast(pl.Int64).alias("n_behind"),
            pl.col("assessed").any().alias("any_assessed"),
        )
        .with_columns(score=pl.when(pl.col("any_assessed")).then(pl.col("score")).otherwise(None))
        .drop("any_assessed")
        .with_columns(key=pl.col("score"))
    )


def _ranked(engine, parent: str, what: str, as_of, plan_id) -> pl.DataFrame:
    children = engine.children_status(parent, as_of=as_of, plan_id=plan_id,
                                      indicator=None if what == "composite" else what)
    if what == "composite":
        weights = {k.value: float(v) for k, v in engine.defs.defaults.composite_weights.items()}
        out = _composite(children, weights).with_columns(indicator_id=pl.lit("composite"), status=pl.lit(None, pl.String))
    else:
        behind = pl.col("status").is_in([st.BEHIND, st.FAR_BEHIND, st.NOT_ACHIEVED]).cast(pl.Int64)
        out = _indicator_scores(children).select(
            "region_code", "region_name", "score", "key", "indicator_id", "status",
            pl.lit(1, pl.Int64).alias("n_indicators"),
            (pl.col("status") == st.NO_DATA).cast(pl.Int64).alias("n_no_data"),
            behind.alias("n_behind"),
        )
    return out.with_columns(rank=competition_rank(pl.col("key"), descending=True))


def rank(engine, parent: str, what: str, as_of=None, plan_id=None) -> pl.DataFrame:
    """Siblings under `parent` ranked by `what` (an indicator id or "composite"), with the change since the
    previous month."""
    moment = _as_of_moment(as_of)
    # the two months on two threads (each query has its own connection; the engine is thread-safe): one
    # query's Python work (plan lookup, reason texts) overlaps the other's DuckDB work
    with ThreadPoolExecutor(max_workers=2) as pool:
        last_month = pool.submit(_ranked, engine, parent, what, previous_month_end(moment), plan_id)
        now = _ranked(engine, parent, what, moment, plan_id)
        previous = last_month.result()
    if now.height == 0:
        return pl.DataFrame(schema=RANK_SCHEMA)
    before = previous.select("region_code", pl.col("rank").alias("previous_rank"))
    out = now.join(before, on="region_code", how="left").with_columns(
        rank_change=pl.col("previous_rank") - pl.col("rank")
    )
    return out.select(list(RANK_SCHEMA)).cast(RANK_SCHEMA).sort(["rank", "region_code"], nulls_last=True)
