"""Annual targets (年度目标, docs/methodology.md §6a): the worked examples as a table of hand-computed cases run
through the real engine (DuckDB over a small warehouse), the same numbers from status.py, the SQL status step on
pure cases, the trajectory and the chart's kinks.

The plan: Chongqing (50), binding ≥ 100 by 2025 from 50 (2020), applies to the municipality and each county;
plan-wide annual targets 2022: 60, 2023: 85; 万州 (500101) has its own: 2022: 40, 2024: 70; 綦江 (500110) too:
2022: 40, 2024: 70. Path corners of Chongqing: (2020-12-31, 50), (2022-12-31, 60), (2023-12-31, 85),
(2025-12-31, 100): segments of 730, 365 and 731 days (2024 is a leap year).
"""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from engine_fixtures import add_batch, definitions, indicator, make_warehouse, plan, sql_assess, target, utc
from warehouse import annual_path, charts
from warehouse import status as st
from warehouse.engine import Engine

CQ = ("total", "county")
PLAN_POINTS = {2022: 60, 2023: 85}
WANZHOU_POINTS = {2022: 40, 2024: 70}


def _defs():
    return definitions([indicator("cov"), indicator("fb")], [plan("cq", "50", [
        target("cov", 100, baseline=50, attribute="binding", applies_at=CQ, annual=PLAN_POINTS,
               annual_by_region={"500101": WANZHOU_POINTS, "500110": WANZHOU_POINTS}),
        # the same path for a region measured from the plan's baseline (opt-in fallback)
        target("fb", 100, baseline=50, attribute="binding", applies_at=CQ, annual=PLAN_POINTS,
               baseline_fallback="plan"),
    ])])


def annual_warehouse(path):
    """The worked examples' warehouse (also read by tests/test_spark.py); returns (folder, definitions)."""
    wh = make_warehouse(path)
    add_batch(wh, [{"region_code": "50", "indicator_id": "cov", "period": "2022-Q2", "value": 56},
                   *({"region_code": c, "indicator_id": "cov", "period": "2020", "value": v}
                     for c, v in (("500101", 30), ("500102", 30), ("500110", 45)))], "2022-08-01")
    add_batch(wh, [{"region_code": "500110", "indicator_id": "cov", "period": "2022", "value": 50}], "2023-01-20")
    add_batch(wh, [{"region_code": "50", "indicator_id": "cov", "period": "2023", "value": 74},
                   {"region_code": "500101", "indicator_id": "cov", "period": "2023", "value": 52},
                   {"region_code": "500102", "indicator_id": "cov", "period": "2023", "value": 52},
                   {"region_code": "500229", "indicator_id": "fb", "period": "2023", "value": 74}], "2024-01-15")
    add_batch(wh, [{"region_code": "50", "indicator_id": "cov", "period": "2024", "value": 92}], "2025-01-15")
    return wh.path, _defs()


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    return Engine(*annual_warehouse(tmp_path_factory.mktemp("annual") / "w"))


