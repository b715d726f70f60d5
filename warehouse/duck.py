"""One place that opens DuckDB connections for planwatch.

An in-memory DuckDB database spills to `./.tmp` of the current directory by default (a dashboard started in
the repository would write gigabytes there at national scale); planwatch's spill files go to the system's
temporary folder instead.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb

SPILL_DIR = Path(tempfile.gettempdir()) / "planwatch-duckdb"


def connect() -> duckdb.DuckDBPyConnection:
    """A fresh in-memory connection (never share one between threads: open one per query)."""
    return duckdb.connect(config={"temp_directory": str(SPILL_DIR)})
