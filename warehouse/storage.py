"""The warehouse folder: immutable Parquet batches, a manifest for snapshot isolation, a writer lock,
the ingest log, originals by content hash, as-of snapshots, compaction and a consistency check.

Layout (docs/architecture.md, docs/warehouse.md):

    <wh>/manifest.json                 {"version": N, "batches": [...], "retired": [...]}
    <wh>/batches/<batch_id>.parquet    immutable; written to <wh>/.tmp/ first, then os.replace
    <wh>/log/<entry_id>.json           one per ingest attempt
    <wh>/originals/<sha256><ext>.gz    the submitted file, gzip-compressed (warehouse/originals.py)
    <wh>/rejections/<entry_id>.csv     rejected / warned rows of an attempt
    <wh>/regions.parquet               the region registry of this warehouse
    <wh>/.lock                         writer lock (fcntl.flock), holder's pid/user/start time inside

The manifest is the commit point: a writer first puts a complete file in batches/, then replaces the
manifest atomically. Readers list files from the manifest only (never a glob), so they see a batch
entirely or not at all. Timestamps in batch files are naive TIMESTAMP values in UTC.
"""

from __future__ import annotations

import contextlib
import fcntl
import getpass
import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import polars as pl

from warehouse import wh_check
from warehouse.periods import to_cst, utc_now

MANIFEST = "manifest.json"
GRACE_SECONDS = 600  # replaced files are deleted by a later compaction once older than this

# Batch row schema (docs/architecture.md). Timestamps are naive, in UTC.
BATCH_SCHEMA: dict[str, pl.DataType] = {
    "batch_id": pl.Utf8(),
    "region_code": pl.Utf8(),
    "indicator_id": pl.Utf8(),
    "period": pl.Utf8(),
    "period_end": pl.Date(),
    "value": pl.Float64(),
    "numerator": pl.Float64(),
    "denominator": pl.Float64(),
    "note": pl.Utf8(),
    "submitted_by": pl.Utf8(),
    "submitted_at": pl.Datetime("us"),
    "ingested_at": pl.Datetime("us"),
    "source_file": pl.Utf8(),
    "source_row": pl.Int32(),
}

LOG_COLUMNS: dict[str, pl.DataType] = {
    "entry_id": pl.Utf8(),
    "status": pl.Utf8(),  # accepted / rejected / duplicate
    "batch_id": pl.Utf8(),
    "file_name": pl.Utf8(),
    "sha256": pl.Utf8(),
    "original": pl.Utf8(),
    "rows_total": pl.Int64(),
    "rows_accepted": pl.Int64(),
    "rows_rejected": pl.Int64(),
    "warnings": pl.Int64(),
    "ingested_at": pl.Datetime("us", "UTC"),
    "user": pl.Utf8(),
    "role": pl.Utf8(),  # the signed-in identity's role (docs/access.md); None for the CLI
    "rejection_file": pl.Utf8(),
    "duplicate_of": pl.Utf8(),
    "message": pl.Utf8(),
    # backfilled history (warehouse/backfill.py): ingested_at is then the receipt time
    "logged_at": pl.Utf8(),  # the real ingest time (ISO, UTC)
    "backfilled_by": pl.Utf8(),
}


class WarehouseError(Exception):
    """A user-facing warehouse problem (message is Chinese first, then English)."""


class WarehouseLocked(WarehouseError):
    """Another writer holds <wh>/.lock."""


