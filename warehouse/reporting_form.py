"""What the 填报 form shows and checks, and the progress of a reporting round (no Streamlit; pages/reporting.py,
pages/review.py and the data-quality page call this).

`due_lines(engine, region, period)`: exactly the indicators due from `region` for `period`: the indicator's
frequency is the period's kind, the region's level is one of its reporting levels, a plan in force governs the
region for it (a plan's `exclude` makes it not applicable there), and its urban/rural coverage exists in the
region (an urban-only indicator is not asked of a region without urban communities). Each line carries the
unit, the bounds, the target, last period's value and, for ratio indicators, the numerator/denominator labels.

`check(store, ...)`: the office's figures through the same validation as a file (ReviewStore.validate ->
ingest.prepare_submission), mapped back to indicators, plus the change-from-last-period rule (review.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import polars as pl

from warehouse import review as rv
from warehouse.formatting import comparator_sign
from warehouse.periods import month_period, parse_period, period_end_utc, quarter_period, utc_now, year_period


@dataclass
class FormLine:
    indicator_id: str
    name_zh: str
    name_en: str
    unit_zh: str
    unit_en: str
    ratio: bool
    scale: float
    numerator_zh: str | None
    numerator_en: str | None
    denominator_zh: str | None
    denominator_en: str | None
    minimum: float | None
    maximum: float | None
    target: str | None  # as printed in the plan, e.g. "≥30" or "覆盖所有城乡社区"
    target_year: int | None
    last_period: str
    last_value: float | None
    target_number: str | None = None  # the comparator and value, e.g. "≥100" (English: no Chinese words)

    def name(self, lang: str) -> str:
        return self.name_en if lang == "en" else self.name_zh

    def unit(self, lang: str) -> str:
        return self.unit_en if lang == "en" else self.unit_zh

    def target_text(self, lang: str) -> str | None:
        """The target as the plan prints it; in English the number when the plan's words are Chinese."""
        if lang == "en" and self.target and re.search(r"[\u3400-\u9fff]", self.target):
            return self.target_number
        return self.target


def previous_period(period: str) -> str:
    p = parse_period(period)
    if p.kind == "annual":
        return year_period(p.year - 1).label
    if p.kind == "quarterly":
        q = (p.start.month - 1) // 3 + 1
        return (quarter_period(p.year, q - 1) if q > 1 else quarter_period(p.year - 1, 4)).label
    return (month_period(p.year, p.start.month - 1) if p.start.month > 1 else month_period(p.year - 1, 12)).label


def open_periods(now: datetime | None = None, years: int = 2) -> list[str]:
    """Periods that have ended by `now` and may be reported (newest first): the last `years` years, their
    quarters and months."""
    now = now or utc_now()
    out = []
    for year in range(now.astimezone(timezone.utc).year, now.year - years - 1, -1):
        candidates = [year_period(year)] + [quarter_period(year, q) for q in range(4, 0, -1)] + \
                     [month_period(year, m) for m in range(12, 0, -1)]
        out.extend(p.label for p in candidates if period_end_utc(p) <= now)
    return out


def _covered(registry: Any, code: str, covers: str) -> bool:
    if covers == "all":
        return True
    region = registry.frame.filter(pl.col("code") == code)
    if region.is_empty():
        return True
    column = "n_urban_communities" if covers == "urban" else "n_rural_communities"
    count = region[column][0]
    return count is None or count > 0


def last_values(engine: Any, region: str, period: str) -> dict[str, float | None]:
    """The current (latest ingested) value of each indicator for `region` in `period`."""
    lf = engine.warehouse.snapshot().scan()
    frame = (lf.filter((pl.col("region_code") == region) & (pl.col("period") == period))
             .sort("ingested_at").group_by("indicator_id").agg(pl.col("value").last()).collect())
    return dict(zip(frame["indicator_id"].to_list(), frame["value"].to_list()))


def due_lines(engine: Any, region: str, period: str, as_of: datetime | None = None,
              with_last: bool = True) -> list[FormLine]:
    """The form's lines (`with_last=False`: without reading last period's values, for progress counts)."""
    p = parse_period(period)
    level = engine.level(region)
    moment = as_of or period_end_utc(p)
    last_label = previous_period(period)
    last = last_values(engine, region, last_label) if with_last else {}
    lines = []
    for ind in engine.defs.indicators:
        if ind.frequency.value != p.kind or level not in [lv.value for lv in ind.reported_at]:
            continue
        if not _covered(engine.registry, region, ind.covers.value):
            continue
        governing = engine.governing_plan(region, ind.id, as_of=moment)
        if governing is None:
            continue
        _plan, target = governing
        tgt = target.target
        agg = ind.aggregation
        ratio = agg.rule.value == "ratio"
        lines.append(FormLine(
            indicator_id=ind.id, name_zh=ind.name.zh, name_en=ind.name.en or ind.name.zh,
            unit_zh=ind.unit.zh, unit_en=ind.unit.en or ind.unit.zh, ratio=ratio, scale=float(agg.scale),
            numerator_zh=agg.numerator.zh if ratio and agg.numerator else None,
            numerator_en=(agg.numerator.en or agg.numerator.zh) if ratio and agg.numerator else None,
            denominator_zh=agg.denominator.zh if ratio and agg.denominator else None,
            denominator_en=(agg.denominator.en or agg.denominator.zh) if ratio and agg.denominator else None,
            minimum=ind.bounds.min, maximum=ind.bounds.max,
            target=(tgt.as_written or f"{tgt.comparator.value}{tgt.value:g}") if tgt else None,
            target_year=tgt.year if tgt else None, last_period=last_label, last_value=last.get(ind.id),
            target_number=f"{comparator_sign(tgt.comparator.value)}{tgt.value:g}" if tgt else None,
        ))
    return lines


