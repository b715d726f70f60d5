"""`planwatch warehouse migrate`: a warehouse in the manifest layout of before issue 14 (manifest.json +
batches/*.parquet) becomes a Delta table, one commit per batch, in ingest order.

Each batch keeps its batch_id, its rows and their ingested_at (as-of reads filter on that column, so every
as-of answer is unchanged) and its log entry in the commit metadata. The migration runs under the writer lock,
checks that every batch has the same rows (count and content digest) in the table as in its old file, then
compacts the table (z-order, versions table rebuilt) and moves the old manifest and batch files into
`<wh>/migrated-manifest-layout/` (delete that folder once satisfied). Interrupted, it can be run again: a
half-written table is discarded first, since the old files are only moved after the check, and until manifest.json is moved the warehouse counts as not
migrated (`Warehouse.exists()` is false, `is_legacy()` true), so no reader sees a half-written table.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import polars as pl

from warehouse import delta_table, wh_check
from warehouse.storage import BATCH_SCHEMA, LEGACY_MANIFEST, Warehouse, WarehouseError, conform

MOVED = "migrated-manifest-layout"


def _legacy_batches(manifest: dict) -> list[tuple[dict, str]]:
    """(batch, file) pairs of a legacy manifest, oldest first; a compacted file lists its batches."""
    out = []
    for entry in manifest.get("batches", []):
        inner = entry.get("batches") or [{"batch_id": entry["batch_id"], "rows": entry["rows"],
                                          "ingested_at": entry["ingested_at"]}]
        for b in inner:
            b = dict(b)
            if "log" not in b and entry.get("log") and len(inner) == 1:
                b["log"] = entry["log"]
            out.append((b, entry["file"]))
    return sorted(out, key=lambda pair: (pair[0]["ingested_at"], pair[0]["batch_id"]))


def _digests(frame: pl.LazyFrame) -> dict[str, tuple[int, int]]:
    """Per batch: (rows, an order-independent digest of their content)."""
    cols = list(BATCH_SCHEMA)
    out = (frame.select(pl.col("batch_id"), (pl.struct(cols).hash(seed=7) // 4294967296).alias("h"))
           .group_by("batch_id").agg(pl.len().alias("n"), pl.col("h").sum()).collect())
    return {r["batch_id"]: (int(r["n"]), int(r["h"])) for r in out.iter_rows(named=True)}


def migrate(path: str | os.PathLike, compact: bool = True) -> dict:
    """Migrate the warehouse at `path`; returns {"batches", "rows", "version"}. Raises WarehouseError."""
    wh = Warehouse(path)
    legacy = wh.path / LEGACY_MANIFEST
    if wh.exists():
        raise WarehouseError(f"已是 Delta 表格式，无需迁移 / already a Delta table, nothing to migrate: {wh.path}")
    if not legacy.is_file():
        raise WarehouseError(f"不是仓库目录（缺少 {LEGACY_MANIFEST}）/ not a warehouse (no {LEGACY_MANIFEST}): {wh.path}")
    try:
        manifest = json.loads(legacy.read_text(encoding="utf-8"))
        pairs = _legacy_batches(manifest)
    except (ValueError, KeyError, TypeError) as exc:
        raise WarehouseError(f"清单无法读取 / manifest unreadable: {exc}") from None
    logs = {e.get("batch_id"): e for e in wh._read_log() if e.get("status") == "accepted"}
    with wh.lock(user="migrate"):
        if wh.table_path.exists():
            shutil.rmtree(wh.table_path)  # an interrupted migration: the old files are still authoritative
            delta_table.forget(wh.table_path)
        delta_table.create(wh.table_path, pl.DataFrame(schema=BATCH_SCHEMA).to_arrow().schema)
        try:
            cache: dict[str, pl.DataFrame] = {}
            digests, total = {}, 0
            for batch, file in pairs:
                if file not in cache:
                    if wh_check.outside(wh.path, file):  # a hand-edited manifest naming a file elsewhere
                        raise WarehouseError(wh_check.outside_message(file))
                    cache.clear()  # one file at a time in memory (a compacted file holds many batches)
                    try:
                        cache[file] = pl.read_parquet(wh.path / file)
                    except Exception as exc:  # noqa: BLE001 - missing or corrupt
                        raise WarehouseError(f"批次文件无法读取，未迁移 / batch file unreadable, nothing migrated: {file}: {exc}") from None
                rows = conform(cache[file].filter(pl.col("batch_id") == batch["batch_id"]))
                if rows.height != int(batch["rows"]):
                    raise WarehouseError(f"批次行数不符，未迁移 / batch {batch['batch_id']}: {rows.height} rows, "
                                         f"manifest says {batch['rows']}; nothing migrated")
                meta = {"batch_id": batch["batch_id"], "rows": rows.height, "ingested_at": batch["ingested_at"],
                        "sha256": (batch.get("log") or logs.get(batch["batch_id"]) or {}).get("sha256"),
                        "migrated_from": file}
                log = batch.get("log") or logs.get(batch["batch_id"])
                if log:
                    meta["log"] = log
                delta_table.append(wh.table_path, rows, meta)
                digests.update(_digests(rows.lazy()))
                total += rows.height
            _verify(wh, digests)
        except BaseException:
            shutil.rmtree(wh.table_path, ignore_errors=True)  # nothing half-migrated: the old layout stays in force
            delta_table.forget(wh.table_path)
            raise
        moved = wh.path / MOVED
        moved.mkdir(exist_ok=True)
        if (wh.path / "batches").is_dir():
            os.replace(wh.path / "batches", moved / "batches")
        os.replace(legacy, moved / LEGACY_MANIFEST)
        if compact:
            wh.compact()
        else:
            from warehouse import current

            current.rebuild(wh)
    return {"batches": len(pairs), "rows": total, "version": wh.version()}


def _verify(wh: Warehouse, digests: dict[str, tuple[int, int]]) -> None:
    files = [f.path for f in delta_table.state(wh.table_path).files]  # not wh.snapshot(): manifest.json still there
    got = _digests(pl.scan_parquet(files)) if files else {}
    for batch_id, digest in digests.items():
        if got.get(batch_id) != digest:
            raise WarehouseError(f"迁移后批次内容不符 / batch {batch_id} differs after migration; the old files are kept")