@dataclass(frozen=True)
class Snapshot:
    """What a reader sees: the batch files of one manifest version, optionally as of a time.

    `files` are absolute paths. A compacted file can hold rows of several batches; when `as_of` is set,
    readers must also filter rows with `ingested_at <= as_of` (see `where_sql` / `scan` / `register`).
    """

    files: list[str]
    batch_ids: list[str]
    version: int
    as_of: datetime | None
    rows: int = 0

    @property
    def as_of_naive_utc(self) -> datetime | None:
        """as_of as a naive UTC datetime, comparable with the stored `ingested_at` column."""
        if self.as_of is None:
            return None
        return _naive_utc(self.as_of)

    def where_sql(self) -> tuple[str, list[Any]]:
        """A WHERE clause (and its parameters) that keeps only rows visible at `as_of`."""
        if self.as_of is None:
            return "TRUE", []
        return "ingested_at <= ?", [self.as_of_naive_utc]

    def scan(self) -> pl.LazyFrame:
        """All visible rows as a polars LazyFrame (empty frame with the batch schema when no batch)."""
        if not self.files:
            return pl.LazyFrame(schema=BATCH_SCHEMA)
        lf = pl.scan_parquet(self.files)
        if self.as_of is not None:
            lf = lf.filter(pl.col("ingested_at") <= self.as_of_naive_utc)
        return lf

    def register(self, con: Any, name: str = "submissions") -> None:
        """Create a temporary DuckDB view `name` over the visible rows (every submission, superseded too)."""
        if not self.files:
            cols = ", ".join(f"CAST(NULL AS {_duck_type(t)}) AS {c}" for c, t in BATCH_SCHEMA.items())
            con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT {cols} WHERE FALSE")
            return
        files = ", ".join("'" + f.replace("'", "''") + "'" for f in self.files)
        where = "TRUE"
        if self.as_of is not None:
            where = f"ingested_at <= TIMESTAMP '{self.as_of_naive_utc.isoformat(sep=' ')}'"
        con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT * FROM read_parquet([{files}]) WHERE {where}")


@dataclass
class Problem:
    severity: str  # "error" (data at risk or inconsistent) or "warning" (harmless leftovers)
    what: str  # file or log entry concerned
    message: str

    def __str__(self) -> str:
        return f"{self.severity}: {self.what}: {self.message}"


def _duck_type(dtype: pl.DataType) -> str:
    return {
        pl.Utf8: "VARCHAR",
        pl.Date: "DATE",
        pl.Float64: "DOUBLE",
        pl.Datetime: "TIMESTAMP",
        pl.Int32: "INTEGER",
    }[dtype.base_type()]


def _naive_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment  # already naive UTC by convention
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def _aware_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def _iso(moment: datetime) -> str:
    return _aware_utc(moment).isoformat(timespec="microseconds")


def _parse_iso(text: str) -> datetime:
    return _aware_utc(datetime.fromisoformat(text))


def stamp(moment: datetime) -> str:
    """Sortable UTC stamp used in batch ids: 20250131T160000123456Z."""
    return _aware_utc(moment).strftime("%Y%m%dT%H%M%S%fZ")


def cst_text(moment: datetime) -> str:
    """A stored UTC time shown in China Standard Time."""
    return to_cst(_aware_utc(moment)).strftime("%Y-%m-%d %H:%M CST")


