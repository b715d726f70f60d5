"""Shared pieces of the warehouse: the batch row schema, errors, time helpers, snapshots and check problems.

storage.py re-exports everything here, so callers keep importing from `warehouse.storage`.
"""

from __future__ import annotations

import getpass
import hashlib
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import polars as pl

from warehouse.periods import to_cst

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
    """What a reader sees: the Parquet files of one table version, optionally as of a time.

    `files` are absolute paths. A compacted file holds rows of several batches; when `as_of` is set, readers
    must also filter rows with `ingested_at <= as_of` (see `where_sql` / `scan` / `register`).
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
        return naive_utc(self.as_of)

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
            cols = ", ".join(f"CAST(NULL AS {duck_type(t)}) AS {c}" for c, t in BATCH_SCHEMA.items())
            con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT {cols} WHERE FALSE")
            return
        files = ", ".join("'" + f.replace("'", "''") + "'" for f in self.files)
        where = "TRUE"
        if self.as_of is not None:
            where = f"ingested_at <= TIMESTAMP '{self.as_of_naive_utc.isoformat(sep=' ')}'"
        cols = ", ".join(BATCH_SCHEMA)
        con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT {cols} FROM read_parquet([{files}]) WHERE {where}")


@dataclass
class Problem:
    severity: str  # "error" (data at risk or inconsistent) or "warning" (harmless leftovers)
    what: str  # file or log entry concerned
    message: str

    def __str__(self) -> str:
        return f"{self.severity}: {self.what}: {self.message}"


def duck_type(dtype: pl.DataType) -> str:
    return {
        pl.Utf8: "VARCHAR",
        pl.Date: "DATE",
        pl.Float64: "DOUBLE",
        pl.Datetime: "TIMESTAMP",
        pl.Int32: "INTEGER",
    }[dtype.base_type()]


def naive_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment  # already naive UTC by convention
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def aware_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def iso(moment: datetime) -> str:
    return aware_utc(moment).isoformat(timespec="microseconds")


def parse_iso(text: str) -> datetime:
    return aware_utc(datetime.fromisoformat(text))


def stamp(moment: datetime) -> str:
    """Sortable UTC stamp used in batch ids: 20250131T160000123456Z."""
    return aware_utc(moment).strftime("%Y%m%dT%H%M%S%fZ")


def cst_text(moment: datetime) -> str:
    """A stored UTC time shown in China Standard Time."""
    return to_cst(aware_utc(moment)).strftime("%Y-%m-%d %H:%M CST")


def sha256_file(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def current_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry in some containers
        return str(os.getuid())


def conform(rows: pl.DataFrame, batch_id: str | None = None, ingested_at: datetime | None = None) -> pl.DataFrame:
    """Cast a frame to the batch schema, in its column order; fill batch_id / ingested_at (and a missing
    submitted_at with ingested_at) when given."""
    frame = rows
    if batch_id is not None:
        frame = frame.with_columns(pl.lit(batch_id).alias("batch_id"))
    if ingested_at is not None:
        frame = frame.with_columns(pl.lit(naive_utc(ingested_at)).cast(pl.Datetime("us")).alias("ingested_at"))
    for col, dtype in BATCH_SCHEMA.items():
        if col not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=dtype).alias(col))
        elif isinstance(dtype, pl.Datetime) and isinstance(frame.schema[col], pl.Datetime) and frame.schema[col].time_zone:
            frame = frame.with_columns(pl.col(col).dt.convert_time_zone("UTC").dt.replace_time_zone(None))
    frame = frame.with_columns(pl.col("submitted_at").fill_null(pl.col("ingested_at")))
    return frame.select([pl.col(c).cast(t) for c, t in BATCH_SCHEMA.items()])
