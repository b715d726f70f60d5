"""Validated rows of a submission spooled to disk, so a large file's rows are never all in memory at once.

`storage.ingest_file` validates a file before it takes the writer lock. With a `Spool`, `ingest_checks.validate`
writes each validated chunk (at most CHUNK_ROWS rows) to `<warehouse>/.spool/<pid>-<random>/part-NNNNN.parquet`
instead of keeping it (a small file's single chunk stays in memory, KEEP_ROWS); under the lock,
`Warehouse.write_batch` commits ONE Delta commit streaming the parts back (`frames`), leaving out the rows that
the whole-file duplicate check refused afterwards (`drop`).

A spool folder holds an `owner` file locked (flock) by the process that writes it, for as long as the spool
lives. `remove()` deletes the folder after success or failure; a folder whose owner lock is free was left by a
process that died (kill -9, power loss): `warehouse check` reports it (`leftovers`) and the next writer deletes it
(`clean`, run with the .tmp tidy-up under the writer lock). A spool of a live process is never touched: it may
still be validating, before it takes the writer lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import polars as pl

SPOOL_DIR = ".spool"
KEEP_ROWS = 100_000  # a file of one chunk up to this size is not written: the spool would only cost time
_KEYS = {"source_row": "_row", "region_code": "_code", "indicator_id": "_ind", "period": "_label"}


class Spool:
    """Rows (the batch columns of ingest_headers.BATCH_COLUMNS) written part by part; see the module doc."""

    def __init__(self, warehouse_root: str | os.PathLike):
        root = Path(warehouse_root) / SPOOL_DIR
        root.mkdir(parents=True, exist_ok=True)
        self.dir = Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-", dir=root))
        self._owner = open(self.dir / "owner", "w", encoding="utf-8")
        fcntl.flock(self._owner.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._owner.write(str(os.getpid()))
        self._owner.flush()
        self.reset()

    def reset(self) -> None:
        """Forget what was written (a reader falling back to the whole-file path validates again)."""
        for part in self.dir.glob("part-*.parquet"):
            part.unlink()
        self._parts: list[Path | pl.DataFrame] = []  # the first part stays in memory until a second one comes
        self._written = 0
        self._excluded = pl.Series("source_row", [], pl.Int32)

    def add(self, rows: pl.DataFrame) -> None:
        """Add one validated chunk (in file order) as the next part. A first chunk of at most KEEP_ROWS rows (nearly
        every submission is one such chunk) is kept in memory; anything more is written to disk (the first part too,
        when a second comes)."""
        if rows.height == 0:
            return
        if self._parts and isinstance(self._parts[0], pl.DataFrame):
            self._parts[0] = self._write(self._parts[0], 0)
        keep = not self._parts and rows.height <= KEEP_ROWS
        self._parts.append(rows if keep else self._write(rows, len(self._parts)))
        self._written += rows.height

    def _write(self, rows: pl.DataFrame, index: int) -> Path:
        part = self.dir / f"part-{index:05d}.parquet"
        rows.write_parquet(part, compression="lz4", statistics=False)
        return part

    @staticmethod
    def _read(part: Path | pl.DataFrame, columns: list[str] | None = None) -> pl.DataFrame:
        if isinstance(part, pl.DataFrame):
            return part if columns is None else part.select(columns)
        return pl.read_parquet(part, columns=columns)

    def keys(self, candidates: pl.Series) -> pl.DataFrame:
        """The (_row, _code, _ind, _label) of the spooled rows whose source row is in `candidates` (the rows whose
        key hash is not unique in the file), read back one part at a time (four columns)."""
        wanted = candidates.cast(pl.Int32).implode()
        frames = [self._read(part, list(_KEYS)).filter(pl.col("source_row").is_in(wanted))
                  for part in self._parts] if candidates.len() else []
        schema = {"_row": pl.Int64, "_code": pl.String, "_ind": pl.String, "_label": pl.String}
        if not frames:
            return pl.DataFrame(schema=schema)
        return pl.concat(frames).rename(_KEYS).cast(schema)

    def drop(self, source_rows: pl.Series) -> None:
        """Leave these source rows (spooled ones, not left out before) out of what is committed (found by the
        whole-file duplicate check)."""
        self._excluded = pl.concat([self._excluded, source_rows.cast(pl.Int32)]).unique()
        self._written -= sum(int(self._read(part, ["source_row"])["source_row"]
                                 .is_in(source_rows.cast(pl.Int32).implode()).sum()) for part in self._parts)

    @property
    def height(self) -> int:
        """Rows that will be committed."""
        return self._written

    def frames(self, chunk_rows: int) -> Iterator[pl.DataFrame]:
        """The rows to commit, in file order, at most `chunk_rows` at a time."""
        excluded = self._excluded.implode()
        for part in self._parts:
            frame = self._read(part)
            if self._excluded.len():
                frame = frame.filter(~pl.col("source_row").is_in(excluded))
            for start in range(0, frame.height, chunk_rows):
                yield frame.slice(start, chunk_rows)
            del frame

    def select(self, *columns: str) -> pl.DataFrame:
        """These columns of the rows to commit (backfill.check reads the keys)."""
        frames = [self._read(part, [*columns, "source_row"]) for part in self._parts]
        if not frames:
            return pl.DataFrame()
        frame = pl.concat(frames)
        if self._excluded.len():
            frame = frame.filter(~pl.col("source_row").is_in(self._excluded.implode()))
        return frame.select(*columns)

    def remove(self) -> None:
        """Delete the spool folder (after success or failure)."""
        shutil.rmtree(self.dir, ignore_errors=True)
        with contextlib.suppress(OSError):
            self._owner.close()  # releases the lock


def _dead(folder: Path) -> bool:
    """True when no live process holds the folder's owner lock (or it has none and is more than a minute old: a
    process died creating it; a younger one may be taking its lock right now)."""
    try:
        fh = open(folder / "owner", "r", encoding="utf-8")
    except OSError:
        with contextlib.suppress(OSError):
            return time.time() - folder.stat().st_mtime > 60
        return False
    with fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        return True


def leftovers(warehouse_root: str | os.PathLike) -> list[Path]:
    """Spool folders left by processes that died."""
    root = Path(warehouse_root) / SPOOL_DIR
    return [d for d in sorted(root.iterdir()) if d.is_dir() and _dead(d)] if root.is_dir() else []


def clean(warehouse_root: str | os.PathLike) -> int:
    """Delete the spool folders left by processes that died; returns how many."""
    found = leftovers(warehouse_root)
    for folder in found:
        shutil.rmtree(folder, ignore_errors=True)
    return len(found)