# name, region, indicator, as of, status, reason, progress ratio, expected value at the value's period end
CASES = [
    # between two annual points: 2022-Q2 (30 June 2022) is 546 of the 730 days from 2020-12-31 to 2022-12-31:
    # E = 50 + (60 - 50) * 546 / 730 = 57.4795; ratio (56 - 50) / (57.4795 - 50) = 73/91 = 0.8022 -> behind
    # (binding: 0.80 <= r < 1.00). The straight line would expect 64.95 and give 0.4013 (far behind).
    ("between_points", "50", "cov", "2022-09", "behind", "ratio", 6 / (10 * 546 / 730), 50 + 10 * 546 / 730),
    # exactly on an annual point: 2023 value 74, E(2023-12-31) = 85; ratio (74 - 50) / (85 - 50) = 0.6857
    # -> far behind (< 0.80). The straight line would expect 79.98 and give 0.8004 (behind).
    ("on_a_point", "50", "cov", "2024-02", "far_behind", "ratio", 24 / 35, 85.0),
    # after the last annual point, before the target year: 2024 value 92, 366 of the 731 days from 2023-12-31 to
    # 2025-12-31: E = 85 + 15 * 366 / 731 = 92.5103; ratio 42 / 42.5103 = 0.9880 -> behind. The straight line
    # would expect 90.01 and give 1.0499 (on schedule).
    ("after_last_point", "50", "cov", "2025-02", "behind", "ratio", 42 / (35 + 15 * 366 / 731), 85 + 15 * 366 / 731),
    # a region's own path from its own baseline: 万州 30 (2020) -> 2022: 40 -> 2024: 70 -> 2025: 100. Its 2023
    # value 52 is 365 of the 731 days into 2022-12-31 .. 2024-12-31: E = 40 + 30 * 365 / 731 = 54.9795;
    # ratio (52 - 30) / (54.9795 - 30) = 0.8807 -> behind
    ("region_path", "500101", "cov", "2024-02", "behind", "ratio", 22 / (10 + 30 * 365 / 731), 40 + 30 * 365 / 731),
    # 涪陵 has no points of its own and its own baseline 30: the plan-wide points (set against Chongqing's 50) do not
    # apply; the straight line: f = 1095 / 1826, E = 30 + 70 f = 71.977, ratio 22 / 41.977 = 0.5241 -> far behind
    ("own_baseline_straight", "500102", "cov", "2024-02", "far_behind", "ratio", 22 / (70 * 1095 / 1826),
     30 + 70 * 1095 / 1826),
    # 城口 has no 2020 value and the target opts in to the plan's baseline: measured from 50 along the plan-wide
    # path, like Chongqing: 2023 value 74 -> (74 - 50) / (85 - 50) = 0.6857 -> far behind
    ("plan_fallback_path", "500229", "fb", "2024-02", "far_behind", "ratio", 24 / 35, 85.0),
    # 綦江's own baseline 45 is already past its first point (2022: 40): on 2022-12-31 the path expects 40, no
    # progress beyond the baseline, so nothing is expected yet -> not assessable (before_path), like f <= 0
    ("region_ahead_of_its_path", "500110", "cov", "2023-02", "not_assessable", "before_path", None, 40.0),
]


@pytest.fixture(scope="module")
def frames(engine):
    """One status query per as-of time for Chongqing and every region below it (all cases' rows)."""
    return {as_of: engine.descendants_status("50", as_of=utc(as_of)) for as_of in sorted({c[3] for c in CASES})}


@pytest.mark.parametrize("name,region,ind,as_of,status,reason,ratio,expected", CASES, ids=[c[0] for c in CASES])
def test_worked_example(frames, name, region, ind, as_of, status, reason, ratio, expected):
    frame = frames[as_of]
    row = frame.filter((pl.col("region_code") == region) & (pl.col("indicator_id") == ind)).row(0, named=True)
    assert (row["status"], row["reason"]) == (status, reason)
    assert row["method_used"] == "schedule"
    assert row["expected_value"] == pytest.approx(expected, rel=1e-12)
    if ratio is None:
        assert row["progress_ratio"] is None
    else:
        assert row["progress_ratio"] == pytest.approx(ratio, rel=1e-12)
    # status.py gives the same numbers from the same path
    py = st.assess_schedule(row["value"], row["baseline_value"], row["comparator"], row["target_value"],
                            row["target_high"], st.path_fraction(row["period_end"], row["baseline_date"],
                                                                 date(2025, 12, 31)),
                            row["green"], row["amber"],
                            path_expected=_path_value(row, row["period_end"]))
    assert (py.status, py.reason) == (status, reason)
    assert py.expected == pytest.approx(expected, rel=1e-12)
    assert (py.progress_ratio is None) == (ratio is None)
    if ratio is not None:
        assert py.progress_ratio == pytest.approx(ratio, rel=1e-12)


