"""Checks of a plan target's annual targets (年度目标: `annual`, `annual_by_region`) for defs_loader.

Called from the loader's cross-checks for every target that validated; every problem is reported with the
loader's file:line:column (on the year or region key written), all of them, not the first only. The rules
(docs/indicator-definitions.md, docs/methodology.md §6a):

- annual targets need the plan target they lead to (`target:` with a value);
- a year lies on the path: after the baseline year, up to the target year; a value for the target year itself
  must be the target (a band: inside the band), since the path ends there anyway;
- values are finite and inside the indicator's bounds;
- the path moves towards the target, never away: for `>=`/`>` the values (after the plan's baseline, for the
  plan-wide ones, and before the target) do not decrease, for `<=`/`<` they do not increase, for `=` and bands
  their distance from the target does not grow and they do not cross it. An error, not a warning: a path that
  turns away from the target makes "the share of the gap expected closed" go backwards and the progress ratio
  meaningless;
- `annual_by_region` keys are region codes (or `group:<id>`) inside the plan's region, not the plan's region
  itself (its points go under `annual`), not excluded from the target, at a level the target applies at;
- a warning when the target's method is cagr (the annual path replaces it where it applies) and when plan-wide
  points can shape no region (the target does not apply to the plan's own region and has no baseline fallback).
"""

from __future__ import annotations

import math
from typing import Any

from warehouse.defs_checks import COMPARATOR_SIGN

LEVEL_BY_LENGTH = {2: "province", 4: "city", 6: "county", 9: "township", 12: "community"}
LEVELS = ["country", "province", "city", "county", "township", "community"]


def check_annual(cross: Any, plan: Any, t: Any, ind: Any, path: tuple) -> None:
    """All checks of one target's annual targets; `cross` is the loader's _CrossChecks (ck, raw, groups)."""
    if not t.annual and not t.annual_by_region:
        return
    ck = cross.ck
    raw = _raw_target(cross.raw, path)
    if t.target is None:
        field = "annual" if t.annual else "annual_by_region"
        ck.error(path + (field,), "annual targets need the plan target they lead to",
                 expected="a `target:` with comparator, value and year")
        return
    if plan is None:  # the plan header has errors of its own
        return
    method = t.method or (ind.method if ind is not None else None)
    if method is not None and method.value == "cagr":
        field = "annual" if t.annual else "annual_by_region"
        ck.warning(path + (field,), "annual targets replace the cagr method for this target: where they apply, "
                   "progress is measured against the annual path (schedule method)")
    base_year = t.baseline.year if t.baseline is not None else plan.period.baseline
    if t.annual:
        known = t.baseline.value if t.baseline is not None and t.baseline.from_ is None else None
        _check_points(cross, t, ind, path + ("annual",), raw.get("annual"), base_year, known)
        if not _applies_to_plan_region(plan, t) and t.baseline_fallback != "plan":
            ck.warning(path + ("annual",), "plan-wide annual targets shape the path of the plan's own region (and of "
                       "regions measured from the plan's baseline), but this target does not apply to the plan's "
                       "region; give each region's under `annual_by_region`")
    raw_regions = raw.get("annual_by_region") if isinstance(raw.get("annual_by_region"), dict) else {}
    for code in raw_regions:
        where = path + ("annual_by_region", code)
        _check_region(cross, plan, t, str(code), where)
        _check_points(cross, t, ind, where, raw_regions.get(code), base_year, None)


def _raw_target(raw: dict, path: tuple) -> dict:
    node: Any = raw
    for key in path:
        node = node[key] if isinstance(node, (dict, list)) else {}
    return node if isinstance(node, dict) else {}


def _check_points(cross: Any, t: Any, ind: Any, where: tuple, raw_points: Any, base_year: int,
                  baseline: float | None) -> None:
    ck, tg = cross.ck, t.target
    if not isinstance(raw_points, dict):
        return
    valid: list[tuple[int, float, tuple]] = []
    for raw_year, value in raw_points.items():
        at = where + (raw_year,)
        year = int(raw_year)  # validated by pydantic (a whole number)
        value = float(value)
        if not base_year < year <= tg.year:
            ck.error(at, "annual target year is outside the plan's path", on_key=True,
                     expected=f"a year after the baseline year {base_year}, up to the target year {tg.year}",
                     found=str(year))
            continue
        if not math.isfinite(value):
            ck.error(at, "not a finite number", expected="a number", found=str(value))
            continue
        if ind is not None:
            cross._bounds(ind, value, at, "annual target")
        if year == tg.year:
            ok = tg.value <= value <= tg.value_high if tg.value_high is not None else value == tg.value
            if not ok:
                band = f"inside [{_num(tg.value)}, {_num(tg.value_high)}]" if tg.value_high is not None else _num(tg.value)
                ck.error(at, "the target year's annual value must be the target itself", expected=band,
                         found=_num(value))
            continue
        valid.append((year, value, at))
    valid.sort()
    seq: list[tuple[str, float]] = []
    if baseline is not None:
        seq.append((f"the baseline {_num(baseline)}", baseline))
    for year, value, at in valid:
        problem = _away(seq[-1] if seq else None, value, tg)
        if problem:
            ck.error(at, f"annual targets must move towards the target: {year}: {_num(value)} {problem}",
                     expected=_direction_text(tg), found=_num(value))
        seq.append((f"{year}: {_num(value)}", value))
    if valid and tg.value_high is None:
        # the last annual point must not lie beyond the target (the path would turn back to it)
        year, value, at = valid[-1]
        if _away((f"{year}: {_num(value)}", value), tg.value, tg):
            ck.error(at, f"annual targets must move towards the target: {year}: {_num(value)} is beyond the target "
                     f"{COMPARATOR_SIGN.get(tg.comparator.value, tg.comparator.value)}{_num(tg.value)}",
                     expected=_direction_text(tg), found=_num(value))


