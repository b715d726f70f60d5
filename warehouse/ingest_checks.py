"""The checks of a submission's rows (docs/submissions.md "What is checked"): each adds a polars mask and its
reason to a _Collector, which evaluates them all in one pass and builds rejection entries only for the rows that
fail."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import polars as pl

from warehouse.definitions import AggregationRule, Definitions
from warehouse.ingest_headers import BATCH_COLUMNS, FIELD_ZH, REJECTION_SCHEMA
from warehouse.ingest_lookups import (
    _FREQ_ZH, _PERIOD_EXAMPLE, _indicator_lookup, _region_lookup, _timestamps, normalise_numbers,
)
from warehouse.periods import CST, parse_period, period_end_utc
from warehouse.regions import LEVEL_ZH, RegionRegistry, display_code, parent_of

MAX_ABS_VALUE = 1e12  # the global sanity rule: finite and |x| <= 1e12, unless the indicator's bounds reach further
CHUNK_ROWS = 1_000_000  # rows validated at a time: the lookups joined onto a chunk are freed before the next


class _Collector:
    """Collects the checks (a mask, the column, the reason) in order; `frame(df)` evaluates every mask in one
    pass over the final frame and builds the rejection entries from the few rows that fail.

    `problem` (zh, en) names the kind of problem without the row's particulars; the rejection report groups by
    it when one kind has many distinct reasons (e.g. a suggestion per unknown code). It defaults to the reason
    when the reason is a fixed text."""

    def __init__(self, headers: dict[str, str]):
        self.headers = headers
        self.items: list[tuple | pl.DataFrame] = []

    def add(self, mask: pl.Expr, field_name: str, zh: pl.Expr | str, en: pl.Expr | str,
            severity: str = "error", value: pl.Expr | None = None, problem: tuple[str, str] | None = None) -> None:
        self.items.append((mask, field_name, zh, en, severity, value, problem))

    def add_rows(self, hits: pl.DataFrame, field_name: str, zh: pl.Expr, en: pl.Expr, value: pl.Expr,
                 problem: tuple[str, str] | None = None) -> None:
        """Entries for every row of `hits` (a frame of its own, e.g. the duplicated rows)."""
        self.items.append(self._entries(hits, field_name, zh, en, "error", value, problem))

    def _entries(self, hits: pl.DataFrame, field_name: str, zh: pl.Expr | str, en: pl.Expr | str,
                 severity: str, value: pl.Expr | None, problem: tuple[str, str] | None) -> pl.DataFrame:
        zh_expr = pl.lit(zh) if isinstance(zh, str) else zh
        en_expr = pl.lit(en) if isinstance(en, str) else en
        if problem is None:
            problem = (zh, en) if isinstance(zh, str) and isinstance(en, str) else ("", "")
        return hits.select(
            row=pl.col("_row").cast(pl.Int64),
            column=pl.lit(self.headers.get(field_name, field_name)),
            value=(value if value is not None else pl.col(field_name)).cast(pl.String),
            reason_zh=zh_expr.cast(pl.String),
            reason_en=en_expr.cast(pl.String),
            severity=pl.lit(severity),
            problem_zh=pl.lit(problem[0] or None, pl.String),
            problem_en=pl.lit(problem[1] or None, pl.String),
        )

    def frame(self, df: pl.DataFrame) -> pl.DataFrame:
        checks = [(i, item) for i, item in enumerate(self.items) if isinstance(item, tuple)]
        masks = {f"_check{i}": item[0].fill_null(False) for i, item in checks}
        failing = df.with_columns(**masks).filter(pl.any_horizontal([pl.col(m) for m in masks])) if masks else df.clear()
        parts = []
        for i, item in enumerate(self.items):
            if isinstance(item, pl.DataFrame):
                parts.append(item)
                continue
            _, field_name, zh, en, severity, value, problem = item
            hits = failing.filter(pl.col(f"_check{i}"))
            if hits.height:
                parts.append(self._entries(hits, field_name, zh, en, severity, value, problem))
        parts = [part for part in parts if part.height]
        if not parts:
            return pl.DataFrame(schema=REJECTION_SCHEMA)
        return pl.concat(parts).sort("row", "severity", maintain_order=True)


@dataclass
class Checked:
    """What validating a file's rows gives (ingest.prepare_submission wraps it in a PreparedSubmission)."""

    rows: pl.DataFrame
    rejections: pl.DataFrame
    n_rejected: int
    n_missing: int
    n_rows: int
    n_valid: int = 0  # rows stored: rows.height, or the spool's rows


