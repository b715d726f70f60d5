"""Tables as a leader sees them (warehouse/tables.py) and the phone helpers (warehouse/narrow.py)."""

from __future__ import annotations

import math

import polars as pl

from warehouse import narrow, tables


def test_no_blanks_turns_every_missing_cell_into_a_dash_and_keeps_full_columns_numeric():
    frame = pl.DataFrame({
        "rank": [1, None, 3],
        "score": [0.871, math.nan, None],
        "name": ["北京市", None, "None"],
        "count": [4, 5, 6],
        "spark": [[1.0, 2.0], None, [3.0]],
    })
    out = tables.no_blanks(frame, keep=("spark",))
    assert out["rank"].to_list() == ["1", "—", "3"]
    assert out["score"].to_list() == ["0.871", "—", "—"]
    assert out["name"].to_list() == ["北京市", "—", "—"]
    assert out["count"].dtype == pl.Int64 and out["count"].to_list() == [4, 5, 6]  # no gaps: stays a number
    assert out["spark"].to_list() == [[1.0, 2.0], None, [3.0]]  # drawn by Streamlit itself: left alone
    text = " ".join(str(v) for row in out.drop("spark").iter_rows() for v in row)
    assert "None" not in text and "nan" not in text


def test_outside_text_that_looks_like_a_formula_is_neutralised_for_the_toolbar_download():
    """Streamlit's table toolbar exports cells as shown: a submitter's note or a registry name starting like a
    formula gets a leading ' (warehouse/safe_cells.py); planwatch's own cells ("=" for no change, "-3.2%") do not."""
    from warehouse import views

    history = pl.DataFrame({
        "period": ["2025"], "value": [1.0], "submitted_at": [None], "ingested_at": [None],
        "submitted_by": ["@evil"], "source_file": ["=cmd|' /C calc'!A0.csv"], "source_row": [2],
        "note": ['=HYPERLINK("http://x.example","点击")'], "is_current": [True]})
    shown = tables.neutralised(views.history_table(history, "%", "zh"))
    assert shown["备注"].to_list() == ["'=HYPERLINK(\"http://x.example\",\"点击\")"]
    assert shown["来源文件"].to_list() == ["'=cmd|' /C calc'!A0.csv"] and shown["报送人"].to_list() == ["'@evil"]
    league = pl.DataFrame({"Region": ["+SUM(A1)", "北京市"], "vs last month": ["=", "▲2"], "Gap": ["-3.2%", "1"],
                           "Indicator": ["-12.5", "x"]})
    out = tables.neutralised(league)
    assert out["Region"].to_list() == ["'+SUM(A1)", "北京市"]
    assert out["vs last month"].to_list() == ["=", "▲2"] and out["Gap"].to_list() == ["-3.2%", "1"]
    assert out["Indicator"].to_list() == ["-12.5", "x"]  # a plain number is not a formula


def test_unranked_regions_say_why():
    composite = pl.DataFrame({"region_code": ["11", "12", "13"], "rank": [1, None, None],
                              "n_indicators": [3, 3, 3], "n_no_data": [0, 3, 1]})
    league = pl.DataFrame({"rank": [1, None, None], "region_code": ["11", "12", "13"],
                           "rank:a": [1, None, None]})
    per_indicator = {"a": pl.DataFrame({"region_code": ["11", "12", "13"], "rank": [1, None, None],
                                        "status": ["achieved", "no_data", "not_assessable"]})}
    zh = tables.with_rank_reasons(league, composite, per_indicator, "zh")
    assert zh["rank"].to_list() == ["1", "无数据", "不适用"]  # 12 has no data at all; 13 has some, none assessable
    assert zh["rank:a"].to_list() == ["1", "无数据", "不适用"]
    en = tables.with_rank_reasons(league, composite, per_indicator, "en")
    assert en["rank:a"].to_list() == ["1", "no data", "not applicable"]


def test_phone_status_list_counts_each_bucket_worst_first():
    children = pl.DataFrame({
        "region_code": ["11", "11", "11", "12", "12", "12"],
        "region_name": ["北京市"] * 3 + ["天津市"] * 3,
        "status": ["achieved", "far_behind", None, "behind", "far_behind", "not_achieved"],
    })
    out = narrow.status_list(children, "en")
    assert out.columns[0] == "Region"
    rows = {r[0]: r[1:] for r in out.iter_rows()}
    assert list(rows) == ["天津市", "北京市"]  # two red before one red
    assert rows["天津市"] == (2, 1, 0, 0, 0)  # far_behind + not_achieved are red, behind amber
    assert rows["北京市"] == (1, 0, 0, 1, 1)  # a missing status counts as no data (grey)
    html = narrow.badges_html({"red": 4, "amber": 0, "green": 0, "achieved": 5, "grey": 1}, "zh")
    assert html.count('class="pw-badge"') == 5 and "<b>4</b>" in html and "<b>5</b>" in html
