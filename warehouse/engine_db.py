"""The DuckDB database an Engine's queries run in: one sealed in-memory database per warehouse state, a cursor per
query (issue 14: opening a database, creating the macros and sealing it was ~45 ms of CPU per query, and several
times that in wall time on a loaded machine, for an overview whose scan needs ~25 ms at tier M).

The database is created for one state of the warehouse (table version + versions table file), with what every
query shares set once: TimeZone UTC, the join-side rule of the `values_ctes` queries (warehouse/engine.py
`_connect`), the `pw_*` macros (warehouse/sql.py MACROS), and the seal (warehouse/duck.py): it reads exactly the
data files of that table version and its versions table, writes nothing, and its settings are locked. Each query
takes a cursor (`cursor()`: a new connection to the same database, FIELD-NOTES: never share a connection between
threads), registers its own relations and temp view there, and closes it. A newer state gets a new database; the
old one lives on while a cursor of it is still running (a cursor keeps the database open; it is never closed
explicitly, which would close its running cursors).
"""

from __future__ import annotations

import threading
import warnings

import duckdb
import polars as pl

from warehouse import current, duck
from warehouse import sql as sqlgen

# the macros as persistent objects of the in-memory database (TEMP objects are private to one connection; the
# cursors must see them). The text is otherwise sql.MACROS, which the Spark path reads too.
BASE_MACROS = sqlgen.MACROS.replace("CREATE OR REPLACE TEMP MACRO", "CREATE OR REPLACE MACRO")


class QueryDatabase:
    """Hands out cursors of a sealed database for a warehouse state (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple | None = None
        self._db: duckdb.DuckDBPyConnection | None = None

    def cursor(self, key: tuple, files: list[str], setup: str | None = None) -> duckdb.DuckDBPyConnection:
        """A new connection to the database of state `key`, which may read `files` (every file of that state);
        `setup` (SQL run once when the database is created, before the seal) must depend on `key` alone."""
        with self._lock:
            if self._db is None or self._key != key:
                self._db, self._key = _open(files, setup), key  # the previous database closes with its last cursor
            return self._db.cursor()


def snapshot_cursor(db: QueryDatabase, key: tuple, files: list[str], src: current.Sources):
    """A cursor of `db` whose `snapshot_rows` view reads `src` (warehouse/current.py `view_sql`).

    The view over the versions table alone is created once with the database (its file is part of `key`): binding
    it per cursor was 4 of the ~6 ms of a query's set-up. A snapshot that also reads data files the table does not
    cover (which ones depends on the as-of time, not only on `key`) gets its own TEMP view, which takes precedence
    over the database's on that cursor."""
    base = current.view_sql(current.Sources(src.versions, []), temp=False) if src.versions is not None else None
    con = db.cursor(key, files, base)
    if base is None or src.delta:
        con.execute(current.view_sql(src))
    return con


def _open(files: list[str], setup: str | None = None) -> duckdb.DuckDBPyConnection:
    db = duck.connect()
    try:
        db.execute("SET GLOBAL TimeZone = 'UTC'")  # TIMESTAMP columns hold UTC; keep any TIMESTAMPTZ cast in UTC
    except duckdb.Error:
        pass
    # the values_ctes queries keep their join sides as written (engine._connect); the other queries (history)
    # have no join for it to matter
    db.execute("SET disabled_optimizers = 'build_side_probe_side'")
    db.execute(BASE_MACROS)
    if setup is not None:
        db.execute(setup)
    duck.seal(db, files)
    return db


# `frame` takes Arrow from an execute() result on purpose (below); DuckDB warns that this copies the rows, which for
# the engine's results (at most a few thousand rows) is negligible. Set once at import (not per call: warning
# filters are process-wide and catch_warnings is not thread-safe).
warnings.filterwarnings("ignore", message="Arrow output on a DB-API result makes an extra copy", category=UserWarning)


def frame(con: duckdb.DuckDBPyConnection, query: str, params: dict) -> pl.DataFrame:
    """Run one statement with bound values and return its rows as a polars frame.

    `con.execute` parses, binds and runs the statement once. `con.sql(...).pl()` (the relation API) parses and
    binds it once more to learn its schema before running it: for the engine's ~18 kB status statement that was
    ~30 ms of CPU per query at tier M (~10 % of an overview; cProfile: `_seam.bind`, `prepare_script_parsed`,
    `_markers`). Same rows and types (Arrow either way)."""
    return pl.from_arrow(con.execute(query, params).to_arrow_table())