def _away(previous: tuple[str, float] | None, value: float, tg: Any) -> str | None:
    """Why `value` after `previous` moves away from the target, or None."""
    if previous is None:
        return None
    label, before = previous
    cmp = tg.comparator.value
    if tg.value_high is None and cmp in (">=", ">"):
        return f"is below {label}" if value < before else None
    if tg.value_high is None and cmp in ("<=", "<"):
        return f"is above {label}" if value > before else None
    lo, hi = tg.value, tg.value_high if tg.value_high is not None else tg.value
    side_before = -1 if before < lo else (1 if before > hi else 0)
    side_now = -1 if value < lo else (1 if value > hi else 0)
    if side_before * side_now < 0:
        return f"crosses the target from {label}"
    if _dist(value, lo, hi) > _dist(before, lo, hi):
        return f"is further from the target than {label}"
    return None


def _dist(x: float, lo: float, hi: float) -> float:
    return max(lo - x, 0.0, x - hi)


def _direction_text(tg: Any) -> str:
    cmp = tg.comparator.value
    if tg.value_high is None and cmp in (">=", ">"):
        return "values that do not decrease towards the target"
    if tg.value_high is None and cmp in ("<=", "<"):
        return "values that do not increase towards the target"
    return "values that come no further from the target and do not cross it"


def _check_region(cross: Any, plan: Any, t: Any, code: str, where: tuple) -> None:
    from warehouse.defs_loader import REGION_CODE, _closest

    ck = cross.ck
    groups = {g.id: g for _, g in cross.groups}
    if code.startswith("group:"):
        gid = code[len("group:"):]
        if gid not in groups:
            close = _closest(gid, groups)
            ck.error(where, f"unknown region group `{gid}`", on_key=True,
                     expected="`group:<id>` of a group in `region_groups`",
                     suggestion=f"group:{close}" if close else None)
            return
        members = list(groups[gid].members)
        level = _group_level(members)
    elif not REGION_CODE.match(code) or code == "CN":
        ck.error(where, "not a region code", on_key=True,
                 expected="an NBS code of 2, 4, 6, 9 or 12 digits (quoted), or `group:<id>`", found=f"`{code}`")
        return
    else:
        members, level = [code], LEVEL_BY_LENGTH[len(code)]
    if code == plan.region:
        ck.error(where, "this is the plan's own region: put its annual targets under `annual`", on_key=True)
        return
    inside = _inside_plan(plan.region, members, groups)
    if not inside:
        ck.error(where, f"region `{code}` is outside the plan's region `{plan.region}`", on_key=True)
        return
    for ex in t.exclude:
        ex_codes = list(groups[ex[6:]].members) if ex.startswith("group:") and ex[6:] in groups else [ex]
        if code == ex or all(any(m.startswith(e) for e in ex_codes) for m in members):
            ck.error(where, f"region `{code}` is excluded from this target (`exclude: {ex}`)", on_key=True)
            return
    if level not in t.applies_at:
        ck.error(where, f"this target does not apply at the {level} level of `{code}`", on_key=True,
                 expected=f"a region at a level of applies_at ({', '.join(t.applies_at)})")


def _inside_plan(region: str, members: list[str], groups: dict) -> bool:
    if region == "CN":
        return True
    if region.startswith("group:"):
        anchors = list(groups[region[6:]].members) if region[6:] in groups else []
    else:
        anchors = [region]
    return bool(anchors) and all(any(m.startswith(a) for a in anchors) for m in members)


def _group_level(members: list[str]) -> str:
    """A group counts one level above its members (docs/methodology.md §3)."""
    depths = [LEVELS.index(LEVEL_BY_LENGTH[len(m)]) for m in members if len(m) in LEVEL_BY_LENGTH] or [1]
    return LEVELS[max(min(depths) - 1, 0)]


def _applies_to_plan_region(plan: Any, t: Any) -> bool:
    if "total" in t.applies_at:
        return True
    region = plan.region
    level = "country" if region == "CN" else LEVEL_BY_LENGTH.get(len(region))
    return level in t.applies_at


def _num(value: float | None) -> str:
    if value is None:
        return "—"
    return str(int(value)) if float(value).is_integer() else repr(float(value))
