"""Read, normalise and validate a submission file (the data contract is docs/submissions.md).

`prepare_submission` never raises on bad input: an unreadable file or a missing column becomes
`PreparedSubmission.file_error`; every bad cell becomes a row of `.rejections` with the spreadsheet row
number (header = row 1), the column as written in the file, the value, and the reason in Chinese and English.
`.rows` holds only the rows that passed (ready for storage.py to add batch_id and ingested_at).
"""

from __future__ import annotations

import csv
import difflib
import gc
import io
import itertools
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from pathlib import Path

import polars as pl

from warehouse.definitions import AggregationRule, Definitions
from warehouse.periods import CST, parse_period, period_end_utc, utc_now
from warehouse.regions import LEVEL_BY_LENGTH, LEVEL_ZH, RegionRegistry, canonical_code, display_code, names_match

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
}
MISSING_TOKENS = ["", "-", "--", "—", "——", "–", "―", "/"]
_FULL = "０１２３４５６７８９．，％－＋　"
_HALF = "0123456789.,%-+ "
_NUMBER = r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$"
_THOUSANDS = r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$"
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


class SubmissionFileError(Exception):
    """The file as a whole cannot be used (unreadable, no header, unknown or missing columns)."""

    def __init__(self, zh: str, en: str):
        super().__init__(f"{zh} / {en}")
        self.zh = zh
        self.en = en


@dataclass
class RawTable:
    """Every cell as text, with `_row` = the row number as seen in the spreadsheet."""

    frame: pl.DataFrame
    headers: list[str]
    encoding: str | None = None


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


# ---------------------------------------------------------------- reading
def read_table(path: str | Path, sheet: str | None = None) -> RawTable:
    """Read Parquet, CSV or XLSX keeping every cell as text. Raises SubmissionFileError."""
    path = Path(path)
    if not path.is_file():
        raise SubmissionFileError(f"找不到文件 {path}", f"file not found: {path}")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _read_csv(path)
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path, sheet)
    if suffix == ".parquet":
        return _read_parquet(path)
    raise SubmissionFileError(
        f"{path.name}: 不支持的文件类型 {suffix or '(无扩展名)'}，请使用 .csv、.xlsx 或 .parquet",
        f"{path.name}: unsupported file type {suffix or '(none)'}; use .csv, .xlsx or .parquet",
    )


def _records_to_table(records: list[tuple[int, list[str]]], name: str, encoding: str | None) -> RawTable:
    """records: (spreadsheet row, cells). The first non-blank record is the header."""
    records = [(r, [c if c is not None else "" for c in cells]) for r, cells in records]
    records = [(r, cells) for r, cells in records if any(str(c).strip() for c in cells)]
    if not records:
        raise SubmissionFileError(f"{name}: 文件是空的", f"{name}: the file is empty")
    header_row, headers = records[0]
    headers = [str(h).strip() for h in headers]
    while headers and headers[-1] == "":
        headers.pop()
    width = len(headers)
    data: list[list[str]] = [[] for _ in range(width)]
    rows: list[int] = []
    overflow: list[tuple[int, int, str]] = []
    for r, cells in records[1:]:
        cells = [str(c) for c in cells]
        for j in range(width, len(cells)):
            if cells[j].strip():
                overflow.append((r, j + 1, cells[j]))
        cells = (cells + [""] * width)[:width]
        for j in range(width):
            data[j].append(cells[j])
        rows.append(r)
    if overflow:
        r, col, value = overflow[0]
        raise SubmissionFileError(
            f"{name} 第 {r} 行第 {col} 列有数据 {value!r}，但该列没有表头",
            f"{name} row {r}, column {col} holds {value!r} but the column has no header",
        )
    columns = {f"c{j}": data[j] for j in range(width)}
    frame = pl.DataFrame({"_row": rows, **columns}, schema={"_row": pl.Int64, **{k: pl.String for k in columns}})
    return RawTable(frame=frame, headers=headers, encoding=encoding)


def _read_csv(path: Path) -> RawTable:
    """Three readers give the same table (tests/test_ingest_validation.py checks them against csv.reader):
    polars' reader for quote-free UTF-8 files it reads one row per line (the common case, multi-threaded), a
    line split for other quote-free text (GB18030, lone \\r), csv.reader for text with quotes."""
    raw = path.read_bytes()
    table = _read_plain_utf8_csv(raw, path.name)
    if table is not None:
        return table
    text, encoding = None, None
    for candidate in ("utf-8", "gb18030"):
        try:
            text = raw.decode(candidate)
            encoding = candidate
            break
        except UnicodeDecodeError:
            continue
    if text is None:
        raise SubmissionFileError(
            f"{path.name}: 无法识别文字编码（支持 UTF-8、带 BOM 的 UTF-8、GB18030/GBK）",
            f"{path.name}: cannot decode the text (supported: UTF-8, UTF-8 with BOM, GB18030/GBK)",
        )
    if text.startswith("\ufeff"):
        text, encoding = text[1:], "utf-8-sig"
    first_line = text[:text.find("\n")] if "\n" in text else text
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    if '"' not in text:
        table = _split_plain_csv(text, delimiter, path.name, encoding)
        if table is not None:
            return table
    return _read_quoted_csv(text, delimiter, path.name, encoding)


# What Python's str.strip() removes (str.isspace); polars' strip_chars() without argument misses \x1c-\x1f.
_SPACE = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
          "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
_NOT_SPACE = "[^" + "".join(f"\\x{{{ord(c):x}}}" for c in _SPACE) + "]"
_CSV_FIELD_LIMIT = 131072  # csv.field_size_limit(): longer fields are a csv.Error in csv.reader


