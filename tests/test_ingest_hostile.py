"""Hostile submissions (issue 11): resource limits, XLSX bombs and lying <dimension>s, nested/binary Parquet,
files whose extension lies, absurd values, rows outside the submitter's scope, and validation outside the
writer lock. Every hostile file is generated here; nothing large is committed."""

from __future__ import annotations

import json
import re
import resource
import time
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from openpyxl import Workbook

from warehouse.definitions import Aggregation, Bounds, Definitions, Indicator, RegionGroup, Text
from warehouse.ingest import Limits, prepare_submission
from warehouse.regions import RegionRegistry
from warehouse.storage import Warehouse, ingest_file

SAMPLE_REGIONS = Path(__file__).resolve().parent.parent / "sample_data" / "regions.parquet"
NOW = datetime(2025, 6, 1, tzinfo=timezone.utc)
HEADER = ["地区代码", "指标代码", "统计期", "数值"]


@pytest.fixture(scope="module")
def registry() -> RegionRegistry:
    return RegionRegistry.load(SAMPLE_REGIONS)


@pytest.fixture(scope="module")
def defs() -> Definitions:
    return Definitions(
        region_groups=[RegionGroup(id="wansheng", name=Text(zh="万盛经开区"), parent="50", members=["500110"])],
        indicators=[
            Indicator(id="volunteers", name=Text(zh="社区志愿者人数"), unit=Text(zh="人"),
                      aggregation=Aggregation(rule="sum"), frequency="monthly"),
            Indicator(id="spending", name=Text(zh="社区服务支出"), unit=Text(zh="元"),
                      aggregation=Aggregation(rule="sum"), bounds=Bounds(min=0, max=1e15), frequency="monthly"),
            Indicator(id="coverage", name=Text(zh="覆盖率"), unit=Text(zh="%"), bounds=Bounds(min=0, max=100),
                      aggregation=Aggregation(rule="ratio", scale=100), reported_at=["province", "city", "county"]),
        ],
        plans=[],
    )


def csv_file(path: Path, rows: list[list[str]], header: list[str] = HEADER, encoding: str = "utf-8") -> Path:
    path.write_bytes(("\n".join(",".join(r) for r in [header, *rows]) + "\n").encode(encoding))
    return path


def xlsx_file(path: Path, rows: list[list], header: list[str] = HEADER) -> Path:
    wb = Workbook()
    ws = wb.active
    for row in [header, *rows]:
        ws.append(row)
    wb.save(path)
    return path


def rewrite_member(path: Path, member: str, change) -> None:
    """Replace one part of a zip (an XLSX) by change(old bytes)."""
    with zipfile.ZipFile(path) as src:
        parts = {info.filename: src.read(info.filename) for info in src.infolist()}
    parts[member] = change(parts[member])
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in parts.items():
            out.writestr(name, data)


def good_rows(n: int, start_month: int = 1) -> list[list[str]]:
    codes = ["500101", "500102", "500103", "500104", "500105", "500106", "500107", "500108", "500109", "500110"]
    return [[codes[i % 10], "volunteers", f"{2020 + (start_month + i // 10) // 12}-{(start_month + i // 10) % 12 + 1:02d}", str(i)]
            for i in range(n)]


# ---------------------------------------------------------------- resource limits
LIMIT_CASES = [  # (limits, what the message names)
    (Limits(max_file_bytes=200), "PLANWATCH_INGEST_MAX_FILE_MB"),
    (Limits(max_rows=5), "PLANWATCH_INGEST_MAX_ROWS"),
]


@pytest.mark.parametrize("limits,env", LIMIT_CASES)
@pytest.mark.parametrize("kind", ["csv", "xlsx", "parquet"])
def test_limits_refuse_a_file_before_reading_it(tmp_path, defs, registry, limits, env, kind):
    rows = good_rows(12)
    if kind == "csv":
        path = csv_file(tmp_path / "f.csv", rows)
    elif kind == "xlsx":
        path = xlsx_file(tmp_path / "f.xlsx", rows)
    else:
        path = tmp_path / "f.parquet"
        pl.DataFrame(rows, schema=HEADER, orient="row").write_parquet(path)
    assert prepare_submission(path, defs, registry, now=NOW).n_valid == 12  # within the default limits
    result = prepare_submission(path, defs, registry, now=NOW, limits=limits)
    assert result.file_error is not None and "超过上限" in result.file_error and env in result.file_error
    assert "exceeds the limit" in result.file_error and result.rows.height == 0


