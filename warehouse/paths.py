"""Default locations, overridable by environment variables."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def default_defs_path() -> Path:
    """indicator_defs.yaml: $PLANWATCH_DEFS, else ./indicator_defs.yaml, else the one beside the package."""
    env = os.environ.get("PLANWATCH_DEFS")
    if env:
        return Path(env)
    local = Path.cwd() / "indicator_defs.yaml"
    return local if local.exists() else REPO_ROOT / "indicator_defs.yaml"


def default_warehouse_path() -> Path:
    """The warehouse folder: $PLANWATCH_WAREHOUSE, else the bundled sample warehouse."""
    env = os.environ.get("PLANWATCH_WAREHOUSE")
    return Path(env) if env else REPO_ROOT / "sample_data" / "warehouse"


def sample_regions_path() -> Path:
    """The compact region registry shipped for the sample (Chongqing, Sichuan, Yuxi down to townships)."""
    return REPO_ROOT / "sample_data" / "regions.parquet"
