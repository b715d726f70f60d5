"""The rest of the country in the synthetic sample (THE NUMBERS ARE SYNTHETIC).

`warehouse/sample.py` builds the deep parts of the sample (Chongqing, Sichuan, Yuxi, Wansheng). This module
adds what a national leader sees first:

- reporters for every other province: each city (地级) of the province, or, in the municipalities whose
  cities are NBS placeholders (Beijing 11, Tianjin 12, Shanghai 31), each district and county; Yunnan's
  cities other than Yuxi (whose counties already report). They report the national plan's indicators,
  with a per-province tendency (a province that lags on an indicator mostly has lagging cities), so the
  national heatmap and rankings show differences between provinces;
- every province's own figure for the national plan's indicators, compiled from its reporters (numerators
  and denominators summed, so the submitted figure agrees with the engine's roll-up);
- realistic gaps: a few provinces are usually late, two have not yet sent their latest quarterly figures,
  and a few cities never sent one annual report.

All of it goes into one file per reporting round from the national reporting system (`provinces_<round>.csv`),
each row carrying its own 填报人 (the province's civil affairs department).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

import polars as pl

from warehouse.definitions import AggregationRule, Definitions
from warehouse.periods import CST, parse_period
from warehouse.regions import MUNICIPALITIES, RegionRegistry
from warehouse.sample_rows import Row, Subject, rng

SUBMITTER = "provinces"
DEEP_PROVINCES = ("50", "51")  # reported by the sample's deep parts (sample.py)
LATE_PROVINCES = 3  # provinces that send about half their figures late
SILENT_PROVINCES = 2  # provinces that have not sent their quarterly figures since the plan's last quarter
FORGETFUL_CITIES = 6  # cities that never sent one annual report
PROVINCE_TENDENCY = 0.75  # chance that a city follows its province's profile for an indicator


def department(name: str) -> str:
    """The 填报人 of a province: its civil affairs department (民政厅; 民政局 in the municipalities)."""
    return f"{name}民政{'局' if name.endswith('市') else '厅'}"


def national_indicators(definitions: Definitions) -> list[str]:
    """The indicators targeted by the national plans (region CN), in definition order, without repeats."""
    out: list[str] = []
    for plan in definitions.plans:
        if plan.region == "CN":
            out += [t.indicator for t in plan.targets if t.indicator not in out]
    return out


def subjects(registry: RegionRegistry, make) -> list[Subject]:
    """Reporters outside the deep parts: `make(frame, submitter, province=...)` builds Subjects."""
    frame = registry.frame
    code, level = pl.col("code"), pl.col("level")
    out: list[Subject] = []
    for province in frame.filter(level == "province").sort("code")["code"].to_list():
        if province in DEEP_PROVINCES:
            continue
        if province in MUNICIPALITIES:
            rows = frame.filter((level == "county") & code.str.starts_with(province))
        else:
            rows = frame.filter((level == "city") & (pl.col("parent") == province) & (code != "5304"))
        out += make(rows, SUBMITTER, province=province)
    return out


def province_subjects(registry: RegionRegistry, make) -> list[Subject]:
    frame = registry.frame
    return make(frame.filter(pl.col("level") == "province"), SUBMITTER, province=None)


def gaps(registry: RegionRegistry, seed: int) -> tuple[set[str], set[str], set[str]]:
    """(late provinces, silent provinces, forgetful cities), drawn from the seed."""
    provinces = registry.frame.filter(pl.col("level") == "province").sort("code")["code"].to_list()
    cities = registry.frame.filter(
        (pl.col("level") == "city") & ~pl.col("parent").is_in(list(DEEP_PROVINCES) + list(MUNICIPALITIES))
    ).sort("code")["code"].to_list()
    pick = rng(seed, "gaps")
    late = set(pick.sample(provinces, min(LATE_PROVINCES, len(provinces))))
    silent = set(pick.sample([p for p in provinces if p not in late], min(SILENT_PROVINCES, len(provinces))))
    forgetful = set(pick.sample(cities, min(FORGETFUL_CITIES, len(cities))))
    return late, silent, forgetful


def drop_forgotten(rows: list[Row], forgetful: set[str], seed: int) -> list[Row]:
    """Each forgetful city loses one annual report (a year drawn from those it reported)."""
    years: dict[str, list[str]] = {}
    for r in rows:
        if r.subject.code in forgetful and len(r.period) == 4:
            years.setdefault(r.subject.code, []).append(r.period)
    lost = {code: rng(seed, "forgot", code).choice(sorted(set(found))) for code, found in years.items()}
    return [r for r in rows if lost.get(r.subject.code) != r.period or len(r.period) != 4]


def province_rows(provinces: list[Subject], reporter_rows: list[Row], definitions: Definitions, seed: int,
                  late: set[str], silent: set[str]) -> list[Row]:
    """Each province's own figures for the national indicators, compiled from its reporters' rows."""
    wanted = set(national_indicators(definitions))
    sums: dict[tuple[str, str, str], list[float]] = {}  # (province, indicator, period) -> [num, den, value, n]
    for r in reporter_rows:
        # a province's reporters: its cities or (municipalities, Yuxi) counties; not the townships of
        # Wansheng (already inside 綦江区) nor the plan regions' own figures
        if (r.indicator_id not in wanted or r.subject.level not in ("city", "county")
                or r.subject.only_if_not_reported_at is not None):
            continue
        acc = sums.setdefault((r.subject.code[:2], r.indicator_id, r.period), [0.0, 0.0, 0.0, 0])
        acc[0] += r.numerator or 0.0
        acc[1] += r.denominator or 0.0
        acc[2] += r.value or 0.0
        acc[3] += 1
    by_code = {s.code: s for s in provinces}
    # silent provinces stopped sending quarterly figures from the last quarter inside the national plan
    # period that anyone reported (so the gap is expected and shows as overdue)
    last_year = max((p.period.target for p in definitions.plans if p.region == "CN"), default=9999)
    quarters = [period for (_c, _i, period) in sums if "Q" in period and int(period[:4]) <= last_year]
    stop_from = max(quarters) if quarters else None
    out: list[Row] = []
    for (code, indicator_id, period), (num, den, value, _n) in sorted(sums.items()):
        subject = by_code.get(code)
        if subject is None:
            continue
        indicator = definitions.indicator(indicator_id)
        if subject.level not in [lv.value for lv in indicator.reported_at]:
            continue
        if code in silent and stop_from is not None and "Q" in period and period >= stop_from:
            continue  # not sent yet: overdue
        rule = indicator.aggregation.rule
        scale = indicator.aggregation.scale or 1.0
        numerator = denominator = None
        if rule in (AggregationRule.ratio, AggregationRule.weighted_mean):
            if den <= 0:
                continue
            numerator, denominator = round(num, 2), round(den, 2)
            value = numerator / denominator * scale
            if rule == AggregationRule.weighted_mean:
                value = round(value, 2)
        elif rule in (AggregationRule.sum, AggregationRule.per_community):
            value = round(value, 2)
        else:
            continue
        rnd = rng(seed, "province", code, indicator_id, period)
        if rnd.random() < 0.01:
            continue  # missing
        parsed = parse_period(period)
        due = indicator.due_days
        is_late = rnd.random() < (0.5 if code in late else 0.05)
        offset = due + rnd.uniform(5, 45) if is_late else rnd.uniform(min(3, due), max(due - 1, 1))
        sent = datetime.combine(parsed.end, time(11, 0), CST) + timedelta(days=offset)
        out.append(Row(subject, indicator_id, period, parsed.end, value, numerator, denominator,
                       sent.astimezone(timezone.utc), ratio=rule == AggregationRule.ratio))
    return out


def country_profile(rnd) -> tuple[str, float]:
    """Outside the deep parts most regions met the national plan (as the plan's mid-term review reported):
    about three in five ahead of the path, one in five about on it, the rest lagging or regressing."""
    draw = rnd.random()
    if draw < 0.58:
        return "on_schedule", rnd.uniform(1.04, 1.25)
    if draw < 0.80:
        return "on_schedule", rnd.uniform(0.97, 1.04)
    if draw < 0.95:
        return "lagging", rnd.uniform(0.55, 0.9)
    return "regressing", rnd.uniform(0.6, 0.9)


def follow_province(subject: Subject, indicator_id: str, seed: int, own: tuple[str, float]) -> tuple[str, float]:
    """A reporter's profile for an indicator: in the deep parts its own draw (`own`); elsewhere mostly its
    province's tendency, sometimes a draw of its own."""
    if subject.province is None:
        return own
    if rng(seed, "follow", subject.code, indicator_id).random() >= PROVINCE_TENDENCY:
        return country_profile(rng(seed, "own", subject.code, indicator_id))
    profile, multiplier = country_profile(rng(seed, "tendency", subject.province, indicator_id))
    jitter = rng(seed, "jitter", subject.code, indicator_id).uniform(0.97, 1.03)
    return profile, multiplier * jitter


def untargeted_path(indicator, pairs) -> list[tuple[float, float]]:
    """A plausible path for a bounded indicator whose plans give neither baseline nor target (the national
    plan's 政务服务自助办理 row): from 55% to 85% of the upper bound over the plan period. Regions still
    report such indicators; their status stays "not assessable" (no target)."""
    high = indicator.bounds.max
    if high is None or not pairs:
        return []
    plan = pairs[-1][0]
    return [(float(plan.period.baseline), 0.55 * high), (float(plan.period.target), 0.85 * high)]
