"""Shared fixtures.

`sample_warehouse`: the synthetic sample warehouse generated once per test session into a tmp dir, with
seed SAMPLE_SEED and today SAMPLE_TODAY, from the shipped indicator_defs.yaml (the same thing
`planwatch sample --out DIR --seed 7 --today 2025-11-20` writes). Use it as the warehouse folder, e.g.
`monkeypatch.setenv("PLANWATCH_WAREHOUSE", str(sample_warehouse))`. Treat it as read-only: it is shared.

`small_definitions`: a small, hand-written Definitions (national, Chongqing, Wansheng, Sichuan plans; five
indicators covering ratio, sum, per_community, weighted_mean and a monthly one) for tests that must not
depend on the shipped YAML.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from warehouse.definitions import Definitions

from sample_settings import SAMPLE_SEED, SAMPLE_TODAY, SMALL_DEFS_YAML, small_definitions_model  # noqa: F401


@pytest.fixture(scope="session")
def small_definitions() -> Definitions:
    return small_definitions_model()


@pytest.fixture(scope="session")
def sample_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample warehouse (seed 7, today 2025-11-20) from the shipped definitions; read-only, shared."""
    from warehouse.defs_loader import require_definitions
    from warehouse.paths import default_defs_path
    from warehouse.sample import generate_sample

    out = tmp_path_factory.mktemp("sample") / "warehouse"
    definitions = require_definitions(default_defs_path())
    generate_sample(out, seed=SAMPLE_SEED, today=SAMPLE_TODAY, definitions=definitions)
    return out
