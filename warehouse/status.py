"""Progress and status formulas, as plain pure functions.

These are the reference implementation of docs/methodology.md. The engine evaluates the same formulas in
DuckDB SQL (warehouse/sql.py, the `pw_*` macros and the status step); tests/test_status.py checks that both
give identical numbers and statuses on a table of cases.

Vocabulary
- comparator / target: the plan's target, e.g. ">= 30"; a band has `target_high` (inside [target, target_high]).
- goal(b): the point of the target nearest to the baseline b (the target itself, or the nearer band edge).
- dist(x): how far x is from meeting the target (0 when it is met), in the indicator's unit.
- fraction f: share of the plan path elapsed, 0 at the path start (end of baseline year), 1 at the end of the
  target year, linear in days (warehouse.periods.year_fraction).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

# Status values (docs/architecture.md).
ACHIEVED = "achieved"
ON_SCHEDULE = "on_schedule"
BEHIND = "behind"
FAR_BEHIND = "far_behind"
NOT_ACHIEVED = "not_achieved"
NO_DATA = "no_data"
NOT_ASSESSABLE = "not_assessable"
TOO_EARLY = "too_early"  # 观察期: too little of the path has elapsed for a ratio to mean anything
NOT_REPORTED = "not_reported"  # final: the target year's value never came in by the deadline
STATUSES = [ACHIEVED, ON_SCHEDULE, BEHIND, FAR_BEHIND, NOT_ACHIEVED, NO_DATA, NOT_ASSESSABLE, TOO_EARLY,
            NOT_REPORTED]

# Reason codes (turned into one sentence zh/en by `reason_text`).
R_NO_TARGET = "no_target"  # the plan names the indicator without a number
R_NO_DATA = "no_data"
R_MET = "met"  # the comparator holds
R_NO_BASELINE = "no_baseline"  # baseline unknown and no observation after the baseline year
R_SINGLE = "single_observation"  # unknown baseline, only one observation, target not met
R_MAINTAIN_FAILED = "maintain_failed"  # baseline met the target, the value no longer does
R_BEFORE_PATH = "before_path"  # latest value is not after the path start: nothing expected yet
R_CAGR_UNDEFINED = "cagr_undefined"  # cagr needs positive baseline and non-negative values
R_MOVING_AWAY = "moving_away"  # progress ratio < 0
R_RATIO = "ratio"  # classified by the progress ratio against the thresholds
R_FINAL_GAP = "final_gap"  # after the target year, target not met
R_NO_REGION_BASELINE = "no_region_baseline"  # below the plan region, no baseline-year value of its own
R_OBSERVATION = "observation"  # observation period (观察期): too early for a ratio
R_FINAL_NOT_REPORTED = "final_not_reported"  # final, no target-year value by the deadline

# Display caps of a progress ratio (a ratio beyond them says nothing more to a reader).
RATIO_CAP_HIGH = 2.0
RATIO_CAP_LOW = -1.0

# The cagr method's fixed thresholds (Open SDG / Eurostat).
CAGR_GREEN = 0.95
CAGR_AMBER = 0.60
CAGR_ZERO_TARGET = 0.001  # a target of 0 is replaced by this (a growth rate towards 0 is undefined)

EQ_TOLERANCE = 1e-9  # "=" holds when |x - target| <= 1e-9 * max(1, |target|)


@dataclass(frozen=True)
class Assessment:
    status: str
    reason: str
    progress_ratio: float | None = None
    expected: float | None = None  # expected value on the plan path at the assessed date (schedule)
    gap: float | None = None  # dist(actual): what is still missing to meet the target


# ---------------------------------------------------------------- path geometry
def path_fraction(moment: date, start: date, end: date) -> float:
    """Share of the path start -> end elapsed at `moment`, linear in days; equals
    periods.year_fraction(moment, baseline_year, target_year) for start = 31 Dec of the baseline year."""
    return (moment - start).days / (end - start).days


def months_between(start: date, end: date) -> int:
    """Whole months between two month-end dates (DuckDB date_diff('month', start, end))."""
    return (end.year - start.year) * 12 + (end.month - start.month)


def is_band(target_high: float | None) -> bool:
    return target_high is not None


def goal(baseline: float, comparator: str, target: float, target_high: float | None) -> float:
    """The point of the target nearest to the baseline (the band edge for bands)."""
    if target_high is not None:
        return max(target, min(baseline, target_high))
    return target


def dist(x: float, comparator: str, target: float, target_high: float | None) -> float:
    """Distance from meeting the target, 0 when met (for strict > / < the boundary itself counts 0)."""
    if target_high is not None:
        return max(target - x, 0.0, x - target_high)
    if comparator in (">=", ">"):
        return max(target - x, 0.0)
    if comparator in ("<=", "<"):
        return max(x - target, 0.0)
    return abs(x - target)


def holds(x: float, comparator: str, target: float, target_high: float | None) -> bool:
    """True when the value meets the target."""
    if target_high is not None:
        return target <= x <= target_high
    if comparator == ">=":
        return x >= target
    if comparator == ">":
        return x > target
    if comparator == "<=":
        return x <= target
    if comparator == "<":
        return x < target
    return abs(x - target) <= EQ_TOLERANCE * max(1.0, abs(target))


def expected_value(
    baseline: float, comparator: str, target: float, target_high: float | None, fraction: float
) -> float:
    """Straight line from the baseline (f = 0) to the goal (f = 1); flat outside [0, 1]."""
    f = min(max(fraction, 0.0), 1.0)
    g = goal(baseline, comparator, target, target_high)
    return baseline + (g - baseline) * f


def path_share(baseline: float, expected: float | None, comparator: str, target: float,
               target_high: float | None) -> float | None:
    """Share of the baseline's distance the path expects closed: (dist(b) - dist(E)) / dist(b). On the straight
    line this is clamp(f, 0, 1); on an annual path (warehouse/annual_path.py) it replaces f in the ratio."""
    db = dist(baseline, comparator, target, target_high)
    if expected is None or db == 0:
        return None
    return (db - dist(expected, comparator, target, target_high)) / db


def classify(ratio: float, green: float, amber: float) -> tuple[str, str]:
    """Progress ratio -> (status, reason)."""
    if ratio < 0:
        return FAR_BEHIND, R_MOVING_AWAY
    if ratio >= green:
        return ON_SCHEDULE, R_RATIO
    if ratio >= amber:
        return BEHIND, R_RATIO
    return FAR_BEHIND, R_RATIO


# ---------------------------------------------------------------- schedule method
def schedule_ratio(
    actual: float, baseline: float, comparator: str, target: float, target_high: float | None, fraction: float
) -> float | None:
    """(dist(b) - dist(a)) / (dist(b) * f): the share of the expected closing of the gap that happened.
    For a ">=" target not yet met this is (a - b) / (expected - b). None when undefined."""
    db = dist(baseline, comparator, target, target_high)
    f = min(fraction, 1.0)
    if db == 0 or f <= 0:
        return None
    return (db - dist(actual, comparator, target, target_high)) / (db * f)


def assess_schedule(
    actual: float | None,
    baseline: float | None,
    comparator: str,
    target: float | None,
    target_high: float | None,
    fraction: float,
    green: float,
    amber: float,
    final: bool = False,
    single_observation: bool = False,
    final_value: bool = True,
    early: bool = False,
    no_region_baseline: bool = False,
    path_expected: float | None = None,
) -> Assessment:
    """Status by the schedule method (时序进度). See docs/methodology.md for every branch.
    final_value: the value is the target year's year-end value (only read when final); early: less than
    `observation_months` after the path start; no_region_baseline: below the plan's region without a
    baseline-year value of its own (and no opt-in fallback); path_expected: the expected value at the value's
    date on an annual-target path (§6a; None: the straight line), whose `path_share` then stands in for f."""
    if target is None:
        return Assessment(NOT_ASSESSABLE, R_NO_TARGET)
    if final and (actual is None or not final_value):
        # gap: of the latest (interim) value, as in the SQL path
        latest_gap = None if actual is None else dist(actual, comparator, target, target_high)
        return Assessment(NOT_REPORTED, R_FINAL_NOT_REPORTED, None, None, latest_gap)
    if actual is None:
        return Assessment(NO_DATA, R_NO_DATA)
    gap = dist(actual, comparator, target, target_high)
    expected = None if baseline is None else expected_value(baseline, comparator, target, target_high, fraction)
    share = fraction
    if path_expected is not None and baseline is not None:
        expected = path_expected
        share = path_share(baseline, path_expected, comparator, target, target_high)
    ratio = None
    if baseline is not None and not single_observation and not early and share is not None:
        ratio = schedule_ratio(actual, baseline, comparator, target, target_high, share)
    met = holds(actual, comparator, target, target_high)
    if final:
        if met:
            return Assessment(ACHIEVED, R_MET, ratio, expected, gap)
        return Assessment(NOT_ACHIEVED, R_FINAL_GAP, ratio, expected, gap)
    if met:
        return Assessment(ACHIEVED, R_MET, ratio, expected, gap)
    if no_region_baseline:
        return Assessment(NOT_ASSESSABLE, R_NO_REGION_BASELINE, None, None, gap)
    if baseline is None:
        return Assessment(NOT_ASSESSABLE, R_NO_BASELINE, None, None, gap)
    if single_observation:
        return Assessment(NOT_ASSESSABLE, R_SINGLE, None, expected, gap)
    if dist(baseline, comparator, target, target_high) == 0:
        return Assessment(FAR_BEHIND, R_MAINTAIN_FAILED, None, expected, gap)
    if fraction <= 0:
        return Assessment(NOT_ASSESSABLE, R_BEFORE_PATH, None, expected, gap)
    if early:
        return Assessment(TOO_EARLY, R_OBSERVATION, None, expected, gap)
    if ratio is None:
        return Assessment(NOT_ASSESSABLE, R_BEFORE_PATH, None, expected, gap)
    status, reason = classify(ratio, green, amber)
    return Assessment(status, reason, ratio, expected, gap)


# ---------------------------------------------------------------- cagr method
def cagr(value_from: float, value_to: float, years: float) -> float:
    """Compound annual growth rate."""
    return (value_to / value_from) ** (1.0 / years) - 1.0


def cagr_ratio(
    actual: float, baseline: float, comparator: str, target: float, elapsed_years: float, span_years: float
) -> float | None:
    """Open SDG / Eurostat: R = d * CAGR_observed / |CAGR_required|, d = +1 for >=/>, -1 for <=/<.
    A target of 0 is replaced by 0.001. None when undefined (baseline <= 0, negative values, no time)."""
    t = CAGR_ZERO_TARGET if target == 0 else target
    if baseline <= 0 or actual < 0 or t < 0 or elapsed_years <= 0 or span_years <= 0:
        return None
    required = cagr(baseline, t, span_years)
    if required == 0:
        return None
    observed = cagr(baseline, actual, elapsed_years)
    d = 1.0 if comparator in (">=", ">") else -1.0
    return d * observed / abs(required)


def assess_cagr(
    actual: float | None,
    baseline: float | None,
    comparator: str,
    target: float | None,
    target_high: float | None,
    elapsed_years: float,
    span_years: float,
    final: bool = False,
    single_observation: bool = False,
    final_value: bool = True,
    early: bool = False,
    no_region_baseline: bool = False,
) -> Assessment:
    """Status by the cagr method. "=" targets and bands have no growth direction: callers use the schedule
    method for them (the engine does). The flags are those of `assess_schedule`."""
    if target is None:
        return Assessment(NOT_ASSESSABLE, R_NO_TARGET)
    if final and (actual is None or not final_value):
        # gap: of the latest (interim) value, as in the SQL path
        latest_gap = None if actual is None else dist(actual, comparator, target, target_high)
        return Assessment(NOT_REPORTED, R_FINAL_NOT_REPORTED, None, None, latest_gap)
    if actual is None:
        return Assessment(NO_DATA, R_NO_DATA)
    gap = dist(actual, comparator, target, target_high)
    ratio = None
    if baseline is not None and not single_observation and not early:
        ratio = cagr_ratio(actual, baseline, comparator, target, elapsed_years, span_years)
    met = holds(actual, comparator, target, target_high)
    if final:
        return Assessment(ACHIEVED if met else NOT_ACHIEVED, R_MET if met else R_FINAL_GAP, ratio, None, gap)
    if met:
        return Assessment(ACHIEVED, R_MET, ratio, None, gap)
    if no_region_baseline:
        return Assessment(NOT_ASSESSABLE, R_NO_REGION_BASELINE, None, None, gap)
    if baseline is None:
        return Assessment(NOT_ASSESSABLE, R_NO_BASELINE, None, None, gap)
    if single_observation:
        return Assessment(NOT_ASSESSABLE, R_SINGLE, None, None, gap)
    if dist(baseline, comparator, target, target_high) == 0:
        return Assessment(FAR_BEHIND, R_MAINTAIN_FAILED, None, None, gap)
    if elapsed_years <= 0:
        return Assessment(NOT_ASSESSABLE, R_BEFORE_PATH, None, None, gap)
    if early:
        return Assessment(TOO_EARLY, R_OBSERVATION, None, None, gap)
    if ratio is None:
        return Assessment(NOT_ASSESSABLE, R_CAGR_UNDEFINED, None, None, gap)
    status, reason = classify(ratio, CAGR_GREEN, CAGR_AMBER)
    return Assessment(status, reason, ratio, None, gap)


# ---------------------------------------------------------------- trend
def trend(
    previous: float | None,
    current: float | None,
    direction: str,
    comparator: str | None = None,
    target: float | None = None,
    target_high: float | None = None,
) -> str | None:
    """improving / worsening / flat between the two latest values; bands and "=" targets by distance."""
    if previous is None or current is None:
        return None
    if abs(current - previous) <= EQ_TOLERANCE * max(1.0, abs(previous)):
        return "flat"
    if target is not None and comparator is not None and (target_high is not None or comparator == "="):
        better = dist(current, comparator, target, target_high) < dist(previous, comparator, target, target_high)
    elif direction == "lower":
        better = current < previous
    else:
        better = current > previous
    return "improving" if better else "worsening"


# ---------------------------------------------------------------- reasons
_STATUS_ZH = {
    ACHIEVED: "已达标",
    ON_SCHEDULE: "符合进度",
    BEHIND: "进度滞后",
    FAR_BEHIND: "严重滞后",
    NOT_ACHIEVED: "未达标",
    NO_DATA: "无数据",
    NOT_ASSESSABLE: "无法评估",
    TOO_EARLY: "观察期",
    NOT_REPORTED: "未报送",
}


def format_ratio(x: float | None) -> str:
    """The one rounding rule for progress ratios (CLI, pages, PDF, reasons): whole percent rounded DOWN
    (0.667 -> 66%, 79.9 % -> 79 %, so "below 80 %" never reads "80 %, below 80 %"), shown as "> 200%" above
    RATIO_CAP_HIGH and "< -100%" below RATIO_CAP_LOW."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    if x > RATIO_CAP_HIGH:
        return f"> {RATIO_CAP_HIGH * 100:.0f}%"
    if x < RATIO_CAP_LOW:
        return f"< {RATIO_CAP_LOW * 100:.0f}%"
    return f"{math.floor(x * 100 + 1e-9):.0f}%"


