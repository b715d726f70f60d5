"""AppTest of the overview (领导驾驶舱) over the real sample warehouse (seed 7, today 2025-11-20)."""

from __future__ import annotations

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from app_helpers import ROOT, open_page, texts
from warehouse import formatting as fmt
from warehouse.defs_loader import require_definitions
from warehouse.engine import Engine
from warehouse.periods import parse_as_of

MONTH = "2025-06"
PLAN = "chongqing_2021"


@pytest.fixture()
def app(sample_warehouse, monkeypatch):
    monkeypatch.setenv("PLANWATCH_WAREHOUSE", str(sample_warehouse))
    monkeypatch.delenv("PLANWATCH_DEFS", raising=False)
    return AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)


@pytest.fixture(scope="module")
def engine_status(sample_warehouse):
    """What the engine itself says for Chongqing in June 2025: the page must show the same counts."""
    engine = Engine(sample_warehouse, require_definitions(ROOT / "indicator_defs.yaml"))
    as_of = parse_as_of(MONTH)
    return (engine.status("50", as_of=as_of, plan_id=PLAN), engine.alerts("50", as_of=as_of, plan_id=PLAN),
            engine.children_status("50", as_of=as_of, plan_id=PLAN))


def _metrics(at: AppTest) -> list[tuple[str, str]]:
    """(label, count) of the status badges (warehouse/narrow.py), binding row first, in page order."""
    import html
    import re

    out = []
    for md in at.markdown:
        for label, count in re.findall(r'data-bucket="\w+"><span[^>]*>([^<]*)</span><b>(\d+)</b>', md.value):
            out.append((html.unescape(label), count))
    return out


def test_overview_counts_alerts_heatmap_match_the_engine(app, engine_status):
    status, alerts, children = engine_status
    at = open_page(app, plan=PLAN, region="50", month=MONTH)
    assert at.title[0].value == "领导驾驶舱"
    page = texts(at)
    assert "数据截至 2025年6月30日 24:00（北京时间）" in page
    progress = at.get("progress")[0].proto
    assert progress.text == "规划期 2021–2025 年，已过 90%（截至 2025年6月30日）"  # 1,642 of 1,826 days
    assert progress.value == 89
    # counts per bucket, binding row first, equal to the engine's statuses
    metrics = _metrics(at)
    assert len(metrics) == 10
    for offset, attribute in ((0, "binding"), (5, "expected")):
        subset = status.filter(pl.col("attribute") == attribute)
        for i, bucket in enumerate(fmt.BUCKETS):
            expected = sum(1 for s in subset["status"].to_list() if fmt.BUCKET_OF_STATUS[s or "no_data"] == bucket)
            assert metrics[offset + i] == (fmt.bucket_label(bucket, "zh"), str(expected))
    assert sum(int(v) for _, v in metrics) == status.height
    # the alerts table: most severe first, with reason and lead department
    table = at.dataframe[0].value
    assert list(table.columns[:5]) == ["状态", "地区", "指标", "属性", "牵头单位"]
    first = alerts.row(0, named=True)
    assert table.iloc[0]["地区"] == first["region_name"]
    assert table.iloc[0]["指标"] == first["indicator_zh"]
    assert table.iloc[0]["原因"] == first["reason_zh"]
    assert table.iloc[0]["牵头单位"] == first["department_zh"]
    assert table.iloc[0]["状态"] == fmt.status_text(first["status"], "zh")
    assert len(table) == min(10, alerts.height)
    # charts: the status bars and a heatmap with one row per child region
    charts = at.get("plotly_chart")
    assert len(charts) == 2
    import json

    heat = json.loads(charts[1].proto.spec)["data"][0]
    assert heat["type"] == "heatmap"
    assert len(heat["y"]) == children["region_code"].n_unique()
    # leading / lagging regions come from the composite ranking
    assert "领先地区" in page and "落后地区" in page
    leaders = at.dataframe[2].value  # [1] is the phone's list that replaces the heatmap below 640 px
    assert len(at.dataframe[1].value) == children["region_code"].n_unique()
    assert leaders.iloc[0]["排名"] == 1


def test_overview_in_english(app):
    at = open_page(app, plan=PLAN, region="50", month=MONTH, lang="en")
    assert at.title[0].value == "Leaders' overview"
    assert any(label.startswith("▼ Far behind") for label, _ in _metrics(at))
    assert "Most severe alerts" in texts(at)


def test_region_without_data_explains_itself(app):
    # before the first ingest (the sample's first batch is from June 2015) a region has no values yet
    at = open_page(app, plan=PLAN, region="500110", month="2015-01")
    assert not at.exception
    assert at.selectbox(key="pw_w_month").value == "2015-01"  # a linked month outside the plan span is kept
    assert "该地区暂无数据：最近一次报送为 2025年第3季度。" in texts(at)


def test_two_clicks_from_alert_to_indicator(app):
    at = open_page(app, plan=PLAN, region="50", month=MONTH)
    table = at.dataframe[0].value
    indicator_name = table.iloc[0]["指标"]
    # click 1: select the worst alert row (AppTest: set the dataframe selection state)
    at.session_state["overview_alerts"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    buttons = [b for b in at.button if b.key == "overview_open_alert"]
    assert buttons and indicator_name in buttons[0].label
    # click 2: open it
    buttons[0].click().run()
    assert not at.exception
    assert at.title[0].value == "指标详情"
    assert at.selectbox(key="pw_w_indicator").value is not None
    assert at.query_params["indicator"] == at.selectbox(key="pw_w_indicator").value


def test_final_evaluation_button_only_after_the_plan_ended(app, sample_warehouse):
    """Issue 12: the overview offers the final evaluation report once the plan period is over."""
    during = open_page(app, plan=PLAN, region="50", month=MONTH)
    assert "终期评估" not in [s.value for s in during.subheader]
    assert not [b for b in during.button if b.key == "pw_final_build"]
    fresh = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
    after = open_page(fresh, plan=PLAN, region="50", month="2026-03")
    assert "终期评估" in [s.value for s in after.subheader]
    assert [b for b in after.button if b.key == "pw_final_build"]
    assert "规划期已于 2025 年结束" in texts(after)