def sha256_file(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _current_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry in some containers
        return str(os.getuid())


class Warehouse:
    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._lock_fh = None
        self._lock_depth = 0
        self.notices: list[str] = []  # e.g. that the previous writer did not finish (warehouse/wh_check.py)

    # ---- folders ----
    @property
    def manifest_path(self) -> Path:
        return self.path / MANIFEST

    @property
    def regions_path(self) -> Path:
        return self.path / "regions.parquet"

    def _dir(self, name: str) -> Path:
        return self.path / name

    def exists(self) -> bool:
        return self.manifest_path.is_file()

    def init(self, regions: str | os.PathLike | None = None) -> None:
        """Create the folders and an empty manifest (kept if present); copy a regions.parquet if given."""
        for name in ("batches", "log", "originals", "rejections", ".tmp"):
            self._dir(name).mkdir(parents=True, exist_ok=True)
        with self.lock():
            if not self.manifest_path.exists():
                self._write_json_atomic(self.manifest_path, {"version": 0, "batches": [], "retired": []})
            if regions is not None:
                tmp = self._dir(".tmp") / "regions.parquet"
                shutil.copyfile(regions, tmp)
                _fsync_path(tmp)
                os.replace(tmp, self.regions_path)

    def _require(self) -> None:
        if not self.exists():
            raise WarehouseError(
                f"不是仓库目录（缺少 {MANIFEST}）：{self.path}；请先运行 planwatch warehouse init。"
                f" / Not a warehouse (no {MANIFEST}): {self.path}; run `planwatch warehouse init` first."
            )

    # ---- manifest ----
    def manifest(self) -> dict:
        self._require()
        with open(self.manifest_path, encoding="utf-8") as fh:
            data = json.load(fh)
        data.setdefault("retired", [])
        return data

    def version(self) -> int:
        return int(self.manifest()["version"])

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

    def _commit_manifest(self, manifest: dict) -> None:
        manifest["version"] = int(manifest["version"]) + 1
        self._write_json_atomic(self.manifest_path, manifest)

    @staticmethod
    def _entry_batches(entry: dict) -> list[dict]:
        """The batches stored in one manifest file entry (a compacted file holds several)."""
        if "batches" in entry:
            return entry["batches"]
        return [{"batch_id": entry["batch_id"], "rows": entry["rows"], "ingested_at": entry["ingested_at"]}]

    def snapshot(self, as_of: datetime | None = None) -> Snapshot:
        """The files to read: batches ingested at or before `as_of` (aware; naive = UTC), all when None."""
        manifest = self.manifest()
        cutoff = _aware_utc(as_of) if as_of is not None else None
        files: list[str] = []
        batch_ids: list[str] = []
        rows = 0
        for entry in manifest["batches"]:
            if wh_check.outside(self.path, entry.get("file")):
                raise WarehouseError(wh_check.outside_message(entry.get("file")))
            visible = [
                b for b in self._entry_batches(entry) if cutoff is None or _parse_iso(b["ingested_at"]) <= cutoff
            ]
            if visible:
                files.append(self._inside(entry["file"]))
                batch_ids.extend(b["batch_id"] for b in visible)
                rows += sum(int(b["rows"]) for b in visible)
        return Snapshot(files=files, batch_ids=sorted(batch_ids), version=int(manifest["version"]), as_of=cutoff, rows=rows)

    def _inside(self, name: str) -> str:
        """The absolute path of a manifest entry's file; refused when it points outside the warehouse folder."""
        path = (self.path / str(name)).resolve()
        if not path.is_relative_to(self.path.resolve()):
            raise WarehouseError(f"清单中的文件不在数据仓库文件夹内，已拒绝读取 / a manifest entry points outside "
                                 f"the warehouse folder and was not read: {Path(str(name)).name}")
        return str(path)

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
        """Tidy after an interrupted writer (runs under the lock): drop temp files and batch files the
        manifest does not reference, and restore log entries of batches committed just before a crash."""
        if not self.exists():
            return
        tmp = self._dir(".tmp")
        if tmp.is_dir():
            for leftover in tmp.iterdir():
                with contextlib.suppress(OSError):
                    leftover.unlink()
        manifest = self.manifest()
        referenced = {entry["file"] for entry in manifest["batches"]} | {r["file"] for r in manifest["retired"]}
        batches_dir = self._dir("batches")
        if batches_dir.is_dir():
            for path in batches_dir.iterdir():
                if f"batches/{path.name}" not in referenced:
                    with contextlib.suppress(OSError):
                        path.unlink()
        logged = {e.get("batch_id") for e in self._read_log() if e.get("status") == "accepted"}
        for entry in manifest["batches"]:
            for batch in self._entry_batches(entry):
                info = batch.get("log") or entry.get("log")
                if batch["batch_id"] not in logged and info:
                    self._write_log(dict(info, message="restored after an interrupted ingest"))

    # ---- originals and log ----
    def store_original(self, path: str | os.PathLike, sha: str | None = None) -> str:
        """Keep the file under originals/<sha256><ext>.gz (warehouse/originals.py; idempotent); return its
        sha256 (`sha`: already known)."""
        from warehouse import originals

        self._require()
        src = Path(path)
        sha = sha or sha256_file(src)
        self._dir(".tmp").mkdir(parents=True, exist_ok=True)
        originals.store(self._dir("originals"), self._dir(".tmp"), src, sha)
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
        return None

    # ---- writing batches ----
    def write_batch(self, rows: pl.DataFrame, meta: dict) -> str:
        """Store `rows` (batch columns; batch_id/ingested_at filled in here) as a new immutable batch.

        meta: sha256 (required), ingested_at (aware datetime, default now), and `log` (the log entry of this
        attempt, stored in the manifest so it can be restored if the process dies before writing the log).
        Returns the batch id. The manifest is replaced only after the file is complete and synced.
        """
        self._require()
        ingested_at = _aware_utc(meta.get("ingested_at") or utc_now())
        batch_id = meta.get("batch_id") or f"{stamp(ingested_at)}-{meta['sha256'][:8]}"
        frame = conform(rows, batch_id=batch_id, ingested_at=ingested_at)
        with self.lock():
            manifest = self.manifest()
            known = {b["batch_id"] for e in manifest["batches"] for b in self._entry_batches(e)}
            if batch_id in known:
                raise WarehouseError(f"批次已存在 / batch already exists: {batch_id}")
            name = f"{batch_id}.parquet"
            tmp = self._dir(".tmp") / name
            frame.write_parquet(tmp, compression="zstd", statistics=True)
            _fsync_path(tmp)
            os.replace(tmp, self._dir("batches") / name)
            _fsync_path(self._dir("batches"))
            entry = {"batch_id": batch_id, "file": f"batches/{name}", "rows": frame.height, "ingested_at": _iso(ingested_at)}
            if meta.get("log"):
                entry["log"] = meta["log"]
            manifest["batches"].append(entry)
            self._commit_manifest(manifest)
        return batch_id

    # ---- maintenance ----
    def compact(self, now: datetime | None = None, grace_seconds: float = GRACE_SECONDS) -> dict:
        """Merge every batch file into one, sorted by indicator_id, region_code, period (rows keep their
        batch_id and ingested_at, so every query and as-of read gives the same result). Replaced files are
        listed as retired and deleted by a later compaction once older than `grace_seconds`, so readers
        holding an older snapshot keep working. Returns counts."""
        moment = _aware_utc(now or utc_now())
        with self.lock():
            manifest = self.manifest()
            deleted = self._delete_retired(manifest, moment, grace_seconds)
            entries = manifest["batches"]
            if len(entries) <= 1:
                if deleted:
                    self._commit_manifest(manifest)
                _rebuild_current(self)
                return {"merged_files": 0, "rows": sum(e["rows"] for e in entries), "deleted": deleted}
            files = [str(self.path / e["file"]) for e in entries]
            merged = (
                pl.scan_parquet(files)
                .sort(["indicator_id", "region_code", "period", "ingested_at", "batch_id"])
                .collect()
            )
            merged = conform(merged)
            batches = [b for e in entries for b in self._entry_batches(e)]
            if merged.height != sum(int(b["rows"]) for b in batches):
                raise WarehouseError("合并后行数不符，未做任何更改 / row count changed during compaction; nothing changed")
            name = f"compacted-{stamp(moment)}-v{int(manifest['version']) + 1}.parquet"
            tmp = self._dir(".tmp") / name
            merged.write_parquet(tmp, compression="zstd", statistics=True, row_group_size=256_000)
            _fsync_path(tmp)
            os.replace(tmp, self._dir("batches") / name)
            _fsync_path(self._dir("batches"))
            for e in entries:
                for b in self._entry_batches(e):
                    if "log" not in b and e.get("log"):
                        b["log"] = e["log"]
            first = min(batches, key=lambda b: b["ingested_at"])
            manifest["batches"] = [
                {
                    "batch_id": first["batch_id"],
                    "file": f"batches/{name}",
                    "rows": merged.height,
                    "ingested_at": first["ingested_at"],
                    "compacted": True,
                    "batches": sorted(batches, key=lambda b: (b["ingested_at"], b["batch_id"])),
                }
            ]
            manifest["retired"].extend({"file": e["file"], "retired_at": _iso(moment)} for e in entries)
            self._commit_manifest(manifest)
            _rebuild_current(self)
            return {"merged_files": len(entries), "rows": merged.height, "deleted": deleted}

    def _delete_retired(self, manifest: dict, moment: datetime, grace_seconds: float) -> int:
        keep, deleted = [], 0
        for item in manifest["retired"]:
            age = (moment - _parse_iso(item["retired_at"])).total_seconds()
            if age >= grace_seconds:
                with contextlib.suppress(FileNotFoundError):
                    (self.path / item["file"]).unlink()
                deleted += 1
            else:
                keep.append(item)
        manifest["retired"] = keep
        return deleted

    def check(self) -> list[Problem]:
        """Verify the manifest, every batch file (exists, readable, row count, schema, batch ids) and the log.
        Errors mean something is wrong; warnings are leftovers of interrupted writers, tidied at next write."""
        problems: list[Problem] = []
        try:
            manifest = self.manifest()
        except WarehouseError as exc:
            return [Problem("error", MANIFEST, str(exc))]
        except (OSError, ValueError) as exc:
            return [Problem("error", MANIFEST, f"清单无法读取 / manifest unreadable: {exc}")]
        seen: set[str] = set()
        manifest_batches: dict[str, dict] = {}
        for entry in manifest["batches"]:
            if wh_check.outside(self.path, entry.get("file")):
                continue  # reported (and never read) by wh_check.problems below
            path = self.path / entry["file"]
            batches = self._entry_batches(entry)
            for b in batches:
                if b["batch_id"] in seen:
                    problems.append(Problem("error", entry["file"], f"批次重复 / batch listed twice: {b['batch_id']}"))
                seen.add(b["batch_id"])
                manifest_batches[b["batch_id"]] = b
            if not path.is_file():
                problems.append(Problem("error", entry["file"], "清单中的文件不存在 / file in manifest is missing"))
                continue
            try:
                schema = pl.read_parquet_schema(path)
                counts = pl.read_parquet(path, columns=["batch_id"]).group_by("batch_id").len()
            except Exception as exc:  # corrupt or truncated parquet
                problems.append(Problem("error", entry["file"], f"Parquet 无法读取 / unreadable parquet: {exc}"))
                continue
            for col, dtype in BATCH_SCHEMA.items():
                if col not in schema:
                    problems.append(Problem("error", entry["file"], f"缺少列 / missing column {col}"))
                elif schema[col] != dtype:
                    problems.append(
                        Problem("error", entry["file"], f"列类型错误 / column {col} is {schema[col]}, expected {dtype}")
                    )
            found = dict(zip(counts["batch_id"].to_list(), counts["len"].to_list()))
            expected = {b["batch_id"]: int(b["rows"]) for b in batches}
            if sum(found.values()) != int(entry["rows"]):
                problems.append(
                    Problem("error", entry["file"], f"行数不符 / {sum(found.values())} rows, manifest says {entry['rows']}")
                )
            if found != {k: v for k, v in expected.items() if v}:
                problems.append(Problem("error", entry["file"], f"批次行数不符 / batch rows {found} != manifest {expected}"))
        logged: set[str] = set()
        for entry in self._read_log():
            status, batch_id = entry.get("status"), entry.get("batch_id")
            eid = entry.get("entry_id", "?")
            if status not in ("accepted", "rejected", "duplicate"):
                problems.append(Problem("error", f"log/{eid}.json", f"未知状态 / unknown status {status!r}"))
            if status == "accepted":
                logged.add(batch_id)
                if batch_id not in manifest_batches:
                    problems.append(Problem("error", f"log/{eid}.json", f"日志中的批次不在清单中 / batch {batch_id} not in manifest"))
                elif int(manifest_batches[batch_id]["rows"]) != int(entry.get("rows_accepted") or 0):
                    problems.append(Problem("error", f"log/{eid}.json", "接收行数与批次不符 / rows_accepted differs from the batch"))
            if status in ("accepted", "rejected") and entry.get("sha256"):
                if self.original_path(entry["sha256"]) is None:
                    problems.append(Problem("error", f"log/{eid}.json", "原始文件缺失 / original file missing"))
            if entry.get("rejection_file") and not (self.path / entry["rejection_file"]).is_file():
                problems.append(Problem("error", f"log/{eid}.json", "拒收文件缺失 / rejection file missing"))
        for batch_id in manifest_batches:
            if batch_id not in logged:
                problems.append(
                    Problem("warning", batch_id, "批次缺少日志（写入中断，下次写入时恢复） / no log entry yet (interrupted; restored at next write)")
                )
        referenced = {e["file"] for e in manifest["batches"]} | {r["file"] for r in manifest["retired"]}
        for path in sorted(self._dir("batches").glob("*")):
            if f"batches/{path.name}" not in referenced:
                problems.append(Problem("warning", f"batches/{path.name}", "未登记的文件（下次写入时删除） / unreferenced file (removed at next write)"))
        problems.extend(wh_check.problems(self, manifest))
        return problems


def _rebuild_current(wh: Warehouse) -> None:
    """Refresh the engine's versions table (warehouse/current.py) after compaction, under the writer lock."""
    from warehouse import current

    current.rebuild(wh)


def conform(rows: pl.DataFrame, batch_id: str | None = None, ingested_at: datetime | None = None) -> pl.DataFrame:
    """Cast a frame to the batch schema, in its column order; fill batch_id / ingested_at (and a missing
    submitted_at with ingested_at) when given."""
    frame = rows
    if batch_id is not None:
        frame = frame.with_columns(pl.lit(batch_id).alias("batch_id"))
    if ingested_at is not None:
        frame = frame.with_columns(pl.lit(_naive_utc(ingested_at)).cast(pl.Datetime("us")).alias("ingested_at"))
    for col, dtype in BATCH_SCHEMA.items():
        if col not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=dtype).alias(col))
        elif isinstance(dtype, pl.Datetime) and isinstance(frame.schema[col], pl.Datetime) and frame.schema[col].time_zone:
            frame = frame.with_columns(pl.col(col).dt.convert_time_zone("UTC").dt.replace_time_zone(None))
    frame = frame.with_columns(pl.col("submitted_at").fill_null(pl.col("ingested_at")))
    return frame.select([pl.col(c).cast(t) for c, t in BATCH_SCHEMA.items()])


