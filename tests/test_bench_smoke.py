"""Benchmark smoke test: the generators write valid warehouses, and the three alternative implementations give
planwatch's overview answer (correctness, not timing). Real DuckDB over real Parquet, real ingest."""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import sys

import polars as pl
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # bench/ is a top-level folder, not installed

from bench import baselines, generate, run
from warehouse.engine import Engine
from warehouse.paths import default_defs_path, sample_regions_path
from warehouse.regions import RegionRegistry
from warehouse.storage import Warehouse, ingest_file


@pytest.fixture(scope="module")
def definitions():
    from warehouse.defs_loader import require_definitions

    return require_definitions(default_defs_path())


@pytest.fixture(scope="module")
def registry():
    return RegionRegistry.load(sample_regions_path())


@pytest.fixture(scope="module")
def tiny_m(tmp_path_factory, definitions, registry) -> Path:
    """Tier M restricted to Chengdu (5101): every county x every county-level indicator x 60 rounds."""
    out = tmp_path_factory.mktemp("bench") / "M"
    summary = generate.generate_tier(out, "M", definitions, registry, limit_regions="5101")
    assert summary["batches"] == 60
    return out


@pytest.fixture(scope="module")
def tiny_l(tmp_path_factory, definitions, registry) -> Path:
    """Tier L restricted to one county (510104, 锦江区): its townships."""
    out = tmp_path_factory.mktemp("bench") / "L"
    generate.generate_tier(out, "L", definitions, registry, limit_regions="510104", months=30)
    return out


def _agree(wh: Path, parent: str, definitions) -> int:
    engine = Engine(wh, definitions)
    as_of = run._as_of()
    answer = run.engine_answer(engine.children_status(parent, as_of=as_of))
    assert answer.height > 0
    task = run.overview_task(engine, parent, as_of)
    for name, fn in baselines.ALTERNATIVES.items():
        problems = run.compare(answer, fn(task))
        assert problems == [], f"{name} disagrees with planwatch: {problems[:3]}"
    return answer.height


def test_generated_batches_match_the_storage_schema(tiny_m, registry, definitions):
    wh = Warehouse(tiny_m)
    assert wh.check() == [] or all(p.severity == "warning" for p in wh.check())
    snap = wh.snapshot()
    counties = registry.frame.filter((pl.col("level") == "county") & pl.col("code").str.starts_with("5101")).height
    n_inds = generate.indicator_frame(definitions, "county").height
    assert snap.rows == counties * n_inds * 60
    for f in snap.files[:2]:
        assert generate.check_schema(f) == []
    # a round re-reports (revises) the latest ended period: one row per region x indicator x period per batch
    first = pl.read_parquet(snap.files).filter(pl.col("batch_id") == snap.batch_ids[0])
    assert first.select(pl.struct("region_code", "indicator_id", "period").is_unique().all()).item()
    assert set(first.filter(pl.col("indicator_id") == "service_facility_coverage")["period"]) == {"2020-Q4"}


def test_generated_tier_ends_with_the_versions_table_covering_every_batch(tiny_m):
    """The state after `planwatch warehouse compact`: the engine reads the versions table and no batch file."""
    from warehouse import current

    wh = Warehouse(tiny_m)
    assert generate.versions_ready(tiny_m)
    src = current.sources(wh, wh.snapshot())
    assert src.versions is not None and src.delta == []
    rows = pl.read_parquet(src.versions)
    # one row per (region, indicator, period, round): the generator never repeats a key within a round
    assert rows.height == wh.snapshot().rows
    assert not (tiny_m / ".lock").read_text().strip()  # the writer lock was released


def test_generation_is_deterministic(tmp_path, definitions, registry):
    a = generate.generate_tier(tmp_path / "a", "M", definitions, registry, months=2, limit_regions="510104")
    b = generate.generate_tier(tmp_path / "b", "M", definitions, registry, months=2, limit_regions="510104")
    assert a == b
    rows = lambda wh: pl.read_parquet(Warehouse(wh).snapshot().files).sort(pl.all())  # noqa: E731
    assert rows(tmp_path / "a").equals(rows(tmp_path / "b"))


def test_generated_rows_pass_ingest_unchanged(tmp_path, definitions, registry):
    """The same round, written as a submission CSV and ingested, stores the values the generator writes."""
    rnd = generate.Round(17, 2022, 6)
    src = tmp_path / "round.csv"
    n = generate.submission_file(src, registry, definitions, "township", rnd, region_prefix="510104")
    wh = Warehouse(tmp_path / "wh")
    wh.init(regions=sample_regions_path())
    result = ingest_file(wh, src, definitions, registry, now=datetime(2022, 7, 20, tzinfo=timezone.utc))
    assert result.status == "accepted", result.summary("en")
    assert result.rows_accepted == n and result.rows_rejected == 0
    stored = wh.snapshot().scan().collect()
    out = tmp_path / "gen"
    generate.generate_tier(out, "L", definitions, registry, months=18, limit_regions="510104")
    generated = Warehouse(out).snapshot().scan().collect().filter(pl.col("ingested_at").dt.month() == 7,
                                                                  pl.col("ingested_at").dt.year() == 2022)
    cols = ["region_code", "indicator_id", "period", "period_end", "value", "numerator", "denominator"]
    key = ["region_code", "indicator_id"]
    assert stored.select(cols).sort(key).equals(generated.select(cols).sort(key))


