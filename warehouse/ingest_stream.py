"""Reading a large quote-free UTF-8 CSV in blocks, so its text is never all in memory at once.

Only for what polars provably splits like csv.reader (see ingest_read._read_plain_utf8_csv): a pre-scan of the
file in pieces checks there is no quote character and no lone \\r, and counts the lines (the row limit is checked
there, before any parsing). The file is then parsed in blocks of about BLOCK_BYTES cut at line ends; the first
block's header row is located as for any file, and the other blocks are handed on one at a time
(`RawTable.blocks`). Anything unexpected in a later block (invalid UTF-8, a line polars splits differently, a
field longer than csv.reader allows) raises StreamFallback, and the caller reads the file the ordinary way.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import polars as pl

from warehouse.ingest_limits import MB, Limits
from warehouse.ingest_read import (
    _CSV_FIELD_LIMIT, RawTable, _table_from_cells, check_cell_length, check_row_count, guess_delimiter, not_blank,
)

STREAM_FROM_BYTES = 48 * MB  # files at least this big are read in blocks
BLOCK_BYTES = 24 * MB
_BOM = b"\xef\xbb\xbf"


class StreamFallback(Exception):
    """A block cannot be read like csv.reader would: read the whole file the ordinary way instead."""


def read_plain_utf8_blocks(path: Path, limits: Limits, name: str | None = None) -> RawTable | None:
    """The first block as a RawTable (header located) with `.blocks` yielding the others' cells; None when the
    file does not qualify (the caller reads it the ordinary way). `name`: the file name for messages (default
    path.name; ingest_stream_text passes the submission's name for its UTF-8 copy of a GBK file)."""
    name = name or path.name
    with open(path, "rb") as handle:
        start = 3 if handle.read(3) == _BOM else 0
        handle.seek(start)
        lines = cr = crlf = 0
        previous_cr = False
        head = b""
        while piece := handle.read(16 * MB):
            if b'"' in piece:
                return None
            if not head:
                head = piece[:65536]
            cr += piece.count(b"\r")
            crlf += piece.count(b"\r\n") + (1 if previous_cr and piece.startswith(b"\n") else 0)
            lines += piece.count(b"\n")
            previous_cr = piece.endswith(b"\r")
    if cr != crlf or not head:
        return None
    check_row_count(max(0, lines - 1), name, limits)
    delimiter = guess_delimiter(head)
    blocks = _blocks(path, start)
    first_row, first = next(blocks)
    cells = _cells(first, first_row, delimiter)
    if cells is None:
        return None
    table = _table_from_cells(cells, name, "utf-8-sig" if start else "utf-8", locate=False)
    table.blocks = _rest(blocks, delimiter, name, limits)
    return table


def _blocks(path: Path, start: int) -> Iterator[tuple[int, bytes]]:
    """(the spreadsheet row of its first line, bytes ending at a line end) for each block of the file."""
    row = 1
    carry = b""
    with open(path, "rb") as handle:
        handle.seek(start)
        while True:
            piece = handle.read(BLOCK_BYTES)
            if not piece:
                if carry:
                    yield row, carry
                return
            data = carry + piece
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                carry = data
                continue
            block, carry = data[:cut], data[cut:]
            yield row, block
            row += block.count(b"\n")


def _cells(block: bytes, first_row: int, delimiter: str) -> pl.DataFrame | None:
    try:
        cells = pl.read_csv(block, has_header=False, infer_schema=False, quote_char=None, separator=delimiter)
    except (pl.exceptions.PolarsError, ValueError):
        return None
    lines = block.count(b"\n") + (0 if block.endswith(b"\n") else 1)
    longest = cells.select(pl.all().str.len_bytes().max()).max_horizontal().item() or 0
    if cells.height != lines or longest > _CSV_FIELD_LIMIT:
        return None
    return cells.select(
        pl.int_range(first_row, first_row + pl.len(), dtype=pl.Int64).alias("_row"),
        *[pl.col(c).fill_null("").alias(f"c{j}") for j, c in enumerate(cells.columns)],
    )


def _rest(blocks: Iterator[tuple[int, bytes]], delimiter: str, name: str, limits: Limits) -> Iterator[pl.DataFrame]:
    for first_row, block in blocks:
        cells = _cells(block, first_row, delimiter)
        if cells is None:
            raise StreamFallback(name)
        cells = cells.filter(pl.any_horizontal([not_blank(c) for c in cells.columns if c != "_row"]))
        check_cell_length(cells, name, limits)
        yield cells
