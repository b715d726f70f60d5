"""Tables as a leader sees them: no `None` or `nan` in a cell, the region name fixed while the table scrolls
sideways (phones), and an unranked region says why.

    from warehouse import tables
    tables.dataframe(frame, hide_index=True, width="stretch")   # instead of st.dataframe(...)

`no_blanks` is plain polars (tested without Streamlit): every missing value (null, NaN, or a text cell that
reads "None"/"nan"/"null") becomes "—". A numeric column without missing values stays numeric (it sorts and
aligns as a number); one with missing values becomes text, formatted the way Streamlit would show it.
"""

from __future__ import annotations

import zlib
from typing import Any

import polars as pl

from warehouse import i18n

DASH = "—"
_BLANK_TEXT = ("None", "none", "nan", "NaN", "null", "NULL", "NaT")

i18n.register({
    "tables.unranked.no_data": {"zh": "无数据", "en": "no data"},
    "tables.unranked.not_applicable": {"zh": "不适用", "en": "not applicable"},
})

# statuses that leave a region out of a ranking, and what the table says instead of a rank
_UNRANKED = {"no_data": "tables.unranked.no_data", "not_assessable": "tables.unranked.not_applicable"}


def unranked_text(status: str | None, lang: str) -> str:
    """Why a region has no rank: no data, or not applicable (no target, not governed, not assessable)."""
    return i18n.t(_UNRANKED.get(status or "", "tables.unranked.not_applicable"), lang)


def _text(value: Any) -> str:
    if isinstance(value, float):
        if value != value:  # NaN
            return DASH
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else str(round(value, 4))
    return str(value)


def _is_plain(dtype: pl.DataType) -> bool:
    return not isinstance(dtype, (pl.List, pl.Array, pl.Struct, pl.Object))


def no_blanks(frame: pl.DataFrame, keep: tuple[str, ...] | list[str] = ()) -> pl.DataFrame:
    """`frame` with every missing cell shown as "—" (columns in `keep`, e.g. progress bars and sparklines
    that Streamlit draws itself, are left alone)."""
    out = []
    for name, dtype in frame.schema.items():
        column = frame.get_column(name)
        if name in keep or not _is_plain(dtype):
            out.append(column)
            continue
        if dtype == pl.String:
            out.append(column.map_elements(lambda v: DASH if v is None or v.strip() in _BLANK_TEXT or v == "" else v,
                                           return_dtype=pl.String, skip_nulls=False))
            continue
        missing = column.is_null()
        if dtype.is_float():
            missing = missing | column.is_nan().fill_null(True)
        if not missing.any():
            out.append(column)
            continue
        values = column.to_list()
        out.append(pl.Series(name, [DASH if m else _text(v) for v, m in zip(values, missing.to_list())],
                             dtype=pl.String))
    return pl.DataFrame(out) if out else frame


# columns whose text comes from people and files outside planwatch (region and indicator names from the registry and
# the YAML, departments, a submitter's note, file name and name): Streamlit's own "download as CSV" in the table's
# toolbar writes cells as shown, so such a cell that starts like a spreadsheet formula is shown (and exported) with a
# leading ' (warehouse/safe_cells.py). Cells planwatch writes itself ("=" for no change, "-3.2%") are left alone.
_OUTSIDE_TEXT = ("col.region", "col.indicator", "col.department", "col.responsible", "col.note", "col.source_file",
                 "col.submitted_by")


def neutralised(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` with formula-like cells of the outside-text columns (by header, in every language) neutralised."""
    from warehouse.safe_cells import safe_cell

    headers = {i18n.t(key, lang) for key in _OUTSIDE_TEXT for lang in i18n.LANGS} | {"region_name"}
    columns = [c for c, dtype in frame.schema.items() if c in headers and dtype == pl.String]
    if not columns or not frame.height:
        return frame
    return frame.with_columns(pl.col(c).map_elements(safe_cell, return_dtype=pl.String, skip_nulls=True) for c in columns)


def region_headers() -> set[str]:
    """Column headers that hold a region's name, in every language (pinned on the left)."""
    return {i18n.t("col.region", lang) for lang in i18n.LANGS} | {"region_name"}


def dataframe(frame: pl.DataFrame, *, column_config: dict | None = None, pin: str | None = None, **kwargs: Any):
    """`st.dataframe` with no blank cells and the region column pinned (it stays in view while a wide table
    scrolls sideways on a phone). Columns with their own `column_config` entry are passed through as they are."""
    import streamlit as st

    if not isinstance(frame, pl.DataFrame):
        return st.dataframe(frame, column_config=column_config, **kwargs)
    config = dict(column_config or {})
    shown = no_blanks(neutralised(frame), keep=tuple(config))
    pinned = pin or next((c for c in shown.columns if c in region_headers()), None)
    if pinned and pinned not in config:
        config[pinned] = st.column_config.Column(pinned=True)
        return st.dataframe(shown, column_config=config, **kwargs)
    indicator = next((c for c in shown.columns if c in {i18n.t("col.indicator", lang) for lang in i18n.LANGS}), None)
    if indicator is None or indicator in config or "on_select" in kwargs:
        return st.dataframe(shown, column_config=config or None, **kwargs)
    # indicator names are long: pinned at full width they would fill a phone's screen, so the phone gets
    # its own copy with the name pinned at medium width (warehouse/narrow.py shows one of the two)
    from warehouse import narrow

    key = kwargs.pop("key", None) or f"t{zlib.crc32('|'.join(shown.columns).encode())}"
    with narrow.wide_only(f"{key}_w"):
        st.dataframe(shown, column_config=config or None, key=f"{key}_w", **kwargs)
    with narrow.narrow_only(f"{key}_n"):
        return st.dataframe(shown, column_config={**config, indicator: st.column_config.Column(pinned=True, width="medium")},
                            key=f"{key}_n", **kwargs)


def with_rank_reasons(table: pl.DataFrame, composite: pl.DataFrame, indicator_ranks: dict[str, pl.DataFrame],
                      lang: str) -> pl.DataFrame:
    """The league table (quality.league_table) with every missing rank replaced by why the region is not
    ranked: "no data" or "not applicable" (from the region's status for that indicator; for the composite,
    no data when none of its indicators has data)."""
    out = table
    if "rank" in out.columns and out["rank"].null_count():
        counts = composite.select("region_code", "n_indicators", "n_no_data") if {
            "n_indicators", "n_no_data"} <= set(composite.columns) else None
        why = {}
        if counts is not None:
            for code, n, no_data in counts.iter_rows():
                why[code] = unranked_text("no_data" if n and no_data is not None and no_data >= n else "not_assessable", lang)
        out = out.with_columns(pl.Series("rank", [
            str(rank) if rank is not None else why.get(code, unranked_text(None, lang))
            for rank, code in zip(out["rank"].to_list(), out["region_code"].to_list())
        ], dtype=pl.String))
    for column in [c for c in out.columns if c.startswith("rank:")]:
        if not out[column].null_count():
            continue
        frame = indicator_ranks.get(column.split(":", 1)[1])
        statuses = dict(frame.select("region_code", "status").iter_rows()) if frame is not None and "status" in frame.columns else {}
        out = out.with_columns(pl.Series(column, [
            str(rank) if rank is not None else unranked_text(statuses.get(code), lang)
            for rank, code in zip(out[column].to_list(), out["region_code"].to_list())
        ], dtype=pl.String))
    return out
