"""The submissions table as a Delta Lake table (delta-rs, the `deltalake` package: no JVM).

    <wh>/table/_delta_log/NNNNNNNNNNNNNNNNNNNN.json   one commit per accepted batch, compaction or vacuum
    <wh>/table/part-*.parquet                         the data files (batch row schema, storage.BATCH_SCHEMA)

Every accepted ingest is one Delta commit (an `append`): its data file is written first, then the commit file is
created with put-if-absent, so a reader sees a batch entirely or not at all, and concurrent writers (other
processes, other machines on object storage) retry on a version clash instead of overwriting each other
(optimistic concurrency). The commit's `planwatch` metadata holds the batch: {"batch_id", "rows", "ingested_at",
"sha256", "log"}; the Delta log is therefore the audit of what was committed when, and it is kept for a century
(`delta.logRetentionDuration`), so the batch list never expires.

As-of reads do not use Delta time travel: they filter on the `ingested_at` column in the data (a backfilled file
keeps its received time there), so a file is visible as of T when its smallest `ingested_at` (the file
statistics of the Delta log) is at or before T. Readers take the table state of one version (`state`), cached per
version in this process; the latest version is found by listing `_delta_log` (no table load when nothing changed).
"""

from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import polars as pl

TABLE = "table"
META_KEY = "planwatch"
ROW_GROUP_SIZE = 122_880
ZORDER_COLUMNS = ("region_code",)  # the engine prunes row groups on region_code ranges (sql.SCOPE_FILTER)
# memory OPTIMIZE's sort may hold before it spills to disk (delta-rs' default is 20 GiB: a whole L tier, 161M
# rows, on a machine shared with the dashboard); the same bound as the versions table build (current.MEMORY_LIMIT)
COMPACT_MEMORY_BYTES = 4 * 2**30
CONFIGURATION = {"delta.logRetentionDuration": "interval 36500 days"}


@dataclass(frozen=True)
class DataFile:
    path: str  # absolute
    name: str  # relative to the table folder
    rows: int
    min_ingested_at: datetime | None  # naive UTC; None when the log has no statistics for the file


@dataclass(frozen=True)
class TableState:
    """One version of the table: its data files and every batch committed up to it (oldest first)."""

    version: int
    table_id: str
    files: list[DataFile]
    batches: list[dict]  # {"batch_id", "rows", "ingested_at" (ISO UTC), "version", "log"?}
    commits: list[dict]  # {"version", "timestamp" (ms since epoch), "operation"}


class _Open:
    """One table's open DeltaTable (brought forward with update_incremental, not reloaded), its commit history
    read so far, and the states built from it (per version). Guarded by its lock: threads share it."""

    def __init__(self, path: Path):
        from deltalake import DeltaTable

        self.lock = threading.Lock()
        self.table = DeltaTable(str(path))
        self.history: dict[int, dict] = {}
        self.states: OrderedDict = OrderedDict()


_OPEN: dict[str, _Open] = {}
_OPEN_LOCK = threading.Lock()


def _opened(path: Path) -> _Open:
    key = str(Path(path).resolve())
    with _OPEN_LOCK:
        found = _OPEN.get(key)
        if found is None:
            found = _OPEN[key] = _Open(Path(key))
        return found


def forget(path: Path) -> None:
    """Drop this process's cached table (after the folder was replaced, e.g. by a migration)."""
    with _OPEN_LOCK:
        _OPEN.pop(str(Path(path).resolve()), None)


def table_path(wh_path: Path) -> Path:
    return Path(wh_path) / TABLE


def latest_version(path: Path) -> int | None:
    """The newest committed version (the highest NNN.json in _delta_log), None when there is no table."""
    try:
        names = os.listdir(Path(path) / "_delta_log")
    except OSError:
        return None
    versions = [int(n[:-5]) for n in names if n.endswith(".json") and n[:-5].isdigit()]
    return max(versions) if versions else None


def create(path: Path, schema) -> None:
    """An empty table with the batch schema (version 0)."""
    from deltalake import DeltaTable

    DeltaTable.create(str(path), schema=schema, configuration=CONFIGURATION)


def _writer_properties():
    from deltalake import WriterProperties

    return WriterProperties(compression="ZSTD", max_row_group_size=ROW_GROUP_SIZE)


def append(path: Path, frame, batch: dict) -> None:
    """Commit `frame` (already in the batch schema: a polars frame, or an arrow RecordBatchReader of such rows)
    as one Delta append carrying `batch` as its metadata."""
    from deltalake import CommitProperties, write_deltalake

    props = CommitProperties(custom_metadata={META_KEY: json.dumps(batch, ensure_ascii=False)}, max_commit_retries=100)
    opened = _opened(path)
    with opened.lock:
        opened.table.update_incremental()
        data = frame.to_arrow() if isinstance(frame, pl.DataFrame) else frame
        write_deltalake(opened.table, data, mode="append", commit_properties=props,
                        writer_properties=_writer_properties())