def _read_plain_utf8_csv(raw: bytes, name: str) -> RawTable | None:
    """polars' CSV reader, used only where it provably splits like csv.reader: UTF-8 (polars refuses anything
    else), no quote character, no line end other than \\n or \\r\\n, one row per line (checked by counting
    lines), no field longer than csv.reader allows. None otherwise (the caller falls back)."""
    body, encoding = (raw[3:], "utf-8-sig") if raw.startswith(b"\xef\xbb\xbf") else (raw, "utf-8")
    if not body or b'"' in body or (b"\r" in body and body.count(b"\r") != body.count(b"\r\n")):
        return None
    end = body.find(b"\n")
    first_line = body if end < 0 else body[:end]
    delimiter = "\t" if b"\t" in first_line and b"," not in first_line else ","
    try:
        cells = pl.read_csv(body, has_header=False, infer_schema=False, quote_char=None, separator=delimiter)
    except (pl.exceptions.PolarsError, ValueError):  # ragged lines, invalid UTF-8, ...
        return None
    lines = body.count(b"\n") + (0 if body.endswith(b"\n") else 1)
    longest = cells.select(pl.all().str.len_bytes().max()).max_horizontal().item() or 0
    if cells.height != lines or longest > _CSV_FIELD_LIMIT:
        return None
    cells = cells.select(
        pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("_row"),
        *[pl.col(c).fill_null("").alias(f"c{j}") for j, c in enumerate(cells.columns)],
    )
    return _table_from_cells(cells, name, encoding)


