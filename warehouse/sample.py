"""The synthetic sample warehouse (`planwatch sample`). THE NUMBERS ARE SYNTHETIC.

Deterministic from (seed, today, definitions, regions). It covers Chongqing's districts and counties plus
the 万盛经开区 townships, Sichuan's 21 cities and prefectures, Yuxi's 9 counties and the national level,
for every indicator of the plans governing each region (where the indicator is reported at that level),
from the plan's baseline year to the latest complete period before `today`. Chongqing (50), Sichuan (51)
and Yuxi (5304) themselves submit only the indicators their districts/cities/counties cannot report.

It writes real submission files (CSV: Chinese headers, UTF-8 with BOM for Chongqing, Yunnan and the
national level, GB18030 for Sichuan) and ingests them through `storage.ingest_file` with a controlled
clock, so the sample exercises the real path: one file per submitter and reporting month of the current
year (per quarter before; a file is ingested an hour after its last row was sent), late submissions in later files, a few correction files, and two bad files
that are rejected.
"""

from __future__ import annotations

import csv
import random
import tempfile
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

from warehouse.definitions import AggregationRule, Definitions, Direction, Frequency, Plan, PlanTarget
from warehouse.paths import sample_regions_path
from warehouse.periods import CST, month_period, quarter_period, year_period
from warehouse.regions import RegionRegistry, display_code
from warehouse.sample_rows import SUBMITTERS, Row, Subject, rng
from warehouse.storage import Warehouse, ingest_file
from warehouse import sample_country

SAMPLE_USER = "sample-generator"
HEADERS = ["地区代码", "地区名称", "指标代码", "统计期", "数值", "分子", "分母", "备注", "填报人", "填报时间"]


class SampleError(Exception):
    """A problem that stops the sample from being generated (message Chinese, then English)."""


# ---------------------------------------------------------------- regions and plans


def _maker(registry: RegionRegistry):
    """make(rows, submitter, only=None, province=None) -> Subjects for the rows of a registry frame."""

    def make(rows, submitter: str, only: str | None = None, province: str | None = None) -> list[Subject]:
        out = []
        for r in rows.sort("code").iter_rows(named=True):
            who = None
            if submitter == sample_country.SUBMITTER:
                home = registry.get(r["code"][:2])
                who = sample_country.department(home.name if home else r["code"][:2])
            out.append(Subject(r["code"], r["name"], r["level"], submitter, int(r["n_urban_communities"] or 0),
                               int(r["n_rural_communities"] or 0), only, province, who))
        return out

    return make


def _subjects(registry: RegionRegistry, definitions: Definitions) -> list[Subject]:
    frame = registry.frame
    make = _maker(registry)

    import polars as pl

    cq = frame.filter((pl.col("level") == "county") & pl.col("code").str.starts_with("50"))
    wansheng_codes: list[str] = []
    for group in definitions.region_groups:
        if group.id == "wansheng" or "万盛" in group.name.zh:
            wansheng_codes = [c for c in group.members if len(c) == 9]
    ws = frame.filter(pl.col("code").is_in(wansheng_codes))
    sc = frame.filter((pl.col("level") == "city") & (pl.col("parent") == "51"))
    yx = frame.filter((pl.col("level") == "county") & (pl.col("parent") == "5304"))
    cn = frame.filter(pl.col("code") == "CN")
    subjects = make(cq, "chongqing") + make(ws, "chongqing") + make(sc, "sichuan") + make(yx, "yuxi") + make(cn, "national")
    subjects += make(frame.filter(pl.col("code") == "50"), "chongqing", "county")
    subjects += make(frame.filter(pl.col("code") == "51"), "sichuan", "city")
    subjects += make(frame.filter(pl.col("code") == "5304"), "yuxi", "county")
    subjects += sample_country.subjects(registry, make)
    if len(sc) == 0 or len(cq) == 0 or len(cn) == 0:
        raise SampleError("示例地区表缺少重庆、四川或全国 / the sample region registry lacks Chongqing, Sichuan or CN")
    return subjects


def _members(ref: str, definitions: Definitions) -> list[str]:
    if ref.startswith("group:"):
        try:
            return list(definitions.group(ref[6:]).members)
        except KeyError:
            return []
    return [ref]


def _covers(ref: str, code: str, definitions: Definitions) -> bool:
    if ref == "CN":
        return True
    return any(m != "CN" and code.startswith(m) for m in _members(ref, definitions))


def _plan_weight(plan: Plan) -> int:
    """Specificity: groups and longer codes are more specific."""
    return 20 if plan.region.startswith("group:") else (0 if plan.region == "CN" else len(plan.region))


