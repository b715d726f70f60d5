"""Schedule method (时序进度): hand-computed cases for every branch, higher- and lower-is-better, "=" targets,
bands, maintain-type targets, final evaluation; and the SQL path agreeing with status.py on all of them."""

from __future__ import annotations

from datetime import date

import pytest

from engine_fixtures import sql_assess
from warehouse import status as st
from warehouse.periods import year_fraction

EXP = dict(green=0.95, amber=0.60)  # expected (预期性) defaults
BIND = dict(green=1.00, amber=0.80)  # binding (约束性) defaults

# name, kwargs of assess_schedule, expected status, reason, ratio (None = not computed)
CASES = [
    # >= 90 from 50, half-way (f = 0.5): expected = 50 + 40 * 0.5 = 70
    ("ge_achieved", dict(actual=92, baseline=50, comparator=">=", target=90, fraction=0.5, **EXP),
     # 92 >= 90 holds; ratio (40 - 0) / (40 * 0.5) = 2.0
     st.ACHIEVED, st.R_MET, 2.0),
    ("ge_on_schedule", dict(actual=70, baseline=50, comparator=">=", target=90, fraction=0.5, **EXP),
     # (40 - 20) / 20 = 1.0 >= 0.95
     st.ON_SCHEDULE, st.R_RATIO, 1.0),
    ("ge_on_schedule_binding", dict(actual=70, baseline=50, comparator=">=", target=90, fraction=0.5, **BIND),
     # 1.0 >= 1.00 (binding green is inclusive)
     st.ON_SCHEDULE, st.R_RATIO, 1.0),
    ("ge_behind", dict(actual=64, baseline=50, comparator=">=", target=90, fraction=0.5, **EXP),
     # (40 - 26) / 20 = 0.7: 0.60 <= 0.7 < 0.95
     st.BEHIND, st.R_RATIO, 0.7),
    ("ge_binding_red", dict(actual=64, baseline=50, comparator=">=", target=90, fraction=0.5, **BIND),
     # the same 0.7 is below the binding amber 0.80 -> red
     st.FAR_BEHIND, st.R_RATIO, 0.7),
    ("ge_binding_amber", dict(actual=67, baseline=50, comparator=">=", target=90, fraction=0.5, **BIND),
     # (40 - 23) / 20 = 0.85: 0.80 <= 0.85 < 1.00 -> amber, never green
     st.BEHIND, st.R_RATIO, 0.85),
    ("ge_far_behind", dict(actual=60, baseline=50, comparator=">=", target=90, fraction=0.5, **EXP),
     # (40 - 30) / 20 = 0.5 < 0.60
     st.FAR_BEHIND, st.R_RATIO, 0.5),
    ("ge_moving_away", dict(actual=45, baseline=50, comparator=">=", target=90, fraction=0.5, **EXP),
     # (40 - 45) / 20 = -0.25 < 0: moving away
     st.FAR_BEHIND, st.R_MOVING_AWAY, -0.25),
    ("gt_boundary", dict(actual=90, baseline=50, comparator=">", target=90, fraction=0.5, **EXP),
     # "> 90" does not hold at 90; dist(90) = 0 so ratio (40 - 0) / 20 = 2.0 -> on schedule
     st.ON_SCHEDULE, st.R_RATIO, 2.0),
    # lower is better: <= 10 from 20, f = 0.5: expected 15
    ("le_on_schedule", dict(actual=15, baseline=20, comparator="<=", target=10, fraction=0.5, **EXP),
     # dist(20) = 10, dist(15) = 5: (10 - 5) / (10 * 0.5) = 1.0
     st.ON_SCHEDULE, st.R_RATIO, 1.0),
    ("le_behind", dict(actual=17, baseline=20, comparator="<=", target=10, fraction=0.5, **EXP),
     # (10 - 7) / 5 = 0.6: amber threshold is inclusive
     st.BEHIND, st.R_RATIO, 0.6),
    ("le_far_behind", dict(actual=18, baseline=20, comparator="<=", target=10, fraction=0.5, **EXP),
     # (10 - 8) / 5 = 0.4
     st.FAR_BEHIND, st.R_RATIO, 0.4),
    ("le_moving_away", dict(actual=22, baseline=20, comparator="<=", target=10, fraction=0.5, **EXP),
     # (10 - 12) / 5 = -0.4
     st.FAR_BEHIND, st.R_MOVING_AWAY, -0.4),
    ("lt_achieved", dict(actual=9, baseline=20, comparator="<", target=10, fraction=0.5, **EXP),
     # 9 < 10 holds; ratio (10 - 0) / 5 = 2.0
     st.ACHIEVED, st.R_MET, 2.0),
    # maintain-type: baseline already meets the target (100% -> 100%)
    ("maintain_holds", dict(actual=100, baseline=100, comparator=">=", target=100, fraction=0.4, **EXP),
     st.ACHIEVED, st.R_MET, None),
    ("maintain_fails", dict(actual=98, baseline=100, comparator=">=", target=100, fraction=0.4, **EXP),
     # dist(baseline) = 0: no path to measure against, the comparator failed -> red
     st.FAR_BEHIND, st.R_MAINTAIN_FAILED, None),
    # "=" target: distance from the target. = 5 from 10, f = 0.5
    ("eq_on_schedule_below", dict(actual=7.5, baseline=10, comparator="=", target=5, fraction=0.5, **EXP),
     # dist(10) = 5, dist(7.5) = 2.5: (5 - 2.5) / 2.5 = 1.0
     st.ON_SCHEDULE, st.R_RATIO, 1.0),
    ("eq_overshoot", dict(actual=1, baseline=10, comparator="=", target=5, fraction=0.5, **EXP),
     # overshooting counts as distance: dist(1) = 4: (5 - 4) / 2.5 = 0.4
     st.FAR_BEHIND, st.R_RATIO, 0.4),
    ("eq_met", dict(actual=5, baseline=10, comparator="=", target=5, fraction=0.5, **EXP),
     st.ACHIEVED, st.R_MET, 2.0),
    # band [40, 60] from 20, f = 0.25: goal = 40, expected 25
    ("band_on_schedule", dict(actual=25, baseline=20, comparator=">=", target=40, target_high=60, fraction=0.25, **EXP),
     # dist(20) = 20, dist(25) = 15: (20 - 15) / (20 * 0.25) = 1.0
     st.ON_SCHEDULE, st.R_RATIO, 1.0),
    ("band_overshoot", dict(actual=70, baseline=20, comparator=">=", target=40, target_high=60, fraction=0.25, **EXP),
     # above the band: dist(70) = 10: (20 - 10) / 5 = 2.0
     st.ON_SCHEDULE, st.R_RATIO, 2.0),
    ("band_behind", dict(actual=23.5, baseline=20, comparator=">=", target=40, target_high=60, fraction=0.25, **EXP),
     # dist 16.5: (20 - 16.5) / 5 = 0.7
     st.BEHIND, st.R_RATIO, 0.7),
    ("band_inside", dict(actual=50, baseline=20, comparator=">=", target=40, target_high=60, fraction=0.25, **EXP),
     st.ACHIEVED, st.R_MET, 4.0),
    # grey branches
    ("no_target", dict(actual=50, baseline=20, comparator=">=", target=None, fraction=0.5, **EXP),
     st.NOT_ASSESSABLE, st.R_NO_TARGET, None),
    ("no_data", dict(actual=None, baseline=20, comparator=">=", target=40, fraction=0.5, **EXP),
     st.NO_DATA, st.R_NO_DATA, None),
    ("no_baseline", dict(actual=30, baseline=None, comparator=">=", target=40, fraction=0.5, **EXP),
     st.NOT_ASSESSABLE, st.R_NO_BASELINE, None),
    ("single_observation", dict(actual=30, baseline=30, comparator=">=", target=40, fraction=0.0, single_observation=True, **EXP),
     st.NOT_ASSESSABLE, st.R_SINGLE, None),
    ("single_observation_met", dict(actual=45, baseline=45, comparator=">=", target=40, fraction=0.0, single_observation=True, **EXP),
     st.ACHIEVED, st.R_MET, None),
    ("before_path", dict(actual=30, baseline=20, comparator=">=", target=40, fraction=0.0, **EXP),
     # nothing is expected at f = 0
     st.NOT_ASSESSABLE, st.R_BEFORE_PATH, None),
    # after the target year: final
    ("final_achieved", dict(actual=91, baseline=50, comparator=">=", target=90, fraction=1.0, final=True, **EXP),
     # dist(91) = 0 (met), f = 1: (40 - 0) / 40 = 1.0 - overshooting does not add credit
     st.ACHIEVED, st.R_MET, 1.0),
    ("final_not_achieved", dict(actual=80, baseline=50, comparator=">=", target=90, fraction=1.0, final=True, **EXP),
     # gap 10; ratio (40 - 10) / 40 = 0.75
     st.NOT_ACHIEVED, st.R_FINAL_GAP, 0.75),
    ("final_lower_not_achieved", dict(actual=12, baseline=20, comparator="<=", target=10, fraction=1.2, final=True, **EXP),
     # f is capped at 1: (10 - 2) / 10 = 0.8
     st.NOT_ACHIEVED, st.R_FINAL_GAP, 0.8),
    # issue 12: final evaluation waits for the target year's value; after the deadline, without it: not reported
    ("final_not_reported", dict(actual=80, baseline=50, comparator=">=", target=90, fraction=0.8, final=True,
                                final_value=False, **EXP),
     # the 2024 value 80 is not the 2025 figure: "not reported" is the final word (no ratio)
     st.NOT_REPORTED, st.R_FINAL_NOT_REPORTED, None),
    ("final_not_reported_met_earlier", dict(actual=95, baseline=50, comparator=">=", target=90, fraction=0.8,
                                            final=True, final_value=False, **EXP),
     # an earlier value meeting the target does not make the final result
     st.NOT_REPORTED, st.R_FINAL_NOT_REPORTED, None),
    ("final_no_data", dict(actual=None, baseline=50, comparator=">=", target=90, fraction=1.0, final=True, **EXP),
     st.NOT_REPORTED, st.R_FINAL_NOT_REPORTED, None),
    # observation period (观察期): a ratio of 3.71 two quarters in says nothing -> too early, no ratio
    ("too_early", dict(actual=90, baseline=88, comparator=">=", target=95, fraction=0.0997, early=True, **EXP),
     st.TOO_EARLY, st.R_OBSERVATION, None),
    ("too_early_but_met", dict(actual=96, baseline=88, comparator=">=", target=95, fraction=0.0997, early=True, **EXP),
     st.ACHIEVED, st.R_MET, None),
    ("too_early_moving_away", dict(actual=85, baseline=88, comparator=">=", target=95, fraction=0.0997, early=True, **BIND),
     # moving away in the first quarters is not red yet either
     st.TOO_EARLY, st.R_OBSERVATION, None),
    # sub-region without a baseline-year value of its own: not assessed from the parent's baseline
    ("no_region_baseline", dict(actual=88, baseline=None, comparator=">=", target=95, fraction=0.2,
                                no_region_baseline=True, **EXP),
     st.NOT_ASSESSABLE, st.R_NO_REGION_BASELINE, None),
    ("no_region_baseline_met", dict(actual=98.5, baseline=None, comparator=">=", target=95, fraction=0.2,
                                    no_region_baseline=True, **EXP),
     # judged against the target alone
     st.ACHIEVED, st.R_MET, None),
]