def test_limits_come_from_the_environment(tmp_path, defs, registry, monkeypatch):
    path = csv_file(tmp_path / "f.csv", good_rows(12))
    monkeypatch.setenv("PLANWATCH_INGEST_MAX_ROWS", "10")
    result = prepare_submission(path, defs, registry, now=NOW)
    assert "行数（12）超过上限 10" in result.file_error
    monkeypatch.setenv("PLANWATCH_INGEST_MAX_ROWS", "lots")
    result = prepare_submission(path, defs, registry, now=NOW)
    assert "PLANWATCH_INGEST_MAX_ROWS='lots' 不是正数" in result.file_error


def test_xlsx_zip_bomb_is_refused_before_unzipping(tmp_path, defs, registry):
    """A sheet part that unzips to 400 MB (a few hundred KB on disk) is refused from the zip directory."""
    path = xlsx_file(tmp_path / "bomb.xlsx", good_rows(3))
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive, archive.open("xl/padding.xml", "w") as part:
        block = b" " * (1 << 20)
        for _ in range(400):
            part.write(block)
    assert path.stat().st_size < 2_000_000
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    result = prepare_submission(path, defs, registry, now=NOW)
    assert time.perf_counter() - start < 2
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100_000  # KB: nothing was inflated
    assert "工作簿解压后的大小（400 MB）超过上限 256 MB" in result.file_error


def test_xlsx_huge_cell_is_refused(tmp_path, defs, registry):
    """One cell of 50 MB of text (the file stays small): refused by the cell length limit."""
    path = xlsx_file(tmp_path / "cell.xlsx", [["500101", "volunteers", "2024-01", "1"], ["500102", "HUGE", "2024-01", "2"]])
    rewrite_member(path, "xl/worksheets/sheet1.xml", lambda xml: xml.replace(b"HUGE", b"x" * 50_000_000))
    assert path.stat().st_size < 200_000
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = prepare_submission(path, defs, registry, now=NOW)
    assert "有单元格的文字超过 128 KB，远超上限 32,767 个字符" in result.file_error
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100_000  # KB: the cell was never built
    result = prepare_submission(path, defs, registry, now=NOW, limits=Limits(max_xlsx_uncompressed_bytes=10 << 20))
    assert "工作簿解压后的大小（48 MB）超过上限 10 MB" in result.file_error
    path = xlsx_file(tmp_path / "cell2.xlsx", [["500101", "HUGE", "2024-01", "1"]])  # over, but not 4x over
    rewrite_member(path, "xl/worksheets/sheet1.xml", lambda xml: xml.replace(b"HUGE", b"x" * 40_000))
    assert "单元格字符数（40,000）超过上限 32,767" in prepare_submission(path, defs, registry, now=NOW).file_error


def test_xlsx_sheet_cell_count_is_limited(tmp_path, defs, registry):
    path = xlsx_file(tmp_path / "many.xlsx", good_rows(100))
    result = prepare_submission(path, defs, registry, now=NOW, limits=Limits(max_xlsx_cells=200))
    assert "工作表的单元格数" in result.file_error and "PLANWATCH_INGEST_MAX_XLSX_CELLS" in result.file_error


def _set_dimension(ref: str):
    return lambda xml: re.sub(rb'<dimension ref="[^"]*"\s*/>', f'<dimension ref="{ref}"/>'.encode(), xml)


