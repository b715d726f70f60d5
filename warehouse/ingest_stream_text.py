"""Reading a large CSV that is not plain UTF-8 (GB18030/GBK, or with quoted fields) in blocks of records.

ingest_stream.py covers quote-free UTF-8 with polars; everything else used to be decoded whole and split by
csv.reader into one list per record (over 3 GB for a 256 MB file). Here the file is decoded incrementally
(io.TextIOWrapper) and csv.reader — the reference reader of the whole-file path (ingest_read._read_quoted_csv,
whose rows are record numbers) — is read BLOCK_RECORDS records at a time, each block turned into the same
`_row, c0..` cells frame. A pre-scan in pieces picks the encoding as the whole-file path does (UTF-8 if the
whole file decodes as UTF-8, else GB18030) and counts lines for the row limit, before any parsing.
A quote-free GB18030 file (what Excel writes on Chinese Windows) is instead copied to UTF-8 in pieces and read
by ingest_stream's polars blocks: 3 times less CPU than csv.reader. UTF-16 files are left to the whole-file path.
"""

from __future__ import annotations

import codecs
import csv
import gc
import io
import itertools
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import polars as pl

from warehouse.ingest_limits import MB, Limits, SubmissionFileError
from warehouse.ingest_read import RawTable, _table_from_cells, check_cell_length, check_row_count, guess_delimiter, \
    not_blank

BLOCK_RECORDS = 100_000
_PIECE = 16 * MB


def read_text_blocks(path: Path, limits: Limits) -> RawTable | None:
    """The first block as a RawTable (header not yet located) with `.blocks` yielding the other blocks' cells;
    None when the file is not for this reader (UTF-16, undecodable: the whole-file path says why)."""
    encoding, lines, plain = _scan(path)
    if encoding is None:
        return None
    check_row_count(max(0, lines - 1), path.name, limits)
    if encoding == "gb18030" and plain:  # quote-free GBK: a UTF-8 copy, then polars in blocks (much faster)
        table = _via_utf8_copy(path, limits)
        if table is not None:
            return table or None  # False: not GB18030 after all, or no room for the copy: the whole-file path
    with open(path, encoding=encoding, errors="strict", newline="") as handle:
        delimiter = guess_delimiter(handle.read(65536))
    blocks = _blocks(path, encoding, delimiter)
    try:
        first = next(blocks)
    except StopIteration:
        return None
    table = _table_from_cells(first, path.name, encoding, locate=False)
    table.blocks = _rest(blocks, path.name, limits)
    return table


def _via_utf8_copy(path: Path, limits: Limits) -> RawTable | bool | None:
    """A quote-free GB18030 file transcoded in pieces to a temporary UTF-8 file read by ingest_stream (polars,
    24 MB blocks). GB18030 never uses the bytes of \\n, \\r or '"' inside a character, so lines, rows and
    cells are the same. The copy is unlinked as soon as its reader has it open (nothing is left behind).
    None: polars cannot read it like csv.reader (csv.reader blocks then); False: undecodable or no room."""
    from warehouse.ingest_stream import read_plain_utf8_blocks

    decoder = codecs.getincrementaldecoder("gb18030")()
    handle, name = tempfile.mkstemp(prefix="planwatch-", suffix=".csv")
    copy = Path(name)
    try:
        with open(path, "rb") as raw, os.fdopen(handle, "wb") as out:
            while piece := raw.read(_PIECE):
                out.write(decoder.decode(piece).encode("utf-8"))
            out.write(decoder.decode(b"", final=True).encode("utf-8"))
        table = read_plain_utf8_blocks(copy, limits, name=path.name)
    except (UnicodeDecodeError, OSError):
        return False
    finally:
        copy.unlink(missing_ok=True)  # the block reader keeps its open handle
    if table is not None:
        table.encoding = "gb18030"
    return table


def _scan(path: Path) -> tuple[str | None, int, bool]:
    """(encoding as the whole-file path would pick it, number of \\n, quote-free with \\r only in \\r\\n)
    reading the file in pieces."""
    lines = cr = crlf = quotes = 0
    previous_cr = False
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8 = True
    with open(path, "rb") as handle:
        first = handle.read(4)
        if first.startswith((b"\xff\xfe", b"\xfe\xff")):
            return None, 0, False
        handle.seek(0)
        while piece := handle.read(_PIECE):
            lines += piece.count(b"\n")
            quotes += piece.count(b'"')
            cr += piece.count(b"\r")
            crlf += piece.count(b"\r\n") + (1 if previous_cr and piece.startswith(b"\n") else 0)
            previous_cr = piece.endswith(b"\r")
            if utf8:
                try:
                    decoder.decode(piece)
                except UnicodeDecodeError:
                    utf8 = False
        if utf8:
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                utf8 = False
    plain = quotes == 0 and cr == crlf
    if utf8:
        return ("utf-8-sig" if first.startswith(b"\xef\xbb\xbf") else "utf-8"), lines, plain
    if plain:
        return "gb18030", lines, plain  # decoded (and so checked) while it is copied to UTF-8
    decoder = codecs.getincrementaldecoder("gb18030")()
    with open(path, "rb") as handle:
        try:
            while piece := handle.read(_PIECE):
                decoder.decode(piece)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return None, 0, False
    return "gb18030", lines, plain


def _blocks(path: Path, encoding: str, delimiter: str) -> Iterator[pl.DataFrame]:
    """Cells frames (_row = record number from 1, c0..: text) of BLOCK_RECORDS records each."""
    with open(path, encoding=encoding, newline="") as handle:
        text = handle if encoding != "gb18030" else _without_bom(handle)
        records = csv.reader(text, delimiter=delimiter)
        row = 1
        while True:
            collecting = gc.isenabled()
            gc.disable()  # a list per record: the cyclic collector would otherwise rescan them over and over
            try:
                chunk = list(itertools.islice(records, BLOCK_RECORDS))
            except csv.Error as exc:
                raise SubmissionFileError(f"{path.name}: CSV 格式错误：{exc}", f"{path.name}: malformed CSV: {exc}") \
                    from None
            finally:
                if collecting:
                    gc.enable()
            if not chunk:
                return
            columns = list(itertools.zip_longest(*chunk, fillvalue=""))
            n = len(chunk)
            del chunk
            yield pl.DataFrame({
                "_row": pl.int_range(row, row + n, dtype=pl.Int64, eager=True),
                **{f"c{j}": pl.Series(column, dtype=pl.String) for j, column in enumerate(columns)},
            })
            row += n


def _without_bom(handle: io.TextIOBase) -> Iterator[str]:
    """GB18030 text as lines, a leading U+FEFF removed (the whole-file path strips it too)."""
    first = True
    for line in handle:
        if first:
            line, first = line.removeprefix("\ufeff"), False
        yield line


def _rest(blocks: Iterator[pl.DataFrame], name: str, limits: Limits) -> Iterator[pl.DataFrame]:
    for cells in blocks:
        columns = [c for c in cells.columns if c != "_row"]
        cells = cells.filter(pl.any_horizontal([not_blank(c) for c in columns])) if columns else cells.clear()
        check_cell_length(cells, name, limits)
        yield cells
