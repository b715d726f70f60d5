"""Reading a submission file into text cells: the file's type from its content, the resource limits, CSV (UTF-8,
GB18030, UTF-16 with BOM; three readers that split alike), XLSX (ingest_xlsx.py) and Parquet.

`read_table` returns every non-blank record with its spreadsheet row number, every cell as text; the header row
is then located by ingest_headers.locate_header (title rows above it are skipped).
"""

from __future__ import annotations

import csv
import gc
import io
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

import polars as pl

from warehouse.ingest_limits import Limits, SubmissionFileError, size_text, too_large


@dataclass
class RawTable:
    """Every cell as text, with `_row` = the row number as seen in the spreadsheet. `headers` is the header row
    (after ingest_headers.locate_header), `header_row` its spreadsheet row."""

    frame: pl.DataFrame
    headers: list[str]
    encoding: str | None = None
    header_row: int = 1
    kind: str = "csv"
    # Large CSV (ingest_stream.py, ingest_stream_text.py): the cells of the rows after `frame`, one block at a time,
    # not yet cut to the header's width
    blocks: Iterator[pl.DataFrame] | None = None


# ---------------------------------------------------------------- reading
# What a file is, from its first bytes: (kind, Chinese, English) for the kinds that are not submissions.
_NOT_A_SUBMISSION = [  # (magic, what it is (zh, en), what to do (zh, en))
    (b"\xd0\xcf\x11\xe0", "旧版 Excel 97-2003 工作簿（.xls）或其他 Office 旧格式文件", "an Excel 97-2003 workbook (.xls) or another legacy Office file",
     "请在 Excel 中另存为 .xlsx", "save it as .xlsx in Excel"),
    (b"%PDF", "PDF 文档", "a PDF document", "请提交导出的表格文件", "submit the exported table instead"),
    (b"\x1f\x8b", "gzip 压缩文件", "a gzip archive", "请先解压", "unpack it first"),
    (b"7z\xbc\xaf", "7z 压缩文件", "a 7z archive", "请先解压", "unpack it first"),
    (b"Rar!", "RAR 压缩文件", "a RAR archive", "请先解压", "unpack it first"),
    (b"\x89PNG", "PNG 图片", "a PNG image", "请提交表格文件", "submit the table file instead"),
    (b"\xff\xd8\xff", "JPEG 图片", "a JPEG image", "请提交表格文件", "submit the table file instead"),
]


def sniff(path: Path) -> str:
    """The file's type from its content: "parquet", "xlsx" or "text" (read as CSV). Raises SubmissionFileError
    naming what the file really is when it is none of them."""
    with open(path, "rb") as handle:
        head = handle.read(8192)
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return "xlsx"  # ingest_xlsx checks that the zip holds a workbook
    for magic, zh, en, todo_zh, todo_en in _NOT_A_SUBMISSION:
        if head.startswith(magic):
            raise SubmissionFileError(f"{path.name}: 这是{zh}，不是 CSV、XLSX 或 Parquet 文件；{todo_zh}",
                                      f"{path.name}: this is {en}, not a CSV, XLSX or Parquet file; {todo_en}")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "text"  # UTF-16 with BOM (Excel's "Unicode text")
    if b"\x00" in head:
        raise SubmissionFileError(
            f"{path.name}: 不是文本文件（含二进制数据），也不是 XLSX 或 Parquet 文件",
            f"{path.name}: not a text file (it holds binary data), and not an XLSX or Parquet file")
    return "text"