def _split_plain_csv(text: str, delimiter: str, name: str, encoding: str | None) -> RawTable | None:
    """Reader for CSV text without any quote character: then a record is a line (csv.reader ends a line at
    \\n, \\r\\n or \\r) and its cells are the line split on the delimiter. None when a line is too long."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = pl.DataFrame({"line": pl.Series(text.split("\n"), dtype=pl.String)})
    if lines["line"].str.len_bytes().max() > _CSV_FIELD_LIMIT:
        return None
    lines = lines.select(
        pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("_row"), _cells=pl.col("line").str.split(delimiter)
    )
    width = lines["_cells"].list.len().max()
    cells = lines.select(
        "_row", *[pl.col("_cells").list.get(j, null_on_oob=True).fill_null("").alias(f"c{j}") for j in range(width)]
    )
    return _table_from_cells(cells, name, encoding)


def _read_quoted_csv(text: str, delimiter: str, name: str, encoding: str | None) -> RawTable:
    """csv.reader for everything else (quoted fields, line breaks inside quotes); the table is built column-wise."""
    collecting = gc.isenabled()
    gc.disable()  # a list per record: the cyclic collector would otherwise rescan them over and over
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
        columns = list(itertools.zip_longest(*records, fillvalue=""))
    except csv.Error as exc:
        raise SubmissionFileError(f"{name}: CSV 格式错误：{exc}", f"{name}: malformed CSV: {exc}") from None
    finally:
        if collecting:
            gc.enable()
    if not columns:
        raise SubmissionFileError(f"{name}: 文件是空的", f"{name}: the file is empty")
    cells = pl.DataFrame({
        "_row": pl.int_range(1, len(records) + 1, dtype=pl.Int64, eager=True),
        **{f"c{j}": pl.Series(column, dtype=pl.String) for j, column in enumerate(columns)},
    })
    return _table_from_cells(cells, name, encoding)


def _table_from_cells(cells: pl.DataFrame, name: str, encoding: str | None) -> RawTable:
    """What _records_to_table does, vectorised. cells: _row (the record number) and c0..c{k-1} (text, "" where
    the record is shorter)."""
    columns = [c for c in cells.columns if c != "_row"]
    cells = cells.filter(pl.concat_str(columns).str.contains(_NOT_SPACE))  # not blank: some cell holds a non-space
    if cells.height == 0:
        raise SubmissionFileError(f"{name}: 文件是空的", f"{name}: the file is empty")
    headers = [h.strip() for h in cells.row(0)[1:]]
    while headers and headers[-1] == "":
        headers.pop()
    width = len(headers)
    data = cells.slice(1)
    if len(columns) > width:
        overflow = data.filter(pl.any_horizontal([pl.col(c).str.contains(_NOT_SPACE) for c in columns[width:]]))
        if overflow.height:
            r, *values = overflow.row(0)
            col = next(j for j in range(width, len(values)) if values[j].strip())
            raise SubmissionFileError(
                f"{name} 第 {r} 行第 {col + 1} 列有数据 {values[col]!r}，但该列没有表头",
                f"{name} row {r}, column {col + 1} holds {values[col]!r} but the column has no header",
            )
    return RawTable(frame=data.select("_row", *columns[:width]), headers=headers, encoding=encoding)


def _cell_text(value: object, number_format: str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        if number_format and "%" in number_format:
            return f"{_plain_number(value * 100)}%"
        return _plain_number(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, (date, time)):
        return value.isoformat()
    return str(value)


def _plain_number(value: float) -> str:
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    return repr(round(float(value), 10))


def _float_text(series: pl.Series) -> pl.Series:
    """_plain_number of every value (null stays null), vectorised where polars' text is provably the same:
    integers below 1e18 (via Int64), and non-integers with 1e-4 <= |v| < 2**18 whose shortest text has at most
    10 decimals (round(v, 10) is then v itself, and polars and Python both print the shortest round-trip
    digits without exponent). Other values are formatted in Python, once per distinct value."""
    v = series.cast(pl.Float64)
    frame = pl.DataFrame({"v": v}).with_columns(shortest=pl.col("v").cast(pl.String))
    magnitude = pl.col("v").abs()
    whole = pl.col("v").is_finite() & (pl.col("v") == pl.col("v").floor()) & (magnitude < 1e18)
    short = (pl.col("v").is_finite() & (magnitude >= 1e-4) & (magnitude < 2.0 ** 18)
             & ~pl.col("shortest").str.contains("e", literal=True)
             & (pl.col("shortest").str.split_exact(".", 1).struct.field("field_1").str.len_bytes() <= 10))
    frame = frame.with_columns(
        text=pl.when(whole).then(pl.col("v").cast(pl.Int64, strict=False).cast(pl.String))
        .when(short).then(pl.col("shortest"))
    )
    rest = frame.filter(pl.col("text").is_null() & pl.col("v").is_not_null())["v"].unique().to_list()
    if rest:
        formatted = pl.DataFrame({"v": rest, "_py": [_plain_number(x) for x in rest]},
                                 schema={"v": pl.Float64, "_py": pl.String})
        frame = frame.join(formatted, on="v", how="left", maintain_order="left", nulls_equal=False).with_columns(
            text=pl.coalesce("text", "_py"))
    return frame["text"].alias(series.name)


def _read_xlsx(path: Path, sheet: str | None) -> RawTable:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for damaged files
        raise SubmissionFileError(f"{path.name}: 无法打开 Excel 文件：{exc}", f"{path.name}: cannot open the workbook: {exc}") from None
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise SubmissionFileError(
                f"{path.name}: 没有名为 {sheet!r} 的工作表（有：{'、'.join(book.sheetnames)}）",
                f"{path.name}: no sheet named {sheet!r} (sheets: {', '.join(book.sheetnames)})",
            )
        ws = book[sheet] if sheet is not None else book.worksheets[0]
        records = []
        for cells in ws.iter_rows():
            cells = [c for c in cells]
            if not cells:
                continue
            row_number = next((c.row for c in cells if getattr(c, "row", None)), None)
            if row_number is None:
                continue
            records.append(
                (row_number, [_cell_text(c.value, getattr(c, "number_format", None)) for c in cells])
            )
    finally:
        book.close()
    return _records_to_table(records, path.name, None)


def _read_parquet(path: Path) -> RawTable:
    try:
        table = pl.read_parquet(path)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise SubmissionFileError(f"{path.name}: 无法读取 Parquet：{exc}", f"{path.name}: cannot read Parquet: {exc}") from None
    columns = {}
    for j, name in enumerate(table.columns):
        series = table[name]
        if series.dtype.is_float():
            text = _float_text(series)
        else:
            text = series.cast(pl.String)
        columns[f"c{j}"] = text.fill_null("")
    frame = pl.DataFrame({"_row": pl.int_range(2, table.height + 2, eager=True).cast(pl.Int64), **columns})
    if table.height == 0:
        raise SubmissionFileError(f"{path.name}: 文件没有数据行", f"{path.name}: the file has no data rows")
    return RawTable(frame=frame, headers=list(table.columns), encoding=None)


# ---------------------------------------------------------------- headers
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


# ---------------------------------------------------------------- normalisation helpers
def _clean(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """Strip spaces (incl. full-width) from `columns`; empty -> null. Two passes, so each column is stripped once."""
    stripped = frame.with_columns(pl.col(c).str.strip_chars(" \t\r\n\u3000\ufeff") for c in columns)
    return stripped.with_columns(pl.when(pl.col(c) == "").then(None).otherwise(pl.col(c)).alias(c) for c in columns)


def _number_text(expr: pl.Expr) -> pl.Expr:
    text = expr.fill_null("").str.replace_many(list(_FULL), list(_HALF)).str.replace_all(r"\s+", "")
    return pl.when(text.str.contains(_THOUSANDS)).then(text.str.replace_all(",", "")).otherwise(text)


def normalise_numbers(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """Adds <column>_num (Float64), <column>_missing, <column>_bad (non-numeric), <column>_pct, <column>_dp.

    Derived once per distinct text and joined back: a file repeats few distinct values, and the regular
    expressions are the costly part."""
    distinct = frame.select(pl.col(column).unique())
    return frame.join(_number_columns(distinct, column), on=column, how="left", nulls_equal=True)


def _number_columns(distinct: pl.DataFrame, column: str) -> pl.DataFrame:
    text = _number_text(pl.col(column))
    return distinct.with_columns(_t=text).with_columns(
        **{
            f"{column}_pct": pl.col("_t").str.ends_with("%"),
            "_n": pl.col("_t").str.strip_suffix("%"),
        }
    ).with_columns(
        **{
            f"{column}_missing": pl.col("_t").is_in(MISSING_TOKENS),
            f"{column}_bad": ~pl.col("_t").is_in(MISSING_TOKENS) & ~pl.col("_n").str.contains(_NUMBER),
            f"{column}_num": pl.when(pl.col("_n").str.contains(_NUMBER)).then(pl.col("_n").cast(pl.Float64, strict=False)),
            f"{column}_dp": pl.col("_n").str.extract(r"\.(\d+)$").str.len_chars().fill_null(0),
        }
    ).drop("_t", "_n")


def _parse_timestamp(text: str) -> datetime | None:
    raw = unicodedata.normalize("NFKC", text).strip().replace("/", "-")
    raw = re.sub(r"(\d{4})年(\d{1,2})月(\d{1,2})日?", r"\1-\2-\3", raw)
    m = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?", raw)
    if not m:
        return None
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00")) if "T" in raw or m[7] else None
        if parsed is None:
            parsed = datetime(int(m[1]), int(m[2]), int(m[3]), int(m[4] or 0), int(m[5] or 0), int(m[6] or 0))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=CST)
    try:
        return parsed.astimezone(timezone.utc)
    except OverflowError:  # 0001-01-01 in CST is before the first representable UTC moment
        return None


# Zero-padded `YYYY-MM-DD[ HH:MM[:SS]]` with hours, minutes and seconds in range: what machines write. Only the
# calendar date is left for the parser to check.
_PLAIN_TIMESTAMP = r"^(19|2\d)\d\d-(0[1-9]|1[0-2])-\d\d( ([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?)?$"


def _timestamps(texts: pl.Series) -> pl.DataFrame:
    """submitted_at text (distinct, not null) -> _sat (UTC; null when not understood). The plain machine form is
    parsed vectorised (China Standard Time, a fixed +08:00); other spellings go through _parse_timestamp."""
    frame = pl.DataFrame({"submitted_at": texts}, schema={"submitted_at": pl.String})
    plain = frame.filter(pl.col("submitted_at").str.contains(_PLAIN_TIMESTAMP))
    text = pl.col("submitted_at")
    local = pl.coalesce(*[text.str.to_datetime(f, time_unit="us", strict=False)
                          for f in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d")])
    plain = plain.select("submitted_at", _sat=(local - pl.duration(hours=8)).dt.replace_time_zone("UTC"))
    others = frame.filter(~pl.col("submitted_at").str.contains(_PLAIN_TIMESTAMP))["submitted_at"].to_list()
    parsed = pl.DataFrame({"submitted_at": others, "_sat": [_parse_timestamp(t) for t in others]},
                          schema={"submitted_at": pl.String, "_sat": pl.Datetime("us", "UTC")})
    return pl.concat([plain, parsed])


# ---------------------------------------------------------------- validation
class _Collector:
    """Collects the checks (a mask, the column, the reason) in order; `frame(df)` evaluates every mask in one
    pass over the final frame and builds the rejection entries from the few rows that fail."""

    def __init__(self, headers: dict[str, str]):
        self.headers = headers
        self.items: list[tuple | pl.DataFrame] = []

    def add(self, mask: pl.Expr, field_name: str, zh: pl.Expr | str, en: pl.Expr | str,
            severity: str = "error", value: pl.Expr | None = None) -> None:
        self.items.append((mask, field_name, zh, en, severity, value))

    def add_rows(self, hits: pl.DataFrame, field_name: str, zh: pl.Expr, en: pl.Expr, value: pl.Expr) -> None:
        """Entries for every row of `hits` (a frame of its own, e.g. the duplicated rows)."""
        self.items.append(self._entries(hits, field_name, zh, en, "error", value))

    def _entries(self, hits: pl.DataFrame, field_name: str, zh: pl.Expr | str, en: pl.Expr | str,
                 severity: str, value: pl.Expr | None) -> pl.DataFrame:
        zh_expr = pl.lit(zh) if isinstance(zh, str) else zh
        en_expr = pl.lit(en) if isinstance(en, str) else en
        return hits.select(
            row=pl.col("_row").cast(pl.Int64),
            column=pl.lit(self.headers.get(field_name, field_name)),
            value=(value if value is not None else pl.col(field_name)).cast(pl.String),
            reason_zh=zh_expr.cast(pl.String),
            reason_en=en_expr.cast(pl.String),
            severity=pl.lit(severity),
        )

    def frame(self, df: pl.DataFrame) -> pl.DataFrame:
        checks = [(i, item) for i, item in enumerate(self.items) if isinstance(item, tuple)]
        masks = {f"_check{i}": item[0].fill_null(False) for i, item in checks}
        failing = df.with_columns(**masks).filter(pl.any_horizontal([pl.col(m) for m in masks])) if masks else df.clear()
        parts = []
        for i, item in enumerate(self.items):
            if isinstance(item, pl.DataFrame):
                parts.append(item)
                continue
            _, field_name, zh, en, severity, value = item
            hits = failing.filter(pl.col(f"_check{i}"))
            if hits.height:
                parts.append(self._entries(hits, field_name, zh, en, severity, value))
        parts = [part for part in parts if part.height]
        if not parts:
            return pl.DataFrame(schema=REJECTION_SCHEMA)
        return pl.concat(parts).sort("row", "severity", maintain_order=True)


def _region_lookup(frame: pl.DataFrame, registry: RegionRegistry, definitions: Definitions) -> pl.DataFrame:
    """One row per distinct (region_code, region_name): canonical code, level, official name, problem text.

    Codes are resolved by a join against the registry frame; the problem texts (with suggestions) are built in
    Python only for the pairs that have a problem."""
    pairs = frame.select("region_code", "region_name").unique()
    codes = _resolve_codes(pairs["region_code"].drop_nulls().unique(), registry, definitions)
    pairs = pairs.join(codes, on="region_code", how="left")
    problems = []
    for raw, name, code, official in pairs.filter(
        pl.col("_code").is_null()
        | (pl.col("region_name").is_not_null() & pl.col("region_name").ne_missing(pl.col("_official")))
    ).select("region_code", "region_name", "_code", "_official").iter_rows():
        entry = {"region_code": raw, "region_name": name, "_code_zh": None, "_code_en": None,
                 "_name_zh": None, "_name_en": None}
        if raw is None:
            entry["_code_zh"], entry["_code_en"] = "地区代码为空", "region code is empty"
        elif code is None:
            hints = registry.suggest(raw, name=name, k=3)
            hint_text = "、".join(f"{display_code(r.code)} {r.name}" for r in hints)
            hint_text_en = ", ".join(f"{display_code(r.code)} {r.name}" for r in hints)
            shape = canonical_code(raw) is None
            entry["_code_zh"] = ("不是有效的区划代码" if shape else "区划表中没有该地区代码") + (
                f"；可能是：{hint_text}" if hints else "")
            entry["_code_en"] = ("not a valid division code" if shape else "region code not in the region registry") + (
                f"; did you mean: {hint_text_en}" if hints else "")
        elif not names_match(name, official):
            hints = [r for r in registry.suggest("", name=name, k=1) if r.code != code]
            hint = f"；名称“{name}”对应的代码可能是 {display_code(hints[0].code)} {hints[0].name}" if hints else ""
            hint_en = f"; the name {name!r} may be {display_code(hints[0].code)} {hints[0].name}" if hints else ""
            entry["_name_zh"] = f"地区名称与代码不符：代码 {display_code(code)} 是“{official}”{hint}"
            entry["_name_en"] = f"region name does not match the code: {display_code(code)} is {official}{hint_en}"
        problems.append(entry)
    problem_frame = pl.DataFrame(problems, schema={
        "region_code": pl.String, "region_name": pl.String, "_code_zh": pl.String, "_code_en": pl.String,
        "_name_zh": pl.String, "_name_en": pl.String})
    return pairs.join(problem_frame, on=["region_code", "region_name"], how="left", nulls_equal=True).select(
        "region_code", "region_name", "_code", "_level", "_code_zh", "_code_en", "_name_zh", "_name_en")


def _strip_zero_groups(code: pl.Expr) -> pl.Expr:
    """canonical_code for ASCII-digit codes of a division length that are not all zeros: drop all-zero
    trailing level groups, 12 -> 9 -> 6 -> 4 -> 2 digits."""
    for length, cut in ((12, 9), (9, 6), (6, 4), (4, 2)):
        code = (pl.when((code.str.len_bytes() == length) & (code.str.slice(cut) == "0" * (length - cut)))
                .then(code.str.slice(0, cut)).otherwise(code))
    return code


def _resolve_codes(raw_codes: pl.Series, registry: RegionRegistry, definitions: Definitions) -> pl.DataFrame:
    """region_code (as submitted) -> _code (canonical code in the registry or group:<id>, else null), _level,
    _official (the registry's name, or the group's)."""
    distinct = pl.DataFrame({"region_code": raw_codes}, schema={"region_code": pl.String})
    plain = (pl.col("region_code").str.contains(r"^[0-9]+$") & ~pl.col("region_code").str.contains(r"^0+$")
             & pl.col("region_code").str.len_bytes().is_in(list(LEVEL_BY_LENGTH)))
    fast = distinct.filter(plain).with_columns(_canon=_strip_zero_groups(pl.col("region_code")),
                                               _group=pl.lit(None, pl.String), _group_name=pl.lit(None, pl.String))
    groups = {g.id: g for g in definitions.region_groups}
    others = []
    for raw in distinct.filter(~plain)["region_code"].to_list():
        group = groups.get(raw.split(":", 1)[1]) if raw.lower().startswith("group:") else None
        if group is not None:
            others.append((raw, None, f"group:{group.id}", group.name.zh))
        else:
            others.append((raw, canonical_code(raw), None, None))
    slow = pl.DataFrame(others, schema=fast.schema, orient="row")
    known = registry.frame.select(_canon=pl.col("code"), _reg_level=pl.col("level"), _reg_name=pl.col("name"),
                                  _known=pl.lit(True)).unique("_canon", keep="last", maintain_order=True)
    resolved = pl.concat([fast, slow]).join(known, on="_canon", how="left")
    in_registry = pl.col("_known").fill_null(False)
    return resolved.select(
        "region_code",
        _code=pl.coalesce("_group", pl.when(in_registry).then(pl.col("_canon"))),
        _level=pl.when(pl.col("_group").is_not_null()).then(pl.lit("group")).otherwise(pl.col("_reg_level")),
        _official=pl.coalesce("_group_name", "_reg_name"),
    )


def _indicator_frame(definitions: Definitions) -> pl.DataFrame:
    rows = []
    for ind in definitions.indicators:
        scale = ind.aggregation.scale
        bmax = ind.bounds.max
        rows.append({
            "_ind": ind.id,
            "_freq": ind.frequency.value,
            "_rule": ind.aggregation.rule.value,
            "_scale": float(scale),
            "_min": ind.bounds.min,
            "_max": bmax,
            "_min_s": None if ind.bounds.min is None else _plain_number(ind.bounds.min),
            "_max_s": None if bmax is None else _plain_number(bmax),
            "_pct_unit": ind.unit.zh.strip() in ("%", "％", "百分比") or (ind.unit.en or "").strip() == "%",
            "_capped": ind.aggregation.rule == AggregationRule.ratio and bmax is not None and bmax <= scale,
            "_levels": ",".join(lv.value for lv in ind.reported_at),
            "_levels_zh": "、".join(LEVEL_ZH[lv.value] for lv in ind.reported_at),
            "_ind_zh": ind.name.zh,
        })
    return pl.DataFrame(rows, schema={"_ind": pl.String, "_freq": pl.String, "_rule": pl.String, "_scale": pl.Float64,
                                      "_min": pl.Float64, "_max": pl.Float64, "_min_s": pl.String, "_max_s": pl.String, "_pct_unit": pl.Boolean,
                                      "_capped": pl.Boolean, "_levels": pl.String, "_levels_zh": pl.String,
                                      "_ind_zh": pl.String})


def _indicator_lookup(ids: pl.Series, definitions: Definitions) -> pl.DataFrame:
    """indicator_id as written (distinct, not null) -> the indicator's attributes (case-insensitive id; _ind is
    null when unknown) and, for unknown ids only, the problem text with suggestions."""
    frame = pl.DataFrame({"indicator_id": ids}, schema={"indicator_id": pl.String}).drop_nulls()
    frame = frame.with_columns(_ind_key=pl.col("indicator_id").str.to_lowercase()).join(
        _indicator_frame(definitions), left_on="_ind_key", right_on="_ind", how="left",
    ).with_columns(_ind=pl.when(pl.col("_freq").is_not_null()).then(pl.col("_ind_key"))).drop("_ind_key")
    problems = {u: _indicator_problem(u, definitions) for u in frame.filter(pl.col("_ind").is_null())["indicator_id"]}
    return frame.with_columns(
        _ind_zh_err=pl.col("indicator_id").replace_strict({u: p[0] for u, p in problems.items()}, default=None,
                                                          return_dtype=pl.String),
        _ind_en_err=pl.col("indicator_id").replace_strict({u: p[1] for u, p in problems.items()}, default=None,
                                                          return_dtype=pl.String),
    )


def _indicator_problem(raw: str, definitions: Definitions) -> tuple[str, str]:
    ids = [i.id for i in definitions.indicators]
    by_name = {i.name.zh: i.id for i in definitions.indicators}
    hints = difflib.get_close_matches(raw.lower(), ids, n=3, cutoff=0.6)
    if raw in by_name:
        hints = [by_name[raw]] + [h for h in hints if h != by_name[raw]]
    else:
        hints += [by_name[n] for n in difflib.get_close_matches(raw, list(by_name), n=2, cutoff=0.6) if by_name[n] not in hints]
    if hints:
        return f"未知指标代码；可能是：{'、'.join(hints[:3])}", f"unknown indicator; did you mean: {', '.join(hints[:3])}"
    return "未知指标代码（见指标定义文件）", "unknown indicator (see the indicator definitions)"


_FREQ_ZH = {"annual": "年度", "quarterly": "季度", "monthly": "月度"}
_PERIOD_EXAMPLE = {"annual": "2024", "quarterly": "2024-Q3", "monthly": "2024-07"}


def prepare_submission(path: str | Path, definitions: Definitions, registry: RegionRegistry, now: datetime | None = None,
                       sheet: str | None = None, submitted_by: str | None = None) -> PreparedSubmission:
    """Read and validate one submission file. Never raises on bad input (see the module docstring)."""
    path = Path(path)
    now = now or utc_now()
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    try:
        table = read_table(path, sheet=sheet)
        mapping = map_headers(table.headers, path.name)
    except SubmissionFileError as exc:
        rejection = pl.DataFrame([{"row": None, "column": None, "value": None, "reason_zh": exc.zh,
                                   "reason_en": exc.en, "severity": "error"}], schema=REJECTION_SCHEMA)
        return PreparedSubmission(source_file=path.name, rows=pl.DataFrame(schema=BATCH_COLUMNS),
                                  rejections=rejection, file_error=str(exc))
    headers = {f: table.headers[j] for f, j in mapping.items()}
    raw = _clean(table.frame.select(
        "_row", *[(pl.col(f"c{mapping[f]}") if f in mapping else pl.lit(None, pl.String)).alias(f) for f in FIELDS]
    ), [f for f in FIELDS if f in mapping])
    prepared = _validate(raw, definitions, registry, now, headers, path.name, submitted_by)
    prepared.encoding = table.encoding
    return prepared


def _validate(raw: pl.DataFrame, definitions: Definitions, registry: RegionRegistry, now: datetime,
              headers: dict[str, str], source_file: str, submitted_by: str | None) -> PreparedSubmission:
    """Each _check_* adds its checks (a polars mask and the reason) in the order the rejections list them; the
    lookups they need are joined onto the frame once per distinct value."""
    out = _Collector(headers)
    df = raw.join(_region_lookup(raw, registry, definitions), on=["region_code", "region_name"], how="left", nulls_equal=True)
    _check_regions(out)
    df = df.join(_indicator_lookup(df["indicator_id"].unique(), definitions), on="indicator_id", how="left")
    _check_indicators(out)
    _check_levels(out, definitions)
    df = _check_periods(df, out, now)
    df = _check_values(df, out, headers)
    _check_duplicates(df, out, headers)
    df = df.join(_timestamps(df["submitted_at"].drop_nulls().unique()), on="submitted_at", how="left")
    _check_submitted_at(out)

    rejections = out.frame(df)
    error_rows = rejections.filter(pl.col("severity") == "error")["row"].unique()
    has_error = pl.col("_row").is_in(error_rows.implode())
    rows = df.select(
        _keep=~has_error & ~pl.col("_missing"),
        region_code=pl.col("_code"),
        indicator_id=pl.col("_ind"),
        period=pl.col("_label"),
        period_end=pl.col("_pend"),
        value=pl.col("_value"),
        numerator=pl.col("numerator_num"),
        denominator=pl.col("denominator_num"),
        note=pl.col("note"),
        submitted_by=pl.coalesce(pl.col("submitted_by"), pl.lit(submitted_by, pl.String)),
        submitted_at=pl.coalesce(pl.col("_sat"), pl.lit(now).cast(pl.Datetime("us", "UTC"))),
        source_file=pl.lit(source_file),
        source_row=pl.col("_row").cast(pl.Int32),
    ).filter("_keep").drop("_keep").sort("source_row").cast(BATCH_COLUMNS)
    n_missing = df.select((pl.col("_missing") & ~has_error).sum()).item()
    return PreparedSubmission(
        source_file=source_file,
        rows=rows,
        rejections=rejections,
        n_rows=raw.height,
        n_valid=rows.height,
        n_rejected=error_rows.len(),
        n_warnings=rejections.filter(pl.col("severity") == "warning").height,
        n_missing=n_missing,
        columns=headers,
    )


def _check_regions(out: _Collector) -> None:
    """Unknown or malformed codes (with suggestions), names that do not match the code."""
    out.add(pl.col("_code").is_null(), "region_code", pl.col("_code_zh"), pl.col("_code_en"),
            value=pl.col("region_code").fill_null(""))
    out.add(pl.col("_name_zh").is_not_null(), "region_name", pl.col("_name_zh"), pl.col("_name_en"))


def _check_indicators(out: _Collector) -> None:
    """Empty or unknown indicator ids (with suggestions)."""
    out.add(pl.col("indicator_id").is_null(), "indicator_id", "指标代码为空", "indicator is empty", value=pl.lit(""))
    out.add(pl.col("_ind_zh_err").is_not_null(), "indicator_id", pl.col("_ind_zh_err"), pl.col("_ind_en_err"))


def _check_levels(out: _Collector, definitions: Definitions) -> None:
    """The region's level must be one the indicator is reported at (groups are not checked)."""
    reported = [f"{ind.id}|{lv.value}" for ind in definitions.indicators for lv in ind.reported_at]
    level_bad = (pl.col("_ind").is_not_null() & pl.col("_level").is_not_null() & (pl.col("_level") != "group")
                 & ~pl.concat_str("_ind", "_level", separator="|").is_in(reported))
    level_zh = pl.col("_level").replace_strict(LEVEL_ZH, default=pl.col("_level"))
    out.add(level_bad, "region_code",
            pl.format("指标 {} 不在{}填报（填报级别：{}）", pl.col("_ind"), level_zh, pl.col("_levels_zh")),
            pl.format("indicator {} is not reported at {} level (reported at: {})", pl.col("_ind"), pl.col("_level"),
                      pl.col("_levels").str.replace_all(",", ", ")))