# ---- ingest orchestration ----


@dataclass
class IngestResult:
    """What happened to one submitted file."""

    status: str  # accepted / rejected / duplicate / dry_run
    file: str
    sha256: str
    batch_id: str | None = None
    entry_id: str | None = None
    rows_total: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    warnings: int = 0
    rejection_file: str | None = None  # absolute path of the rejection CSV, when one was written
    message_zh: str = ""
    message_en: str = ""
    duplicate_of: dict | None = None
    prepared: Any = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return self.status != "rejected"

    def summary(self, lang: str = "zh") -> str:
        name = Path(self.file).name
        if lang == "en":
            text = (
                f"{name}: {self.status} — {self.rows_accepted} accepted, {self.rows_rejected} rejected, "
                f"{self.warnings} warnings. {self.message_en}"
            )
            if self.rejection_file:
                text += f"\n  rejections: {self.rejection_file}"
            return text
        text = (
            f"{name}：{_STATUS_ZH[self.status]} — 接收 {self.rows_accepted} 行，拒收 {self.rows_rejected} 行，"
            f"警告 {self.warnings} 条。{self.message_zh}"
        )
        if self.rejection_file:
            text += f"\n  拒收明细 / rejections: {self.rejection_file}"
        return text


_STATUS_ZH = {"accepted": "已接收", "rejected": "已拒收", "duplicate": "重复文件", "dry_run": "试运行"}


