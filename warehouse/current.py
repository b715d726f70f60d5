"""The versions table: a compact copy of the batch rows the engine can ever pick, sorted by region code (issue 7).

The engine's value of a (region, indicator, period) as of a time is the row ingested last at or before that time,
ties broken by submitted_at, source_row and batch_id (warehouse/sql.py, step 2). Rows of one key ingested at the
same instant are visible together, so only the first of them in that order can ever be picked. The table keeps
that row per (region, indicator, period, ingested_at) and adds `superseded_at`: when the key's next kept row was
ingested (NULL for the newest). The row in force as of T is then the one with ingested_at <= T < superseded_at.

Files (written under the writer lock, by compaction; readers never need the lock):

    <wh>/current/versions-<table version>.parquet   sorted by region_code, indicator_id, period, ingested_at
    <wh>/current/rollups-<table version>.parquet    the roll-up events of the table (warehouse/rollup_events.py)
    <wh>/current/current.json                       {"file", "table_version", "table_id", "files" (the Delta data
                                                     files it covers), "batch_ids", "rows", "built_at", "rollups"
                                                     ({"file", "registry", "rows", "levels", "unusable"} or null)}

Readers (`sources`) take the table for the data files it covers and read the snapshot's other data files (added
by later commits) directly ("delta"); the engine keeps its latest-row window over the union, so a table that is
behind the Delta table, or absent, gives the same answers, only slower. (A compaction that ran without a
rebuild would make the covered rows appear twice, once in each source: the window then picks the same row.)
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from warehouse import duck
from warehouse.periods import utc_now

FOLDER = "current"
POINTER = "current.json"
ROW_GROUP_SIZE = 122_880
MEMORY_LIMIT = "4GB"  # DuckDB's limit for the rebuild (it spills to <wh>/.tmp/spill beyond it)

_ROLLUPS_NAME = re.compile(r"current/rollups-[0-9]{1,12}\.parquet")  # the pointer is read like any stored value
_VERSIONS_NAME = re.compile(r"current/versions-[0-9]{1,12}\.parquet")

KEY = ('"region_code"', '"indicator_id"', '"period"')
COLUMNS = ('"region_code"', '"indicator_id"', '"period"', '"period_end"', '"value"', '"numerator"', '"denominator"',
           '"submitted_at"', '"ingested_at"', '"source_row"', '"batch_id"')


@dataclass(frozen=True)
class Sources:
    """What a reader scans for one snapshot: the versions file (or None) and the batch files it does not cover."""

    versions: str | None
    delta: list[str]
    rollups: dict | None = None  # current.json's "rollups" entry, "file" an absolute path (rollup_events.py)


def _quote(path: str) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def rebuild(wh) -> dict:
    """Write the versions table for the table's current version (call under the writer lock).
    Returns the pointer written. Older tables are removed except the previous one (a reader may hold it)."""
    state = wh.state()
    folder = wh.path / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    files = [f.path for f in state.files]
    batch_ids = sorted(b["batch_id"] for b in state.batches)
    name = f"versions-{int(state.version)}.parquet"
    tmp = wh.path / ".tmp" / name
    tmp.parent.mkdir(parents=True, exist_ok=True)
    rows = _write_versions(wh, files, tmp) if files else 0
    rollups = None
    if files:
        os.replace(tmp, folder / name)
        rollups = _write_rollups(wh, folder / name, int(state.version))
    pointer = {
        "file": f"{FOLDER}/{name}" if files else None,
        "table_version": int(state.version),
        "table_id": state.table_id,
        "files": sorted(f.name for f in state.files),
        "batch_ids": batch_ids,
        "rows": int(rows),
        "built_at": utc_now().isoformat(),
        "rollups": rollups,
    }
    previous = _read_pointer(wh.path)
    wh._write_json_atomic(folder / POINTER, pointer)
    keep = {pointer["file"], (previous or {}).get("file"), _rollups_file(pointer), _rollups_file(previous)}
    for path in [*folder.glob("versions-*.parquet"), *folder.glob("rollups-*.parquet")]:
        if f"{FOLDER}/{path.name}" not in keep:
            with contextlib.suppress(OSError):
                path.unlink()
    return pointer


def add_rollups(wh) -> dict | None:
    """Build the roll-up events of the versions table in place (call under the writer lock): for a table built
    before the events existed (the engine reads the rows until then). Returns the "rollups" entry."""
    pointer = _read_pointer(wh.path)
    if not pointer or not pointer.get("file"):
        return None
    pointer["rollups"] = _write_rollups(wh, wh.path / pointer["file"], int(pointer["table_version"]))
    wh._write_json_atomic(wh.path / FOLDER / POINTER, pointer)
    return pointer["rollups"]


def _rollups_file(pointer: dict | None) -> str | None:
    return ((pointer or {}).get("rollups") or {}).get("file")


def _write_rollups(wh, versions: Path, version: int) -> dict | None:
    """The roll-up events of the versions table (warehouse/rollup_events.py), or None without a region registry."""
    from warehouse import rollup_events

    name = f"rollups-{version}.parquet"
    tmp = wh.path / ".tmp" / name
    entry = rollup_events.build(versions, tmp, wh.path / "regions.parquet", wh.path / ".tmp" / "spill")
    if entry is None:
        return None
    os.replace(tmp, wh.path / FOLDER / name)
    return {"file": f"{FOLDER}/{name}", **entry}


def _write_versions(wh, files: list[str], target: Path) -> int:
    """Write the versions table of `files` to `target`; returns its rows.

    The windows partition by (region, indicator, period), so the work splits by region code: the table is built
    one range of codes at a time (one range per two-character prefix, in code order) and the ranges are appended
    to one Parquet file. Memory stays bounded by the largest range (a province), not the whole warehouse (at
    161M rows a single query took over 20 GB or spilled tens of GB), and each range's read is pruned by the
    batch files' region_code statistics."""
    cols = ", ".join(COLUMNS)
    key = ", ".join(KEY)
    source = f"read_parquet([{', '.join(_quote(f) for f in files)}], union_by_name = true)"
    query = f"""
        WITH kept AS (
            SELECT {cols} FROM {source}
            WHERE "region_code" >= $low AND ($high IS NULL OR "region_code" < $high)
            QUALIFY row_number() OVER (
                PARTITION BY {key}, "ingested_at"
                ORDER BY "submitted_at" DESC NULLS LAST, "source_row" DESC, "batch_id" DESC) = 1
        )
        SELECT *, lead("ingested_at") OVER (PARTITION BY {key} ORDER BY "ingested_at") AS superseded_at
        FROM kept
        ORDER BY {key}, "ingested_at"
    """
    con = build_connection(wh.path / ".tmp" / "spill")
    out = ParquetAppender(target)
    try:
        for low, high in code_ranges(con, source) or [("", None)]:  # no rows: one empty range still writes the schema
            out.write(con.sql(query, params={"low": low, "high": high}).to_arrow_table())
    finally:
        out.close()
        con.close()
    return out.rows


