"""Operational checks around the warehouse folder (storage.py calls these; docs/operations.md explains them).

- `outside(root, rel)`: a Delta log `add` entry (or a legacy manifest entry, `warehouse migrate`) whose file is not inside the warehouse folder (an absolute path, `..`,
  a symlink out). Readers refuse such a manifest (`Warehouse.snapshot`) and `warehouse check` reports it;
- `interrupted_notice(previous, version_now)`: the writer lock file keeps its holder's pid, user, start time and
  the manifest version it started from; a clean exit empties it. A writer that finds it non-empty knows the
  previous writer died (kill -9, power loss) and says so, and whether anything of it was stored;
- `problems(wh)`: what `warehouse check` adds to the storage checks: `.tmp` leftovers, a dead writer's record,
  entries outside the folder, and stored values that are not finite or absurd (warehouse/value_sanity.py).
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import Any


def outside(root: Path, rel: str) -> bool:
    """True when `rel` (a manifest `file`) does not name a file inside the warehouse folder `root`: not a
    relative path, or one with a `..` component. Cheap (no file-system calls: readers call it per entry on
    every snapshot); symlinks are not followed, since whoever can place one in the folder can edit the
    manifest as well."""
    if not isinstance(rel, str) or not rel or os.path.isabs(rel) or "\x00" in rel or rel.startswith("~"):
        return True
    parts = rel.replace("\\", "/").split("/")
    return ".." in parts or all(part in ("", ".") for part in parts)


def outside_message(rel: Any) -> str:
    return (f"数据表日志（或旧格式清单）中的文件不在仓库文件夹内，拒绝读取：{str(rel)[:80]!r} / a table log (or legacy "
            f"manifest) entry points outside the warehouse folder, refused: {str(rel)[:80]!r}")


def holder(text: str) -> dict | None:
    """The lock file's holder record, or None when it is empty (clean exit) or unreadable."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        info = json.loads(text)
    except ValueError:
        return {"pid": "?", "user": "?", "started_at": None, "version": None}
    return info if isinstance(info, dict) else None


def interrupted_notice(previous: dict, version_now: int | None) -> str:
    """What a writer says on finding the record of a writer that did not finish."""
    from warehouse.storage import _parse_iso, cst_text

    pid, user = previous.get("pid", "?"), previous.get("user", "?")
    try:
        started = cst_text(_parse_iso(previous["started_at"]))
    except (KeyError, TypeError, ValueError):
        started = "?"
    head_zh = f"上一次写入（进程 {pid}，用户 {user}，开始于 {started}）没有完成"
    head_en = f"the previous ingest (pid {pid}, user {user}, started {started}) did not finish"
    before = previous.get("version")
    if isinstance(before, int) and version_now is not None and version_now > before:
        return (f"{head_zh}；它的批次已经存储（仓库版本 {before} → {version_now}），日志已补记。"
                f" / {head_en}; its batch had been stored (version {before} → {version_now}) and its log entry "
                "was restored.")
    return (f"{head_zh}；它的内容没有存储，临时文件已清理，请重新报送该文件。 / {head_en}; nothing of it was "
            "stored and its temporary files were removed: ingest that file again.")


def lock_held(root: Path) -> bool:
    """True when a writer holds <wh>/.lock right now."""
    path = Path(root) / ".lock"
    if not path.exists():
        return False
    with open(path, "r", encoding="utf-8") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
    return False


def problems(wh: Any, manifest: dict) -> list:
    """Problems `warehouse check` adds (storage.Problem objects)."""
    from warehouse import value_sanity
    from warehouse import ingest_spool
    from warehouse.storage import Problem

    found: list = []
    root = Path(wh.path)
    busy = lock_held(root)
    if not busy:
        tmp = root / ".tmp"
        for leftover in sorted(tmp.iterdir()) if tmp.is_dir() else []:
            found.append(Problem("warning", f".tmp/{leftover.name}",
                                 "中断的写入留下的临时文件（下次写入时删除） / leftover of an interrupted writer "
                                 "(removed at the next write)"))
        lock_file = root / ".lock"
        previous = holder(lock_file.read_text(encoding="utf-8", errors="replace")) if lock_file.exists() else None
        if previous is not None:
            found.append(Problem("warning", ".lock", interrupted_notice(previous, manifest.get("version"))
                                 + "（下次写入时整理 / tidied at the next write）"))
    for leftover in ingest_spool.leftovers(root):  # an owner lock that no live process holds
        found.append(Problem("warning", f"{ingest_spool.SPOOL_DIR}/{leftover.name}",
                             "中断的导入留下的已校验数据暂存（下次写入时删除） / validated rows spooled by an "
                             "interrupted ingest (removed at the next write)"))
    entries = list(manifest.get("batches", [])) + list(manifest.get("retired", []))
    files = []
    for entry in entries:
        rel = entry.get("file") if isinstance(entry, dict) else None
        if outside(root, rel):
            found.append(Problem("error", str(rel)[:80], outside_message(rel)))
        elif entry in manifest.get("batches", []) and (root / rel).is_file():
            files.append(str(root / rel))
    try:
        suspects = value_sanity.suspect_rows(files, limit=200)
    except Exception as exc:  # noqa: BLE001 - unreadable files are reported by the storage checks
        suspects = None
        found.append(Problem("warning", "values", f"数值检查未完成 / value check skipped: {type(exc).__name__}"))
    if suspects is not None:
        for row in suspects.iter_rows(named=True):
            severity = "warning" if row["problem"] == "inexact" else "error"
            what = f"{row['batch_id']} {row['source_file']}:{row['source_row']}"
            found.append(Problem(severity, what, (
                f"{row['region_code']} {row['indicator_id']} {row['period']} {row['column']}={row['value']}: "
                f"{value_sanity.describe(row['problem'], 'zh')} / {value_sanity.describe(row['problem'], 'en')}")))
    return found
