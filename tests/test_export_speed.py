"""Batched engine calls used by the export (issue 7) give exactly the per-call answers. Real sample warehouse,
real DuckDB; two separate Engine objects so a cached result never answers its own comparison."""

from __future__ import annotations

import polars as pl
import pytest

from warehouse.engine import Engine
from warehouse.periods import parse_as_of
from warehouse.paths import default_defs_path


@pytest.fixture(scope="module")
def defs():
    from warehouse.defs_loader import require_definitions

    return require_definitions(default_defs_path())


@pytest.mark.parametrize("region,plan_id,month", [("50", "chongqing_2021", "2025-06"), ("5001", None, "2024-12")])
def test_trajectories_equal_one_trajectory_per_indicator(sample_warehouse, defs, region, plan_id, month):
    as_of = parse_as_of(month)
    batched = Engine(sample_warehouse, defs)
    single = Engine(sample_warehouse, defs)
    ids = [i.id for i in defs.indicators][::4]  # a spread of frequencies and rules; every one costs two queries
    many = batched.trajectories(region, ids, as_of=as_of, plan_id=plan_id)
    assert list(many) == ids
    with_expected = 0
    for ind in ids:
        one = single.trajectory(region, ind, as_of=as_of, plan_id=plan_id)
        assert many[ind].equals(one), f"{region} {ind}: batched trajectory differs"
        with_expected += one["expected"].is_not_null().any()
    # the comparison covers real lines, not only empty frames
    assert with_expected > 0
    assert sum(f.height for f in many.values()) > 0


def test_trajectories_of_no_indicator_and_an_unknown_one(sample_warehouse, defs):
    from warehouse.engine import EngineError

    engine = Engine(sample_warehouse, defs)
    assert engine.trajectories("50", []) == {}
    with pytest.raises(EngineError, match="unknown indicator"):
        engine.trajectories("50", ["no_such_indicator"])
