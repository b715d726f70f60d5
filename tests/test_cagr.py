"""cagr method (Open SDG / Eurostat): R = d * CAGR_observed / |CAGR_required|, target achieved checked first,
R >= 0.95 on schedule, 0.60 <= R < 0.95 behind, 0 <= R < 0.60 far behind, R < 0 moving away (far behind),
a target of 0 replaced by 0.001. Each case carries its hand computation; the SQL path must agree."""

from __future__ import annotations

import pytest

from engine_fixtures import sql_assess
from warehouse import status as st

# name, (actual, baseline, comparator, target, elapsed years, span years), status, reason, R
CASES = [
    ("on_track", (141.4213562373095, 100, ">=", 200, 5, 10),
     # required = (200/100)^(1/10) - 1 = 0.0717735; observed = (1.41421/1)^(1/5) - 1 = 2^(0.1) - 1 = 0.0717735
     # R = 0.0717735 / 0.0717735 = 1.0
     st.ON_SCHEDULE, st.R_RATIO, 1.0),
    ("limited", (120, 100, ">=", 200, 5, 10),
     # observed = 1.2^(0.2) - 1 = 0.0371373; R = 0.0371373 / 0.0717735 = 0.517424 < 0.60
     st.FAR_BEHIND, st.R_RATIO, 0.517424),
    ("moderate", (130, 100, ">=", 200, 5, 10),
     # observed = 1.3^(0.2) - 1 = 0.0538713; R = 0.0538713 / 0.0717735 = 0.750611
     st.BEHIND, st.R_RATIO, 0.750611),
    ("deterioration", (90, 100, ">=", 200, 5, 10),
     # observed = 0.9^(0.2) - 1 = -0.0208516; R = -0.0208516 / 0.0717735 = -0.290520
     st.FAR_BEHIND, st.R_MOVING_AWAY, -0.290520),
    ("achieved_first", (210, 100, ">=", 200, 5, 10),
     # 210 >= 200: target achieved, checked before any growth rate; R is still reported:
     # observed = 2.1^(0.2) - 1 = 0.159961; R = 0.159961 / 0.0717735 = 2.228710
     st.ACHIEVED, st.R_MET, 2.228710),
    ("lower_moderate", (40, 50, "<=", 25, 2, 5),
     # required = (25/50)^(1/5) - 1 = -0.129449; observed = (40/50)^(1/2) - 1 = -0.105573
     # d = -1: R = -1 * -0.105573 / 0.129449 = 0.815552
     st.BEHIND, st.R_RATIO, 0.815552),
    ("lower_on_track", (38, 50, "<=", 25, 2, 5),
     # observed = 0.76^(1/2) - 1 = -0.128220; R = 0.128220 / 0.129449 = 0.990504
     st.ON_SCHEDULE, st.R_RATIO, 0.990504),
    ("lower_deterioration", (55, 50, "<=", 25, 2, 5),
     # observed = 1.1^(1/2) - 1 = 0.0488088; R = -0.0488088 / 0.129449 = -0.377050
     st.FAR_BEHIND, st.R_MOVING_AWAY, -0.377050),
    ("zero_target", (5, 10, "<=", 0, 1, 5),
     # target 0 -> 0.001: required = (0.001/10)^(1/5) - 1 = 10^(-0.8) - 1 = -0.841511
     # observed = (5/10)^(1/1) - 1 = -0.5; R = 0.5 / 0.841511 = 0.594170 < 0.60
     st.FAR_BEHIND, st.R_RATIO, 0.594170),
    ("zero_target_met", (0, 10, "<=", 0, 1, 5),
     # 0 <= 0 holds on the real target: achieved; R reported: observed = 0/10 - 1 = -1,
     # R = 1 / 0.841511 = 1.188339
     st.ACHIEVED, st.R_MET, 1.188339),
    ("zero_baseline", (5, 0, ">=", 10, 1, 5),
     # (5/0) has no growth rate: not assessable
     st.NOT_ASSESSABLE, st.R_CAGR_UNDEFINED, None),
    ("maintain_fails", (99, 100, ">=", 100, 2, 5),
     # baseline meets the target (required growth 0): the comparator failed -> red
     st.FAR_BEHIND, st.R_MAINTAIN_FAILED, None),
    ("three_years", (120, 100, ">=", 150, 3, 5),
     # required = 1.5^(1/5) - 1 = 0.0844718; observed = 1.2^(1/3) - 1 = 0.0626586; R = 0.741769
     st.BEHIND, st.R_RATIO, 0.741769),
    ("no_time_elapsed", (120, 100, ">=", 150, 0, 5),
     st.NOT_ASSESSABLE, st.R_BEFORE_PATH, None),
]


@pytest.mark.parametrize("name,args,status,reason,ratio", CASES, ids=[c[0] for c in CASES])
def test_cagr_case(name, args, status, reason, ratio):
    actual, baseline, comparator, target, elapsed, span = args
    result = st.assess_cagr(actual, baseline, comparator, target, None, elapsed, span)
    assert (result.status, result.reason) == (status, reason)
    if ratio is None:
        assert result.progress_ratio is None
    else:
        assert result.progress_ratio == pytest.approx(ratio, abs=5e-7)


def test_at_least_ten_hand_worked_cases():
    assert len(CASES) >= 10


def test_final_evaluation_overrides_growth():
    # after the target year: 150 of >= 200 is not achieved, gap 50, whatever the growth rate
    r = st.assess_cagr(150, 100, ">=", 200, None, 10, 10, final=True)
    assert (r.status, r.gap) == (st.NOT_ACHIEVED, 50)


def test_sql_cagr_agrees_with_python():
    cases = [
        {"case": name, "actual": a, "baseline": b, "comparator": c, "target_value": t, "target_high": None,
         "fraction": 0.5, "elapsed_years": e, "span_years": s, "green": 1.0, "amber": 0.8, "final": False,
         "single_observation": False, "method": "cagr"}
        for name, (a, b, c, t, e, s), *_ in CASES
    ]
    out = sql_assess(cases)
    for name, (a, b, c, t, e, s), status, reason, _ in CASES:
        row = out[name]
        assert row["status_reason"] == f"{status}|{reason}", name
        py = st.assess_cagr(a, b, c, t, None, e, s)
        if py.progress_ratio is None:
            assert row["progress_ratio"] is None, name
        else:
            assert row["progress_ratio"] == pytest.approx(py.progress_ratio, rel=1e-12), name


def test_cagr_on_band_uses_schedule_in_sql():
    out = sql_assess([{"case": "band", "actual": 25, "baseline": 20, "comparator": ">=", "target_value": 40,
                       "target_high": 60, "fraction": 0.25, "elapsed_years": 1, "span_years": 4, "green": 0.95,
                       "amber": 0.6, "final": False, "single_observation": False, "method": "cagr"}])
    # schedule: (20 - 15) / (20 * 0.25) = 1.0
    assert out["band"]["method_used"] == "schedule"
    assert out["band"]["progress_ratio"] == pytest.approx(1.0)