def _governing_targets(code: str, definitions: Definitions) -> dict[str, list[tuple[Plan, PlanTarget]]]:
    """indicator id -> (plan, target) pairs of plans covering `code` (exclusions respected), oldest first."""
    out: dict[str, list[tuple[Plan, PlanTarget]]] = {}
    for plan in definitions.plans:
        if not _covers(plan.region, code, definitions):
            continue
        for target in plan.targets:
            excluded = any(_covers(ref, code, definitions) for ref in target.exclude)
            if not excluded:
                out.setdefault(target.indicator, []).append((plan, target))
    for pairs in out.values():
        pairs.sort(key=lambda pt: (pt[0].period.target, _plan_weight(pt[0])))
    return out


def _comms(subject_or_counts, covers: str) -> int:
    urban, rural = subject_or_counts
    return {"urban": urban, "rural": rural}.get(covers, urban + rural)


def _region_counts(ref: str, registry: RegionRegistry, definitions: Definitions) -> tuple[int, int]:
    urban = rural = 0
    for code in _members(ref, definitions):
        region = registry.get(code)
        if region is not None:
            urban += int(region.n_urban_communities or 0)
            rural += int(region.n_rural_communities or 0)
    return urban, rural


# ---------------------------------------------------------------- trajectories


_rng = rng


def _anchors(indicator, pairs, share: float) -> list[tuple[float, float]]:
    """(year-end as a float year, value) points of the plan path for one region; `share` scales totals."""
    points: dict[float, float] = {}
    # per plan period, only the most specific plan's target counts (Chongqing's over the national one)
    best: dict[int, tuple[Plan, PlanTarget]] = {}
    for plan, target in pairs:
        year = plan.period.target
        if year not in best or _plan_weight(plan) > _plan_weight(best[year][0]):
            best[year] = (plan, target)
    for _, (plan, target) in sorted(best.items()):
        base = target.baseline.value if target.baseline and target.baseline.value is not None else None
        base_year = target.baseline.year if target.baseline else plan.period.baseline
        goal = None
        goal_year = plan.period.target
        if target.target is not None:
            goal = target.target.value
            if indicator.direction == Direction.band and target.target.value_high is not None:
                goal = (target.target.value + target.target.value_high) / 2
            goal_year = target.target.year
        if base is None and goal is None:
            continue
        if base is None:
            base = goal * (1.35 if indicator.direction == Direction.lower else 0.75)
        if goal is None:
            goal = base * (0.85 if indicator.direction == Direction.lower else 1.15)
        scale = share if (indicator.aggregation.rule == AggregationRule.sum and target.applies_at == ["total"]) else 1.0
        points[float(base_year)] = base * scale  # a later plan's baseline replaces an earlier plan's target
        points[float(goal_year)] = goal * scale
    return sorted(points.items())


def _path_value(anchors: list[tuple[float, float]], t: float) -> float:
    if t <= anchors[0][0]:
        return anchors[0][1]
    for (t0, v0), (t1, v1) in zip(anchors, anchors[1:]):
        if t <= t1:
            return v0 + (v1 - v0) * (t - t0) / (t1 - t0)
    # beyond the last target: keep the last slope, halved
    if len(anchors) >= 2:
        (t0, v0), (t1, v1) = anchors[-2], anchors[-1]
        return v1 + 0.5 * (v1 - v0) / (t1 - t0) * (t - t1)
    return anchors[-1][1]


def _periods(frequency: Frequency, first_year: int, today: date):
    """Periods from the start of first_year whose end is before today."""
    year = first_year
    while year <= today.year:
        if frequency == Frequency.annual:
            candidates = [year_period(year)]
        elif frequency == Frequency.quarterly:
            candidates = [quarter_period(year, q) for q in range(1, 5)]
        else:
            candidates = [month_period(year, m) for m in range(1, 13)]
        for period in candidates:
            if period.end < today:
                yield period
        year += 1


def _float_year(day: date) -> float:
    return day.year - 1 + (day.timetuple().tm_yday / (366 if day.year % 4 == 0 else 365))


def _profile(rnd: random.Random) -> tuple[str, float]:
    draw = rnd.random()
    if draw < 0.68:
        return "on_schedule", rnd.uniform(1.0, 1.15)
    if draw < 0.90:
        return "lagging", rnd.uniform(0.45, 0.85)
    return "regressing", rnd.uniform(0.6, 0.9)


