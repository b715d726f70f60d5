"""Backfilled history (issue 12): `planwatch ingest --received-at` stores past submissions at their receipt
time, so as-of views ("as of" = received by) show past months; refusals for a future time or a time earlier
than a stored version of the same key (unless --force); the log keeps the real ingest time and who."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sample_settings import SMALL_DEFS_YAML
from test_ingest_cli import latest, write_csv
from warehouse.backfill import BackfillError, parse_received_at
from warehouse.cli import _register, app
from warehouse.paths import sample_regions_path
from warehouse.periods import parse_as_of
from warehouse.regions import RegionRegistry
from warehouse.storage import Warehouse, WarehouseError, ingest_file

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc)
FEB = [["500110", "綦江区", "social_workers", "2023", "1100", "", "", ""]]
JUN = [["500110", "綦江区", "social_workers", "2023", "1200", "", "", "更正"]]


@pytest.fixture(scope="module")
def registry() -> RegionRegistry:
    return RegionRegistry.load(sample_regions_path())


@pytest.fixture
def wh(tmp_path: Path) -> Warehouse:
    w = Warehouse(tmp_path / "wh")
    w.init(regions=sample_regions_path())
    return w


def test_parse_received_at_reads_offsets_and_cst():
    assert parse_received_at("2024-03-15T10:00+08:00") == datetime(2024, 3, 15, 2, 0, tzinfo=timezone.utc)
    assert parse_received_at("2024-03-15 10:00") == datetime(2024, 3, 15, 2, 0, tzinfo=timezone.utc)  # CST
    assert parse_received_at("2024-03-15T02:00Z") == datetime(2024, 3, 15, 2, 0, tzinfo=timezone.utc)
    for bad in ("yesterday", "2024-13-01", "2024-03-15T10:00+08:00; rm -rf", ""):
        with pytest.raises(BackfillError):
            parse_received_at(bad)


def test_backfilled_history_is_read_as_of_a_past_month(wh, tmp_path, small_definitions, registry):
    """Worked example of docs/methodology.md §1: two versions received 2024-03-15 and 2024-06-20, loaded in
    November 2026. As of 2024-02: nothing; as of 2024-04: 1100; as of 2024-06: 1200."""
    feb = parse_received_at("2024-03-15T10:00+08:00")
    jun = parse_received_at("2024-06-20T09:30+08:00")
    ingest_file(wh, write_csv(tmp_path / "v1.csv", FEB), small_definitions, registry, now=NOW, received_at=feb,
                user="li")
    ingest_file(wh, write_csv(tmp_path / "v2.csv", JUN), small_definitions, registry, now=NOW, received_at=jun,
                user="li")
    assert latest(wh, parse_as_of("2024-02")) == []
    assert latest(wh, parse_as_of("2024-04")) == [("500110", "social_workers", "2023", 1100.0)]
    assert latest(wh, parse_as_of("2024-06")) == [("500110", "social_workers", "2023", 1200.0)]
    # the log: as-of key = receipt time; the real ingest time and who backfilled are kept
    logs = sorted((json.loads(p.read_text()) for p in (wh.path / "log").glob("*.json")), key=lambda e: e["ingested_at"])
    assert [e["received_at"] for e in logs] == ["2024-03-15T02:00:00Z", "2024-06-20T01:30:00Z"] or \
        [e["received_at"][:16] for e in logs] == ["2024-03-15T02:00", "2024-06-20T01:30"]
    assert all(e["logged_at"].startswith("2026-11-20") and e["backfilled_by"] == "li" for e in logs)
    assert [b["ingested_at"][:16] for b in wh.batches()] == ["2024-03-15T02:00", "2024-06-20T01:30"]


def test_refused_in_the_future_and_before_a_stored_version(wh, tmp_path, small_definitions, registry):
    ingest_file(wh, write_csv(tmp_path / "v2.csv", JUN), small_definitions, registry, now=NOW,
                received_at=parse_received_at("2024-06-20T09:30+08:00"))
    before = wh.version(), sorted(p.name for p in (wh.path / "table").glob("*.parquet"))
    with pytest.raises(WarehouseError, match="晚于当前时间.*in the future"):
        ingest_file(wh, write_csv(tmp_path / "f.csv", FEB), small_definitions, registry, now=NOW,
                    received_at=parse_received_at("2027-01-01T00:00+08:00"), force=True)
    with pytest.raises(WarehouseError, match="早于已存储的版本.*500110/social_workers/2023.*--force"):
        ingest_file(wh, write_csv(tmp_path / "v1.csv", FEB), small_definitions, registry, now=NOW,
                    received_at=parse_received_at("2024-03-15T10:00+08:00"))
    assert (wh.version(), sorted(p.name for p in (wh.path / "table").glob("*.parquet"))) == before  # nothing changed
    # forced: the earlier version is stored behind the later one (history complete, the later one current)
    ingest_file(wh, write_csv(tmp_path / "v1b.csv", FEB), small_definitions, registry, now=NOW,
                received_at=parse_received_at("2024-03-15T10:00+08:00"), force=True)
    assert latest(wh) == [("500110", "social_workers", "2023", 1200.0)]
    assert latest(wh, parse_as_of("2024-04")) == [("500110", "social_workers", "2023", 1100.0)]


def test_cli_received_at_and_bad_input(tmp_path):
    _register()
    runner = CliRunner()
    defs = tmp_path / "defs.yaml"
    defs.write_text(SMALL_DEFS_YAML, encoding="utf-8")
    whdir = tmp_path / "wh"
    assert runner.invoke(app, ["warehouse", "init", "--warehouse", str(whdir)]).exit_code == 0
    f = write_csv(tmp_path / "feb.csv", FEB)
    out = runner.invoke(app, ["ingest", "--received-at", "2024-03-15T10:00+08:00", str(f), "--warehouse", str(whdir),
                              "--defs", str(defs), "--user", "li"])
    assert out.exit_code == 0, out.output
    log = runner.invoke(app, ["warehouse", "log", "--warehouse", str(whdir)])
    assert "2024-03-15 10:00" in log.output and "backfilled by li at 20" in log.output
    bad = runner.invoke(app, ["ingest", "--received-at", "last spring", str(f), "--warehouse", str(whdir),
                              "--defs", str(defs)])
    assert bad.exit_code != 0 and "收到时间格式不对" in bad.output and "Traceback" not in bad.output
    future = runner.invoke(app, ["ingest", "--received-at", "2999-01-01", str(write_csv(tmp_path / "x.csv", JUN)),
                                 "--warehouse", str(whdir), "--defs", str(defs)])
    assert future.exit_code == 1 and "in the future" in future.output and str(whdir) not in future.output


def test_received_at_column_in_the_file(wh, tmp_path, small_definitions, registry):
    """A `收到时间` column with one value for the whole file backfills like --received-at; two values refused."""
    import csv

    def write(path, rows):
        with open(path, "w", encoding="utf-8-sig", newline="") as fh:
            out = csv.writer(fh)
            out.writerow(["地区代码", "地区名称", "指标代码", "统计期", "数值", "收到时间"])
            out.writerows(rows)
        return path

    one = write(tmp_path / "one.csv", [["500110", "綦江区", "social_workers", "2023", "1100", "2024-03-15 10:00"],
                                      ["500101", "万州区", "social_workers", "2023", "900", "2024-03-15 10:00"]])
    result = ingest_file(wh, one, small_definitions, registry, now=NOW, user="li")
    assert result.status == "accepted", result.message_en
    assert latest(wh, parse_as_of("2024-02")) == []
    assert len(latest(wh, parse_as_of("2024-03"))) == 2
    two = write(tmp_path / "two.csv", [["500102", "涪陵区", "social_workers", "2023", "1", "2024-03-15 10:00"],
                                      ["500229", "城口县", "social_workers", "2023", "2", "2024-04-01 09:00"]])
    with pytest.raises(WarehouseError, match="多个不同的收到时间.*split the file"):
        ingest_file(wh, two, small_definitions, registry, now=NOW)


@pytest.mark.parametrize("quoted", [False, True])
def test_receipt_time_of_a_large_file_is_read_in_blocks(tmp_path, monkeypatch, quoted):
    """A large CSV's receipt-time column is read block by block (ingest_stream*.py), not the whole file again;
    a second receipt time in a later block is still found."""
    import warehouse.ingest_stream as stream
    import warehouse.ingest_stream_text as text_stream
    from warehouse.backfill import file_received_at
    from warehouse.ingest_read import _read_csv

    monkeypatch.setattr(stream, "STREAM_FROM_BYTES", 1)
    monkeypatch.setattr(stream, "BLOCK_BYTES", 4_000)
    monkeypatch.setattr(text_stream, "BLOCK_RECORDS", 100)
    monkeypatch.setattr("warehouse.ingest_read._read_csv", lambda *a: pytest.fail("read whole") or _read_csv(*a))
    q = '"' if quoted else ""
    rows = [f"500101,social_workers,{2000 + i % 20},{i},{q}2025-03-01 09:00{q}" for i in range(2_000)]
    path = tmp_path / "big.csv"
    path.write_text("地区代码,指标代码,统计期,数值,收到时间\n" + "\n".join(rows) + "\n", encoding="utf-8")
    assert file_received_at(path) == parse_received_at("2025-03-01 09:00")
    rows[1_900] = rows[1_900].replace("09:00", "10:00")
    path.write_text("地区代码,指标代码,统计期,数值,收到时间\n" + "\n".join(rows) + "\n", encoding="utf-8")
    with pytest.raises(BackfillError, match="2 different receipt times"):
        file_received_at(path)


def test_a_file_without_a_receipt_time_header_is_not_read_again(tmp_path, monkeypatch):
    """The receipt-time check skips the second read of a text file whose header rows cannot name the column
    (ingest speed), and still reads every file that might: GBK, an English header, a long header region."""
    import warehouse.backfill as backfill

    monkeypatch.setattr(backfill, "SNIFF_BYTES", 2_000)
    rows = "".join(f"500101,social_workers,{2000 + i % 20},{i}\n" for i in range(500))  # ~17 kB
    plain = tmp_path / "plain.csv"
    plain.write_text("地区代码,指标代码,统计期,数值\n" + rows, encoding="utf-8")
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes(("地区代码,指标代码,统计期,数值,收到时间\n" + rows.replace("\n", ",2025-03-01 09:00\n")).encode("gbk"))
    english = tmp_path / "en.csv"
    english.write_text("region_code,indicator_id,period,value,Received At\n" + rows.replace("\n", ",2025-03-01 09:00\n"),
                       encoding="utf-8")
    titled = tmp_path / "titled.csv"  # the header comes after long title lines: beyond what the sniff holds
    titled.write_text(("标题" * 100 + "\n") * 10 + "地区代码,指标代码,统计期,数值,收到时间\n" + rows.replace("\n", ",2025-03-01 09:00\n"),
                      encoding="utf-8")
    assert not backfill._may_hold_column(plain)
    assert backfill._may_hold_column(gbk) and backfill._may_hold_column(english) and backfill._may_hold_column(titled)
    monkeypatch.setattr("warehouse.ingest.read_table", lambda *a, **k: pytest.fail("read again"))
    assert backfill.file_received_at(plain) is None
