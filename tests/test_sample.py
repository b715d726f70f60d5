"""The synthetic sample warehouse: deterministic, realistic shape, ingested through the real path."""

from __future__ import annotations

import json
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest
from typer.testing import CliRunner

from sample_settings import SAMPLE_TODAY
from warehouse.cli import _register, app
from warehouse.periods import parse_period
from warehouse.sample import SampleError, generate_sample
from warehouse.storage import Warehouse


def frame(wh: Warehouse) -> pl.DataFrame:
    con = duckdb.connect()
    try:
        wh.snapshot().register(con)
        return con.sql("SELECT * FROM submissions").pl()
    finally:
        con.close()


@pytest.fixture(scope="module")
def small_sample(tmp_path_factory, small_definitions) -> Warehouse:
    out = tmp_path_factory.mktemp("small") / "wh"
    generate_sample(out, seed=7, today=SAMPLE_TODAY, definitions=small_definitions)
    return Warehouse(out)


def test_same_seed_same_warehouse_other_seed_other_values(small_sample, tmp_path, small_definitions):
    again = Warehouse(tmp_path / "again")
    generate_sample(again.path, seed=7, today=SAMPLE_TODAY, definitions=small_definitions)
    assert again.manifest() == small_sample.manifest()
    for entry in small_sample.manifest()["batches"]:
        assert (again.path / entry["file"]).read_bytes() == (small_sample.path / entry["file"]).read_bytes()
    other = Warehouse(tmp_path / "other")
    generate_sample(other.path, seed=8, today=SAMPLE_TODAY, definitions=small_definitions)
    a, b = frame(small_sample), frame(other)
    assert a["value"].sum() != b["value"].sum()


def test_regions_periods_and_bounds(small_sample, small_definitions):
    df = frame(small_sample)
    codes = set(df["region_code"].unique())
    assert "CN" in codes
    assert sum(c.startswith("51") and len(c) == 4 for c in codes) == 21  # Sichuan's cities and prefectures
    assert sum(c.startswith("5304") and len(c) == 6 for c in codes) == 9  # Yuxi's counties
    assert sum(c.startswith("50") and len(c) == 6 for c in codes) == 38  # Chongqing's districts and counties
    wansheng = set(small_definitions.group("wansheng").members)
    assert wansheng <= codes  # its townships
    assert not any(len(c) == 9 and c not in wansheng for c in codes)
    # nothing after today; annual data up to the last complete year, monthly up to the last complete month
    assert df["period_end"].max() < SAMPLE_TODAY
    annual = df.filter(pl.col("indicator_id") == "social_workers")
    assert annual["period"].max() == "2024" and annual["period"].min() == "2020"
    monthly = df.filter(pl.col("indicator_id") == "service_visits")
    assert monthly["period"].max() == "2025-10"
    # Wansheng's plan starts from 2015: its townships have data from the baseline year
    ws = df.filter(pl.col("region_code").is_in(list(wansheng)) & (pl.col("indicator_id") == "facility_area_per_100hh"))
    assert ws["period"].min() == "2015"
    # every row's period_end is the period's end; values respect bounds
    assert all(parse_period(p).end == e for p, e in df.select("period", "period_end").unique().iter_rows())
    for ind in small_definitions.indicators:
        values = df.filter(pl.col("indicator_id") == ind.id)["value"]
        if ind.bounds.min is not None:
            assert values.min() >= ind.bounds.min, ind.id
        if ind.bounds.max is not None:
            assert values.max() <= ind.bounds.max, ind.id


def test_ratio_rows_carry_numerator_and_denominator(small_sample):
    df = frame(small_sample)
    ratio = df.filter(pl.col("indicator_id").is_in(["facility_area_per_100hh", "urban_service_coverage"]))
    assert ratio["numerator"].null_count() == 0 and ratio["denominator"].null_count() == 0
    assert (ratio["value"] - ratio["numerator"] / ratio["denominator"] * 100).abs().max() < 1e-9
    cov = df.filter(pl.col("indicator_id") == "urban_service_coverage")
    assert (cov["numerator"] <= cov["denominator"]).all()
    # the coverage denominator counts urban communities: Chongqing's 万州区 has a few hundred, not millions
    wanzhou = cov.filter(pl.col("region_code") == "500101")["denominator"]
    assert 10 <= wanzhou.min() and wanzhou.max() <= 2000
    weighted = df.filter(pl.col("indicator_id") == "satisfaction")
    assert weighted["denominator"].null_count() == 0


