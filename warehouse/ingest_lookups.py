"""What the cells of a submission mean: numbers (full-width digits, thousands separators, percentages), timestamps,
region codes resolved against the registry (with suggestions for the unknown ones) and indicator ids resolved
against the definitions. Each is derived once per distinct text and joined back onto the rows."""

from __future__ import annotations

import difflib
import re
import time
import unicodedata
from datetime import datetime, timezone

import polars as pl

from warehouse.definitions import AggregationRule, Definitions
from warehouse.ingest_read import _plain_number
from warehouse.periods import CST
from warehouse.regions import (
    LEVEL_BY_LENGTH, LEVEL_ZH, RegionRegistry, canonical_code, display_code, names_match, parent_of,
)

MISSING_TOKENS = ["", "-", "--", "—", "——", "–", "―", "/"]
_FULL = "０１２３４５６７８９．，％－＋　"
_HALF = "0123456789.,%-+ "
_NUMBER = r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$"
_THOUSANDS = r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$"


# ---------------------------------------------------------------- normalisation helpers
def _clean(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """Strip spaces (incl. full-width) from `columns`; empty -> null. Two passes, so each column is stripped once."""
    stripped = frame.with_columns(pl.col(c).str.strip_chars(" \t\r\n\u3000\ufeff") for c in columns)
    return stripped.with_columns(pl.when(pl.col(c) == "").then(None).otherwise(pl.col(c)).alias(c) for c in columns)


def _number_text(expr: pl.Expr) -> pl.Expr:
    text = expr.fill_null("").str.replace_many(list(_FULL), list(_HALF)).str.replace_all(r"\s+", "")
    return pl.when(text.str.contains(_THOUSANDS)).then(text.str.replace_all(",", "")).otherwise(text)


def normalise_numbers(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """Adds <column>_num (Float64), <column>_missing, <column>_bad (non-numeric), <column>_pct, <column>_dp.

    Derived once per distinct text and joined back: a file repeats few distinct values, and the regular
    expressions are the costly part."""
    distinct = frame.select(pl.col(column).unique())
    return frame.join(_number_columns(distinct, column), on=column, how="left", nulls_equal=True)


def _number_columns(distinct: pl.DataFrame, column: str) -> pl.DataFrame:
    text = _number_text(pl.col(column))
    return distinct.with_columns(_t=text).with_columns(
        **{
            f"{column}_pct": pl.col("_t").str.ends_with("%"),
            "_n": pl.col("_t").str.strip_suffix("%"),
        }
    ).with_columns(
        **{
            f"{column}_missing": pl.col("_t").is_in(MISSING_TOKENS),
            f"{column}_bad": ~pl.col("_t").is_in(MISSING_TOKENS) & ~pl.col("_n").str.contains(_NUMBER),
            f"{column}_num": pl.when(pl.col("_n").str.contains(_NUMBER)).then(pl.col("_n").cast(pl.Float64, strict=False)),
            f"{column}_dp": pl.col("_n").str.extract(r"\.(\d+)$").str.len_chars().fill_null(0),
        }
    ).drop("_t", "_n")


def _parse_timestamp(text: str) -> datetime | None:
    raw = unicodedata.normalize("NFKC", text).strip().replace("/", "-")
    raw = re.sub(r"(\d{4})年(\d{1,2})月(\d{1,2})日?", r"\1-\2-\3", raw)
    m = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?", raw)
    if not m:
        return None
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00")) if "T" in raw or m[7] else None
        if parsed is None:
            parsed = datetime(int(m[1]), int(m[2]), int(m[3]), int(m[4] or 0), int(m[5] or 0), int(m[6] or 0))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=CST)
    try:
        return parsed.astimezone(timezone.utc)
    except OverflowError:  # 0001-01-01 in CST is before the first representable UTC moment
        return None


# Zero-padded `YYYY-MM-DD[ HH:MM[:SS]]` with hours, minutes and seconds in range: what machines write. Only the
# calendar date is left for the parser to check.
_PLAIN_TIMESTAMP = r"^(19|2\d)\d\d-(0[1-9]|1[0-2])-\d\d( ([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?)?$"


def _timestamps(texts: pl.Series) -> pl.DataFrame:
    """submitted_at text (distinct, not null) -> _sat (UTC; null when not understood). The plain machine form is
    parsed vectorised (China Standard Time, a fixed +08:00); other spellings go through _parse_timestamp."""
    frame = pl.DataFrame({"submitted_at": texts}, schema={"submitted_at": pl.String})
    plain = frame.filter(pl.col("submitted_at").str.contains(_PLAIN_TIMESTAMP))
    text = pl.col("submitted_at")
    local = pl.coalesce(*[text.str.to_datetime(f, time_unit="us", strict=False)
                          for f in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d")])
    plain = plain.select("submitted_at", _sat=(local - pl.duration(hours=8)).dt.replace_time_zone("UTC"))
    others = frame.filter(~pl.col("submitted_at").str.contains(_PLAIN_TIMESTAMP))["submitted_at"].to_list()
    parsed = pl.DataFrame({"submitted_at": others, "_sat": [_parse_timestamp(t) for t in others]},
                          schema={"submitted_at": pl.String, "_sat": pl.Datetime("us", "UTC")})
    return pl.concat([plain, parsed])



SUGGEST_LIMIT = 30  # distinct unknown codes that get suggestions (each costs a registry search) ...
SUGGEST_BUDGET_S = 1.0  # ... within this time (a 12-digit code unlike any in the registry costs ~2 s to match)
EXPLAIN_LIMIT = 1000  # distinct unknown codes explained one by one; the others get one general reason
REGIONS_IMPORT = "planwatch regions import ../shared/data/regions"


def _region_lookup(frame: pl.DataFrame, registry: RegionRegistry, definitions: Definitions) -> pl.DataFrame:
    """One row per distinct (region_code, region_name), in the order of first appearance: canonical code, level,
    official name, problem text. When every row of `frame` is distinct, the result is in `frame`'s row order.

    Codes are resolved by a join against the registry frame; the problem texts are built in Python only for the
    pairs that have a problem, with suggestions for the first SUGGEST_LIMIT of them in file order (a file of a
    million distinct bad codes is then rejected about as fast as a valid one)."""
    pairs = frame.select("region_code", "region_name").unique(maintain_order=True)
    codes = _resolve_codes(pairs["region_code"].drop_nulls().unique(), registry, definitions)
    pairs = pairs.join(codes, on="region_code", how="left", maintain_order="left")
    problems = []
    suggested = explained = 0
    deadline = time.perf_counter() + SUGGEST_BUDGET_S
    populated = None
    bad_code = pl.col("_code").is_null()
    bad_name = ~bad_code & pl.col("region_name").is_not_null() & pl.col("region_name").ne_missing(pl.col("_official"))
    to_explain = pl.concat([pairs.filter(bad_code).head(EXPLAIN_LIMIT + 1), pairs.filter(bad_name)])
    for raw, name, code, official in to_explain.select("region_code", "region_name", "_code", "_official").iter_rows():
        entry = {"region_code": raw, "region_name": name, "_code_zh": None, "_code_en": None,
                 "_name_zh": None, "_name_en": None}
        if raw is None:
            entry["_code_zh"], entry["_code_en"] = "地区代码为空", "region code is empty"
        elif code is None:
            explained += 1
            if explained > EXPLAIN_LIMIT:
                continue  # the general reason below
            if populated is None:
                populated = set(registry.frame.filter(pl.col("code").str.len_bytes() > 2)["code"].str.slice(0, 2).unique())
            canon = canonical_code(raw)
            missing_branch = _registry_gap(canon, registry) if canon else None
            suggested += 1
            # by code only under a province with regions below it: elsewhere the nearest codes are noise, and
            # matching against every township costs seconds per code
            digits = "".join(ch for ch in str(raw) if ch.isdigit())
            by_code = raw if digits[:2] in populated else ""
            hints = (registry.suggest(by_code, name=name, k=3)
                     if suggested <= SUGGEST_LIMIT and time.perf_counter() < deadline and not missing_branch
                     and (by_code or name) else [])
            hint_text = "、".join(f"{display_code(r.code)} {r.name}" for r in hints)
            hint_text_en = ", ".join(f"{display_code(r.code)} {r.name}" for r in hints)
            if missing_branch:
                province, parent = missing_branch
                entry["_code_zh"] = (f"区划表中没有该地区代码：区划表只有{province}的部分地区（没有 {parent} 的下级地区）；"
                                     f"如代码无误，请导入完整区划表：{REGIONS_IMPORT}")
                entry["_code_en"] = (f"region code not in the region registry: the registry holds only part of "
                                     f"{province} (nothing below {parent}); if the code is right, import the "
                                     f"full registry: {REGIONS_IMPORT}")
            else:
                shape = canon is None
                entry["_code_zh"] = ("不是有效的区划代码" if shape else "区划表中没有该地区代码") + (
                    f"；可能是：{hint_text}" if hints else "")
                entry["_code_en"] = ("not a valid division code" if shape else "region code not in the region registry") + (
                    f"; did you mean: {hint_text_en}" if hints else "")
        elif not names_match(name, official):
            suggested += 1
            hints = ([r for r in registry.suggest("", name=name, k=1) if r.code != code]
                     if suggested <= SUGGEST_LIMIT and time.perf_counter() < deadline else [])
            hint = f"；名称“{name}”对应的代码可能是 {display_code(hints[0].code)} {hints[0].name}" if hints else ""
            hint_en = f"; the name {name!r} may be {display_code(hints[0].code)} {hints[0].name}" if hints else ""
            entry["_name_zh"] = f"地区名称与代码不符：代码 {display_code(code)} 是“{official}”{hint}"
            entry["_name_en"] = f"region name does not match the code: {display_code(code)} is {official}{hint_en}"
        problems.append(entry)
    problem_frame = pl.DataFrame(problems, schema={
        "region_code": pl.String, "region_name": pl.String, "_code_zh": pl.String, "_code_en": pl.String,
        "_name_zh": pl.String, "_name_en": pl.String})
    unexplained = pl.col("_code").is_null() & pl.col("region_code").is_not_null() & pl.col("_code_zh").is_null()
    return pairs.join(problem_frame, on=["region_code", "region_name"], how="left", nulls_equal=True,
                      maintain_order="left").with_columns(
        _code_zh=pl.when(unexplained).then(pl.lit("不是有效的区划代码，或区划表中没有该地区代码")).otherwise("_code_zh"),
        _code_en=pl.when(unexplained).then(pl.lit("not a valid division code, or not in the region registry"))
        .otherwise("_code_en"),
    ).select("region_code", "region_name", "_code", "_level", "_code_zh", "_code_en", "_name_zh", "_name_en")


def _registry_gap(canon: str, registry: RegionRegistry) -> tuple[str, str] | None:
    """(province name, the parent's code) when `canon` is a well-formed code below a province the registry knows,
    but its parent is not in the registry, or is there without any region below it: the registry lacks that branch
    (e.g. the sample registry holds every city but the counties of only a few provinces), so the code may well be
    right."""
    if canon is None or not canon.isdigit() or len(canon) < 4:
        return None
    parent = parent_of(canon)
    province = registry.name(canon[:2])
    if province is None or parent is None:
        return None
    if parent in registry and registry.children(parent).height > 0:
        return None  # the branch is there: an ordinary unknown code (suggestions follow)
    return province, display_code(parent)  # parent missing, or present without any region below it


def _strip_zero_group(code: pl.Expr, length: int, cut: int) -> pl.Expr:
    """One step of canonical_code for ASCII-digit codes of a division length that are not all zeros: a code of
    `length` digits whose digits after `cut` are all zeros loses them (12 -> 9 -> 6 -> 4 -> 2, applied in turn)."""
    return (pl.when((code.str.len_bytes() == length) & (code.str.slice(cut) == "0" * (length - cut)))
            .then(code.str.slice(0, cut)).otherwise(code))


def _resolve_codes(raw_codes: pl.Series, registry: RegionRegistry, definitions: Definitions) -> pl.DataFrame:
    """region_code (as submitted) -> _code (canonical code in the registry or group:<id>, else null), _level,
    _official (the registry's name, or the group's)."""
    distinct = pl.DataFrame({"region_code": raw_codes}, schema={"region_code": pl.String})
    plain = (pl.col("region_code").str.contains(r"^[0-9]+$") & ~pl.col("region_code").str.contains(r"^0+$")
             & pl.col("region_code").str.len_bytes().is_in(list(LEVEL_BY_LENGTH)))
    fast = distinct.filter(plain).with_columns(_canon=pl.col("region_code"), _group=pl.lit(None, pl.String),
                                               _group_name=pl.lit(None, pl.String))
    for length, cut in ((12, 9), (9, 6), (6, 4), (4, 2)):  # one step at a time: nested whens re-evaluate 3^4 times
        fast = fast.with_columns(_canon=_strip_zero_group(pl.col("_canon"), length, cut))
    groups = {g.id: g for g in definitions.region_groups}
    # An ASCII letter or punctuation other than "." can never be part of a code (canonical_code gives None): such
    # codes are resolved here at once, not one Python call each (a million malformed codes: 5.1 -> 3.3 s CPU).
    # "group:…" and anything that might spell the country (CN in any case or spacing) still go through Python.
    lowered = pl.col("region_code").str.to_lowercase()
    hopeless = (pl.col("region_code").str.contains(r"[A-Za-z!-\-/:-@\[-`{-~]")
                & ~lowered.str.contains("group:", literal=True)
                & ~(lowered.str.contains("c", literal=True) & lowered.str.contains("n", literal=True)))
    rest = distinct.filter(~plain).with_columns(_hopeless=hopeless)
    malformed = rest.filter("_hopeless").select("region_code").with_columns(
        _canon=pl.lit(None, pl.String), _group=pl.lit(None, pl.String), _group_name=pl.lit(None, pl.String))
    others = []
    for raw in rest.filter(~pl.col("_hopeless"))["region_code"].to_list():
        group = groups.get(raw.split(":", 1)[1]) if raw.lower().startswith("group:") else None
        if group is not None:
            others.append((raw, None, f"group:{group.id}", group.name.zh))
        else:
            others.append((raw, canonical_code(raw), None, None))
    slow = pl.DataFrame(others, schema=fast.schema, orient="row")
    known = registry.frame.select(_canon=pl.col("code"), _reg_level=pl.col("level"), _reg_name=pl.col("name"),
                                  _known=pl.lit(True)).unique("_canon", keep="last", maintain_order=True)
    resolved = pl.concat([fast, slow, malformed]).join(known, on="_canon", how="left")
    in_registry = pl.col("_known").fill_null(False)
    return resolved.select(
        "region_code",
        _code=pl.coalesce("_group", pl.when(in_registry).then(pl.col("_canon"))),
        _level=pl.when(pl.col("_group").is_not_null()).then(pl.lit("group")).otherwise(pl.col("_reg_level")),
        _official=pl.coalesce("_group_name", "_reg_name"),
    )


def _indicator_frame(definitions: Definitions) -> pl.DataFrame:
    rows = []
    for ind in definitions.indicators:
        scale = ind.aggregation.scale
        bmax = ind.bounds.max
        rows.append({
            "_ind": ind.id,
            "_freq": ind.frequency.value,
            "_rule": ind.aggregation.rule.value,
            "_scale": float(scale),
            "_min": ind.bounds.min,
            "_max": bmax,
            "_min_s": None if ind.bounds.min is None else _plain_number(ind.bounds.min),
            "_max_s": None if bmax is None else _plain_number(bmax),
            "_pct_unit": ind.unit.zh.strip() in ("%", "％", "百分比") or (ind.unit.en or "").strip() == "%",
            "_capped": ind.aggregation.rule == AggregationRule.ratio and bmax is not None and bmax <= scale,
            "_levels": ",".join(lv.value for lv in ind.reported_at),
            "_levels_zh": "、".join(LEVEL_ZH[lv.value] for lv in ind.reported_at),
            "_ind_zh": ind.name.zh,
        })
    return pl.DataFrame(rows, schema={"_ind": pl.String, "_freq": pl.String, "_rule": pl.String, "_scale": pl.Float64,
                                      "_min": pl.Float64, "_max": pl.Float64, "_min_s": pl.String, "_max_s": pl.String, "_pct_unit": pl.Boolean,
                                      "_capped": pl.Boolean, "_levels": pl.String, "_levels_zh": pl.String,
                                      "_ind_zh": pl.String})


def _indicator_lookup(ids: pl.Series, definitions: Definitions) -> pl.DataFrame:
    """indicator_id as written (distinct, not null) -> the indicator's attributes (case-insensitive id; _ind is
    null when unknown) and, for unknown ids only, the problem text with suggestions."""
    frame = pl.DataFrame({"indicator_id": ids}, schema={"indicator_id": pl.String}).drop_nulls()
    frame = frame.with_columns(_ind_key=pl.col("indicator_id").str.to_lowercase()).join(
        _indicator_frame(definitions), left_on="_ind_key", right_on="_ind", how="left",
    ).with_columns(_ind=pl.when(pl.col("_freq").is_not_null()).then(pl.col("_ind_key"))).drop("_ind_key")
    problems = {u: _indicator_problem(u, definitions) for u in frame.filter(pl.col("_ind").is_null())["indicator_id"]}
    return frame.with_columns(
        _ind_zh_err=pl.col("indicator_id").replace_strict({u: p[0] for u, p in problems.items()}, default=None,
                                                          return_dtype=pl.String),
        _ind_en_err=pl.col("indicator_id").replace_strict({u: p[1] for u, p in problems.items()}, default=None,
                                                          return_dtype=pl.String),
    )


def _indicator_problem(raw: str, definitions: Definitions) -> tuple[str, str]:
    ids = [i.id for i in definitions.indicators]
    by_name = {i.name.zh: i.id for i in definitions.indicators}
    hints = difflib.get_close_matches(raw.lower(), ids, n=3, cutoff=0.6)
    if raw in by_name:
        hints = [by_name[raw]] + [h for h in hints if h != by_name[raw]]
    else:
        hints += [by_name[n] for n in difflib.get_close_matches(raw, list(by_name), n=2, cutoff=0.6) if by_name[n] not in hints]
    if hints:
        return f"未知指标代码；可能是：{'、'.join(hints[:3])}", f"unknown indicator; did you mean: {', '.join(hints[:3])}"
    return "未知指标代码（见指标定义文件）", "unknown indicator (see the indicator definitions)"


_FREQ_ZH = {"annual": "年度", "quarterly": "季度", "monthly": "月度"}
_PERIOD_EXAMPLE = {"annual": "2024", "quarterly": "2024-Q3", "monthly": "2024-07"}

