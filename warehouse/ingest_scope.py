"""Uploads checked against the uploader's region scope (issue 10).

`restrict(prepared, scope)`: rows of a prepared submission whose region is outside `scope` (canonical codes,
groups already expanded; a code covers everything below it) become rejected rows like any other invalid row:
row as seen in the spreadsheet, the region column as written in the file's header, the code, and the reason
"outside your access". Used by storage.ingest_file(..., scope=...). The interface agreed with issue 11a
(`prepare_submission(..., scope=...)`) may take this over; the behaviour is the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import polars as pl

REASON_ZH = "超出您的访问范围：您无权报送该地区的数据"
REASON_EN = "outside your access: you may not submit data for this region"


def restrict(prepared: Any, scope: Sequence[str] | None) -> Any:
    """The prepared submission with the rows outside `scope` moved to its rejections (None: no restriction)."""
    if scope is None or prepared.file_error or prepared.rows.height == 0:
        return prepared
    roots = tuple(str(c) for c in scope)
    if "CN" in roots:
        return prepared
    rows = prepared.rows
    inside = pl.col("region_code").map_elements(lambda c: str(c).startswith(roots), return_dtype=pl.Boolean)
    outside = rows.filter(~inside)
    if outside.height == 0:
        return prepared
    column = prepared.columns.get("region_code", "region_code") if isinstance(prepared.columns, dict) else "region_code"
    new = pl.DataFrame(
        {
            "row": outside["source_row"].cast(pl.Int64) if "source_row" in outside.columns else [None] * outside.height,
            "column": [column] * outside.height,
            "value": outside["region_code"].cast(pl.String),
            "reason_zh": [REASON_ZH] * outside.height,
            "reason_en": [REASON_EN] * outside.height,
            "severity": ["error"] * outside.height,
        },
        schema=prepared.rejections.schema,
    )
    rejected_rows = set(prepared.rejections.filter(pl.col("severity") == "error")["row"].to_list())
    added = len(set(new["row"].to_list()) - rejected_rows)
    return replace(
        prepared,
        rows=rows.filter(inside),
        rejections=pl.concat([prepared.rejections, new]).sort("row", nulls_last=False),
        n_valid=prepared.n_valid - outside.height,
        n_rejected=prepared.n_rejected + added,
    )
