"""The review model of browser reporting (填报 and 逐级审核, issue 15): no I/O here (storage is review_store.py).

A *submission* is one region's figures for one reporting period (`500110` × `2025-Q3`), one per pair; its id
is `<display code>_<period>` (`500110_2025-Q3`). It holds one *row* per indicator with what the office typed
(value, or numerator and denominator for ratio indicators, and a note = the 异常波动说明) and the row's state:

    draft      saved by the office, not submitted (only the office sees it)
    submitted  awaiting review (does not count: it is not in the warehouse table)
    returned   sent back by the reviewer with a reason; the office corrects it and submits again
    approved   stored in the warehouse through storage.ingest_file at the approval time (counts from then on)

The submission's status is derived from its rows (`status_of`): any row submitted -> `submitted`; else any
returned -> `returned`; else all approved -> `approved`; else `draft`. Approved rows are locked.

Every action is an *event* appended to the submission's `events` list (`save_draft`, `submit`, `approving`,
`approve`, `approve_failed`, `approve_interrupted`, `return`), each with user, role and time (ISO UTC). Events
are never rewritten: review_store.py checks that a new state keeps the old events as a prefix. `approving` is
the intent written before the ingest (with the sha256 of the file it ingests); `settle` turns an `approving`
left by a killed process into `approve` (the warehouse has the batch) or `approve_interrupted` (it has not).
"""

from __future__ import annotations

import copy
import csv
import io
from collections.abc import Callable
from dataclasses import dataclass

from warehouse.regions import display_code

ROW_STATES = ("draft", "submitted", "returned", "approved")
STATUSES = ("not_started", "draft", "submitted", "returned", "approved", "overdue")
ACTIONS = ("save_draft", "submit", "approving", "approve", "approve_failed", "approve_interrupted", "return")
# A change from last period's value beyond this relative size needs an explanation (异常波动说明) in the note.
CHANGE_THRESHOLD = 0.30
CSV_HEADERS = ["region_code", "indicator_id", "period", "value", "numerator", "denominator", "note",
               "submitted_by", "submitted_at"]


class ReviewError(ValueError):
    """A refused review action: message in Chinese and English (`zh`, `en`); nothing was changed."""

    def __init__(self, zh: str, en: str):
        super().__init__(f"{zh} / {en}")
        self.zh = zh
        self.en = en

    def text(self, lang: str = "zh") -> str:
        return self.en if lang == "en" else self.zh


@dataclass(frozen=True)
class Actor:
    """Who acts: `user` (email, sub or the CLI's --as name) and `role` (a policy role, or `operator` for the CLI)."""

    user: str
    role: str


def submission_id(region_code: str, period: str) -> str:
    return f"{display_code(region_code)}_{period}"


def new_submission(region_code: str, period: str, actor: Actor, at: str) -> dict:
    return {"id": submission_id(region_code, period), "region_code": region_code, "period": period,
            "created_by": actor.user, "created_at": at, "version": 0, "rows": {}, "events": []}


def status_of(sub: dict | None) -> str:
    """not_started / draft / submitted / returned / approved (overdue is decided by the caller's clock)."""
    if not sub or not sub.get("rows"):
        return "not_started"
    states = {r["state"] for r in sub["rows"].values()}
    if "submitted" in states:
        return "submitted"
    if "returned" in states:
        return "returned"
    if states == {"approved"}:
        return "approved"
    return "draft"


def _typed(value: object) -> str | None:
    """A figure as the office typed it (text; ingest's number rules read it at submit and approval)."""
    if value is None:
        return None
    text = value if isinstance(value, str) else _text(value)
    return text.strip() or None


def number(value: object) -> float | None:
    """A stored figure as a float for display and the change rule; None when empty or not a plain number."""
    if value is None:
        return None
    try:
        return float(str(value).strip().replace(",", ""))
    except ValueError:
        return None


def event(actor: Actor, action: str, at: str, **extra: object) -> dict:
    assert action in ACTIONS, action
    return {"at": at, "user": actor.user, "role": actor.role, "action": action,
            **{k: v for k, v in extra.items() if v is not None}}


