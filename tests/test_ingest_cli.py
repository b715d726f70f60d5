"""Ingest through storage.ingest_file and the `planwatch ingest` / `warehouse` commands, on real files
(GBK and UTF-8 CSV written here), the real validator (warehouse.ingest) and real DuckDB reads."""

from __future__ import annotations

import csv
import random
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from sample_settings import SMALL_DEFS_YAML
from warehouse.cli import _register, app
from warehouse.paths import sample_regions_path
from warehouse.regions import RegionRegistry
from warehouse.storage import Warehouse, WarehouseError, ingest_file

REPO = Path(__file__).resolve().parent.parent
T0 = datetime(2025, 3, 1, 2, 0, tzinfo=timezone.utc)
HEADERS = ["地区代码", "地区名称", "指标代码", "统计期", "数值", "分子", "分母", "备注"]


def write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8-sig") -> Path:
    with open(path, "w", encoding=encoding, newline="") as fh:
        out = csv.writer(fh)
        out.writerow(HEADERS)
        out.writerows(rows)
    return path


GOOD = [
    ["500110", "綦江区", "social_workers", "2024", "1,234", "", "", ""],
    ["500101", "万州区", "social_workers", "2024", "2000", "", "", ""],
    ["500110", "綦江区", "facility_area_per_100hh", "2024", "", "120000", "400000", "户数为常住户"],
]
BAD = [
    ["500110", "綦江区", "social_workers", "2024", "1234", "", "", ""],  # row 2: fine
    ["500199", "", "social_workers", "2024", "10", "", "", ""],  # row 3: unknown region
    ["500101", "万州区", "social_workers", "2024", "两千", "", "", ""],  # row 4: not a number
    ["500102", "涪陵区", "social_workers", "2024", "300", "", "", ""],  # row 5: fine
]


@pytest.fixture(scope="module")
def registry() -> RegionRegistry:
    return RegionRegistry.load(sample_regions_path())


@pytest.fixture
def wh(tmp_path: Path) -> Warehouse:
    w = Warehouse(tmp_path / "wh")
    w.init(regions=sample_regions_path())
    return w


def latest(wh: Warehouse, as_of: datetime | None = None) -> list[tuple]:
    con = duckdb.connect()
    try:
        wh.snapshot(as_of).register(con)
        return con.execute("""
            SELECT region_code, indicator_id, period, value FROM (
              SELECT *, row_number() OVER (PARTITION BY region_code, indicator_id, period
                                           ORDER BY ingested_at DESC, submitted_at DESC, source_row DESC) rn
              FROM submissions) WHERE rn = 1 ORDER BY ALL""").fetchall()
    finally:
        con.close()


def all_files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_accepted_then_same_file_is_a_noop(wh, tmp_path, small_definitions, registry):
    src = write_csv(tmp_path / "cq.csv", GOOD)
    first = ingest_file(wh, src, small_definitions, registry, user="li", now=T0)
    assert first.status == "accepted" and first.rows_accepted == 3 and first.rows_rejected == 0
    assert latest(wh) == [
        ("500101", "social_workers", "2024", 2000.0),
        ("500110", "facility_area_per_100hh", "2024", 30.0),  # 120000 / 400000 * 100
        ("500110", "social_workers", "2024", 1234.0),
    ]
    assert wh.original_path(first.sha256).name == f"{first.sha256}.csv.gz"
    assert wh.read_original(first.sha256) == src.read_bytes()

    again = ingest_file(wh, src, small_definitions, registry, user="li", now=T0 + timedelta(days=2))
    assert again.status == "duplicate" and again.batch_id == first.batch_id
    assert first.batch_id in again.message_en and "2025-03-01 10:00 CST" in again.message_zh
    assert wh.snapshot().batch_ids == [first.batch_id] and wh.version() == 1
    log = wh.log_entries()
    assert log["status"].to_list() == ["accepted", "duplicate"]
    assert log["user"].to_list() == ["li", "li"]
    assert log["rows_accepted"].to_list() == [3, 0]
    assert wh.check() == []


def test_bad_gbk_file_stores_nothing_and_reports_rows(wh, tmp_path, small_definitions, registry):
    src = write_csv(tmp_path / "bad.csv", BAD, encoding="gbk")
    result = ingest_file(wh, src, small_definitions, registry, now=T0)
    assert result.status == "rejected" and result.rows_accepted == 0 and result.rows_rejected == 2
    assert wh.version() == 0 and wh.snapshot().files == []
    rejection = Path(result.rejection_file)
    assert rejection.parent == wh.path / "rejections"
    assert rejection.read_bytes().startswith(b"\xef\xbb\xbf")  # BOM so Excel opens it
    with open(rejection, encoding="utf-8-sig") as fh:
        table = list(csv.reader(fh))
    rows_reported = sorted({int(r[0]) for r in table[1:] if r[0]})
    assert rows_reported == [3, 4]
    assert any("500199" in r[2] for r in table[1:]) and any("两千" in r[2] for r in table[1:])
    entry = wh.log_entries().row(0, named=True)
    assert entry["status"] == "rejected" and entry["rows_rejected"] == 2 and entry["rejection_file"].startswith("rejections/")
    assert wh.read_original(result.sha256) == src.read_bytes()
    assert wh.has_ingested(result.sha256) is None
    assert wh.check() == []

    # asked explicitly, the valid rows are stored and the rest reported
    partial = ingest_file(wh, src, small_definitions, registry, accept_valid_rows=True, now=T0 + timedelta(hours=1))
    assert partial.status == "accepted" and partial.rows_accepted == 2 and partial.rows_rejected == 2
    assert latest(wh) == [("500102", "social_workers", "2024", 300.0), ("500110", "social_workers", "2024", 1234.0)]
    assert wh.check() == []