def state(path: Path, version: int | None = None) -> TableState:
    """The table at `version` (latest when None); cached per (table, version) in this process."""
    path = Path(path)
    if version is None:
        version = latest_version(path)
        if version is None:
            raise FileNotFoundError(path / "_delta_log")
    opened = _opened(path)
    with opened.lock:
        hit = opened.states.get(version)
        if hit is not None:
            opened.states.move_to_end(version)
            return hit
        loaded = _load(opened, path, version)
        opened.states[version] = loaded
        while len(opened.states) > 8:
            opened.states.popitem(last=False)
        return loaded


def _load(opened: _Open, path: Path, version: int) -> TableState:
    import pyarrow as pa
    from deltalake import DeltaTable

    dt = opened.table
    if dt.version() < version:
        dt.update_incremental()
    if dt.version() != version:
        dt = DeltaTable(str(path), version=version)  # an older version (a reader holding a snapshot): rare
    for v in range(version + 1):
        if v not in opened.history:
            opened.history[v] = _commit_info(path, v)
    adds = pl.from_arrow(pa.table(dt.get_add_actions(flatten=True)))
    root = path.resolve()
    files = []
    has_min = "min.ingested_at" in adds.columns
    for row in adds.iter_rows(named=True):
        files.append(DataFile(path=str(root / row["path"]), name=row["path"], rows=int(row["num_records"] or 0),
                              min_ingested_at=row["min.ingested_at"] if has_min else None))
    files.sort(key=lambda f: (f.min_ingested_at or datetime.min, f.name))
    batches, commits = [], []
    for v in range(version + 1):
        commit = opened.history.get(v)
        if not commit:  # a commit file the log no longer keeps (retention): nothing to list
            continue
        commits.append({"version": v, "timestamp": commit.get("timestamp"), "operation": commit.get("operation")})
        meta = commit.get(META_KEY)
        if meta and commit.get("operation") == "WRITE":
            batch = json.loads(meta)
            batch["version"] = v
            batches.append(batch)
    return TableState(version=version, table_id=dt.metadata().id, files=files, batches=batches, commits=commits)


def _commit_info(path: Path, version: int) -> dict:
    """The commitInfo action of one commit file (the Delta protocol: one JSON action per line), {} when the file
    is gone (log retention). Read directly: delta-rs's history() lists the newest commits on storage, whatever
    version the table object was loaded at."""
    try:
        with open(Path(path) / "_delta_log" / f"{version:020d}.json", encoding="utf-8") as fh:
            for line in fh:
                action = json.loads(line)
                if "commitInfo" in action:
                    return action["commitInfo"]
    except FileNotFoundError:
        pass
    return {}


def compact(path: Path, batch_note: dict) -> dict:
    """Delta OPTIMIZE with z-order on ZORDER_COLUMNS: every data file rewritten into files sorted by region code
    (rows keep their batch_id and ingested_at). Returns delta-rs's metrics."""
    from deltalake import CommitProperties, DeltaTable

    dt = DeltaTable(str(path))
    props = CommitProperties(custom_metadata={META_KEY + "_compaction": json.dumps(batch_note)})
    return dt.optimize.z_order(list(ZORDER_COLUMNS), max_spill_size=COMPACT_MEMORY_BYTES,
                               writer_properties=_writer_properties(), commit_properties=props)


def vacuum(path: Path, now_ms: int, grace_ms: int) -> list[str]:
    """Delete data files removed by a compaction, except those a reader may still hold: the files of every version
    that was the latest within the grace period. Returns the deleted file names."""
    from deltalake import DeltaTable

    dt = DeltaTable(str(path))
    current = state(path, dt.version())
    keep = [c["version"] for i, c in enumerate(current.commits)
            if i + 1 == len(current.commits) or (current.commits[i + 1]["timestamp"] or 0) >= now_ms - grace_ms]
    return dt.vacuum(retention_hours=0, dry_run=False, enforce_retention_duration=False, keep_versions=keep)


def unreferenced(path: Path) -> list[str]:
    """Data files in the folder that no version of the log mentions (a writer killed before its commit, or one
    still writing). Removed by `remove_unreferenced` once older than the grace period."""
    from deltalake import DeltaTable

    dt = DeltaTable(str(path))
    every = set(dt.vacuum(retention_hours=0, dry_run=True, enforce_retention_duration=False, full=True))
    tombstones = set(dt.vacuum(retention_hours=0, dry_run=True, enforce_retention_duration=False))
    return sorted(every - tombstones)


def remove_unreferenced(path: Path, min_age_seconds: float, now: float) -> int:
    """Delete unreferenced data files whose last change is older than `min_age_seconds` (a writer still
    writing its file is younger). Returns how many were deleted."""
    deleted = 0
    for name in unreferenced(path):
        target = Path(path) / name
        try:
            if now - target.stat().st_mtime >= min_age_seconds:
                target.unlink()
                deleted += 1
        except OSError:
            pass
    return deleted