PY_FLAGS = ("final_value", "early", "no_region_baseline")


@pytest.mark.parametrize("name,kwargs,status,reason,ratio", CASES, ids=[c[0] for c in CASES])
def test_schedule_case(name, kwargs, status, reason, ratio):
    kw = dict(kwargs)
    result = st.assess_schedule(
        kw.pop("actual"), kw.pop("baseline"), kw.pop("comparator"), kw.pop("target"), kw.pop("target_high", None),
        kw.pop("fraction"), kw.pop("green"), kw.pop("amber"), kw.pop("final", False),
        kw.pop("single_observation", False), **{k: kw.pop(k) for k in PY_FLAGS if k in kw},
    )
    assert (result.status, result.reason) == (status, reason)
    if ratio is None:
        assert result.progress_ratio is None
    else:
        assert result.progress_ratio == pytest.approx(ratio, rel=1e-12)


def test_expected_value_and_gap():
    # >= 90 from 50 at f = 0.5 -> 70; gap of 64 is 26
    r = st.assess_schedule(64, 50, ">=", 90, None, 0.5, 0.95, 0.6)
    assert r.expected == 70 and r.gap == 26
    # lower is better: <= 10 from 20 at f = 0.25 -> 17.5
    assert st.expected_value(20, "<=", 10, None, 0.25) == 17.5
    # flat after the target year and before the baseline
    assert st.expected_value(20, "<=", 10, None, 1.7) == 10
    assert st.expected_value(20, "<=", 10, None, -0.3) == 20