def test_dry_run_writes_nothing_in_the_warehouse(wh, tmp_path, small_definitions, registry):
    ingest_file(wh, write_csv(tmp_path / "good.csv", GOOD), small_definitions, registry, now=T0)
    before = all_files(wh.path)
    src = write_csv(tmp_path / "bad.csv", BAD, encoding="gbk")
    result = ingest_file(wh, src, small_definitions, registry, dry_run=True, now=T0 + timedelta(days=1))
    assert result.status == "dry_run" and result.rows_rejected == 2 and result.rows_accepted == 0
    assert "Would be rejected" in result.message_en
    assert all_files(wh.path) == before
    assert Path(result.rejection_file) == tmp_path / "bad.rejections.csv"
    with_accept = ingest_file(wh, src, small_definitions, registry, dry_run=True, accept_valid_rows=True,
                              now=T0 + timedelta(days=1), rejections_path=tmp_path / "elsewhere.csv")
    assert with_accept.rows_accepted == 2 and (tmp_path / "elsewhere.csv").exists()
    assert all_files(wh.path) == before


def test_correction_supersedes_with_history_and_as_of(wh, tmp_path, small_definitions, registry):
    ingest_file(wh, write_csv(tmp_path / "v1.csv", GOOD), small_definitions, registry, now=T0)
    fix = [["500110", "綦江区", "social_workers", "2024", "1300", "", "", "更正"]]
    ingest_file(wh, write_csv(tmp_path / "v2.csv", fix), small_definitions, registry, now=T0 + timedelta(days=10))
    assert ("500110", "social_workers", "2024", 1300.0) in latest(wh)
    assert ("500110", "social_workers", "2024", 1234.0) in latest(wh, T0 + timedelta(days=5))
    con = duckdb.connect()
    wh.snapshot().register(con)
    history = con.execute("SELECT value, note FROM submissions WHERE region_code='500110' AND indicator_id='social_workers' "
                          "ORDER BY ingested_at").fetchall()
    assert history == [(1234.0, None), (1300.0, "更正")]


def test_missing_file_and_uninitialised_warehouse(tmp_path, small_definitions, registry):
    wh = Warehouse(tmp_path / "wh")
    with pytest.raises(WarehouseError, match="file not found"):
        ingest_file(wh, tmp_path / "nope.csv", small_definitions, registry)
    src = write_csv(tmp_path / "good.csv", GOOD)
    with pytest.raises(WarehouseError, match="warehouse init"):
        ingest_file(wh, src, small_definitions, registry)


# ---------------------------------------------------------------- CLI


@pytest.fixture(scope="module")
def cli():
    _register()
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(app, list(args))

    return run


@pytest.fixture
def defs_file(tmp_path: Path) -> Path:
    path = tmp_path / "defs.yaml"
    path.write_text(SMALL_DEFS_YAML, encoding="utf-8")
    return path


def test_cli_ingest_summary_and_exit_codes(cli, tmp_path, defs_file):
    whdir = tmp_path / "wh"
    result = cli("warehouse", "init", "--warehouse", str(whdir))
    assert result.exit_code == 0 and (whdir / "regions.parquet").exists()
    good = write_csv(tmp_path / "good.csv", GOOD)
    bad = write_csv(tmp_path / "bad.csv", BAD, encoding="gbk")
    result = cli("ingest", str(good), str(bad), "--warehouse", str(whdir), "--defs", str(defs_file), "--user", "wang")
    assert result.exit_code == 1, result.output
    assert "good.csv：已接收 — 接收 3 行，拒收 0 行" in result.output
    assert "bad.csv：已拒收 — 接收 0 行，拒收 2 行" in result.output
    assert "2 rows have errors; nothing from this file was stored." in result.output
    # the valid rows could be stored: the CLI names its flag (the browser offers a checkbox instead)
    assert result.output.count("use --accept-valid-rows to store the valid rows") == 1
    assert str(whdir / "rejections") in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)

    result = cli("ingest", str(good), "--warehouse", str(whdir), "--defs", str(defs_file))
    assert result.exit_code == 0 and "Already ingested as batch" in result.output

    result = cli("warehouse", "log", "--warehouse", str(whdir))
    assert result.exit_code == 0
    lines = result.output.splitlines()[1:]
    assert [line.split(" | ")[1] for line in lines] == ["accepted", "rejected", "duplicate"]
    assert "wang" in lines[0]

    result = cli("warehouse", "check", "--warehouse", str(whdir))
    assert result.exit_code == 0 and "0 errors, 0 warnings" in result.output
    result = cli("warehouse", "compact", "--warehouse", str(whdir))
    assert result.exit_code == 0 and "merged 0 files" in result.output  # a single batch: nothing to merge

    result = cli("ingest", str(bad), "--dry-run", "--warehouse", str(whdir), "--defs", str(defs_file))
    assert result.exit_code == 1 and (tmp_path / "bad.rejections.csv").exists()