_pct = format_ratio


def _num(x: float | None) -> str:
    if x is None:
        return "—"
    return f"{x:,.2f}".rstrip("0").rstrip(".")


def reason_text(
    reason: str,
    *,
    attribute: str | None,
    indicator_zh: str,
    indicator_en: str,
    method: str = "schedule",
    progress_ratio: float | None = None,
    green: float | None = None,
    amber: float | None = None,
    comparator: str | None = None,
    target: float | None = None,
    value: float | None = None,
    gap: float | None = None,
    baseline_source: str | None = None,
    region_zh: str | None = None,
    region_en: str | None = None,
    baseline_year: int | None = None,
    previous: float | None = None,
) -> tuple[str, str]:
    """One sentence in Chinese and in English explaining a status."""
    attr_zh = {"binding": "约束性指标", "expected": "预期性指标"}.get(attribute or "", "指标")
    attr_en = {"binding": "Binding indicator", "expected": "Expected indicator"}.get(attribute or "", "Indicator")
    measure_zh = "增速比" if method == "cagr" else "时序进度"
    measure_en = "CAGR ratio" if method == "cagr" else "schedule progress"
    head_zh = f"{attr_zh}「{indicator_zh}」"
    head_en = f"{attr_en} “{indicator_en}”"
    target_txt = f"{comparator}{_num(target)}" if target is not None else "—"
    if reason == R_NO_REGION_BASELINE:
        who_zh, who_en = region_zh or "本地区", region_en or region_zh or "this region"
        return (f"{head_zh}当前值 {_num(value)}，未达到目标 {target_txt}；{who_zh}无 {baseline_year} 年基期值，不计算进度",
                f"{head_en} is {_num(value)}, not yet {target_txt}; no {baseline_year} value for {who_en}, "
                "so no progress ratio")
    if reason == R_OBSERVATION:
        change_zh = change_en = ""
        if previous is not None and value is not None:
            change_zh = f"，较上期 {'+' if value >= previous else ''}{_num(value - previous)}"
            change_en = f", {'+' if value >= previous else ''}{_num(value - previous)} on the previous period"
        return (f"{head_zh}当前值 {_num(value)}{change_zh}；处于观察期（距基期不足一年），暂不评价进度",
                f"{head_en} is {_num(value)}{change_en}; too early to judge (less than a year after the baseline)")
    if reason == R_FINAL_NOT_REPORTED:
        return (f"{head_zh}目标期已过且报送期限已过，未报送目标年度数据",
                f"{head_en}: target year over and its reporting deadline passed without the target-year value")
    if reason == R_NO_TARGET:
        return f"{head_zh}规划未给出目标值", f"{head_en}: the plan gives no target value"
    if reason == R_NO_DATA:
        return f"{head_zh}暂无数据", f"{head_en}: no data yet"
    if reason == R_MET:
        return (f"{head_zh}当前值 {_num(value)} 已达到目标 {target_txt}",
                f"{head_en} is {_num(value)}, meeting the target {target_txt}")
    if reason == R_NO_BASELINE:
        return (f"{head_zh}基期值未知且无基期后观测，无法评估进度",
                f"{head_en}: baseline unknown and no observation after the baseline year")
    if reason == R_SINGLE:
        return (f"{head_zh}基期值未知，仅有一次观测且未达标，无法评估进度",
                f"{head_en}: baseline unknown and a single observation that does not meet the target")
    if reason == R_MAINTAIN_FAILED:
        return (f"{head_zh}基期已达标，当前值 {_num(value)} 未保持目标 {target_txt}",
                f"{head_en} met its target at baseline but is now {_num(value)}, not {target_txt}")
    if reason == R_BEFORE_PATH:
        return (f"{head_zh}最新数据不晚于基期，尚无进度要求",
                f"{head_en}: the latest value is not after the baseline, nothing is expected yet")
    if reason == R_CAGR_UNDEFINED:
        return (f"{head_zh}基期值或当前值非正，增速无法计算",
                f"{head_en}: growth rate undefined for non-positive baseline or values")
    if reason == R_MOVING_AWAY:
        return (f"{head_zh}{measure_zh} {_pct(progress_ratio)}，偏离目标方向",
                f"{head_en}: {measure_en} {_pct(progress_ratio)}, moving away from the target")
    if reason == R_FINAL_GAP:
        return (f"{head_zh}目标期已过，当前值 {_num(value)} 未达到目标 {target_txt}，差距 {_num(gap)}",
                f"{head_en}: target year over, value {_num(value)} misses the target {target_txt} by {_num(gap)}")
    # R_RATIO (each percentage formatted once for both languages)
    ratio_txt = _pct(progress_ratio)
    if progress_ratio is not None and green is not None and progress_ratio >= green:
        green_txt = _pct(green)
        return (f"{head_zh}{measure_zh} {ratio_txt}，不低于 {green_txt}",
                f"{head_en}: {measure_en} {ratio_txt}, at least {green_txt}")
    if progress_ratio is not None and amber is not None and progress_ratio >= amber:
        green_txt = _pct(green)
        return (f"{head_zh}{measure_zh} {ratio_txt}，低于 {green_txt}",
                f"{head_en}: {measure_en} {ratio_txt}, below {green_txt}")
    amber_txt = _pct(amber)
    return (f"{head_zh}{measure_zh} {ratio_txt}，低于 {amber_txt}",
            f"{head_en}: {measure_en} {ratio_txt}, below {amber_txt}")


def status_label_zh(status: str) -> str:
    return _STATUS_ZH.get(status, status)