def _check_periods(df: pl.DataFrame, out: _Collector, now: datetime) -> pl.DataFrame:
    """Parses each distinct period once; empty, malformed, wrong frequency, not ended yet."""
    periods = []
    for text in df["period"].drop_nulls().unique().to_list():
        try:
            p = parse_period(text)
            periods.append({"period": text, "_label": p.label, "_pend": p.end, "_kind": p.kind,
                            "_future": period_end_utc(p) > now})
        except ValueError:
            periods.append({"period": text, "_label": None, "_pend": None, "_kind": None, "_future": None})
    pframe = pl.DataFrame(periods, schema={"period": pl.String, "_label": pl.String, "_pend": pl.Date,
                                           "_kind": pl.String, "_future": pl.Boolean})
    df = df.join(pframe, on="period", how="left")
    out.add(pl.col("period").is_null(), "period", "统计期为空", "period is empty", value=pl.lit(""))
    out.add(pl.col("period").is_not_null() & pl.col("_label").is_null(), "period",
            "统计期格式不正确，应为 2024、2024-Q3 或 2024-07（若 Excel 把 2024-07 变成了日期，请把该列设为文本）",
            "malformed period; expected 2024, 2024-Q3 or 2024-07 (if Excel turned 2024-07 into a date, format the column as text)")
    freq_bad = pl.col("_kind").is_not_null() & pl.col("_freq").is_not_null() & (pl.col("_kind") != pl.col("_freq"))
    out.add(freq_bad, "period",
            pl.format("统计期与指标频率不符：{}是{}指标，应填如 {} 的统计期", pl.col("_ind"),
                      pl.col("_freq").replace_strict(_FREQ_ZH), pl.col("_freq").replace_strict(_PERIOD_EXAMPLE)),
            pl.format("period does not match the indicator's frequency: {} is {}, expected a period like {}",
                      pl.col("_ind"), pl.col("_freq"), pl.col("_freq").replace_strict(_PERIOD_EXAMPLE)))
    now_cst = now.astimezone(CST).strftime("%Y-%m-%d %H:%M")
    out.add(pl.col("_future").fill_null(False), "period",
            f"统计期尚未结束（现在是北京时间 {now_cst}）", f"the period has not ended yet (now: {now_cst} China Standard Time)")
    return df