def _valid_rows(prepared: Any) -> pl.DataFrame:
    rows = prepared.rows
    if "row_ok" in rows.columns:
        rows = rows.filter(pl.col("row_ok")).drop("row_ok")
    return rows


def _rejection_frame(prepared: Any) -> pl.DataFrame | None:
    """The rows to write to the rejection CSV (errors and warnings), or None when there is nothing to say."""
    rejections = getattr(prepared, "rejections", None)
    if rejections is not None and rejections.height > 0:
        return rejections
    if prepared.file_error:
        return pl.DataFrame(
            {
                "row": [None],
                "column": [None],
                "value": [None],
                "reason_zh": [str(prepared.file_error)],
                "reason_en": [str(prepared.file_error)],
                "severity": ["error"],
            },
            schema={"row": pl.Int64, "column": pl.Utf8, "value": pl.Utf8, "reason_zh": pl.Utf8,
                    "reason_en": pl.Utf8, "severity": pl.Utf8},
        )
    return None


def ingest_file(
    wh: Warehouse,
    path: str | os.PathLike,
    definitions: Any,
    registry: Any,
    accept_valid_rows: bool = False,
    dry_run: bool = False,
    user: str | None = None,
    now: datetime | None = None,
    sheet: str | None = None,
    rejections_path: str | os.PathLike | None = None,
    received_at: datetime | None = None,
    force: bool = False,
    scope: Any = None,
    role: str | None = None,
) -> IngestResult:
    """Validate one submission file and store it as a batch (all-or-nothing unless accept_valid_rows).

    The file is read and validated before the writer lock is taken; the lock is held only to commit (the
    duplicate check, the original, the rejection report, the batch and the log entry). Same content already
    stored -> a no-op "duplicate" result (logged). dry_run stores nothing and writes nothing in the warehouse:
    the rejection CSV goes to `rejections_path` or next to the input file; its messages give the same reasons
    a real run would. scope: region codes the user may submit for (ingest.prepare_submission); role and user
    are recorded in the log entry.
    Raises WarehouseError / WarehouseLocked for problems that are not about the file's content.
    received_at: backfill (warehouse/backfill.py): the batch's ingested_at (the as-of key) is the receipt time;
    the log keeps the real time as `logged_at` and the user as `backfilled_by`. Refused -> WarehouseError.
    """
    from warehouse.ingest import prepare_submission, write_rejections_csv

    src = Path(path)
    if not src.is_file():
        raise WarehouseError(f"文件不存在 / file not found: {src.name}")
    moment = _aware_utc(now or utc_now())
    user = user or _current_user()
    sha = sha256_file(src)
    previous = wh.has_ingested(sha) if wh.exists() else None

    def duplicate_result(entry_id: str | None, previous: dict) -> IngestResult:
        when = cst_text(_parse_iso(previous["ingested_at"]))
        return IngestResult(
            status="duplicate", file=str(src), sha256=sha, batch_id=previous["batch_id"], entry_id=entry_id,
            duplicate_of=previous,
            message_zh=f"此文件已于 {when} 作为批次 {previous['batch_id']} 接收，未做任何更改。",
            message_en=f"Already ingested as batch {previous['batch_id']} on {when}; nothing changed.",
        )

    prepared = None
    if not (previous and not dry_run):  # the work, outside the lock (skipped for content already stored)
        if not dry_run:
            from warehouse import backfill  # a WarehouseError subclass when refused

            received_at = backfill.receipt_time(src, sheet, received_at)  # the option, else the file's column
        else:
            received_at = None
        prepared = prepare_submission(src, definitions, registry, now=received_at or moment, sheet=sheet,
                                      submitted_by=user, scope=scope)
        valid = _valid_rows(prepared) if not prepared.file_error else None
        rejected_rows = int(getattr(prepared, "n_rejected", 0) or 0)
        store = valid is not None and valid.height > 0 and (rejected_rows == 0 or accept_valid_rows)
        reason_zh, reason_en = _rejection_reason(prepared, rejected_rows)

    if dry_run:
        result = _result_from(prepared, "dry_run", src, sha)
        rejections = _rejection_frame(prepared)
        if rejections is not None:
            target = Path(rejections_path) if rejections_path else src.with_name(f"{src.stem}.rejections.csv")
            write_rejections_csv(rejections, target)
            result.rejection_file = str(target.resolve())
        if not store:
            result.rows_accepted = 0
        result.message_zh = "试运行：未存储任何内容。" + ("可以接收。" if store else f"此文件会被拒收：{reason_zh}。")
        result.message_en = "Dry run: nothing stored. " + ("Would be accepted." if store else f"Would be rejected: {reason_en}.")
        if previous:
            result.duplicate_of = previous
            result.message_zh += f"（相同内容已于 {cst_text(_parse_iso(previous['ingested_at']))} 作为批次 {previous['batch_id']} 接收）"
            result.message_en += f" (same content already ingested as batch {previous['batch_id']})"
        return result

    wh._require()
    with wh.lock(user):  # the commit only
        entry_id = wh.new_entry_id(moment, sha)
        base_log = {
            "entry_id": entry_id,
            "file_name": src.name,
            "sha256": sha,
            "ingested_at": _iso(moment),
            "user": user,
            "role": role,
        }
        previous = wh.has_ingested(sha)  # again, under the lock: another writer may have stored it meanwhile
        if previous:
            wh._write_log(dict(base_log, status="duplicate", duplicate_of=previous["entry_id"],
                               batch_id=previous["batch_id"], rows_total=0, rows_accepted=0, rows_rejected=0,
                               warnings=0, message="already ingested"))
            return duplicate_result(entry_id, previous)
        if prepared is None:  # stored content, then removed from the log between the two looks: cannot happen
            raise WarehouseError("内部错误：文件未经检查 / internal error: the file was not validated")

        result = _result_from(prepared, "accepted", src, sha)
        result.entry_id = entry_id
        if received_at is not None:  # refused before anything is stored; the log keeps the real time and who
            from warehouse import backfill

            base_log.update(backfill.log_fields(wh.snapshot().files, received_at, moment,
                                                valid if store else pl.DataFrame(), force, user))
        wh.store_original(src, sha=sha)
        rejections = _rejection_frame(prepared)
        rejection_rel = None
        if rejections is not None:
            rejection_rel = f"rejections/{entry_id}.csv"
            tmp = wh._dir(".tmp") / f"{entry_id}.csv"
            write_rejections_csv(rejections, tmp)
            os.replace(tmp, wh.path / rejection_rel)
            result.rejection_file = str((wh.path / rejection_rel).resolve())
        log = dict(
            base_log,
            original=str(wh.original_path(sha).relative_to(wh.path)),
            rows_total=result.rows_total,
            rows_rejected=result.rows_rejected,
            warnings=result.warnings,
            rejection_file=rejection_rel,
        )
        if store:
            as_of_key = received_at or moment  # backfill: "as of" means received by
            batch_id = f"{stamp(as_of_key)}-{sha[:8]}"
            log.update(status="accepted", batch_id=batch_id, rows_accepted=valid.height, message="accepted")
            wh.write_batch(valid, {"sha256": sha, "ingested_at": as_of_key, "batch_id": batch_id, "log": log})
            wh._write_log(log)
            result.batch_id = batch_id
            result.rows_accepted = valid.height
            skipped = f"，另有 {result.rows_rejected} 行有错误未存储" if result.rows_rejected else ""
            skipped_en = f"; {result.rows_rejected} rows with errors were not stored" if result.rows_rejected else ""
            result.message_zh = f"已存储为批次 {batch_id}{skipped}。"
            result.message_en = f"Stored as batch {batch_id}{skipped_en}."
            return result

        result.status = "rejected"
        result.rows_accepted = 0
        log.update(status="rejected", rows_accepted=0, message=reason_en)
        wh._write_log(log)
        result.message_zh, result.message_en = reason_zh + "。", reason_en + "."
        return result