def apply_edit(sub: dict, values: dict[str, dict], actor: Actor, at: str, action: str) -> dict:
    """A new state with the office's values for the given indicators (`{indicator_id: {value, numerator,
    denominator, note}}`) saved as draft (`save_draft`) or submitted (`submit`). Approved rows cannot be
    changed; a submitted row cannot be changed until the reviewer returns it."""
    new = copy.deepcopy(sub)
    for ind, fields in values.items():
        row = new["rows"].get(ind)
        if row and row["state"] in ("approved", "submitted"):
            what = {"approved": ("已审核通过", "already approved"), "submitted": ("正在审核中", "awaiting review")}
            zh, en = what[row["state"]]
            raise ReviewError(f"指标 {ind} {zh}，不能修改", f"indicator {ind} is {en} and cannot be changed")
        keep = {k: (row or {}).get(k) for k in ("reason", "returned_by")}
        new["rows"][ind] = {"value": _typed(fields.get("value")), "numerator": _typed(fields.get("numerator")),
                            "denominator": _typed(fields.get("denominator")),
                            "note": (str(fields.get("note") or "").strip() or None), "state": "draft", **keep}
    if action == "submit":
        sent = [ind for ind, r in new["rows"].items() if r["state"] in ("draft", "returned")]
        if not sent:
            raise ReviewError("没有可提交的指标", "nothing to submit")
        new["version"] = int(new.get("version", 0)) + 1
        for ind in sent:
            new["rows"][ind]["state"] = "submitted"
        new["submitted_at"] = at
        new["submitted_by"] = actor.user
        new["events"].append(event(actor, "submit", at, rows=sorted(sent), version=new["version"]))
    else:
        new["events"].append(event(actor, "save_draft", at, rows=sorted(values)))
    return new


def apply_file(sub: dict, rows: dict[str, dict], actor: Actor, at: str, file_name: str, sha: str) -> dict:
    """A new state with a file's validated rows submitted for review (access policy `files_need_review`,
    warehouse/review_files.py). `rows`: {indicator_id: {value, numerator, denominator, note, submitted_by,
    submitted_at}} as stored by the file's validation. A row that came from this same file is left as it is
    (a re-run after a killed one finishes the job; a re-run after review changes nothing); one awaiting review
    from elsewhere is a conflict (nothing changes). Any other row (none, draft, returned, approved) takes the
    file's figures and waits for review: an approved figure keeps counting until the new one is approved."""
    new = copy.deepcopy(sub)
    sent = sorted(i for i in rows if (new["rows"].get(i) or {}).get("file_sha256") != sha)
    busy = [i for i in sent if (new["rows"].get(i) or {}).get("state") == "submitted"]
    if busy:
        raise ReviewError(f"{sub['id']} 的这些指标正在审核中，请先审核或退回：{', '.join(sorted(busy))}",
                          f"{sub['id']}: already awaiting review, approve or return them first: "
                          f"{', '.join(sorted(busy))}")
    if not sent:
        return new
    for ind in sent:
        fields = rows[ind]
        new["rows"][ind] = {"value": _typed(fields.get("value")), "numerator": _typed(fields.get("numerator")),
                            "denominator": _typed(fields.get("denominator")),
                            "note": (str(fields.get("note") or "").strip() or None), "state": "submitted",
                            "submitted_by": fields.get("submitted_by"), "submitted_at": fields.get("submitted_at"),
                            "file_sha256": sha}
    new["version"] = int(new.get("version", 0)) + 1
    new["submitted_at"] = at
    new["submitted_by"] = actor.user
    new["events"].append(event(actor, "submit", at, rows=sent, version=new["version"], file=file_name, sha256=sha))
    return new


def pick_rows(sub: dict, indicators: list[str] | None, state: str = "submitted") -> list[str]:
    """The indicator ids an approve/return acts on: the given ones (each must be `state`) or all rows in it."""
    if indicators:
        bad = [i for i in indicators if i not in sub["rows"] or sub["rows"][i]["state"] != state]
        if bad:
            raise ReviewError(f"这些指标不在待审核状态：{', '.join(bad)}", f"not awaiting review: {', '.join(bad)}")
        return list(dict.fromkeys(indicators))
    rows = sorted(i for i, r in sub["rows"].items() if r["state"] == state)
    if not rows:
        raise ReviewError(f"{sub['id']} 没有待审核的指标", f"{sub['id']} has nothing awaiting review")
    return rows


def apply_return(sub: dict, indicators: list[str] | None, reason: str, actor: Actor, at: str) -> dict:
    reason = (reason or "").strip()
    if not reason:
        raise ReviewError("退回必须写明原因", "a return needs a reason")
    new = copy.deepcopy(sub)
    rows = pick_rows(new, indicators)
    for ind in rows:
        new["rows"][ind].update(state="returned", reason=reason, returned_by=actor.user)
    new["events"].append(event(actor, "return", at, rows=rows, reason=reason, version=new.get("version")))
    return new


