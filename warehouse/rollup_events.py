"""Roll-ups kept as events (issue 14): the engine's roll-up step (warehouse/sql.py steps 3-6) precomputed at
compaction, so that an overview at national scale reads thousands of event rows instead of millions of rows.

For each division length L (2, 4, 6, 9) the roll-up of a region P of that length sums, over the rows strictly
below P that are in force at the as-of time T and have no row below them, each row's roll-up terms
(warehouse/sql_rollup.py). A row version of the versions table (warehouse/current.py) is in force on
[ingested_at, superseded_at); it stops being a contributor once a row below it exists (`has_below`), which,
rows never being removed, happens for good at the first ingest of any row below it (`below_since`). So each
version adds its terms at `ingested_at` and takes them away at min(superseded_at, below_since): the roll-up as
of T is the sum of the events at or before T. The events are summed per (L, prefix, indicator, period,
period_end, at): every count and every DECIMAL(38, 18) sum is exact integer arithmetic, so the sums read from
the events are the bits the row query computes (value_sanity.exact_sum).

Terms are kept for every rule the definitions can give an indicator (sum, ratio, per_community urban / rural /
all, weighted_mean), so the table does not depend on the definitions; per_community terms use the region
registry's community counts (`registry_key` of the warehouse's regions.parquet, compared by the engine).

What the events cannot say, the engine reads from the rows as before (`usable`):
- a prefix with a term beyond EXACT_TERM_ABS (the row query then sums that group as DOUBLE) or with an unusable
  value (non-finite, absurd: warehouse/value_sanity.py) in a version of a row that is below another row (its
  has_below can switch off again) is listed in `unusable`;
- max / min rules (not additive), groups (`group:` scope codes), the country scope, several match lengths;
- a snapshot with batches the versions table does not cover, another registry, the Spark backend.

File: <wh>/current/rollups-<table version>.parquet (sorted by level, prefix, indicator, period, event_at), described
in current.json under "rollups".
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl

from warehouse import current, value_sanity
from warehouse.sql_rollup import TERMS

LEVELS = (2, 4, 6, 9)  # division lengths with rows below them (12: communities, the finest)
MAX_UNUSABLE = 10_000  # more unusable prefixes than this at a level: the level is not used at all

def registry_key(frame: pl.DataFrame) -> str:
    """What the per_community terms depend on: sha256 of every region's code and community counts."""
    part = frame.select("code", "n_urban_communities", "n_rural_communities").sort("code")
    return hashlib.sha256(part.write_csv().encode()).hexdigest()


def _signed(column: str) -> str:
    return f"CASE WHEN sign > 0 THEN {column} ELSE -{column} END"


def _events_sql(level: int) -> str:
    limit = f"{value_sanity.EXACT_TERM_ABS:.0e}"
    terms = ",\n               ".join(f"{sql} AS {name}" for name, sql in TERMS.items())
    sums = ",\n           ".join(
        f"CAST(sum({_signed(f'({name} IS NOT NULL)::BIGINT')}) AS BIGINT) AS {name}_n, "
        f"sum({_signed(f'TRY_CAST(CASE WHEN abs({name}) <= {limit} THEN {name} END AS DECIMAL(38, 18))')}) AS {name}_s"
        for name in TERMS)
    big = " OR ".join(f"abs({name}) > {limit}" for name in TERMS)
    return f"""
        WITH versions AS (
            SELECT v.*, left(v."region_code", {level}) AS prefix,
                   coalesce(g.n_urban_communities, 0) AS n_urban, coalesce(g.n_rural_communities, 0) AS n_rural,
                   b.since
            FROM read_parquet($versions) AS v
            LEFT JOIN regions AS g ON g.code = v."region_code"
            LEFT JOIN below AS b
              ON b.code = v."region_code" AND b."indicator_id" = v."indicator_id" AND b."period" = v."period"
            WHERE v."region_code" >= $low AND ($high IS NULL OR v."region_code" < $high)
              AND length(v."region_code") > {level} AND {value_sanity.usable_sql('v')}
              AND (b.since IS NULL OR v."ingested_at" < b.since)
        ),
        terms AS (
            SELECT prefix, "indicator_id", "period", "period_end", "ingested_at",
                   least("superseded_at", since) AS ended_at,
               {terms}
            FROM versions
        ),
        signed AS (
            SELECT *, "ingested_at" AS event_at, 1 AS sign FROM terms
            UNION ALL
            SELECT *, ended_at AS event_at, -1 AS sign FROM terms WHERE ended_at IS NOT NULL
        )
        SELECT CAST({level} AS TINYINT) AS level, prefix, "indicator_id", "period", "period_end", event_at,
           CAST(sum(sign) AS BIGINT) AS n,
           {sums},
           bool_or({big}) AS big
        FROM signed
        GROUP BY ALL
        ORDER BY prefix, "indicator_id", "period", event_at
    """


