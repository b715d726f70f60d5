"""AppTest of the data-quality page on the sample warehouse: rates, overdue, ingest log with rejected rows,
roll-up disagreements, outliers, and an upload that stores nothing until confirmed."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from warehouse import quality
from warehouse.defs_loader import require_definitions
from warehouse.periods import parse_as_of
from warehouse.storage import Warehouse

ROOT = Path(__file__).resolve().parent.parent
DEFS = ROOT / "indicator_defs.yaml"


def _app(monkeypatch, warehouse: Path, user: dict | None = None, **params: str) -> AppTest:
    """The page; `user` (OIDC claims) signs in under access.example.yaml, otherwise the demo mode."""
    monkeypatch.setenv("PLANWATCH_WAREHOUSE", str(warehouse))
    monkeypatch.setenv("PLANWATCH_DEFS", str(DEFS))
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
    if user is not None:
        monkeypatch.setenv("PLANWATCH_ACCESS", str(ROOT / "access.example.yaml"))
        at.secrets["auth"] = {"redirect_uri": "http://localhost:1/oauth2callback", "cookie_secret": "t",
                              "client_id": "t", "client_secret": "t",
                              "server_metadata_url": "http://localhost:1/.well-known/openid-configuration"}
        at.user = {"is_logged_in": True, **user}
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    at.switch_page("pages/data_quality.py").run()
    assert not at.exception, at.exception
    return at


# st.dataframe is not a widget, so AppTest cannot look it up by key: find each table by a column of its own
MARKERS = {"dq_rates": "应报", "dq_overdue": "逾期天数", "dq_log": "文件", "dq_log_rejections": "单元格内容",
           "dq_upload_rejections": "单元格内容", "dq_disagree": "下级汇总值", "dq_outliers": "z 值",
           "dq_rates_en": "Expected"}


def _find(at: AppTest, key: str):
    for element in at.dataframe:
        if MARKERS[key] in element.value.columns:
            return element.value
    return None


def _frame(at: AppTest, key: str):
    frame = _find(at, key)
    assert frame is not None, f"no table {key}"
    return frame


def test_rates_overdue_log_in_chinese(sample_warehouse, monkeypatch):
    at = _app(monkeypatch, sample_warehouse, plan="chongqing_2021", region="50", month="2025-06")
    assert at.title[0].value == "数据质量"
    # demo mode (no [auth]): read-only, so no upload tab (docs/access.md)
    assert [t.label for t in at.tabs] == ["报送率", "逾期未报", "入库日志", "汇总不一致", "异常值"]

    # the page's numbers are warehouse.quality's over Chongqing's 38 districts and counties as of 2025-06
    defs = require_definitions(DEFS)
    as_of = parse_as_of("2025-06")
    regions = quality.reporting_regions(quality.load_regions(sample_warehouse), "50", defs)
    assert regions.height == 38 and "50" not in regions["code"].to_list()
    detail = quality.report_detail(quality.expected_reports(defs, regions, as_of, "chongqing_2021"),
                                   quality.load_submissions(sample_warehouse, as_of))
    total = quality.reporting_rates(detail.with_columns(pl.lit(1).alias("k")), by=["k"]).row(0, named=True)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["报送率"] == f"{total['reporting_rate'] * 100:.1f}%"
    assert metrics["按时报送率"] == f"{total['on_time_rate'] * 100:.1f}%"
    assert metrics["逾期未报"] == str(total["expected"] - total["received"])
    assert 0 < total["on_time"] <= total["received"] <= total["expected"]

    rates = _frame(at, "dq_rates")
    assert list(rates.columns) == ["地区", "应报", "已报", "按时", "报送率", "按时率"]
    assert len(rates) == 38
    assert rates["应报"].sum() == total["expected"]
    assert rates["报送率"].str.endswith("%").all()

    overdue = _frame(at, "dq_overdue")
    assert len(overdue) == total["expected"] - total["received"]
    assert overdue["逾期天数"].is_monotonic_decreasing

    log = _frame(at, "dq_log")
    # only attempts made by the as-of time; the sample's rejected files are among them
    entries = quality.ingest_log(sample_warehouse, as_of)
    assert len(log) == entries.height
    assert "已拒收" in set(log["结果"])
    assert metrics["被拒收的行"] == str(int(entries["rows_rejected"].fill_null(0).sum()))
    rejected = _frame(at, "dq_log_rejections")
    assert list(rejected.columns) == ["行号", "列", "单元格内容", "原因"]
    assert len(rejected) >= 1 and rejected["原因"].str.len().min() > 0


def test_disagreements_and_outliers(sample_warehouse, monkeypatch):
    at = _app(monkeypatch, sample_warehouse, plan="chongqing_2021", region="50")
    texts = " ".join(str(c.value) for c in at.caption)
    assert "相差超过容差（2%）" in texts
    # Wansheng's towns report under 綦江区 too, so 綦江区's own values and its roll-up can disagree
    frame = _frame(at, "dq_disagree")
    assert list(frame.columns) == ["地区", "指标", "期别", "本级报送值", "下级汇总值", "相差"]
    assert frame["地区"].str.contains("500110").any()
    outliers_z = at.number_input(key="dq_outlier_z")
    assert outliers_z.value == 3.0  # defaults.outlier_z
    n_default = len(_find(at, "dq_outliers")) if _find(at, "dq_outliers") is not None else 0
    outliers_z.set_value(1.5).run()
    n_low = len(_frame(at, "dq_outliers"))
    assert n_low > n_default  # a lower threshold flags more changes
    assert (_frame(at, "dq_outliers")["z 值"].astype(float).abs() >= 1.5).all()  # shown rounded to 2 decimals


def test_english(sample_warehouse, monkeypatch):
    at = _app(monkeypatch, sample_warehouse, plan="chongqing_2021", region="50", lang="en")
    assert at.title[0].value == "Data quality"
    assert [t.label for t in at.tabs][:3] == ["Reporting rates", "Overdue", "Ingest log"]
    assert list(_frame(at, "dq_rates_en").columns) == ["Region", "Expected", "Received", "On time", "Reporting rate",
                                                     "On-time rate"]


def test_upload_checks_first_and_stores_only_on_confirm(sample_warehouse, tmp_path, monkeypatch):
    wh = tmp_path / "wh"
    shutil.copytree(sample_warehouse, wh)
    version = Warehouse(wh).version()
    upload = ("region_code,indicator_id,period,value\n"
              "500101,registered_volunteers,2025-10,12.5\n"
              "5001099,registered_volunteers,2025-10,3\n").encode("utf-8")

    at = _app(monkeypatch, wh, user={"email": "analyst@cq.example.cn", "sub": "a1"}, plan="chongqing_2021", region="50")
    at.file_uploader(key="dq_upload").set_value(("my_upload.csv", upload, "text/csv")).run()
    assert not at.exception, at.exception
    # messages quoting the file are Markdown-escaped (shown literally); compare the text shown, no server path
    summary = re.sub(r"\\(.)", r"\1", " ".join(str(i.value) for i in at.info))
    assert "my_upload.csv" in summary and "拒收 1 行" in summary
    assert "/tmp" not in summary and "rejections.csv" in summary
    assert "--accept" not in summary  # a CLI flag means nothing in the browser: it offers a checkbox below
    rejected = _frame(at, "dq_upload_rejections")
    assert rejected.iloc[0]["行号"] == "3" and rejected.iloc[0]["单元格内容"] == "5001099"
    assert at.get("download_button")  # the rejection CSV can be downloaded
    # all-or-nothing by default: nothing to store, nothing stored
    assert any("没有可存储的行" in str(w.value) for w in at.warning)
    assert Warehouse(wh).version() == version

    at.checkbox(key="dq_upload_accept_valid").check().run()
    assert Warehouse(wh).version() == version  # still nothing stored
    at.button(key="dq_upload_confirm").click().run()
    assert not at.exception, at.exception
    assert any("已入库" in str(s.value) for s in at.success)
    assert Warehouse(wh).version() == version + 1
    stored = quality.load_submissions(wh).filter(pl.col("source_file") == "my_upload.csv")
    assert stored.select("region_code", "indicator_id", "period", "value").rows() == [
        ("500101", "registered_volunteers", "2025-10", 12.5)]
    # the log names the signed-in person and the role, not the server's OS user (docs/access.md)
    entry = quality.ingest_log(wh).filter(pl.col("file_name") == "my_upload.csv").row(0, named=True)
    assert (entry["user"], entry["role"]) == ("analyst@cq.example.cn", "analyst")
