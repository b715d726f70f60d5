"""Submission reading and validation over real files (GBK/BOM CSV, XLSX, Parquet) and the sample registry."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import polars as pl
import pytest
from openpyxl import Workbook

from warehouse.definitions import (
    Aggregation, Bounds, Definitions, Indicator, RegionGroup, Text,
)
from warehouse.ingest import prepare_submission, read_table, summary_text, write_rejections_csv
from warehouse.regions import RegionRegistry

FIXTURES = Path(__file__).parent / "fixtures" / "submissions"
REPO_SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"
SAMPLE_REGIONS = REPO_SAMPLE / "regions.parquet"
NOW = datetime(2025, 6, 1, tzinfo=timezone.utc)


def make_definitions() -> Definitions:
    return Definitions(
        region_groups=[RegionGroup(id="wansheng", name=Text(zh="万盛经开区"), parent="50", members=["500110"])],
        indicators=[
            Indicator(id="service_coverage", name=Text(zh="社区综合服务设施覆盖率"), unit=Text(zh="%"),
                      bounds=Bounds(min=0, max=100), aggregation=Aggregation(rule="ratio", scale=100),
                      reported_at=["province", "city", "county"]),
            Indicator(id="facility_area", name=Text(zh="每百户居民拥有社区服务设施面积"), unit=Text(zh="平方米"),
                      aggregation=Aggregation(rule="ratio", scale=1), bounds=Bounds(min=0)),
            Indicator(id="volunteers", name=Text(zh="社区志愿者人数"), unit=Text(zh="人"),
                      aggregation=Aggregation(rule="sum"), frequency="monthly"),
        ],
        plans=[],
    )


@pytest.fixture(scope="module")
def registry() -> RegionRegistry:
    return RegionRegistry.load(SAMPLE_REGIONS)


@pytest.fixture(scope="module")
def defs() -> Definitions:
    return make_definitions()


@pytest.fixture(scope="module")
def mixed(defs, registry):
    return prepare_submission(FIXTURES / "mixed_gbk.csv", defs, registry, now=NOW)


def problems(prepared, row):
    return prepared.rejections.filter(pl.col("row") == row).select("column", "value", "reason_zh", "reason_en", "severity").rows()


def test_gbk_csv_counts_and_valid_rows(mixed):
    assert mixed.file_error is None and mixed.encoding == "gb18030"
    assert (mixed.n_rows, mixed.n_valid, mixed.n_rejected, mixed.n_warnings, mixed.n_missing) == (17, 4, 12, 2, 1)
    rows = mixed.rows.select("source_row", "region_code", "indicator_id", "period", "value").rows()
    assert rows[0] == (2, "50", "service_coverage", "2024", 95.0)  # "95%" from 500000
    assert rows[1] == (4, "500103", "volunteers", "2024-07", 100.0)  # full-width digits
    assert rows[2][:4] == (10, "5101", "service_coverage", "2023") and rows[2][4] == pytest.approx(100 / 3)
    assert rows[3] == (18, "510104", "volunteers", "2024-02", 1234.0)  # surrounding spaces
    assert mixed.rows["note"].to_list()[0] == "全市"
    assert mixed.rows["period_end"].to_list()[1].isoformat() == "2024-07-31"


def test_value_above_bounds_keeps_value_as_written(mixed):
    assert problems(mixed, 3) == [("数值", "1,234", "数值 1,234 大于上限 100", "value 1,234 is above the maximum 100", "error")]


def test_missing_value_is_a_warning_not_zero(mixed):
    assert problems(mixed, 5) == [("数值", "—", "数值缺失（不按 0 处理），该行未存储",
                                   "value is missing (not taken as 0); the row is not stored", "warning")]
    assert 5 not in mixed.rows["source_row"].to_list()


def test_unknown_region_suggests_by_name_and_code(mixed):
    [(column, value, zh, en, severity)] = problems(mixed, 6)
    assert (column, value, severity) == ("地区代码", "500199", "error")
    assert zh.startswith("区划表中没有该地区代码；可能是：500103 渝中区")
    assert "500109 北碚区" in zh or "500119 南川区" in zh
    assert en.startswith("region code not in the region registry; did you mean: 500103 渝中区, ")


def test_name_mismatch_and_non_numeric_on_one_row(mixed):
    assert problems(mixed, 7) == [
        ("地区名称", "江北区", "地区名称与代码不符：代码 500103 是“渝中区”；名称“江北区”对应的代码可能是 500105 江北区",
         "region name does not match the code: 500103 is 渝中区; the name '江北区' may be 500105 江北区", "error"),
        ("数值", "abc", "数值不是数字", "value is not a number", "error"),
    ]


def test_short_name_is_accepted(mixed):
    # 渝中 for 渝中区: only the missing-value warning on that row
    assert [p[4] for p in problems(mixed, 5)] == ["warning"]


def test_monthly_period_for_annual_indicator(mixed):
    assert problems(mixed, 8) == [("统计期", "2024-07", "统计期与指标频率不符：service_coverage是年度指标，应填如 2024 的统计期",
                                   "period does not match the indicator's frequency: service_coverage is annual, "
                                   "expected a period like 2024", "error")]


def test_numerator_above_denominator(mixed):
    assert problems(mixed, 9) == [("分子", "120", "分子大于分母（120 > 100），比率不能超过 100%",
                                   "numerator is greater than the denominator (120 > 100); the rate cannot exceed 100%",
                                   "error")]


def test_ratio_value_disagreeing_with_parts_is_a_warning(mixed):
    [(column, value, zh, _en, severity)] = problems(mixed, 10)
    assert (column, value, severity) == ("数值", "34", "warning")
    assert zh == "数值与分子/分母不一致：按分子/分母计算为 33.3333，已采用计算值"


def test_future_period_and_negative_count(mixed):
    assert problems(mixed, 11) == [
        ("统计期", "2030-01", "统计期尚未结束（现在是北京时间 2025-06-01 08:00）",
         "the period has not ended yet (now: 2025-06-01 08:00 China Standard Time)", "error"),
        ("数值", "-3", "数值不能为负数（计数类指标）", "value cannot be negative for a count", "error"),
    ]


def test_malformed_period(mixed):
    [(column, value, zh, en, _)] = problems(mixed, 12)
    assert (column, value) == ("统计期", "2024-13")
    assert zh.startswith("统计期格式不正确，应为 2024、2024-Q3 或 2024-07")
    assert en.startswith("malformed period; expected 2024, 2024-Q3 or 2024-07")


def test_region_level_not_reported(mixed):
    assert problems(mixed, 13) == [("地区代码", "510104017",
                                    "指标 service_coverage 不在乡级填报（填报级别：省级、地级、县级）",
                                    "indicator service_coverage is not reported at township level "
                                    "(reported at: province, city, county)", "error")]


def test_unknown_indicator_suggests(mixed):
    assert problems(mixed, 14) == [("指标代码", "coverage", "未知指标代码；可能是：service_coverage",
                                    "unknown indicator; did you mean: service_coverage", "error")]


def test_all_duplicates_reported(mixed):
    for row in (15, 16):
        assert problems(mixed, row) == [("地区代码+指标代码+统计期", "510104 / volunteers / 2024-01",
                                         "同一地区、指标、统计期重复出现（第 15、16 行）",
                                         "duplicate region, indicator and period (rows 15, 16)", "error")]


def test_zero_denominator(mixed):
    assert problems(mixed, 17) == [("分母", "0", "分母必须大于 0", "denominator must be greater than 0", "error")]


def test_bom_csv_english_headers_ratio_and_metadata(defs, registry):
    prepared = prepare_submission(FIXTURES / "good_utf8_bom.csv", defs, registry, now=NOW, submitted_by="王五")
    assert prepared.file_error is None and prepared.n_rejected == 0 and prepared.n_valid == 3
    assert prepared.encoding == "utf-8-sig"
    assert prepared.rejections.height == 0
    first, second, third = prepared.rows.iter_rows(named=True)
    assert first["region_code"] == "50" and first["value"] == pytest.approx(90.0)
    assert (first["numerator"], first["denominator"]) == (45.0, 50.0)
    assert first["submitted_by"] == "张三"
    assert first["submitted_at"] == datetime(2025, 1, 15, 2, 30, tzinfo=timezone.utc)  # 10:30 CST
    assert second["submitted_by"] == "王五" and second["submitted_at"] == NOW
    assert third["period"] == "2024-03" and third["note"] == "月报"
    assert prepared.rows.schema["submitted_at"] == pl.Datetime("us", "UTC")


def test_xlsx_chinese_headers_percent_cells_and_row_numbers(defs, registry):
    prepared = prepare_submission(FIXTURES / "chinese_headers.xlsx", defs, registry, now=NOW)
    assert prepared.file_error is None
    assert prepared.rows.select("source_row", "region_code", "value").rows() == [(2, "50", 95.5), (5, "51", 88.5)]
    assert prepared.rows["submitted_by"].to_list()[0] == "李四"
    # the blank spreadsheet row 3 is skipped but still counted, so the bad row is row 4 as Excel shows it
    assert problems(prepared, 4) == [("数值（%）", "101", "数值 101 大于上限 100", "value 101 is above the maximum 100", "error")]


def test_xlsx_other_sheet_and_unknown_sheet(defs, registry):
    missing = prepare_submission(FIXTURES / "chinese_headers.xlsx", defs, registry, now=NOW, sheet="不存在")
    assert missing.file_error is not None and "没有名为 '不存在' 的工作表" in missing.file_error
    other = prepare_submission(FIXTURES / "chinese_headers.xlsx", defs, registry, now=NOW, sheet="说明")
    assert "在第 1 行中找不到表头（第 1 行为 '这张表不是数据'）" in other.file_error  # no row names two fields
    assert "地区代码、地区名称、指标代码" in other.file_error


def test_parquet_row_numbers_and_bounds(defs, registry):
    prepared = prepare_submission(FIXTURES / "submission.parquet", defs, registry, now=NOW)
    assert prepared.rows.select("source_row", "region_code", "value").rows() == [(2, "50", 30.25), (3, "510104", 18.0)]
    assert problems(prepared, 4) == [("value", "-2", "数值 -2 小于下限 0", "value -2 is below the minimum 0", "error")]


def test_unknown_header_is_file_error_with_suggestion(defs, registry):
    prepared = prepare_submission(FIXTURES / "bad_headers.csv", defs, registry, now=NOW)
    assert prepared.rows.height == 0 and prepared.n_rows == 0
    assert "无法识别的列 '指标代玛'（是否为 '指标代码'？）" in prepared.file_error
    assert "unknown columns '指标代玛' (did you mean '指标代码'?)" in prepared.file_error
    assert prepared.rejections.select("row", "column", "value", "reason_zh", "reason_en", "severity").rows() == [
        (None, None, None, prepared.rejections["reason_zh"][0], prepared.rejections["reason_en"][0], "error")]


def test_missing_value_column_is_file_error(defs, registry):
    prepared = prepare_submission(FIXTURES / "missing_value_column.csv", defs, registry, now=NOW)
    assert "缺少必填列 数值(value)" in prepared.file_error
    assert "missing required columns value" in prepared.file_error


def test_unreadable_and_unsupported_files(tmp_path, defs, registry):
    latin = tmp_path / "latin.csv"
    latin.write_bytes(b"\xff\xfe\x00\x00garbage\x81\x30")
    bad = prepare_submission(latin, defs, registry, now=NOW)
    assert bad.file_error is not None and "UTF-16 文本无法解码" in bad.file_error
    gbk_junk = tmp_path / "junk.csv"
    gbk_junk.write_bytes(b"\x81\x30garbage\xff")
    assert "无法识别文字编码" in prepare_submission(gbk_junk, defs, registry, now=NOW).file_error
    other = tmp_path / "data.txt"  # the type comes from the content: text is read as CSV, whatever the extension
    other.write_text("x")
    assert "在第 1 行中找不到表头" in prepare_submission(other, defs, registry, now=NOW).file_error
    assert "找不到文件" in prepare_submission(tmp_path / "nope.csv", defs, registry, now=NOW).file_error


def test_group_code_and_padded_codes(tmp_path, defs, registry):
    path = tmp_path / "group.csv"
    path.write_text("地区代码,指标代码,统计期,数值\ngroup:wansheng,volunteers,2024-05,7\n510000000000,volunteers,2024-05,8\n",
                    encoding="utf-8")
    prepared = prepare_submission(path, defs, registry, now=NOW)
    assert prepared.rows.select("region_code", "value").rows() == [("group:wansheng", 7.0), ("51", 8.0)]


def test_percent_on_non_percent_indicator_and_thousands(tmp_path, defs, registry):
    path = tmp_path / "pct.csv"
    path.write_text("地区代码,指标代码,统计期,数值\n51,volunteers,2024-05,5%\n51,volunteers,2024-06,\"12,345.5\"\n"
                    "51,volunteers,2024-07,\"1,2\"\n", encoding="utf-8")
    prepared = prepare_submission(path, defs, registry, now=NOW)
    assert problems(prepared, 2) == [("数值", "5%", "该指标的单位不是 %，不能填百分数（volunteers）",
                                      "the indicator's unit is not %; a percentage cannot be given (volunteers)", "error")]
    assert prepared.rows.select("source_row", "value").rows() == [(3, 12345.5)]
    assert problems(prepared, 4)[0][2] == "数值不是数字"  # "1,2" is not a thousands separator


def test_rejections_csv_opens_with_bom_and_chinese_headers(tmp_path, mixed):
    target = tmp_path / "rej.csv"
    write_rejections_csv(mixed.rejections, target)
    raw = target.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = raw.decode("utf-8-sig").splitlines()
    assert lines[0] == "行号,列,值,原因,reason,级别 severity,行数 rows"
    assert '3,数值,"1,234","数值 1,234 大于上限 100","value 1,234 is above the maximum 100",错误 error,1' in lines
    # one line per distinct problem: as many lines as distinct (column, reason) pairs
    assert len(lines) == 1 + mixed.rejections.select("column", "reason_zh", "severity").unique().height


def test_summary_text(mixed):
    zh = summary_text(mixed, "zh")
    assert zh.splitlines()[0] == "mixed_gbk.csv：共 17 行，可接收 4 行，拒收 12 行，警告 2 条（其中 1 行数值缺失，未存储）"
    assert "[错误] 第 3 行 数值" in zh
    en = summary_text(mixed, "en")
    assert en.splitlines()[0].startswith("mixed_gbk.csv: 17 rows, 4 valid, 12 rejected, 2 warnings")


def test_read_table_keeps_text_and_spreadsheet_rows(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["地区代码", "数值"])
    ws.append(["0500", 1.5])
    ws.append([None, None])
    ws.append([500000, "00123"])
    wb.save(tmp_path / "t.xlsx")
    table = read_table(tmp_path / "t.xlsx")
    assert table.frame.rows() == [(2, "0500", "1.5"), (4, "500000", "00123")]


# ---- the fast readers against the general ones (csv.reader and Python's float formatting are the oracle)
def _csv_module_table(raw: bytes):
    """The general path: decode, csv.reader, _records_to_table (what read_table did before the fast readers)."""
    import csv
    import io

    from warehouse.ingest_read import _records_to_table

    text = raw.decode("utf-8")
    encoding = "utf-8"
    if text.startswith("\ufeff"):
        text, encoding = text[1:], "utf-8-sig"
    first = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first and "," not in first else ","
    records = list(enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), start=1))
    return _records_to_table(records, "f.csv", encoding)


def _outcome(read):
    from warehouse.ingest import SubmissionFileError

    try:
        table = read()
    except SubmissionFileError as exc:
        return "error", str(exc)
    return (None, None) if table is None else (table.headers, table.encoding, table.frame.rows(), table.frame.schema)


def test_quote_free_csv_readers_split_exactly_like_the_csv_module():
    import random

    from warehouse.ingest_read import _read_plain_utf8_csv, _split_plain_csv

    rng = random.Random(11)
    alphabet = [",", ",", ",", "\t", " ", "\n", "\n", "\n", "\r\n", "\r", "\u3000", "a", "1", "中", "\x1c", "\x0b", "\x00"]
    used = {"polars": 0, "split": 0}
    for _ in range(800):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 50)))
        raw = (b"\xef\xbb\xbf" if rng.random() < 0.2 else b"") + text.encode("utf-8")
        expected = _outcome(lambda: _csv_module_table(raw))
        fast = _outcome(lambda: _read_plain_utf8_csv(raw, "f.csv"))
        if fast != (None, None):
            used["polars"] += 1
            assert fast == expected, raw
        body = raw.decode("utf-8").removeprefix("\ufeff")
        first = body.split("\n", 1)[0]
        delimiter = "\t" if "\t" in first and "," not in first else ","
        encoding = "utf-8-sig" if raw.startswith(b"\xef\xbb\xbf") else "utf-8"
        split = _outcome(lambda: _split_plain_csv(body, delimiter, "f.csv", encoding))
        used["split"] += 1
        assert split == expected, raw
    assert used["polars"] > 100  # the fast path is exercised, not always declined


def test_quoted_csv_reader_matches_records_to_table():
    import csv
    import io
    import random

    from warehouse.ingest_read import SubmissionFileError, _read_quoted_csv, _records_to_table

    rng = random.Random(13)
    alphabet = [",", ",", "\t", " ", "\n", "\n", "\r\n", "\r", '"', '"', '""', "a", "1", "中", "\u3000"]
    for _ in range(600):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        try:
            records = list(enumerate(csv.reader(io.StringIO(text, newline="")), start=1))
            expected = _outcome(lambda: _records_to_table(records, "f.csv", "utf-8"))
        except csv.Error:
            with pytest.raises(SubmissionFileError):
                _read_quoted_csv(text, ",", "f.csv", "utf-8")
            continue
        assert _outcome(lambda: _read_quoted_csv(text, ",", "f.csv", "utf-8")) == expected, text


def test_csv_with_a_ragged_or_lone_cr_line_still_reads_right(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_bytes("地区代码,数值\n500000,1\n510000,2,,\r\n\n5101,3\r5001,4,x\n".encode("utf-8"))
    from warehouse.ingest import SubmissionFileError

    with pytest.raises(SubmissionFileError) as info:
        read_table(path)
    assert "row 6, column 3 holds 'x'" in str(info.value)  # \r ends a record, as in csv.reader
    path.write_bytes("地区代码,数值\n500000,1\n510000,2,,\r\n\n5101,3\r5001,4\n".encode("utf-8"))
    assert read_table(path).frame.rows() == [(2, "500000", "1"), (3, "510000", "2"), (5, "5101", "3"), (6, "5001", "4")]


def test_parquet_float_text_is_python_formatting():
    import math
    import random

    from warehouse.ingest_read import _float_text, _plain_number

    rng = random.Random(5)
    values = [0.1, 1 / 3, 2.5e-5, 1e-4, 262143.75, 262144.1, 1e18, 1e22, -0.0, math.inf, -math.inf, math.nan, None]
    for _ in range(20_000):
        kind = rng.random()
        if kind < 0.4:
            values.append(round(rng.uniform(-3e5, 3e5), rng.randint(0, 12)))
        elif kind < 0.7:
            values.append(rng.uniform(-1, 1) * 10 ** rng.randint(-12, 20))
        else:
            values.append(rng.randint(0, 10**7) / rng.choice([3, 10, 100, 1e6, 1e11]))
    got = _float_text(pl.Series("v", values, dtype=pl.Float64)).to_list()
    assert got == [None if v is None else _plain_number(v) for v in values]
    float32 = pl.Series("v", [0.1, 1.5, None, 3.0], dtype=pl.Float32)
    assert _float_text(float32).to_list() == [_plain_number(v) if v is not None else None for v in float32.to_list()]


def test_vectorised_timestamps_match_parse_timestamp():
    import random

    from warehouse.ingest_lookups import _parse_timestamp, _timestamps

    rng = random.Random(9)
    texts = {"2025年1月5日", "garbage", "2025-01-15 10:30", "2025-01-15 10:30:00+08:00", "2025-01-15 10:30:00.5", "２０２５-01-15",
             "2024-02-29", "2023-02-29", "2025-01-15 24:00", "2025-01-15 23:59:60", "0001-01-01"}
    for _ in range(5000):
        y = rng.choice([1, 1899, 1900, 1988, 2024, 2025, 2999, 3000])
        mo, d, h, mi, sec = rng.randint(0, 13), rng.randint(0, 32), rng.randint(0, 25), rng.randint(0, 61), rng.randint(0, 61)
        texts.add(rng.choice([f"{y:04d}-{mo:02d}-{d:02d}", f"{y:04d}-{mo:02d}-{d:02d} {h:02d}:{mi:02d}",
                              f"{y:04d}-{mo:02d}-{d:02d} {h:02d}:{mi:02d}:{sec:02d}", f"{y}-{mo}-{d} {h}:{mi:02d}"]))
    got = dict(_timestamps(pl.Series(sorted(texts))).iter_rows())
    assert got == {t: _parse_timestamp(t) for t in texts}
    assert got["2025-01-15 10:30"] == datetime(2025, 1, 15, 2, 30, tzinfo=timezone.utc)
    assert got["0001-01-01"] is None and got["2023-02-29"] is None


def test_out_of_range_timestamp_is_a_warning_not_a_crash(tmp_path, defs, registry):
    path = tmp_path / "old.csv"
    path.write_text("region_code,indicator_id,period,value,submitted_at\n5101,volunteers,2024-03,12,0001-01-01\n",
                    encoding="utf-8")
    result = prepare_submission(path, defs, registry, now=NOW)
    assert result.n_valid == 1 and result.n_rejected == 0
    assert result.rejections.select("row", "column", "value", "severity").rows() == [
        (2, "submitted_at", "0001-01-01", "warning")]
    assert result.rows["submitted_at"].to_list() == [NOW]
