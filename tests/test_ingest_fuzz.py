"""Property-based fuzzing of the submission reader (hypothesis): whatever the bytes, encoding, shape or values,
prepare_submission returns (never raises), a file-level problem is a clear bilingual message that is not the
catch-all one, every stored value is finite and within the sanity rule, and ingest_file changes nothing in the
warehouse for a rejected file."""

from __future__ import annotations

import io
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from warehouse.definitions import Aggregation, Bounds, Definitions, Indicator, Text
from warehouse.ingest import MAX_ABS_VALUE, prepare_submission
from warehouse.regions import RegionRegistry
from warehouse.storage import Warehouse, ingest_file

SAMPLE_REGIONS = Path(__file__).resolve().parent.parent / "sample_data" / "regions.parquet"
NOW = datetime(2025, 6, 1, tzinfo=timezone.utc)
REGISTRY = RegionRegistry.load(SAMPLE_REGIONS)
DEFS = Definitions(indicators=[
    Indicator(id="volunteers", name=Text(zh="社区志愿者人数"), unit=Text(zh="人"), aggregation=Aggregation(rule="sum"),
              frequency="monthly"),
    Indicator(id="coverage", name=Text(zh="覆盖率"), unit=Text(zh="%"), bounds=Bounds(min=0, max=100),
              aggregation=Aggregation(rule="ratio", scale=100), reported_at=["province", "city", "county"]),
], plans=[])
FUZZ = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                        HealthCheck.too_slow])
CATCH_ALL = "无法读取此文件（"

HEADERS = ["地区代码", "指标代码", "统计期", "数值", "分子", "分母", "备注", "region_code", "value", "指标代玛", "", "标题"]
CELLS = st.one_of(
    st.sampled_from(["500101", "5001", "50", "530102", "99", "group:x", "volunteers", "coverage", "2024", "2024-05",
                     "2024-Q3", "2099-01", "1e21", "1e309", "-1e13", "nan", "inf", "1,234", "95%", "１００", "—", "",
                     " ", '"', "\r", "\n", ",", "\t", "=1+1", "\x00"]),
    st.text(max_size=12),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)
ROWS = st.lists(st.lists(CELLS, min_size=0, max_size=7), min_size=0, max_size=8)


def check(result) -> None:
    if result.file_error is not None:
        assert CATCH_ALL not in result.file_error, result.file_error  # a reader failure we did not foresee
        assert " / " in result.file_error and result.rows.height == 0
        assert "Traceback" not in result.file_error
    values = result.rows["value"]
    assert values.is_finite().all() and (values.abs() <= MAX_ABS_VALUE).all()
    assert result.n_valid == result.rows.height <= result.n_rows


@FUZZ
@given(data=st.binary(max_size=400), name=st.sampled_from(["f.csv", "f.xlsx", "f.parquet", "f.txt", "f"]))
def test_any_bytes(tmp_path_factory, data, name):
    path = tmp_path_factory.mktemp("bytes") / name
    path.write_bytes(data)
    check(prepare_submission(path, DEFS, REGISTRY, now=NOW))


@FUZZ
@given(header=st.lists(st.sampled_from(HEADERS), min_size=1, max_size=7), rows=ROWS, title=st.booleans(),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16"]), delimiter=st.sampled_from([",", "\t"]))
def test_csv_shapes_encodings_and_values(tmp_path_factory, header, rows, title, encoding, delimiter):
    lines = ([["报送表"]] if title else []) + [header] + rows
    text = "\n".join(delimiter.join(cells) for cells in lines)
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:
        data = text.encode("utf-8", errors="surrogatepass") if encoding != "utf-8" else b""
    path = tmp_path_factory.mktemp("csv") / "f.csv"
    path.write_bytes(data)
    check(prepare_submission(path, DEFS, REGISTRY, now=NOW))


@FUZZ
@given(header=st.lists(st.sampled_from(HEADERS), min_size=1, max_size=6), rows=ROWS, merged=st.booleans(),
       dimension=st.sampled_from([None, "A1", "A1:B2", "A1:XFD1048576", "Z9:A1", "garbage"]))
def test_xlsx_shapes_and_dimensions(tmp_path_factory, header, rows, merged, dimension):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    if merged:
        ws["A1"] = "报送表"
        ws.merge_cells("A1:C1")
    buffer = io.BytesIO()
    try:
        for row in [header, *rows]:
            ws.append(row)
        wb.save(buffer)
    except Exception:  # openpyxl refuses control characters in cells: nothing to test
        return
    path = tmp_path_factory.mktemp("xlsx") / "f.xlsx"
    if dimension is None:
        path.write_bytes(buffer.getvalue())
    else:
        with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as src, zipfile.ZipFile(path, "w") as out:
            for info in src.infolist():
                data = src.read(info.filename)
                if info.filename == "xl/worksheets/sheet1.xml":
                    import re

                    data = re.sub(rb'<dimension ref="[^"]*"\s*/>', f'<dimension ref="{dimension}"/>'.encode(), data)
                out.writestr(info.filename, data)
    check(prepare_submission(path, DEFS, REGISTRY, now=NOW))


PARQUET_COLUMNS = st.sampled_from([
    pl.Series(["500101", "500102"]), pl.Series([1.5, float("inf")]), pl.Series([1e21, -1e13]), pl.Series([True, None]),
    pl.Series([[1], [2, 3]]), pl.Series([b"\xff", b"\x00"]), pl.Series([{"a": 1}, {"a": 2}]), pl.Series([None, None]),
    pl.Series(["volunteers", "coverage"]), pl.Series(["2024-05", "2024"]), pl.Series([1, 2], dtype=pl.Int8),
])


@FUZZ
@given(columns=st.lists(st.tuples(st.sampled_from(HEADERS[:9]), PARQUET_COLUMNS), min_size=1, max_size=6, unique_by=lambda c: c[0]))
def test_parquet_column_types(tmp_path_factory, columns):
    frame = pl.DataFrame({name: series for name, series in columns})
    path = tmp_path_factory.mktemp("pq") / "f.parquet"
    frame.write_parquet(path)
    check(prepare_submission(path, DEFS, REGISTRY, now=NOW))


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    wh = Warehouse(tmp_path_factory.mktemp("wh") / "wh")
    wh.init(regions=SAMPLE_REGIONS)
    return wh


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(st.binary(max_size=200), ROWS.map(lambda rows: "\n".join(",".join(r) for r in [["地区代码", "指标代码", "统计期", "数值"], *rows]).encode("utf-8", "surrogatepass"))))
def test_a_rejected_file_leaves_the_warehouse_unchanged(tmp_path_factory, warehouse, data):
    path = tmp_path_factory.mktemp("in") / "f.csv"
    path.write_bytes(data)
    version, batches = warehouse.version(), warehouse.snapshot().batch_ids
    result = ingest_file(warehouse, path, DEFS, REGISTRY, now=NOW)
    if result.status != "accepted":
        assert (warehouse.version(), warehouse.snapshot().batch_ids) == (version, batches)
    assert warehouse.check() == []