def test_cli_user_errors_have_no_traceback(cli, tmp_path, defs_file):
    result = cli("ingest", str(tmp_path / "x.csv"), "--warehouse", str(tmp_path / "none"), "--defs", str(defs_file))
    assert result.exit_code == 1 and "warehouse init" in result.output and "Traceback" not in result.output
    cli("warehouse", "init", "--warehouse", str(tmp_path / "wh"))
    result = cli("ingest", str(tmp_path / "x.csv"), "--warehouse", str(tmp_path / "wh"), "--defs", str(defs_file))
    assert result.exit_code == 1 and "file not found" in result.output
    broken = tmp_path / "broken.yaml"
    broken.write_text("indicators: [\n", encoding="utf-8")
    good = write_csv(tmp_path / "good.csv", GOOD)
    result = cli("ingest", str(good), "--warehouse", str(tmp_path / "wh"), "--defs", str(broken))
    assert result.exit_code == 2 and "指标定义有错误" in result.output
    result = cli("warehouse", "check", "--warehouse", str(tmp_path / "none"))
    assert result.exit_code == 1 and "Not a warehouse" in result.output


HOLD_LOCK = """
import sys, time
from warehouse.storage import Warehouse
with Warehouse(sys.argv[1]).lock(user="zhao"):
    print("locked", flush=True)
    time.sleep(30)
"""


def test_cli_second_writer_is_told_who_holds_the_lock(cli, tmp_path, defs_file):
    whdir = tmp_path / "wh"
    cli("warehouse", "init", "--warehouse", str(whdir))
    good = write_csv(tmp_path / "good.csv", GOOD)
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(whdir)], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        result = cli("ingest", str(good), "--warehouse", str(whdir), "--defs", str(defs_file))
        assert result.exit_code == 1
        assert f"pid {holder.pid}, user zhao" in result.output and "另一个写入进程" in result.output
    finally:
        holder.kill()
        holder.wait()
    assert Warehouse(whdir).version() == 0


INGEST_LOOP = """
import sys, yaml
from datetime import datetime, timedelta, timezone
from pathlib import Path
from warehouse.definitions import Definitions
from warehouse.regions import RegionRegistry
from warehouse.storage import Warehouse, ingest_file
defs = Definitions.model_validate(yaml.safe_load(Path(sys.argv[2]).read_text(encoding="utf-8")))
reg = RegionRegistry.load(Path(sys.argv[1]) / "regions.parquet")
wh = Warehouse(sys.argv[1])
t0 = datetime(2025, 3, 1, tzinfo=timezone.utc)
for i, f in enumerate(sorted(Path(sys.argv[3]).glob("*.csv"))):
    r = ingest_file(wh, f, defs, reg, now=t0 + timedelta(hours=i))
    print(r.status, f.name, flush=True)
"""


def test_ingest_killed_at_random_points(tmp_path, defs_file, registry):
    wh = Warehouse(tmp_path / "wh")
    wh.init(regions=sample_regions_path())
    counties = registry.frame.filter(registry.frame["level"] == "county")["code"].to_list()[:120]
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    rnd = random.Random(5)
    for k in range(60):
        rows = [[c, "", "social_workers", str(2021 + k % 4), str(rnd.randint(1, 9999)), "", "", f"f{k}"] for c in counties]
        write_csv(inbox / f"f{k:03d}.csv", rows)
    for attempt in range(5):
        proc = subprocess.Popen([sys.executable, "-c", INGEST_LOOP, str(wh.path), str(defs_file), str(inbox)],
                                cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        proc.stdout.readline()  # it is ingesting now
        time.sleep(rnd.uniform(0.0, 0.3))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert [str(p) for p in wh.check() if p.severity == "error"] == []
        con = duckdb.connect()
        snap = wh.snapshot()
        snap.register(con)
        assert con.execute("SELECT count(*) FROM submissions").fetchall() == [(snap.rows,)]
        assert snap.rows == 120 * len(snap.batch_ids)  # whole files only
        con.close()
    # the next writer restores any log entry lost in the crash and removes leftovers; what can remain is a data file
    # a killed writer wrote before its commit (a warning: compaction deletes it once past the grace period)
    with wh.lock():
        pass
    left = wh.check()
    assert all(p.severity == "warning" and "data file of no commit" in p.message for p in left), left
    wh.compact(grace_seconds=0)
    assert wh.check() == []
    accepted = wh.log_entries().filter(wh.log_entries()["status"] == "accepted")
    assert sorted(accepted["batch_id"].to_list()) == wh.snapshot().batch_ids
