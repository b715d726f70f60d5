"""Review of browser submissions (issue 15): validation like a file, draft/submit/return/resubmit/approve,
what counts (approved rows only, from the approval time), scope rules, the CLI, and SIGKILL during submit and
approve. Real files: a copy of the sample warehouse, real DuckDB through the engine."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from warehouse.access import Identity, Scope
from warehouse.defs_loader import require_definitions
from warehouse.engine import Engine
from warehouse.paths import default_defs_path
from warehouse.regions import RegionRegistry
from warehouse.review import Actor, ReviewError, status_of
from warehouse.review_store import OPERATOR, ReviewStore
from warehouse.storage import Warehouse

REPO = Path(__file__).resolve().parent.parent
REGION, PERIOD = "500110", "2025-Q4"
T_SUBMIT = datetime(2026, 1, 10, 2, 0, tzinfo=timezone.utc)
OFFICE = Identity("qijiang@cq.example.cn", "submitter", Scope(("500110",)))
CITY = Identity("city@cq.example.cn", "reviewer", Scope(("5001",)))
GOOD = {"township_elderly_care_coverage": {"numerator": "17", "denominator": "20"},
        "volunteer_share": {"numerator": "15000", "denominator": "80000", "note": "新增志愿服务站"}}


@pytest.fixture()
def wh(sample_warehouse: Path, tmp_path: Path) -> Path:
    target = tmp_path / "wh"
    shutil.copytree(sample_warehouse, target)
    return target


@pytest.fixture()
def store(wh: Path) -> ReviewStore:
    defs = require_definitions(default_defs_path())
    return ReviewStore(Warehouse(wh), defs, RegionRegistry.load(wh / "regions.parquet"))


def _actor(identity: Identity) -> Actor:
    return Actor(identity.label, identity.role)


def _value(wh: Path, indicator: str, as_of: datetime | None) -> float | None:
    engine = Engine(wh, require_definitions(default_defs_path()))
    hist = engine.history(REGION, indicator, as_of=as_of).filter(pl.col("period") == PERIOD)
    return hist["value"][-1] if hist.height else None


def test_a_full_round_counts_only_after_approval(store: ReviewStore, wh: Path):
    rows_before = Warehouse(wh).snapshot().rows
    draft = store.save(REGION, PERIOD, {"township_elderly_care_coverage": {"numerator": "17"}},
                       _actor(OFFICE), identity=OFFICE, now=T_SUBMIT)
    assert status_of(draft) == "draft"
    # an impossible value: more townships with an institution than townships -> refused, nothing changes
    bad = dict(GOOD, township_elderly_care_coverage={"numerator": "25", "denominator": "20"})
    with pytest.raises(ReviewError) as err:
        store.save(REGION, PERIOD, bad, _actor(OFFICE), identity=OFFICE, submit=True, now=T_SUBMIT)
    assert "分子大于分母" in err.value.zh and "numerator is greater" in err.value.en
    assert status_of(store.find(REGION, PERIOD)) == "draft"

    sub = store.save(REGION, PERIOD, GOOD, _actor(OFFICE), identity=OFFICE, submit=True, now=T_SUBMIT)
    assert status_of(sub) == "submitted" and sub["version"] == 1
    assert Warehouse(wh).snapshot().rows == rows_before  # awaiting review: not in the warehouse table
    assert _value(wh, "volunteer_share", None) is None

    t_return = T_SUBMIT + timedelta(hours=3)
    sub = store.return_rows(sub["id"], "志愿者人数与民政台账不符，请核实", _actor(CITY), identity=CITY,
                            indicators=["volunteer_share"], now=t_return)
    assert sub["rows"]["volunteer_share"]["state"] == "returned"
    assert sub["rows"]["volunteer_share"]["reason"] == "志愿者人数与民政台账不符，请核实"
    assert status_of(sub) == "submitted"  # the other row still waits
    with pytest.raises(ReviewError):  # a submitted row cannot be edited
        store.save(REGION, PERIOD, {"township_elderly_care_coverage": {"value": "80"}}, _actor(OFFICE), identity=OFFICE)

    t_resubmit = T_SUBMIT + timedelta(days=1)
    corrected = {"volunteer_share": {"numerator": "14000", "denominator": "80000", "note": "按民政台账更正"}}
    sub = store.save(REGION, PERIOD, corrected, _actor(OFFICE), identity=OFFICE, submit=True, now=t_resubmit)
    assert sub["version"] == 2 and sub["rows"]["volunteer_share"]["state"] == "submitted"

    t_approve = T_SUBMIT + timedelta(days=2)
    sub = store.approve(sub["id"], _actor(CITY), identity=CITY, now=t_approve)
    assert status_of(sub) == "approved"
    assert [e["action"] for e in sub["events"]] == ["save_draft", "submit", "return", "submit", "approving", "approve"]
    assert all(e["user"] and e["role"] and e["at"] for e in sub["events"])
    # counts from the approval time on, with the corrected figure (14000 / 80000 × 100 = 17.5)
    assert _value(wh, "volunteer_share", None) == pytest.approx(17.5)
    assert _value(wh, "township_elderly_care_coverage", None) == pytest.approx(85.0)
    assert _value(wh, "volunteer_share", t_approve - timedelta(seconds=1)) is None
    from warehouse.review import history

    trail = history(store.all(), region_code=REGION, indicator_id="volunteer_share")
    assert [(e["action"], e["user"]) for e in trail] == [
        ("submit", OFFICE.label), ("return", CITY.label), ("submit", OFFICE.label), ("approving", CITY.label),
        ("approve", CITY.label)]
    assert trail[1]["reason"] == "志愿者人数与民政台账不符，请核实"
    log = Warehouse(wh).log_entries().filter(pl.col("user") == CITY.label)
    assert log.height == 1 and log["role"][0] == "reviewer" and log["status"][0] == "accepted"
    batch = Warehouse(wh).snapshot().scan().filter(pl.col("source_file").str.starts_with("500110_2025-Q4")).collect()
    assert set(batch["submitted_by"].to_list()) == {OFFICE.label}
    assert batch["ingested_at"].unique().to_list() == [t_approve.replace(tzinfo=None)]


def test_scope_rules(store: ReviewStore):
    with pytest.raises(ReviewError, match="500111"):
        store.save("500111", PERIOD, GOOD, _actor(OFFICE), identity=OFFICE, now=T_SUBMIT)
    viewer = Identity("v@x", "viewer", Scope(("500110",)))
    with pytest.raises(ReviewError):
        store.save(REGION, PERIOD, GOOD, _actor(viewer), identity=viewer, now=T_SUBMIT)
    sub = store.save(REGION, PERIOD, GOOD, _actor(OFFICE), identity=OFFICE, submit=True, now=T_SUBMIT)
    county_reviewer = Identity("county@cq", "reviewer", Scope(("500110",)))  # its own region: not its to review
    other_city = Identity("sc@sc", "reviewer", Scope(("5101",)))
    for who in (county_reviewer, other_city, OFFICE):
        with pytest.raises(ReviewError):
            store.approve(sub["id"], _actor(who), identity=who, now=T_SUBMIT + timedelta(hours=1))
    self_review = Identity(OFFICE.label, "reviewer", Scope(("5001",)))
    with pytest.raises(ReviewError, match="own submission|自己"):
        store.approve(sub["id"], _actor(self_review), identity=self_review, now=T_SUBMIT + timedelta(hours=1))
    with pytest.raises(ReviewError, match="reason"):
        store.return_rows(sub["id"], "  ", _actor(CITY), identity=CITY)
    assert status_of(store.get(sub["id"])) == "submitted"
    assert [s["id"] for s in store.list(identity=CITY)] == [sub["id"]]
    assert store.list(identity=other_city) == []
    pending = store.pending_rows(CITY)
    assert pending.height == 2 and set(pending["indicator_id"]) == set(GOOD)
    assert store.pending_rows(other_city).height == 0


def test_large_change_needs_an_explanation(store: ReviewStore):
    no_note = {"volunteer_share": {"numerator": "15000", "denominator": "80000"}}  # 18.75 vs 10 last time
    with pytest.raises(ReviewError, match="volunteer_share"):
        store.save(REGION, PERIOD, no_note, _actor(OFFICE), identity=OFFICE, submit=True, now=T_SUBMIT,
                   last_values={"volunteer_share": 10.0})
    sub = store.save(REGION, PERIOD, no_note, _actor(OFFICE), identity=OFFICE, submit=True, now=T_SUBMIT,
                     last_values={"volunteer_share": 18.0})  # +4 %: no explanation needed
    assert status_of(sub) == "submitted"


def test_cli(store: ReviewStore, wh: Path, monkeypatch: pytest.MonkeyPatch):
    from warehouse.cli import _register, app

    _register()
    monkeypatch.setenv("PLANWATCH_WAREHOUSE", str(wh))
    sub = store.save(REGION, PERIOD, GOOD, _actor(OFFICE), identity=OFFICE, submit=True, now=T_SUBMIT)
    run = CliRunner().invoke
    out = run(app, ["review", "list", "--region", "5001", "--status", "submitted"])
    assert out.exit_code == 0 and sub["id"] in out.output and "2 awaiting review" in out.output
    out = run(app, ["review", "approve", sub["id"]])
    assert out.exit_code != 0 and "--as" in out.output  # the operator's name is required
    out = run(app, ["review", "list", "--region", "50x"])
    assert out.exit_code == 2 and "Traceback" not in out.output
    out = run(app, ["review", "approve", "nope_2025", "--as", "zhang"])
    assert out.exit_code == 1 and "no submission nope_2025" in out.output
    out = run(app, ["review", "approve", "../../etc/passwd", "--as", "zhang"])
    assert out.exit_code == 1 and "not a submission id" in out.output
    out = run(app, ["review", "return", sub["id"], "--reason", "请附说明", "--row", "volunteer_share", "--as", "zhang"])
    assert out.exit_code == 0, out.output
    out = run(app, ["review", "approve", sub["id"], "--row", "volunteer_share", "--as", "zhang"])
    assert out.exit_code == 1 and "not awaiting review" in out.output
    out = run(app, ["review", "approve", sub["id"], "--as", "zhang"])
    assert out.exit_code == 0 and "approved and stored" in out.output, out.output
    shown = run(app, ["review", "show", sub["id"]]).output
    assert "zhang (operator)" in shown and "return" in shown and "approve" in shown
    assert store.get(sub["id"])["rows"]["volunteer_share"]["state"] == "returned"


# ---- SIGKILL: a killed submit or approve leaves the old or the new state ----------------------------------

WORKER = r"""
import sys
from datetime import datetime, timedelta, timezone
from warehouse.defs_loader import require_definitions
from warehouse.paths import default_defs_path
from warehouse.regions import RegionRegistry
from warehouse.review import Actor, status_of
from warehouse.review_store import ReviewStore
from warehouse.storage import Warehouse
wh = Warehouse(sys.argv[1]); mode = sys.argv[2]
store = ReviewStore(wh, require_definitions(default_defs_path()), RegionRegistry.load(wh.regions_path))
codes = [c for c in store.registry.frame.filter(store.registry.frame["parent"] == "5001")["code"].to_list()]
t0 = datetime(2026, 1, 10, tzinfo=timezone.utc)
print("ready", flush=True)
for i, code in enumerate(codes):
    sid = code + "_2025-Q4"
    now = t0 + timedelta(minutes=i)
    if mode == "submit":
        store.save(code, "2025-Q4", {"volunteer_share": {"numerator": str(100 + i), "denominator": "1000"}},
                   Actor("office-" + code, "submitter"), submit=True, now=now)
    elif status_of(store.get(sid)) == "submitted":
        store.approve(sid, Actor("city", "operator"), now=now)
    print("done", sid, flush=True)
