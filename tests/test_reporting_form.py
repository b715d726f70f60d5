"""The 填报 form's contents and checks, the round's progress, and --demo-user's guard (issue 15)."""

from __future__ import annotations

import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest

from warehouse import reporting_form as rf
from warehouse.access import Identity, Scope
from warehouse.defs_loader import require_definitions
from warehouse.engine import Engine
from warehouse.paths import default_defs_path
from warehouse.review import Actor
from warehouse.review_store import ReviewStore
from warehouse.serve import check_demo_user, demo_user_option
from warehouse.storage import Warehouse

NOW = datetime(2026, 1, 25, tzinfo=timezone.utc)


@pytest.fixture()
def engine(sample_warehouse: Path, tmp_path: Path) -> Engine:
    target = tmp_path / "wh"
    shutil.copytree(sample_warehouse, target)
    return Engine(target, require_definitions(default_defs_path()))


def test_due_lines_follow_frequency_levels_and_targets(engine: Engine):
    quarter = {ln.indicator_id: ln for ln in rf.due_lines(engine, "500110", "2025-Q4")}
    year = {ln.indicator_id for ln in rf.due_lines(engine, "500110", "2025")}
    defs = engine.defs
    assert quarter and year and not set(quarter) & year
    assert all(defs.indicator(i).frequency.value == "quarterly" for i in quarter)
    assert all(defs.indicator(i).frequency.value == "annual" for i in year)
    line = quarter["volunteer_share"]
    assert line.ratio and line.scale == 100 and line.numerator_zh == "注册志愿者人数" and line.last_period == "2025-Q3"
    assert line.last_value is not None and line.target == "22"
    # county-only indicators are not asked of a township; the city level gets no county-only ones either
    township = {ln.indicator_id for ln in rf.due_lines(engine, "500110100", "2025")}
    assert "county_health_subcenters" not in township
    assert rf.previous_period("2025-Q1") == "2024-Q4" and rf.previous_period("2025-01") == "2024-12"
    assert rf.previous_period("2025") == "2024"
    assert rf.open_periods(NOW)[:2] == ["2025", "2025-Q4"]


def test_checks_are_ingests_and_the_change_rule(engine: Engine):
    store = ReviewStore(engine.warehouse, engine.defs, engine.registry)
    lines = rf.due_lines(engine, "500110", "2025-Q4")
    found = rf.check(store, "500110", "2025-Q4", {
        "township_elderly_care_coverage": {"numerator": "25", "denominator": "20"},
        "volunteer_share": {"numerator": "abc", "denominator": "100"},
        "home_elderly_care_coverage": {"numerator": "", "denominator": ""},  # empty: a draft may be incomplete
    }, "office", lines=lines, now=NOW)
    assert set(found) == {"township_elderly_care_coverage", "volunteer_share"}
    assert "分子大于分母" in found["township_elderly_care_coverage"][0]["zh"]
    assert "分子不是数字" in found["volunteer_share"][0]["zh"]
    last = {ln.indicator_id: ln.last_value for ln in lines}["volunteer_share"]
    big = {"volunteer_share": {"numerator": str(round(last * 2 * 100)), "denominator": "10000"}}
    assert "异常波动说明" in rf.check(store, "500110", "2025-Q4", big, "office", lines=lines, now=NOW)["volunteer_share"][0]["zh"]
    big["volunteer_share"]["note"] = "新建小区入住"
    assert rf.check(store, "500110", "2025-Q4", big, "office", lines=lines, now=NOW) == {}


def test_progress_of_a_round(engine: Engine):
    store = ReviewStore(engine.warehouse, engine.defs, engine.registry)
    office = Identity("o@x", "submitter", Scope(("500110",)))
    store.save("500110", "2025-Q4", {"volunteer_share": {"numerator": "19", "denominator": "100"}},
               Actor("o@x", "submitter"), identity=office, submit=True, now=NOW)
    store.save("500111", "2025-Q4", {"volunteer_share": {"numerator": "19", "denominator": "100"}},
               Actor("p@x", "submitter"), now=NOW)
    early = datetime(2026, 1, 5, tzinfo=timezone.utc)  # before the due time (period end + 20 days)
    frame = rf.progress(store, engine, ["500110", "500111", "500112"], ["2025-Q4"], now=early)
    status = dict(zip(frame["region_code"], frame["status"]))
    assert status == {"500110": "submitted", "500111": "draft", "500112": "not_started"}
    assert dict(zip(frame["region_code"], frame["waiting_on"]))["500110"] == "reviewer"
    # no browser submission, but the sample's files delivered every due figure of 2025-Q2: counts as approved
    files = rf.progress(store, engine, ["500112"], ["2025-Q2"], now=NOW).row(0, named=True)
    assert files["approved"] > 0
    assert files["status"] == ("approved" if files["approved"] == files["due"] else "overdue")
    late = rf.progress(store, engine, ["500110", "500111"], ["2025-Q4"], now=datetime(2026, 3, 1, tzinfo=timezone.utc))
    assert dict(zip(late["region_code"], late["status"])) == {"500110": "submitted", "500111": "overdue"}


def test_demo_user_is_for_this_machine_only(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("STREAMLIT_SERVER_ADDRESS", raising=False)
    assert demo_user_option(["--demo-user", "reviewer:5001", "--server.port", "1"]) == ("reviewer:5001", ["--server.port", "1"])
    assert demo_user_option(["--demo-user=submitter:500110"]) == ("submitter:500110", [])
    assert check_demo_user("submitter:500110", []) is None
    assert check_demo_user("submitter:500110", ["--server.address", "localhost"]) is None
    assert "refused" in check_demo_user("submitter:500110", ["--server.address", "0.0.0.0"])
    assert "refused" in check_demo_user("submitter:500110", ["--server.address=192.168.1.5"])
    monkeypatch.setenv("STREAMLIT_SERVER_ADDRESS", "10.0.0.2")
    assert "refused" in check_demo_user("submitter:500110", [])
    monkeypatch.delenv("STREAMLIT_SERVER_ADDRESS")
    for bad in ("admin:50", "boss:50", "submitter", "submitter:", "submitter:50x"):
        assert check_demo_user(bad, []) is not None, bad
