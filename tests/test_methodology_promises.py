"""What docs/methodology.md promised but no test exercised (issue 12), each with a hand-computed case:
threshold order, rollup_tolerance and composite_weights overrides, covers all/rural, baseline rules 1-2,
values after the target year, cagr on monthly data and with a negative value, the trend's flat tolerance,
rankings by distance, the composite's treatment of achieved maintain and not-assessable rows, alert severities,
the period spellings, and rounding down at 0.667."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from engine_fixtures import add_batch, definitions, indicator, make_warehouse, plan, registry, target, utc
from warehouse import status as st
from warehouse.definitions import Definitions
from warehouse.engine import Engine, severity
from warehouse.formatting import format_progress
from warehouse.periods import parse_period

CQ = ("county",)


def _row(frame, region, ind):
    rows = frame.filter((pl.col("region_code") == region) & (pl.col("indicator_id") == ind)).to_dicts()
    assert len(rows) == 1, frame
    return rows[0]


# ---------------------------------------------------------------- thresholds: target, then plan, then defaults
def test_threshold_order_target_then_plan_then_defaults():
    d = Definitions.model_validate({
        "defaults": {"thresholds": {"binding": {"green": 0.9, "amber": 0.7}, "expected": {"green": 0.8, "amber": 0.5}}},
        "indicators": [indicator("a"), indicator("b"), indicator("c")],
        "plans": [
            plan("p", "50", [target("a", 1, thresholds={"green": 0.6, "amber": 0.3}), target("b", 1, attribute="binding")]),
            dict(plan("q", "51", [target("c", 1, attribute="binding")]),
                 thresholds={"binding": {"green": 0.99, "amber": 0.95}, "expected": {"green": 0.5, "amber": 0.1}}),
        ],
    })
    p, q = d.plan("p"), d.plan("q")
    assert (d.thresholds_for(p, p.targets[0]).green, d.thresholds_for(p, p.targets[0]).amber) == (0.6, 0.3)  # target
    assert (d.thresholds_for(p, p.targets[1]).green, d.thresholds_for(p, p.targets[1]).amber) == (0.9, 0.7)  # defaults
    assert (d.thresholds_for(q, q.targets[0]).green, d.thresholds_for(q, q.targets[0]).amber) == (0.99, 0.95)  # plan


def test_target_threshold_changes_the_status(tmp_path):
    """>= 90 from 40, 2023 value 40 + 0.85 * 50 * f (f = 1095/1826), so the ratio is exactly 0.85: behind under
    the binding default (0.80 <= r < 1.00), on schedule with a target override green 0.8."""
    f = 1095 / 1826
    value = 40 + 0.85 * 50 * f  # ratio exactly 0.85 on >= 90 from 40
    wh = make_warehouse(tmp_path / "w")
    add_batch(wh, [{"region_code": "500101", "indicator_id": "a", "period": "2023", "value": value},
                   {"region_code": "500101", "indicator_id": "a", "period": "2020", "value": 40}], "2024-02-01")
    for thresholds, status in ((None, "behind"), ({"green": 0.8, "amber": 0.5}, "on_schedule")):
        kw = {"thresholds": thresholds} if thresholds else {}
        d = definitions([indicator("a")], [plan("cq", "50", [target("a", 90, baseline=40, attribute="binding",
                                                                       applies_at=CQ, **kw)])])
        row = _row(Engine(wh.path, d).status("500101", as_of=utc("2024-06")), "500101", "a")
        assert row["progress_ratio"] == pytest.approx(0.85, rel=1e-12) and row["status"] == status


# ---------------------------------------------------------------- overrides: rollup_tolerance, composite_weights
def _two_districts(tmp_path, **defaults):
    wh = make_warehouse(tmp_path / "w")
    add_batch(wh, [
        {"region_code": "500101", "indicator_id": "cnt", "period": "2023", "value": 10},
        {"region_code": "500102", "indicator_id": "cnt", "period": "2023", "value": 10},
        {"region_code": "50", "indicator_id": "cnt", "period": "2023", "value": 21},  # roll-up 20: 5 % off
    ], "2024-02-01")
    d = definitions([indicator("cnt")], [plan("cq", "50", [target("cnt", 100, baseline=1, applies_at=("total",))])],
                    **defaults)
    return Engine(wh.path, d)


def test_rollup_tolerance_override(tmp_path):
    # |21 - 20| = 1 > 0.02 * 20 = 0.4 -> disagreement by default; within a tolerance of 0.06 (1 <= 1.2)
    assert _row(_two_districts(tmp_path).status("50", as_of=utc("2024-06")), "50", "cnt")["disagreement"] is True
    eng = _two_districts(tmp_path / "b", rollup_tolerance=0.06)
    assert _row(eng.status("50", as_of=utc("2024-06")), "50", "cnt")["disagreement"] is False


def _composite_engine(tmp_path, **defaults):
    inds = [indicator("b1"), indicator("e1"), indicator("keep"), indicator("nobase")]
    d = definitions(inds, [plan("cq", "50", [
        target("b1", 90, baseline=40, attribute="binding", applies_at=CQ),
        target("e1", 90, baseline=40, applies_at=CQ),
        target("keep", 100, baseline=100, applies_at=CQ),  # maintain-type
        target("nobase", 90, baseline=40, applies_at=CQ),  # no own 2020 value -> not assessable
    ])], **defaults)
    wh = make_warehouse(tmp_path / "w")
    f = 1095 / 1826
    add_batch(wh, [
        {"region_code": "500101", "indicator_id": i, "period": "2020", "value": 40} for i in ("b1", "e1")
    ] + [
        {"region_code": "500101", "indicator_id": "b1", "period": "2023", "value": 40 + 1.2 * 50 * f},  # 1.2 -> 1
        {"region_code": "500101", "indicator_id": "e1", "period": "2023", "value": 40 - 0.3 * 50 * f},  # -0.3 -> 0
        {"region_code": "500101", "indicator_id": "keep", "period": "2020", "value": 100},
        {"region_code": "500101", "indicator_id": "keep", "period": "2023", "value": 100},  # achieved
        {"region_code": "500101", "indicator_id": "nobase", "period": "2023", "value": 50},
    ], "2024-02-01")
    return Engine(wh.path, d)


def test_composite_treatment_and_weights_override(tmp_path):
    """b1 binding ratio 1.2 -> credit 1 (weight 2); e1 moving away, ratio -0.3 -> credit 0 (weight 1, never
    negative); keep: achieved maintain target -> 1 (weight 1); nobase not assessable -> left out.
    Score = (2*1 + 1*0 + 1*1) / 4 = 0.75. With weights binding 1, expected 3: (1 + 0 + 3) / 7 = 0.5714."""
    ranks = _composite_engine(tmp_path).rank("5001", "composite", as_of=utc("2024-06"))
    row = ranks.filter(pl.col("region_code") == "500101").row(0, named=True)
    assert row["score"] == pytest.approx(0.75, rel=1e-12) and row["n_indicators"] == 4
    eng = _composite_engine(tmp_path / "b", composite_weights={"binding": 1, "expected": 3})
    row = eng.rank("5001", "composite", as_of=utc("2024-06")).filter(pl.col("region_code") == "500101").row(0, named=True)
    assert row["score"] == pytest.approx(4 / 7, rel=1e-12)


# ---------------------------------------------------------------- covers: all and rural
def test_covers_all_and_rural_count_the_right_communities(tmp_path):
    """per_community roll-up: 500101 average 4 (30 urban + 70 rural), 500102 average 2 (10 + 90).
    covers all: (4*100 + 2*100) / 200 = 3.0; covers rural: (4*70 + 2*90) / 160 = 2.875."""
    reg = registry({"500101": (30, 70), "500102": (10, 90)})
    wh = make_warehouse(tmp_path / "w", reg)
    rows = []
    for ind in ("pc_all", "pc_rural"):
        rows += [{"region_code": "500101", "indicator_id": ind, "period": "2023", "value": 4},
                 {"region_code": "500102", "indicator_id": ind, "period": "2023", "value": 2}]
    add_batch(wh, rows, "2024-02-01")
    inds = [indicator("pc_all", "per_community", covers="all"), indicator("pc_rural", "per_community", covers="rural")]
    d = definitions(inds, [plan("cq", "50", [target(i["id"], 10, baseline=1, applies_at=("total", "city")) for i in inds])])
    frame = Engine(wh.path, d).status("5001", as_of=utc("2024-06"))
    assert _row(frame, "5001", "pc_all")["value"] == pytest.approx(3.0, rel=1e-12)
    assert _row(frame, "5001", "pc_rural")["value"] == pytest.approx(2.875, rel=1e-12)


# ---------------------------------------------------------------- baseline rules 1-2, values after the target year
def test_baseline_rules_plan_region_then_region_own(tmp_path):
    """Rule 1: the plan's own region uses the plan's baseline (50) even with a 2020 value of its own (45).
    Rule 2: a district uses its own 2020 value (30), not the plan's."""
    wh = make_warehouse(tmp_path / "w")
    add_batch(wh, [{"region_code": "50", "indicator_id": "a", "period": "2020", "value": 45},
                   {"region_code": "50", "indicator_id": "a", "period": "2023", "value": 60},
                   {"region_code": "500101", "indicator_id": "a", "period": "2020", "value": 30},
                   {"region_code": "500101", "indicator_id": "a", "period": "2023", "value": 60}], "2024-02-01")
    d = definitions([indicator("a")], [plan("cq", "50", [target("a", 90, baseline=50, applies_at=("total", "county"))])])
    eng = Engine(wh.path, d)
    own = _row(eng.status("50", as_of=utc("2024-06")), "50", "a")
    assert (own["baseline_value"], own["baseline_source"], own["baseline_region"]) == (50, "plan", "50")
    kid = _row(eng.status("500101", as_of=utc("2024-06")), "500101", "a")
    assert (kid["baseline_value"], kid["baseline_source"]) == (30, "region")
    f = 1095 / 1826
    assert kid["progress_ratio"] == pytest.approx(30 / (60 * f), rel=1e-12)


