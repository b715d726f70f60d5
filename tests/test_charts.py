"""The shared plotly template and figures: expected traces, the CJK font, status colours with symbols."""

from __future__ import annotations

from datetime import date

import plotly.graph_objects as go
import polars as pl
import pytest

from warehouse import charts, formatting as fmt, i18n


def _children() -> pl.DataFrame:
    """Three sub-regions × two indicators in the engine's status-frame columns."""
    return pl.DataFrame(
        {
            "region_code": ["500101", "500102", "500103", "500101", "500102", "500103"],
            "region_name": ["万州区", "涪陵区", "渝中区", "万州区", "涪陵区", "渝中区"],
            "indicator_id": ["coverage"] * 3 + ["staff"] * 3,
            "indicator_zh": ["社区综合服务设施覆盖率"] * 3 + ["每万城镇常住人口社区工作者数"] * 3,
            "indicator_en": ["Facility coverage"] * 3 + ["Workers per 10,000"] * 3,
            "unit_zh": ["%"] * 3 + ["人"] * 3,
            "unit_en": ["%"] * 3 + ["persons"] * 3,
            "attribute": ["binding"] * 3 + ["expected"] * 3,
            "status": ["achieved", "behind", "far_behind", "on_schedule", None, "not_achieved"],
            "value": [100.0, 82.5, 60.0, 18.0, None, 9.0],
            "progress_ratio": [1.2, 0.85, 0.4, 1.0, None, 0.3],
            "target_value": [100.0, 100.0, 100.0, 18.0, 18.0, 18.0],
        }
    )


def _font(fig: go.Figure) -> str:
    return fig.layout.template.layout.font.family


def test_template_names_the_cjk_font_on_every_figure():
    frame = _children()
    traj = pl.DataFrame({"period": ["2021"], "period_end": [date(2021, 12, 31)], "actual": [80.0], "expected": [85.0]})
    figures = [
        charts.status_counts_figure(frame, "zh"),
        charts.status_heatmap(frame, "zh"),
        charts.trajectory_figure(traj, frame.row(0, named=True), "zh"),
        charts.distribution_figure(frame, "coverage", "zh"),
        charts.ranked_bar_figure(frame, "coverage", "zh"),
        charts.bullet_figure(frame, "zh"),
        charts.rank_figure(pl.DataFrame({"region_code": ["5001"], "region_name": ["a"], "score": [0.5]}), "zh"),
    ]
    for fig in figures:
        assert _font(fig) == "Noto Sans CJK SC, sans-serif"
        assert fig.layout.template.layout.title.font.family == charts.FONT_FAMILY


def test_status_counts_one_bar_per_bucket_binding_on_top():
    fig = charts.status_counts_figure(_children(), "zh")
    assert [t.meta for t in fig.data] == list(fmt.BUCKETS)
    by_bucket = {t.meta: t for t in fig.data}
    # y categories: expected (bottom) then binding (top); binding has achieved 1, amber 1, red 1
    assert list(by_bucket["red"].y) == ["预期性", "约束性"]
    assert list(by_bucket["red"].x) == [1, 1]  # not_achieved (expected), far_behind (binding)
    assert list(by_bucket["amber"].x) == [0, 1]
    assert list(by_bucket["achieved"].x) == [0, 1]
    assert list(by_bucket["grey"].x) == [1, 0]  # the null status counts as no data
    assert by_bucket["red"].marker.color == fmt.COLOURS["far_behind"]
    assert "▼" in by_bucket["red"].name  # colour always with a symbol


def test_heatmap_cells_carry_status_index_colour_and_symbol():
    fig = charts.status_heatmap(_children(), "en")
    heat = fig.data[0]
    assert heat.type == "heatmap"
    assert list(heat.y) == ["500101", "500102", "500103"]  # unique ids; names are the tick labels
    assert list(fig.layout.yaxis.ticktext) == ["万州区", "涪陵区", "渝中区"]
    assert list(heat.x) == ["coverage", "staff"]
    assert list(fig.layout.xaxis.ticktext) == ["Facility co…", "Workers per…"]  # cut to 12 characters
    assert "Facility coverage" in heat.customdata[0][0]  # full name on hover
    # 涪陵区 × staff has no status -> no_data; 渝中区 × coverage is far_behind
    assert heat.z[1][1] == fmt.STATUSES.index("no_data")
    assert heat.z[2][0] == fmt.STATUSES.index("far_behind")
    assert heat.text[2][0] == fmt.SYMBOLS["far_behind"]
    # the discrete colour scale maps index i to the status colour at the centre of its band
    n = len(fmt.STATUSES)
    for i, status in enumerate(fmt.STATUSES):
        centre = (i + 0.5) / n
        band = [c for pos, c in heat.colorscale if pos <= centre][-1]
        assert band == fmt.COLOURS[status]
    legend = {t.meta for t in fig.data[1:]}
    assert legend == {"achieved", "behind", "far_behind", "on_schedule", "no_data", "not_achieved"}