"""


def _run_and_kill(wh: Path, mode: str, after_done: int, delay: float) -> list[str]:
    """Run the worker and SIGKILL it `delay` s after its `after_done`-th "done" line: the kill lands inside the
    next action on a quiet or a loaded machine alike (a fixed delay from start missed the round under load)."""
    proc = subprocess.Popen([sys.executable, "-c", WORKER, str(wh), mode], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout.readline().strip() == "ready"
    done = []
    while len(done) < after_done:
        line = proc.stdout.readline()
        assert line, "the worker ended before the kill"
        if line.startswith("done"):
            done.append(line.split()[1])
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    out, _ = proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    return done + [line.split()[1] for line in out.splitlines() if line.startswith("done")]


def test_sigkill_during_submit_and_approve(store: ReviewStore, wh: Path):
    done = _run_and_kill(wh, "submit", 2, 0.05)
    for path in (wh / "review" / "submissions").glob("*.json"):
        sub = json.loads(path.read_text(encoding="utf-8"))  # every file complete
        assert status_of(sub) == "submitted" and sub["version"] == 1
    n_submitted = len(list((wh / "review" / "submissions").glob("*.json")))
    assert n_submitted >= len(done)
    # finish the submits (a fresh process takes the lock: the killed one's temp files are tidied)
    codes = store.registry.frame.filter(pl.col("parent") == "5001")["code"].to_list()
    for i, code in enumerate(codes):
        if store.find(code, PERIOD) is None:
            store.save(code, PERIOD, {"volunteer_share": {"numerator": str(100 + i), "denominator": "1000"}},
                       Actor("office-" + code, "submitter"), submit=True, now=T_SUBMIT)
    killed_mid_round = 0
    for extra, delay in ((2, 0.02), (2, 0.15)):
        already = sum(status_of(store.find(code, PERIOD)) == "approved" for code in codes)
        done = _run_and_kill(wh, "approve", already + extra, delay)
        killed_mid_round += 0 < len(done) < len(codes)
        stored = (Warehouse(wh).snapshot().scan().filter(pl.col("source_file").str.ends_with(".csv")
                  & pl.col("source_file").str.contains("_2025-Q4-v")).select("region_code").collect())
        stored_codes = set(stored["region_code"].to_list())
        for code in codes:
            sub = store.find(code, PERIOD)
            approved = status_of(sub) == "approved"
            assert approved == (code in stored_codes), code  # old state or new state, never half
            assert stored["region_code"].to_list().count(code) <= 1
    assert killed_mid_round  # the kill landed while approvals were being made
    # a later writer settles what a killed approval left and carries on
    for code in codes:
        sub = store.find(code, PERIOD)
        if status_of(sub) == "submitted":
            store.approve(sub["id"], Actor("city", OPERATOR))
    assert all(status_of(store.find(c, PERIOD)) == "approved" for c in codes)
    assert Warehouse(wh).check() == []