def read_table(path: str | Path, sheet: str | None = None, limits: Limits | None = None,
               stream: bool = False) -> RawTable:
    """Read a submission keeping every cell as text, its type taken from its content (a Parquet file named .csv
    is read as Parquet), the header row located below any title rows. Raises SubmissionFileError, also for a
    file over the limits (checked before the file is read). stream=True (prepare_submission): a large CSV comes
    back as its first block, the rest in `.blocks` (ingest_stream.py, ingest_stream_text.py); otherwise `.frame`
    holds every row."""
    from warehouse.ingest_headers import locate_header
    from warehouse.ingest_stream import STREAM_FROM_BYTES, read_plain_utf8_blocks
    from warehouse.ingest_xlsx import read_xlsx

    path = Path(path)
    limits = limits or Limits.from_env()
    if not path.is_file():
        raise SubmissionFileError(f"找不到文件 {path.name}", f"file not found: {path.name}")
    size = path.stat().st_size
    if size > limits.max_file_bytes:
        raise too_large(path.name, "文件大小", "the file size", size_text(size), size_text(limits.max_file_bytes),
                        "PLANWATCH_INGEST_MAX_FILE_MB")
    kind = sniff(path)
    if kind == "parquet":
        table = _read_parquet(path, limits)
    elif kind == "xlsx":
        table = read_xlsx(path, sheet, limits)
    else:
        table = None
        if stream and size >= STREAM_FROM_BYTES:
            from warehouse.ingest_stream_text import read_text_blocks

            # quote-free UTF-8: polars in blocks; GB18030 or quoted: csv.reader in blocks (ingest_stream_text.py)
            table = read_plain_utf8_blocks(path, limits) or read_text_blocks(path, limits)
        if table is None:
            table = _read_csv(path, limits)
    table = locate_header(table, path.name) if table.headers is None else table
    table.kind = kind
    if table.blocks is None:
        check_row_count(table.frame.height, path.name, limits)  # exact now that title rows are known
    check_cell_length(table.frame, path.name, limits)
    return table


def check_cell_length(frame: pl.DataFrame, name: str, limits: Limits) -> None:
    cells = [c for c in frame.columns if c != "_row"]
    if not cells or frame.height == 0:
        return
    longest = frame.select(pl.max_horizontal(pl.col(c).str.len_chars().max() for c in cells)).item() or 0
    if longest > limits.max_cell_chars:
        raise too_large(name, "单元格字符数", "a cell's length", f"{longest:,}", f"{limits.max_cell_chars:,}",
                        "PLANWATCH_INGEST_MAX_CELL_CHARS")


def check_row_count(n_rows: int, name: str, limits: Limits) -> None:
    if n_rows > limits.max_rows:
        raise too_large(name, "行数", "the number of rows", f"{n_rows:,}", f"{limits.max_rows:,}",
                        "PLANWATCH_INGEST_MAX_ROWS")


def _records_to_table(records: list[tuple[int, list[str]]], name: str, encoding: str | None,
                      locate: bool = True) -> RawTable:
    """records: (spreadsheet row, cells), cells None or text. The header row is located as for any file."""
    width = max((len(cells) for _, cells in records), default=0)
    columns = list(itertools.zip_longest(*[cells for _, cells in records], fillvalue=""))
    cells = pl.DataFrame({
        "_row": pl.Series([r for r, _ in records], dtype=pl.Int64),
        **{f"c{j}": pl.Series([("" if c is None else str(c)) for c in columns[j]], dtype=pl.String)
           for j in range(width)},
    })
    return _table_from_cells(cells, name, encoding, locate=locate)


def _read_csv(path: Path, limits: Limits) -> RawTable:
    """Three readers give the same table (tests/test_ingest_validation.py checks them against csv.reader):
    polars' reader for quote-free UTF-8 files it reads one row per line (the common case, multi-threaded), a
    line split for other quote-free text (GB18030, lone \\r), csv.reader for text with quotes."""
    raw = path.read_bytes()
    check_row_count(max(0, raw.count(b"\n") - 1), path.name, limits)  # before any parsing
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return _read_text_csv(raw.decode("utf-16"), "utf-16", path.name)
        except UnicodeDecodeError:
            raise SubmissionFileError(f"{path.name}: UTF-16 文本无法解码", f"{path.name}: cannot decode the UTF-16 text") from None
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
    del raw
    if text is None:
        raise SubmissionFileError(
            f"{path.name}: 无法识别文字编码（支持 UTF-8、带 BOM 的 UTF-8、GB18030/GBK、带 BOM 的 UTF-16）",
            f"{path.name}: cannot decode the text (supported: UTF-8, UTF-8 with BOM, GB18030/GBK, UTF-16 with BOM)",
        )
    return _read_text_csv(text, encoding, path.name)


def _read_text_csv(text: str, encoding: str, name: str) -> RawTable:
    if text.startswith("\ufeff"):
        text, encoding = text[1:], ("utf-8-sig" if encoding == "utf-8" else encoding)
    delimiter = guess_delimiter(text[:65536])
    if '"' not in text:
        table = _split_plain_csv(text, delimiter, name, encoding)
        if table is not None:
            return table
    return _read_quoted_csv(text, delimiter, name, encoding)