def validate(frames: Iterable[pl.DataFrame], definitions: Definitions, registry: RegionRegistry, now: datetime,
             headers: dict[str, str], source_file: str, submitted_by: str | None,
             scope: Sequence[str] | None = None, spool=None) -> Checked:
    """Validate the rows (given as one or more frames of the FIELDS, e.g. the blocks of a large CSV) in chunks of
    at most CHUNK_ROWS. Only the duplicate check needs the whole file: it runs on a hash of each row's key, then
    compares the keys of the few rows whose hashes are not unique.

    spool: an ingest_spool.Spool: each chunk's valid rows are written to it instead of being kept; `Checked.rows`
    is then the (empty) schema and the spool holds the rows (duplicates left out by `Spool.drop`)."""
    parts = []
    n_rows = 0
    if spool is not None:
        spool.reset()
    for raw in frames:
        n_rows += raw.height
        for offset in range(0, max(raw.height, 1), CHUNK_ROWS):
            part = _validate_chunk(raw.slice(offset, CHUNK_ROWS), definitions, registry, now, headers, source_file,
                                   submitted_by, scope)
            if spool is not None:
                spool.add(part[0])
                part = (part[0].clear(), *part[1:])
            parts.append(part)
        del raw
    rows = pl.concat([p[0] for p in parts])
    rejections = pl.concat([p[1] for p in parts])
    missing_rows = pl.concat([p[2] for p in parts])
    hashes = pl.concat([p[3] for p in parts])
    candidates = hashes.filter(pl.col("_h").is_duplicated())["_row"]  # a hash collision only adds candidates
    stored_keys = spool.keys(candidates) if spool is not None else rows.filter(
        pl.col("source_row").is_in(candidates.cast(pl.Int32).implode())).select(
        _row=pl.col("source_row").cast(pl.Int64), _code="region_code", _ind="indicator_id", _label="period")
    keys = pl.concat([stored_keys, *[p[4].filter(pl.col("_row").is_in(candidates.implode())) for p in parts]])
    del hashes
    dups = _duplicates(keys, headers)
    if dups.height:
        rejections = pl.concat([rejections, dups]).sort("row", "severity", maintain_order=True)
        rows = rows.filter(~pl.col("source_row").is_in(dups["row"].cast(pl.Int32).implode()))
        if spool is not None:
            spool.drop(dups["row"].filter(dups["row"].is_in(stored_keys["_row"].implode())))
    error_rows = rejections.filter(pl.col("severity") == "error")["row"].unique()
    n_missing = missing_rows.filter(~missing_rows.is_in(error_rows.implode())).len()
    return Checked(rows=rows, rejections=rejections, n_rejected=error_rows.len(), n_missing=n_missing, n_rows=n_rows,
                   n_valid=spool.height if spool is not None else rows.height)


