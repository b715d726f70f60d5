"""`planwatch warehouse check` (`Warehouse.check()`): the Delta table and the ingest log agree.

Errors: the table log unreadable; a data file of the current version missing, unreadable or truncated, with a
schema other than the batch schema, or with a row count other than the log's; rows per batch differing from the
batch's commit; a batch committed twice; a log entry with an unknown status; an accepted log entry whose batch
is not in the table or whose row count differs; a missing rejection file; a missing original, or one that does
not decompress or hash to its sha256 (each original is decompressed and hashed, streaming; with the batch id).
Warnings (harmless leftovers, tidied later): a committed batch with no log entry yet (restored at the next
write), a data file no version mentions (a writer killed before its commit; deleted by compaction).
"""

from __future__ import annotations

from collections import Counter

import polars as pl

from warehouse import delta_table, originals, wh_check
from warehouse.storage_base import BATCH_SCHEMA, Problem, WarehouseError


def check(wh) -> list[Problem]:
    problems: list[Problem] = []
    try:
        state = wh.state()
    except WarehouseError as exc:
        return [Problem("error", delta_table.TABLE, str(exc))]
    except Exception as exc:  # noqa: BLE001 - a broken Delta log
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]  # delta-rs appends a Rust backtrace
        return [Problem("error", f"{delta_table.TABLE}/_delta_log", f"表日志无法读取 / table log unreadable: {first}")]
    table = delta_table.TABLE
    found: Counter = Counter()
    for f in state.files:
        if wh_check.outside(wh.table_path, f.name):
            continue  # reported (and never read) by wh_check.problems below
        what = f"{table}/{f.name}"
        try:
            schema = pl.read_parquet_schema(f.path)
            counts = pl.read_parquet(f.path, columns=["batch_id"]).group_by("batch_id").len()
        except FileNotFoundError:
            problems.append(Problem("error", what, "表中的文件不存在 / file of the table is missing"))
            continue
        except Exception as exc:  # noqa: BLE001 - corrupt or truncated parquet
            problems.append(Problem("error", what, f"Parquet 无法读取 / unreadable parquet: {exc}"))
            continue
        for col, dtype in BATCH_SCHEMA.items():
            if col not in schema:
                problems.append(Problem("error", what, f"缺少列 / missing column {col}"))
            elif schema[col] != dtype:
                problems.append(Problem("error", what, f"列类型错误 / column {col} is {schema[col]}, expected {dtype}"))
        n = int(counts["len"].sum()) if counts.height else 0
        if n != f.rows:
            problems.append(Problem("error", what, f"行数不符 / {n} rows, the table log says {f.rows}"))
        found.update(dict(zip(counts["batch_id"].to_list(), counts["len"].to_list())))
    committed: dict[str, dict] = {}
    for b in state.batches:
        if b["batch_id"] in committed:
            problems.append(Problem("error", b["batch_id"], f"批次重复提交 / batch committed twice (version {b['version']})"))
        committed[b["batch_id"]] = b
    readable = not any(p.severity == "error" and p.what.startswith(f"{table}/") for p in problems)
    if readable:
        for batch_id, b in committed.items():
            if found.get(batch_id, 0) != int(b["rows"]):
                problems.append(Problem("error", batch_id, f"批次行数不符 / {found.get(batch_id, 0)} rows in the table, "
                                                           f"its commit says {b['rows']}"))
        for batch_id in set(found) - set(committed):
            problems.append(Problem("error", batch_id, "表中有未登记批次的行 / rows of a batch no commit lists"))
    logged: set[str] = set()
    verified: dict[str, str | None] = {}
    for entry in wh._read_log():
        status, batch_id = entry.get("status"), entry.get("batch_id")
        eid = entry.get("entry_id", "?")
        if status not in ("accepted", "rejected", "duplicate"):
            problems.append(Problem("error", f"log/{eid}.json", f"未知状态 / unknown status {status!r}"))
        if status == "accepted":
            logged.add(batch_id)
            if batch_id not in committed:
                problems.append(Problem("error", f"log/{eid}.json", f"日志中的批次不在表中 / batch {batch_id} not in the table"))
            elif int(committed[batch_id]["rows"]) != int(entry.get("rows_accepted") or 0):
                problems.append(Problem("error", f"log/{eid}.json", "接收行数与批次不符 / rows_accepted differs from the batch"))
        if status in ("accepted", "rejected") and entry.get("sha256"):
            sha = entry["sha256"]
            batch = f"（批次 / batch {batch_id}）" if batch_id else ""
            path = wh.original_path(sha)
            if path is None:
                problems.append(Problem("error", f"log/{eid}.json", f"原始文件缺失 / original file missing {sha[:12]}…{batch}"))
            else:
                if sha not in verified:  # decompressed and hashed once per file, streaming (originals.verify)
                    verified[sha] = originals.verify(path, sha)
                if verified[sha]:
                    problems.append(Problem("error", f"log/{eid}.json", f"{verified[sha]}{batch}"))
        if entry.get("rejection_file") and not (wh.path / entry["rejection_file"]).is_file():
            problems.append(Problem("error", f"log/{eid}.json", "拒收文件缺失 / rejection file missing"))
    for batch_id in committed:
        if batch_id not in logged:
            problems.append(Problem("warning", batch_id, "批次缺少日志（写入中断，下次写入时恢复） / "
                                                         "no log entry yet (interrupted; restored at next write)"))
    # .tmp leftovers, a dead writer's record, files outside the folder, values not finite or absurd (issue 11b)
    pseudo = {"version": state.version, "retired": [], "batches": [
        {"file": f.name if wh_check.outside(wh.table_path, f.name) else f"{table}/{f.name}"} for f in state.files]}
    problems.extend(wh_check.problems(wh, pseudo))
    try:
        orphans = delta_table.unreferenced(wh.table_path)
    except Exception:  # noqa: BLE001 - a log delta-rs cannot vacuum (e.g. a path outside the table): reported above
        orphans = []
    for name in orphans:
        problems.append(Problem("warning", f"{table}/{name}", "未提交的数据文件（压缩时删除） / "
                                                               "data file of no commit (removed by compaction)"))
    problems.extend(_derived(wh))
    return problems


def _derived(wh) -> list[Problem]:
    """The engine's derived files (current/: the versions table and its roll-up events) that cannot be read. A warning:
    the engine reads the rows instead of unreadable events; `planwatch warehouse compact` rebuilds both."""
    from warehouse import current

    pointer = current._read_pointer(wh.path) or {}
    names = [pointer.get("file"), (pointer.get("rollups") or {}).get("file")]
    out = []
    for name in [n for n in names if isinstance(n, str)]:
        if wh_check.outside(wh.path, name):
            out.append(Problem("error", f"{current.FOLDER}/{current.POINTER}", f"路径超出仓库 / path outside the warehouse: {name}"))
            continue
        try:
            pl.read_parquet_schema(wh.path / name)
        except Exception:  # noqa: BLE001 - missing, truncated or not parquet (the message would name a server path)
            out.append(Problem("warning", name, "派生文件无法读取，请运行 planwatch warehouse compact 重建 / derived file "
                                                "unreadable, rebuild it with planwatch warehouse compact"))
    return out
