"""Files that need review too (access policy `files_need_review: true`, issue 15): a file ingested by an operator
(CLI) or uploaded on the data-quality page waits for review like the 填报 form's figures, is approved or returned
through the same review path, and counts only from the approval time. Real files: a private copy of the sample
warehouse, the real CLI, real DuckDB through the engine, the data-quality page in AppTest."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from app_helpers import signed_in_app
from warehouse.access_loader import load_policy_bytes
from warehouse.defs_loader import require_definitions
from warehouse.engine import Engine
from warehouse.paths import default_defs_path
from warehouse.regions import RegionRegistry
from warehouse.review import Actor, status_of
from warehouse.review_files import submit_file
from warehouse.review_store import OPERATOR, ReviewStore
from warehouse.storage import Warehouse

ROOT = Path(__file__).resolve().parent.parent
PERIOD = "2025-Q4"
FILE = ("region_code,indicator_id,period,value,numerator,denominator,note,submitted_by,submitted_at\n"
        "500110,volunteer_share,2025-Q4,,15000,80000,新增志愿服务站,綦江区民政局,2026-01-08\n"
        "500111,volunteer_share,2025-Q4,,9000,60000,,大足区民政局,2026-01-09\n")
POLICY = "version: 1\nfiles_need_review: true\ngrants:\n  - email: review@cq.example.cn\n    role: reviewer\n" \
         "    scopes: [\"5001\"]\n"


@pytest.fixture(scope="module")
def wh(sample_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("files_review") / "wh"
    shutil.copytree(sample_warehouse, target)
    return target


def _cli(monkeypatch, wh: Path, policy: str | None, *args: str):
    from warehouse.cli import _register, app

    _register()
    monkeypatch.setenv("PLANWATCH_WAREHOUSE", str(wh))
    if policy is None:
        monkeypatch.delenv("PLANWATCH_ACCESS", raising=False)
    else:
        path = wh.parent / "access.yaml"
        path.write_text(policy, encoding="utf-8")
        monkeypatch.setenv("PLANWATCH_ACCESS", str(path))
    return CliRunner().invoke(app, list(args))


_ENGINES: dict[Path, Engine] = {}


def _latest(wh: Path, region: str, as_of: datetime | None = None) -> float | None:
    """The figure in force for `region` 2025-Q4 (an engine reads the warehouse snapshot afresh on each call)."""
    if wh not in _ENGINES:
        _ENGINES[wh] = Engine(wh, require_definitions(default_defs_path()))
    hist = _ENGINES[wh].history(region, "volunteer_share", as_of=as_of)
    hist = hist.filter(pl.col("period") == PERIOD).sort("ingested_at")
    return hist["value"][-1] if hist.height else None


def test_policy_option_is_checked_like_the_rest():
    ok = load_policy_bytes(POLICY.encode(), "access.yaml")
    assert ok.ok and ok.policy.files_need_review is True
    assert load_policy_bytes(POLICY.replace("files_need_review: true\n", "").encode(), "a.yaml").policy \
        .files_need_review is False  # the default: files count at ingest
    bad = load_policy_bytes(POLICY.replace("true", '"yes"').encode(), "access.yaml")
    assert [str(p) for p in bad.errors] == [
        'access.yaml:2:20: error: files_need_review: wrong type (expected true or false, found "yes" (text))']
    typo = load_policy_bytes(POLICY.replace("files_need_review", "files_need_reveiw").encode(), "access.yaml")
    assert "access.yaml:2:1:" in str(typo.errors[0]) and "did you mean `files_need_review`?" in str(typo.errors[0])


def test_cli_file_waits_for_review_and_counts_from_approval(wh: Path, tmp_path: Path, monkeypatch):
    defs = require_definitions(default_defs_path())
    store = ReviewStore(Warehouse(wh), defs, RegionRegistry.load(wh / "regions.parquet"))
    src = tmp_path / "f.csv"
    src.write_text(FILE, encoding="utf-8")
    version, before = Warehouse(wh).version(), _latest(wh, "500110")
    assert before is None  # the session sample (today 2025-11-20) has no 2025-Q4 figure yet

    # a backfill cannot go through review, an invalid policy stops everything: exit 2, nothing changed
    out = _cli(monkeypatch, wh, POLICY, "ingest", str(src), "--received-at", "2026-01-09")
    assert out.exit_code == 2 and "cannot go through review" in out.output
    out = _cli(monkeypatch, wh, POLICY.replace("true", "1"), "ingest", str(src))
    assert out.exit_code == 2 and "files_need_review: wrong type" in out.output and "Traceback" not in out.output
    assert Warehouse(wh).version() == version and not store.all()

    out = _cli(monkeypatch, wh, POLICY, "ingest", str(src), "--user", "zhang")
    assert out.exit_code == 0, out.output
    assert "已提交审核，未计入统计 — 2 行，2 份填报" in out.output and "submitted for review, not counted yet" in out.output
    assert Warehouse(wh).version() == version  # nothing entered the table: nothing counts yet
    assert _latest(wh, "500110") == before
    sub = store.find("500110", PERIOD)
    assert status_of(sub) == "submitted" and sub["submitted_by"] == "zhang"
    assert (sub["events"][-1]["action"], sub["events"][-1]["role"], sub["events"][-1]["file"]) == ("submit", OPERATOR, "f.csv")
    assert Warehouse(wh).original_path(sub["events"][-1]["sha256"]) is not None  # the file itself is kept
    # the same file again: nothing changes (a re-run after a kill finishes, never duplicates)
    registry = store.registry
    again = submit_file(Warehouse(wh), src, defs, registry, user="zhang")
    assert again.rows_submitted == 0 and "nothing changed" in again.summary("en")
    assert len(store.find("500110", PERIOD)["events"]) == 1
    # a different file touching a figure that awaits review: refused as a whole, nothing changed
    other = tmp_path / "g.csv"
    other.write_text(FILE.replace("15000", "16000"), encoding="utf-8")
    out = _cli(monkeypatch, wh, POLICY, "ingest", str(other))
    assert out.exit_code == 1 and "already awaiting review" in out.output
    assert store.find("500110", PERIOD)["rows"]["volunteer_share"]["numerator"] == "15000"
    # a file with an error is rejected and logged exactly as without the policy; no submission
    bad = tmp_path / "bad.csv"
    bad.write_text(FILE.replace("9000,60000", "70000,60000").replace("500110,", "500112,"), encoding="utf-8")
    result = submit_file(Warehouse(wh), bad, defs, registry, user="zhang")
    assert result.status == "rejected" and "1 row has errors" in result.message_en
    assert Warehouse(wh).log_entries().filter(pl.col("file_name") == "bad.csv")["status"].to_list() == ["rejected"]
    assert store.find("500112", PERIOD) is None

    # the same review path: approve one (the approval time is the as-of key), return the other with a reason
    t_approve = datetime.now(timezone.utc).replace(microsecond=0)
    store.approve("500110_2025-Q4", Actor("review@cq.example.cn", "reviewer"), now=t_approve)
    assert Warehouse(wh).version() == version + 1
    assert _latest(wh, "500110") == pytest.approx(15000 / 80000 * 100)  # 18.75
    assert _latest(wh, "500110", as_of=t_approve - timedelta(seconds=1)) == before
    batch = _ENGINES[wh].history("500110", "volunteer_share").filter(pl.col("period") == PERIOD) \
        .sort("ingested_at").row(-1, named=True)
    assert batch["submitted_by"] == "綦江区民政局"  # the file's own columns survive review
    assert batch["submitted_at"].replace(tzinfo=timezone.utc) == datetime(2026, 1, 7, 16, tzinfo=timezone.utc)
    assert batch["ingested_at"].replace(tzinfo=timezone.utc) == t_approve
    store.return_rows("500111_2025-Q4", "请核实分母", Actor("li", OPERATOR))
    assert store.find("500111", PERIOD)["rows"]["volunteer_share"]["reason"] == "请核实分母"
    assert _latest(wh, "500111") != pytest.approx(15.0)

    # without the option (no policy at all) a file counts at ingest, as before
    free = tmp_path / "free.csv"
    free.write_text(FILE.replace("500110,", "500113,").replace("500111,", "500114,"), encoding="utf-8")
    out = _cli(monkeypatch, wh, None, "ingest", str(free))
    assert out.exit_code == 0 and Warehouse(wh).version() == version + 2
    assert store.find("500113", PERIOD) is None


def test_upload_page_submits_for_review(wh: Path, tmp_path: Path, monkeypatch):
    policy = tmp_path / "access.yaml"
    policy.write_text((ROOT / "access.example.yaml").read_text(encoding="utf-8")
                      .replace("files_need_review: false", "files_need_review: true"), encoding="utf-8")
    at = signed_in_app(monkeypatch, wh, {"email": "analyst@cq.example.cn", "sub": "a1"}, "pages/data_quality.py",
                       policy=policy, region="50")
    version = Warehouse(wh).version()
    upload = FILE.replace("500110,", "500115,").replace("500111,", "500116,").encode("utf-8")
    at.file_uploader(key="dq_upload").set_value(("bureau.csv", upload, "text/csv")).run()
    assert not at.exception, at.exception
    assert any("须经审核" in str(i.value) for i in at.info)
    assert at.button(key="dq_upload_confirm").label == "提交审核"
    at.button(key="dq_upload_confirm").click().run()
    assert not at.exception, at.exception
    shown = " ".join(str(s.value) for s in at.success).replace("\\", "")
    assert "已提交审核，未计入统计" in shown and "bureau.csv" in shown
    assert Warehouse(wh).version() == version  # not counted
    sub = ReviewStore(Warehouse(wh), require_definitions(default_defs_path()),
                      RegionRegistry.load(wh / "regions.parquet")).find("500115", PERIOD)
    assert status_of(sub) == "submitted"
    assert (sub["submitted_by"], sub["events"][-1]["role"]) == ("analyst@cq.example.cn", "analyst")
