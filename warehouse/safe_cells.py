"""Spreadsheet formula injection: neutralise text cells before planwatch writes a CSV or XLSX file.

OWASP's rule (CSV Injection): a cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is read by
Excel, LibreOffice and WPS as a formula (`=HYPERLINK(...)`, `=cmd|' /C calc'!A0`, `@SUM(...)`). Such a cell gets a
leading `'`, so the program shows it as text. Real numbers stay numbers: numeric columns are never touched and a
text cell that is a plain number (`-12.5`, `+3`) is left as it is.

    safe_cell("=1+1")      -> "'=1+1"
    safe_cell("-12.5")     -> "-12.5"
    safe_frame(frame)      -> the frame with every text column neutralised
"""

from __future__ import annotations

import re
from typing import Any

import polars as pl

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def safe_cell(value: Any) -> Any:
    """The cell as it may be written: text starting with a trigger (and not a number) gets a leading `'`."""
    if isinstance(value, str) and value.startswith(TRIGGERS) and not _NUMBER.match(value):
        return "'" + value
    return value


def safe_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """Every text column neutralised (column names too: they are cells of the header row)."""
    text_columns = [c for c, dtype in frame.schema.items() if dtype == pl.String]
    out = frame.with_columns(
        pl.col(c).map_elements(safe_cell, return_dtype=pl.String, skip_nulls=True) for c in text_columns
    ) if text_columns and frame.height else frame
    renames = {c: safe_cell(c) for c in out.columns if safe_cell(c) != c}
    return out.rename(renames) if renames else out
