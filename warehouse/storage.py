"""The warehouse folder: the submissions as a Delta Lake table (warehouse/delta_table.py), a writer lock, the
ingest log, originals by content hash, as-of snapshots, compaction and a consistency check.

Layout (docs/architecture.md, docs/warehouse.md):

    <wh>/table/                        the Delta table: _delta_log/ (one commit per batch) + Parquet data files
    <wh>/log/<entry_id>.json           one per ingest attempt
    <wh>/originals/<sha256><ext>.gz    the submitted file, gzip-compressed (warehouse/originals.py)
    <wh>/rejections/<entry_id>.csv     rejected / warned rows of an attempt
    <wh>/regions.parquet               the region registry of this warehouse
    <wh>/current/                      the engine's versions table (warehouse/current.py), derived data
    <wh>/.lock                         writer lock (fcntl.flock), holder's pid/user/start time inside

The Delta commit is the commit point: a batch's data file is written first, then its commit; readers take the
file list of one table version (never a glob), so they see a batch entirely or not at all. Timestamps in the
data are naive TIMESTAMP values in UTC. The schema, errors and helpers live in warehouse/storage_base.py and
ingest_file in warehouse/ingest_store.py; both are re-exported here.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator

import polars as pl

from warehouse import delta_table, ingest_spool, wh_check
from warehouse.periods import utc_now
from warehouse.storage_base import (  # noqa: F401 - re-exported: callers import these from warehouse.storage
    BATCH_SCHEMA,
    LOG_COLUMNS,
    Problem,
    Snapshot,
    WarehouseError,
    WarehouseLocked,
    aware_utc as _aware_utc,
    conform,
    cst_text,
    current_user as _current_user,
    fsync_path as _fsync_path,
    iso as _iso,
    naive_utc as _naive_utc,
    parse_iso as _parse_iso,
    sha256_file,
    stamp,
)

LEGACY_MANIFEST = "manifest.json"  # the layout before the Delta table (planwatch warehouse migrate)
GRACE_SECONDS = 600  # files replaced by a compaction are deleted by a later one once older than this


class Warehouse:
    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._lock_fh = None
        self._lock_depth = 0
        self.notices: list[str] = []  # e.g. that the previous writer did not finish (warehouse/wh_check.py)

    # ---- folders ----
    @property
    def table_path(self) -> Path:
        return delta_table.table_path(self.path)

    @property
    def regions_path(self) -> Path:
        return self.path / "regions.parquet"

    def _dir(self, name: str) -> Path:
        return self.path / name

    def exists(self) -> bool:
        """A Delta table is there and no migration is pending (a manifest.json left means an interrupted one)."""
        return delta_table.latest_version(self.table_path) is not None and not self.is_legacy()

    def is_legacy(self) -> bool:
        """A warehouse in the manifest layout of before issue 14 (migrate it with `planwatch warehouse migrate`)."""
        return (self.path / LEGACY_MANIFEST).is_file()

    def init(self, regions: str | os.PathLike | None = None) -> None:
        """Create the folders and an empty table (kept if present); copy a regions.parquet if given."""
        if self.is_legacy():
            raise WarehouseError(self._legacy_message())
        for name in ("log", "originals", "rejections", ".tmp"):
            self._dir(name).mkdir(parents=True, exist_ok=True)
        with self.lock():
            if not self.exists():
                delta_table.create(self.table_path, pl.DataFrame(schema=BATCH_SCHEMA).to_arrow().schema)
            if regions is not None:
                tmp = self._dir(".tmp") / "regions.parquet"
                shutil.copyfile(regions, tmp)
                _fsync_path(tmp)
                os.replace(tmp, self.regions_path)

    def _legacy_message(self) -> str:
        return (f"仓库仍是旧格式（manifest.json），请先运行 planwatch warehouse migrate：{self.path}"
                f" / This warehouse is in the old manifest layout; run `planwatch warehouse migrate` first: {self.path}")

    def _require(self) -> None:
        if not self.exists():
            if self.is_legacy():
                raise WarehouseError(self._legacy_message())
            raise WarehouseError(
                f"不是仓库目录（缺少 {delta_table.TABLE}/_delta_log）：{self.path}；请先运行 planwatch warehouse init。"
                f" / Not a warehouse (no {delta_table.TABLE}/_delta_log): {self.path}; run `planwatch warehouse init` first."
            )

    # ---- table state ----
    def state(self, version: int | None = None) -> delta_table.TableState:
        """The Delta table at `version` (latest when None): data files and committed batches."""
        self._require()
        return delta_table.state(self.table_path, version)

    def version(self) -> int:
        self._require()
        return int(delta_table.latest_version(self.table_path))

    def batches(self) -> list[dict]:
        """Every committed batch, oldest commit first: batch_id, rows, ingested_at (ISO UTC), version, log."""
        return self.state().batches

    def snapshot(self, as_of: datetime | None = None) -> Snapshot:
        """The files to read: those holding rows ingested at or before `as_of` (aware; naive = UTC), all when
        None; `batch_ids` and `rows` are those of the batches ingested by then."""
        current = self.state()
        cutoff = _aware_utc(as_of) if as_of is not None else None
        naive = _naive_utc(cutoff) if cutoff is not None else None
        for f in current.files:
            if wh_check.outside(self.table_path, f.name):  # a log entry naming a file outside the table folder
                raise WarehouseError(wh_check.outside_message(f.name))
        files = [f.path for f in current.files
                 if naive is None or f.min_ingested_at is None or f.min_ingested_at <= naive]
        visible = [b for b in current.batches if cutoff is None or _parse_iso(b["ingested_at"]) <= cutoff]
        return Snapshot(files=files, batch_ids=sorted(b["batch_id"] for b in visible), version=current.version,
                        as_of=cutoff, rows=sum(int(b["rows"]) for b in visible))

    # ---- lock ----
    @contextlib.contextmanager
    def lock(self, user: str | None = None) -> Iterator[None]:
        """Exclusive writer lock (re-entrant within this object). Raises WarehouseLocked at once if held."""
        if self._lock_depth > 0:
            self._lock_depth += 1
            try:
                yield
            finally:
                self._lock_depth -= 1
            return
        self.path.mkdir(parents=True, exist_ok=True)
        fh = open(self.path / ".lock", "a+", encoding="utf-8")
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip()
            fh.close()
            raise WarehouseLocked(self._locked_message(holder)) from None
        fh.seek(0)
        previous = wh_check.holder(fh.read())  # a clean exit empties it: a record left is a writer that died
        fh.seek(0)
        fh.truncate()
        version = self.version() if self.exists() else None
        fh.write(json.dumps({"pid": os.getpid(), "user": user or _current_user(), "started_at": _iso(utc_now()),
                             "version": version}))
        fh.flush()
        if previous is not None:
            self.notices.append(wh_check.interrupted_notice(previous, version))
        self._lock_fh = fh
        self._lock_depth = 1
        try:
            self._recover()
            yield
        finally:
            self._lock_depth = 0
            self._lock_fh = None
            with contextlib.suppress(OSError):
                fh.seek(0)
                fh.truncate()
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
            fh.close()

    def _locked_message(self, holder: str) -> str:
        try:
            info = json.loads(holder)
            pid, user, started = info.get("pid"), info.get("user"), cst_text(_parse_iso(info["started_at"]))
        except (ValueError, KeyError, TypeError):
            pid, user, started = "?", "?", "?"
        return (
            f"仓库正被另一个写入进程占用（进程 {pid}，用户 {user}，开始于 {started}），请稍后再试：{self.path}"
            f" / The warehouse is locked by another writer (pid {pid}, user {user}, since {started}); "
            f"try again when it has finished: {self.path}"
        )

    def _recover(self) -> None:
        """Tidy after an interrupted writer (runs under the lock): drop temp files and dead spools, and restore the
        log entries of batches committed just before a crash (the entry is kept in the Delta commit's metadata).
        Data files of a writer killed before its commit are no part of any version; compaction deletes them after
        the grace period (a writer on another machine may still be about to commit its file)."""
        if not self.exists():
            return
        tmp = self._dir(".tmp")
        if tmp.is_dir():
            for leftover in tmp.iterdir():
                with contextlib.suppress(OSError):
                    if leftover.is_file():
                        leftover.unlink()
        ingest_spool.clean(self.path)  # spools of writers that died (a live one's is kept: it may be validating)
        logged = {e.get("batch_id") for e in self._read_log() if e.get("status") == "accepted"}
        for batch in self.batches():
            info = batch.get("log")
            if batch["batch_id"] not in logged and info:
                self._write_log(dict(info, message="restored after an interrupted ingest"))

    # ---- originals and log ----
    def store_original(self, path: str | os.PathLike, sha: str | None = None, ready: Any = None) -> str:
        """Keep the file under originals/<sha256><ext>.gz (warehouse/originals.py; idempotent); return its
        sha256 (`sha`: already known; `ready`: an originals.Compressing of this file started earlier)."""
        from warehouse import originals

        self._require()
        src = Path(path)
        sha = sha or sha256_file(src)
        self._dir(".tmp").mkdir(parents=True, exist_ok=True)
        originals.store(self._dir("originals"), self._dir(".tmp"), src, sha, ready=ready)
        return sha

    def original_path(self, sha: str) -> Path | None:
        """The stored original (compressed, or as it was in older warehouses), or None."""
        from warehouse import originals

        return originals.find(self._dir("originals"), sha)

    def read_original(self, sha: str) -> bytes:
        """The submitted file's bytes, checked against its sha256 (WarehouseError if missing or damaged)."""
        from warehouse import originals

        path = self.original_path(sha)
        if path is None:
            raise WarehouseError(f"原始文件不存在 / original file not found: {sha}")
        try:
            return originals.read(path, sha)
        except (originals.OriginalDamaged, OSError, EOFError) as exc:
            raise WarehouseError(str(exc) if isinstance(exc, originals.OriginalDamaged)
                                 else f"原始文件无法读取 / original file unreadable: {path.name}") from None

    def _read_log(self) -> list[dict]:
        log_dir = self._dir("log")
        entries = []
        if log_dir.is_dir():
            for path in sorted(log_dir.glob("*.json")):
                with open(path, encoding="utf-8") as fh:
                    entries.append(json.load(fh))
        return entries

    def new_entry_id(self, moment: datetime, sha: str) -> str:
        base = f"{stamp(moment)}-{sha[:8]}"
        entry_id, n = base, 1
        while (self._dir("log") / f"{entry_id}.json").exists():
            n += 1
            entry_id = f"{base}-{n}"
        return entry_id

    def _write_log(self, entry: dict) -> None:
        full = {col: entry.get(col) for col in LOG_COLUMNS}
        full.update({k: v for k, v in entry.items() if k not in full})
        self._write_json_atomic(self._dir("log") / f"{entry['entry_id']}.json", full)

    def write_log_entry(self, entry: dict) -> None:
        """Record one ingest attempt (fields of LOG_COLUMNS; ingested_at as ISO UTC text)."""
        with self.lock():
            self._write_log(entry)

    def log_entries(self) -> pl.DataFrame:
        """Every ingest attempt, oldest first; ingested_at is an aware UTC datetime."""
        self._require()
        entries = self._read_log()
        records = [{col: e.get(col) for col in LOG_COLUMNS if col != "ingested_at"} for e in entries]
        times = [_parse_iso(e["ingested_at"]) if e.get("ingested_at") else None for e in entries]
        schema = {c: t for c, t in LOG_COLUMNS.items() if c != "ingested_at"}
        frame = pl.DataFrame(records, schema=schema, orient="row") if records else pl.DataFrame(schema=schema)
        frame = frame.with_columns(pl.Series("ingested_at", times, dtype=pl.Datetime("us", "UTC")))
        return frame.select(list(LOG_COLUMNS)).sort(["ingested_at", "entry_id"])

    def has_ingested(self, sha: str) -> dict | None:
        """The log entry of the batch that stored this file's content, or None."""
        for entry in self._read_log():
            if entry.get("sha256") == sha and entry.get("status") == "accepted":
                return entry
        # committed, but the writer died before its log file (the Delta commit is the truth; _recover restores
        # the file under the next writer's lock)
        for batch in (self.batches() if self.exists() else []):
            if batch.get("sha256") == sha:
                return dict(batch.get("log") or {}, batch_id=batch["batch_id"], sha256=sha, status="accepted",
                            ingested_at=batch.get("ingested_at"))
        return None

    # ---- writing batches ----
    def _write_json_atomic(self, target: Path, data: dict) -> None:
        tmp_dir = self._dir(".tmp")
        tmp_dir.mkdir(parents=True, exist_ok=True)
        tmp = tmp_dir / f"{target.name}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(data, fh, ensure_ascii=False, indent=1)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
        _fsync_path(target.parent)

    def write_batch(self, rows: pl.DataFrame, meta: dict, lock: bool = True) -> str:
        """Store `rows` (batch columns; batch_id/ingested_at filled in here) as a new batch: one Delta commit.

        meta: sha256 (required), ingested_at (aware datetime, default now; a backfill passes the file's received
        time), batch_id (default `<stamp(ingested_at)>-<sha256[:8]>`) and `log` (the log entry of this attempt,
        kept in the commit so it can be restored if the process dies before writing the log). `lock=False`
        relies on the Delta commit alone (optimistic concurrency: writers on other machines, which share no
        lock file). Returns the batch id.
        """
        self._require()
        ingested_at = _aware_utc(meta.get("ingested_at") or utc_now())
        batch_id = meta.get("batch_id") or f"{stamp(ingested_at)}-{meta['sha256'][:8]}"
        frame = _conformed_chunks(rows, batch_id, ingested_at)  # chunk by chunk: a 5 M-row batch is not copied whole
        batch = {"batch_id": batch_id, "rows": rows.height, "ingested_at": _iso(ingested_at),
                 "sha256": meta.get("sha256")}
        if meta.get("log"):
            batch["log"] = meta["log"]
        with self.lock() if lock else contextlib.nullcontext():
            if any(b["batch_id"] == batch_id for b in self.batches()):
                raise WarehouseError(f"批次已存在 / batch already exists: {batch_id}")
            delta_table.append(self.table_path, frame, batch)
        return batch_id

    # ---- maintenance ----
    def compact(self, now: datetime | None = None, grace_seconds: float = GRACE_SECONDS) -> dict:
        """Delta OPTIMIZE (z-order by region code) of every data file, then the engine's versions table rebuilt,
        then VACUUM: files replaced by an earlier compaction are deleted once no version within `grace_seconds`
        uses them (a reader holding an older snapshot keeps working), and data files of writers killed before
        their commit once older than that. Rows keep their batch_id and ingested_at, so every query and as-of
        read gives the same result. Returns counts."""
        moment = _aware_utc(now or utc_now())
        with self.lock():
            before = self.state()
            merged = 0
            if len(before.files) > 1:
                metrics = delta_table.compact(self.table_path, {"compacted_at": _iso(moment)})
                merged = int(metrics.get("numFilesRemoved", 0))
            _rebuild_current(self)
            now_ms = int(moment.timestamp() * 1000)
            deleted = len(delta_table.vacuum(self.table_path, now_ms, int(grace_seconds * 1000)))
            deleted += delta_table.remove_unreferenced(self.table_path, grace_seconds, time.time())
            rows = sum(f.rows for f in self.state().files)
            return {"merged_files": merged, "rows": rows, "deleted": deleted}

    def check(self) -> list[Problem]:
        """Verify the table (every data file exists, is readable, has the batch schema and the rows the log says,
        per file and per batch) and the ingest log. Errors mean something is wrong; warnings are leftovers of
        interrupted writers, tidied at the next write or compaction (warehouse/storage_check.py)."""
        from warehouse.storage_check import check

        return check(self)


COMMIT_CHUNK_ROWS = 500_000


def _conformed_chunks(rows: pl.DataFrame, batch_id: str, ingested_at: datetime):
    """The batch as an arrow RecordBatchReader, conformed (storage_base.conform) and converted chunk by chunk:
    committing 5.4 M rows as one conformed copy plus its arrow copy took about 860 MB more than the rows."""
    import pyarrow as pa

    if isinstance(rows, pl.DataFrame) and rows.height <= COMMIT_CHUNK_ROWS:  # small batches: one conformed frame
        return conform(rows, batch_id=batch_id, ingested_at=ingested_at)
    from warehouse.ingest_headers import BATCH_COLUMNS

    spooled = not isinstance(rows, pl.DataFrame)  # an ingest_spool.Spool: read back part by part
    empty = pl.DataFrame(schema=BATCH_COLUMNS) if spooled else rows.head(0)
    schema = conform(empty, batch_id=batch_id, ingested_at=ingested_at).to_arrow().schema

    def batches():
        chunks = rows.frames(COMMIT_CHUNK_ROWS) if spooled else (
            rows.slice(start, COMMIT_CHUNK_ROWS) for start in range(0, rows.height, COMMIT_CHUNK_ROWS))
        for chunk in chunks:
            chunk = conform(chunk, batch_id=batch_id, ingested_at=ingested_at)
            yield from chunk.to_arrow().cast(schema).to_batches()

    return pa.RecordBatchReader.from_batches(schema, batches())


def _rebuild_current(wh: Warehouse) -> None:
    """Refresh the engine's versions table (warehouse/current.py) after compaction, under the writer lock."""
    from warehouse import current

    current.rebuild(wh)


from warehouse.ingest_store import IngestResult, ingest_file  # noqa: E402,F401 - re-exported
