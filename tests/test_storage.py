"""Storage: batches, manifest, as-of snapshots, lock, atomicity under SIGKILL, concurrent readers, compaction.

Everything runs on real Parquet files in a tmp warehouse and is read back with real DuckDB queries.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import duckdb
import polars as pl
import pytest

from warehouse.storage import BATCH_SCHEMA, Warehouse, WarehouseError, WarehouseLocked

REPO = Path(__file__).resolve().parent.parent
T0 = datetime(2025, 1, 10, 2, 0, tzinfo=timezone.utc)


def rows(values: dict[tuple[str, str, str], float], source: str = "f.csv") -> pl.DataFrame:
    """A submission frame with the batch columns (minus batch_id/ingested_at)."""
    keys = list(values)
    return pl.DataFrame(
        {
            "region_code": [k[0] for k in keys],
            "indicator_id": [k[1] for k in keys],
            "period": [k[2] for k in keys],
            "period_end": [date(int(k[2][:4]), 12, 31) for k in keys],
            "value": [values[k] for k in keys],
            "source_file": [source] * len(keys),
            "source_row": list(range(2, 2 + len(keys))),
        }
    )


def put(wh: Warehouse, values: dict, at: datetime, sha: str) -> str:
    return wh.write_batch(rows(values), {"sha256": sha * 8, "ingested_at": at})


LATEST_SQL = """
    SELECT region_code, indicator_id, period, value FROM (
        SELECT *, row_number() OVER (PARTITION BY region_code, indicator_id, period
                                     ORDER BY ingested_at DESC, submitted_at DESC, source_row DESC) AS rn
        FROM submissions)
    WHERE rn = 1 ORDER BY ALL