def test_trajectories_late_missing_corrections_rejections(small_sample, small_definitions):
    df = frame(small_sample)
    latest = df.sort("ingested_at").group_by("region_code", "indicator_id", "period").last()
    area = latest.filter((pl.col("indicator_id") == "facility_area_per_100hh") & pl.col("region_code").str.len_chars().eq(6)
                         & pl.col("region_code").str.starts_with("50"))
    change = (
        area.sort("period").group_by("region_code")
        .agg(first=pl.col("value").first(), last=pl.col("value").last())
        .with_columns(gain=(pl.col("last") - pl.col("first")) / 4)  # per-year gain 2020 -> 2024 (plan: 25 -> 30 in 5 years)
    )
    on_track = change.filter(pl.col("gain") >= 0.85).height
    lagging = change.filter((pl.col("gain") < 0.85) & (pl.col("gain") > 0)).height
    assert on_track > lagging > 0 and on_track >= 0.5 * change.height
    # a few regress somewhere: the latest annual value is below the one two years earlier
    annual = latest.filter(pl.col("period").str.len_chars() == 4).sort("period")
    drops = annual.group_by("region_code", "indicator_id").agg(v=pl.col("value")).filter(
        pl.col("v").list.len() >= 3).with_columns(d=pl.col("v").list.get(-1) < pl.col("v").list.get(-3) * 0.99)
    assert drops["d"].sum() >= 3
    # late submissions: sent after the due date
    due = {i.id: i.due_days for i in small_definitions.indicators}
    late = df.with_columns(due=pl.col("indicator_id").replace_strict(due)).filter(
        pl.col("submitted_at").dt.date() > pl.col("period_end") + pl.duration(days=pl.col("due")))
    assert 0.02 * df.height < late.height < 0.3 * df.height
    # corrections: some keys were submitted twice; history keeps both
    counts = df.group_by("region_code", "indicator_id", "period").len()
    assert 3 <= counts.filter(pl.col("len") > 1).height <= 30
    # rejected files are in the log with their rejection CSV
    log = small_sample.log_entries()
    rejected = log.filter(pl.col("status") == "rejected")
    assert rejected.height == 2
    assert all((small_sample.path / r).exists() for r in rejected["rejection_file"])
    assert 10 < log.filter(pl.col("status") == "accepted").height < 200
    assert small_sample.check() == []


def test_shipped_definitions_sample(sample_warehouse):
    """The shared fixture: real indicator_defs.yaml, seed 7, today 2025-11-20."""
    from warehouse.defs_loader import require_definitions

    wh = Warehouse(sample_warehouse)
    assert wh.check() == []
    manifest = wh.manifest()
    assert 20 < len(manifest["batches"]) < 200
    df = frame(wh)
    assert df["period_end"].max() < SAMPLE_TODAY
    definitions = require_definitions()
    used = {t.indicator for p in definitions.plans for t in p.targets}
    present = set(df["indicator_id"].unique())
    # every indicator of every plan has data (province-only ones from 50 / 51 / 5304 themselves)
    assert used - present == set()
    reporters_level = {"50": "county", "51": "city", "5304": "county"}
    own = df.filter(pl.col("region_code").is_in(list(reporters_level))).select("region_code", "indicator_id").unique()
    assert own.height > 0
    # besides the national plan's indicators (every province submits its compiled figures for those; see
    # test_every_province_reports_and_its_own_figure_is_its_reporters_sum) only what the reporters cannot report
    from warehouse.sample_country import national_indicators

    national = set(national_indicators(definitions))
    assert own.filter(pl.col("indicator_id").is_in(list(national)))["region_code"].unique().sort().to_list() == ["50", "51"]
    for code, ind_id in own.filter(~pl.col("indicator_id").is_in(list(national))).iter_rows():
        assert reporters_level[code] not in {lv.value for lv in definitions.indicator(ind_id).reported_at}
    assert wh.log_entries().filter(pl.col("status") == "rejected").height == 2
    assert (sample_warehouse / "regions.parquet").exists()


def test_generation_is_fast_and_refuses_a_non_empty_folder(tmp_path, small_definitions):
    from warehouse.defs_loader import require_definitions

    start = time.perf_counter()
    generate_sample(tmp_path / "a", seed=3, today=date(2026, 1, 15), definitions=require_definitions())
    assert time.perf_counter() - start < 60
    with pytest.raises(SampleError, match="not empty"):
        generate_sample(tmp_path / "a", seed=3, today=date(2026, 1, 15), definitions=small_definitions)
    _register()
    result = CliRunner().invoke(app, ["sample", "--out", str(tmp_path / "a")])
    assert result.exit_code == 1 and "not empty" in result.output
    result = CliRunner().invoke(app, ["sample", "--out", str(tmp_path / "b"), "--today", "2025-13-01"])
    assert result.exit_code == 1 and "not a date" in result.output


