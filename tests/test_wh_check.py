"""Operations: `warehouse check` reports .tmp leftovers, a writer that died, manifest entries outside the folder
(which readers refuse) and absurd stored values; the next writer says that the previous ingest did not finish."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from engine_fixtures import add_batch
from test_ingest_cli import GOOD, write_csv
from warehouse.paths import sample_regions_path
from warehouse.storage import Warehouse, WarehouseError, ingest_file

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def wh(tmp_path: Path) -> Warehouse:
    w = Warehouse(tmp_path / "wh")
    w.init(regions=sample_regions_path())
    return w


def _die_holding_the_lock(wh: Warehouse) -> int:
    """A real writer process that takes the lock, starts writing a batch into .tmp and is killed (SIGKILL)."""
    code = textwrap.dedent(f"""
        import os, signal
        from warehouse.storage import Warehouse
        wh = Warehouse({str(wh.path)!r})
        with wh.lock(user="zhang"):
            (wh.path / ".tmp" / "20250301T000000000000Z-deadbeef.parquet").write_bytes(b"PAR1 half")
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    return proc


def test_check_reports_a_dead_writer_and_its_leftovers_and_the_next_writer_says_so(wh, tmp_path,
                                                                                    small_definitions):
    from warehouse.regions import RegionRegistry

    _die_holding_the_lock(wh)
    problems = [str(p) for p in wh.check()]
    assert any(".tmp/20250301T000000000000Z-deadbeef.parquet" in p and "interrupted writer" in p for p in problems)
    assert any(p.startswith("warning: .lock") and "user zhang" in p and "nothing of it was stored" in p
               for p in problems), problems
    assert not [p for p in problems if p.startswith("error")]

    src = write_csv(tmp_path / "cq.csv", GOOD)
    result = ingest_file(wh, src, small_definitions, RegionRegistry.load(sample_regions_path()), user="li")
    assert result.status == "accepted"
    assert len(wh.notices) == 1
    assert "the previous ingest (pid" in wh.notices[0] and "user zhang" in wh.notices[0]
    assert "nothing of it was stored" in wh.notices[0] and "上一次写入" in wh.notices[0]
    # tidied: the leftover is gone, the lock record is empty, check is clean
    assert not list((wh.path / ".tmp").iterdir())
    assert (wh.path / ".lock").read_text() == ""
    assert [str(p) for p in wh.check()] == []