def _check_values(df: pl.DataFrame, out: _Collector, headers: dict[str, str]) -> pl.DataFrame:
    """Numbers, numerator/denominator, the computed ratio, missing values, sign and bounds."""
    for col in ("value", "numerator", "denominator"):
        df = normalise_numbers(df, col)
        out.add(pl.col(f"{col}_bad"), col, f"{FIELD_ZH[col]}不是数字", f"{col} is not a number")
        out.add(pl.col(f"{col}_pct") & pl.col(f"{col}_num").is_not_null() & ~pl.col("_pct_unit").fill_null(True), col,
                pl.format("该指标的单位不是 %，不能填百分数（{}）", pl.col("_ind")),
                pl.format("the indicator's unit is not %; a percentage cannot be given ({})", pl.col("_ind")))
    has_num, has_den = pl.col("numerator_num").is_not_null(), pl.col("denominator_num").is_not_null()
    is_ratio = pl.col("_rule") == AggregationRule.ratio.value
    out.add(has_num ^ has_den, "numerator" if "numerator" in headers else "denominator",
            "分子和分母须同时填写", "numerator and denominator must be given together",
            value=pl.col("numerator").fill_null("") + pl.lit(" / ") + pl.col("denominator").fill_null(""))
    out.add(has_num & (pl.col("numerator_num") < 0), "numerator", "分子不能为负数", "numerator cannot be negative")
    out.add(has_den & (pl.col("denominator_num") <= 0), "denominator", "分母必须大于 0",
            "denominator must be greater than 0")
    num_gt_den = is_ratio & pl.col("_capped") & has_num & has_den & (pl.col("numerator_num") > pl.col("denominator_num"))
    out.add(num_gt_den, "numerator",
            pl.format("分子大于分母（{} > {}），比率不能超过 100%", pl.col("numerator"), pl.col("denominator")),
            pl.format("numerator is greater than the denominator ({} > {}); the rate cannot exceed 100%",
                      pl.col("numerator"), pl.col("denominator")),
            value=pl.col("numerator"))
    computed = pl.col("numerator_num") / pl.col("denominator_num") * pl.col("_scale")
    use_computed = is_ratio & has_num & has_den & (pl.col("denominator_num") > 0)
    df = df.with_columns(_computed=pl.when(use_computed).then(computed))
    tolerance = 0.5 * pl.lit(10.0).pow(-pl.col("value_dp").cast(pl.Float64)) + 1e-9
    out.add(pl.col("_computed").is_not_null() & pl.col("value_num").is_not_null()
            & ((pl.col("value_num") - pl.col("_computed")).abs() > tolerance), "value",
            pl.format("数值与分子/分母不一致：按分子/分母计算为 {}，已采用计算值", pl.col("_computed").round(4)),
            pl.format("value disagrees with numerator/denominator: computed {}; the computed value is used",
                      pl.col("_computed").round(4)), severity="warning")
    df = df.with_columns(_value=pl.coalesce("_computed", "value_num"))
    needs_value = ~is_ratio & has_num & has_den & pl.col("value_num").is_null() & ~pl.col("value_bad")
    out.add(needs_value.fill_null(False) & pl.col("_rule").is_not_null(), "value",
            pl.format("该指标（汇总规则 {}）须填写数值", pl.col("_rule")),
            pl.format("this indicator (aggregation {}) needs a value", pl.col("_rule")), value=pl.lit(""))
    missing = (pl.col("_value").is_null() & ~pl.col("value_bad") & ~pl.col("numerator_bad") & ~pl.col("denominator_bad")
               & ~has_num & ~has_den)
    df = df.with_columns(_missing=missing)
    out.add(pl.col("_missing"), "value", "数值缺失（不按 0 处理），该行未存储", "value is missing (not taken as 0); the row is not stored",
            severity="warning", value=pl.col("value").fill_null(""))
    count_rule = pl.col("_rule").is_in(["sum", "ratio", "per_community"])
    negative = count_rule & pl.col("_min").is_null() & (pl.col("_value") < 0) & ~(has_num & (pl.col("numerator_num") < 0))
    out.add(negative, "value", "数值不能为负数（计数类指标）", "value cannot be negative for a count")
    below = pl.col("_min").is_not_null() & (pl.col("_value") < pl.col("_min"))
    above = pl.col("_max").is_not_null() & (pl.col("_value") > pl.col("_max")) & ~num_gt_den.fill_null(False)
    shown = pl.when(pl.col("_computed").is_not_null()).then(pl.col("_computed").round(4).cast(pl.String)).otherwise(pl.col("value"))
    out.add(below, "value", pl.format("数值 {} 小于下限 {}", shown, pl.col("_min_s")),
            pl.format("value {} is below the minimum {}", shown, pl.col("_min_s")), value=shown)
    out.add(above, "value", pl.format("数值 {} 大于上限 {}", shown, pl.col("_max_s")),
            pl.format("value {} is above the maximum {}", shown, pl.col("_max_s")), value=shown)
    return df