def test_compacting_the_sample_changes_no_result(small_sample, tmp_path):
    import shutil

    from warehouse.periods import parse_as_of

    copy = Warehouse(tmp_path / "copy")
    shutil.copytree(small_sample.path, copy.path)
    latest_sql = """SELECT region_code, indicator_id, period, value FROM (
        SELECT *, row_number() OVER (PARTITION BY region_code, indicator_id, period
                                     ORDER BY ingested_at DESC, submitted_at DESC, source_row DESC) rn
        FROM submissions) WHERE rn = 1 ORDER BY ALL"""

    def results(wh: Warehouse) -> list:
        out = []
        for as_of in [None, "2016-06", "2020-12", "2023-03", "2025-06"]:
            con = duckdb.connect()
            snap = wh.snapshot(parse_as_of(as_of))
            snap.register(con)
            count, total = con.execute("SELECT count(*), sum(value) FROM submissions").fetchall()[0]
            # the float sum depends on row order, which compaction changes: compare it with a tolerance
            out.append((snap.batch_ids, con.execute(latest_sql).fetchall(), count, pytest.approx(total, rel=1e-12)))
            con.close()
        return out

    before = results(copy)
    assert copy.compact()["merged_files"] == len(small_sample.manifest()["batches"])
    assert len(copy.manifest()["batches"]) == 1
    assert results(copy) == before
    assert copy.check() == []


def test_every_province_reports_and_its_own_figure_is_its_reporters_sum(sample_warehouse):
    """The country part (warehouse/sample_country.py): cities of every province report the national
    indicators, each province submits its own figure = numerators and denominators of its reporters summed."""
    from warehouse import sample_country
    from warehouse.defs_loader import require_definitions
    from warehouse.regions import RegionRegistry

    definitions = require_definitions()
    registry = RegionRegistry.load(sample_warehouse / "regions.parquet")
    con = duckdb.connect()
    Warehouse(sample_warehouse).snapshot().register(con)
    first = con.sql("""SELECT * FROM submissions QUALIFY row_number() OVER (
        PARTITION BY region_code, indicator_id, period ORDER BY ingested_at, source_row) = 1""").pl()
    con.close()
    national = set(sample_country.national_indicators(definitions))
    provinces = registry.frame.filter(pl.col("level") == "province")["code"].to_list()
    assert len(provinces) == 31
    own = first.filter(pl.col("region_code").is_in(provinces) & pl.col("indicator_id").is_in(list(national)))
    assert set(own["region_code"].unique()) == set(provinces)
    # reporters below every province
    below = first.filter(pl.col("indicator_id").is_in(list(national)) & (pl.col("region_code").str.len_chars() > 2))
    assert set(below["region_code"].str.slice(0, 2).unique()) == set(provinces)
    # hand-checkable: 河北省 (13) 2023 facility floor area per 100 households = Σ area / Σ households × 100
    ind = "service_area_per_100_households"
    cities = first.filter((pl.col("indicator_id") == ind) & (pl.col("period") == "2023")
                          & (pl.col("region_code").str.len_chars() == 4) & pl.col("region_code").str.starts_with("13"))
    n_cities = registry.frame.filter(pl.col("parent") == "13").height
    assert n_cities - 1 <= cities.height <= n_cities  # 11 cities; one may have missed its 2023 report
    hebei = first.filter((pl.col("indicator_id") == ind) & (pl.col("period") == "2023") & (pl.col("region_code") == "13"))
    assert hebei.height == 1
    assert hebei["numerator"][0] == pytest.approx(round(cities["numerator"].sum(), 2), abs=0.005)
    assert hebei["denominator"][0] == pytest.approx(round(cities["denominator"].sum(), 2), abs=0.005)
    assert hebei["value"][0] == pytest.approx(hebei["numerator"][0] / hebei["denominator"][0] * 100, rel=1e-12)
    # the rows carry each province's civil affairs department as 填报人
    assert set(first.filter(pl.col("region_code") == "13")["submitted_by"].unique()) == {"河北省民政厅"}
    assert set(first.filter(pl.col("region_code") == "12")["submitted_by"].unique()) == {"天津市民政局"}


def test_country_gaps_are_realistic(sample_warehouse):
    from warehouse import sample_country
    from warehouse.regions import RegionRegistry

    late, silent, forgetful = sample_country.gaps(RegionRegistry.load(sample_warehouse / "regions.parquet"), 7)
    assert len(late) == 3 and len(silent) == 2 and len(forgetful) == 6 and not late & silent
    df = frame(Warehouse(sample_warehouse))
    quarterly = df.filter(pl.col("period").str.contains("Q") & (pl.col("region_code").str.len_chars() == 2))
    last = quarterly.group_by("region_code").agg(pl.col("period").max())
    last = dict(last.iter_rows())
    stop = max(v for k, v in last.items() if k not in silent)
    for code in silent:  # no quarterly figures from the last quarter on
        assert last[code] < stop
    annual = df.filter(pl.col("period").str.len_chars() == 4)
    for code in forgetful:  # exactly one year its province reported but the city did not
        mine = set(annual.filter(pl.col("region_code") == code)["period"])
        province = set(annual.filter(pl.col("region_code") == code[:2])["period"])
        assert len(mine) >= 3 and len(province - mine) == 1, (code, sorted(province - mine))
