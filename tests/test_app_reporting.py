"""AppTest of the 填报 (pages/reporting.py) and 审核 (pages/review.py) pages, signed in through AppTest's `user`
under access.example.yaml on a private copy of the sample warehouse: the form lists the due indicators, an
impossible value shows ingest's error and disables submit, save draft and submit; the reviewer sees what waits,
returns with a reason and approves; a viewer, a person without a grant and crafted links see no figures; zh and en."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app_helpers import signed_in_app
from warehouse import reporting_form as rf
from warehouse.defs_loader import require_definitions
from warehouse.engine import Engine
from warehouse.regions import RegionRegistry
from warehouse.review import Actor, status_of
from warehouse.review_store import ReviewStore
from warehouse.storage import Warehouse

ROOT = Path(__file__).resolve().parent.parent
DEFS = ROOT / "indicator_defs.yaml"
OFFICE = {"email": "qijiang@cq.example.cn", "sub": "office"}
CITY = {"email": "review@cq.example.cn", "sub": "city"}
LEADER = {"email": "leader@cq.example.cn", "sub": "leader"}
PERIOD = "2025-Q4"
ELDERLY = "township_elderly_care_coverage"


@pytest.fixture(scope="module")
def wh(sample_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("app_reporting") / "wh"
    shutil.copytree(sample_warehouse, target)
    return target


def _store(wh: Path) -> ReviewStore:
    return ReviewStore(Warehouse(wh), require_definitions(DEFS), RegionRegistry.load(wh / "regions.parquet"))


def _app(monkeypatch, wh: Path, user: dict | None, page: str, **params: str) -> AppTest:
    return signed_in_app(monkeypatch, wh, user, page, **params)


def _shown(elements) -> str:
    return re.sub(r"\\(.)", r"\1", " ".join(str(e.value) for e in elements)).replace("\u200b", "")


def _field(at: AppTest, indicator: str, name: str):
    return at.text_input(key=f"rep_500110_{PERIOD}_{indicator}_{name}")


def test_office_fills_checks_saves_and_submits(wh: Path, monkeypatch):
    at = _app(monkeypatch, wh, OFFICE, "pages/reporting.py")
    assert at.title[0].value == "数据填报"
    assert at.selectbox(key="rep_region").value == "500110"
    assert all(o.endswith("（500110）") or "500110" in o for o in at.selectbox(key="rep_region").options)
    at.selectbox(key="rep_period").set_value(PERIOD).run()
    # exactly the indicators due from 綦江区 for 2025-Q4 (reporting_form.due_lines), one form row each
    due = {ln.indicator_id for ln in rf.due_lines(Engine(wh, require_definitions(DEFS)), "500110", PERIOD)}
    keys = {m.group(1) for t in at.text_input
            if (m := re.fullmatch(rf"rep_500110_{PERIOD}_(\w+?)_(?:value|numerator|denominator|note)", t.key))}
    assert ELDERLY in due and keys == due
    assert _field(at, ELDERLY, "numerator").label.startswith("分子：")

    # an impossible value: ingest's message under the row, the count, submit disabled (the note explains the
    # change from last period, so only the impossible value is wrong)
    _field(at, ELDERLY, "note").input("新建两所敬老院").run()
    _field(at, ELDERLY, "numerator").input("25").run()
    _field(at, ELDERLY, "denominator").input("20").run()
    assert "分子大于分母（25 > 20）" in _shown(at.error)
    assert "有 1 项需要修改，修改后才能提交：乡镇（街道）具备综合功能的养老服务机构覆盖率" in _shown(at.error)
    assert at.button(key="rep_submit").disabled
    _field(at, ELDERLY, "numerator").input("17").run()
    assert not at.error and not at.button(key="rep_submit").disabled
    at.button(key="rep_save").click().run()
    assert "已保存草稿" in _shown(at.success)
    assert status_of(_store(wh).find("500110", PERIOD)) == "draft"
    at.button(key="rep_submit").click().run()
    assert not at.exception, at.exception
    assert "已提交，等待上级审核" in _shown(at.success)
    sub = _store(wh).find("500110", PERIOD)
    assert status_of(sub) == "submitted" and sub["rows"][ELDERLY]["numerator"] == "17"
    assert "待审核（第 1 次提交）" in _shown(at.caption) and _field(at, ELDERLY, "numerator").disabled


def test_reviewer_returns_with_reason_and_approves(wh: Path, monkeypatch):
    store = _store(wh)
    for code, num in (("500111", "9000"), ("500112", "12000")):
        store.save(code, PERIOD, {"volunteer_share": {"numerator": num, "denominator": "60000", "note": "首次"}},
                   Actor(f"office-{code}", "submitter"), submit=True)
    store.save("510104", PERIOD, {"volunteer_share": {"numerator": "1", "denominator": "2"}},
               Actor("office-510104", "submitter"), submit=True)  # Sichuan: outside the city's scope
    at = _app(monkeypatch, wh, CITY, "pages/review.py")
    assert at.title[0].value == "逐级审核"
    options = at.selectbox(key="rv_pick").options
    assert any("500111_2025-Q4" in o for o in options) and not any("510104" in o for o in options)
    at.selectbox(key="rv_pick").set_value("500111_2025-Q4").run()
    table = at.table[0].value
    assert list(table.columns) == ["指标", "本期数值", "分子/分母", "上期", "变化", "填报说明", "状态"]
    assert table.iloc[0]["本期数值"] == "15" and table.iloc[0]["分子/分母"] == "9000 / 60000"
    assert table.iloc[0]["填报说明"] == "首次" and table.iloc[0]["状态"] == "待审核"

    at.button(key="rv_return").click().run()  # a return needs a reason: refused, nothing changed
    assert "退回必须写明原因" in _shown(at.error)
    assert status_of(store.get("500111_2025-Q4")) == "submitted"
    at.text_input(key="rv_reason_500111_2025-Q4").input("分母与台账不符").run()
    at.button(key="rv_return").click().run()
    assert "已退回填报单位" in _shown(at.success)
    assert store.get("500111_2025-Q4")["rows"]["volunteer_share"]["reason"] == "分母与台账不符"

    version = Warehouse(wh).version()
    at.selectbox(key="rv_pick").set_value("500112_2025-Q4").run()
    at.button(key="rv_approve").click().run()
    assert not at.exception, at.exception
    assert "已审核通过并入库" in _shown(at.success)
    assert status_of(store.get("500112_2025-Q4")) == "approved" and Warehouse(wh).version() == version + 1
    assert store.get("500112_2025-Q4")["events"][-1]["user"] == "review@cq.example.cn"


def test_english(wh: Path, monkeypatch):
    at = _app(monkeypatch, wh, OFFICE, "pages/reporting.py", lang="en")
    assert at.title[0].value == "Report figures"
    at.selectbox(key="rep_period").set_value("2025-Q3").run()
    at.text_input(key=f"rep_500110_2025-Q3_{ELDERLY}_note").input("checked").run()
    field = at.text_input(key=f"rep_500110_2025-Q3_{ELDERLY}_numerator")
    assert field.label.startswith("Numerator:")
    field.input("30").run()
    at.text_input(key=f"rep_500110_2025-Q3_{ELDERLY}_denominator").input("20").run()
    assert "numerator is greater than the denominator" in _shown(at.error)
    assert "1 row needs correcting before you can submit: Coverage of townships" in _shown(at.error)
    assert "Target (2025): ≥100" in _shown(at.caption)  # the number, not the plan's Chinese words
    assert [b.label for b in at.button if b.key in ("rep_save", "rep_submit")] == ["Save draft", "Submit for review"]
    _store(wh).save("500113", PERIOD, {"volunteer_share": {"numerator": "3", "denominator": "10", "note": "n"}},
                    Actor("office-500113", "submitter"), submit=True)
    at = _app(monkeypatch, wh, CITY, "pages/review.py", lang="en")
    assert at.title[0].value == "Review submissions"
    assert [b.label for b in at.button if b.key in ("rv_approve", "rv_return")] == ["Approve", "Return"]
    assert "Indicator" in at.table[0].value.columns


@pytest.mark.parametrize("user,page,message", [
    (LEADER, "pages/reporting.py", "您的角色不能填报"),
    (LEADER, "pages/review.py", "您的角色不能审核"),
    (OFFICE, "pages/review.py", "您的角色不能审核"),
    (CITY, "pages/reporting.py", "您的角色不能填报"),
])
def test_roles_without_the_action_see_no_figures(wh: Path, monkeypatch, user, page, message):
    at = _app(monkeypatch, wh, user, page)
    assert message in _shown(at.info)
    assert not at.text_input and not at.table and not at.get("arrow_data_frame")
    assert not [b for b in at.button if b.key and b.key.startswith(("rep_", "rv_"))]


def test_no_grant_and_crafted_links(wh: Path, monkeypatch):
    at = _app(monkeypatch, wh, {"email": "x@elsewhere.example", "sub": "x"}, "pages/reporting.py")
    assert "没有访问权限" in _shown(at.error) and not at.text_input and not at.selectbox
    # a link naming a region outside the office's scope: the picker still offers only its own regions
    at = _app(monkeypatch, wh, OFFICE, "pages/reporting.py", region="500101", plan="chongqing_2021")
    assert all("500110" in o for o in at.selectbox(key="rep_region").options)
    assert not any("500101" in t.key for t in at.text_input)
    # junk in every parameter: no exception, both pages still work
    junk = {"region": "../../etc/passwd", "plan": "<b>x</b>", "lang": "xx", "month": "9999-99", "as_of": "zzz",
            "indicator": "'; DROP TABLE x; --"}
    for user, page in ((OFFICE, "pages/reporting.py"), (CITY, "pages/review.py")):
        at = _app(monkeypatch, wh, user, page, **junk)
        assert at.title[0].value in ("数据填报", "逐级审核")