def test_trajectory_has_actual_expected_baseline_target():
    traj = pl.DataFrame({
        "period": ["2021", "2022", "2023"],
        "period_end": [date(2021, 12, 31), date(2022, 12, 31), date(2023, 12, 31)],
        "actual": [70.0, None, 85.0],
        "expected": [72.0, 79.0, 86.0],
    })
    row = {"indicator_zh": "覆盖率", "unit_zh": "%", "baseline_value": 65.0, "baseline_year": 2020,
           "target_value": 100.0, "target_year": 2025, "comparator": ">="}
    fig = charts.trajectory_figure(traj, row, "zh")
    by_meta = {t.meta: t for t in fig.data}
    assert set(by_meta) == {"actual", "expected", "baseline", "target"}
    assert list(by_meta["actual"].y) == [70.0, None, 85.0]  # gaps stay gaps
    assert by_meta["expected"].line.dash == "dash"
    assert by_meta["target"].x[0] == date(2025, 12, 31) and by_meta["target"].y[0] == 100.0
    assert by_meta["target"].text[0] == "≥100%"
    assert by_meta["baseline"].x[0] == date(2020, 12, 31)
    assert fig.layout.title.text.startswith("覆盖率")


def test_ranked_bar_best_first_with_target_line_and_no_data_last():
    fig = charts.ranked_bar_figure(_children(), "staff", "zh", direction="higher")
    bar = fig.data[0]
    assert list(bar.y) == ["500101", "500103", "500102"]  # 18, 9, then no value (codes: unique categories)
    assert list(fig.layout.yaxis.ticktext) == ["万州区", "渝中区", "涪陵区"]
    assert list(bar.marker.color) == [fmt.COLOURS["on_schedule"], fmt.COLOURS["not_achieved"], fmt.COLOURS["no_data"]]
    assert bar.text[0] == "● 18 人" and bar.text[2] == "○ 无数据"
    lines = [s for s in fig.layout.shapes if s.type == "line"]
    assert len(lines) == 1 and lines[0].x0 == 18.0
    lower = charts.ranked_bar_figure(_children(), "staff", "zh", direction="lower")
    assert list(lower.layout.yaxis.ticktext)[:2] == ["渝中区", "万州区"]


def test_distribution_stacks_by_status():
    fig = charts.distribution_figure(_children(), "coverage", "en")
    assert {t.meta for t in fig.data} == {"achieved", "behind", "far_behind"}
    assert fig.layout.barmode == "stack"
    assert sum(len(t.x) for t in fig.data) == 3


def test_bullet_caps_ratio_and_labels_status():
    frame = _children().filter(pl.col("region_code") == "500101").with_columns(
        pl.Series("progress_ratio", [2.4, 1.0]))
    fig = charts.bullet_figure(frame, "zh")
    progress = next(t for t in fig.data if t.meta == "progress")
    assert list(progress.x) == [charts.BULLET_CAP, 1.0]
    # the display cap of the one rounding rule (status.format_ratio): 240% reads "> 200%"
    assert progress.text[0] == "✔ 已完成 > 200%"
    assert progress.y[0].startswith("★ ")  # binding marked
    assert any(s.x0 == 1.0 for s in fig.layout.shapes)


@pytest.mark.parametrize("fn", [charts.status_counts_figure, charts.status_heatmap, charts.bullet_figure])
def test_empty_frames_give_an_explained_empty_figure(fn):
    fig = fn(pl.DataFrame(), "zh")
    assert len(fig.data) == 0
    assert fig.layout.annotations[0].text == i18n.t("chart.no_data", "zh")


def test_status_labels_colour_symbol_and_text():
    red = fmt.status_label("far_behind", "zh")
    assert (red.label, red.symbol, red.bucket) == ("严重滞后", "▼", "red")
    assert fmt.status_label(None, "en").text == "○ No data"
    assert len({fmt.COLOURS[s] for s in fmt.STATUSES}) == len(fmt.STATUSES)
    with pytest.raises(ValueError, match="unknown status"):
        fmt.status_label("green", "zh")


def test_formatting_numbers_periods_and_times():
    from warehouse.periods import parse_as_of

    assert fmt.format_value(85.34, "%") == "85.3%"
    assert fmt.format_value(1250, "平方米") == "1,250 平方米"
    assert fmt.format_value(None, "%") == "—"
    assert fmt.format_value(0.456, "个") == "0.46 个"
    assert fmt.format_period("2024-Q3", "zh") == "2024年第3季度"
    assert fmt.format_period("2024-07", "en") == "Jul 2024"
    assert fmt.format_period("2024", "zh") == "2024年"
    assert fmt.format_as_of(parse_as_of("2025-12"), "zh") == "数据截至 2025年12月31日 24:00（北京时间）"
    # 24:00 CST on 30 June 2023 is 2.5 years into 2021-2025 (181 + 365 + 365 days of 1826)
    assert fmt.plan_elapsed(2021, 2025, parse_as_of("2023-06")) == pytest.approx((181 + 365 + 365) / 1826)
    assert fmt.plan_elapsed(2021, 2025, date(2023, 6, 30)) == pytest.approx((181 + 365 + 365) / 1826)
    assert fmt.plan_elapsed(2021, 2025, date(2030, 1, 1)) == 1.0


