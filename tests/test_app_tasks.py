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
    assert first["任务"] == "志愿者制度"  # the task's title, not only its code
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


POLICY = """\
grants:
  - sub: leader-cq
    role: viewer
    scopes: ["50"]
  - email: zhenjie@cq.example.cn
    role: viewer
    scopes: ["50"]
    units: [各镇街]
"""


def _signed_in(tmp_path: Path, monkeypatch, user: dict) -> AppTest:
    policy = tmp_path / "access.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    monkeypatch.setenv("PLANWATCH_ACCESS", str(policy))
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.secrets["auth"] = {"redirect_uri": "http://localhost:1/oauth2callback", "cookie_secret": "t",
                          "client_id": "t", "client_secret": "t",
                          "server_metadata_url": "http://localhost:1/.well-known/openid-configuration"}
    at.user = {"is_logged_in": True, **user}
    return at


def _events(tmp_path: Path) -> list[dict]:
    import json

    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted((tmp_path / "wh" / "tasks" / "events").glob("*.json"))]


def test_duban_cycle_leader_and_department(app, tmp_path, monkeypatch):
    """Signed in as a leader (viewer of 50, no units): the overview lists the overdue DB0001; the ledger page opens
    DB0002 on a delayed task. Signed in as the department 各镇街: 我的任务 shows its reports and items, it answers
    DB0001 and reports progress. The leader then closes DB0001. Each event records identity and role."""
    leader = _signed_in(tmp_path, monkeypatch, {"sub": "leader-cq"})
    at = _home(leader, region="50")  # the overview (home page) first
    assert [s.value for s in at.subheader if s.value == "逾期督办"] == ["逾期督办"], (texts_of(at))
    assert any("1 项督办逾期未复" in e.value for e in at.error)
    assert _frame_with(at, "督办编号").iloc[0]["督办编号"] == "DB0001"
    at.switch_page("pages/tasks.py").run()
    assert not at.exception, at.exception
    assert not at.tabs  # a leader has no 我的任务
    assert "发起督办" in [s.value for s in at.subheader]
    at.text_area(key="tasks_open_request").set_value("请说明志愿者招募滞后原因")
    at.button(key="tasks_open_submit").click().run()
    assert not at.exception, at.exception
    assert any("已发起督办 DB0002" in s.value for s in at.success), [e.value for e in at.error]
    opened = _events(tmp_path)[-1]
    assert (opened["kind"], opened["by"], opened["role"], opened["source"]["kind"]) == (
        "duban_open", "leader-cq", "viewer", "task")
    assert opened["department"] in ("文明办", "各镇街")

    dept = _signed_in(tmp_path, monkeypatch, {"email": "zhenjie@cq.example.cn", "email_verified": True})
    at = _open(dept, region="50")
    assert [t.label for t in at.tabs] == ["我的任务", "任务台账"]
    assert "发起督办" not in [s.value for s in at.subheader]  # a department never supervises
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["我的任务"] == "1" and metrics["督办逾期"] == "1"
    mine = _frame_with(at, "督办编号")
    assert "DB0001" in mine["督办编号"].tolist()
    at.selectbox(key="tasks_ans_item").set_value("DB0001")
    at.text_area(key="tasks_ans_action").set_value("已补招志愿者120名")
    at.button(key="tasks_ans_submit").click().run()
    assert not at.exception, at.exception
    assert any("已答复督办 DB0001" in s.value for s in at.success), [e.value for e in at.error]
    answer = _events(tmp_path)[-1]
    assert (answer["kind"], answer["by"], answer["role"], answer["department"]) == (
        "duban_answer", "zhenjie@cq.example.cn", "viewer", "各镇街")
    assert at.selectbox(key="tasks_rep_task").options == ["志愿者制度（t_volunteers）"]  # its own tasks only
    at.selectbox(key="tasks_rep_period").set_value("2024")
    at.selectbox(key="tasks_rep_state").set_value("on_track")
    at.text_area(key="tasks_rep_account").set_value("站点覆盖率达到80%")
    at.button(key="tasks_rep_submit").click().run()
    assert not at.exception, at.exception
    assert any("已记录进展" in s.value and "逾期报送" in s.value for s in at.success)  # 2024's was due 2025-01-30
    rep = _events(tmp_path)[-1]
    assert (rep["kind"], rep["unit"], rep["period"], rep["state"], rep["by"], rep["role"], rep["late"]) == (
        "report", "各镇街", "2024", "on_track", "zhenjie@cq.example.cn", "viewer", True)
    at.text_area(key="tasks_rep_account").set_value("")  # an empty account: refused, nothing written
    at.button(key="tasks_rep_submit").click().run()
    assert any("未能保存" in e.value for e in at.error) and _events(tmp_path)[-1] == rep

    leader = _signed_in(tmp_path, monkeypatch, {"sub": "leader-cq"})
    at = _home(leader, region="50")
    assert not [s for s in at.subheader if s.value == "逾期督办"]  # DB0001 answered: no longer overdue
    at.switch_page("pages/tasks.py").run()
    at.selectbox(key="tasks_close_item").set_value("DB0001")
    at.text_area(key="tasks_close_note").set_value("整改到位，办结")
    at.button(key="tasks_close_submit").click().run()
    assert any("已办结督办 DB0001" in s.value for s in at.success)
    closed = _events(tmp_path)[-1]
    assert (closed["kind"], closed["item"], closed["by"], closed["role"]) == ("duban_close", "DB0001", "leader-cq", "viewer")


def _frame_with(at: AppTest, column: str):
    """The first table of the run that has `column`."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def _home(at: AppTest, **params: str) -> AppTest:
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def texts_of(at):
    return [(k, str(e.value)) for k in ("title", "subheader", "info", "error", "warning") for e in getattr(at, k)]
