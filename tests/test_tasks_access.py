"""Who is a department (access.yaml `units`), who may report, answer, open and close 督办 (tasks_access), and
the ledger in the reports (tasks_report: the export's summary, the overview's overdue list, final completion)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tasks_fixtures import add_batch, task_definitions, task_warehouse, utc
from warehouse import access, tasks_access, tasks_report
from warehouse.access_loader import load_policy_bytes
from warehouse.defs_loader import require_definitions
from warehouse.duban import answer_item, items, open_item
from warehouse.tasks_store import report

ROOT = Path(__file__).resolve().parent.parent
DEFS = task_definitions()  # plan cq (50): t_volunteers (文明办; 各镇街, 民政局), t_platform (民政局, 经信局), quarterly


def members(ref: str) -> list[str]:
    return list(DEFS.group(ref.split(":", 1)[1]).members)


def _problems(text: str, defs=DEFS) -> list[str]:
    return [str(p) for p in load_policy_bytes(text.encode(), "access.yaml", definitions=defs).problems]


def test_units_are_checked_with_position_and_suggestion():
    text = ("grants:\n"
            "  - email: a@cq.cn\n    role: viewer\n    scopes: [\"50\"]\n    units: [民政局, 文明]\n"
            "  - email: b@sc.cn\n    role: viewer\n    scopes: [\"51\"]\n    units: [民政局]\n"
            "  - email: c@x.cn\n    role: admin\n    units: [民政局]\n")
    assert _problems(text) == [
        "access.yaml:5:18: error: grants[0].units[1]: unknown task unit `文明` (expected a lead or responsible unit "
        "of a task (its Chinese name, as in the definitions); did you mean `文明办`?)",
        "access.yaml:9:13: error: grants[1].units[0]: unit `民政局` has no task in a plan of this grant's scopes "
        "(expected a unit of a task of a plan inside `51`)",
        "access.yaml:12:12: warning: grants[2].units: an admin acts for every unit; these units are ignored",
    ]
    ok = load_policy_bytes('grants:\n  - email: a@cq.cn\n    role: viewer\n    scopes: ["50"]\n    units: [民政局]\n'
                           .encode(), "access.yaml", definitions=DEFS)
    who = ok.policy.identity({"email": "a@cq.cn"}, members)
    assert (who.role, who.units) == ("viewer", ("民政局",))


def test_shipped_example_policy_has_a_department():
    defs = require_definitions(ROOT / "indicator_defs.yaml")
    result = load_policy_bytes((ROOT / "access.example.yaml").read_bytes(), "access.example.yaml", definitions=defs)
    assert result.ok, [str(p) for p in result.problems]
    who = result.policy.identity({"email": "mzj@cq.example.cn"}, lambda r: list(defs.group(r.split(":")[1]).members))
    assert who.units == ("市民政局",) and tasks_access.is_department(who) and not tasks_access.is_leader(who)
    mine = tasks_access.my_tasks(who, defs, lambda r: list(defs.group(r.split(":")[1]).members))
    assert {p.id for p, _, _ in mine} == {"chongqing_2021"}  # not Yuxi's 市民政局


def _who(role: str, scope: str, units: tuple[str, ...] = ()) -> access.Identity:
    return access.Identity(f"{role}-{scope}", role, access.Scope((scope,)), units=units)


def test_who_may_report_answer_open_and_close():
    plan = DEFS.plan("cq")
    volunteers = next(t for t in plan.tasks if t.id == "t_volunteers")
    dept = _who("viewer", "50", ("各镇街",))
    other_area = _who("viewer", "51", ("各镇街",))
    leader, county_leader = _who("viewer", "50"), _who("viewer", "500101")
    analyst, admin = _who("analyst", "50"), access.Identity("x", "admin", access.EVERYTHING)
    assert tasks_access.may_report(dept, plan, volunteers, "各镇街", members)
    assert not tasks_access.may_report(dept, plan, volunteers, "民政局", members)  # another unit
    assert not tasks_access.may_report(other_area, plan, volunteers, "各镇街", members)  # plan outside its scope
    assert not tasks_access.may_report(leader, plan, volunteers, "各镇街", members)
    assert tasks_access.may_report(admin, plan, volunteers, "民政局", members)
    assert not tasks_access.may_report(access.DEMO, plan, volunteers, "各镇街", members)  # demo: the CLI writes
    assert tasks_access.may_open_on_task(leader, plan, members)
    assert not tasks_access.may_open_on_task(county_leader, plan, members)  # the plan's area is not inside 500101
    assert tasks_access.may_open_on_alert(county_leader, "500101", members)
    assert not tasks_access.may_open_on_alert(county_leader, "500102", members)
    for nobody in (dept, analyst, _who("submitter", "50"), access.DEMO):
        assert not tasks_access.may_open_on_task(nobody, plan, members), nobody
    item = {"department": "各镇街", "source": {"kind": "task", "plan": "cq", "task": "t_volunteers"}}
    assert tasks_access.may_answer(dept, item, DEFS, members) and not tasks_access.may_answer(leader, item, DEFS, members)
    assert not tasks_access.may_answer(other_area, item, DEFS, members)
    assert tasks_access.may_close(leader, item, DEFS, members) and not tasks_access.may_close(dept, item, DEFS, members)
    alert_item = {"department": "万州区民政局", "source": {"kind": "alert", "region": "500101", "indicator": "coverage"}}
    assert tasks_access.may_close(county_leader, alert_item, DEFS, members)
    assert not tasks_access.sees_item(_who("viewer", "500102"), alert_item, DEFS, members)


@pytest.fixture()
def wh(tmp_path):
    path = task_warehouse(tmp_path / "wh")
    from warehouse.storage import Warehouse

    add_batch(Warehouse(path), [
        {"region_code": code, "indicator_id": "coverage", "period": str(year), "value": value}
        for code, values in (("500101", (51, 52, 52)), ("500102", (62, 75, 95)))
        for year, value in zip((2021, 2022, 2023), values)
    ], "2024-03-01")
    return path


def test_ledger_summary_overdue_and_completion(wh):
    plan = DEFS.plan("cq")
    report(wh, DEFS, task_id="t_volunteers", unit="各镇街", period="2023", state="delayed", account="滞后", by="a",
           now=utc("2024-02-10"))  # due 2024-01-30: late
    report(wh, DEFS, task_id="t_volunteers", unit="文明办", period="2023", state="on_track", account="推进", by="b",
           now=utc("2024-01-10"))
    open_item(wh, DEFS, task_id="t_volunteers", department="各镇街", request="说明原因", deadline="2024-03-10",
              by="李局长", now=utc("2024-03-01"))
    open_item(wh, DEFS, region="500101", indicator="coverage", department="万州区民政局", request="整改",
              deadline="2024-03-05", by="李局长", now=utc("2024-03-02"))
    as_of = utc("2024-03-31")
    summary = tasks_report.ledger_summary(wh, DEFS, plan, "50", as_of, members)
    # 5 task × unit pairs: t_volunteers 文明办 on_track, 各镇街 delayed, 民政局 none; t_platform 民政局, 经信局 none
    assert summary["by_state"] == {"done": 0, "on_track": 1, "delayed": 1, "not_started": 0, "none": 3}
    assert [(i["item"], i["days_overdue"]) for i in summary["overdue"]] == [("DB0002", 26), ("DB0001", 21)]
    late = [(r["task"], r["unit"], r["period"], r["late"], r["missing"]) for r in summary["late"]]
    assert ("t_volunteers", "各镇街", "2023", True, False) in late
    assert ("t_volunteers", "民政局", "2023", False, True) in late
    assert not any(u == "文明办" and p == "2023" for _, u, p, _, _ in late)  # reported on time
    # a county's export: only the alert items inside it, no plan-wide task rows
    county = tasks_report.ledger_summary(wh, DEFS, plan, "500101", as_of, members)
    assert (county["plan_wide"], [i["item"] for i in county["overdue"]], county["late"]) == (False, ["DB0002"], [])
    assert tasks_report.ledger_summary(wh, DEFS, plan, "500102", as_of, members)["overdue"] == []
    answer_item(wh, "DB0001", department="各镇街", action="已整改", done_by="2024-04-10", by="c", now=utc("2024-04-01"))
    assert [i["item"] for i in tasks_report.overdue_items(wh, DEFS, plan, "50", utc("2024-04-30"), members)] == ["DB0002"]
    assert len(items(wh)) == 2


def test_task_completion_and_milestones(wh):
    plan = DEFS.plan("cq")
    # t_volunteers' 2025 milestone: lead unit 文明办. Not due before 2025 ends.
    report(wh, DEFS, task_id="t_volunteers", unit="文明办", period="2025", state="done", account="完成", by="b",
           now=utc("2026-01-05"))
    report(wh, DEFS, task_id="t_volunteers", unit="各镇街", period="2025", state="delayed", account="部分镇街未完成",
           by="a", now=utc("2026-01-06"))
    rows = {r["task"]: r for r in tasks_report.completion(wh, DEFS, plan, utc("2026-03-31"))}
    vol = rows["t_volunteers"]
    assert (vol["last_state"], vol["last_unit"], vol["last_period"]) == ("delayed", "各镇街", "2025")
    assert vol["milestones"] == [{"year": 2025, "text": "注册志愿者比例达到15%", "result": "met"}]  # the lead unit's word
    assert rows["t_platform"]["last_state"] is None and rows["t_platform"]["milestones"] == []
    assert tasks_report.completion(wh, DEFS, plan, utc("2025-12-30"))[0]["milestones"][0]["result"] == "not_due"
    reports = [{"unit": "文明办", "period": "2025", "state": "not_started", "at": "x"}]
    assert tasks_report.milestone_result(reports, ["文明办"], 2025, utc("2026-02-01")) == "not_met"
    assert tasks_report.milestone_result([], ["文明办"], 2025, utc("2026-02-01")) == "not_reported"
    assert tasks_report.milestone_result(reports, ["文明办", "民政局"], 2025, utc("2026-02-01")) == "not_reported"