# rows strictly below a code (same indicator and period): when the first was ingested, and whether a version of
# one has an unusable value (then the row query's has_below can change back: the prefix is left to it)
_BELOW_SQL = """
    SELECT p.code, r."indicator_id", r."period", min(r."ingested_at") AS since,
           bool_or(NOT ({usable})) AS insane
    FROM read_parquet($versions) AS r
    JOIN parents AS p ON p.code = r."region_code"[1:{length}] AND p."indicator_id" = r."indicator_id"
                     AND p."period" = r."period"
    WHERE r."region_code" >= $low AND ($high IS NULL OR r."region_code" < $high)
      AND length(r."region_code") > {length}
    GROUP BY ALL
"""


def build(versions: Path, target: Path, regions: Path | None, spill: Path) -> dict | None:
    """Write the events of the versions table `versions` to `target`; returns the "rollups" entry of
    current.json (without "file"), or None without a region registry (per_community terms need it)."""
    if regions is None or not regions.is_file():
        return None
    from warehouse.regions import RegionError, RegionRegistry

    try:
        registry = RegionRegistry.load(regions).frame
    except RegionError:  # unreadable or not a registry: no events (the engine reads the rows; it reports the file)
        return None
    con = current.build_connection(spill)
    out = current.ParquetAppender(target)
    unusable: dict[int, set[str]] = {level: set() for level in LEVELS}
    try:
        con.register("regions", registry.select("code", "n_urban_communities", "n_rural_communities").to_arrow())
        for low, high in current.code_ranges(con, f"read_parquet({current._quote(versions)})") or [("", None)]:
            params = {"versions": str(versions), "low": low, "high": high}
            below = _below(con, params)
            for code in below.filter(pl.col("insane"))["code"].unique().to_list():
                for level in LEVELS:  # its rows contribute to every prefix above it
                    if level < len(code):
                        unusable[level].add(code[:level])
            con.register("below", below.select("code", "indicator_id", "period", "since").to_arrow())
            for level in LEVELS:
                frame = pl.from_arrow(con.sql(_events_sql(level), params=params).to_arrow_table())
                if frame.height or not out.started:  # an empty first table still gives the file its schema
                    unusable[level].update(frame.filter(pl.col("big"))["prefix"].unique().to_list())
                    out.write(frame.drop("big").to_arrow())
            con.unregister("below")
    finally:
        out.close()
        con.close()
    return {
        "registry": registry_key(registry),
        "rows": out.rows,
        "unusable": {str(level): sorted(codes) for level, codes in unusable.items() if len(codes) <= MAX_UNUSABLE},
        "levels": [level for level in LEVELS if len(unusable[level]) <= MAX_UNUSABLE],
    }


def _below(con, params: dict) -> pl.DataFrame:
    """(code, indicator_id, period, since, insane) of the range's rows that have a row below them."""
    src = "read_parquet($versions)"
    where = '"region_code" >= $low AND ($high IS NULL OR "region_code" < $high)'
    lengths = [r[0] for r in con.execute(
        f'SELECT DISTINCT length("region_code") FROM {src} WHERE {where}', params).fetchall()]
    out = []
    for length in sorted(x for x in lengths if x in LEVELS):
        if not any(other > length for other in lengths):
            continue
        parents = con.sql(
            f'SELECT DISTINCT "region_code" AS code, "indicator_id", "period" FROM {src} '
            f'WHERE {where} AND length("region_code") = {length}', params=params).to_arrow_table()
        con.register("parents", parents)
        query = _BELOW_SQL.format(length=length, usable=value_sanity.usable_sql("r"))
        out.append(pl.from_arrow(con.sql(query, params=params).to_arrow_table()))
        con.unregister("parents")
    schema = {"code": pl.String, "indicator_id": pl.String, "period": pl.String,
              "since": pl.Datetime("us"), "insane": pl.Boolean}
    if not out:
        return pl.DataFrame(schema=schema)
    return pl.concat([f.cast(schema) for f in out])


def usable(entry: dict | None, registry: str, level: int | None, codes: list[str]) -> bool:
    """Whether the events answer the roll-ups of `codes` (division codes, all of length `level`)."""
    if not entry or level is None or level not in (entry.get("levels") or []) or entry.get("registry") != registry:
        return False
    bad = set((entry.get("unusable") or {}).get(str(level), ()))
    return all(len(c) == level and c.isdigit() and c not in bad for c in codes)
