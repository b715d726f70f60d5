"""Reading an XLSX submission within limits, without trusting the sheet's stored `<dimension>`.

Before openpyxl opens the workbook, the zip directory is checked: it must hold a workbook, and the parts'
uncompressed sizes together must stay under the limit (a zip bomb or a sheet with one huge cell is refused
before anything is unzipped; zipfile never inflates a part beyond its recorded size). The sheet is then
streamed (openpyxl read_only) after `reset_dimensions()`: a `<dimension>` claiming A1:XFD1048576 does not make
every row 16,384 cells wide, and a stale one (A1:J5 over 9 data rows) does not cut rows off. Cells are counted
while streaming and reading stops at the limit.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from warehouse.ingest_limits import Limits, SubmissionFileError, size_text, too_large
from warehouse.ingest_read import RawTable, _cell_text, _records_to_table, _short


def check_zip(path: Path, limits: Limits) -> None:
    """A readable zip that holds a workbook, with parts that together unzip to at most the limit."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise SubmissionFileError(f"{path.name}: 无法打开 Excel 文件（压缩包已损坏）：{_short(exc, path)}",
                                  f"{path.name}: cannot open the workbook (damaged zip): {_short(exc, path)}") from None
    names = {info.filename for info in infos}
    if "xl/workbook.xml" not in names:
        kind = "Word 文档" if "word/document.xml" in names else "PowerPoint 文档" if "ppt/presentation.xml" in names else None
        kind_en = "a Word document" if kind == "Word 文档" else "a PowerPoint document" if kind else None
        raise SubmissionFileError(
            f"{path.name}: 这是{kind or 'ZIP 压缩包'}，不是 Excel 工作簿（.xlsx）" + ("" if kind else "；请先解压"),
            f"{path.name}: this is {kind_en or 'a ZIP archive'}, not an Excel workbook (.xlsx)" + ("" if kind else "; unpack it first"))
    total = sum(info.file_size for info in infos)
    if total > limits.max_xlsx_uncompressed_bytes:
        raise too_large(path.name, "工作簿解压后的大小", "the workbook's uncompressed size", size_text(total),
                        size_text(limits.max_xlsx_uncompressed_bytes), "PLANWATCH_INGEST_MAX_XLSX_MB")
    _check_text_runs(path, [i for i in infos if i.filename.startswith("xl/worksheets/") or
                            i.filename == "xl/sharedStrings.xml"], limits)


def _check_text_runs(path: Path, parts: list[zipfile.ZipInfo], limits: Limits) -> None:
    """Refuse a cell far over the length limit before openpyxl builds it (a 200 MB cell cost 1.1 GB and 18 s):
    stream the sheet XML and find the longest stretch without a '<'. A cell's text is such a stretch and each
    character takes 1-4 bytes, so a stretch of more than 4 bytes per allowed character is certainly too long;
    shorter excesses are caught after reading (ingest_read.check_cell_length)."""
    allowed = 4 * limits.max_cell_chars + 64
    too_long = re.compile(rb"[^<]{%d}" % (allowed + 1))
    with zipfile.ZipFile(path) as archive:
        for info in parts:
            carried = 0  # bytes since the last '<' of the pieces before
            with archive.open(info) as part:
                while piece := part.read(4 << 20):
                    first = piece.find(b"<")
                    if carried + (len(piece) if first < 0 else first) > allowed or too_long.search(piece):
                        raise SubmissionFileError(
                            f"{path.name}: 有单元格的文字超过 {size_text(allowed)}，远超上限 {limits.max_cell_chars:,} 个字符；"
                            "请检查文件，或由管理员调整 PLANWATCH_INGEST_MAX_CELL_CHARS",
                            f"{path.name}: a cell holds more than {size_text(allowed)} of text, far over the limit of "
                            f"{limits.max_cell_chars:,} characters; check the file, or ask the administrator to raise "
                            "PLANWATCH_INGEST_MAX_CELL_CHARS")
                    carried = carried + len(piece) if first < 0 else len(piece) - piece.rfind(b"<") - 1


def read_xlsx(path: Path, sheet: str | None, limits: Limits) -> RawTable:
    """Every non-blank row of the sheet (the first one unless `sheet` is named), cells as text; the header row
    is not located yet (RawTable.headers is None)."""
    from openpyxl import load_workbook

    check_zip(path, limits)
    try:  # a file object: openpyxl would refuse a workbook named .csv by its extension
        book = load_workbook(open(path, "rb"), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for damaged files
        raise SubmissionFileError(f"{path.name}: 无法打开 Excel 文件：{_short(exc, path)}",
                                  f"{path.name}: cannot open the workbook: {_short(exc, path)}") from None
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise SubmissionFileError(
                f"{path.name}: 没有名为 {sheet!r} 的工作表（有：{'、'.join(book.sheetnames)}）",
                f"{path.name}: no sheet named {sheet!r} (sheets: {', '.join(book.sheetnames)})",
            )
        if not book.worksheets:
            raise SubmissionFileError(f"{path.name}: 工作簿中没有工作表", f"{path.name}: the workbook has no worksheet")
        ws = book[sheet] if sheet is not None else book.worksheets[0]
        if not hasattr(ws, "reset_dimensions"):  # a chartsheet
            raise SubmissionFileError(f"{path.name}: 第一个工作表不是数据表", f"{path.name}: the first sheet holds no cells")
        ws.reset_dimensions()  # never trust the stored <dimension>: read the rows that are there
        records = _stream_rows(ws, path.name, limits)
    except SubmissionFileError:
        raise
    except Exception as exc:  # damaged sheet XML found while streaming
        raise SubmissionFileError(f"{path.name}: Excel 文件已损坏：{_short(exc, path)}",
                                  f"{path.name}: the workbook is damaged: {_short(exc, path)}") from None
    finally:
        book.close()
    if not records:
        raise SubmissionFileError(f"{path.name}: 文件是空的", f"{path.name}: the file is empty")
    return _records_to_table(records, path.name, None, locate=False)


def _stream_rows(ws, name: str, limits: Limits) -> list[tuple[int, list[str]]]:
    records: list[tuple[int, list[str]]] = []
    n_cells = 0
    for row_number, cells in enumerate(ws.iter_rows(min_row=1, min_col=1), start=1):
        if not cells:
            continue
        n_cells += len(cells)
        if n_cells > limits.max_xlsx_cells:
            raise too_large(name, "工作表的单元格数", "the sheet's number of cells", f"{n_cells:,}+",
                            f"{limits.max_xlsx_cells:,}", "PLANWATCH_INGEST_MAX_XLSX_CELLS")
        texts = [_cell_text(c.value, getattr(c, "number_format", None)) for c in cells]
        if any(t.strip() for t in texts):
            records.append((row_number, texts))
            if len(records) > limits.max_rows + HEADER_ALLOWANCE:
                raise too_large(name, "行数", "the number of rows", f"{len(records) - 1:,}+", f"{limits.max_rows:,}",
                                "PLANWATCH_INGEST_MAX_ROWS")
    return records


HEADER_ALLOWANCE = 30  # title rows and the header itself are not data rows