def _check_duplicates(df: pl.DataFrame, out: _Collector, headers: dict[str, str]) -> None:
    """Every row of a (region, indicator, period) that appears more than once, naming all its rows."""
    key = ["_code", "_ind", "_label"]
    keyed = df.select("_row", *key).filter(pl.all_horizontal(pl.col(k).is_not_null() for k in key))
    candidates = keyed.filter(pl.struct(key).hash().is_duplicated())  # cheap; a hash collision only adds candidates
    dups = candidates.filter(pl.struct(key).is_duplicated()).sort("_row")
    if dups.height:
        dups = dups.with_columns(_rows=pl.col("_row").cast(pl.String).implode().over(key)).with_columns(
            _others=pl.col("_rows").list.join("、"),
            _others_en=pl.col("_rows").list.join(", "),
        )
        key_headers = "+".join(headers.get(f, f) for f in ("region_code", "indicator_id", "period"))
        out.headers = {**headers, "_key": key_headers}
        out.add_rows(dups, "_key",
                     pl.format("同一地区、指标、统计期重复出现（第 {} 行）", pl.col("_others")),
                     pl.format("duplicate region, indicator and period (rows {})", pl.col("_others_en")),
                     value=pl.format("{} / {} / {}", pl.col("_code"), pl.col("_ind"), pl.col("_label")))