def _denominator_size(text: str, counts: tuple[int, int], covers: str, rnd: random.Random) -> float:
    """A plausible denominator for the region from what the definitions say it counts."""
    communities = max(_comms(counts, covers), 1)
    households = communities * rnd.uniform(600, 1100)
    if "百户" in text:
        return round(households / 100)
    if "万人" in text:
        return round(households * 2.8 / 10000, 2)
    if "户" in text:
        return round(households)
    if "人" in text and "社区" not in text:
        return round(households * 2.8)
    return communities  # communities (城市社区 / 农村社区 / 社区) and anything else


def _rows_for(subject: Subject, definitions: Definitions, registry: RegionRegistry, seed: int,
              today: date) -> list[Row]:
    rows: list[Row] = []
    targets = _governing_targets(subject.code, definitions)
    counts = (subject.n_urban, subject.n_rural)
    for indicator_id in sorted(targets):
        try:
            indicator = definitions.indicator(indicator_id)
        except KeyError:
            continue
        levels = [lv.value for lv in indicator.reported_at]
        if subject.level not in levels or subject.only_if_not_reported_at in levels:
            continue
        pairs = targets[indicator_id]
        covers = indicator.covers.value
        plan_counts = _region_counts(pairs[-1][0].region, registry, definitions)
        mine, total = _comms(counts, covers), _comms(plan_counts, covers)
        share = mine / total if total else 1.0
        anchors = _anchors(indicator, pairs, share) or sample_country.untargeted_path(indicator, pairs)
        if not anchors:
            continue
        rnd = _rng(seed, subject.code, indicator_id)
        profile, multiplier = sample_country.follow_province(subject, indicator_id, seed, _profile(rnd))
        level_offset = rnd.uniform(-0.08, 0.08)
        if subject.province is not None:  # outside the deep parts: near or above the path (see sample_country)
            level_offset = max(level_offset, -0.02)
        regress_from = rnd.uniform(0.4, 0.8)
        start = anchors[0][0]
        first_year = int(min(plan.period.baseline for plan, _ in pairs))
        span = max(anchors[-1][0] - start, 1.0)
        rule = indicator.aggregation.rule
        lo, hi = indicator.bounds.min, indicator.bounds.max
        den_text = (indicator.aggregation.denominator.zh if indicator.aggregation.denominator else "")
        den0 = _denominator_size(den_text, counts, covers, rnd)
        integral = rule == AggregationRule.sum and all(float(v).is_integer() for _, v in anchors)
        per_community = rule == AggregationRule.per_community
        for period in _periods(indicator.frequency, first_year, today):
            t = _float_year(period.end)
            base = anchors[0][1] * (1 + level_offset)
            planned = _path_value(anchors, t) * (1 + level_offset)
            value = base + (planned - base) * multiplier
            if profile == "regressing" and t > start + regress_from * span:
                value -= (planned - base) * 0.6 * (t - start - regress_from * span) / span + abs(base) * 0.02
            value *= 1 + rnd.gauss(0, 0.012)
            if lo is not None:
                value = max(value, lo)
            if hi is not None:
                value = min(value, hi)
            if rule == AggregationRule.sum and lo is None:
                value = max(value, 0.0)
            numerator = denominator = None
            if per_community:
                value = value * max(_comms(counts, covers), 1)
            if rule == AggregationRule.ratio:
                scale = indicator.aggregation.scale or 1.0
                growth = 1 + 0.01 * (t - start)
                denominator = float(max(round(den0 * growth, 2), 1))
                numerator = round(value * denominator / scale, 2)
                if hi is not None and scale == 100 and hi <= 100:
                    numerator = min(numerator, denominator)
                value = numerator / denominator * scale
            elif rule == AggregationRule.weighted_mean:
                # the weight goes in the denominator; the numerator (value x weight / scale) must come with it
                denominator = float(max(round(den0 * (1 + 0.01 * (t - start))), 1))
                value = round(value, 2)
                numerator = round(value * denominator / (indicator.aggregation.scale or 1.0), 2)
            elif integral or per_community:
                value = float(round(value))
            else:
                value = round(value, 2)
            if lo is not None and value < lo or hi is not None and value > hi:
                continue  # rounding pushed it out of bounds: skip rather than submit a bad value
            # when it was sent: on time (within due_days) or late; some never
            if rnd.random() < 0.015:
                continue  # missing
            late = rnd.random() < (0.25 if profile == "lagging" else 0.06)
            due = indicator.due_days
            offset = due + rnd.uniform(5, 60) if late else rnd.uniform(min(3, due), max(due - 2, 1))
            sent = datetime.combine(period.end, time(10, 0), CST) + timedelta(days=offset)
            rows.append(Row(subject, indicator_id, period.label, period.end, value, numerator, denominator,
                            sent.astimezone(timezone.utc), ratio=rule == AggregationRule.ratio))
    return rows