def _path_value(row, moment):
    points = annual_path.parse(row["annual_path"])
    if not points:
        return None
    goal = st.goal(row["baseline_value"], row["comparator"], row["target_value"], row["target_high"])
    return annual_path.expected_at(row["baseline_date"], row["baseline_value"], points, date(2025, 12, 31), goal,
                                   moment)


def test_which_points_apply_and_the_text_column(frames):
    rows = {r["region_code"]: r for r in frames["2024-02"].filter(pl.col("indicator_id") == "cov").iter_rows(named=True)}
    assert rows["50"]["annual_path"] == "2022:60;2023:85"  # plan-wide: the plan's own region
    assert rows["500101"]["annual_path"] == "2022:40;2024:70"  # its own
    assert rows["500102"]["annual_path"] is None  # own baseline, no own points: straight line
    assert "按年度目标计算进度" in rows["50"]["reason_zh"] and "annual targets" in rows["50"]["reason_en"]
    assert "年度目标" not in (rows["500102"]["reason_zh"] or "")


def test_expected_now_between_points(engine):
    # as of 2024-06 (30 June 2024): 182 of the 731 days after 2023-12-31: 85 + 15 * 182 / 731 = 88.7346
    row = engine.status("50", as_of=utc("2024-06"), indicator="cov").row(0, named=True)
    assert row["expected_now"] == pytest.approx(85 + 15 * 182 / 731, rel=1e-12)


def test_trajectory_and_chart_show_the_kinks(engine):
    traj = engine.trajectory("50", "cov", as_of=utc("2025-02"))
    by_period = dict(zip(traj["period"].to_list(), traj["expected"].to_list()))
    assert by_period["2022-Q2"] == pytest.approx(50 + 10 * 546 / 730, rel=1e-12)
    assert by_period["2023"] == pytest.approx(85, rel=1e-12)
    assert by_period["2024"] == pytest.approx(85 + 15 * 366 / 731, rel=1e-12)
    row = engine.status("50", as_of=utc("2025-02"), indicator="cov").row(0, named=True)
    for lang in ("zh", "en"):
        line = next(t for t in charts.trajectory_figure(traj, row, lang).data if t.meta == "expected")
        corners = {str(x)[:10]: y for x, y in zip(line.x, line.y)}
        # the corners: baseline, both annual targets, the target; straight between them
        assert corners["2020-12-31"] == 50 and corners["2022-12-31"] == 60 and corners["2023-12-31"] == 85
        assert corners["2025-12-31"] == 100
        assert corners["2022-06-30"] == pytest.approx(50 + 10 * 546 / 730, rel=1e-12)
        assert f"2023 {'年度目标' if lang == 'zh' else 'Annual target'}" in line.customdata
        marks = next(t for t in charts.trajectory_figure(traj, row, lang).data if t.meta == "annual")
        assert [str(x)[:10] for x in marks.x] == ["2022-12-31", "2023-12-31"] and list(marks.y) == [60, 85]