def _rejection_reason(prepared: Any, rejected_rows: int) -> tuple[str, str]:
    """Why a file would not be stored (the same words for a dry run and a real one)."""
    if prepared.file_error:
        first = prepared.rejections.row(0, named=True) if prepared.rejections.height else None
        if first and first.get("reason_zh"):
            return first["reason_zh"], first["reason_en"] or first["reason_zh"]
        return str(prepared.file_error), str(prepared.file_error)
    if rejected_rows:
        return (f"{rejected_rows} 行有错误，整份文件未存储（可用 --accept-valid-rows 只接收正确的行）",
                f"{rejected_rows} rows have errors; nothing from this file was stored "
                "(use --accept-valid-rows to store the valid rows)")
    return "文件中没有可存储的数据行", "the file has no data rows to store"


def _result_from(prepared: Any, status: str, src: Path, sha: str) -> IngestResult:
    n_rows = int(getattr(prepared, "n_rows", 0) or 0)
    n_valid = int(getattr(prepared, "n_valid", 0) or 0)
    return IngestResult(
        status=status,
        file=str(src),
        sha256=sha,
        rows_total=n_rows,
        rows_accepted=0 if prepared.file_error else n_valid,
        rows_rejected=int(getattr(prepared, "n_rejected", 0) or 0),
        warnings=int(getattr(prepared, "n_warnings", 0) or 0),
        prepared=prepared,
    )
