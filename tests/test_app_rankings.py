"""AppTest of the rankings page on the sample warehouse: the league table is the engine's ranking, with rank
change arrows, indicators behind, per-indicator ranks and both downloads."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from warehouse.defs_loader import require_definitions
from warehouse.engine import Engine
from warehouse.periods import parse_as_of

ROOT = Path(__file__).resolve().parent.parent
DEFS = ROOT / "indicator_defs.yaml"


def _app(monkeypatch, warehouse: Path, **params: str) -> AppTest:
    monkeypatch.setenv("PLANWATCH_WAREHOUSE", str(warehouse))
    monkeypatch.setenv("PLANWATCH_DEFS", str(DEFS))
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    at.switch_page("pages/rankings.py").run()
    assert not at.exception, at.exception
    return at


@pytest.fixture(scope="module")
def engine(sample_warehouse):
    return Engine(sample_warehouse, require_definitions(DEFS))


@pytest.fixture(scope="module")
def chongqing(engine):
    return engine.rank("50", "composite", as_of=parse_as_of("2025-06"), plan_id="chongqing_2021")


def test_league_table_is_the_engine_ranking(sample_warehouse, monkeypatch, engine, chongqing):
    at = _app(monkeypatch, sample_warehouse, plan="chongqing_2021", region="50", month="2025-06")
    assert at.title[0].value == "排名"
    table = at.dataframe[0].value
    assert list(table.columns[:6]) == ["排名", "较上月", "地区", "代码", "综合得分", "滞后指标数"]
    ranked = chongqing.filter(chongqing["rank"].is_not_null()).sort("rank")
    assert len(table) == chongqing.height == 38  # Chongqing's districts and counties (pseudo-cities seen through)
    assert table["代码"].tolist()[: ranked.height] == ranked["region_code"].to_list()
    assert table["排名"].tolist()[: ranked.height] == ranked["rank"].to_list()
    assert table["滞后指标数"].tolist()[: ranked.height] == ranked["n_behind"].to_list()
    for row, eng in zip(table.head(ranked.height).itertuples(index=False), ranked.iter_rows(named=True)):
        moved = None if eng["previous_rank"] is None else eng["previous_rank"] - eng["rank"]
        expected = "—" if moved is None else ("=" if moved == 0 else (f"▲{moved}" if moved > 0 else f"▼{-moved}"))
        assert row[1] == expected
        assert row[4] == pytest.approx(round(eng["score"], 3))
    # one rank column per plan indicator the engine can rank among the districts (province-wide totals
    # have no per-district rank), holding the engine's per-indicator ranks (checked for the first few)
    defs = require_definitions(DEFS)
    indicator_cols = [c for c in table.columns if c.endswith("（排名）")]
    plan_indicators = list(dict.fromkeys(t.indicator for t in defs.plan("chongqing_2021").targets))
    assert 0 < len(indicator_cols) <= len(plan_indicators)
    checked = 0
    for ind in plan_indicators[:6]:
        frame = engine.rank("50", ind, as_of=parse_as_of("2025-06"), plan_id="chongqing_2021")
        name = defs.indicator(ind).name.zh
        header = (name if len(name) <= 14 else name[:13] + "…") + "（排名）"
        shown = [c for c in indicator_cols if c == header or c.startswith(f"{name[:13]}… [{ind}]")]
        assert bool(shown) == (frame.height > 0), ind
        if frame.height:
            expected = dict(zip(frame["region_code"], frame["rank"]))
            for code, rank in zip(table["代码"], table[shown[0]]):
                assert (None if rank != rank else int(rank)) == expected.get(code)
            checked += 1
    assert checked > 0
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["参与排名地区"] == str(ranked.height)
    assert metrics["第一名"] == ranked["region_name"][0]
    assert metrics["末位"] == ranked["region_name"][-1]
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["下载 Excel（XLSX）", "下载 CSV"]
    assert at.get("plotly_chart")


def test_english_and_empty_state(sample_warehouse, monkeypatch):
    at = _app(monkeypatch, sample_warehouse, plan="chongqing_2021", region="50", month="2025-06", lang="en")
    assert at.title[0].value == "Rankings"
    assert list(at.dataframe[0].value.columns[:6]) == ["Rank", "vs last month", "Region", "Code", "Composite score",
                                                       "Behind"]
    assert [b.proto.label for b in at.get("download_button")] == ["Download Excel (XLSX)", "Download CSV"]
    # a township has no sub-regions with data: the page says so instead of drawing an empty table
    at = _app(monkeypatch, sample_warehouse, plan="chongqing_2021", region="500101001", month="2025-06")
    assert not at.dataframe
    assert any("无法排名" in str(i.value) for i in at.info)
