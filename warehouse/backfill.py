"""Backfilled history: loading past submissions with the time they were really received.

`planwatch ingest --received-at 2024-03-15T10:00+08:00 FILE` stores the batch with `ingested_at` = the receipt
time, so every as-of view ("as of" = received by) shows the history as it stood then. The ingest log keeps the
real ingest time (`logged_at`) and who backfilled (`backfilled_by`), next to `received_at`.

Refused, with the reason, and nothing stored:
- a receipt time in the future (the data would stay invisible until then; never allowed, even with --force);
- a receipt time earlier than a version already stored for one of the file's keys (region, indicator, period):
  the backfilled row would sit behind a later version and never be the current one, which is rarely meant;
  `--force` allows it (e.g. filling in a superseded version to complete the history).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import polars as pl

from warehouse.periods import CST

_FORM = re.compile(r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$")


class BackfillError(ValueError):
    """A refused backfill (message Chinese / English)."""


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
