"""AppTest of the read-only 任务台账 page: task list with the linked indicator's status, the ledger with late and
missing reports, 督办 items, Chinese and English, and a definitions file without a warehouse."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tasks_fixtures import add_batch, make_warehouse, utc
from warehouse.defs_loader import require_definitions
from warehouse.duban import open_item
from warehouse.storage import Warehouse
from warehouse.tasks_store import report

ROOT = Path(__file__).resolve().parent.parent

YAML = """\
indicators:
  - id: coverage
    name: {zh: 志愿服务站点覆盖率, en: Volunteer station coverage}
    unit: {zh: "%", en: "%"}
    bounds: {min: 0, max: 100}
    aggregation: {rule: max}
plans:
  - id: cq
    name: {zh: 重庆规划, en: Chongqing plan}
    issuer: {zh: 重庆市民政局}
    period: {start: 2021, baseline: 2020, target: 2025}
    region: "50"
    targets:
      - indicator: coverage
        baseline: {value: 50, year: 2020}
        target: {comparator: ">=", value: 100, year: 2025}
        attribute: binding
        applies_at: [total, county]
        baseline_fallback: plan  # 万州 sends no 2020 value: the plan-wide baseline, by opt-in (issue 12)
        source: {table: 专栏1, row: 1}
    task_tables:
      - {table: 分工表, rows: 3, missing_rows: [2]}
    tasks:
      - id: t_volunteers
        title: {zh: 志愿者制度, en: Volunteer system}
        quote: 力争到2025年，志愿服务站点全覆盖。
        source: {table: 分工表, row: 1}
        lead_units: [{zh: 文明办, en: Civilisation Office}]
        responsible_units: [{zh: 各镇街, en: each town and street}]
        indicators: [coverage]
        milestones: {2025: 志愿服务站点全覆盖}
      - id: t_platform
        title: {zh: 信息平台, en: Information platform}
        quote: 建设信息平台。
        source: {table: 分工表, row: 3}
        lead_units: [{zh: 民政局}]
        owner_inferred: true
        note: 原文未写牵头单位。
"""


@pytest.fixture()
def app(tmp_path, monkeypatch):
    defs_path = tmp_path / "defs.yaml"
    defs_path.write_text(YAML, encoding="utf-8")
    defs = require_definitions(defs_path)
    wh = tmp_path / "wh"
    make_warehouse(wh)
    add_batch(Warehouse(wh), [
        {"region_code": "500101", "indicator_id": "coverage", "period": str(y), "value": v}
        for y, v in ((2021, 51), (2022, 52), (2023, 52))
    ], "2024-03-01")
    report(wh, defs, task_id="t_volunteers", unit="各镇街", period="2023", state="delayed",
           account="[点此](http://evil.example) 招募不足", by="镇街填报员", now=utc("2024-02-10"))
    open_item(wh, defs, task_id="t_volunteers", department="各镇街", request="说明原因", deadline="2024-03-10",
              by="李局长", now=utc("2024-03-01"))
    monkeypatch.setenv("PLANWATCH_DEFS", str(defs_path))
    monkeypatch.setenv("PLANWATCH_WAREHOUSE", str(wh))
    return AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)


def _open(at: AppTest, **params: str) -> AppTest:
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    at.switch_page("pages/tasks.py").run()
    assert not at.exception, at.exception
    return at


def test_ledger_page_in_chinese(app):
    at = _open(app, region="500101", month="2024-03")
    assert at.title[0].value == "任务台账"
    tasks = at.dataframe[0].value
    assert tasks["任务"].tolist() == ["志愿者制度", "第2行原文缺失", "信息平台"]
    assert tasks["牵头单位"].tolist() == ["文明办", "—", "民政局（推定）"]  # an empty cell reads "—" (warehouse/tables.py)
    assert tasks["关联指标（状态）"].iloc[0] == "志愿服务站点覆盖率（严重滞后）"
    metrics = {m.label: m.value for m in at.metric}
    # as of 31 March 2024: 2021-2023 due for 3 units (文明办, 各镇街; 民政局); 各镇街 reported 2023 late
    assert metrics == {"逾期未报": "8", "逾期报送": "1", "进展滞后": "1", "督办逾期": "1"}
    ledger = at.dataframe[1].value
    assert ledger["报告期"].tolist()[:3] == ["2023", "2023", "2023"]  # the latest periods first
    first = ledger[ledger["单位"] == "各镇街"].iloc[0]
    assert (first["任务代码"], first["角色"], first["报告期"], first["进展"], first["逾期报送"], first["填报人"]) == (
        "t_volunteers", "责任", "2023", "滞后", "是", "镇街填报员")
    assert first["填报时间"] == "2024-02-11 00:00"  # stored in UTC, shown in CST
    assert first["进展说明"] == "[点此](http://evil.example) 招募不足"  # shown as text in a table cell
    duban = at.dataframe[2].value
    assert duban.iloc[0]["督办编号"] == "DB0001" and duban.iloc[0]["状态"] == "逾期未复"
    assert duban.iloc[0]["逾期天数"] == "21"  # deadline 24:00 CST 10 March, as of 24:00 CST 31 March
    at.selectbox(key="tasks_unit").set_value("民政局").run()
    assert set(at.dataframe[1].value["单位"]) == {"民政局"}


def test_ledger_page_in_english(app):
    at = _open(app, region="500101", month="2024-03", lang="en")
    assert at.title[0].value == "Task ledger"
    tasks = at.dataframe[0].value
    assert tasks["Task"].tolist() == ["Volunteer system", "Row 2 is missing from the source", "Information platform"]
    assert tasks["Indicators (status)"].iloc[0] == "Volunteer station coverage（Far behind）"
    assert at.dataframe[2].value.iloc[0]["Status"] == "Overdue"


def test_without_a_warehouse_only_the_task_list(app, monkeypatch, tmp_path):
    monkeypatch.setenv("PLANWATCH_WAREHOUSE", str(tmp_path / "none"))
    at = _open(app)
    assert len(at.dataframe) == 1 and at.info[0].value == "未找到数据仓库，只显示任务清单。"


def test_county_viewer_sees_tasks_but_not_the_plans_ledger(app, monkeypatch, tmp_path):
    """Signed in as a viewer of 500110: the task list with its own statuses, but the plan's work ledger and 督办
    (Chongqing's departments) are outside its access (docs/access.md)."""
    policy = tmp_path / "access.yaml"
    policy.write_text('grants:\n  - sub: viewer-500110\n    role: viewer\n    scopes: ["500110"]\n', encoding="utf-8")
    monkeypatch.setenv("PLANWATCH_ACCESS", str(policy))
    app.secrets["auth"] = {"redirect_uri": "http://localhost:1/oauth2callback", "cookie_secret": "t",
                           "client_id": "t", "client_secret": "t",
                           "server_metadata_url": "http://localhost:1/.well-known/openid-configuration"}
    app.user = {"is_logged_in": True, "sub": "viewer-500110"}
    at = _open(app, region="500110", month="2024-03")
    assert at.title[0].value == "任务台账"
    assert len(at.dataframe) == 1  # the task list only
    assert any("超出您的访问范围" in e.value for e in at.error)
    assert not at.metric