def guess_delimiter(head: str | bytes) -> str:
    """Tab when the first line holding a tab or a comma has tabs and no commas, else comma. Title lines above the
    header (with neither) are passed over."""
    tab, comma, newline = ("\t", ",", "\n") if isinstance(head, str) else (b"\t", b",", b"\n")
    for line in head.split(newline)[:50]:
        if tab in line or comma in line:
            return "\t" if tab in line and comma not in line else ","
    return ","


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
    delimiter = guess_delimiter(body[:65536])
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


def _table_from_cells(cells: pl.DataFrame, name: str, encoding: str | None, locate: bool = True) -> RawTable:
    """cells: _row (the record number) and c0..c{k-1} (text, "" where the record is shorter). Blank records are
    dropped; then (locate=True) the header row is located (ingest_headers.locate_header)."""
    from warehouse.ingest_headers import locate_header

    columns = [c for c in cells.columns if c != "_row"]
    if columns:  # not blank: some cell holds a non-space
        cells = cells.filter(pl.any_horizontal([pl.col(c).str.contains(_NOT_SPACE) for c in columns]))
    if cells.height == 0 or not columns:
        raise SubmissionFileError(f"{name}: 文件是空的", f"{name}: the file is empty")
    table = RawTable(frame=cells, headers=None, encoding=encoding)
    return locate_header(table, name) if locate else table


def not_blank(column: str) -> pl.Expr:
    return pl.col(column).str.contains(_NOT_SPACE)


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



_PARQUET_SCALARS = (pl.String, pl.Categorical, pl.Enum, pl.Boolean, pl.Date, pl.Datetime, pl.Time, pl.Decimal)


def _read_parquet(path: Path, limits: Limits) -> RawTable:
    """Every column turned into text. Its row count (from the footer) is checked before the data is read;
    nested (list, struct), binary and other non-scalar columns are refused by name."""
    try:
        schema = pl.read_parquet_schema(path)
        n_rows = pl.scan_parquet(path).select(pl.len()).collect().item()
    except Exception as exc:  # polars raises several kinds for damaged footers
        raise SubmissionFileError(f"{path.name}: 无法读取 Parquet：{_short(exc, path)}",
                                  f"{path.name}: cannot read Parquet: {_short(exc, path)}") from None
    check_row_count(n_rows, path.name, limits)
    bad = [(name, dtype) for name, dtype in schema.items()
           if not (dtype.is_numeric() or isinstance(dtype, _PARQUET_SCALARS) or dtype == pl.Null)]
    if bad:
        listed = "、".join(f"{name!r}（{dtype}）" for name, dtype in bad[:5])
        listed_en = ", ".join(f"{name!r} ({dtype})" for name, dtype in bad[:5])
        raise SubmissionFileError(
            f"{path.name}: 列 {listed} 不是单个的文字或数字（嵌套列表、结构或二进制数据），无法作为填报数据读取",
            f"{path.name}: column {listed_en} does not hold plain text or numbers (nested lists, structs or binary "
            "data) and cannot be read as a submission")
    try:
        table = pl.read_parquet(path)
        columns = {}
        for j, name in enumerate(table.columns):
            series = table[name]
            text = _float_text(series) if series.dtype.is_float() else series.cast(pl.String)
            columns[f"c{j}"] = text.fill_null("")
    except Exception as exc:  # damaged pages, invalid UTF-8 in a string column, ...
        raise SubmissionFileError(f"{path.name}: 无法读取 Parquet：{_short(exc, path)}",
                                  f"{path.name}: cannot read Parquet: {_short(exc, path)}") from None
    frame = pl.DataFrame({"_row": pl.int_range(2, table.height + 2, eager=True).cast(pl.Int64), **columns},
                         schema={"_row": pl.Int64, **{k: pl.String for k in columns}})
    return RawTable(frame=frame, headers=[str(c).strip() for c in table.columns], encoding=None)


def _short(exc: Exception, path: Path | None = None) -> str:
    """An exception's first line, without the file's folder (a message may reach a person)."""
    text = str(exc).strip().split("\n")[0]
    if path is not None:
        text = text.replace(str(path.resolve()), path.name).replace(str(path), path.name)
    text = text[:200]
    return text or type(exc).__name__
