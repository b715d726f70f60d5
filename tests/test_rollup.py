"""Roll-ups over a real warehouse (Parquet batches + manifest + regions.parquet) by each aggregation rule."""

from __future__ import annotations

import polars as pl
import pytest

from engine_fixtures import add_batch, definitions, indicator, make_warehouse, plan, registry, target, utc
from warehouse.engine import Engine

AS_OF = utc("2024-06")


def _defs():
    inds = [
        indicator("rate", "ratio", 100.0),
        indicator("count"),
        indicator("per_comm", "per_community", covers="urban"),
        indicator("wmean", "weighted_mean"),
        indicator("top", "max"),
        indicator("bottom", "min"),
        indicator("plain", "none"),
    ]
    levels = ("total", "province", "city", "county", "township")
    targets = [target(i["id"], 100, baseline=1, applies_at=levels) for i in inds]
    targets.append(target("count", 100, baseline=1, applies_at=levels))
    return definitions(inds, [plan("national_2021", "CN", targets[:-1])])


@pytest.fixture()
def engine(tmp_path):
    reg = registry({"500101": (30, 70), "500102": (10, 90)})
    wh = make_warehouse(tmp_path / "wh", reg)
    add_batch(wh, [
        # a rate from a small and a large district: 9/10 = 90 %, 500/1000 = 50 %
        {"region_code": "500101", "indicator_id": "rate", "period": "2023", "value": 90, "numerator": 9, "denominator": 10},
        {"region_code": "500102", "indicator_id": "rate", "period": "2023", "value": 50, "numerator": 500, "denominator": 1000},
        # per urban community: 500101 gives only the average (4 over 30 urban communities), 500102 the total 50
        {"region_code": "500101", "indicator_id": "per_comm", "period": "2023", "value": 4},
        {"region_code": "500102", "indicator_id": "per_comm", "period": "2023", "value": 5, "numerator": 50},
        # weighted mean, weight = denominator
        {"region_code": "500101", "indicator_id": "wmean", "period": "2023", "value": 80, "denominator": 100},
        {"region_code": "500102", "indicator_id": "wmean", "period": "2023", "value": 20, "denominator": 300},
        {"region_code": "500101", "indicator_id": "top", "period": "2023", "value": 7},
        {"region_code": "500102", "indicator_id": "top", "period": "2023", "value": 9},
        {"region_code": "500101", "indicator_id": "bottom", "period": "2023", "value": 7},
        {"region_code": "500102", "indicator_id": "bottom", "period": "2023", "value": 9},
        {"region_code": "500101", "indicator_id": "plain", "period": "2023", "value": 7},
        # sums: two Wansheng towns under Qijiang (3 + 4), Qijiang's own figure 10, Wanzhou 5
        {"region_code": "500110004", "indicator_id": "count", "period": "2023", "value": 3},
        {"region_code": "500110100", "indicator_id": "count", "period": "2023", "value": 4},
        {"region_code": "500110", "indicator_id": "count", "period": "2023", "value": 10},
        {"region_code": "500101", "indicator_id": "count", "period": "2023", "value": 5},
    ], "2024-02-01")
    defs = _defs()
    return Engine(tmp_path / "wh", defs)


def _row(frame: pl.DataFrame, region: str, ind: str) -> dict:
    rows = frame.filter((pl.col("region_code") == region) & (pl.col("indicator_id") == ind)).to_dicts()
    assert len(rows) == 1, (region, ind, frame)
    return rows[0]


def test_rate_is_ratio_of_sums_not_mean_of_rates(engine):
    row = _row(engine.status("50", as_of=AS_OF), "50", "rate")
    # (9 + 500) / (10 + 1000) * 100 = 50.396...; the mean of 90 % and 50 % would be 70 %
    assert row["value"] == 509 / 1010 * 100
    assert row["value"] != pytest.approx(70)
    assert row["value_source"] == "rollup" and row["rollup_n"] == 2


def test_per_community_divides_by_urban_communities(engine):
    row = _row(engine.status("50", as_of=AS_OF), "50", "per_comm")
    # (4 * 30 + 50) / (30 + 10) = 170 / 40 = 4.25 (the mean of 4 and 5 would be 4.5)
    assert row["value"] == 4.25


def test_weighted_mean_and_extremes(engine):
    frame = engine.status("50", as_of=AS_OF)
    # (80 * 100 + 20 * 300) / 400 = 35
    assert _row(frame, "50", "wmean")["value"] == 35
    assert _row(frame, "50", "top")["value"] == 9
    assert _row(frame, "50", "bottom")["value"] == 7
    # rule none: nothing rolls up
    plain = _row(frame, "50", "plain")
    assert plain["value"] is None and plain["status"] == "no_data"


def test_sum_uses_finest_level_per_branch_and_flags_disagreement(engine):
    frame = engine.status("50", as_of=AS_OF)
    # Chongqing: towns 3 + 4 (Qijiang's own 10 is replaced by its towns) + Wanzhou 5 = 12
    assert _row(frame, "50", "count")["value"] == 12
    qijiang = _row(engine.status("500110", as_of=AS_OF), "500110", "count")
    # Qijiang vouches for 10; its towns add up to 7: both shown, 10 drives the status, |10 - 7| > 2 % of 7
    assert (qijiang["value"], qijiang["submitted_value"], qijiang["rollup_value"]) == (10, 10, 7)
    assert qijiang["value_source"] == "submitted" and qijiang["disagreement"] is True


def test_group_rolls_up_its_members(engine):
    row = _row(engine.status("group:wansheng", as_of=AS_OF), "group:wansheng", "count")
    assert row["value"] == 7 and row["region_name"] == "万盛经开区"


def test_agreement_within_tolerance(tmp_path):
    wh = make_warehouse(tmp_path / "wh2")
    add_batch(wh, [
        {"region_code": "500110004", "indicator_id": "count", "period": "2023", "value": 3},
        {"region_code": "500110100", "indicator_id": "count", "period": "2023", "value": 4},
        # 7.1 vs 7: 0.1 <= 0.02 * 7 = 0.14
        {"region_code": "500110", "indicator_id": "count", "period": "2023", "value": 7.1},
    ], "2024-02-01")
    eng = Engine(tmp_path / "wh2", _defs())
    row = _row(eng.status("500110", as_of=AS_OF, indicator="count"), "500110", "count")
    assert row["disagreement"] is False and row["value"] == 7.1


@pytest.mark.parametrize("order", [(0.1, 0.2, 0.3), (0.3, 0.2, 0.1), (0.2, 0.3, 0.1)])
def test_sums_do_not_depend_on_the_order_rows_are_added(tmp_path, order):
    """In binary floating point (0.1 + 0.2) + 0.3 = 0.6000000000000001 but (0.3 + 0.2) + 0.1 = 0.6, and
    DuckDB's threads may add rows in any order: roll-ups must give the same bits every time (a re-made
    export must match the first one), so they are summed exactly."""
    wh = make_warehouse(tmp_path / "wh", registry())
    codes = ("500101", "500102", "500229")
    add_batch(wh, [{"region_code": code, "indicator_id": "count", "period": "2023", "value": value}
                   for code, value in zip(codes, order)], "2024-02-01")
    row = _row(Engine(tmp_path / "wh", _defs()).status("50", as_of=AS_OF), "50", "count")
    assert row["value"] == 0.6