@pytest.mark.parametrize("parent", ["51", "5101"])
def test_alternatives_agree_with_planwatch_on_tier_m(tiny_m, definitions, parent):
    _agree(tiny_m, parent, definitions)


def test_alternatives_agree_with_planwatch_on_tier_l(tiny_l, definitions):
    assert _agree(tiny_l, "510104", definitions) > 10


@pytest.mark.parametrize("parent", ["51", "50"])
def test_alternatives_agree_with_planwatch_on_the_sample(sample_warehouse, definitions, parent):
    """The sample mixes levels, corrections and governing targets ending before the as-of date."""
    _agree(sample_warehouse, parent, definitions)


def test_compare_reports_a_wrong_value_and_a_wrong_period():
    good = pl.DataFrame({"region_code": ["5101", "5103"], "indicator_id": ["x", "x"], "period": ["2024", "2024"],
                         "value": [1.0, 2.0]})
    assert run.compare(good, good) == []
    bad = good.with_columns(value=pl.Series([1.0, 2.5]))
    assert len(run.compare(good, bad)) == 1
    late = good.with_columns(period=pl.Series(["2023", "2024"]))
    assert "2023" in run.compare(good, late)[0]
    assert len(run.compare(good, good.head(1))) == 1


def test_round_periods_are_the_latest_ended():
    r = generate.Round(0, 2021, 1)
    assert r.periods() == {"monthly": ("2021-01", date(2021, 1, 31)), "quarterly": ("2020-Q4", date(2020, 12, 31)),
                           "annual": ("2020", date(2020, 12, 31))}
    r = generate.Round(5, 2021, 6)
    assert r.periods()["quarterly"] == ("2021-Q2", date(2021, 6, 30))
    assert generate.Round(11, 2021, 12).periods()["annual"] == ("2021", date(2021, 12, 31))


def test_run_rejects_an_unknown_tier(capsys):
    assert run.main(["--tiers", "X"]) == 2
    assert "unknown tier" in capsys.readouterr().err


def test_versions_table_built_by_code_ranges_equals_one_query(sample_warehouse, tmp_path):
    """current.rebuild works one region-code range at a time (bounded memory at L); the rows and their order
    must be those of the single window query over everything."""
    import duckdb

    from warehouse import current

    wh = Warehouse(sample_warehouse)
    files = wh.snapshot().files
    target = tmp_path / "versions.parquet"
    rows = current._write_versions(wh, files, target)
    ranged = pl.read_parquet(target)
    assert rows == ranged.height > 0
    assert ranged["region_code"].str.slice(0, 2).n_unique() >= 3  # several ranges were written
    key = ", ".join(current.KEY)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    reference = con.sql(f"""
        WITH kept AS (
            SELECT {", ".join(current.COLUMNS)} FROM read_parquet({files!r}, union_by_name = true)
            QUALIFY row_number() OVER (PARTITION BY {key}, ingested_at
                                       ORDER BY submitted_at DESC NULLS LAST, source_row DESC, batch_id DESC) = 1)
        SELECT *, lead(ingested_at) OVER (PARTITION BY {key} ORDER BY ingested_at) AS superseded_at
        FROM kept ORDER BY {key}, ingested_at""").pl()
    con.close()
    assert ranged.equals(reference)


def test_probe_peak_rss_is_its_own_not_the_parents():
    """The cold/RSS probe runs in a child process; a parent that has grown must not inflate the child's figure
    (getrusage's ru_maxrss survives execve on Linux, VmHWM does not)."""
    import subprocess

    grown = bytearray(300 * 2**20)
    grown[:: 4096] = b"\x01" * len(grown[:: 4096])  # touch every page: the parent's RSS is now > 300 MB
    code = "from bench.run import peak_rss_mb; print(peak_rss_mb())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=run.REPO, env={"PYTHONPATH": str(run.REPO)})
    assert float(out.stdout) < 200, out.stdout
    del grown


def test_limit_scan_counts_the_scope_rows_in_force(tiny_m, definitions):
    """The benchmark's limit row scans exactly the scope's rows in force as of the month in the versions table."""
    import json as _json

    from bench.run import limit_scan
    from warehouse.engine import as_of_date
    from warehouse.periods import parse_as_of

    as_of = parse_as_of("2024-06")
    pointer = _json.loads((tiny_m / "current" / "current.json").read_text())
    naive = as_of.replace(tzinfo=None)
    inds = [i.id for i in definitions.indicators]
    expected = (pl.scan_parquet(tiny_m / pointer["file"])
                .filter(pl.col("region_code").str.starts_with("5101") & pl.col("indicator_id").is_in(inds)
                        & (pl.col("ingested_at") <= naive)
                        & (pl.col("superseded_at").is_null() | (pl.col("superseded_at") > naive))
                        & (pl.col("period_end") <= as_of_date(as_of)))
                .select(pl.len()).collect().item())
    assert expected > 0
    assert limit_scan(tiny_m, "5101", inds, as_of, as_of_date(as_of)) == expected