def test_path_fraction_matches_year_fraction():
    # end of 2023 on a 2020 -> 2025 path: 1095 days of 1826 (2024 is a leap year)
    f = st.path_fraction(date(2023, 12, 31), date(2020, 12, 31), date(2025, 12, 31))
    assert f == 1095 / 1826 == year_fraction(date(2023, 12, 31), 2020, 2025)
    # end of June 2025 on that path: 1642 / 1826
    assert st.path_fraction(date(2025, 6, 30), date(2020, 12, 31), date(2025, 12, 31)) == 1642 / 1826


def test_trend_is_direction_aware():
    assert st.trend(10, 12, "higher") == "improving"
    assert st.trend(10, 12, "lower") == "worsening"
    assert st.trend(10, 10, "higher") == "flat"
    assert st.trend(None, 10, "higher") is None
    # "=" 5: from 8 to 3 is closer (distance 3 -> 2)
    assert st.trend(8, 3, "higher", "=", 5) == "improving"


def test_reason_sentence_matches_the_issue_example():
    zh, en = st.reason_text(st.R_RATIO, attribute="binding", indicator_zh="每万城镇常住人口拥有社区工作者",
                            indicator_en="Community workers per 10,000 urban residents", progress_ratio=0.62,
                            green=1.0, amber=0.8)
    assert zh == "约束性指标「每万城镇常住人口拥有社区工作者」时序进度 62%，低于 80%"
    assert en.startswith("Binding indicator") and "62%" in en and "below 80%" in en


