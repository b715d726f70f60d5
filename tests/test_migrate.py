"""`planwatch warehouse migrate`: a warehouse of the manifest layout (before issue 14) becomes a Delta table with
one commit per batch, and every status stays the same (the sample, as of several months). The full before/after
comparison against the old code (sample: 73,790 status rows; tier M) is in docs/benchmarks.md."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from warehouse.engine import Engine
from warehouse.periods import parse_as_of
from warehouse.storage import Warehouse

REPO = Path(__file__).resolve().parent.parent


def _legacy_copy(src: Path, out: Path) -> Path:
    """The same warehouse written in the manifest layout: one file per batch, the first ten merged into one
    compacted file (as `warehouse compact` used to write), manifest.json listing them."""
    shutil.copytree(src, out, ignore=shutil.ignore_patterns("table", "current"))
    wh = Warehouse(src)
    rows = pl.read_parquet(wh.snapshot().files)
    (out / "batches").mkdir()
    batches = wh.batches()
    merged = batches[:10]
    entries = [{"batch_id": merged[0]["batch_id"], "file": "batches/compacted-x.parquet",
                "rows": sum(b["rows"] for b in merged), "ingested_at": merged[0]["ingested_at"], "compacted": True,
                "batches": [{k: b[k] for k in ("batch_id", "rows", "ingested_at")} for b in merged]}]
    rows.filter(pl.col("batch_id").is_in([b["batch_id"] for b in merged])).write_parquet(out / "batches" / "compacted-x.parquet")
    for b in batches[10:]:
        name = f"batches/{b['batch_id']}.parquet"
        rows.filter(pl.col("batch_id") == b["batch_id"]).write_parquet(out / name)
        entries.append({"batch_id": b["batch_id"], "file": name, "rows": b["rows"], "ingested_at": b["ingested_at"],
                        "log": b.get("log")})
    (out / "manifest.json").write_text(json.dumps({"version": len(entries), "batches": entries, "retired": []}))
    return out


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "warehouse", *args], capture_output=True, text=True, cwd=REPO,
                          timeout=300)


@pytest.fixture(scope="module")
def definitions():
    from warehouse.defs_loader import require_definitions
    from warehouse.paths import default_defs_path

    return require_definitions(default_defs_path())


def test_migrate_keeps_every_status(tmp_path, sample_warehouse, definitions):
    legacy = _legacy_copy(sample_warehouse, tmp_path / "legacy")
    assert Warehouse(legacy).is_legacy()
    # before migrating, the engine CLI says what to do (no traceback)
    proc = _cli("status", "--region", "51", "--warehouse", str(legacy))
    assert proc.returncode == 2 and "planwatch warehouse migrate" in proc.stderr and "Traceback" not in proc.stderr

    proc = _cli("warehouse", "migrate", "--warehouse", str(legacy))
    assert proc.returncode == 0, proc.stderr
    assert f"migrated {len(Warehouse(sample_warehouse).batches())} batches" in proc.stdout
    wh = Warehouse(legacy)
    assert wh.exists() and not (legacy / "manifest.json").exists()
    assert (legacy / "migrated-manifest-layout" / "manifest.json").is_file()
    assert wh.check() == []
    # the same batches, with their ingest times and log entries, one commit each
    mine = [(b["batch_id"], b["rows"], b["ingested_at"]) for b in wh.batches()]
    assert sorted(mine) == sorted((b["batch_id"], b["rows"], b["ingested_at"]) for b in Warehouse(sample_warehouse).batches())
    before, after = Engine(sample_warehouse, definitions), Engine(legacy, definitions)
    for month in ("2018-12", "2025-06"):
        as_of = parse_as_of(month)
        for parent in ("51", "50", "CN"):
            assert_frame_equal(after.children_status(parent, as_of=as_of), before.children_status(parent, as_of=as_of))
        assert_frame_equal(after.status("group:wansheng", as_of=as_of), before.status("group:wansheng", as_of=as_of))
    # a second run changes nothing and says so
    proc = _cli("warehouse", "migrate", "--warehouse", str(legacy))
    assert proc.returncode == 1 and "already a Delta table" in proc.stderr


def test_migrate_refuses_a_broken_manifest_and_changes_nothing(tmp_path, sample_warehouse):
    legacy = _legacy_copy(sample_warehouse, tmp_path / "legacy")
    manifest = json.loads((legacy / "manifest.json").read_text())
    manifest["batches"][3]["rows"] += 1  # the manifest no longer matches its file
    (legacy / "manifest.json").write_text(json.dumps(manifest))
    proc = _cli("warehouse", "migrate", "--warehouse", str(legacy))
    assert proc.returncode == 1 and "nothing migrated" in proc.stderr and "Traceback" not in proc.stderr
    assert (legacy / "manifest.json").is_file() and (legacy / "batches").is_dir()  # the old layout is kept
    assert Warehouse(legacy).is_legacy() and not (legacy / "table").exists()


@pytest.mark.parametrize("hostile", ["../elsewhere.parquet", "/etc/passwd"])
def test_migrate_refuses_a_manifest_entry_outside_the_warehouse(tmp_path, hostile):
    legacy = tmp_path / "legacy"  # a minimal old-layout warehouse: one batch, its file named outside the folder
    legacy.mkdir()
    pl.DataFrame({"batch_id": ["b1"]}).write_parquet(tmp_path / "elsewhere.parquet")
    entry = {"batch_id": "b1", "file": hostile, "rows": 1, "ingested_at": "2025-01-01T00:00:00+00:00"}
    (legacy / "manifest.json").write_text(json.dumps({"version": 1, "batches": [entry], "retired": []}))
    proc = _cli("warehouse", "migrate", "--warehouse", str(legacy))
    assert proc.returncode == 1 and "outside the warehouse folder" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and str(tmp_path) not in proc.stderr
    assert Warehouse(legacy).is_legacy()  # the old layout is kept