def _validate_chunk(raw: pl.DataFrame, definitions: Definitions, registry: RegionRegistry, now: datetime,
                    headers: dict[str, str], source_file: str, submitted_by: str | None,
                    scope: Sequence[str] | None):
    """Each _check_* adds its checks (a polars mask and the reason) in the order the rejections list them; the
    lookups they need are joined onto the frame once per distinct value. Returns the valid rows, the rejection
    entries, the rows skipped for a missing value, and the duplicate-check keys."""
    out = _Collector(headers)
    lookup = _region_lookup(raw, registry, definitions)
    if lookup.height == raw.height:  # every row its own (code, name), e.g. a million distinct bad codes: in row
        df = raw.hstack(lookup.drop("region_code", "region_name"))  # order already; no join (0.6 s CPU a million)
    else:
        df = raw.join(lookup, on=["region_code", "region_name"], how="left", nulls_equal=True, maintain_order="left")
    _check_regions(out)
    if scope is not None:
        df = df.join(_scope_lookup(df["_code"], scope, definitions), on="_code", how="left", maintain_order="left")
        _check_scope(out, scope)
    df = df.join(_indicator_lookup(df["indicator_id"].unique(), definitions), on="indicator_id", how="left",
                 maintain_order="left")
    _check_indicators(out)
    _check_levels(out, definitions)
    df = _check_periods(df, out, now)
    df = _check_values(df, out, headers)
    df = df.join(_timestamps(df["submitted_at"].drop_nulls().unique()), on="submitted_at", how="left",
                 maintain_order="left")
    _check_submitted_at(out)

    rejections = out.frame(df)
    error_rows = rejections.filter(pl.col("severity") == "error")["row"].unique()
    has_error = pl.col("_row").is_in(error_rows.implode())
    rows = df.select(
        _keep=~has_error & ~pl.col("_missing"),
        region_code=pl.col("_code"),
        indicator_id=pl.col("_ind"),
        period=pl.col("_label"),
        period_end=pl.col("_pend"),
        value=pl.col("_value"),
        numerator=pl.col("numerator_num"),
        denominator=pl.col("denominator_num"),
        note=pl.col("note"),
        submitted_by=pl.coalesce(pl.col("submitted_by"), pl.lit(submitted_by, pl.String)),
        submitted_at=pl.coalesce(pl.col("_sat"), pl.lit(now).cast(pl.Datetime("us", "UTC"))),
        source_file=pl.lit(source_file),
        source_row=pl.col("_row").cast(pl.Int32),
    ).filter("_keep").drop("_keep").sort("source_row").cast(BATCH_COLUMNS)
    missing_rows = df.filter(pl.col("_missing"))["_row"]
    key = ["_code", "_ind", "_label"]
    keyed = pl.all_horizontal(pl.col(k).is_not_null() for k in key)
    hashes = df.filter(keyed).select("_row", _h=pl.struct(key).hash())  # 16 bytes a row, for the whole file
    stored = ~has_error & ~pl.col("_missing")
    unstored_keys = df.filter(keyed & ~stored).select("_row", *key)  # the keys of the others are in `rows`
    return rows, rejections, missing_rows, hashes, unstored_keys


def _check_regions(out: _Collector) -> None:
    """Unknown or malformed codes (with suggestions), names that do not match the code."""
    out.add(pl.col("_code").is_null(), "region_code", pl.col("_code_zh"), pl.col("_code_en"),
            value=pl.col("region_code").fill_null(""),
            problem=("地区代码为空、格式不对或不在区划表中", "region code empty, malformed or not in the region registry"))
    out.add(pl.col("_name_zh").is_not_null(), "region_name", pl.col("_name_zh"), pl.col("_name_en"),
            problem=("地区名称与代码不符", "region name does not match the code"))


def _scope_lookup(codes: pl.Series, scope: Sequence[str], definitions: Definitions) -> pl.DataFrame:
    """_code (distinct) -> _out_of_scope: neither one of the scope's codes nor below one (NBS prefix: each
    code's parent is its prefix, regions.parent_of). A region group is in scope when all its members are."""
    allowed = {str(c) for c in scope}
    members = {f"group:{g.id}": list(g.members) for g in definitions.region_groups}

    def inside(code: str) -> bool:
        while code is not None:
            if code in allowed:
                return True
            code = parent_of(code)
        return False

    distinct = codes.drop_nulls().unique().to_list()
    flags = [(c in allowed) or (all(inside(m) for m in members[c]) if c in members and members[c] else inside(c))
             for c in distinct]
    return pl.DataFrame({"_code": distinct, "_out_of_scope": [not f for f in flags]},
                        schema={"_code": pl.String, "_out_of_scope": pl.Boolean})


def _check_scope(out: _Collector, scope: Sequence[str]) -> None:
    """A region outside the submitter's access (issue 10: scope = canonical codes, groups expanded)."""
    listed = "、".join(display_code(c) for c in list(scope)[:10]) + ("…" if len(scope) > 10 else "")
    listed_en = ", ".join(display_code(c) for c in list(scope)[:10]) + ("…" if len(scope) > 10 else "")
    shown = pl.col("region_code").fill_null("")
    out.add(pl.col("_out_of_scope").fill_null(False), "region_code",
            pl.format("地区 {} 不在您的权限范围内（权限：{}）", shown, pl.lit(listed or "无")),
            pl.format("region {} is outside your access (scope: {})", shown, pl.lit(listed_en or "none")),
            value=shown, problem=("地区不在您的权限范围内", "region is outside your access"))


