"""The overview answer computed the ways a user would otherwise compute it (issue 7):

(a) pandas: read every Parquet file of the snapshot into pandas, then filter, de-duplicate and group;
(b) polars: one lazy scan with the filters pushed down;
(c) DuckDB: a hand-written query by someone who knows DuckDB (province prefix filter, QUALIFY, one GROUP BY).

The answer: for each child region of a parent and each indicator, the latest period (period end <= cutoff) with a
value as known at `as_of` (rows ingested at or before it), where the value is the child's own latest submission for
the period, else the roll-up of its descendants at the finest level present for that period by the indicator's
aggregation rule (docs/methodology.md). Output columns: region_code, indicator_id, period, value.

Every implementation takes the same inputs (`OverviewTask`): the snapshot's files, the children, indicator
metadata and the community counts of the registry - the metadata the engine derives from the definitions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import duckdb
import polars as pl

from warehouse.definitions import Definitions
from warehouse.regions import RegionRegistry

ORDER_KEYS = ["ingested_at", "submitted_at", "source_row", "batch_id"]
RESULT_SCHEMA = {"region_code": pl.String, "indicator_id": pl.String, "period": pl.String, "value": pl.Float64}


@dataclass
class OverviewTask:
    files: list[str]
    children: list[str]
    as_of: datetime  # naive UTC, compared with ingested_at
    cutoff: date  # last period end considered (the as-of date in CST)
    cutoffs: pl.DataFrame  # region_code, indicator_id, cutoff: governed pairs and their value cut-off
    indicators: pl.DataFrame  # indicator_id, rule, scale, covers
    communities: pl.DataFrame  # code, n_urban, n_rural

    @property
    def prefix(self) -> str:
        """The longest code prefix shared by every child (rows outside it cannot contribute)."""
        first, last = min(self.children), max(self.children)
        n = 0
        while n < min(len(first), len(last)) and first[n] == last[n]:
            n += 1
        return first[:n]

    @property
    def lengths(self) -> list[int]:
        return sorted({len(c) for c in self.children})


def indicator_meta(definitions: Definitions) -> pl.DataFrame:
    return pl.DataFrame(
        [(i.id, i.aggregation.rule.value, float(i.aggregation.scale or 1.0), i.covers.value) for i in definitions.indicators],
        schema={"indicator_id": pl.String, "rule": pl.String, "scale": pl.Float64, "covers": pl.String}, orient="row",
    )


def community_counts(registry: RegionRegistry) -> pl.DataFrame:
    return registry.frame.select("code", n_urban=pl.col("n_urban_communities").cast(pl.Float64),
                                 n_rural=pl.col("n_rural_communities").cast(pl.Float64))


def _finish(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select([pl.col(c).cast(t) for c, t in RESULT_SCHEMA.items()]).sort(["region_code", "indicator_id"])


# ------------------------------------------------------------------ (c) DuckDB, hand-written
DUCKDB_SQL = """\
WITH latest AS (
    SELECT region_code, indicator_id, period, period_end, value, numerator, denominator
    FROM read_parquet($files)
    WHERE ingested_at <= $as_of AND period_end <= $cutoff AND starts_with(region_code, $prefix)
    QUALIFY row_number() OVER (PARTITION BY region_code, indicator_id, period
        ORDER BY ingested_at DESC, submitted_at DESC NULLS LAST, source_row DESC, batch_id DESC) = 1
),
attached AS (
    SELECT k.code AS child, l.*, l.region_code = k.code AS is_self
    FROM latest AS l, (SELECT unnest($lengths) AS len) AS n, kids AS k
    WHERE length(l.region_code) >= n.len AND k.code = l.region_code[1:n.len]
),
contrib AS (
    SELECT a.*, m.rule, m.scale,
        CASE m.covers WHEN 'urban' THEN c.n_urban WHEN 'rural' THEN c.n_rural ELSE c.n_urban + c.n_rural END AS n
    FROM attached AS a JOIN meta AS m USING (indicator_id) LEFT JOIN comms AS c ON c.code = a.region_code
    WHERE NOT is_self
    QUALIFY length(region_code) = max(length(region_code)) OVER (PARTITION BY child, indicator_id, period)
),
rolled AS (
    SELECT child, indicator_id, period, max(period_end) AS period_end, CASE any_value(rule)
        WHEN 'sum' THEN sum(value)
        WHEN 'ratio' THEN sum(numerator) FILTER (numerator IS NOT NULL AND denominator IS NOT NULL)
             / nullif(sum(denominator) FILTER (numerator IS NOT NULL AND denominator IS NOT NULL), 0) * any_value(scale)
        WHEN 'per_community' THEN sum(coalesce(numerator, value * coalesce(n, 0))) / nullif(sum(coalesce(n, 0)), 0)
        WHEN 'weighted_mean' THEN sum(value * denominator) FILTER (denominator IS NOT NULL)
             / nullif(sum(denominator) FILTER (denominator IS NOT NULL), 0)
        WHEN 'max' THEN max(value) WHEN 'min' THEN min(value) END AS rollup
    FROM contrib GROUP BY ALL
),
vals AS (
    SELECT coalesce(o.child, r.child) AS region_code, coalesce(o.indicator_id, r.indicator_id) AS indicator_id,
           coalesce(o.period, r.period) AS period, coalesce(o.period_end, r.period_end) AS period_end,
           coalesce(o.value, r.rollup) AS value
    FROM (SELECT * FROM attached WHERE is_self) AS o
    FULL JOIN rolled AS r ON o.child = r.child AND o.indicator_id = r.indicator_id AND o.period = r.period
)
SELECT region_code, indicator_id, arg_max(period, (period_end, period)) AS period,
       arg_max(value, (period_end, period)) AS value