# ------------------------------------------------------------ building derived tables (also rollup_events.py)
def build_connection(spill: Path):
    """A DuckDB connection for building a derived table: UTC, insertion order kept, MEMORY_LIMIT, spilling to
    `spill` beyond it."""
    con = duck.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET preserve_insertion_order = true")
    con.execute("SET enable_progress_bar = false")
    con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    con.execute(f"SET temp_directory = {_quote(spill)}")
    return con


def code_ranges(con, source: str) -> list[tuple[str, str | None]]:
    """[low, high) region-code ranges, one per two-character prefix of `source`'s codes, in code order: a derived
    table is built a range (a province) at a time, so memory is bounded by the largest one."""
    prefixes = [r[0] for r in con.execute(
        f'SELECT DISTINCT left("region_code", 2) AS p FROM {source} ORDER BY p').fetchall()]
    return [(low, prefixes[i + 1] if i + 1 < len(prefixes) else None) for i, low in enumerate(prefixes)]


class ParquetAppender:
    """Arrow tables appended to one zstd Parquet file (the first table's schema; later ones cast to it)."""

    def __init__(self, target: Path):
        self.target, self.rows, self._writer = target, 0, None

    @property
    def started(self) -> bool:
        return self._writer is not None

    def write(self, table) -> None:
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.target, table.schema, compression="zstd")
        else:
            table = table.cast(self._writer.schema)
        self._writer.write_table(table, row_group_size=ROW_GROUP_SIZE)
        self.rows += table.num_rows

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