def test_cli_writer_prints_the_notice(wh):
    _die_holding_the_lock(wh)
    proc = subprocess.run([sys.executable, "-m", "warehouse", "warehouse", "compact", "--warehouse", str(wh.path)],
                          cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "did not finish" in proc.stderr and "zhang" in proc.stderr and "nothing of it was stored" in proc.stderr


def test_table_entries_outside_the_folder_are_refused_and_reported(wh, tmp_path):
    """A Delta log entry (an `add` action) naming a file outside the table folder (issue 14: the manifest's
    successor) is refused by readers and reported by check, never opened."""
    from warehouse import delta_table

    secret = tmp_path / "outside.parquet"
    secret.write_bytes(b"not yours")
    for rel in (str(secret), "../outside.parquet", "x/../../outside.parquet"):
        commit = wh.table_path / "_delta_log" / f"{wh.version() + 1:020d}.json"
        commit.write_text(json.dumps({"commitInfo": {"timestamp": 1, "operation": "WRITE"}}) + "\n"
                          + json.dumps({"add": {"path": rel, "partitionValues": {}, "size": 9,
                                                "modificationTime": 1, "dataChange": True}}) + "\n")
        delta_table.forget(wh.table_path)
        with pytest.raises(WarehouseError, match="outside the warehouse folder"):
            wh.snapshot()
        problems = [str(p) for p in wh.check()]
        assert any(p.startswith("error:") and "outside the warehouse folder" in p for p in problems), problems
        assert not any("unreadable parquet" in p for p in problems)  # never opened
        commit.unlink()
        delta_table.forget(wh.table_path)


def test_check_lists_absurd_stored_values(wh):
    add_batch(wh, [
        {"region_code": "500101", "indicator_id": "count", "period": "2023", "value": 5},
        {"region_code": "500102", "indicator_id": "count", "period": "2023", "value": 1e21},
        {"region_code": "500103", "indicator_id": "count", "period": "2023", "value": math.inf},
        {"region_code": "500104", "indicator_id": "rate", "period": "2023", "value": 5, "numerator": math.nan,
         "denominator": 3e13},
    ], "2024-02-01")
    problems = [str(p) for p in wh.check()]
    values = [p for p in problems if "ignored by the engine" in p or "not summed exactly" in p]
    assert len(values) == 4, problems
    assert any(p.startswith("error:") and "500102 count 2023 value=1e+21" in p for p in values)
    assert any(p.startswith("error:") and "500103 count 2023 value=inf" in p for p in values)
    assert any(p.startswith("error:") and "500104 rate 2023 numerator=NaN" in p for p in values)
    assert any(p.startswith("warning:") and "500104 rate 2023 denominator=" in p for p in values)


def test_check_decompresses_and_verifies_every_original(wh, tmp_path, small_definitions, monkeypatch):
    """`warehouse check` hashes each stored original (streaming): a flipped byte, a truncated gzip and a missing
    original are each an error naming the log entry and the batch; an intact one is not reported."""
    import gzip

    from warehouse import originals
    from warehouse.regions import RegionRegistry

    registry = RegionRegistry.load(sample_regions_path())
    results = []
    for k, name in enumerate(("a.csv", "b.csv", "c.csv", "d.csv")):
        src = write_csv(tmp_path / name, [[c.replace("2024", str(2010 + k)) for c in row] for row in GOOD])
        results.append(ingest_file(wh, src, small_definitions, registry, user="li"))
    assert [r.status for r in results] == ["accepted"] * 4
    assert [str(p) for p in wh.check()] == []
    paths = [wh.original_path(r.sha256) for r in results]
    flipped = bytearray(gzip.decompress(paths[0].read_bytes()))
    flipped[-2] ^= 1  # a valid gzip of one changed byte: only the hash can tell
    paths[0].write_bytes(gzip.compress(bytes(flipped)))
    paths[1].write_bytes(paths[1].read_bytes()[:-12])  # truncated
    paths[2].unlink()
    reads = []
    real_open = gzip.GzipFile.read
    monkeypatch.setattr(gzip.GzipFile, "read", lambda self, n=-1: reads.append(n) or real_open(self, n))
    problems = [str(p) for p in wh.check()]
    assert reads and all(0 < n <= 1 << 20 for n in reads)  # streamed in pieces, never read whole
    errors = {r.batch_id: [p for p in problems if r.batch_id in p] for r in results}
    assert len(errors[results[0].batch_id]) == 1 and "original file is damaged (sha256 mismatch)" in errors[results[0].batch_id][0]
    assert len(errors[results[1].batch_id]) == 1 and "cannot be decompressed" in errors[results[1].batch_id][0]
    assert len(errors[results[2].batch_id]) == 1 and "original file missing" in errors[results[2].batch_id][0]
    assert errors[results[3].batch_id] == []
    assert all(p.startswith("error: log/") for p in problems) and len(problems) == 3, problems
    assert originals.verify(paths[3], results[3].sha256) is None


def test_check_of_a_truncated_table_log_is_one_line_without_a_backtrace(wh):
    """delta-rs puts a Rust backtrace in its error text: the check reports the first line only."""
    log = sorted((wh.path / "table" / "_delta_log").glob("*.json"))[-1]
    log.write_bytes(log.read_bytes()[:100])
    problems = wh.check()
    assert [(p.severity, p.what) for p in problems] == [("error", "table/_delta_log")]
    assert problems[0].message.startswith("表日志无法读取 / table log unreadable: ")
    assert "\n" not in problems[0].message and "pthread" not in problems[0].message


def test_original_compressed_while_validating_is_stored_once_and_a_failure_stores_nothing(wh, tmp_path,
                                                                                          small_definitions,
                                                                                          monkeypatch):
    """The original is compressed on a thread during validation (originals.Compressing, into the ingest's spool)
    and moved into originals/ under the lock: same bytes as the file, nothing left in .spool; when that
    compression fails (a full disk), the ingest fails with nothing committed."""
    import errno

    from warehouse import originals
    from warehouse.regions import RegionRegistry

    registry = RegionRegistry.load(sample_regions_path())
    started = []
    real = originals.Compressing.__init__
    monkeypatch.setattr(originals.Compressing, "__init__",
                        lambda self, src, out: started.append(out) or real(self, src, out))
    src = write_csv(tmp_path / "a.csv", GOOD)
    result = ingest_file(wh, src, small_definitions, registry, user="li")
    assert result.status == "accepted" and len(started) == 1 and started[0].parent.parent.name == ".spool"
    assert wh.read_original(result.sha256) == src.read_bytes()
    assert not any((wh.path / ".spool").iterdir())
    version = wh.version()

    def full_disk(src, out_path):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(originals, "compress", full_disk)
    other = write_csv(tmp_path / "b.csv", [[c.replace("2024", "2019") for c in row] for row in GOOD])
    with pytest.raises(OSError):
        ingest_file(wh, other, small_definitions, registry, user="li")
    assert wh.version() == version and not any((wh.path / ".spool").iterdir())
    assert [str(p) for p in wh.check() if p.severity == "error"] == []