def _check_indicators(out: _Collector) -> None:
    """Empty or unknown indicator ids (with suggestions)."""
    out.add(pl.col("indicator_id").is_null(), "indicator_id", "指标代码为空", "indicator is empty", value=pl.lit(""))
    out.add(pl.col("_ind_zh_err").is_not_null(), "indicator_id", pl.col("_ind_zh_err"), pl.col("_ind_en_err"),
            problem=("未知指标代码", "unknown indicator"))


def _check_levels(out: _Collector, definitions: Definitions) -> None:
    """The region's level must be one the indicator is reported at (groups are not checked)."""
    reported = [f"{ind.id}|{lv.value}" for ind in definitions.indicators for lv in ind.reported_at]
    level_bad = (pl.col("_ind").is_not_null() & pl.col("_level").is_not_null() & (pl.col("_level") != "group")
                 & ~pl.concat_str("_ind", "_level", separator="|").is_in(reported))
    level_zh = pl.col("_level").replace_strict(LEVEL_ZH, default=pl.col("_level"))
    out.add(level_bad, "region_code",
            pl.format("指标 {} 不在{}填报（填报级别：{}）", pl.col("_ind"), level_zh, pl.col("_levels_zh")),
            pl.format("indicator {} is not reported at {} level (reported at: {})", pl.col("_ind"), pl.col("_level"),
                      pl.col("_levels").str.replace_all(",", ", ")),
            problem=("指标不在该级别填报", "indicator not reported at the region's level"))


def _check_periods(df: pl.DataFrame, out: _Collector, now: datetime) -> pl.DataFrame:
    """Parses each distinct period once; empty, malformed, wrong frequency, not ended yet."""
    periods = []
    for text in df["period"].drop_nulls().unique().to_list():
        try:
            p = parse_period(text)
            periods.append({"period": text, "_label": p.label, "_pend": p.end, "_kind": p.kind,
                            "_future": period_end_utc(p) > now})
        except ValueError:
            periods.append({"period": text, "_label": None, "_pend": None, "_kind": None, "_future": None})
    pframe = pl.DataFrame(periods, schema={"period": pl.String, "_label": pl.String, "_pend": pl.Date,
                                           "_kind": pl.String, "_future": pl.Boolean})
    df = df.join(pframe, on="period", how="left")
    out.add(pl.col("period").is_null(), "period", "统计期为空", "period is empty", value=pl.lit(""))
    out.add(pl.col("period").is_not_null() & pl.col("_label").is_null(), "period",
            "统计期格式不正确，应为 2024、2024-Q3 或 2024-07（若 Excel 把 2024-07 变成了日期，请把该列设为文本）",
            "malformed period; expected 2024, 2024-Q3 or 2024-07 (if Excel turned 2024-07 into a date, format the column as text)")
    freq_bad = pl.col("_kind").is_not_null() & pl.col("_freq").is_not_null() & (pl.col("_kind") != pl.col("_freq"))
    out.add(freq_bad, "period",
            pl.format("统计期与指标频率不符：{}是{}指标，应填如 {} 的统计期", pl.col("_ind"),
                      pl.col("_freq").replace_strict(_FREQ_ZH), pl.col("_freq").replace_strict(_PERIOD_EXAMPLE)),
            pl.format("period does not match the indicator's frequency: {} is {}, expected a period like {}",
                      pl.col("_ind"), pl.col("_freq"), pl.col("_freq").replace_strict(_PERIOD_EXAMPLE)),
            problem=("统计期与指标频率不符", "period does not match the indicator's frequency"))
    now_cst = now.astimezone(CST).strftime("%Y-%m-%d %H:%M")
    out.add(pl.col("_future").fill_null(False), "period",
            f"统计期尚未结束（现在是北京时间 {now_cst}）", f"the period has not ended yet (now: {now_cst} China Standard Time)")
    return df