FROM vals JOIN cutoffs USING (region_code, indicator_id)
WHERE value IS NOT NULL AND period_end <= cutoffs.cutoff
GROUP BY region_code, indicator_id"""


def overview_duckdb(task: OverviewTask) -> pl.DataFrame:
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.register("kids", pl.DataFrame({"code": task.children}).to_arrow())
        con.register("meta", task.indicators.to_arrow())
        con.register("comms", task.communities.to_arrow())
        con.register("cutoffs", task.cutoffs.to_arrow())
        frame = con.sql(DUCKDB_SQL, params={"files": task.files, "as_of": task.as_of, "cutoff": task.cutoff,
                                            "prefix": task.prefix, "lengths": task.lengths}).pl()
    finally:
        con.close()
    return _finish(frame)


# ------------------------------------------------------------------ shared roll-up (polars)
def _rollup_exprs() -> list[pl.Expr]:
    both = pl.col("numerator").is_not_null() & pl.col("denominator").is_not_null()
    has_den = pl.col("denominator").is_not_null()

    def sum_or_null(expr: pl.Expr, mask: pl.Expr | None = None) -> pl.Expr:
        e = expr if mask is None else pl.when(mask).then(expr)
        return pl.when(e.count() > 0).then(e.sum())

    n = pl.col("n").fill_null(0.0)
    return [
        sum_or_null(pl.col("value")).alias("r_sum"),
        (sum_or_null(pl.col("numerator"), both) / sum_or_null(pl.col("denominator"), both).replace(0.0, None)
         * pl.col("scale").first()).alias("r_ratio"),
        (sum_or_null(pl.coalesce(pl.col("numerator"), pl.col("value") * n)) / pl.when(n.sum() != 0).then(n.sum()))
        .alias("r_per_community"),
        (sum_or_null(pl.col("value") * pl.col("denominator"), has_den)
         / sum_or_null(pl.col("denominator"), has_den).replace(0.0, None)).alias("r_weighted_mean"),
        pl.col("value").max().alias("r_max"),
        pl.col("value").min().alias("r_min"),
        pl.col("rule").first(),
        pl.col("period_end").max(),
    ]


def _pick_rollup() -> pl.Expr:
    out = pl.lit(None, dtype=pl.Float64)
    for rule in ("sum", "ratio", "per_community", "weighted_mean", "max", "min"):
        out = pl.when(pl.col("rule") == rule).then(pl.col(f"r_{rule}")).otherwise(out)
    return out.alias("rollup")


def _answer_from_latest(latest: pl.LazyFrame, task: OverviewTask) -> pl.LazyFrame:
    kids = pl.LazyFrame({"child": task.children})
    attached = pl.concat([
        latest.filter(pl.col("region_code").str.len_chars() >= n)
        .with_columns(child=pl.col("region_code").str.slice(0, n))
        .join(kids, on="child")
        for n in task.lengths
    ]).with_columns(is_self=pl.col("region_code") == pl.col("child"))
    keys = ["child", "indicator_id", "period"]
    comms = task.communities.lazy().rename({"code": "region_code"})
    contrib = (
        attached.filter(~pl.col("is_self"))
        .join(task.indicators.lazy(), on="indicator_id")
        .join(comms, on="region_code", how="left")
        .with_columns(n=pl.when(pl.col("covers") == "urban").then(pl.col("n_urban"))
                      .when(pl.col("covers") == "rural").then(pl.col("n_rural"))
                      .otherwise(pl.col("n_urban") + pl.col("n_rural")),
                      depth=pl.col("region_code").str.len_chars())
        .filter(pl.col("depth") == pl.col("depth").max().over(keys))
    )
    rolled = contrib.group_by(keys).agg(_rollup_exprs()).with_columns(_pick_rollup()).select(*keys, "period_end", "rollup")
    own = attached.filter(pl.col("is_self")).select(*keys, "period_end", "value")
    vals = (
        own.join(rolled, on=keys, how="full", coalesce=True)
        .with_columns(value=pl.coalesce("value", "rollup"), period_end=pl.coalesce("period_end", "period_end_right"))
        .join(task.cutoffs.lazy().rename({"region_code": "child"}), on=["child", "indicator_id"])
        .filter(pl.col("value").is_not_null() & (pl.col("period_end") <= pl.col("cutoff")))
    )
    return (
        vals.sort(["period_end", "period"]).group_by(["child", "indicator_id"])
        .agg(pl.col("period").last(), pl.col("value").last())
        .rename({"child": "region_code"})
    )


# ------------------------------------------------------------------ (b) polars lazy scan
def overview_polars(task: OverviewTask) -> pl.DataFrame:
    latest = (
        pl.scan_parquet(task.files)
        .filter((pl.col("ingested_at") <= task.as_of) & (pl.col("period_end") <= task.cutoff)
                & pl.col("region_code").str.starts_with(task.prefix))
        .sort(ORDER_KEYS, nulls_last=False)
        .unique(["region_code", "indicator_id", "period"], keep="last")
        .select("region_code", "indicator_id", "period", "period_end", "value", "numerator", "denominator")
    )
    return _finish(_answer_from_latest(latest, task).collect())


# ------------------------------------------------------------------ (a) pandas: read everything, then group
def overview_pandas(task: OverviewTask) -> pl.DataFrame:
    import pandas as pd

    frame = pd.concat([pd.read_parquet(f) for f in task.files], ignore_index=True)
    frame = frame[(frame["ingested_at"] <= pd.Timestamp(task.as_of))
                  & (frame["period_end"] <= task.cutoff)]
    frame = frame.sort_values(ORDER_KEYS, na_position="first")
    frame = frame.drop_duplicates(["region_code", "indicator_id", "period"], keep="last")
    meta = task.indicators.to_pandas()
    comms = task.communities.to_pandas().rename(columns={"code": "region_code"})
    kids = set(task.children)
    parts = []
    for n in task.lengths:
        part = frame[frame["region_code"].str.len() >= n].copy()
        part["child"] = part["region_code"].str[:n]
        parts.append(part[part["child"].isin(kids)])
    att = pd.concat(parts, ignore_index=True)
    att["is_self"] = att["region_code"] == att["child"]
    keys = ["child", "indicator_id", "period"]
    con = att[~att["is_self"]].merge(meta, on="indicator_id").merge(comms, on="region_code", how="left")
    con["n"] = con["n_urban"].where(con["covers"] == "urban",
                                    con["n_rural"].where(con["covers"] == "rural", con["n_urban"] + con["n_rural"]))
    con["depth"] = con["region_code"].str.len()
    con = con[con["depth"] == con.groupby(keys)["depth"].transform("max")]

    def roll(g: pd.DataFrame) -> float | None:
        rule = g["rule"].iloc[0]
        if rule == "sum":
            return g["value"].sum() if g["value"].notna().any() else None
        if rule == "ratio":
            ok = g["numerator"].notna() & g["denominator"].notna()
            den = g.loc[ok, "denominator"].sum()
            return g.loc[ok, "numerator"].sum() / den * g["scale"].iloc[0] if ok.any() and den != 0 else None
        if rule == "per_community":
            n = g["n"].fillna(0.0)
            top = g["numerator"].fillna(g["value"] * n)
            return top.sum() / n.sum() if top.notna().any() and n.sum() != 0 else None
        if rule == "weighted_mean":
            ok = g["denominator"].notna()
            den = g.loc[ok, "denominator"].sum()
            return (g.loc[ok, "value"] * g.loc[ok, "denominator"]).sum() / den if ok.any() and den != 0 else None
        if rule == "max":
            return g["value"].max()
        if rule == "min":
            return g["value"].min()
        return None

    rolled = pd.DataFrame(
        [(*k, roll(g), g["period_end"].max()) for k, g in con.groupby(keys, sort=False)],
        columns=keys + ["rollup", "period_end_r"],
    )
    own = att[att["is_self"]][keys + ["period_end", "value"]]
    vals = own.merge(rolled, on=keys, how="outer")
    vals["value"] = vals["value"].astype("float64").fillna(vals["rollup"].astype("float64"))
    vals["period_end"] = vals["period_end"].fillna(vals["period_end_r"])
    vals = vals.merge(task.cutoffs.to_pandas().rename(columns={"region_code": "child"}), on=["child", "indicator_id"])
    vals["period_end"] = pd.to_datetime(vals["period_end"])
    vals = vals[vals["value"].notna() & (vals["period_end"] <= pd.to_datetime(vals["cutoff"]))].sort_values(["period_end", "period"])
    answer = vals.groupby(["child", "indicator_id"], as_index=False).last()[["child", "indicator_id", "period", "value"]]
    return _finish(pl.from_pandas(answer.rename(columns={"child": "region_code"})))


ALTERNATIVES = {"pandas": overview_pandas, "polars": overview_polars, "duckdb": overview_duckdb}