"""


def query(wh: Warehouse, sql: str, as_of: datetime | None = None) -> list[tuple]:
    con = duckdb.connect()
    try:
        wh.snapshot(as_of).register(con)
        return con.execute(sql).fetchall()
    finally:
        con.close()


def errors(wh: Warehouse) -> list[str]:
    return [str(p) for p in wh.check() if p.severity == "error"]


@pytest.fixture
def wh(tmp_path: Path) -> Warehouse:
    w = Warehouse(tmp_path / "wh")
    w.init()
    return w


def test_init_layout_and_empty_snapshot(wh: Warehouse):
    for name in ("batches", "log", "originals", "rejections"):
        assert (wh.path / name).is_dir()
    assert wh.version() == 0
    snap = wh.snapshot()
    assert snap.files == [] and snap.batch_ids == []
    assert query(wh, "SELECT count(*) FROM submissions") == [(0,)]
    assert wh.check() == []


def test_not_a_warehouse_is_a_clear_error(tmp_path: Path):
    with pytest.raises(WarehouseError, match="planwatch warehouse init"):
        Warehouse(tmp_path / "nothing").snapshot()


def test_write_batch_schema_and_duckdb_read(wh: Warehouse):
    batch_id = put(wh, {("500110", "a", "2024"): 1.5, ("500110", "a", "2023"): 1.0}, T0, "ab")
    assert batch_id == "20250110T020000000000Z-abababab"
    assert wh.version() == 1
    snap = wh.snapshot()
    assert snap.batch_ids == [batch_id] and snap.rows == 2
    assert pl.read_parquet_schema(snap.files[0]) == BATCH_SCHEMA
    got = query(wh, "SELECT batch_id, period, value, ingested_at, submitted_at FROM submissions ORDER BY period")
    naive = T0.replace(tzinfo=None)
    assert got == [(batch_id, "2023", 1.0, naive, naive), (batch_id, "2024", 1.5, naive, naive)]
    assert not (wh.path / ".tmp").exists() or list((wh.path / ".tmp").iterdir()) == []


def test_supersede_keeps_history_and_as_of(wh: Warehouse):
    key = ("500110", "a", "2024")
    put(wh, {key: 10.0, ("500111", "a", "2024"): 7.0}, T0, "aa")
    put(wh, {key: 12.0}, T0 + timedelta(days=3), "bb")
    assert query(wh, LATEST_SQL) == [("500110", "a", "2024", 12.0), ("500111", "a", "2024", 7.0)]
    # history keeps both submissions of the key
    assert query(wh, "SELECT value FROM submissions WHERE region_code='500110' ORDER BY ingested_at") == [(10.0,), (12.0,)]
    # as of a time between the two batches: the earlier value is current
    between = T0 + timedelta(days=1)
    assert query(wh, LATEST_SQL, between) == [("500110", "a", "2024", 10.0), ("500111", "a", "2024", 7.0)]
    assert wh.snapshot(between).rows == 2
    assert query(wh, LATEST_SQL, T0 - timedelta(seconds=1)) == []
    # the boundary is inclusive
    assert wh.snapshot(T0).rows == 2


def test_store_original_is_idempotent(wh: Warehouse, tmp_path: Path):
    src = tmp_path / "Sub.CSV"
    src.write_bytes("地区代码,数值\n500110,1\n".encode("gb18030"))
    sha1 = wh.store_original(src)
    sha2 = wh.store_original(src)
    assert sha1 == sha2
    stored = list((wh.path / "originals").iterdir())
    assert [p.name for p in stored] == [f"{sha1}.csv.gz"]  # gzip-compressed (warehouse/originals.py)
    assert wh.read_original(sha1) == src.read_bytes()


def test_originals_are_compressed_checked_on_read_and_old_ones_still_read(wh: Warehouse, tmp_path: Path):
    import gzip

    src = tmp_path / "big.csv"
    src.write_bytes(("地区代码,指标,期别,数值\n" + "500110,social_workers,2024,1234.5\n" * 50_000).encode("utf-8"))
    sha = wh.store_original(src)
    stored = wh.original_path(sha)
    assert stored.name == f"{sha}.csv.gz"
    assert stored.stat().st_size * 20 < src.stat().st_size  # 1.7 MB of CSV: well under 5 % of it kept
    assert wh.read_original(sha) == src.read_bytes()
    # a damaged original is reported, not handed out
    stored.write_bytes(gzip.compress(b"something else"))
    with pytest.raises(WarehouseError, match="sha256 mismatch"):
        wh.read_original(sha)
    stored.write_bytes(b"not gzip at all")
    with pytest.raises(WarehouseError, match="unreadable"):
        wh.read_original(sha)
    # an original kept uncompressed by an earlier version is still found and read
    stored.unlink()
    old = tmp_path / "old.csv"
    old.write_bytes(b"region,value\n50,1\n")
    old_sha = __import__("hashlib").sha256(old.read_bytes()).hexdigest()
    (wh.path / "originals" / f"{old_sha}.csv").write_bytes(old.read_bytes())
    assert wh.read_original(old_sha) == old.read_bytes()
    assert wh.store_original(old) == old_sha  # kept as it is, not stored twice
    assert sorted(p.name for p in (wh.path / "originals").iterdir()) == [f"{old_sha}.csv"]


def test_log_entries_and_has_ingested(wh: Warehouse):
    assert wh.log_entries().height == 0
    wh.write_log_entry({"entry_id": "e1", "status": "rejected", "sha256": "x" * 64, "ingested_at": T0.isoformat(),
                        "file_name": "a.csv", "rows_total": 3, "rows_accepted": 0, "rows_rejected": 2})
    wh.write_log_entry({"entry_id": "e2", "status": "accepted", "sha256": "y" * 64, "batch_id": "b",
                        "ingested_at": (T0 + timedelta(hours=1)).isoformat(), "rows_accepted": 3})
    log = wh.log_entries()
    assert log["entry_id"].to_list() == ["e1", "e2"]
    assert log["ingested_at"].dtype == pl.Datetime("us", "UTC")
    assert log["rows_rejected"].to_list() == [2, None]
    assert wh.has_ingested("x" * 64) is None  # a rejected attempt does not count as ingested
    assert wh.has_ingested("y" * 64)["batch_id"] == "b"


HOLD_LOCK = """
import sys, time
from warehouse.storage import Warehouse
wh = Warehouse(sys.argv[1])
with wh.lock(user="alice"):
    print("locked", flush=True)
    time.sleep(30)