def test_i18n_register_and_conflicts():
    i18n.register({"test_charts.hello": {"zh": "你好", "en": "Hello {name}"}})
    assert i18n.t("test_charts.hello", "en", name="A") == "Hello A"
    assert i18n.t("test_charts.hello", "zh") == "你好"
    with pytest.raises(ValueError):
        i18n.register({"overview.title": {"zh": "别的"}})
    with pytest.raises(KeyError):
        i18n.t("no.such.key", "zh")


def test_expected_path_is_drawn_on_to_the_target():
    start, end = date(2020, 12, 31), date(2025, 12, 31)
    days = [date(2021, 12, 31), date(2022, 12, 31), date(2023, 12, 31)]
    expected = [65.0 + 35.0 * (d - start).days / (end - start).days for d in days]  # the engine's line
    traj = pl.DataFrame({"period": ["2021", "2022", "2023"], "period_end": days, "actual": [70.0, 74.0, 80.0],
                         "expected": expected})
    row = {"indicator_zh": "覆盖率", "unit_zh": "%", "baseline_value": 65.0, "baseline_year": 2020,
           "target_value": 100.0, "target_year": 2025, "comparator": ">="}
    line = next(t for t in charts.trajectory_figure(traj, row, "zh").data if t.meta == "expected")
    # from the baseline diamond through the expected values to the target star
    assert line.x[0] == start and line.y[0] == 65.0
    assert list(line.x[1:4]) == days and line.x[-1] == end
    assert line.y[-1] == pytest.approx(100.0, abs=1e-9)  # the dashed line meets the target star
    assert list(line.y[1:4]) == expected


def test_expected_path_is_drawn_for_a_new_plan_with_one_value():
    """Issue 12: a 2026-2030 plan with one quarter of data had the path in the legend but no line (one point
    of a mode="lines" trace draws nothing). The path now runs baseline -> target whatever the data."""
    start = date(2025, 12, 31)
    f = (date(2026, 6, 30) - start).days / (date(2030, 12, 31) - start).days
    traj = pl.DataFrame({"period": ["2026-Q2"], "period_end": [date(2026, 6, 30)], "actual": [90.0],
                         "expected": [88.0 + 7.0 * f]})
    row = {"indicator_zh": "农村社区综合服务设施覆盖率", "unit_zh": "%", "baseline_value": 88.0, "baseline_year": 2025,
           "baseline_date": start, "target_value": 95.0, "target_year": 2030, "comparator": ">="}
    line = next(t for t in charts.trajectory_figure(traj, row, "zh").data if t.meta == "expected")
    assert list(line.x) == [start, date(2026, 6, 30), date(2030, 12, 31)]
    assert list(line.y) == [88.0, pytest.approx(88.0 + 7.0 * f), 95.0]
    # a band aims at its nearer edge: [40, 60] from 20 -> 40
    band = dict(row, baseline_value=20.0, target_value=40.0, target_high=60.0)
    line = next(t for t in charts.trajectory_figure(traj.with_columns(expected=pl.lit(None, pl.Float64)), band,
                                                    "zh").data if t.meta == "expected")
    assert line.y[-1] == 40.0


def test_heatmap_keeps_indicators_apart_when_their_short_names_coincide():
    """Two indicators whose 12-character labels are equal must stay two columns: with the labels as
    categories plotly merged them and drew one cell's colour under the other's symbol."""
    frame = pl.DataFrame({
        "region_code": ["500101", "500101"], "region_name": ["万州区", "万州区"],
        "indicator_id": ["share_a", "share_b"],
        "indicator_en": ["Share of communities with A", "Share of communities with B"],
        "indicator_zh": ["甲", "乙"], "status": ["achieved", "far_behind"],
        "value": [1.0, 2.0], "progress_ratio": [1.2, 0.1], "unit_zh": ["%", "%"], "unit_en": ["%", "%"],
    })
    fig = charts.status_heatmap(frame, "en")
    heat = fig.data[0]
    assert list(heat.x) == ["share_a", "share_b"]
    assert list(fig.layout.xaxis.ticktext) == ["Share of co…", "Share of co…"]
    assert list(heat.z[0]) == [fmt.STATUSES.index("achieved"), fmt.STATUSES.index("far_behind")]
    assert list(heat.text[0]) == [fmt.SYMBOLS["achieved"], fmt.SYMBOLS["far_behind"]]


def test_rank_bars_keep_same_named_regions_apart():
    """Two sibling townships may share a name; each keeps its own bar (codes are the categories)."""
    ranks = pl.DataFrame({"region_code": ["500110100", "500110101"], "region_name": ["新盛镇", "新盛镇"],
                          "score": [0.9, 0.4]})
    fig = charts.rank_figure(ranks, "zh", highlight="500110101")
    bar = fig.data[0]
    assert list(bar.y) == ["500110100", "500110101"] and list(fig.layout.yaxis.ticktext) == ["新盛镇", "新盛镇"]
    assert list(bar.x) == [0.9, 0.4] and list(bar.marker.color) == ["#A6A6A6", charts.COLORWAY[0]]
