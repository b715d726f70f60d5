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