def test_xlsx_stale_dimension_reads_every_row(tmp_path, defs, registry):
    """A <dimension> of A1:J5 over 9 data rows: all 9 rows are read (openpyxl's read-only mode stopped at 5)."""
    path = xlsx_file(tmp_path / "stale.xlsx", good_rows(9))
    rewrite_member(path, "xl/worksheets/sheet1.xml", _set_dimension("A1:J5"))
    with zipfile.ZipFile(path) as z:
        assert b'<dimension ref="A1:J5"/>' in z.read("xl/worksheets/sheet1.xml")
    result = prepare_submission(path, defs, registry, now=NOW)
    assert (result.n_rows, result.n_valid, result.n_rejected) == (9, 9, 0)
    assert result.rows["source_row"].to_list() == list(range(2, 11))


def test_xlsx_dimension_claiming_the_whole_sheet_is_fast(tmp_path, defs, registry):
    path = xlsx_file(tmp_path / "huge_dim.xlsx", good_rows(5))
    rewrite_member(path, "xl/worksheets/sheet1.xml", _set_dimension("A1:XFD1048576"))
    start = time.perf_counter()
    result = prepare_submission(path, defs, registry, now=NOW)
    assert time.perf_counter() - start < 3
    assert (result.n_rows, result.n_valid) == (5, 5)


# ---------------------------------------------------------------- Parquet and sniffing
@pytest.mark.parametrize("column,expected", [
    (pa.array([[1, 2], [3]], type=pa.list_(pa.int64())), "嵌套列表、结构或二进制数据"),
    (pa.array([b"\xff\xfe", b"\x00"], type=pa.binary()), "嵌套列表、结构或二进制数据"),
    (pa.array([{"a": 1}, {"a": 2}]), "嵌套列表、结构或二进制数据"),
])
def test_nested_or_binary_parquet_column_is_a_clear_error(tmp_path, defs, registry, column, expected):
    table = pa.table({"地区代码": ["500101", "500102"], "指标代码": ["volunteers"] * 2, "统计期": ["2024-01"] * 2,
                      "数值": column})
    path = tmp_path / "nested.parquet"
    pq.write_table(table, path)
    result = prepare_submission(path, defs, registry, now=NOW)
    assert result.file_error is not None and expected in result.file_error and "'数值'" in result.file_error
    assert str(tmp_path) not in result.file_error


