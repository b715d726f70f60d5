"""Validation at scale: a generated 100,000-row submission with bad rows injected at known positions.

Every injected problem must be reported at its spreadsheet row with its column, value and reason, no other row
may be rejected, and the three CSV readers (polars for quote-free UTF-8, the line split for other quote-free
text, csv.reader for quoted text) must give identical results on the same content.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from warehouse.definitions import Aggregation, Definitions, Indicator, Text
from warehouse.ingest import prepare_submission
from warehouse.ingest_read import _read_plain_utf8_csv
from warehouse.regions import RegionRegistry

SAMPLE_REGIONS = Path(__file__).resolve().parent.parent / "sample_data" / "regions.parquet"
NOW = datetime(2025, 6, 1, tzinfo=timezone.utc)
N_ROWS = 100_000
HEADER = ["地区代码", "指标代码", "统计期", "数值", "备注"]
MONTHS = [f"{y}-{m:02d}" for y in (2023, 2024) for m in range(1, 13)]

# kind -> (what is written into the row, the column reported, the start of the Chinese reason, severity)
FAULTS = {
    "code": ("999999999", "地区代码", "区划表中没有该地区代码", "error"),
    "value": ("abc", "数值", "数值不是数字", "error"),
    "period": ("2024-13", "统计期", "统计期格式不正确", "error"),
    "indicator": ("no_such_indicator", "指标代码", "未知指标代码", "error"),
    "negative": ("-5", "数值", "数值不能为负数（计数类指标）", "error"),
    "missing": ("", "数值", "数值缺失（不按 0 处理），该行未存储", "warning"),
}
FIELD_OF = {"code": 0, "indicator": 1, "period": 2, "value": 3, "negative": 3, "missing": 3}


def definitions() -> Definitions:
    return Definitions(indicators=[
        Indicator(id="volunteers", name=Text(zh="社区志愿者人数"), unit=Text(zh="人"),
                  aggregation=Aggregation(rule="sum"), frequency="monthly", reported_at=["township"]),
    ], plans=[])


@pytest.fixture(scope="module")
def registry() -> RegionRegistry:
    return RegionRegistry.load(SAMPLE_REGIONS)


@pytest.fixture(scope="module")
def generated(registry):
    """(records, faults): records[i] is spreadsheet row i + 2; faults maps a row number to its fault kind;
    duplicate_pairs lists (first row, second row) of rows given the same region, indicator and period."""
    townships = registry.frame.filter(pl.col("level") == "township")["code"].sort().to_list()
    assert len(townships) * len(MONTHS) >= N_ROWS
    records = []
    for i in range(N_ROWS):
        code, month = townships[i // len(MONTHS)], MONTHS[i % len(MONTHS)]
        records.append([code, "volunteers", month, str((i * 37) % 5000), ""])
    faults: dict[int, str] = {}
    kinds = list(FAULTS)
    for n, i in enumerate(range(517, N_ROWS, 1009)):  # 99 faults spread over the file, every kind many times
        kind = kinds[n % len(kinds)]
        records[i][FIELD_OF[kind]] = FAULTS[kind][0]
        faults[i + 2] = kind
    duplicate_pairs = []
    for i in range(40_000, N_ROWS, 20_000):  # the row repeats the key of the row above it
        records[i][:3] = records[i - 1][:3]
        duplicate_pairs.append((i + 1, i + 2))
    return records, faults, duplicate_pairs


def write_csv(path: Path, records: list[list[str]], encoding: str, newline: str = "\n", quote_row: int | None = None):
    lines = [",".join(HEADER)]
    for i, record in enumerate(records):
        cells = list(record)
        if quote_row is not None and i + 2 == quote_row:
            cells[4] = '"备注, 含逗号"'
        lines.append(",".join(cells))
    path.write_bytes((newline.join(lines) + newline).encode(encoding))
    return path


@pytest.fixture(scope="module")
def prepared(tmp_path_factory, generated, registry):
    records, _, _ = generated
    folder = tmp_path_factory.mktemp("scale")
    files = {
        "polars": write_csv(folder / "plain.csv", records, "utf-8"),
        "split": write_csv(folder / "gbk.csv", records, "gb18030", newline="\r\n"),
        "csv_module": write_csv(folder / "quoted.csv", records, "utf-8-sig", quote_row=3),
    }
    defs = definitions()
    return files, {name: prepare_submission(path, defs, registry, now=NOW) for name, path in files.items()}


def test_each_reader_is_the_one_exercised(prepared):
    files, _ = prepared
    assert _read_plain_utf8_csv(files["polars"].read_bytes(), "plain.csv") is not None
    assert _read_plain_utf8_csv(files["split"].read_bytes(), "gbk.csv") is None  # not UTF-8
    assert _read_plain_utf8_csv(files["csv_module"].read_bytes(), "quoted.csv") is None  # has quotes


def test_every_injected_fault_is_reported_at_its_row(prepared, generated):
    records, faults, duplicate_pairs = generated
    result = prepared[1]["polars"]
    rejections = result.rejections
    by_row = {row: rejections.filter(pl.col("row") == row).rows(named=True) for row in faults}
    for row, kind in faults.items():
        written, column, reason, severity = FAULTS[kind]
        entries = by_row[row]
        assert len(entries) == 1, (row, kind, entries)
        entry = entries[0]
        assert (entry["column"], entry["value"], entry["severity"]) == (column, written, severity), (row, kind, entry)
        assert entry["reason_zh"].startswith(reason), (row, kind, entry["reason_zh"])
    for first, second in duplicate_pairs:
        code, indicator, period = records[second - 2][:3]
        for row in (first, second):
            assert rejections.filter(pl.col("row") == row).select("column", "value", "reason_zh").rows() == [
                ("地区代码+指标代码+统计期", f"{code} / {indicator} / {period}",
                 f"同一地区、指标、统计期重复出现（第 {first}、{second} 行）")]
    expected_rows = set(faults) | {row for pair in duplicate_pairs for row in pair}
    assert set(rejections["row"].to_list()) == expected_rows


def test_counts_and_accepted_rows(prepared, generated):
    records, faults, duplicate_pairs = generated
    result = prepared[1]["polars"]
    n_errors = sum(1 for kind in faults.values() if FAULTS[kind][3] == "error") + 2 * len(duplicate_pairs)
    n_missing = sum(1 for kind in faults.values() if kind == "missing")
    assert (result.n_rows, result.n_rejected, result.n_missing, result.n_warnings) == (N_ROWS, n_errors, n_missing, n_missing)
    assert result.n_valid == N_ROWS - n_errors - n_missing == result.rows.height
    skipped = set(faults) | {row for pair in duplicate_pairs for row in pair}
    expected = [(i + 2, r[0], r[2], float(r[3])) for i, r in enumerate(records) if i + 2 not in skipped]
    got = result.rows.select("source_row", "region_code", "period", "value").rows()
    assert got == expected
    assert result.rows["period_end"][0].isoformat() == "2023-01-31"


def test_three_readers_give_identical_results(prepared):
    _, results = prepared
    reference = results["polars"]
    for name in ("split", "csv_module"):
        other = results[name]
        assert (other.n_rows, other.n_valid, other.n_rejected, other.n_warnings, other.n_missing) == (
            reference.n_rows, reference.n_valid, reference.n_rejected, reference.n_warnings, reference.n_missing)
        assert_frame_equal(other.rows.drop("source_file", "note"), reference.rows.drop("source_file", "note"))
        assert_frame_equal(other.rejections, reference.rejections)
    assert results["csv_module"].rows.filter(pl.col("source_row") == 3)["note"].item() == "备注, 含逗号"
    assert results["polars"].rows["note"].null_count() == results["polars"].rows.height
