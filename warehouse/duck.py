"""One place that opens DuckDB connections for planwatch.

An in-memory DuckDB database spills to `./.tmp` of the current directory by default (a dashboard started in
the repository would write gigabytes there at national scale); planwatch's spill files go to the system's
temporary folder instead.

Hardening (docs/access.md): extensions are never installed or loaded on demand, and `seal(con, files)` - called
once a connection has registered what its query needs - lets it read exactly those files and nothing else:
`read_csv('/etc/passwd')`, `COPY ... TO`, `ATTACH`, `INSTALL` and `glob` fail with a permission error, and the
configuration is locked so the query cannot switch this off again (measured: DuckDB 2.0, spilling still works).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from pathlib import Path

import duckdb

SPILL_DIR = Path(tempfile.gettempdir()) / "planwatch-duckdb"


def connect() -> duckdb.DuckDBPyConnection:
    """A fresh in-memory connection (never share one between threads: open one per query)."""
    return duckdb.connect(config={
        "temp_directory": str(SPILL_DIR),
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
    })


def seal(con: duckdb.DuckDBPyConnection, files: Iterable[str | Path]) -> None:
    """From now on `con` reads only `files` (absolute paths), writes no file, and its settings are locked."""
    allowed = sorted({str(Path(f)) for f in files if f})
    con.execute("SET allowed_paths = $paths", {"paths": allowed})
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
