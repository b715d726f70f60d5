"""AppTest of the scope rules inside the app (signed in through AppTest's `user` under access.example.yaml): the
guard in app_state.query, the sibling rule on the region page, the picker and crafted links, the sign-in screen,
a person with no grant, and the demo mode's sidebar notice."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app_helpers import signed_in_app

ROOT = Path(__file__).resolve().parent.parent
VIEWER = {"sub": "viewer-500110", "email": "someone@cq.example.cn"}


def _env(monkeypatch, warehouse: Path) -> None:
    monkeypatch.setenv("PLANWATCH_WAREHOUSE", str(warehouse))
    monkeypatch.setenv("PLANWATCH_DEFS", str(ROOT / "indicator_defs.yaml"))
    monkeypatch.setenv("PLANWATCH_ACCESS", str(ROOT / "access.example.yaml"))


def _app(monkeypatch, warehouse: Path, user: dict | None, page: str | None = None, **params: str) -> AppTest:
    return signed_in_app(monkeypatch, warehouse, user, page, **params)


def _shown(elements) -> str:
    return re.sub(r"\\(.)", r"\1", " ".join(str(e.value) for e in elements)).replace("\u200b", "")


def test_sign_in_screen_shows_nothing_else(sample_warehouse, monkeypatch):
    at = _app(monkeypatch, sample_warehouse, None, plan="chongqing_2021", region="50")
    assert at.title[0].value == "请登录"
    assert [b.label for b in at.button] == ["登录"]
    assert not at.selectbox and not at.get("plotly_chart") and not at.get("arrow_data_frame")


def test_no_grant_no_data(sample_warehouse, monkeypatch):
    at = _app(monkeypatch, sample_warehouse, {"sub": "x", "email": "x@elsewhere.example"})
    assert "没有访问权限" in _shown(at.error)
    assert not at.selectbox and not at.get("plotly_chart")


def test_crafted_link_and_picker_stay_in_scope(sample_warehouse, monkeypatch):
    at = _app(monkeypatch, sample_warehouse, VIEWER, plan="chongqing_2021", region="500101")
    warnings = _shown(at.warning)
    assert "region='500101'" in warnings and "超出您的访问范围" in warnings and "已改用 500110" in warnings
    region = at.selectbox(key="pw_w_region")
    assert region.value == "500110"
    assert region.options and all("500110" in o for o in region.options if re.search(r"\d{6}", o))
    # a plan whose area does not overlap the scope is not offered
    assert not any("四川" in o for o in at.selectbox(key="pw_w_plan").options)
    assert "someone@cq.example.cn" in _shown(at.sidebar.caption) and "查看者" in _shown(at.sidebar.caption)


def test_region_page_shows_own_rank_among_all_siblings(sample_warehouse, monkeypatch):
    at = _app(monkeypatch, sample_warehouse, VIEWER, "pages/region.py", plan="chongqing_2021", region="500110",
              month="2025-06")  # the sample's data end in 2025 (SAMPLE_TODAY)
    metric = at.metric[0].value
    assert re.fullmatch(r"综合排名：第 \d+ / 38 名", metric), metric  # own place among all 38 districts/counties
    rank_chart = [c for c in at.get("plotly_chart") if '"meta":"rank"' in c.proto.spec.replace(" ", "")]
    assert rank_chart, "the sibling rank chart"
    spec = rank_chart[0].proto.spec
    assert "500110" in spec and "500101" not in spec and "万州" not in spec  # only its own bar


def test_query_guard_refuses_out_of_scope_reads(sample_warehouse, monkeypatch):
    """Whatever a page asks for: the read itself is refused (not just the widget hidden)."""
    _env(monkeypatch, sample_warehouse)

    def script():
        import streamlit as st

        from warehouse import access, app_state
        from warehouse.periods import parse_as_of

        st.session_state["pw_identity"] = access.Identity("v", "viewer", access.Scope(("500110",)))
        mine = app_state.query("rank", "50", "composite", as_of=parse_as_of("2025-06"), plan_id="chongqing_2021")
        st.write(f"rows={mine.height} n_ranked={mine['n_ranked'][0]} code={mine['region_code'][0]}")
        app_state.query("trajectory", "500101", "registered_volunteers")
        st.write("not reached")

    at = AppTest.from_function(script, default_timeout=120).run()
    assert not at.exception, at.exception
    assert [m.value for m in at.markdown] == ["rows=1 n_ranked=38 code=500110"]
    assert "超出您的访问范围：500101" in _shown(at.error)


@pytest.mark.parametrize("who, tabs", [
    # 填报进度 (issue 15): the reporting round's progress, for every signed-in role
    (VIEWER, ["报送率", "逾期未报", "汇总不一致", "异常值", "填报进度"]),
    ({"sub": "s", "email": "qijiang@cq.example.cn"},
     ["报送率", "逾期未报", "入库日志", "汇总不一致", "异常值", "上传报送文件", "填报进度"]),
    ({"sub": "a", "email": "admin@planwatch.example.cn"},
     ["报送率", "逾期未报", "入库日志", "汇总不一致", "异常值", "上传报送文件", "填报进度"]),
])
def test_data_quality_tabs_by_role(sample_warehouse, monkeypatch, who, tabs):
    at = _app(monkeypatch, sample_warehouse, who, "pages/data_quality.py", plan="chongqing_2021", region="500110")
    assert [t.label for t in at.tabs] == tabs
    if who is not VIEWER and "admin" not in who["email"]:
        assert at.metric[3].value == "0"  # the sample's rejected rows are not the submitter's


def test_demo_mode_sidebar(sample_warehouse, monkeypatch):
    _env(monkeypatch, sample_warehouse)
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120).run()
    assert "未登录（演示模式）" in _shown(at.sidebar.info)
