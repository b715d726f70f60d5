"""Stored values no check caught (an old warehouse, a tool that bypassed ingest): one row must never make a
query fail. Batches are written directly with engine_fixtures.add_batch, bypassing ingest validation."""

from __future__ import annotations

import math

import duckdb
import polars as pl
import pytest

from engine_fixtures import add_batch, make_warehouse, registry, utc
from test_rollup import _defs, _row
from warehouse import quality, value_sanity
from warehouse.engine import Engine

AS_OF = utc("2024-06")
GOOD = [
    {"region_code": "500101", "indicator_id": "count", "period": "2023", "value": 5},
    {"region_code": "500102", "indicator_id": "count", "period": "2023", "value": 7},
    {"region_code": "500101", "indicator_id": "rate", "period": "2023", "value": 90, "numerator": 9, "denominator": 10},
    {"region_code": "500102", "indicator_id": "rate", "period": "2023", "value": 50, "numerator": 5, "denominator": 10},
]


@pytest.mark.parametrize("bad", [1e21, -1e21, math.inf, -math.inf, math.nan, 2e15])
def test_one_absurd_stored_value_does_not_break_the_roll_up(tmp_path, bad):
    """Before the fix: 1e21 -> "Could not cast value ... to DECIMAL(38,18)" for every roll-up above 500229;
    inf -> the same for inf. Now the row is skipped: 50's roll-up is that of the other two districts."""
    wh = make_warehouse(tmp_path / "wh", registry())
    add_batch(wh, GOOD + [
        {"region_code": "500229", "indicator_id": "count", "period": "2023", "value": bad},
        {"region_code": "500229", "indicator_id": "rate", "period": "2023", "value": 50, "numerator": bad,
         "denominator": 10},
    ], "2024-02-01")
    eng = Engine(tmp_path / "wh", _defs())
    status = eng.status("50", as_of=AS_OF)
    assert _row(status, "50", "count")["value"] == 12  # 5 + 7, the bad row skipped
    assert _row(status, "50", "rate")["value"] == pytest.approx(70.0)  # (9 + 5) / 20 * 100
    children = eng.children_status("50", as_of=AS_OF, indicator="count")
    assert children.filter(pl.col("region_code") == "500229")["value"].to_list() in ([], [None])
    # the data-quality figures skip it too, and it is listed for the person who must correct it
    values = quality.current_values(quality.load_submissions(tmp_path / "wh"))
    assert set(values.filter(pl.col("region_code") == "500229")["indicator_id"]) == {"rate"}
    listed = value_sanity.warehouse_suspects(tmp_path / "wh")
    assert listed["region_code"].to_list() == ["500229", "500229"]
    expected = "non_finite" if not math.isfinite(bad) else "absurd"
    assert set(listed["problem"]) == {expected}


def test_a_later_bad_value_hides_the_earlier_one_compacted_or_not(tmp_path):
    """The latest version of a key decides: a correction to an absurd value leaves the period without a value
    (it does not bring back the superseded one), whether the versions table covers the batch or not."""
    wh = make_warehouse(tmp_path / "wh", registry())
    add_batch(wh, GOOD, "2024-02-01")
    add_batch(wh, [{"region_code": "500101", "indicator_id": "count", "period": "2023", "value": math.inf}],
              "2024-03-01")
    eng = Engine(tmp_path / "wh", _defs())
    before = _row(eng.status("50", as_of=AS_OF), "50", "count")["value"]
    wh.compact()
    eng = Engine(tmp_path / "wh", _defs())
    after = _row(eng.status("50", as_of=AS_OF), "50", "count")["value"]
    assert before == after == 7
    # as of before the bad batch, the old value is in force
    assert _row(eng.status("50", as_of=utc("2024-02")), "50", "count")["value"] == 12


def _sum(values: list[float]) -> float:
    con = duckdb.connect()
    try:
        con.execute("CREATE TABLE t (v DOUBLE)")
        con.executemany("INSERT INTO t VALUES (?)", [[v] for v in values])
        return con.sql(f"SELECT {value_sanity.exact_sum('v')} FROM t").fetchall()[0][0]
    finally:
        con.close()


def test_exact_sum_is_exact_for_normal_values_and_falls_back_for_huge_ones():
    assert _sum([0.1, 0.2, 0.3]) == 0.6  # a DOUBLE sum in this order gives 0.6000000000000001
    assert _sum([0.3, 0.2, 0.1]) == 0.6
    # a term beyond the exact range: the group is summed as DOUBLE instead of failing
    assert _sum([5e14, 1.0]) == 5e14 + 1.0
    assert _sum([9e19, 9e19]) == 1.8e20
    # a million terms at the exact limit (more than the regions of China) do not overflow DECIMAL(38, 18)
    con = duckdb.connect()
    limit = value_sanity.EXACT_TERM_ABS
    total = con.sql(f"SELECT {value_sanity.exact_sum('v')} FROM (SELECT {limit} AS v FROM range(1000000))").fetchall()
    con.close()
    assert total[0][0] == limit * 1e6
