"""The engine's SQL on Apache Spark (warehouse/spark.py): Spark in local mode gives the same `status`,
`children_status` and `rank` frames as DuckDB, on the sample warehouse and on a small national tier, both compacted
(Delta OPTIMIZE + versions table + roll-up events: the state the dashboard reads; DuckDB's roll-ups come from the
events there, Spark's from the rows, so the two paths are checked against each other too), plus one status on the
sample's uncompacted batch files (the latest-row window path).

Real Spark (pyspark + Debian's JRE, installed by `./dev.sh test`); one SparkSession for the whole test session
(~4 s to start). Set PLANWATCH_SKIP_SPARK=1 to skip on a machine without Java.
"""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from warehouse.engine import Engine
from warehouse.periods import parse_as_of

if os.environ.get("PLANWATCH_SKIP_SPARK") == "1":
    pytest.skip("PLANWATCH_SKIP_SPARK=1", allow_module_level=True)

AS_OF = parse_as_of("2025-06")


@pytest.fixture(scope="session")
def spark_session():
    from warehouse import spark

    return spark.session()  # shared by every test of the session (the module keeps one)


@pytest.fixture(scope="module")
def definitions():
    from warehouse.defs_loader import require_definitions
    from warehouse.paths import default_defs_path

    return require_definitions(default_defs_path())


@pytest.fixture(scope="module")
def tiny_tier(tmp_path_factory, definitions) -> Path:
    """Tier M restricted to Chengdu (5101), 24 monthly rounds, compacted (Delta OPTIMIZE + versions table)."""
    from bench import generate
    from warehouse.paths import sample_regions_path
    from warehouse.regions import RegionRegistry

    out = tmp_path_factory.mktemp("spark") / "M"
    generate.generate_tier(out, "M", definitions, RegionRegistry.load(sample_regions_path()),
                           limit_regions="5101", months=24)
    return out


def _same(duck: pl.DataFrame, spark: pl.DataFrame, keys: list[str]) -> None:
    assert duck.height > 0
    assert spark.columns == duck.columns
    assert_frame_equal(spark.sort(keys), duck.sort(keys), check_exact=False, rel_tol=1e-9, abs_tol=1e-12)


def _engines(wh: Path, definitions) -> tuple[Engine, Engine]:
    duck, spark = Engine(wh, definitions), Engine(wh, definitions, backend="spark")
    duck.cache.enabled = spark.cache.enabled = False
    return duck, spark


@pytest.fixture(scope="module")
def compacted_sample(tmp_path_factory, sample_warehouse) -> Path:
    import shutil

    from warehouse.storage import Warehouse

    out = tmp_path_factory.mktemp("spark-sample") / "wh"
    shutil.copytree(sample_warehouse, out)
    Warehouse(out).compact()
    return out


def test_sample_status_children_and_rank_equal(spark_session, compacted_sample, sample_warehouse, definitions):
    duck, spark = _engines(compacted_sample, definitions)
    _same(duck.status("group:wansheng", as_of=AS_OF), spark.status("group:wansheng", as_of=AS_OF), ["indicator_id"])
    _same(duck.children_status("51", as_of=AS_OF), spark.children_status("51", as_of=AS_OF),
          ["region_code", "indicator_id"])
    rank_duck, rank_spark = duck.rank("50", "composite", as_of=AS_OF), spark.rank("50", "composite", as_of=AS_OF)
    _same(rank_duck, rank_spark, [rank_duck.columns[0]])
    # uncompacted batch files: the window over every submission runs (no versions table)
    duck, spark = _engines(sample_warehouse, definitions)
    _same(duck.status("500110", as_of=AS_OF), spark.status("500110", as_of=AS_OF), ["indicator_id"])


def test_small_national_tier_equal(spark_session, tiny_tier, definitions):
    duck, spark = _engines(tiny_tier, definitions)
    assert duck.warehouse.state().files and (tiny_tier / "current" / "current.json").is_file()
    _same(duck.children_status("5101", as_of=AS_OF), spark.children_status("5101", as_of=AS_OF),
          ["region_code", "indicator_id"])
    rank_duck = duck.rank("5101", "composite", as_of=AS_OF)
    _same(rank_duck, spark.rank("5101", "composite", as_of=AS_OF), [rank_duck.columns[0]])


def test_annual_targets_equal(spark_session, tmp_path):
    """The annual-target steps (11a-11b: FILTER aggregates, arg_max/arg_min, pw_interp) give the same frame in
    Spark: the worked examples of docs/methodology.md §6a (tests/test_annual_path.py)."""
    from test_annual_path import annual_warehouse

    duck, spark = _engines(*annual_warehouse(tmp_path / "w"))
    as_of = parse_as_of("2024-02")
    frame = duck.descendants_status("50", as_of=as_of)
    assert frame.filter(pl.col("annual_path").is_not_null()).height >= 3  # 50 (cov, fb), 500101, 500110
    _same(frame, spark.descendants_status("50", as_of=as_of), ["region_code", "indicator_id"])


def test_env_selects_the_backend_and_bad_names_are_refused(monkeypatch, sample_warehouse, definitions):
    monkeypatch.setenv("PLANWATCH_ENGINE", "spark")
    assert Engine(sample_warehouse, definitions).backend == "spark"
    monkeypatch.setenv("PLANWATCH_ENGINE", "oracle")
    with pytest.raises(ValueError, match="unknown engine"):
        Engine(sample_warehouse, definitions)


def test_cli_engine_spark_without_pyspark_says_what_to_install(tmp_path, sample_warehouse):
    """A Python that cannot import pyspark (a stub package shadowing it) gets the install hint, no traceback."""
    import subprocess
    import sys

    stub = tmp_path / "stub" / "pyspark"
    stub.mkdir(parents=True)
    (stub / "__init__.py").write_text("raise ImportError('no pyspark here')\n")
    env = dict(os.environ, PYTHONPATH=str(stub.parent))
    proc = subprocess.run([sys.executable, "-m", "warehouse", "status", "--region", "51", "--as-of", "2025-06",
                           "--warehouse", str(sample_warehouse), "--engine", "spark"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2
    assert "pip install pyspark" in proc.stderr and "default-jre-headless" in proc.stderr
    assert "Traceback" not in proc.stderr
