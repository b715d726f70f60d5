"""The submission contract's columns and the headers that name them; locating the header row (below title rows,
blank rows and merged title cells) and mapping its headers to fields."""

from __future__ import annotations

import difflib
import re
import unicodedata

import polars as pl

from warehouse.ingest_limits import SubmissionFileError
from warehouse.ingest_read import RawTable, not_blank

# ---- the contract: fields and the headers that name them ----
FIELDS = [
    "region_code", "region_name", "indicator_id", "period", "value",
    "numerator", "denominator", "note", "submitted_by", "submitted_at",
]
FIELD_ZH = {
    "region_code": "地区代码", "region_name": "地区名称", "indicator_id": "指标代码", "period": "统计期",
    "value": "数值", "numerator": "分子", "denominator": "分母", "note": "备注",
    "submitted_by": "填报人", "submitted_at": "填报时间",
}
HEADER_ALIASES = {
    "region_code": ["地区代码", "区划代码", "行政区划代码", "统计用区划代码", "地区编码", "区划编码", "region_code", "code"],
    "region_name": ["地区名称", "区划名称", "地区", "region_name", "region"],
    "indicator_id": ["指标代码", "指标编码", "指标id", "indicator_id", "indicator"],
    "period": ["统计期", "期间", "统计期间", "报告期", "period"],
    "value": ["数值", "指标值", "值", "value"],
    "numerator": ["分子", "numerator"],
    "denominator": ["分母", "denominator"],
    "note": ["备注", "说明", "note", "notes", "remark"],
    "submitted_by": ["填报人", "填报单位", "submitted_by", "submitter"],
    "submitted_at": ["填报时间", "填报日期", "submitted_at"],
}
# Columns of the template that help the person filling it in; read and ignored.
INFO_HEADERS = {"指标名称", "单位", "计量单位", "序号", "indicator_name", "unit", "no",
                "收到时间", "received_at"}  # the file's receipt time: read by warehouse/backfill.py
BATCH_COLUMNS = {
    "region_code": pl.String, "indicator_id": pl.String, "period": pl.String, "period_end": pl.Date,
    "value": pl.Float64, "numerator": pl.Float64, "denominator": pl.Float64, "note": pl.String,
    "submitted_by": pl.String, "submitted_at": pl.Datetime("us", "UTC"), "source_file": pl.String,
    "source_row": pl.Int32,
}
REJECTION_SCHEMA = {
    "row": pl.Int64, "column": pl.String, "value": pl.String,
    "reason_zh": pl.String, "reason_en": pl.String, "severity": pl.String,
    "problem_zh": pl.String, "problem_en": pl.String,  # the kind of problem, for grouping (ingest_report)
}
_ALIAS_TO_FIELD = {}


def _header_key(text: object) -> str:
    key = unicodedata.normalize("NFKC", str(text or "")).replace("\ufeff", "").strip().lower()
    key = re.sub(r"\s*[(\[（【].*?[)\]）】]\s*$", "", key)  # 数值（%） / value (unit)
    key = key.strip("*＊ ").replace(" ", "_").replace("-", "_")
    return key


for _field, _aliases in HEADER_ALIASES.items():
    for _alias in _aliases:
        _ALIAS_TO_FIELD[_header_key(_alias)] = _field
_INFO_KEYS = {_header_key(h) for h in INFO_HEADERS}

HEADER_SCAN = 30  # the header row is looked for among the first 30 non-blank rows


def _known_fields(cells: list[str]) -> set[str]:
    return {_ALIAS_TO_FIELD[k] for k in (_header_key(c) for c in cells) if k in _ALIAS_TO_FIELD}


def locate_header(table: RawTable, name: str) -> RawTable:
    """The header is the first of the first HEADER_SCAN non-blank rows that names at least two fields of the
    contract (so a title row, a merged title cell or a unit line above it is passed over). Rows above it are
    dropped; cells right of the last header must be empty. Raises SubmissionFileError naming the rows looked at
    and the expected headers when no row qualifies."""
    frame = table.frame
    head = frame.head(HEADER_SCAN)
    index = next((i for i, record in enumerate(head.iter_rows()) if len(_known_fields(list(record[1:]))) >= 2), None)
    if index is None:
        rows = head["_row"].to_list()
        looked = f"{rows[0]}–{rows[-1]}" if len(rows) > 1 else str(rows[0])
        first = [c.strip() for c in head.row(0)[1:] if c.strip()][:6]
        shown = "、".join(repr(c) for c in first)
        shown_en = ", ".join(repr(c) for c in first)
        raise SubmissionFileError(
            f"{name}: 在第 {looked} 行中找不到表头（第 {rows[0]} 行为 {shown}）；表头应含以下列名中的至少两个："
            f"{'、'.join(FIELD_ZH.values())}（或英文 {', '.join(FIELDS)}）",
            f"{name}: no header row found in rows {looked} (row {rows[0]} holds {shown_en}); the header must name at "
            f"least two of: {', '.join(FIELDS)} (or in Chinese {'、'.join(FIELD_ZH.values())})",
        )
    header_row, *header_cells = head.row(index)
    return _cut_to_header(table, frame.slice(index + 1), [str(h).strip() for h in header_cells], header_row, name)