def test_values_after_the_target_year_are_ignored(tmp_path):
    """A 2026 value of 120 does not make a 2025 target (>= 100) achieved: the 2025 value 90 decides."""
    wh = make_warehouse(tmp_path / "w")
    add_batch(wh, [{"region_code": "500101", "indicator_id": "a", "period": "2020", "value": 50},
                   {"region_code": "500101", "indicator_id": "a", "period": "2025", "value": 90},
                   {"region_code": "500101", "indicator_id": "a", "period": "2026", "value": 120}], "2026-03-01")
    d = definitions([indicator("a")], [plan("cq", "50", [target("a", 100, baseline=50, applies_at=CQ)])])
    row = _row(Engine(wh.path, d).status("500101", as_of=utc("2026-06")), "500101", "a")
    assert (row["period"], row["value"], row["status"], row["gap"]) == ("2025", 90, "not_achieved", 10)


# ---------------------------------------------------------------- cagr: monthly data, a negative value
def test_cagr_on_monthly_data_and_negative_value(tmp_path):
    """Monthly value 130 for 2023-06 from 100 (2020) towards >= 200 by 2025: elapsed = 30 months = 2.5 years,
    span 5 years. R = (1.3^(1/2.5) - 1) / (2^(1/5) - 1) = 0.11065 / 0.14870 = 0.7441 -> behind.
    A negative value has no growth rate -> not assessable (cagr_undefined)."""
    wh = make_warehouse(tmp_path / "w")
    add_batch(wh, [{"region_code": "500101", "indicator_id": "g", "period": "2020-12", "value": 100},
                   {"region_code": "500101", "indicator_id": "g", "period": "2023-06", "value": 130},
                   {"region_code": "500102", "indicator_id": "g", "period": "2020-12", "value": 100},
                   {"region_code": "500102", "indicator_id": "g", "period": "2023-06", "value": -5}], "2023-07-10")
    d = definitions([indicator("g", method="cagr", frequency="monthly")],
                    [plan("cq", "50", [target("g", 200, baseline=100, applies_at=CQ)])])
    frame = Engine(wh.path, d).children_status("5001", as_of=utc("2023-07"))
    row = _row(frame, "500101", "g")
    expected = (1.3 ** (1 / 2.5) - 1) / (2 ** 0.2 - 1)
    assert row["progress_ratio"] == pytest.approx(expected, rel=1e-12) and row["status"] == "behind"
    assert round(expected, 4) == 0.7441
    neg = _row(frame, "500102", "g")
    assert (neg["status"], neg["reason"]) == ("not_assessable", "cagr_undefined")