def test_sql_status_step_agrees_with_python_on_an_annual_path():
    """The SQL step on pure cases: the ratio uses pw_share(b, path_expected) in place of f; a cagr target on an
    annual path runs the schedule method; a path expected value behind the baseline gives no ratio."""
    cases = [
        ("ge", dict(actual=56, baseline=50, comparator=">=", target=100, fraction=0.299, path_expected=57.5, method="schedule")),
        ("le", dict(actual=15, baseline=20, comparator="<=", target=10, fraction=0.5, path_expected=18, method="schedule")),
        ("band", dict(actual=25, baseline=20, comparator=">=", target=40, target_high=60, fraction=0.25,
                      path_expected=24, method="schedule")),
        ("cagr_on_path", dict(actual=56, baseline=50, comparator=">=", target=100, fraction=0.3, path_expected=57.5,
                              method="cagr")),
        ("behind_baseline", dict(actual=50, baseline=45, comparator=">=", target=100, fraction=0.4, path_expected=40,
                                 method="schedule")),
    ]
    # hand: ge (56-50)/(57.5-50) = 0.8; le (10-5)/(10-8) = 2.5; band (20-15)/(20-16) = 1.25; cagr as ge
    hand = {"ge": 0.8, "le": 2.5, "band": 1.25, "cagr_on_path": 0.8, "behind_baseline": None}
    out = sql_assess([{"case": n, "actual": k["actual"], "baseline": k["baseline"], "comparator": k["comparator"],
                       "target_value": k["target"], "target_high": k.get("target_high"), "fraction": k["fraction"],
                       "elapsed_years": 1.0, "span_years": 5.0, "green": 1.0, "amber": 0.8, "final": False,
                       "single_observation": False, "method": k["method"], "annual_path": True,
                       "path_expected": k["path_expected"]} for n, k in cases])
    for name, k in cases:
        row = out[name]
        py = st.assess_schedule(k["actual"], k["baseline"], k["comparator"], k["target"], k.get("target_high"),
                                k["fraction"], 1.0, 0.8, path_expected=k["path_expected"])
        assert row["method_used"] == "schedule", name
        assert row["status_reason"] == f"{py.status}|{py.reason}", name
        assert row["expected"] == py.expected == k["path_expected"], name
        if hand[name] is None:
            assert row["progress_ratio"] is None and py.progress_ratio is None
        else:
            assert row["progress_ratio"] == pytest.approx(hand[name], rel=1e-12)
            assert py.progress_ratio == pytest.approx(hand[name], rel=1e-12)


def test_path_helpers():
    corners = annual_path.path(date(2020, 12, 31), 50, {2020: 1, 2022: 60, 2023: 85, 2026: 1}, date(2025, 12, 31), 100)
    # points not strictly inside the path are left out
    assert corners == [(date(2020, 12, 31), 50), (date(2022, 12, 31), 60), (date(2023, 12, 31), 85),
                       (date(2025, 12, 31), 100)]
    assert annual_path.value_at(corners, date(2019, 6, 30)) == 50 and annual_path.value_at(corners, date(2027, 1, 1)) == 100
    assert annual_path.parse(annual_path.describe({2023: 85.5, 2022: 60}, date(2020, 12, 31), None)) == {2022: 60, 2023: 85.5}
    assert annual_path.parse(None) == {} and annual_path.points_of(_defs(), "nope#9#") == {}
    # one row per set of points (cov: plan-wide, 500101, 500110; fb: plan-wide), two (date, value) pairs each
    frame = annual_path.points_frame(_defs())
    assert annual_path.width(_defs()) == 2 and frame.height == 4
    assert frame.filter(pl.col("annual_key") == "cq#0#500101").row(0) == (
        "cq#0#500101", date(2022, 12, 31), 40.0, date(2024, 12, 31), 70.0)
    # a value for the target year is the target: not a corner; no annual targets -> width 0, an empty relation
    d = definitions([indicator("a")], [plan("p", "50", [target("a", 100, baseline=50, annual={2023: 70, 2025: 100})])])
    assert annual_path.width(d) == 1 and annual_path.points_frame(d).columns == ["annual_key", "annual_end_1",
                                                                                "annual_value_1"]
    none = definitions([indicator("a")], [plan("p", "50", [target("a", 100, baseline=50)])])
    assert annual_path.width(none) == 0 and annual_path.points_frame(none).height == 0


def test_definition_text_lists_the_annual_targets():
    from warehouse import views

    d = _defs()
    zh = views.definition_markdown(d, d.plan("cq"), "cov", "zh")
    assert "年度目标 2022：60 个、2023：85 个" in zh and "年度目标（500101）2022：40 个、2024：70 个" in zh
    # (safe_text.md escapes the comma of the Markdown line: it renders as ", ")
    assert "Annual target 2022：60 units\\, 2023：85 units" in views.definition_markdown(d, d.plan("cq"), "cov", "en")
