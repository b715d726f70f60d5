"""Ingest orchestration: one submitted file -> validated rows -> one batch (a Delta commit), with its log entry,
original and rejection CSV. `storage.ingest_file` is this module's `ingest_file` (callers import it from there).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from warehouse.periods import utc_now
from warehouse.storage_base import (
    WarehouseError,
    aware_utc as _aware_utc,
    cst_text,
    current_user as _current_user,
    iso as _iso,
    parse_iso as _parse_iso,
    sha256_file,
    stamp,
)

@dataclass
class IngestResult:
    """What happened to one submitted file."""

    status: str  # accepted / rejected / duplicate / dry_run
    file: str
    sha256: str
    batch_id: str | None = None
    entry_id: str | None = None
    rows_total: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    warnings: int = 0
    rejection_file: str | None = None  # absolute path of the rejection CSV, when one was written
    message_zh: str = ""
    message_en: str = ""
    duplicate_of: dict | None = None
    prepared: Any = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return self.status != "rejected"

    def summary(self, lang: str = "zh") -> str:
        name = Path(self.file).name
        if lang == "en":
            text = (
                f"{name}: {self.status} — {self.rows_accepted} accepted, {self.rows_rejected} rejected, "
                f"{self.warnings} warnings. {self.message_en}"
            )
            if self.rejection_file:
                text += f"\n  rejections: {self.rejection_file}"
            return text
        text = (
            f"{name}：{_STATUS_ZH[self.status]} — 接收 {self.rows_accepted} 行，拒收 {self.rows_rejected} 行，"
            f"警告 {self.warnings} 条。{self.message_zh}"
        )
        if self.rejection_file:
            text += f"\n  拒收明细 / rejections: {self.rejection_file}"
        return text


_STATUS_ZH = {"accepted": "已接收", "rejected": "已拒收", "duplicate": "重复文件", "dry_run": "试运行"}


def _valid_rows(prepared: Any, spool: Any = None) -> Any:
    """The rows to store: a frame, or the spool that holds them (ingest_spool.Spool: .height, .select)."""
    if spool is not None:
        return spool
    rows = prepared.rows
    if "row_ok" in rows.columns:
        rows = rows.filter(pl.col("row_ok")).drop("row_ok")
    return rows


def _rejection_frame(prepared: Any) -> pl.DataFrame | None:
    """The rows to write to the rejection CSV (errors and warnings), or None when there is nothing to say."""
    rejections = getattr(prepared, "rejections", None)
    if rejections is not None and rejections.height > 0:
        return rejections
    if prepared.file_error:
        return pl.DataFrame(
            {
                "row": [None],
                "column": [None],
                "value": [None],
                "reason_zh": [str(prepared.file_error)],
                "reason_en": [str(prepared.file_error)],
                "severity": ["error"],
            },
            schema={"row": pl.Int64, "column": pl.Utf8, "value": pl.Utf8, "reason_zh": pl.Utf8,
                    "reason_en": pl.Utf8, "severity": pl.Utf8},
        )
    return None


def ingest_file(wh: Any, path: str | os.PathLike, definitions: Any, registry: Any, accept_valid_rows: bool = False,
                dry_run: bool = False, **kwargs: Any) -> IngestResult:
    """Validate one submission file and store it as a batch (see `_ingest_file`). A real ingest validates into a
    spool in the warehouse (ingest_spool.py: the valid rows of a large file are never all in memory), removed
    whatever happens; a dry run, or a warehouse where no spool can be made, keeps the rows in memory."""
    spool = None
    if not dry_run and wh.exists():
        from warehouse.ingest_spool import Spool

        try:
            spool = Spool(wh.path)
        except OSError:  # a read-only warehouse: the lock says so, with its own message
            spool = None
    original = None  # the original is compressed while the file is validated (originals.Compressing)
    if spool is not None and Path(path).is_file():
        from warehouse.originals import Compressing

        original = Compressing(Path(path), spool.dir / "original.gz")
    try:
        return _ingest_file(wh, path, definitions, registry, accept_valid_rows, dry_run, spool=spool,
                            original=original, **kwargs)
    finally:
        if original is not None:
            original.wait()
        if spool is not None:
            spool.remove()


def _ingest_file(
    wh: Any,
    path: str | os.PathLike,
    definitions: Any,
    registry: Any,
    accept_valid_rows: bool = False,
    dry_run: bool = False,
    user: str | None = None,
    now: datetime | None = None,
    sheet: str | None = None,
    rejections_path: str | os.PathLike | None = None,
    received_at: datetime | None = None,
    force: bool = False,
    scope: Any = None,
    role: str | None = None,
    spool: Any = None,
    original: Any = None,
) -> IngestResult:
    """Validate one submission file and store it as a batch (all-or-nothing unless accept_valid_rows).

    The file is read and validated before the writer lock is taken; the lock is held only to commit (the
    duplicate check, the original, the rejection report, the batch and the log entry). Same content already
    stored -> a no-op "duplicate" result (logged). dry_run stores nothing and writes nothing in the warehouse:
    the rejection CSV goes to `rejections_path` or next to the input file; its messages give the same reasons
    a real run would. scope: region codes the user may submit for (ingest.prepare_submission); role and user
    are recorded in the log entry.
    Raises WarehouseError / WarehouseLocked for problems that are not about the file's content.
    received_at: backfill (warehouse/backfill.py): the batch's ingested_at (the as-of key) is the receipt time;
    the log keeps the real time as `logged_at` and the user as `backfilled_by`. Refused -> WarehouseError.
    """
    from warehouse.ingest import prepare_submission, write_rejections_csv

    src = Path(path)
    if not src.is_file():
        raise WarehouseError(f"文件不存在 / file not found: {src.name}")
    moment = _aware_utc(now or utc_now())
    user = user or _current_user()
    sha = sha256_file(src)
    previous = wh.has_ingested(sha) if wh.exists() else None

    def duplicate_result(entry_id: str | None, previous: dict) -> IngestResult:
        when = cst_text(_parse_iso(previous["ingested_at"]))
        return IngestResult(
            status="duplicate", file=str(src), sha256=sha, batch_id=previous["batch_id"], entry_id=entry_id,
            duplicate_of=previous,
            message_zh=f"此文件已于 {when} 作为批次 {previous['batch_id']} 接收，未做任何更改。",
            message_en=f"Already ingested as batch {previous['batch_id']} on {when}; nothing changed.",
        )

    prepared = None
    if not (previous and not dry_run):  # the work, outside the lock (skipped for content already stored)
        if not dry_run:
            from warehouse import backfill  # a WarehouseError subclass when refused

            received_at = backfill.receipt_time(src, sheet, received_at)  # the option, else the file's column
        else:
            received_at = None
        prepared = prepare_submission(src, definitions, registry, now=received_at or moment, sheet=sheet,
                                      submitted_by=user, scope=scope, spool=spool)
        valid = _valid_rows(prepared, spool) if not prepared.file_error else None
        rejected_rows = int(getattr(prepared, "n_rejected", 0) or 0)
        store = valid is not None and valid.height > 0 and (rejected_rows == 0 or accept_valid_rows)
        reason_zh, reason_en = _rejection_reason(prepared, rejected_rows)

    if dry_run:
        result = _result_from(prepared, "dry_run", src, sha)
        rejections = _rejection_frame(prepared)
        if rejections is not None:
            target = Path(rejections_path) if rejections_path else src.with_name(f"{src.stem}.rejections.csv")
            write_rejections_csv(rejections, target)
            result.rejection_file = str(target.resolve())
        if not store:
            result.rows_accepted = 0
        result.message_zh = "试运行：未存储任何内容。" + ("可以接收。" if store else f"此文件会被拒收：{reason_zh}。")
        result.message_en = "Dry run: nothing stored. " + ("Would be accepted." if store else f"Would be rejected: {reason_en}.")
        if previous:
            result.duplicate_of = previous
            result.message_zh += f"（相同内容已于 {cst_text(_parse_iso(previous['ingested_at']))} 作为批次 {previous['batch_id']} 接收）"
            result.message_en += f" (same content already ingested as batch {previous['batch_id']})"
        return result

    wh._require()
    with wh.lock(user):  # the commit only
        entry_id = wh.new_entry_id(moment, sha)
        base_log = {
            "entry_id": entry_id,
            "file_name": src.name,
            "sha256": sha,
            "ingested_at": _iso(moment),
            "user": user,
            "role": role,
        }
        previous = wh.has_ingested(sha)  # again, under the lock: another writer may have stored it meanwhile
        if previous:
            wh._write_log(dict(base_log, status="duplicate", duplicate_of=previous["entry_id"],
                               batch_id=previous["batch_id"], rows_total=0, rows_accepted=0, rows_rejected=0,
                               warnings=0, message="already ingested"))
            return duplicate_result(entry_id, previous)
        if prepared is None:  # stored content, then removed from the log between the two looks: cannot happen
            raise WarehouseError("内部错误：文件未经检查 / internal error: the file was not validated")

        result = _result_from(prepared, "accepted", src, sha)
        result.entry_id = entry_id
        if received_at is not None:  # refused before anything is stored; the log keeps the real time and who
            from warehouse import backfill

            base_log.update(backfill.log_fields(wh.snapshot().files, received_at, moment,
                                                valid if store else pl.DataFrame(), force, user))
        wh.store_original(src, sha=sha, ready=original)
        rejections = _rejection_frame(prepared)
        rejection_rel = None
        if rejections is not None:
            rejection_rel = f"rejections/{entry_id}.csv"
            tmp = wh._dir(".tmp") / f"{entry_id}.csv"
            write_rejections_csv(rejections, tmp)
            os.replace(tmp, wh.path / rejection_rel)
            result.rejection_file = str((wh.path / rejection_rel).resolve())
        log = dict(
            base_log,
            original=str(wh.original_path(sha).relative_to(wh.path)),
            rows_total=result.rows_total,
            rows_rejected=result.rows_rejected,
            warnings=result.warnings,
            rejection_file=rejection_rel,
        )
        if store:
            as_of_key = received_at or moment  # backfill: "as of" means received by
            batch_id = f"{stamp(as_of_key)}-{sha[:8]}"
            log.update(status="accepted", batch_id=batch_id, rows_accepted=valid.height, message="accepted")
            wh.write_batch(valid, {"sha256": sha, "ingested_at": as_of_key, "batch_id": batch_id, "log": log})
            wh._write_log(log)
            result.batch_id = batch_id
            result.rows_accepted = valid.height
            skipped = f"，另有 {result.rows_rejected} 行有错误未存储" if result.rows_rejected else ""
            skipped_en = f"; {result.rows_rejected} {'row with errors was' if result.rows_rejected == 1 else 'rows with errors were'} not stored" if result.rows_rejected else ""
            result.message_zh = f"已存储为批次 {batch_id}{skipped}。"
            result.message_en = f"Stored as batch {batch_id}{skipped_en}."
            return result

        result.status = "rejected"
        result.rows_accepted = 0
        log.update(status="rejected", rows_accepted=0, message=reason_en)
        wh._write_log(log)
        result.message_zh, result.message_en = reason_zh + "。", reason_en + "."
        return result


def _rejection_reason(prepared: Any, rejected_rows: int) -> tuple[str, str]:
    """Why a file would not be stored (the same words for a dry run and a real one)."""
    if prepared.file_error:
        first = prepared.rejections.row(0, named=True) if prepared.rejections.height else None
        if first and first.get("reason_zh"):
            return first["reason_zh"], first["reason_en"] or first["reason_zh"]
        return str(prepared.file_error), str(prepared.file_error)
    if rejected_rows:
        # how to store the valid rows anyway is the caller's to say (CLI: a flag; browser: a checkbox)
        return (f"{rejected_rows} 行有错误，整份文件未存储",
                f"{rejected_rows} {'row has' if rejected_rows == 1 else 'rows have'} errors; nothing from this file was stored")
    return "文件中没有可存储的数据行", "the file has no data rows to store"


def _result_from(prepared: Any, status: str, src: Path, sha: str) -> IngestResult:
    n_rows = int(getattr(prepared, "n_rows", 0) or 0)
    n_valid = int(getattr(prepared, "n_valid", 0) or 0)
    return IngestResult(
        status=status,
        file=str(src),
        sha256=sha,
        rows_total=n_rows,
        rows_accepted=0 if prepared.file_error else n_valid,
        rows_rejected=int(getattr(prepared, "n_rejected", 0) or 0),
        warnings=int(getattr(prepared, "n_warnings", 0) or 0),
        prepared=prepared,
    )