# ---------------------------------------------------------------- files


def _fmt(x: float | None) -> str:
    if x is None:
        return ""
    return repr(float(x)) if not float(x).is_integer() else str(int(x))


def _write_csv(path: Path, rows: list[Row], submitter: str, note: str = "") -> None:
    encoding, who = SUBMITTERS[submitter]
    with open(path, "w", encoding=encoding, newline="") as fh:
        out = csv.writer(fh)
        out.writerow(HEADERS)
        for r in rows:
            out.writerow([
                display_code(r.subject.code), r.subject.name, r.indicator_id, r.period,
                "" if r.ratio else _fmt(r.value), _fmt(r.numerator), _fmt(r.denominator), note,
                r.subject.who or who, r.submitted_at.astimezone(CST).strftime("%Y-%m-%d %H:%M"),
            ])


def _round_of(moment: datetime, live_from: date) -> str:
    local = moment.astimezone(CST)
    if local.date() >= live_from:
        return f"{local.year}-{local.month:02d}"
    return f"{local.year}-Q{(local.month - 1) // 3 + 1}"


def generate_sample(out: str | Path, seed: int = 7, today: date | None = None,
                    definitions: Definitions | None = None, regions: str | Path | None = None,
                    progress=None) -> dict:
    """Write the sample warehouse into `out` (absent or empty). Returns counts (batches, rows, rejected...).
    `progress(done, total, stage)` is called as files are ingested (the CLI draws a bar with it)."""
    step = progress or (lambda done, total, stage: None)
    step(0, 1, "生成数值 / generating values")
    from warehouse.defs_loader import require_definitions

    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise SampleError(f"输出目录不为空 / output folder is not empty: {out}")
    today = today or datetime.now(CST).date()
    definitions = definitions or require_definitions()
    regions_path = Path(regions) if regions else sample_regions_path()
    registry = RegionRegistry.load(regions_path)
    wh = Warehouse(out)
    wh.init(regions=regions_path)

    rows: list[Row] = []
    for subject in _subjects(registry, definitions):
        rows.extend(_rows_for(subject, definitions, registry, seed, today))
    late, silent, forgetful = sample_country.gaps(registry, seed)
    rows = sample_country.drop_forgotten(rows, forgetful, seed)
    provinces = sample_country.province_subjects(registry, _maker(registry))
    rows += sample_country.province_rows(provinces, rows, definitions, seed, late, silent)
    now_utc = datetime.combine(today, time(0, 0), CST).astimezone(timezone.utc)
    rows = [r for r in rows if r.submitted_at < now_utc]  # not sent yet: overdue or not due
    live_from = date(today.year, 1, 1)  # monthly files this year, quarterly files before

    files: dict[tuple[str, str], list[Row]] = {}
    for r in rows:
        files.setdefault((_round_of(r.submitted_at, live_from), r.subject.submitter), []).append(r)

    rnd = _rng(seed, "files")
    jobs: list[tuple[datetime, str, list[Row], str]] = []  # (ingest time, file name, rows, note)
    for (round_label, submitter), chunk in sorted(files.items()):
        chunk.sort(key=lambda r: (r.indicator_id, r.subject.code, r.period))
        at = max(r.submitted_at for r in chunk) + timedelta(hours=1)
        jobs.append((at, f"{submitter}_{round_label}.csv", chunk, ""))

    # a few corrections: a later file re-sending some values of an earlier round
    candidates = [j for j in jobs if len(j[2]) >= 10 and j[0] + timedelta(days=20) < now_utc]
    for k, (at, name, chunk, _) in enumerate(rnd.sample(candidates, min(3, len(candidates)))):
        fixed = []
        for r in rnd.sample(chunk, min(6, len(chunk))):
            factor = 1 + rnd.choice([-1, 1]) * rnd.uniform(0.02, 0.06)
            value = r.value * factor if r.value is not None else None
            numerator = round(r.numerator * factor, 2) if r.numerator is not None else None
            if numerator is not None and r.denominator is not None and numerator > r.denominator:
                numerator = r.denominator
            ind = definitions.indicator(r.indicator_id)
            if r.ratio:
                value = numerator / r.denominator * (ind.aggregation.scale or 1)
            elif value is not None:
                value = round(value, 2)
                if r.numerator is not None:
                    numerator = round(value * r.denominator / (ind.aggregation.scale or 1), 2)
            if value is not None and ((ind.bounds.min is not None and value < ind.bounds.min)
                                      or (ind.bounds.max is not None and value > ind.bounds.max)):
                continue
            fixed.append(Row(r.subject, r.indicator_id, r.period, r.period_end, value, numerator, r.denominator,
                             at + timedelta(days=rnd.uniform(7, 18)), ratio=r.ratio))
        if fixed:
            jobs.append((max(f.submitted_at for f in fixed) + timedelta(hours=1),
                         name.replace(".csv", f"_correction{k + 1}.csv"), fixed, "更正 correction"))

    jobs.sort(key=lambda j: (j[0], j[1]))
    summary = {"batches": 0, "rows": 0, "rejected": 0, "files": 0, "duplicates": 0}
    with tempfile.TemporaryDirectory(prefix="planwatch-sample-") as tmp:
        tmpdir = Path(tmp)
        for i, (at, name, chunk, note) in enumerate(jobs):
            step(i, len(jobs), f"入库 / ingesting {name}")
            path = tmpdir / name
            submitter = name.split("_")[0]
            _write_csv(path, chunk, submitter, note)
            _ingest(wh, path, definitions, registry, at + timedelta(microseconds=i), summary)
        for i, (path, at) in enumerate(_bad_files(tmpdir, rows, jobs, now_utc)):
            _ingest(wh, path, definitions, registry, at + timedelta(microseconds=i), summary)
    step(len(jobs), len(jobs), "完成 / done")
    if summary["rejected"] < 1:
        raise SampleError("示例的错误文件未被拒收 / the sample's bad files were not rejected")
    return summary