def _read_pointer(path: Path) -> dict | None:
    try:
        with open(path / FOLDER / POINTER, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


def sources(wh, snapshot) -> Sources:
    """The files to scan for `snapshot`: the versions table when it is usable, plus the snapshot's data files it
    does not cover (added after it was built); without a usable table, the snapshot's files."""
    plain = Sources(None, list(snapshot.files))
    pointer = _read_pointer(wh.path)
    if not pointer or not pointer.get("file") or not snapshot.files:
        return plain
    state = wh.state(snapshot.version)
    if pointer.get("table_id") != state.table_id or int(pointer.get("table_version", -1)) > snapshot.version:
        return plain  # a table built for another table, or for a version newer than the snapshot
    if not isinstance(pointer["file"], str) or not _VERSIONS_NAME.fullmatch(pointer["file"]):
        return plain  # the pointer is read like any stored value: only a file of this folder
    versions = wh.path / pointer["file"]
    if not versions.is_file():
        return plain
    covered, visible = set(pointer.get("files") or []), set(snapshot.files)
    delta = [f.path for f in state.files if f.name not in covered and f.path in visible]
    rollups = pointer.get("rollups") if isinstance(pointer.get("rollups"), dict) else None
    name = rollups.get("file") if rollups else None
    if isinstance(name, str) and _ROLLUPS_NAME.fullmatch(name) and not delta and (wh.path / name).is_file():
        rollups = {**rollups, "file": str((wh.path / rollups["file"]).resolve())}
    else:
        rollups = None  # batches after the table are not in the events: the rows answer
    return Sources(str(versions.resolve()), delta, rollups)


def view_sql(src: Sources, name: str = "snapshot_rows", temp: bool = True) -> str:
    """CREATE VIEW text over the sources with the columns of the engine's first step (+ superseded_at); a TEMP view
    (this connection's) unless `temp` is false."""
    cols = ", ".join(COLUMNS)
    parts = []
    if src.versions is not None:
        parts.append(f"SELECT {cols}, \"superseded_at\" FROM read_parquet({_quote(src.versions)})")
    if src.delta:
        files = ", ".join(_quote(f) for f in src.delta)
        parts.append(f"SELECT {cols}, CAST(NULL AS TIMESTAMP) AS \"superseded_at\" "
                     f"FROM read_parquet([{files}], union_by_name = true)")
    if not parts:
        parts.append("SELECT CAST(NULL AS VARCHAR) AS region_code, CAST(NULL AS VARCHAR) AS indicator_id, "
                     "CAST(NULL AS VARCHAR) AS period, CAST(NULL AS DATE) AS period_end, "
                     "CAST(NULL AS DOUBLE) AS value, CAST(NULL AS DOUBLE) AS numerator, "
                     "CAST(NULL AS DOUBLE) AS denominator, CAST(NULL AS TIMESTAMP) AS submitted_at, "
                     "CAST(NULL AS TIMESTAMP) AS ingested_at, CAST(NULL AS INTEGER) AS source_row, "
                     "CAST(NULL AS VARCHAR) AS batch_id, CAST(NULL AS TIMESTAMP) AS superseded_at WHERE FALSE")
    return f"CREATE OR REPLACE {'TEMP ' if temp else ''}VIEW {name} AS " + " UNION ALL ".join(parts)