def check(store: Any, region: str, period: str, values: dict[str, dict], user: str, scope: Any = None,
          lines: list[FormLine] | None = None, now: datetime | None = None) -> dict[str, list[dict]]:
    """Problems per indicator id (each {severity, zh, en}) for the figures typed so far. Empty rows are
    skipped (a draft may be incomplete); the checks are ingest's, so a submit finds the same."""
    filled = {i: v for i, v in values.items()
              if any(str(v.get(k) or "").strip() for k in ("value", "numerator", "denominator"))}
    out: dict[str, list[dict]] = {}
    if not filled:
        return out
    order = list(filled)
    prepared = store.validate(region, period, filled, user, scope=scope, now=now)
    for r in prepared.rejections.iter_rows(named=True):
        if r["row"] is None or not 2 <= r["row"] < len(order) + 2:
            continue
        out.setdefault(order[r["row"] - 2], []).append(
            {"severity": r["severity"], "zh": r["reason_zh"], "en": r["reason_en"]})
    if lines:
        last = {ln.indicator_id: ln.last_value for ln in lines}
        scales = {ln.indicator_id: ln.scale for ln in lines if ln.ratio}
        for ind in rv.unexplained_changes(filled, last, scales):
            out.setdefault(ind, []).append({
                "severity": "error",
                "zh": f"与上期相比变化超过 {rv.CHANGE_THRESHOLD:.0%}，请在备注中填写异常波动说明",
                "en": f"changed by more than {rv.CHANGE_THRESHOLD:.0%} from last period: explain it in the note"})
    return out


def _received(engine: Any, regions: list[str], period: str) -> dict[str, set[str]]:
    """Indicators with a value in the warehouse for each region in `period` (one scan for all regions)."""
    frame = (engine.warehouse.snapshot().scan()
             .filter(pl.col("region_code").is_in(list(regions)) & (pl.col("period") == period))
             .select("region_code", "indicator_id").unique().collect())
    out: dict[str, set[str]] = {}
    for code, ind in frame.iter_rows():
        out.setdefault(code, set()).add(ind)
    return out


def due_at(engine: Any, period: str, lines: list[FormLine]) -> datetime | None:
    """The latest due time of the period's lines (period end + the indicator's due_days)."""
    p = parse_period(period)
    days = [engine.defs.indicator(ln.indicator_id).due_days for ln in lines]
    return period_end_utc(p) + timedelta(days=max(days)) if days else None


def progress(store: Any, engine: Any, regions: list[str], periods: list[str],
             now: datetime | None = None) -> pl.DataFrame:
    """Per region and period: status (not_started / draft / submitted / returned / approved / overdue), rows
    due, rows counted (in the warehouse: approved in the browser or ingested from a file), who it waits on (the
    office or the reviewer). No browser submission but every due figure in the warehouse (files) -> approved.
    Overdue: past due and not started, a draft or returned."""
    now = now or utc_now()
    records = []
    for period in periods:
        received = _received(engine, regions, period)
        for code in regions:
            lines = due_lines(engine, code, period, with_last=False)
            if not lines:
                continue
            sub = store.find(code, period)
            rows = (sub or {}).get("rows", {})
            due_ids = {ln.indicator_id for ln in lines}
            # figures in the warehouse (files ingested by an operator count as approved, and approved rows)
            counted = (received.get(code, set()) & due_ids) | {i for i, r in rows.items() if r["state"] == "approved"}
            status = rv.status_of(sub)
            if status == "not_started" and counted >= due_ids:
                status = "approved"
            due = due_at(engine, period, lines)
            if status in ("not_started", "draft", "returned") and due is not None and now > due:
                status = "overdue"
            waits = {"submitted": "reviewer", "approved": None}.get(status, "office")
            records.append({"region_code": code, "region_name": engine.region_name(code), "period": period,
                            "status": status, "due": len(lines), "approved": len(counted), "waiting_on": waits})
    schema = {"region_code": pl.String, "region_name": pl.String, "period": pl.String, "status": pl.String,
              "due": pl.Int64, "approved": pl.Int64, "waiting_on": pl.String}
    return pl.DataFrame(records, schema=schema, orient="row") if records else pl.DataFrame(schema=schema)