# ---------------------------------------------------------------- trend: flat tolerance
def test_trend_flat_tolerance():
    # equal within 1e-9 relative (of max(1, |previous|)) is flat; just beyond is not
    assert st.trend(1000.0, 1000.0 + 1e-7, "higher") == "flat"  # 1e-7 <= 1e-9 * 1000 = 1e-6
    assert st.trend(1000.0, 1000.0 + 2e-6, "higher") == "improving"
    assert st.trend(0.5, 0.5 + 5e-10, "lower") == "flat"  # max(1, 0.5) = 1 -> 1e-9
    assert st.trend(0.5, 0.5 + 2e-9, "lower") == "worsening"


# ---------------------------------------------------------------- rankings by distance
def test_rankings_by_distance_for_eq_and_band(tmp_path):
    """= 5: values 4 (distance 1), 7 (2), 5 (0) -> ranks 500110, 500101, 500102 = 1, 2, 3.
    Band [40, 60]: 45 (0), 65 (5), 30 (10) -> 1, 2, 3; direction-blind (65 above beats 30 below)."""
    wh = make_warehouse(tmp_path / "w")
    add_batch(wh, [
        {"region_code": "500101", "indicator_id": "eq", "period": "2023", "value": 4},
        {"region_code": "500102", "indicator_id": "eq", "period": "2023", "value": 7},
        {"region_code": "500110", "indicator_id": "eq", "period": "2023", "value": 5},
        {"region_code": "500101", "indicator_id": "band", "period": "2023", "value": 45},
        {"region_code": "500102", "indicator_id": "band", "period": "2023", "value": 65},
        {"region_code": "500110", "indicator_id": "band", "period": "2023", "value": 30},
    ], "2024-02-01")
    d = definitions([indicator("eq"), indicator("band", direction="band")], [plan("cq", "50", [
        target("eq", 5, comparator="=", baseline=10, applies_at=CQ),
        dict(target("band", 40, baseline=20, applies_at=CQ), target={"comparator": ">=", "value": 40,
                                                                     "value_high": 60, "year": 2025}),
    ])])
    eng = Engine(wh.path, d)
    eq = {r["region_code"]: r["rank"] for r in eng.rank("5001", "eq", as_of=utc("2024-06")).iter_rows(named=True)}
    assert (eq["500110"], eq["500101"], eq["500102"]) == (1, 2, 3)
    band = {r["region_code"]: r["rank"] for r in eng.rank("5001", "band", as_of=utc("2024-06")).iter_rows(named=True)}
    assert (band["500101"], band["500102"], band["500110"]) == (1, 2, 3)


