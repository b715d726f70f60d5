"""Resource limits for a submission file, and the error a file as a whole gets.

The defaults live here and nowhere else (docs/submissions.md "Limits" lists them). Each can be changed with an
environment variable read when a file is prepared, or by passing `Limits(...)` to `prepare_submission`:

| limit                      | default        | environment variable                   |
|----------------------------|----------------|----------------------------------------|
| file size                  | 300 MB         | PLANWATCH_INGEST_MAX_FILE_MB           |
| data rows                  | 6,000,000      | PLANWATCH_INGEST_MAX_ROWS              |
| XLSX uncompressed size     | 256 MB         | PLANWATCH_INGEST_MAX_XLSX_MB           |
| XLSX cells                 | 5,000,000      | PLANWATCH_INGEST_MAX_XLSX_CELLS        |
| characters in one cell     | 32,767 (Excel) | PLANWATCH_INGEST_MAX_CELL_CHARS        |

Every limit is checked before the costly work (the file size before reading, the row count of a CSV by counting
its line ends, the sizes recorded in an XLSX's zip directory before unzipping, a Parquet file's row count from its
footer); the cell counts of an XLSX while streaming it, stopping at the limit.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields

MB = 1024 * 1024


class SubmissionFileError(Exception):
    """The file as a whole cannot be used (unreadable, too large, no header, unknown or missing columns)."""

    def __init__(self, zh: str, en: str):
        super().__init__(f"{zh} / {en}")
        self.zh = zh
        self.en = en


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int = 300 * MB
    max_rows: int = 6_000_000
    max_xlsx_uncompressed_bytes: int = 256 * MB
    max_xlsx_cells: int = 5_000_000
    max_cell_chars: int = 32_767

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Limits:
        """The defaults, overridden by the PLANWATCH_INGEST_* variables that are set (a bad value is an error)."""
        environ = os.environ if environ is None else environ
        values = {}
        for f in fields(cls):
            name, scale = _ENV[f.name]
            raw = environ.get(name)
            if raw is None or raw.strip() == "":
                continue
            try:
                number = float(raw)
            except ValueError:
                number = -1
            if not number > 0 or number != number or number == float("inf"):
                raise SubmissionFileError(f"环境变量 {name}={raw!r} 不是正数", f"environment variable {name}={raw!r} is not a positive number")
            values[f.name] = int(number * scale)
        return cls(**values)


_ENV = {
    "max_file_bytes": ("PLANWATCH_INGEST_MAX_FILE_MB", MB),
    "max_rows": ("PLANWATCH_INGEST_MAX_ROWS", 1),
    "max_xlsx_uncompressed_bytes": ("PLANWATCH_INGEST_MAX_XLSX_MB", MB),
    "max_xlsx_cells": ("PLANWATCH_INGEST_MAX_XLSX_CELLS", 1),
    "max_cell_chars": ("PLANWATCH_INGEST_MAX_CELL_CHARS", 1),
}


def size_text(n_bytes: int) -> str:
    """1.5 MB, 300 MB, 512 KB: for messages."""
    if n_bytes >= MB:
        value = n_bytes / MB
        return f"{value:.0f} MB" if value >= 10 or value.is_integer() else f"{value:.1f} MB"
    return f"{max(1, round(n_bytes / 1024))} KB"


def too_large(name: str, what_zh: str, what_en: str, found: str, limit: str, env: str) -> SubmissionFileError:
    """The error for a limit exceeded: what, how much, the limit and how to raise it."""
    return SubmissionFileError(
        f"{name}: {what_zh}（{found}）超过上限 {limit}；请拆分文件后分别导入，或由管理员调整 {env}",
        f"{name}: {what_en} ({found}) exceeds the limit of {limit}; split the file, or ask the administrator to raise {env}",
    )