def _check_submitted_at(out: _Collector) -> None:
    """Metadata: a bad timestamp is a warning and the ingest time is used."""
    out.add(pl.col("submitted_at").is_not_null() & pl.col("_sat").is_null(), "submitted_at",
            "填报时间无法识别（应为 2025-01-15 或 2025-01-15 10:30），已改用导入时间",
            "submitted_at not understood (expected 2025-01-15 or 2025-01-15 10:30); the ingest time is used", severity="warning")


# ---------------------------------------------------------------- output
REJECTION_HEADERS = ["行号", "列", "值", "原因", "reason", "级别 severity"]


def write_rejections_csv(rejections: pl.DataFrame, path: str | Path) -> None:
    """UTF-8 with BOM so Excel opens it: 行号, 列, 值, 原因, reason, 级别 severity."""
    from warehouse.safe_cells import safe_cell

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(REJECTION_HEADERS)
        for row in rejections.iter_rows(named=True):
            severity = row.get("severity") or "error"
            writer.writerow([safe_cell(cell) for cell in [  # formula cells neutralised (warehouse/safe_cells.py)
                "" if row["row"] is None else row["row"], row["column"] or "", row["value"] or "",
                row["reason_zh"] or "", row["reason_en"] or "",
                "错误 error" if severity == "error" else "警告 warning",
            ]])