def _check_values(df: pl.DataFrame, out: _Collector, headers: dict[str, str]) -> pl.DataFrame:
    """Numbers, numerator/denominator, the computed ratio, missing values, sign and bounds."""
    for col in ("value", "numerator", "denominator"):
        df = normalise_numbers(df, col)
        out.add(pl.col(f"{col}_bad"), col, f"{FIELD_ZH[col]}不是数字", f"{col} is not a number")
        out.add(pl.col(f"{col}_pct") & pl.col(f"{col}_num").is_not_null() & ~pl.col("_pct_unit").fill_null(True), col,
                pl.format("该指标的单位不是 %，不能填百分数（{}）", pl.col("_ind")),
                pl.format("the indicator's unit is not %; a percentage cannot be given ({})", pl.col("_ind")),
                problem=("该指标的单位不是 %，不能填百分数", "the indicator's unit is not %; a percentage cannot be given"))
        limit = pl.max_horizontal(pl.lit(MAX_ABS_VALUE), pl.col("_min").abs(), pl.col("_max").abs()) if col == "value" \
            else pl.lit(MAX_ABS_VALUE)
        out.add(pl.col(f"{col}_num").is_not_null() & ~(pl.col(f"{col}_num").abs() <= limit), col,
                pl.format("{}超出合理范围：须为有限数且绝对值不超过 {}", pl.lit(FIELD_ZH[col]), _sci(limit)),
                pl.format("{} is out of range: it must be finite with an absolute value of at most {}", pl.lit(col),
                          _sci(limit)),
                problem=(f"{FIELD_ZH[col]}超出合理范围", f"{col} is out of range"))
    has_num, has_den = pl.col("numerator_num").is_not_null(), pl.col("denominator_num").is_not_null()
    is_ratio = pl.col("_rule") == AggregationRule.ratio.value
    out.add(has_num ^ has_den, "numerator" if "numerator" in headers else "denominator",
            "分子和分母须同时填写", "numerator and denominator must be given together",
            value=pl.col("numerator").fill_null("") + pl.lit(" / ") + pl.col("denominator").fill_null(""))
    out.add(has_num & (pl.col("numerator_num") < 0), "numerator", "分子不能为负数", "numerator cannot be negative")
    out.add(has_den & (pl.col("denominator_num") <= 0), "denominator", "分母必须大于 0",
            "denominator must be greater than 0")
    num_gt_den = is_ratio & pl.col("_capped") & has_num & has_den & (pl.col("numerator_num") > pl.col("denominator_num"))
    out.add(num_gt_den, "numerator",
            pl.format("分子大于分母（{} > {}），比率不能超过 100%", pl.col("numerator"), pl.col("denominator")),
            pl.format("numerator is greater than the denominator ({} > {}); the rate cannot exceed 100%",
                      pl.col("numerator"), pl.col("denominator")),
            value=pl.col("numerator"), problem=("分子大于分母，比率不能超过 100%", "numerator is greater than the denominator"))
    computed = pl.col("numerator_num") / pl.col("denominator_num") * pl.col("_scale")
    use_computed = is_ratio & has_num & has_den & (pl.col("denominator_num") > 0)
    df = df.with_columns(_computed=pl.when(use_computed).then(computed))
    out.add(pl.col("_computed").is_not_null() & ~(pl.col("_computed").abs() <= MAX_ABS_VALUE)
            & (pl.col("numerator_num").abs() <= MAX_ABS_VALUE) & (pl.col("denominator_num").abs() <= MAX_ABS_VALUE),
            "value", "按分子/分母计算的数值超出合理范围（须为有限数且绝对值不超过 1e12）",
            "the value computed from numerator/denominator is out of range (finite, absolute value at most 1e12)",
            value=pl.col("numerator").fill_null("") + pl.lit(" / ") + pl.col("denominator").fill_null(""))
    tolerance = 0.5 * pl.lit(10.0).pow(-pl.col("value_dp").cast(pl.Float64)) + 1e-9
    out.add(pl.col("_computed").is_not_null() & pl.col("value_num").is_not_null()
            & ((pl.col("value_num") - pl.col("_computed")).abs() > tolerance), "value",
            pl.format("数值与分子/分母不一致：按分子/分母计算为 {}，已采用计算值", pl.col("_computed").round(4)),
            pl.format("value disagrees with numerator/denominator: computed {}; the computed value is used",
                      pl.col("_computed").round(4)), severity="warning",
            problem=("数值与分子/分母不一致，已采用计算值", "value disagrees with numerator/denominator; the computed value is used"))
    df = df.with_columns(_value=pl.coalesce("_computed", "value_num"))
    needs_value = ~is_ratio & has_num & has_den & pl.col("value_num").is_null() & ~pl.col("value_bad")
    out.add(needs_value.fill_null(False) & pl.col("_rule").is_not_null(), "value",
            pl.format("该指标（汇总规则 {}）须填写数值", pl.col("_rule")),
            pl.format("this indicator (aggregation {}) needs a value", pl.col("_rule")), value=pl.lit(""),
            problem=("该指标须填写数值", "this indicator needs a value"))
    missing = (pl.col("_value").is_null() & ~pl.col("value_bad") & ~pl.col("numerator_bad") & ~pl.col("denominator_bad")
               & ~has_num & ~has_den)
    df = df.with_columns(_missing=missing)
    out.add(pl.col("_missing"), "value", "数值缺失（不按 0 处理），该行未存储", "value is missing (not taken as 0); the row is not stored",
            severity="warning", value=pl.col("value").fill_null(""))
    # a value already refused as out of range (not finite, or beyond 1e12) gets that one message, not also a sign's
    # or a bound's
    sane = pl.col("_value").abs() <= pl.max_horizontal(pl.lit(MAX_ABS_VALUE), pl.col("_min").abs(), pl.col("_max").abs())
    count_rule = pl.col("_rule").is_in(["sum", "ratio", "per_community"])
    negative = count_rule & pl.col("_min").is_null() & (pl.col("_value") < 0) & ~(has_num & (pl.col("numerator_num") < 0)) & sane
    out.add(negative, "value", "数值不能为负数（计数类指标）", "value cannot be negative for a count")
    below = pl.col("_min").is_not_null() & (pl.col("_value") < pl.col("_min")) & sane
    above = pl.col("_max").is_not_null() & (pl.col("_value") > pl.col("_max")) & ~num_gt_den.fill_null(False) & sane
    shown = pl.when(pl.col("_computed").is_not_null()).then(pl.col("_computed").round(4).cast(pl.String)).otherwise(pl.col("value"))
    out.add(below, "value", pl.format("数值 {} 小于下限 {}", shown, pl.col("_min_s")),
            pl.format("value {} is below the minimum {}", shown, pl.col("_min_s")), value=shown,
            problem=("数值小于下限", "value is below the minimum"))
    out.add(above, "value", pl.format("数值 {} 大于上限 {}", shown, pl.col("_max_s")),
            pl.format("value {} is above the maximum {}", shown, pl.col("_max_s")), value=shown,
            problem=("数值大于上限", "value is above the maximum"))
    return df


