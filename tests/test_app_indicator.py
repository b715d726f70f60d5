"""AppTest of the indicator page over the real sample warehouse."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from app_helpers import ROOT, open_page, texts
from warehouse import formatting as fmt
from warehouse.defs_loader import require_definitions
from warehouse.engine import Engine
from warehouse.periods import parse_as_of

PLAN, MONTH, IND = "chongqing_2021", "2025-06", "activity_area_share"


@pytest.fixture()
def app(sample_warehouse, monkeypatch):
    monkeypatch.setenv("PLANWATCH_WAREHOUSE", str(sample_warehouse))
    monkeypatch.delenv("PLANWATCH_DEFS", raising=False)
    return AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)


@pytest.fixture(scope="module")
def engine(sample_warehouse):
    return Engine(sample_warehouse, require_definitions(ROOT / "indicator_defs.yaml"))


def _spec(chart) -> dict:
    return json.loads(chart.proto.spec)


def test_indicator_page_shows_status_trajectory_children_definition(app, engine):
    as_of = parse_as_of(MONTH)
    row = engine.status("500110", as_of=as_of, plan_id=PLAN, indicator=IND).row(0, named=True)
    trajectory = engine.trajectory("500110", IND, as_of=as_of, plan_id=PLAN)
    children = engine.children_status("500110", as_of=as_of, plan_id=PLAN, indicator=IND)
    at = open_page(app, "pages/indicator.py", plan=PLAN, region="500110", month=MONTH, indicator=IND)
    assert at.title[0].value == "指标详情"
    assert at.selectbox(key="pw_w_indicator").value == IND
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["状态"] == fmt.status_text(row["status"], "zh")
    assert metrics["当前值"] == fmt.format_value(row["value"], "%")
    assert metrics["目标值"].startswith("≥60%")
    charts = at.get("plotly_chart")
    traj = _spec(charts[0])
    by_meta = {t.get("meta"): t for t in traj["data"]}
    assert {"actual", "expected", "target"} <= set(by_meta)
    assert by_meta["actual"]["y"] == pytest.approx(trajectory["actual"].to_list())
    assert by_meta["target"]["y"] == [60.0]
    page = texts(at)
    assert "来源：重庆市城乡社区服务体系建设" in page and "专栏" in page  # plan, table and row of the target
    if children.height:
        ranked = _spec(charts[1])["data"][0]
        assert len(ranked["y"]) == children.height
    # revision history: every submission, superseded ones too, times in CST
    history = engine.history("500110", IND, as_of=as_of)
    table = at.dataframe[-1].value
    assert len(table) == history.height and history.height > 0
    assert table["入库时间（北京时间）"].str.endswith("（北京时间）").all()


def test_switching_indicator_updates_url(app):
    at = open_page(app, "pages/indicator.py", plan=PLAN, region="50", month=MONTH, indicator=IND)
    options = at.selectbox(key="pw_w_indicator").options
    assert options[0].startswith("★ ")  # binding indicators first
    other = "volunteer_share"
    at.selectbox(key="pw_w_indicator").set_value(other).run()
    assert not at.exception
    assert at.query_params["indicator"] == other
    assert "注册志愿者" in texts(at) or "志愿者" in texts(at)  # the new definition is shown


def test_rolled_up_value_explains_why_there_is_no_revision_history(app, engine):
    # a Chongqing-plan indicator the national plan does not have: Chongqing itself does not submit it (it does
    # submit its compiled figures for the national indicators, such as IND, since the sample covers the country)
    ind = "smart_community_platform_coverage"
    row = engine.status("50", as_of=parse_as_of(MONTH), plan_id=PLAN, indicator=ind).row(0, named=True)
    assert row["value_source"] == "rollup"  # Chongqing's figure is the sum of its districts' submissions
    at = open_page(app, "pages/indicator.py", plan=PLAN, region="50", month=MONTH, indicator=ind)
    page = texts(at)
    assert "数值由下级地区报送的数据汇总得出" in page and "该地区该指标没有报送记录" not in page