# ---------------------------------------------------------------- alert severities
@pytest.mark.parametrize("status,attribute,expected", [
    ("far_behind", "binding", 0), ("not_achieved", "binding", 0), ("far_behind", "expected", 1),
    ("not_achieved", "expected", 1), ("behind", "binding", 2), ("behind", "expected", 3),
])
def test_alert_severities(status, attribute, expected):
    assert severity(status, attribute) == expected
    # grey and green statuses are never alerts (> 4: the overdue severity)
    assert all(severity(s, attribute) > 4 for s in ("achieved", "on_schedule", "no_data", "not_assessable",
                                                    "too_early", "not_reported"))


# ---------------------------------------------------------------- period spellings
@pytest.mark.parametrize("written,label,end", [
    ("2024年", "2024", date(2024, 12, 31)), ("2024年7月", "2024-07", date(2024, 7, 31)),
    ("2024/07", "2024-07", date(2024, 7, 31)), ("202407", "2024-07", date(2024, 7, 31)),
    ("2024年第3季度", "2024-Q3", date(2024, 9, 30)), ("2024-Q3", "2024-Q3", date(2024, 9, 30)),
])
def test_period_spellings(written, label, end):
    parsed = parse_period(written)
    assert (parsed.label, parsed.end) == (label, end)


# ---------------------------------------------------------------- rounding down
def test_rounding_down_at_0667_everywhere():
    """The methodology's example: ratio (50 - 30) / 29.98 = 0.667 reads 66% (not 67%) in the reason, the CLI
    table and the pages/PDF (one rule: status.format_ratio)."""
    ratio = 20 / (50 * 1095 / 1826)
    assert ratio == pytest.approx(0.66700, abs=1e-4)
    assert st.format_ratio(ratio) == format_progress(ratio) == "66%"
    zh, _ = st.reason_text(st.R_RATIO, attribute="binding", indicator_zh="x", indicator_en="x",
                           progress_ratio=ratio, green=1.0, amber=0.8)
    assert "时序进度 66%，低于 80%" in zh
    assert st.format_ratio(3.714) == "> 200%" and st.format_ratio(-13.53) == "< -100%" and st.format_ratio(2.0) == "200%"