def _ingest(wh: Warehouse, path: Path, definitions, registry, at: datetime, summary: dict) -> None:
    result = ingest_file(wh, path, definitions, registry, user=SAMPLE_USER, now=at)
    summary["files"] += 1
    if result.status == "accepted":
        summary["batches"] += 1
        summary["rows"] += result.rows_accepted
        if result.rows_rejected:
            raise SampleError(f"示例文件有被拒收的行 / sample file {path.name} had rejected rows:\n"
                              + result.summary("en"))
    elif result.status == "rejected":
        if not path.name.startswith("bad_"):
            detail = ""
            if result.prepared is not None and result.prepared.rejections.height:
                detail = "\n" + str(result.prepared.rejections.head(5))
            raise SampleError(f"示例文件被拒收 / sample file {path.name} was rejected: {result.message_en}{detail}")
        summary["rejected"] += 1
    else:
        summary["duplicates"] += 1


def _bad_files(tmpdir: Path, rows: list[Row], jobs, now_utc: datetime):
    """Two files a region might really send: a typo'd region code and a text value; a wrong period."""
    cq = [r for r in rows if r.subject.submitter == "chongqing" and r.numerator is None][:4]
    # (bad file 1 leaves numerator/denominator out, so only rows that have none are used)
    sc = [r for r in rows if r.subject.submitter == "sichuan"][:3]
    out = []
    if cq:
        at = min(now_utc - timedelta(days=1), max(r.submitted_at for r in cq) + timedelta(days=3))
        path = tmpdir / "bad_chongqing_typo.csv"
        encoding, who = SUBMITTERS["chongqing"]
        with open(path, "w", encoding=encoding, newline="") as fh:
            w = csv.writer(fh)
            w.writerow(HEADERS)
            for k, r in enumerate(cq):
                code = display_code(r.subject.code)
                value = _fmt(r.value)
                if k == 1:
                    code = code[:-1] + ("9" if code[-1] != "9" else "8") + "9"  # one digit too many
                if k == 2:
                    value = "约" + value  # "about ..." is not a number
                w.writerow([code, r.subject.name, r.indicator_id, r.period, value, "", "", "", who,
                            r.submitted_at.astimezone(CST).strftime("%Y-%m-%d %H:%M")])
        out.append((path, at))
    if sc:
        at = min(now_utc - timedelta(days=1), max(r.submitted_at for r in sc) + timedelta(days=5))
        path = tmpdir / "bad_sichuan_period.csv"
        encoding, who = SUBMITTERS["sichuan"]
        with open(path, "w", encoding=encoding, newline="") as fh:
            w = csv.writer(fh)
            w.writerow(HEADERS)
            for k, r in enumerate(sc):
                period = "2024年13月" if k == 0 else r.period
                value = "" if r.ratio else _fmt(r.value)
                w.writerow([display_code(r.subject.code), r.subject.name, r.indicator_id, period, value,
                            _fmt(r.numerator), _fmt(r.denominator), "", who,
                            r.submitted_at.astimezone(CST).strftime("%Y-%m-%d %H:%M")])
        out.append((path, at))
    return out
