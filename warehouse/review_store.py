"""Submissions awaiting review, kept in the warehouse folder (issue 15; the model is warehouse/review.py).

    <wh>/review/submissions/<id>.json   one submission (rows + append-only events); replaced atomically
    <wh>/review/files/<id>-<stamp>.csv  the file an approval ingested (the warehouse keeps it by sha256 too)
    <wh>/review/.tmp/                   temporary files (written, synced, then os.replace)

What counts: pending rows live only here. Approval stores the approved rows through storage.ingest_file (the
same validation, atomicity and ingest log as a file) with ingested_at = the approval time, so every view of the
warehouse (leaders' pages, rankings, alerts, exports, as-of views) sees them from the approval on and never
before. Every write happens under the warehouse writer lock. A state change is one os.replace of the
submission file, so a process killed during a submit leaves the old or the new file. An approval is two commit
points (the warehouse manifest, then this file); the `approving` intent written first lets the next writer (or
a reader, without writing) settle it: the warehouse has the batch -> approved, otherwise still submitted.

Who may do what (`may_report`, `may_review`): an identity with the `report` action submits for regions in its
scope; one with `review` reviews submissions of regions inside its scope but not the roots of its scope (a
city reviews its counties, a province its cities), never its own. The CLI passes `identity=None` with
`--as NAME` (role `operator`: the person with the warehouse folder in hand; no scope limit).
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import polars as pl

from warehouse import review as rv
from warehouse.review import Actor, ReviewError
from warehouse.storage import Warehouse, ingest_file, stamp
from warehouse.periods import utc_now

OPERATOR = "operator"


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def _aware(moment: datetime | None) -> datetime:
    moment = moment or utc_now()
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def may_report(identity: Any, region: str) -> bool:
    """May a signed-in identity fill in and submit figures for `region`?"""
    return identity is not None and identity.can("report") and identity.scope.allows(region)


def may_review(identity: Any, region: str) -> bool:
    """Reviewers act one level up: inside their scope, but not on the regions their scope is made of."""
    if identity is None or not identity.can("review"):
        return False
    if identity.scope.everything:
        return True
    return identity.scope.allows(region) and region not in identity.scope.roots


class ReviewStore:
    def __init__(self, wh: Warehouse | str | os.PathLike, definitions: Any, registry: Any):
        self.wh = wh if isinstance(wh, Warehouse) else Warehouse(wh)
        self.defs = definitions
        self.registry = registry
        self.folder = self.wh.path / "review"

    # ---- files ----
    def _path(self, sub_id: str) -> Path:
        if not sub_id or "/" in sub_id or "\\" in sub_id or sub_id.startswith("."):
            raise ReviewError(f"无效的编号：{sub_id!r}", f"not a submission id: {sub_id!r}")
        return self.folder / "submissions" / f"{sub_id}.json"

    def _write_atomic(self, target: Path, data: bytes) -> None:
        tmp_dir = self.folder / ".tmp"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = tmp_dir / f"{target.name}.{os.getpid()}.tmp"
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
        fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def _read(self, sub_id: str) -> dict | None:
        path = self._path(sub_id)
        if not path.is_file():
            return None
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)

    def _commit(self, old: dict | None, new: dict) -> None:
        """Write `new` (under the lock); its events must extend the old ones (the log is append-only)."""
        before = (old or {}).get("events", [])
        if new["events"][: len(before)] != before:
            raise ReviewError("审核记录只能追加", "the review log can only be appended to")
        body = json.dumps(new, ensure_ascii=False, indent=1).encode("utf-8")
        self._write_atomic(self._path(new["id"]), body)

    def _ingested(self, sha: str) -> str | None:
        entry = self.wh.has_ingested(sha)
        return entry.get("batch_id") if entry else None

    def _settled(self, sub: dict | None, at: str) -> dict | None:
        return None if sub is None else rv.settle(sub, self._ingested, at)

    # ---- reading ----
    def get(self, sub_id: str) -> dict | None:
        """A submission as it stands (an interrupted approval settled in memory, nothing written)."""
        sub = self._read(sub_id)
        if sub is None or rv.pending_intent(sub) is None:
            return sub
        return self._settled(sub, _iso(utc_now()))

    def find(self, region: str, period: str) -> dict | None:
        return self.get(rv.submission_id(region, period))

    def all(self) -> list[dict]:
        folder = self.folder / "submissions"
        if not folder.is_dir():
            return []
        return [s for s in (self.get(p.stem) for p in sorted(folder.glob("*.json"))) if s is not None]

    def list(self, region: str | None = None, status: str | None = None, identity: Any = None) -> list[dict]:
        """Submissions of `region` and below (all when None), optionally of one status; with `identity`, only
        those it may report or review."""
        out = []
        for sub in self.all():
            if region and region != "CN" and not sub["region_code"].startswith(region):
                continue
            if status and rv.status_of(sub) != status:
                continue
            if identity is not None and not (may_review(identity, sub["region_code"])
                                             or may_report(identity, sub["region_code"])):
                continue
            out.append(sub)
        return out

    # ---- validation (the same code as a file) ----
    def validate(self, region: str, period: str, values: dict[str, dict], user: str,
                 scope: Any = None, now: datetime | None = None) -> Any:
        """The form's figures checked exactly like an uploaded file: written as a submission CSV to a temporary
        folder and read back by ingest.prepare_submission (with the uploader's scope). Nothing is stored."""
        from warehouse.ingest import prepare_submission

        roots = None if scope is None or scope.everything else list(scope.roots)
        with tempfile.TemporaryDirectory(prefix="planwatch-form-") as tmp:
            path = Path(tmp) / f"{rv.submission_id(region, period)}.csv"
            path.write_bytes(rv.form_csv(region, period, values, user))
            return prepare_submission(path, self.defs, self.registry, now=_aware(now), submitted_by=user, scope=roots)

    # ---- writing ----
    def save(self, region: str, period: str, values: dict[str, dict], actor: Actor, identity: Any = None,
             submit: bool = False, now: datetime | None = None,
             last_values: dict[str, float | None] | None = None) -> dict:
        """Save the office's figures as a draft, or submit them for review (validated first: any error or a
        large change without an explanation refuses the submit and changes nothing)."""
        code = self.registry.normalize_code(region) if self.registry is not None else region
        if not code:
            raise ReviewError(f"未知地区：{region}", f"unknown region: {region}")
        if identity is not None and not may_report(identity, code):
            raise ReviewError(f"您无权为 {code} 填报", f"you may not report for {code}")
        moment = _aware(now)
        at = _iso(moment)
        with self.wh.lock(actor.user):
            old = self._settled(self._read(rv.submission_id(code, period)), at)
            base = old or rv.new_submission(code, period, actor, at)
            new = rv.apply_edit(base, values, actor, at, "submit" if submit else "save_draft")
            if submit:
                sent = {i: r for i, r in new["rows"].items() if r["state"] == "submitted"
                        and (old is None or old["rows"].get(i, {}).get("state") != "submitted")}
                prepared = self.validate(code, period, sent, actor.user,
                                         scope=None if identity is None else identity.scope, now=moment)
                errors = prepared.rejections.filter(pl.col("severity") == "error") if not prepared.file_error else None
                if prepared.file_error or errors.height:
                    first = (errors.row(0, named=True) if errors is not None and errors.height else
                             {"reason_zh": prepared.file_error, "reason_en": prepared.file_error, "value": ""})
                    raise ReviewError(f"有 {max(prepared.n_rejected, 1)} 项未通过校验，未提交：{first['reason_zh']}",
                                      f"{max(prepared.n_rejected, 1)} rows failed the checks; nothing was submitted: "
                                      f"{first['reason_en']}")
                missing = rv.unexplained_changes(sent, last_values or {}, self.scales())
                if missing:
                    raise ReviewError(f"变化超过 {rv.CHANGE_THRESHOLD:.0%} 须填写异常波动说明：{', '.join(missing)}",
                                      f"a change beyond {rv.CHANGE_THRESHOLD:.0%} needs an explanation: "
                                      f"{', '.join(missing)}")
            self._commit(old, new)
        return new

    def submit_file_rows(self, groups: dict[tuple[str, str], dict[str, dict]], actor: Actor, file_name: str,
                         sha: str, original: Path, now: datetime | None = None) -> tuple[list[dict], int]:
        """A validated file's rows, grouped by (region, period), submitted for review (warehouse/review_files.py).
        All submissions are checked before any is written (a conflict changes nothing); the original file is
        kept in the warehouse's originals by its sha256. Each submission is one atomic replace: after a kill,
        running the same file again finishes the job (rows already submitted from it are kept). Returns the
        submissions and how many rows were newly submitted."""
        at = _iso(_aware(now))
        with self.wh.lock(actor.user):
            changes = []
            for (region, period), rows in sorted(groups.items()):
                old = self._settled(self._read(rv.submission_id(region, period)), at)
                new = rv.apply_file(old or rv.new_submission(region, period, actor, at), rows, actor, at, file_name, sha)
                changes.append((old, new))
            self.wh.store_original(original, sha=sha)
            sent = 0
            for old, new in changes:
                if old is None or new["events"] != old["events"]:
                    self._commit(old, new)
                    sent += len(new["events"][-1]["rows"])
        return [new for _, new in changes], sent

    def return_rows(self, sub_id: str, reason: str, actor: Actor, identity: Any = None,
                    indicators: list[str] | None = None, now: datetime | None = None) -> dict:
        """Send rows (all awaiting review when `indicators` is empty) back to the office with a reason."""
        at = _iso(_aware(now))
        with self.wh.lock(actor.user):
            old = self._settled(self._require(sub_id), at)
            self._check_reviewer(old, actor, identity)
            new = rv.apply_return(old, indicators, reason, actor, at)
            self._commit(old, new)
        return new

    def approve(self, sub_id: str, actor: Actor, identity: Any = None, indicators: list[str] | None = None,
                now: datetime | None = None) -> dict:
        """Approve rows (all awaiting review when `indicators` is empty): they are ingested as one file through
        storage.ingest_file at the approval time, then marked approved. A refused ingest changes nothing but
        the log (`approve_failed`, with the reason)."""
        moment = _aware(now)
        at = _iso(moment)
        with self.wh.lock(actor.user):
            old = self._settled(self._require(sub_id), at)
            self._check_reviewer(old, actor, identity)
            rows = rv.pick_rows(old, indicators)
            body = rv.approval_csv(old, rows)
            name = f"{old['id']}-v{old.get('version', 0)}-{stamp(moment)}.csv"
            target = self.folder / "files" / name
            self._write_atomic(target, body)
            import hashlib

            sha = hashlib.sha256(body).hexdigest()
            intent = rv.apply_approving(old, rows, sha, f"review/files/{name}", actor, at)
            self._commit(old, intent)
            result = ingest_file(self.wh, target, self.defs, self.registry, user=actor.user, role=actor.role,
                                 now=moment)
            if result.status in ("accepted", "duplicate"):
                new = rv.apply_approved(intent, intent["events"][-1], result.batch_id)
                self._commit(intent, new)
                return new
            failed = rv.event(actor, "approve_failed", at, rows=rows, sha256=sha, message=result.message_en)
            new = dict(intent, events=intent["events"] + [failed])
            self._commit(intent, new)
        raise ReviewError(f"审核通过失败，未存储：{result.message_zh}", f"approval failed, nothing stored: {result.message_en}")

    # ---- helpers ----
    def scales(self) -> dict[str, float]:
        """indicator id -> the ratio scale (value = numerator / denominator × scale) for ratio indicators."""
        return {i.id: float(i.aggregation.scale) for i in self.defs.indicators if i.aggregation.rule.value == "ratio"}

    def _require(self, sub_id: str) -> dict:
        sub = self._read(sub_id)
        if sub is None:
            raise ReviewError(f"没有编号为 {sub_id} 的填报", f"no submission {sub_id}")
        return sub

    def _check_reviewer(self, sub: dict, actor: Actor, identity: Any) -> None:
        if identity is not None and not may_review(identity, sub["region_code"]):
            raise ReviewError(f"您无权审核 {sub['region_code']} 的填报", f"you may not review {sub['region_code']}")
        if actor.user and actor.user == sub.get("submitted_by") and actor.role != OPERATOR:
            raise ReviewError("不能审核自己提交的数据", "you cannot review your own submission")

    def pending_rows(self, identity: Any = None) -> pl.DataFrame:
        """Rows awaiting review (the analyst's 'include figures awaiting review' overlay), within the scope."""
        records = []
        for sub in self.all():
            if identity is not None and not identity.scope.allows(sub["region_code"]):
                continue
            for ind, row in sub["rows"].items():
                if row["state"] == "submitted":
                    records.append({"submission": sub["id"], "region_code": sub["region_code"], "period": sub["period"],
                                    "indicator_id": ind, "value": rv.row_value(row, self.scales().get(ind)),
                                    "numerator": rv.number(row.get("numerator")),
                                    "denominator": rv.number(row.get("denominator")), "note": row.get("note"),
                                    "submitted_by": sub.get("submitted_by"), "submitted_at": sub.get("submitted_at")})
        schema = {"submission": pl.String, "region_code": pl.String, "period": pl.String, "indicator_id": pl.String,
                  "value": pl.Float64, "numerator": pl.Float64, "denominator": pl.Float64, "note": pl.String,
                  "submitted_by": pl.String, "submitted_at": pl.String}
        return pl.DataFrame(records, schema=schema, orient="row") if records else pl.DataFrame(schema=schema)
