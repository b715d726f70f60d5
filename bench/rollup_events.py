"""Prototype, not product code: roll-ups materialised at compaction as signed events (docs/scaling.md).

The engine rolls a parent's children up from every descendant row in force at the as-of time. At tier L that is
2.4 M rows for Sichuan's cities, so no query that reads them can beat the "limit" scan of bench/run.py. A roll-up
can instead be kept as events: each version of a row adds its value when it is ingested and takes it away when it
is superseded, summed per (child, indicator, period, time). The roll-up as of T is then the sum of the events up
to T: as-of keeps its meaning and the answer is exact (DECIMAL sums), from a table ~150x smaller.

This measures that idea for the simplest rule (a sum of values, the latest period per child and indicator) against
the same answer computed from the versions table, and against the limit scan, on a bench tier:

    .venv/bin/python -m bench.rollup_events --data /tmp/planwatch-bench/L --parent 51 --as-of "2025-06-30 16:00:00"

It asserts the two answers are equal. What the engine would still need (each roll-up rule's terms, value cut-offs,
contributor counts, own figures winning over roll-ups, unusable values) is listed in docs/scaling.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path

import duckdb
from polars.testing import assert_frame_equal

BUILD = """COPY (
  WITH v AS (SELECT substr(region_code, 1, $n) AS child, indicator_id, period, period_end, ingested_at, superseded_at,
                    value::DECIMAL(38, 12) AS value
             FROM read_parquet($versions) WHERE region_code >= $lo AND region_code < $hi AND length(region_code) > $n)
  SELECT child, indicator_id, period, period_end, t, sum(dv) AS dv, sum(dn)::BIGINT AS dn FROM (
    SELECT child, indicator_id, period, period_end, ingested_at AS t, value AS dv, 1 AS dn FROM v
    UNION ALL
    SELECT child, indicator_id, period, period_end, superseded_at, -value, -1 FROM v WHERE superseded_at IS NOT NULL)
  GROUP BY ALL HAVING sum(dn) <> 0 OR sum(dv) <> 0 ORDER BY child, indicator_id, t) TO '{out}' (FORMAT parquet)"""
LATEST = " QUALIFY row_number() OVER (PARTITION BY child, indicator_id ORDER BY pe DESC, period DESC) = 1"
FROM_EVENTS = """SELECT * FROM (SELECT child, indicator_id, period, any_value(period_end) AS pe, sum(dv) AS v
  FROM read_parquet($events) WHERE t <= $as_of GROUP BY ALL HAVING sum(dn) > 0)""" + LATEST
FROM_ROWS = """SELECT * FROM (SELECT substr(region_code, 1, $n) AS child, indicator_id, period, any_value(period_end) AS pe,
  sum(value::DECIMAL(38, 12)) AS v FROM read_parquet($versions)
  WHERE region_code >= $lo AND region_code < $hi AND length(region_code) > $n AND ingested_at <= $as_of
    AND (superseded_at IS NULL OR superseded_at > $as_of) GROUP BY ALL)""" + LATEST
LIMIT = """SELECT count(*), sum(value), max(period_end), max(numerator), max(denominator), max(ingested_at),
  max(superseded_at), count(DISTINCT indicator_id) FROM read_parquet($versions)
  WHERE region_code >= $lo AND region_code < $hi AND ingested_at <= $as_of
    AND (superseded_at IS NULL OR superseded_at > $as_of)"""


def timed(con, sql: str, params: dict, repeat: int) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        con.execute(sql, params).fetchall()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="a bench tier's warehouse folder (compacted)")
    parser.add_argument("--parent", default="51")
    parser.add_argument("--as-of", default="2025-06-30 16:00:00", help="UTC, as stored")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    pointer = json.loads((args.data / "current" / "current.json").read_text(encoding="utf-8"))
    versions = str(args.data / pointer["file"])
    base = {"lo": args.parent, "hi": args.parent + ":", "versions": versions}
    n = len(args.parent) + 2  # the children's code length (province 2 -> city 4 -> county 6)
    con = duckdb.connect()
    with tempfile.TemporaryDirectory() as tmp:
        events = str(Path(tmp) / "events.parquet")
        w, c = time.perf_counter(), time.process_time()
        con.execute(BUILD.format(out=events.replace("'", "''")), {**base, "n": n})
        print(f"events built for {args.parent}: {time.perf_counter() - w:.2f} s wall, {time.process_time() - c:.2f} s CPU")
        rows = con.execute("SELECT count(*) FROM read_parquet($versions) WHERE region_code >= $lo AND region_code < $hi",
                           base).fetchall()[0][0]
        n_events = con.execute("SELECT count(*) FROM read_parquet($e)", {"e": events}).fetchall()[0][0]
        print(f"{rows:,} version rows of {args.parent} -> {n_events:,} events")
        as_of = datetime.fromisoformat(args.as_of)
        q_events = {"events": events, "as_of": as_of}
        q_rows = {**base, "n": n, "as_of": as_of}
        a = con.sql(FROM_EVENTS, params=q_events).pl().sort("child", "indicator_id")
        b = con.sql(FROM_ROWS, params=q_rows).pl().sort("child", "indicator_id")
        assert_frame_equal(a, b, check_dtypes=False, check_exact=True)
        print(f"same answer: {a.height} (child, indicator) rows")
        results = {"roll-up from events": timed(con, FROM_EVENTS, q_events, args.repeat),
                   "roll-up from version rows": timed(con, FROM_ROWS, q_rows, args.repeat),
                   "limit scan (bench/run.py's)": timed(con, LIMIT, {**base, "as_of": as_of}, args.repeat)}
    limit_cpu = results["limit scan (bench/run.py's)"][1]
    for name, (wall, cpu) in results.items():
        print(f"{name:30s} wall {wall:.3f} s  CPU {cpu:.3f} s  ({cpu / limit_cpu:.2f}x the limit's CPU; "
              f"median of {args.repeat})")


if __name__ == "__main__":
    main()
