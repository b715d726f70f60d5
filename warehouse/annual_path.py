"""Annual targets (年度目标): the piecewise expected path through a target's annual points (docs/methodology.md §6a).

A plan target may list the value the plan sets for the end of some years (`annual`, plan-wide) and per region
(`annual_by_region`). Where they apply, the expected path is the piecewise-linear line (linear in days) through

    (path start, baseline), (31 Dec of each annual year, its value) ..., (31 Dec of the target year, goal)

instead of the straight line from the baseline to the goal, and the progress ratio compares the gap closed with
the gap the path expects closed by the value's date:

    ratio = (dist(b) - dist(a)) / (dist(b) - dist(E(t)))       (the straight line: dist(b) - dist(E) = dist(b) * f)

Which points a region's path runs through:
- its own `annual_by_region` entry, whatever its baseline's source;
- else the plan-wide `annual` points, for the plan's own region and for a region measured from the plan's baseline
  (`baseline_source = plan_fallback`): plan-wide points are absolute values set against the plan region's baseline;
- else none: the straight line (or cagr) as without annual targets.
Points not strictly between the path start and the end of the target year are left out (a path that starts at a
first observation after an annual year starts there).

The SQL path (warehouse/sql.py steps 11a-11b, `annual_ctes`: the rule above is its `annual_path` column) reads the
points from the `annual_points` relation built here (`points_frame`, one row per set of points) and the
`annual_key` / `annual_kind` columns of `assess` (`assess_columns`); status.py takes the expected value on the path
(`path_expected`) computed here. tests/test_annual_path.py checks both.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from warehouse import i18n

i18n.register({"annual_path.point": {"zh": "年度目标", "en": "Annual target"}})  # a corner of the chart's path

PLAN = "plan"  # the plan-wide points (`annual`)
REGION = "region"  # a region's own points (`annual_by_region`)


def key(plan_id: str, target_no: int, region: str | None = None) -> str:
    """The id of one set of points: the plan, the target's position in it, and the region (none: plan-wide)."""
    return f"{plan_id}#{target_no}#{region or ''}"


def _sets(defs):
    """(annual_key, {year: value} before the target year) for every set of points of the definitions. A value for
    the target year is the target itself (the loader checks it): the path ends there anyway."""
    for plan in defs.plans:
        for no, target in enumerate(plan.targets):
            last = target.target.year if target.target is not None else plan.period.target
            for region, points in [(None, target.annual), *target.annual_by_region.items()]:
                inner = {y: float(v) for y, v in sorted(points.items()) if y < last}
                if inner:
                    yield key(plan.id, no, region), inner


def width(defs) -> int:
    """The most points any set has: the number of (date, value) column pairs of `annual_points` (0: none)."""
    return max((len(points) for _, points in _sets(defs)), default=0)


def points_frame(defs) -> pl.DataFrame:
    """The `annual_points` relation: one row per set, annual_key then `width` pairs annual_end_i, annual_value_i
    (31 Dec of the year, the value), in year order, NULL-padded."""
    n = width(defs)
    schema: dict = {"annual_key": pl.String}
    for i in range(1, n + 1):
        schema[f"annual_end_{i}"] = pl.Date
        schema[f"annual_value_{i}"] = pl.Float64
    rows = []
    for set_key, points in _sets(defs):
        row: dict = {"annual_key": set_key}
        for i, (year, value) in enumerate(points.items(), start=1):
            row[f"annual_end_{i}"] = date(year, 12, 31)
            row[f"annual_value_{i}"] = value
        rows.append(row)
    return pl.DataFrame(rows, schema=schema)


def assess_columns(plan, target, code: str) -> tuple[str | None, str | None]:
    """(annual_key, annual_kind) of the `assess` row of region `code` under (plan, target): the region's own
    points, else the plan-wide ones (the SQL keeps those only where `applies` holds), else (None, None)."""
    no = next(i for i, t in enumerate(plan.targets) if t is target)
    if code in target.annual_by_region:
        return key(plan.id, no, code), REGION
    if target.annual:
        return key(plan.id, no), PLAN
    return None, None


# ---------------------------------------------------------------- the path
def path(start: date, baseline: float, points: dict[int, float], end: date, goal: float) -> list[tuple[date, float]]:
    """The path's corners: the start, the annual points strictly between start and end (by year), the end."""
    inner = [(date(y, 12, 31), float(v)) for y, v in sorted(points.items()) if start < date(y, 12, 31) < end]
    return [(start, float(baseline)), *inner, (end, float(goal))]


def value_at(corners: list[tuple[date, float]], moment: date) -> float:
    """The expected value at `moment`: linear in days between two corners, flat before the first and after the last
    (the same arithmetic as the SQL's pw_interp)."""
    if moment <= corners[0][0]:
        return corners[0][1]
    for (d0, v0), (d1, v1) in zip(corners, corners[1:]):
        if moment < d1:
            return v0 + (v1 - v0) * (moment - d0).days / (d1 - d0).days
    return corners[-1][1]


def expected_at(start: date, baseline: float, points: dict[int, float], end: date, goal: float, moment: date) -> float:
    return value_at(path(start, baseline, points, end, goal), moment)


# ---------------------------------------------------------------- the status frame's `annual_path` text
def describe(points: dict[int, float], start: date | None, end: date | None) -> str:
    """The applied points as text for the status frame: `2022:65;2023:75` (those strictly inside the path)."""
    kept = {y: v for y, v in points.items() if (start is None or date(y, 12, 31) > start)
            and (end is None or date(y, 12, 31) < end)}
    return ";".join(f"{y}:{_num(v)}" for y, v in sorted(kept.items()))


def parse(text: str | None) -> dict[int, float]:
    """`describe`'s text back to {year: value} (empty for None or "")."""
    out: dict[int, float] = {}
    for part in (text or "").split(";"):
        if ":" in part:
            year, value = part.split(":", 1)
            out[int(year)] = float(value)
    return out


def points_of(defs, annual_key: str | None) -> dict[int, float]:
    """{year: value} of one set of points by its key ({} when unknown)."""
    if not annual_key:
        return {}
    plan_id, no, region = annual_key.rsplit("#", 2)
    try:
        target = defs.plan(plan_id).targets[int(no)]
    except (KeyError, IndexError, ValueError):
        return {}
    return dict(target.annual_by_region.get(region, {}) if region else target.annual)


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))