def test_type_comes_from_the_content_not_the_extension(tmp_path, defs, registry):
    parquet_as_csv = tmp_path / "really_parquet.csv"
    pl.DataFrame(good_rows(3), schema=HEADER, orient="row").write_parquet(parquet_as_csv)
    result = prepare_submission(parquet_as_csv, defs, registry, now=NOW)
    assert (result.kind, result.n_valid, result.file_error) == ("parquet", 3, None)
    xlsx_as_csv = xlsx_file(tmp_path / "book.xlsx", good_rows(2)).rename(tmp_path / "book.csv")
    assert prepare_submission(xlsx_as_csv, defs, registry, now=NOW).n_valid == 2
    csv_as_xlsx = csv_file(tmp_path / "text.xlsx", good_rows(2))
    assert prepare_submission(csv_as_xlsx, defs, registry, now=NOW).n_valid == 2
    for name, head, words in [("old.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "Excel 97-2003"),
                              ("doc.csv", b"%PDF-1.7\n", "PDF"), ("img.csv", b"\x89PNG\r\n\x1a\n\0\0", "PNG"),
                              ("bin.csv", b"abc\x00\x01\x02", "not a text file")]:
        (tmp_path / name).write_bytes(head)
        result = prepare_submission(tmp_path / name, defs, registry, now=NOW)
        assert words in result.file_error, (name, result.file_error)
    archive = tmp_path / "data.xlsx"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("readme.txt", "hello")
    assert "ZIP 压缩包，不是 Excel 工作簿" in prepare_submission(archive, defs, registry, now=NOW).file_error


# ---------------------------------------------------------------- values
VALUE_CASES = [  # (indicator, value, numerator, denominator, rejected column, reason start)
    ("volunteers", "1e21", "", "", "数值", "数值超出合理范围：须为有限数且绝对值不超过 1e12"),
    ("volunteers", "1e309", "", "", "数值", "数值超出合理范围"),
    ("volunteers", "-1e13", "", "", "数值", "数值超出合理范围"),
    ("spending", "1e16", "", "", "数值", "数值超出合理范围：须为有限数且绝对值不超过 1e15"),
    ("coverage", "", "1e13", "1e14", "分子", "分子超出合理范围"),
    ("coverage", "", "5", "1e300", "分母", "分母超出合理范围"),
    ("coverage", "1e309", "", "", "数值", "数值超出合理范围"),  # bounded (≤ 100): one message, not also "above 100"
]


@pytest.mark.parametrize("indicator,value,num,den,column,reason", VALUE_CASES)
def test_absurd_values_are_rejected_with_the_row(tmp_path, defs, registry, indicator, value, num, den, column, reason):
    code = "500101" if indicator != "coverage" else "5001"
    period = "2024-05" if indicator != "coverage" else "2024"
    path = csv_file(tmp_path / "v.csv", [["500102", "volunteers", "2024-05", "7"], [code, indicator, period, value, num, den]],
                    header=HEADER + ["分子", "分母"])
    result = prepare_submission(path, defs, registry, now=NOW)
    assert result.n_valid == 1 and result.n_rejected == 1
    entry = result.rejections.filter(pl.col("row") == 3).row(0, named=True)
    assert (entry["column"], entry["reason_zh"][:len(reason)]) == (column, reason)
    if not num and not den:  # one problem for one bad cell
        assert result.rejections.filter(pl.col("row") == 3).height == 1, result.rejections
    assert result.rows["value"].is_finite().all()


def test_bounds_above_the_global_rule_allow_large_values(tmp_path, defs, registry):
    path = csv_file(tmp_path / "big.csv", [["500101", "spending", "2024-05", "3e14"]])
    result = prepare_submission(path, defs, registry, now=NOW)
    assert result.n_valid == 1 and result.rows["value"].to_list() == [3e14]


# ---------------------------------------------------------------- scope (issue 10's interface)
def test_rows_outside_the_scope_are_rejected(tmp_path, defs, registry):
    rows = [["500103", "volunteers", "2024-05", "1"],  # the scope itself
            ["500103001", "volunteers", "2024-05", "2"],  # a township below it
            ["500110", "volunteers", "2024-05", "3"],  # a sibling: outside
            ["group:wansheng", "volunteers", "2024-05", "4"],  # a group whose member (500110) is outside
            ["51", "volunteers", "2024-05", "5"]]  # a province: outside
    path = csv_file(tmp_path / "scope.csv", rows)
    result = prepare_submission(path, defs, registry, now=NOW, scope=["500103"])
    assert result.rows["source_row"].to_list() == [2, 3]
    out = result.rejections.select("row", "column", "value", "reason_zh", "reason_en").rows()
    assert out[0] == (4, "地区代码", "500110", "地区 500110 不在您的权限范围内（权限：500103）",
                      "region 500110 is outside your access (scope: 500103)")
    assert [r[0] for r in out] == [4, 5, 6]
    assert prepare_submission(path, defs, registry, now=NOW, scope=["50", "51"]).n_valid == 5
    assert prepare_submission(path, defs, registry, now=NOW).n_valid == 5  # no scope: no restriction


def test_ingest_file_passes_scope_and_logs_user_and_role(tmp_path, defs, registry):
    wh = Warehouse(tmp_path / "wh")
    wh.init(regions=SAMPLE_REGIONS)
    path = csv_file(tmp_path / "s.csv", [["500110", "volunteers", "2024-05", "3"]])
    result = ingest_file(wh, path, defs, registry, user="zhang", role="district", scope=["500103"], now=NOW)
    assert result.status == "rejected" and result.rows_rejected == 1
    entry = json.loads(next((wh.path / "log").glob("*.json")).read_text(encoding="utf-8"))
    assert (entry["user"], entry["role"], entry["status"]) == ("zhang", "district", "rejected")
    assert "不在您的权限范围内" in Path(result.rejection_file).read_text(encoding="utf-8-sig")


# ---------------------------------------------------------------- the lock is held only for the commit
def test_validation_runs_before_the_writer_lock(tmp_path, defs, registry, monkeypatch):
    import warehouse.ingest as ingest

    wh = Warehouse(tmp_path / "wh")
    wh.init(regions=SAMPLE_REGIONS)
    seen = []
    real = ingest.prepare_submission

    def probe(*args, **kwargs):
        other = Warehouse(wh.path)  # another writer: gets the lock while this file is being validated
        with other.lock("other"):  # its tidy-up of dead writers' leftovers keeps this live writer's spool
            seen.append("lock free during validation")
        assert kwargs["spool"].dir.is_dir()
        return real(*args, **kwargs)

    monkeypatch.setattr(ingest, "prepare_submission", probe)
    result = ingest_file(wh, csv_file(tmp_path / "ok.csv", good_rows(3)), defs, registry, now=NOW)
    assert seen == ["lock free during validation"] and result.status == "accepted"


def test_a_spool_left_by_a_killed_ingest_is_reported_and_removed(tmp_path, defs, registry):
    import os
    import subprocess
    import sys

    wh = Warehouse(tmp_path / "wh")
    wh.init(regions=SAMPLE_REGIONS)
    live = __import__("warehouse.ingest_spool", fromlist=["Spool"]).Spool(wh.path)  # a writer still validating
    code = ("import os, sys, polars as pl; from warehouse.ingest_spool import Spool; "
            "s = Spool(sys.argv[1]); [s.add(pl.DataFrame({'source_row': [i]})) for i in (1, 2)]; os._exit(9)")  # killed mid-ingest
    subprocess.run([sys.executable, "-c", code, str(wh.path)], check=False, env=dict(os.environ))
    dead = [d for d in (wh.path / ".spool").iterdir() if d != live.dir]
    assert len(dead) == 1 and list(dead[0].glob("part-*.parquet"))
    warnings = [p for p in wh.check() if p.what.startswith(".spool/")]
    assert [(p.severity, p.what) for p in warnings] == [("warning", f".spool/{dead[0].name}")]
    assert "interrupted ingest" in warnings[0].message
    result = ingest_file(wh, csv_file(tmp_path / "ok.csv", good_rows(3)), defs, registry, now=NOW)
    assert result.status == "accepted" and not dead[0].exists() and live.dir.is_dir()
    live.remove()
    assert not list((wh.path / ".spool").iterdir()) and not [p for p in wh.check() if p.severity == "error"]


def test_malformed_codes_are_resolved_without_a_python_call_each(defs, registry, monkeypatch):
    """Bad rows at scale as fast as good ones: a code holding an ASCII letter or punctuation (other than ".") is
    refused in polars, with the same result as regions.canonical_code; only the few that might be a group or
    spell the country (CN) are looked at one by one."""
    from warehouse import ingest_lookups

    tricky = ["X123", "abc-1", "50-01", "cn", " C N ", "Cn", "n-c", "group:nope", "GROUP:x", "５０", "50.0", "5 0",
              "500110000000", "²5", "0", "全国", "#50", "50_01", "@", "50/01", "50,0", "1e5", "５０0101", " 50 "]
    many = [f"Q{i:07d}" for i in range(5_000)] + [f"{i}-x" for i in range(5_000)]
    calls = []
    real = ingest_lookups.canonical_code
    monkeypatch.setattr(ingest_lookups, "canonical_code", lambda raw: calls.append(raw) or real(raw))
    out = ingest_lookups._resolve_codes(pl.Series(tricky + many), registry, defs)
    got = dict(out.select("region_code", "_code").iter_rows())
    assert len(got) == len(tricky) + len(many)
    for raw in tricky + many:
        canon = real(raw)
        assert got[raw] == (canon if canon is not None and canon in registry else None), raw
    assert got["cn"] == got[" C N "] == "CN" and got["５０"] == got["50.0"] == "50"
    assert len(calls) < len(tricky), "malformed codes were resolved one Python call each"


# ---------------------------------------------------------------- a large plain CSV, read in blocks
def _same(a, b) -> None:
    from polars.testing import assert_frame_equal

    assert (a.n_rows, a.n_valid, a.n_rejected, a.n_missing, a.n_warnings, a.file_error, a.header_row) == (
        b.n_rows, b.n_valid, b.n_rejected, b.n_missing, b.n_warnings, b.file_error, b.header_row)
    assert_frame_equal(a.rows, b.rows)
    assert_frame_equal(a.rejections, b.rejections)


@pytest.mark.parametrize("tail", ["", "500101,volunteers,2024-05,3,extra\n", "500101,volunteers,2024-05,\xff3\n"])
def test_blocks_give_the_same_result_as_the_whole_file(tmp_path, defs, registry, monkeypatch, tail):
    import warehouse.ingest_stream as stream

    rows = good_rows(20_000)
    rows[12_345][3] = "abc"
    rows[17_000][:3] = rows[3][:3]  # a duplicate across blocks
    lines = ["报送表,,,", ",,,", ",".join(HEADER)] + [",".join(r) for r in rows]
    lines.insert(9_000, "")  # a blank row inside
    path = tmp_path / "big.csv"
    path.write_bytes(("\n".join(lines) + "\n").encode("utf-8") + tail.encode("utf-8", "surrogateescape")
                     .replace("\xff".encode(), b"\xff"))
    monkeypatch.setattr(stream, "STREAM_FROM_BYTES", 10**12)
    whole = prepare_submission(path, defs, registry, now=NOW)
    monkeypatch.setattr(stream, "STREAM_FROM_BYTES", 1)
    monkeypatch.setattr(stream, "BLOCK_BYTES", 40_000)  # about 25 blocks
    blocks = []
    real = stream._cells
    monkeypatch.setattr(stream, "_cells", lambda *a: blocks.append(a[1]) or real(*a))
    streamed = prepare_submission(path, defs, registry, now=NOW)
    assert len(blocks) > 10
    _same(streamed, whole)
    if not tail:
        assert whole.header_row == 3 and whole.n_rows == 20_000
        assert ("数值", "abc") in whole.rejections.filter(pl.col("row") == 12_350).select("column", "value").rows()
        assert whole.rejections.filter((pl.col("row") == 17_005) & pl.col("reason_zh").str.contains("重复")).height
    elif "extra" in tail:
        assert "row 20005, column 5 holds 'extra' but the column has no header" in streamed.file_error


# ---------------------------------------------------------------- a large GBK or quoted CSV, read in blocks
def _same_when_spooled(tmp_path, path, whole, defs, registry, monkeypatch) -> None:
    """ingest_file validates block by block (and in chunks of 400 rows) into the warehouse's spool and commits from
    it: the same counts and rejections as the whole file, the same stored rows, no spool left; the default
    (all-or-nothing) ingest of the same file stores nothing."""
    import warehouse.ingest_checks as checks
    from warehouse.ingest_spool import Spool
    from warehouse.storage_base import conform

    monkeypatch.setattr(checks, "CHUNK_ROWS", 400)
    parts = []
    real_add = Spool.add
    monkeypatch.setattr(Spool, "add", lambda self, rows: parts.append(rows.height) or real_add(self, rows))
    stored = {}
    for accept in (True, False):
        wh = Warehouse(tmp_path / f"wh_{accept}")
        wh.init(regions=SAMPLE_REGIONS)
        result = ingest_file(wh, path, defs, registry, accept_valid_rows=accept, now=NOW, user="zhang")
        assert (result.rows_total, result.rows_rejected, result.warnings) == (
            whole.n_rows, whole.n_rejected, whole.n_warnings)
        assert result.prepared.rejections.equals(whole.rejections)
        assert not list((wh.path / ".spool").iterdir())
        stored[accept] = pl.read_parquet(wh.snapshot().files) if wh.snapshot().files else None
        assert result.rows_accepted == (whole.n_valid if accept and not whole.file_error else 0)
    assert stored[False] is None, "a rejected file stored rows"
    if whole.file_error is None:
        assert len(parts) > 10 and max(parts) <= 400, "the rows were not validated and spooled chunk by chunk"
        expected = conform(whole.rows.with_columns(submitted_by=pl.lit("zhang"))).drop("batch_id", "ingested_at")
        assert stored[True].sort("source_row").select(expected.columns).equals(expected)


@pytest.mark.parametrize("kind", ["gbk", "gbk_bom_crlf", "gbk_ragged", "quoted", "quoted_gbk", "quoted_bad_tail"])
def test_gbk_and_quoted_blocks_give_the_same_result_as_the_whole_file(tmp_path, defs, registry, monkeypatch, kind):
    import tempfile

    import warehouse.ingest_stream as stream
    import warehouse.ingest_stream_text as text_stream

    rows = good_rows(3_000)
    rows[1_234][3] = "abc"
    rows[2_500][:3] = rows[3][:3]  # a duplicate across blocks
    if kind.startswith("quoted"):  # quotes, a delimiter and a line break inside a field, as Excel writes them
        rows[10][3] = '"1,5"'
        rows[20][3] = '"7"'
        lines = ['"报送表（单位：个）",,,', ",,,", ",".join(HEADER) + ",备注"] + \
            [",".join(r) + (',"核实\n无误"' if i % 97 == 0 else ",") for i, r in enumerate(rows)]
    elif kind == "gbk_ragged":  # a title line of one cell: polars cannot read it one row per line -> csv.reader
        lines = ["重庆市报送表", "", ",".join(HEADER)] + [",".join(r) for r in rows]
    else:  # as Excel writes it: the title padded with commas
        lines = ["重庆市报送表,,,", ",,,", ",".join(HEADER)] + [",".join(r) for r in rows]
    lines.insert(900, "")
    text = ("\r\n" if "crlf" in kind else "\n").join(lines) + "\n"
    if kind == "quoted_bad_tail":
        text += '500101,volunteers,2024-05,"3' + "x" * 140_000 + '"\n'  # a field over csv.reader's limit
    data = (("\ufeff" if "bom" in kind else "") + text).encode("gb18030" if "gbk" in kind else "utf-8")
    path = tmp_path / "big.csv"
    path.write_bytes(data)
    monkeypatch.setattr(stream, "STREAM_FROM_BYTES", 10**12)
    whole = prepare_submission(path, defs, registry, now=NOW)
    monkeypatch.setattr(stream, "STREAM_FROM_BYTES", 1)
    monkeypatch.setattr(text_stream, "BLOCK_RECORDS", 250)  # about 12 blocks
    monkeypatch.setattr(stream, "BLOCK_BYTES", 8_000)  # quote-free GBK: its UTF-8 copy in polars blocks
    blocks, polars_blocks = [], []
    real, real_cells = text_stream._rest, stream._cells
    monkeypatch.setattr(text_stream, "_rest", lambda b, *a: real((blocks.append(x) or x for x in b), *a))
    monkeypatch.setattr(stream, "_cells", lambda *a: polars_blocks.append(a[1]) or real_cells(*a))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    streamed = prepare_submission(path, defs, registry, now=NOW)
    if kind in ("gbk", "gbk_bom_crlf"):  # quote-free GBK: a UTF-8 copy read by polars in blocks, then removed
        assert len(polars_blocks) > 10 and not blocks, "the UTF-8 copy was not used"
        assert not list((tmp_path / "tmp").iterdir())
    else:
        assert len(blocks) > 10, "the block reader was not used"
    _same(streamed, whole)
    _same_when_spooled(tmp_path, path, whole, defs, registry, monkeypatch)
    if kind == "quoted_bad_tail":
        assert "field larger than field limit" in whole.file_error
    else:
        assert whole.file_error is None and whole.n_rows == 3_000
        assert whole.rejections.filter(pl.col("value").str.contains("abc")).height == 1
