"""Files that need review too (access policy `files_need_review: true`; issue 15).

By default a file ingested by an operator (`planwatch ingest`, the data-quality upload) counts at once: it is an
official figure from its ingest time. With `files_need_review: true` in the access policy (access.yaml), a file
goes through the same review as the 填报 form:

    1. the file is validated exactly as for an ingest (ingest.prepare_submission, with the uploader's scope);
    2. a file that would be rejected goes to storage.ingest_file unchanged: rejected, logged, nothing stored;
       the same content already in the warehouse is the usual "duplicate" (nothing changes);
    3. otherwise its valid rows become submissions awaiting review, one per region × period
       (review_store.ReviewStore.submit_file_rows: every row keeps the file's submitted_by / submitted_at; the
       original is kept by its sha256); nothing enters the warehouse table, so nothing counts yet;
    4. a reviewer approves or returns them on the 审核 page or with `planwatch review`; approval ingests the
       approved rows through storage.ingest_file with ingested_at = the approval time (ReviewStore.approve), the
       one storage path of every figure.

    result = submit_file(wh, path, defs, registry, user="zhang", role="analyst", scope=None)
    result.status        # "submitted" | or an IngestResult's status ("rejected", "duplicate")
    result.summary("zh") # 已提交审核，未计入统计 ...
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from warehouse.periods import utc_now
from warehouse.review import Actor
from warehouse.storage_base import aware_utc, iso, sha256_file

@dataclass
class FileReview:
    """A file whose valid rows were submitted for review (the counterpart of storage's IngestResult)."""

    file: str
    sha256: str
    submissions: list[str]
    rows_submitted: int  # rows newly waiting for review (a re-run of the same file: 0)
    rows_rejected: int = 0
    warnings: int = 0
    status: str = "submitted"
    rejection_file: str | None = None
    prepared: Any = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return True

    def summary(self, lang: str = "zh") -> str:
        name = Path(self.file).name
        if not self.rows_submitted:
            return (f"{name}: already submitted for review; nothing changed ({len(self.submissions)} submissions)."
                    if lang == "en" else f"{name}：此文件的数据已提交审核，未做任何更改（{len(self.submissions)} 份填报）。")
        ids = ", ".join(self.submissions[:5]) + (" …" if len(self.submissions) > 5 else "")
        if lang == "en":
            skipped = f"; {self.rows_rejected} {'row with errors was' if self.rows_rejected == 1 else 'rows with errors were'} not submitted" if self.rows_rejected else ""
            return (f"{name}: submitted for review, not counted yet — {self.rows_submitted} rows in "
                    f"{len(self.submissions)} submissions ({ids}){skipped}. They count once a reviewer approves "
                    "them (审核 page or `planwatch review approve`).")
        skipped = f"，另有 {self.rows_rejected} 行有错误未提交" if self.rows_rejected else ""
        return (f"{name}：已提交审核，未计入统计 — {self.rows_submitted} 行，{len(self.submissions)} 份填报"
                f"（{ids}）{skipped}。审核通过后才计入（审核页或 planwatch review approve）。")


def _cell(value: Any) -> Any:
    return iso(aware_utc(value)) if isinstance(value, datetime) else value


def group_rows(rows: pl.DataFrame) -> dict[tuple[str, str], dict[str, dict]]:
    """Validated rows -> {(region, period): {indicator_id: fields}} (the last row of a key wins, as in the table)."""
    groups: dict[tuple[str, str], dict[str, dict]] = {}
    for r in rows.iter_rows(named=True):
        groups.setdefault((r["region_code"], r["period"]), {})[r["indicator_id"]] = {
            k: _cell(r.get(k)) for k in ("value", "numerator", "denominator", "note", "submitted_by", "submitted_at")}
    return groups


def submit_file(wh: Any, path: str | os.PathLike, definitions: Any, registry: Any, user: str | None = None,
                role: str | None = None, scope: Any = None, accept_valid_rows: bool = False,
                sheet: str | None = None, now: datetime | None = None) -> Any:
    """Validate a file and submit its valid rows for review (see the module docstring). Returns a FileReview,
    or the IngestResult of storage.ingest_file when the file is rejected or already stored. Raises
    review.ReviewError when a row is already awaiting review from another submission (nothing changed),
    storage.WarehouseError for problems that are not about the file's content."""
    from warehouse.ingest import prepare_submission
    from warehouse.storage import WarehouseError, ingest_file
    from warehouse.storage_base import current_user
    from warehouse.review_store import OPERATOR, ReviewStore

    src = Path(path)
    if not src.is_file():
        raise WarehouseError(f"文件不存在 / file not found: {src.name}")
    wh._require()
    moment = aware_utc(now or utc_now())
    user = user or current_user()
    sha = sha256_file(src)

    def as_ingest() -> Any:  # rejected or already stored: the ordinary path says so and logs it
        return ingest_file(wh, src, definitions, registry, accept_valid_rows=accept_valid_rows, user=user,
                           now=moment, sheet=sheet, scope=scope, role=role)

    if wh.has_ingested(sha):
        return as_ingest()
    prepared = prepare_submission(src, definitions, registry, now=moment, sheet=sheet, submitted_by=user, scope=scope)
    valid = None if prepared.file_error else prepared.rows
    if valid is not None and "row_ok" in valid.columns:
        valid = valid.filter(pl.col("row_ok")).drop("row_ok")
    if valid is None or valid.height == 0 or (prepared.n_rejected and not accept_valid_rows):
        return as_ingest()
    store = ReviewStore(wh, definitions, registry)
    subs, new_rows = store.submit_file_rows(group_rows(valid), Actor(user, role or OPERATOR), src.name,
                                            sha, src, now=moment)
    return FileReview(file=str(src), sha256=sha, submissions=[s["id"] for s in subs], rows_submitted=new_rows,
                      rows_rejected=int(prepared.n_rejected or 0), warnings=int(prepared.n_warnings or 0),
                      prepared=prepared)


def policy_says_review(definitions: Any, registry: Any) -> tuple[bool, list[str]]:
    """Does the access policy (`PLANWATCH_ACCESS`) say files need review? (flag, the policy's errors). No
    policy set: files count at ingest (False, []). An invalid policy: its errors (the caller refuses to ingest)."""
    from warehouse.access_loader import load_policy

    raw = os.environ.get("PLANWATCH_ACCESS", "").strip()
    if not raw:
        return False, []
    result = load_policy(raw, definitions=definitions, registry=registry)
    if not result.ok:
        return False, [str(p) for p in result.errors]
    return bool(result.policy.files_need_review), []