def _duplicates(keys: pl.DataFrame, headers: dict[str, str]) -> pl.DataFrame:
    """Every row of a (region, indicator, period) that appears more than once, naming all its rows. `keys`: the
    rows whose key hash is not unique in the file, with their keys."""
    key = ["_code", "_ind", "_label"]
    out = _Collector(headers)
    dups = keys.filter(pl.struct(key).is_duplicated()).sort("_row")
    if dups.height:
        dups = dups.with_columns(_rows=pl.col("_row").cast(pl.String).implode().over(key)).with_columns(
            _others=pl.col("_rows").list.join("、"),
            _others_en=pl.col("_rows").list.join(", "),
        )
        key_headers = "+".join(headers.get(f, f) for f in ("region_code", "indicator_id", "period"))
        out.headers = {**headers, "_key": key_headers}
        out.add_rows(dups, "_key",
                     pl.format("同一地区、指标、统计期重复出现（第 {} 行）", pl.col("_others")),
                     pl.format("duplicate region, indicator and period (rows {})", pl.col("_others_en")),
                     value=pl.format("{} / {} / {}", pl.col("_code"), pl.col("_ind"), pl.col("_label")),
                     problem=("同一地区、指标、统计期重复出现", "duplicate region, indicator and period"))
    return out.frame(keys.clear())


def _sci(limit: pl.Expr) -> pl.Expr:
    """1e12 as "1e12" (not 1000000000000.0)."""
    exponent = limit.log10().round(0)
    return pl.when(limit == pl.lit(10.0).pow(exponent)).then(pl.format("1e{}", exponent.cast(pl.Int64))) \
        .otherwise(limit.cast(pl.String))


def _check_submitted_at(out: _Collector) -> None:
    """Metadata: a bad timestamp is a warning and the ingest time is used."""
    out.add(pl.col("submitted_at").is_not_null() & pl.col("_sat").is_null(), "submitted_at",
            "填报时间无法识别（应为 2025-01-15 或 2025-01-15 10:30），已改用导入时间",
            "submitted_at not understood (expected 2025-01-15 or 2025-01-15 10:30); the ingest time is used", severity="warning")

