"""Backfilled history: loading past submissions with the time they were really received.

`planwatch ingest --received-at 2024-03-15T10:00+08:00 FILE` stores the batch with `ingested_at` = the receipt
time, so every as-of view ("as of" = received by) shows the history as it stood then. The ingest log keeps the
real ingest time (`logged_at`) and who backfilled (`backfilled_by`), next to `received_at`.

The receipt time can also come from the file: a column `收到时间` / `received_at` with one value for every row
(a file is received once; different values are refused: split the file). `--received-at` wins over the column.

Refused, with the reason, and nothing stored:
- a receipt time in the future (the data would stay invisible until then; never allowed, even with --force);
- a receipt time earlier than a version already stored for one of the file's keys (region, indicator, period):
  the backfilled row would sit behind a later version and never be the current one, which is rarely meant;
  `--force` allows it (e.g. filling in a superseded version to complete the history).
"""

from __future__ import annotations

import itertools

import re
from datetime import datetime, timedelta, timezone

import polars as pl

from warehouse.periods import CST
from warehouse.storage import WarehouseError, _iso

_FORM = re.compile(r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$")


class BackfillError(WarehouseError):
    """A refused backfill (message Chinese / English); a WarehouseError, so ingest callers report it as one."""


def parse_received_at(text: str) -> datetime:
    """ISO date/time; with an offset (`+08:00`, `Z`) as written, without one in China Standard Time.
    Returns an aware UTC datetime."""
    raw = (text or "").strip()
    if not _FORM.match(raw):
        raise BackfillError(f"收到时间格式不对：{raw!r}（例如 2024-03-15T10:00+08:00）"
                            f" / received-at not understood: {raw!r} (e.g. 2024-03-15T10:00+08:00)")
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise BackfillError(f"收到时间不是有效日期：{raw!r} / received-at is not a valid date: {raw!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=CST)
    return moment.astimezone(timezone.utc)


def _cst(moment: datetime) -> str:
    return moment.astimezone(CST).strftime("%Y-%m-%d %H:%M") + " CST"


def check(files: list[str], received_at: datetime, now: datetime, rows: pl.DataFrame, force: bool) -> None:
    """Raise BackfillError when the backfill must be refused (see module doc). `files`: the warehouse's batch
    files; `rows`: the file's valid rows (region_code, indicator_id, period)."""
    if received_at > now + timedelta(minutes=1):
        raise BackfillError(
            f"收到时间 {_cst(received_at)} 晚于当前时间 {_cst(now)}，不能补录未来的数据；未做任何更改。"
            f" / received-at {_cst(received_at)} is in the future (now {_cst(now)}); nothing changed.")
    if force or not files or rows.height == 0:
        return
    keys = rows.select("region_code", "indicator_id", "period").unique()
    stored = (
        pl.scan_parquet(files)
        .select("region_code", "indicator_id", "period", "ingested_at")
        .join(keys.lazy(), on=["region_code", "indicator_id", "period"], how="inner")
        .filter(pl.col("ingested_at") > received_at.replace(tzinfo=None))
        .sort("ingested_at")
        .collect()
    )
    if stored.height:
        first = stored.row(0, named=True)
        later = first["ingested_at"].replace(tzinfo=timezone.utc)
        key = f"{first['region_code']}/{first['indicator_id']}/{first['period']}"
        raise BackfillError(
            f"收到时间 {_cst(received_at)} 早于已存储的版本（{key} 于 {_cst(later)} 收到，共 {stored.height} 个）："
            f"补录的数据将不会成为当前值；如确需补录历史版本，请加 --force。未做任何更改。"
            f" / received-at {_cst(received_at)} is earlier than a stored version ({key} received {_cst(later)}; "
            f"{stored.height} in all): the backfilled rows would never be current; add --force to store them "
            "anyway. Nothing changed.")


RECEIVED_HEADERS = ("收到时间", "received_at")


def file_received_at(path, sheet: str | None = None) -> datetime | None:
    """The receipt time written in the file's `收到时间` / `received_at` column, or None without one.
    Raises BackfillError for more than one distinct value or one that is not a time."""
    from warehouse.ingest import SubmissionFileError, _header_key, read_table
    from warehouse.ingest_stream import StreamFallback

    if not _may_hold_column(path):
        return None  # a text file whose header rows name no receipt time: not read a second time
    try:  # a large CSV in blocks (ingest_stream*.py): its text is never all in memory for this column either
        try:
            table = read_table(path, sheet, stream=True)
            found = _column_values(table, _header_key)
        except StreamFallback:
            table = read_table(path, sheet)
            found = _column_values(table, _header_key)
    except SubmissionFileError:
        return None  # the ingest itself reports an unreadable file
    if found is None:
        return None
    column, distinct = found
    values = sorted(distinct)
    if not values:
        return None
    if len(values) > 1:
        shown = "、".join(values[:3])
        raise BackfillError(f"“{column}”列有多个不同的收到时间（{shown}）：一份文件只能有一个收到时间，请拆分文件；未做任何更改。"
                            f" / column “{column}” holds {len(values)} different receipt times ({', '.join(values[:3])}): "
                            "one file has one receipt time, split the file; nothing changed.")
    return parse_received_at(values[0])


SNIFF_BYTES = 1 << 20


def _may_hold_column(path) -> bool:
    """False only when the file is plain text whose header rows surely hold no receipt-time header: its first
    MiB, read as UTF-8 and as GB18030 and normalised as headers are (NFKC, lower case), contains neither
    "收到时间" nor "received", and holds the whole header search (the file itself, or more than HEADER_SCAN
    non-blank lines and no quote that could join lines). Anything else (XLSX, Parquet, UTF-16, a quoted or
    long header region) is read as before. Saves a second pass over a large file (0.4 s CPU per 1 M rows)."""
    import unicodedata

    from warehouse.ingest_headers import HEADER_SCAN

    try:
        with open(path, "rb") as handle:
            head = handle.read(SNIFF_BYTES)
    except OSError:
        return True  # the ingest reports an unreadable file
    if not head or b"\x00" in head or head[:4] in (b"PK\x03\x04", b"PAR1") or head[:2] == b"\xd0\xcf":
        return True
    if len(head) == SNIFF_BYTES:
        lines = head.split(b"\n")[:-1]
        if b'"' in head or sum(1 for line in lines if line.strip(b" \t\r,;")) <= HEADER_SCAN:
            return True
    for encoding in ("utf-8", "gb18030"):
        text = unicodedata.normalize("NFKC", head.decode(encoding, errors="ignore")).lower()
        if "收到时间" in text or "received" in text:
            return True
    return False


def _column_values(table, header_key) -> tuple[str, set[str]] | None:
    """(the receipt-time column's header, its distinct non-blank values) over the table and its blocks."""
    keys = {header_key(h) for h in RECEIVED_HEADERS}
    index = next((i for i, h in enumerate(table.headers) if header_key(h) in keys), None)
    cells = f"c{index}" if index is not None else None  # read_table names the cells c0, c1, ... by position
    if cells is None or cells not in table.frame.columns:
        return None
    distinct: set[str] = set()
    for frame in itertools.chain([table.frame], table.blocks or []):  # one block at a time
        if cells in frame.columns:
            distinct.update(str(v).strip() for v in frame[cells].unique().to_list() if v is not None and str(v).strip())
    return table.headers[index], distinct


def receipt_time(path, sheet: str | None, given: datetime | None) -> datetime | None:
    """The receipt time of a file being ingested: `--received-at` when given, else the file's column, else None
    (an ordinary ingest). Aware UTC."""
    found = given if given is not None else file_received_at(path, sheet)
    return None if found is None else found.astimezone(timezone.utc)


def log_fields(files: list[str], received_at: datetime, now: datetime, rows: pl.DataFrame, force: bool,
               user: str) -> dict:
    """Check the backfill (raises BackfillError) and return the ingest-log fields: ingested_at = received_at
    (the as-of key), received_at, logged_at (the real ingest time) and backfilled_by."""
    check(files, received_at, now, rows, force)
    return {"ingested_at": _iso(received_at), "received_at": _iso(received_at), "logged_at": _iso(now),
            "backfilled_by": user}