def approval_csv(sub: dict, rows: list[str]) -> bytes:
    """The file an approval ingests: the approved rows in the submission file format (docs/submissions.md),
    with the office as submitted_by and the submit time as submitted_at (a row from a file: the file's own). UTF-8 with BOM like the template."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADERS)
    for ind in rows:
        r = sub["rows"][ind]
        writer.writerow([sub["region_code"], ind, sub["period"], _text(r.get("value")), _text(r.get("numerator")),
                         _text(r.get("denominator")), r.get("note") or "",
                         r.get("submitted_by") or sub.get("submitted_by") or "",  # a file's row: as in the file
                         r.get("submitted_at") or sub.get("submitted_at") or ""])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def form_csv(region_code: str, period: str, values: dict[str, dict], user: str) -> bytes:
    """What the office typed, as a submission file (validated by ingest.prepare_submission like any file)."""
    sub = {"region_code": region_code, "period": period, "submitted_by": user, "submitted_at": "",
           "rows": {ind: {k: _typed(v.get(k)) if k != "note" else v.get("note") for k in
                          ("value", "numerator", "denominator", "note")} for ind, v in values.items()}}
    return approval_csv(sub, list(values))


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    number = float(value)
    return repr(int(number)) if number.is_integer() and abs(number) < 1e15 else repr(number)


def apply_approving(sub: dict, rows: list[str], sha: str, file: str, actor: Actor, at: str) -> dict:
    new = copy.deepcopy(sub)
    new["events"].append(event(actor, "approving", at, rows=rows, sha256=sha, file=file, version=new.get("version")))
    return new


def apply_approved(sub: dict, intent: dict, batch_id: str | None, at: str | None = None) -> dict:
    new = copy.deepcopy(sub)
    for ind in intent["rows"]:
        new["rows"][ind].update(state="approved", reason=None, approved_at=intent["at"], batch_id=batch_id)
    actor = Actor(intent["user"], intent["role"])
    new["events"].append(event(actor, "approve", at or intent["at"], rows=intent["rows"], batch_id=batch_id,
                               sha256=intent["sha256"], version=intent.get("version")))
    return new


def pending_intent(sub: dict) -> dict | None:
    """The last `approving` event when nothing has followed it (a writer died between intent and outcome)."""
    for ev in reversed(sub.get("events", [])):
        if ev["action"] == "approving":
            return ev
        if ev["action"] in ("approve", "approve_failed", "approve_interrupted"):
            return None
    return None


def settle(sub: dict, ingested: Callable[[str], str | None], at: str) -> dict:
    """Finish an approval interrupted by a killed process: the warehouse has the file's batch (`ingested(sha)`
    gives its batch id) -> approved; otherwise the rows stay submitted and `approve_interrupted` says so."""
    intent = pending_intent(sub)
    if intent is None:
        return sub
    batch = ingested(intent["sha256"])
    if batch:
        return apply_approved(sub, intent, batch, at=at)
    new = copy.deepcopy(sub)
    new["events"].append(event(Actor(intent["user"], intent["role"]), "approve_interrupted", at,
                               rows=intent["rows"], sha256=intent["sha256"]))
    return new


def history(subs: list[dict], region_code: str | None = None, indicator_id: str | None = None,
            period: str | None = None) -> list[dict]:
    """Every event touching a figure (or a region / period), oldest first, with the submission id."""
    out = []
    for sub in subs:
        if region_code and sub["region_code"] != region_code or period and sub["period"] != period:
            continue
        for ev in sub["events"]:
            if indicator_id and indicator_id not in (ev.get("rows") or []):
                continue
            out.append({"submission": sub["id"], "region_code": sub["region_code"], "period": sub["period"], **ev})
    return sorted(out, key=lambda e: e["at"])


def row_value(row: dict, scale: float | None = None) -> float | None:
    """The figure a row gives: its value, or numerator / denominator × scale for a ratio row."""
    num, den = number(row.get("numerator")), number(row.get("denominator"))
    if num is not None and den and scale is not None:
        return num / den * scale
    return number(row.get("value"))


def change_ratio(value: float | None, last: float | None) -> float | None:
    """Relative change from last period (None when either is missing or last is 0)."""
    if value is None or last is None or last == 0:
        return None
    return (value - last) / abs(last)


def unexplained_changes(rows: dict[str, dict], last_values: dict[str, float | None],
                        scales: dict[str, float] | None = None) -> list[str]:
    """Indicators whose change from last period exceeds CHANGE_THRESHOLD without a note (异常波动说明)."""
    out = []
    for ind, row in rows.items():
        change = change_ratio(row_value(row, (scales or {}).get(ind)), last_values.get(ind))
        if change is not None and abs(change) > CHANGE_THRESHOLD and not (row.get("note") or "").strip():
            out.append(ind)
    return sorted(out)
