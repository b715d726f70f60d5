"""AppTest of the region page over the real sample warehouse."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from app_helpers import ROOT, open_page, texts
from warehouse import formatting as fmt
from warehouse.defs_loader import require_definitions
from warehouse.engine import Engine
from warehouse.periods import parse_as_of

PLAN, MONTH, REGION = "chongqing_2021", "2025-06", "500110"


@pytest.fixture()
def app(sample_warehouse, monkeypatch):
    monkeypatch.setenv("PLANWATCH_WAREHOUSE", str(sample_warehouse))
    monkeypatch.delenv("PLANWATCH_DEFS", raising=False)
    return AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)


def test_region_page_indicators_rank_overdue(app, sample_warehouse):
    engine = Engine(sample_warehouse, require_definitions(ROOT / "indicator_defs.yaml"))
    as_of = parse_as_of(MONTH)
    status = engine.status(REGION, as_of=as_of, plan_id=PLAN)
    composite = engine.rank("50", "composite", as_of=as_of, plan_id=PLAN)
    overdue = engine.overdue(REGION, as_of=as_of)
    at = open_page(app, "pages/region.py", plan=PLAN, region=REGION, month=MONTH, lang="en")
    assert at.title[0].value == "Region detail: 綦江区"
    table = at.dataframe[0].value
    assert len(table) == status.height
    binding = status.filter(status["attribute"] == "binding").height
    assert table["Indicator"].str.startswith("★ ").sum() == binding
    assert table["Indicator"].iloc[:binding].str.startswith("★ ").all()  # binding first
    first = table.iloc[0]
    assert first["Status"][0] in set(fmt.SYMBOLS.values())  # colour never alone: symbol + label
    assert len(first["Trend line"]) >= 2  # sparkline data (the region's actual values)
    charts = at.get("plotly_chart")
    bullet = json.loads(charts[0].proto.spec)
    progress = next(t for t in bullet["data"] if t.get("meta") == "progress")
    assert len(progress["y"]) == status.height
    # composite rank among all of Chongqing's 38 districts and counties (the NBS placeholder 5001 市辖区
    # is seen through, as on the rankings page), not only the 26 under 5001
    mine = composite.filter(composite["region_code"] == REGION).row(0, named=True)
    n = composite.filter(composite["rank"].is_not_null()).height
    assert composite.height == 38
    assert any(m.value == f"Composite rank: {mine['rank']} of {n}" for m in at.metric)
    # overdue list
    page = texts(at)
    if overdue.height:
        assert f"{overdue.height} overdue report{'' if overdue.height == 1 else 's'}" in page
    else:
        assert "No overdue submissions." in page


def test_group_region_has_no_siblings_message_or_rank(app):
    at = open_page(app, "pages/region.py", plan="wansheng_2016", region="group:wansheng", month="2020-12")
    assert not at.exception
    assert at.title[0].value.startswith("地区详情：万盛")