def _cut_to_header(table: RawTable, data: pl.DataFrame, header_cells: list[str], header_row: int, name: str) -> RawTable:
    headers = list(header_cells)
    while headers and headers[-1] == "":
        headers.pop()
    table = RawTable(frame=fit_to_header(data, len(headers), header_row, name), headers=headers,
                     encoding=table.encoding, header_row=header_row, blocks=table.blocks)
    if table.blocks is not None:
        blocks = table.blocks
        table.blocks = (fit_to_header(block, len(headers), header_row, name) for block in blocks)
    return table


def fit_to_header(data: pl.DataFrame, width: int, header_row: int, name: str) -> pl.DataFrame:
    """_row and c0..c{width-1}: cells right of the header must be empty; short records are padded with ""."""
    columns = [c for c in data.columns if c != "_row"]
    if len(columns) > width:
        overflow = data.filter(pl.any_horizontal([not_blank(c) for c in columns[width:]]))
        if overflow.height:
            r, *values = overflow.row(0)
            col = next(j for j in range(width, len(values)) if values[j].strip())
            raise SubmissionFileError(
                f"{name} 第 {r} 行第 {col + 1} 列有数据 {values[col]!r}，但该列没有表头（表头在第 {header_row} 行）",
                f"{name} row {r}, column {col + 1} holds {values[col]!r} but the column has no header "
                f"(the header is row {header_row})",
            )
    return data.select("_row", *columns[:width], *[pl.lit("").alias(f"c{j}") for j in range(len(columns), width)])


def map_headers(headers: list[str], name: str) -> dict[str, int]:
    """field -> column index. Raises SubmissionFileError for unknown, duplicate or missing columns."""
    mapping: dict[str, int] = {}
    unknown = []
    for j, header in enumerate(headers):
        key = _header_key(header)
        if key == "" or key in _INFO_KEYS:
            continue
        target = _ALIAS_TO_FIELD.get(key)
        if target is None:
            unknown.append(header)
            continue
        if target in mapping:
            raise SubmissionFileError(
                f"{name}: 列 {headers[mapping[target]]!r} 和 {header!r} 都表示{FIELD_ZH[target]}，只能保留一列",
                f"{name}: columns {headers[mapping[target]]!r} and {header!r} both mean {target}; keep one",
            )
        mapping[target] = j
    if unknown:
        known = list(_ALIAS_TO_FIELD) + list(_INFO_KEYS)
        parts_zh, parts_en = [], []
        for header in unknown:
            close = difflib.get_close_matches(_header_key(header), known, n=1, cutoff=0.5)
            hint = close[0] if close else None
            parts_zh.append(f"{header!r}" + (f"（是否为 {hint!r}？）" if hint else ""))
            parts_en.append(f"{header!r}" + (f" (did you mean {hint!r}?)" if hint else ""))
        raise SubmissionFileError(
            f"{name}: 无法识别的列 {'、'.join(parts_zh)}；可用的列：{'、'.join(FIELD_ZH.values())}",
            f"{name}: unknown columns {', '.join(parts_en)}; known columns: {', '.join(FIELDS)}",
        )
    missing = [f for f in ("region_code", "indicator_id", "period") if f not in mapping]
    has_value = "value" in mapping or ("numerator" in mapping and "denominator" in mapping)
    if not has_value:
        if "numerator" in mapping or "denominator" in mapping:
            missing.append("denominator" if "numerator" in mapping else "numerator")
        else:
            missing.append("value")
    if missing:
        raise SubmissionFileError(
            f"{name}: 缺少必填列 {'、'.join(FIELD_ZH[f] + '(' + f + ')' for f in missing)}；现有列：{'、'.join(headers)}",
            f"{name}: missing required columns {', '.join(missing)}; found: {', '.join(headers)}",
        )
    return mapping

