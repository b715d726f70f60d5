"""Read, normalise and validate a submission file (the data contract is docs/submissions.md).

`prepare_submission` never raises on bad input: an unreadable file, a file over the limits or a missing column
becomes `PreparedSubmission.file_error`; every bad cell becomes a row of `.rejections` with the spreadsheet row
number, the column as written in the file, the value, and the reason in Chinese and English. `.rows` holds only
the rows that passed (ready for storage.py to add batch_id and ingested_at).

The work is split by concern:
    ingest_limits.py   resource limits (defaults, environment overrides) and SubmissionFileError
    ingest_read.py     the file's type from its content; CSV and Parquet to text cells (ingest_xlsx.py: XLSX,
                       ingest_stream.py: a large plain CSV in blocks)
    ingest_headers.py  the contract's columns, locating the header row, mapping headers to fields
    ingest_lookups.py  what cells mean: numbers, timestamps, region codes, indicator ids
    ingest_checks.py   the row checks, in chunks; duplicates over the whole file
    ingest_report.py   the rejection report (grouped by problem) and the text summary
This module keeps the public names importable from `warehouse.ingest`.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import polars as pl

from warehouse.definitions import Definitions
from warehouse.ingest_checks import MAX_ABS_VALUE, validate
from warehouse.ingest_headers import (  # noqa: F401  (public names; _header_key for warehouse/backfill.py)
    BATCH_COLUMNS, FIELD_ZH, FIELDS, HEADER_ALIASES, INFO_HEADERS, REJECTION_SCHEMA, _header_key, locate_header,
    map_headers,
)
from warehouse.ingest_limits import Limits, SubmissionFileError  # noqa: F401
from warehouse.ingest_lookups import MISSING_TOKENS, normalise_numbers  # noqa: F401
from warehouse.ingest_read import RawTable, read_table, sniff  # noqa: F401
from warehouse.ingest_stream import StreamFallback
from warehouse.ingest_report import (  # noqa: F401
    REJECTION_HEADERS, group_rejections, report_lines, summary_text, write_rejections_csv,
)
from warehouse.periods import utc_now
from warehouse.regions import RegionRegistry

__all__ = [
    "BATCH_COLUMNS", "FIELDS", "FIELD_ZH", "HEADER_ALIASES", "INFO_HEADERS", "MAX_ABS_VALUE", "MISSING_TOKENS",
    "REJECTION_HEADERS", "REJECTION_SCHEMA", "Limits", "PreparedSubmission", "RawTable", "SubmissionFileError",
    "group_rejections", "locate_header", "map_headers", "normalise_numbers", "prepare_submission", "read_table",
    "report_lines", "sniff",
    "summary_text", "write_rejections_csv",
]


@dataclass
class PreparedSubmission:
    source_file: str
    rows: pl.DataFrame  # valid rows only, BATCH_COLUMNS
    rejections: pl.DataFrame  # REJECTION_SCHEMA; errors and warnings
    n_rows: int = 0  # data rows in the file (blank rows not counted)
    n_valid: int = 0  # rows in .rows
    n_rejected: int = 0  # rows with at least one error
    n_warnings: int = 0  # warning entries
    n_missing: int = 0  # rows skipped because the value is missing (warning, nothing stored)
    file_error: str | None = None
    columns: dict[str, str] = field(default_factory=dict)  # field -> header as written in the file
    encoding: str | None = None
    header_row: int | None = None  # the spreadsheet row of the header (title rows above it are skipped)
    kind: str | None = None  # csv / xlsx / parquet, from the content


def _clean(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """Strip spaces (incl. full-width) from `columns`; empty -> null. One column at a time, so only one column's
    old text is alive beside the new (a 5-million-row file holds ~90 MB per text column)."""
    for c in columns:
        frame = frame.with_columns(pl.col(c).str.strip_chars(" \t\r\n\u3000\ufeff").replace("", None))
    return frame


def _file_error(name: str, zh: str, en: str, **extra) -> PreparedSubmission:
    rejection = pl.DataFrame([{"row": None, "column": None, "value": None, "reason_zh": zh, "reason_en": en,
                               "severity": "error", "problem_zh": zh, "problem_en": en}], schema=REJECTION_SCHEMA)
    return PreparedSubmission(source_file=name, rows=pl.DataFrame(schema=BATCH_COLUMNS), rejections=rejection,
                              file_error=f"{zh} / {en}", **extra)


def prepare_submission(path: str | Path, definitions: Definitions, registry: RegionRegistry, now: datetime | None = None,
                       sheet: str | None = None, submitted_by: str | None = None,
                       scope: Sequence[str] | None = None, limits: Limits | None = None,
                       spool=None) -> PreparedSubmission:
    """Read and validate one submission file. Never raises on bad input (see the module docstring).

    scope: the canonical region codes the submitter may report for (groups already expanded by the caller);
    a row for any other region (not one of them nor below one) is rejected. None: no restriction.
    limits: resource limits (default: Limits.from_env()).
    spool: an ingest_spool.Spool to hold the valid rows instead of `.rows` (storage.ingest_file: a large file's
    rows are never all in memory); `.n_valid` counts them either way."""
    path = Path(path)
    now = now or utc_now()
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    try:
        return _prepare(path, definitions, registry, now, sheet, submitted_by, scope, limits, True, spool)
    except StreamFallback:  # a later block of a large CSV is not plain: read the file the ordinary way
        return _prepare(path, definitions, registry, now, sheet, submitted_by, scope, limits, False, spool)


def _prepare(path: Path, definitions: Definitions, registry: RegionRegistry, now: datetime, sheet: str | None,
             submitted_by: str | None, scope: Sequence[str] | None, limits: Limits | None,
             stream: bool, spool=None) -> PreparedSubmission:
    try:
        table = read_table(path, sheet=sheet, limits=limits or Limits.from_env(), stream=stream)
        mapping = map_headers(table.headers, path.name)
    except SubmissionFileError as exc:
        return _file_error(path.name, exc.zh, exc.en)
    except Exception as exc:  # a reader failing in a way not foreseen: still a message, never a traceback
        return _file_error(path.name, f"无法读取此文件（{type(exc).__name__}）",
                           f"cannot read this file ({type(exc).__name__})")
    headers = {f: table.headers[j] for f, j in mapping.items()}
    meta = {"encoding": table.encoding, "header_row": table.header_row, "kind": table.kind}
    cleaned = [f for f in FIELDS if f in mapping]

    def fields(frame: pl.DataFrame) -> pl.DataFrame:
        raw = frame.select(
            "_row", *[(pl.col(f"c{mapping[f]}") if f in mapping else pl.lit(None, pl.String)).alias(f) for f in FIELDS])
        del frame  # the file's unused columns go now
        return _clean(raw, cleaned)

    first, blocks = table.frame, table.blocks
    del table
    chunks = itertools.chain([first], blocks or [])
    del first
    try:
        checked = validate((fields(chunk) for chunk in chunks), definitions, registry, now, headers, path.name,
                           submitted_by, scope, spool)
    except SubmissionFileError as exc:  # found in a later block of a large CSV (a cell too long, ...)
        return _file_error(path.name, exc.zh, exc.en)
    if checked.n_rows == 0:
        return _file_error(path.name, f"文件只有表头（第 {meta['header_row']} 行），没有数据行",
                           f"the file has a header (row {meta['header_row']}) but no data rows", columns=headers, **meta)
    return PreparedSubmission(
        source_file=path.name,
        rows=checked.rows,
        rejections=checked.rejections,
        n_rows=checked.n_rows,
        n_valid=checked.n_valid,
        n_rejected=checked.n_rejected,
        n_warnings=checked.rejections.filter(pl.col("severity") == "warning").height,
        n_missing=checked.n_missing,
        columns=headers,
        **meta,
    )