def test_sql_status_agrees_with_python():
    cases = []
    for name, kwargs, *_ in CASES:
        kw = dict(kwargs)
        cases.append({
            "case": name, "actual": kw.get("actual"), "baseline": kw.get("baseline"),
            "comparator": kw.get("comparator"), "target_value": kw.get("target"),
            "target_high": kw.get("target_high"), "fraction": kw.get("fraction"), "elapsed_years": 1.0,
            "span_years": 5.0, "green": kw["green"], "amber": kw["amber"], "final": kw.get("final", False),
            "single_observation": kw.get("single_observation", False), "method": "schedule",
            "final_value": kw.get("final_value", True), "early": kw.get("early", False),
            "baseline_source": "none" if kw.get("no_region_baseline") else "plan",
        })
    out = sql_assess(cases)
    assert len(out) == len(CASES)
    for name, kwargs, status, reason, ratio in CASES:
        row = out[name]
        assert row["status_reason"] == f"{status}|{reason}", name
        py = st.assess_schedule(kwargs.get("actual"), kwargs.get("baseline"), kwargs.get("comparator"),
                                kwargs.get("target"), kwargs.get("target_high"), kwargs["fraction"],
                                kwargs["green"], kwargs["amber"], kwargs.get("final", False),
                                kwargs.get("single_observation", False),
                                **{k: kwargs[k] for k in PY_FLAGS if k in kwargs})
        for col, val in (("progress_ratio", py.progress_ratio), ("expected", py.expected)):
            if val is None or kwargs.get("target") is None:
                continue
            assert row[col] == pytest.approx(val, rel=1e-12, abs=1e-12), (name, col)
        if kwargs.get("actual") is not None and kwargs.get("target") is not None:
            assert row["gap"] == pytest.approx(py.gap, abs=1e-12), name