def summary_text(prepared: PreparedSubmission, lang: str = "zh", limit: int = 5) -> str:
    """A short summary: accepted / rejected / warnings, then the first few problems."""
    zh = lang != "en"
    if prepared.file_error:
        first = prepared.rejections.row(0, named=True) if prepared.rejections.height else None
        reason = (first["reason_zh"] if zh else first["reason_en"]) if first else prepared.file_error
        return f"{prepared.source_file}：无法导入 — {reason}" if zh else f"{prepared.source_file}: cannot ingest — {reason}"
    if zh:
        head = (f"{prepared.source_file}：共 {prepared.n_rows} 行，可接收 {prepared.n_valid} 行，"
                f"拒收 {prepared.n_rejected} 行，警告 {prepared.n_warnings} 条")
        if prepared.n_missing:
            head += f"（其中 {prepared.n_missing} 行数值缺失，未存储）"
    else:
        head = (f"{prepared.source_file}: {prepared.n_rows} rows, {prepared.n_valid} valid, "
                f"{prepared.n_rejected} rejected, {prepared.n_warnings} warnings")
        if prepared.n_missing:
            head += f" ({prepared.n_missing} rows with a missing value were not stored)"
    lines = [head]
    for row in prepared.rejections.head(limit).iter_rows(named=True):
        tag = ("错误" if row["severity"] == "error" else "警告") if zh else row["severity"]
        reason = row["reason_zh"] if zh else row["reason_en"]
        where = f"第 {row['row']} 行 {row['column']}" if zh else f"row {row['row']}, {row['column']}"
        lines.append(f"  [{tag}] {where} = {row['value']!r}: {reason}")
    extra = prepared.rejections.height - limit
    if extra > 0:
        lines.append(f"  …… 另有 {extra} 条，见拒收文件" if zh else f"  ... {extra} more in the rejection file")
    return "\n".join(lines)