"""


def test_second_writer_gets_clear_message(wh: Warehouse):
    proc = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(wh.path)], stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert proc.stdout.readline().strip() == "locked"
        with pytest.raises(WarehouseLocked) as err:
            put(wh, {("50", "a", "2024"): 1.0}, T0, "cc")
        message = str(err.value)
        assert f"pid {proc.pid}" in message and "user alice" in message and "CST" in message
        assert "另一个写入进程" in message
        assert wh.version() == 0  # nothing written
    finally:
        proc.kill()
        proc.wait()
    put(wh, {("50", "a", "2024"): 1.0}, T0, "cc")  # released when the holder dies
    assert wh.version() == 1


def _batch_counts_match(wh: Warehouse) -> None:
    """Every manifest file exists and holds exactly the rows the manifest says, per batch."""
    manifest = wh.manifest()
    con = duckdb.connect()
    try:
        for entry in manifest["batches"]:
            path = wh.path / entry["file"]
            assert path.is_file(), entry
            got = dict(con.execute("SELECT batch_id, count(*) FROM read_parquet(?) GROUP BY 1", [str(path)]).fetchall())
            assert got == {entry["batch_id"]: entry["rows"]}
    finally:
        con.close()


WRITER = """
import sys, random
from datetime import date, datetime, timedelta, timezone
import polars as pl
from warehouse.storage import Warehouse
wh = Warehouse(sys.argv[1])
rnd = random.Random(int(sys.argv[2]))
n_batches = int(sys.argv[3])
t0 = datetime(2025, 1, 1, tzinfo=timezone.utc) + timedelta(days=int(sys.argv[2]))
for i in range(n_batches):
    n = rnd.randint(200, 4000)
    frame = pl.DataFrame({
        "region_code": [f"5001{j % 50:02d}" for j in range(n)],
        "indicator_id": ["ind_" + str(j // 50) for j in range(n)],
        "period": ["2024"] * n, "period_end": [date(2024, 12, 31)] * n,
        "value": [float(j) for j in range(n)], "source_row": list(range(2, n + 2))})
    wh.write_batch(frame, {"sha256": f"{int(sys.argv[2]):04d}{i:04d}" + "0" * 56,
                           "ingested_at": t0 + timedelta(seconds=i)})
    print("batch", i, n, flush=True)
"""


def test_killed_writer_never_leaves_a_broken_manifest(wh: Warehouse):
    rnd = random.Random(3)
    for attempt in range(6):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(wh.path), str(attempt + 1), "100000"],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        assert proc.stdout.readline().startswith("batch 0")  # it is writing: kill it mid-stream
        time.sleep(rnd.uniform(0.0, 0.25))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL
        assert [p for p in wh.check() if p.severity == "error"] == []
        _batch_counts_match(wh)
        snap = wh.snapshot()
        assert query(wh, "SELECT count(*) FROM submissions") == [(snap.rows,)]
    assert wh.version() > 0
    # the next writer tidies leftovers (temp files, unreferenced batch files)
    with wh.lock():
        pass
    assert wh.check() == [] or all("no log entry" in p.message for p in wh.check())
    assert not any((wh.path / ".tmp").iterdir())


READER = """
import json, sys, time
import duckdb
from warehouse.storage import Warehouse
wh = Warehouse(sys.argv[1])
end = time.time() + float(sys.argv[2])
n = bad = errors = 0
seen = set()
while time.time() < end:
    try:
        snap = wh.snapshot()
        con = duckdb.connect()
        snap.register(con)
        got = dict(con.execute("SELECT batch_id, count(*) FROM submissions GROUP BY 1").fetchall())
        con.close()
        total = sum(got.values())
        # every batch is whole: the rows per batch add up to the manifest's count, batch ids match
        if total != snap.rows or sorted(got) != snap.batch_ids:
            bad += 1
        seen.add(total)
        n += 1
    except Exception as exc:
        errors += 1
        print(repr(exc), file=sys.stderr)
print(json.dumps({"queries": n, "bad": bad, "errors": errors, "distinct_totals": len(seen)}))
"""


def test_concurrent_reader_sees_whole_batches(wh: Warehouse):
    reader = subprocess.Popen([sys.executable, "-c", READER, str(wh.path), "3"], cwd=REPO,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.6)
    sizes = []
    deadline = time.time() + 2.2
    i = 0
    while time.time() < deadline:
        n = 100 + 37 * i
        put(wh, {("500110", f"ind{j}", "2024"): float(j) for j in range(n)}, T0 + timedelta(minutes=i), f"{i:02d}")
        sizes.append(n)
        i += 1
    out, err = reader.communicate(timeout=30)
    stats = json.loads(out.strip().splitlines()[-1])
    assert stats["errors"] == 0, err
    assert stats["bad"] == 0
    assert stats["queries"] > 10 and stats["distinct_totals"] > 2
    # whole batches only: every total the reader could see is a prefix sum of the batch sizes
    assert wh.snapshot().rows == sum(sizes)


def test_compaction_keeps_every_query_result(wh: Warehouse):
    rnd = random.Random(11)
    times = [T0 + timedelta(days=d) for d in range(8)]
    for d, at in enumerate(times):
        values = {(f"5001{r:02d}", ind, str(2021 + d % 4)): round(rnd.uniform(0, 100), 3)
                  for r in range(rnd.randint(3, 12)) for ind in ("a", "b")}
        put(wh, values, at, f"{d:02d}")
    probes = [None] + [t + timedelta(hours=1) for t in times[::2]] + [T0 - timedelta(days=1)]
    history = "SELECT * FROM submissions ORDER BY batch_id, region_code, indicator_id, period"
    before = {str(p): (query(wh, LATEST_SQL, p), query(wh, history, p), wh.snapshot(p).batch_ids) for p in probes}
    old_files = [wh.path / e["file"] for e in wh.manifest()["batches"]]
    old_snapshot = wh.snapshot()

    result = wh.compact(now=T0 + timedelta(days=30))
    assert result["merged_files"] == 8
    assert len(wh.manifest()["batches"]) == 1
    for p in probes:
        assert (query(wh, LATEST_SQL, p), query(wh, history, p), wh.snapshot(p).batch_ids) == before[str(p)], p
    assert errors(wh) == []
    # the merged file is sorted by indicator, region, period
    merged = pl.read_parquet(wh.snapshot().files[0])
    assert merged.select("indicator_id", "region_code", "period").equals(
        merged.select("indicator_id", "region_code", "period").sort(["indicator_id", "region_code", "period"]))
    # a reader holding the old snapshot still works during the grace period
    assert all(f.exists() for f in old_files)
    con = duckdb.connect()
    old_snapshot.register(con)
    assert con.execute("SELECT count(*) FROM submissions").fetchall() == [(old_snapshot.rows,)]
    con.close()
    # a later compaction after the grace period deletes the replaced files; results unchanged
    put(wh, {("500101", "a", "2030"): 1.0}, T0 + timedelta(days=40), "zz")
    result = wh.compact(now=T0 + timedelta(days=30, minutes=11))
    assert result["deleted"] == 8
    assert not any(f.exists() for f in old_files)
    assert query(wh, LATEST_SQL, probes[1]) == before[str(probes[1])][0]
    assert errors(wh) == []


def test_check_finds_missing_truncated_and_inconsistent(wh: Warehouse):
    a = put(wh, {("50", "a", "2024"): 1.0, ("50", "a", "2023"): 2.0}, T0, "aa")
    b = put(wh, {("51", "a", "2024"): 1.0}, T0 + timedelta(hours=1), "bb")
    wh.write_log_entry({"entry_id": "x", "status": "accepted", "batch_id": "nope", "ingested_at": T0.isoformat(),
                        "rows_accepted": 1})
    batch_a = wh.path / "batches" / f"{a}.parquet"
    batch_a.write_bytes(batch_a.read_bytes()[:100])  # truncated
    (wh.path / "batches" / f"{b}.parquet").unlink()
    messages = [str(p) for p in wh.check() if p.severity == "error"]
    assert any(a in m and "unreadable parquet" in m for m in messages)
    assert any(b in m and "missing" in m for m in messages)
    assert any("log/x.json" in m and "not in manifest" in m for m in messages)
