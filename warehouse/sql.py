"""SQL generation for the engine (DuckDB).

Everything here is text built from the validated Definitions: values (indicator ids, scales, dates, file names)
are bound as named parameters (`$name`), identifiers are fixed column names quoted by `ident`, and every step
carries a comment. The same formulas as warehouse/status.py are defined once as `pw_*` macros.

Relations the engine registers before running a query:
- `scope(code, match)`: the regions asked for; a division matches itself and its descendants through its own
  code, a group `group:<id>` through each member code (one row per member).
- `assess(...)`: one row per scope region and indicator with its governing plan target (ASSESS_COLUMNS).
- `regions`: the region registry (regions.parquet schema).
- `snapshot_rows`: the rows to read (warehouse/current.py `view_sql`): batch columns + superseded_at.
- `annual_points(annual_key, annual_end_1, annual_value_1, ...)`: each set of annual targets of the definitions,
  one row per set (warehouse/annual_path.py `points_frame`); only registered when there is one.
"""

from __future__ import annotations

from warehouse import annual_path, sql_rollup, sql_scope, value_sanity
from warehouse.sql_scope import (COUNTRY_CODE, PREFIX_LENGTHS, SCOPE_FILTER, SCOPE_PARAMS,  # noqa: F401 (API)
                                 attach_length, bind_scope)
from warehouse.definitions import Definitions, Indicator

# Batch row columns (docs/architecture.md) - the only data identifiers used in the SQL.
BATCH_COLUMNS = (
    "batch_id", "region_code", "indicator_id", "period", "period_end", "value", "numerator", "denominator",
    "note", "submitted_by", "submitted_at", "ingested_at", "source_file", "source_row",
)

# Columns of the registered `assess` relation (built by the engine from the definitions).
ASSESS_COLUMNS = (
    "region_code", "indicator_id", "plan_id", "attribute", "method", "direction", "comparator", "target_value",
    "target_high", "target_year", "plan_baseline", "baseline_year", "plan_region_self", "green", "amber",
    "baseline_end", "path_end", "value_cutoff", "target_over", "final_deadline", "observation_months",
    "baseline_from_warehouse", "baseline_fallback", "annual_key", "annual_kind",
)


def ident(name: str) -> str:
    """Quote an identifier; only known column names are accepted."""
    if name not in BATCH_COLUMNS and name not in ASSESS_COLUMNS:
        raise ValueError(f"unknown column {name!r}")
    return '"' + name.replace('"', '""') + '"'


# ---------------------------------------------------------------- formulas (mirror warehouse/status.py)
MACROS = """\
-- a code's prefix length: 'CN' (the country, the prefix of every code) is 0, a division code its length
CREATE OR REPLACE TEMP MACRO pw_code_length(code) AS CASE WHEN code = 'CN' THEN 0 ELSE length(code) END;
-- the code's prefixes whose lengths are in `lens` (division lengths 2, 4, 6, 9, 12 and 0 for 'CN'), shorter
-- than the code by at least `strict` (0: the code itself included, 1: strictly above it)
CREATE OR REPLACE TEMP MACRO pw_prefixes(code, lens, strict) AS
    list_transform(
        list_filter(lens, lambda n: n IN (0, 2, 4, 6, 9, 12) AND n <= pw_code_length(code) - strict),
        lambda n: CASE WHEN n = 0 THEN 'CN' ELSE code[1:n] END);
-- goal(b): the point of the target nearest to the baseline (the nearer band edge for bands)
CREATE OR REPLACE TEMP MACRO pw_goal(b, lo, hi) AS
    CASE WHEN hi IS NOT NULL THEN greatest(lo, least(b, hi)) ELSE lo END;
-- dist(x): how far x is from meeting the target, 0 when met; NULL for no value (greatest() skips NULLs)
CREATE OR REPLACE TEMP MACRO pw_dist(x, cmp, lo, hi) AS
    CASE WHEN x IS NULL THEN NULL
         WHEN hi IS NOT NULL THEN greatest(lo - x, 0.0, x - hi)
         WHEN cmp IN ('>=', '>') THEN greatest(lo - x, 0.0)
         WHEN cmp IN ('<=', '<') THEN greatest(x - lo, 0.0)
         ELSE abs(x - lo) END;
-- holds(x): the target's comparator holds for x
CREATE OR REPLACE TEMP MACRO pw_holds(x, cmp, lo, hi) AS
    CASE WHEN hi IS NOT NULL THEN x >= lo AND x <= hi
         WHEN cmp = '>=' THEN x >= lo
         WHEN cmp = '>' THEN x > lo
         WHEN cmp = '<=' THEN x <= lo
         WHEN cmp = '<' THEN x < lo
         ELSE abs(x - lo) <= 1e-9 * greatest(1.0, abs(lo)) END;
-- expected value on the straight line baseline (f = 0) -> goal (f = 1), flat outside [0, 1]
CREATE OR REPLACE TEMP MACRO pw_expected(b, lo, hi, f) AS
    b + (pw_goal(b, lo, hi) - b) * least(greatest(f, 0.0), 1.0);
-- the path between two corners (d0, v0) and (d1, v1) at day t: linear in days, flat outside (annual targets)
CREATE OR REPLACE TEMP MACRO pw_interp(d0, v0, d1, v1, t) AS
    CASE WHEN t IS NULL THEN NULL WHEN t <= d0 THEN v0 WHEN t >= d1 THEN v1
         ELSE v0 + (v1 - v0) * date_diff('day', d0, t) / date_diff('day', d0, d1) END;
-- share of dist(b) the path expects closed at its expected value e: (dist(b) - dist(e)) / dist(b) (annual path)
CREATE OR REPLACE TEMP MACRO pw_share(b, e, cmp, lo, hi) AS
    (pw_dist(b, cmp, lo, hi) - pw_dist(e, cmp, lo, hi)) / nullif(pw_dist(b, cmp, lo, hi), 0);
-- schedule progress ratio: (dist(b) - dist(a)) / (dist(b) * min(f, 1)); NULL when undefined
CREATE OR REPLACE TEMP MACRO pw_schedule_ratio(a, b, cmp, lo, hi, f) AS
    CASE WHEN pw_dist(b, cmp, lo, hi) = 0 OR f IS NULL OR f <= 0 THEN NULL
         ELSE (pw_dist(b, cmp, lo, hi) - pw_dist(a, cmp, lo, hi)) / (pw_dist(b, cmp, lo, hi) * least(f, 1.0)) END;
-- cagr ratio (Open SDG / Eurostat): d * CAGR_observed / |CAGR_required|, target 0 -> 0.001
CREATE OR REPLACE TEMP MACRO pw_cagr_ratio(a, b, cmp, t, elapsed, span) AS
    CASE WHEN b <= 0 OR a < 0 OR (CASE WHEN t = 0 THEN 0.001 ELSE t END) < 0 OR elapsed <= 0 OR span <= 0
              OR pow((CASE WHEN t = 0 THEN 0.001 ELSE t END) / b, 1.0 / span) - 1.0 = 0 THEN NULL
         ELSE (CASE WHEN cmp IN ('>=', '>') THEN 1.0 ELSE -1.0 END) * (pow(a / b, 1.0 / elapsed) - 1.0)
              / abs(pow((CASE WHEN t = 0 THEN 0.001 ELSE t END) / b, 1.0 / span) - 1.0) END;
"""


def status_steps(source: str) -> str:
    """Two CTE steps computing the status from a relation `source` with the input columns
    actual, baseline, comparator, target_value, target_high, fraction, elapsed_years, span_years,
    green, amber, final, final_value, single_observation, early, baseline_source, method, annual_path (an annual
    path applies), path_expected (the expected value on it at the value's date) (+ anything else, passed through).
    On an annual path the schedule method runs (cagr included) with pw_share(b, path_expected) in place of f.

    Produces `measured` (met, progress_ratio, expected, gap) and `assessed` (+ status, reason)."""
    return f"""\
-- measure: does the value meet the target, the progress ratio by the indicator's method, the expected value
measured AS (
    SELECT *,
        -- cagr needs a growth direction: "=" targets and bands use the schedule method; so does an annual path
        CASE WHEN method = 'cagr' AND comparator <> '=' AND target_high IS NULL AND NOT annual_path THEN 'cagr'
             ELSE 'schedule' END AS method_used,
        pw_holds(actual, comparator, target_value, target_high) AS met,
        pw_dist(actual, comparator, target_value, target_high) AS gap,
        CASE WHEN baseline IS NULL OR single_observation OR early THEN NULL
             WHEN method = 'cagr' AND comparator <> '=' AND target_high IS NULL AND NOT annual_path
                 THEN pw_cagr_ratio(actual, baseline, comparator, target_value, elapsed_years, span_years)
             WHEN annual_path THEN pw_schedule_ratio(actual, baseline, comparator, target_value, target_high,
                 pw_share(baseline, path_expected, comparator, target_value, target_high))
             ELSE pw_schedule_ratio(actual, baseline, comparator, target_value, target_high, fraction) END
            AS progress_ratio,
        CASE WHEN baseline IS NULL OR (method = 'cagr' AND comparator <> '=' AND target_high IS NULL
                                       AND NOT annual_path) THEN NULL
             WHEN annual_path THEN path_expected
             ELSE pw_expected(baseline, target_value, target_high, fraction) END AS expected
    FROM {source}
),
-- classify: every branch of docs/methodology.md, in order (first match wins)
assessed AS (
    SELECT *,
        CASE WHEN target_value IS NULL THEN 'not_assessable|no_target'
             -- final without the target year's value (its deadline has passed): not reported, for good
             WHEN final AND (actual IS NULL OR NOT coalesce(final_value, false)) THEN 'not_reported|final_not_reported'
             WHEN actual IS NULL THEN 'no_data|no_data'
             WHEN final AND met THEN 'achieved|met'
             WHEN final THEN 'not_achieved|final_gap'
             WHEN met THEN 'achieved|met'
             -- below the plan's region with no baseline-year value of its own: never another region's baseline
             WHEN baseline_source = 'none' THEN 'not_assessable|no_region_baseline'
             WHEN baseline IS NULL THEN 'not_assessable|no_baseline'
             WHEN single_observation THEN 'not_assessable|single_observation'
             WHEN pw_dist(baseline, comparator, target_value, target_high) = 0 THEN 'far_behind|maintain_failed'
             WHEN method_used = 'cagr' AND elapsed_years <= 0 THEN 'not_assessable|before_path'
             WHEN method_used = 'schedule' AND (fraction IS NULL OR fraction <= 0) THEN 'not_assessable|before_path'
             -- observation period: too little of the path has elapsed for a ratio to mean anything
             WHEN early THEN 'too_early|observation'
             WHEN progress_ratio IS NULL AND method_used = 'cagr' THEN 'not_assessable|cagr_undefined'
             WHEN progress_ratio IS NULL THEN 'not_assessable|before_path'
             WHEN progress_ratio < 0 THEN 'far_behind|moving_away'
             WHEN progress_ratio >= (CASE WHEN method_used = 'cagr' THEN 0.95 ELSE green END) THEN 'on_schedule|ratio'
             WHEN progress_ratio >= (CASE WHEN method_used = 'cagr' THEN 0.60 ELSE amber END) THEN 'behind|ratio'
             ELSE 'far_behind|ratio' END AS status_reason
    FROM measured
)"""


# ---------------------------------------------------------------- values
def values_ctes(defs: Definitions, indicators: list[Indicator], params: dict, attach: int | None = None,
                events: bool = False) -> str:
    """CTEs `latest` (latest value per region, indicator, period as of $as_of) and `vals` (each scope region's
    submitted value next to the roll-up of its descendants). `attach`: sql_scope.attach_length of the scope.
    `events`: the roll-ups come from the roll-up events ($rollup_events, warehouse/rollup_events.py; the engine
    decides when they can), and the rows read are only the scope regions' own (codes of length `attach`)."""
    params["tolerance"] = float(defs.defaults.rollup_tolerance)
    params.setdefault("unique_keys", False)  # the engine sets it when only the versions table is read
    params["indicators"] = [ind.id for ind in indicators]
    if events:
        if attach is None:
            raise ValueError("roll-up events need one match length")
        params["rollup_level"] = attach
    own_only = f'\n      AND pw_code_length("region_code") = {attach}' if events else ""
    return f"""\
-- 1. snapshot: rows ingested at or before the as-of time and not superseded by then (`snapshot_rows`: the
--    versions table, warehouse/current.py, and batch files it does not cover, whose superseded_at is NULL),
--    narrowed first to the scope (the rows of the scope's codes and their descendants: a code range for
--    row-group pruning, then the exact prefixes by length) and to periods ending by the latest value cut-off
submitted AS (
    SELECT "region_code", "indicator_id", "period", "period_end", "value", "numerator", "denominator",
           "submitted_at", "ingested_at", "source_row", "batch_id"
    FROM snapshot_rows
    WHERE "ingested_at" <= $as_of AND ("superseded_at" IS NULL OR "superseded_at" > $as_of)
      AND list_contains($indicators, "indicator_id")
      AND "period_end" <= $period_cutoff
      AND {SCOPE_FILTER}{own_only}
),
-- 2. latest value per region, indicator and period: latest ingested, then latest submitted, then highest row.
--    $unique_keys: every row comes from the versions table (no uncovered batch), whose versions of a key cover
--    disjoint [ingested_at, superseded_at) intervals, so step 1 already left one row per key and DuckDB folds
--    the window away. A latest row with a non-finite or absurd value is then dropped (warehouse/value_sanity.py:
--    the region has no value for that period; the data-quality page lists the row)
latest AS (
    SELECT * FROM submitted
    QUALIFY ($unique_keys OR row_number() OVER (
        PARTITION BY "region_code", "indicator_id", "period"
        ORDER BY "ingested_at" DESC, "submitted_at" DESC NULLS LAST, "source_row" DESC, "batch_id" DESC) = 1)
        AND {value_sanity.usable_sql()}
),
{sql_rollup.rollup_ctes(indicators, params, events=True) if events else _row_rollups(indicators, params, attach)},
-- 7. the region's own submission (it vouches for it, so it drives the status) next to the roll-up: the rows of
--    `attached` with is_self, taken from `latest` directly (a row whose code is the scope code, under its match
--    code) so that `attached` has one consumer and streams instead of being stored
own AS (
    SELECT s.code AS scope_code, l."indicator_id", l."period", l."period_end", l."value"
    FROM latest AS l
    JOIN scope AS s ON s.code = l."region_code"
    WHERE s.match = 'CN' OR starts_with(l."region_code", s.match)
),
vals AS (
    SELECT coalesce(o.scope_code, r.scope_code) AS region_code,
           coalesce(o."indicator_id", r."indicator_id") AS indicator_id,
           coalesce(o."period", r."period") AS period,
           coalesce(o."period_end", r.period_end) AS period_end,
           o."value" AS submitted_value,
           r.rollup_value,
           r.rollup_n,
           coalesce(o."value", r.rollup_value) AS value,
           CASE WHEN o."value" IS NOT NULL THEN 'submitted' ELSE 'rollup' END AS value_source,
           coalesce(abs(o."value" - r.rollup_value) > $tolerance * abs(r.rollup_value), false) AS disagreement
    FROM own AS o
    FULL OUTER JOIN rollups AS r
      ON o.scope_code = r.scope_code AND o."indicator_id" = r."indicator_id" AND o."period" = r."period"
)"""


def _row_rollups(indicators: list[Indicator], params: dict, attach: int | None) -> str:
    """Steps 3-6 from the rows of `latest`: attach them to the scope, keep the finest submitted, sum by rule."""
    return f"""\
-- 3. code prefix lengths that can matter ('CN' counts as length 0, the prefix of every code): the lengths of
--    the scope's match codes (a row attaches to a scope region through a prefix equal to a match code) and of
--    the rows' own codes (a prefix can equal a row's code only at that code's length)
scope_lengths AS (SELECT list(DISTINCT pw_code_length("match")) AS lens FROM scope),
row_lengths AS (SELECT list(DISTINCT pw_code_length("region_code")) AS lens FROM latest),
{sql_scope.attach_cte(attach)}
-- 5. roll-up contributors: rows strictly below the scope region that have no submitted row below them for the
--    same indicator and period (the finest level submitted, branch by branch)
has_below AS (
    SELECT DISTINCT code, "indicator_id", "period"
    FROM (SELECT unnest(pw_prefixes("region_code", (SELECT lens FROM row_lengths), 1)) AS code,
                 "indicator_id", "period"
          FROM latest{sql_scope.below_filter(attach)})
),
contributors AS (
    SELECT a.*,
           coalesce(r.n_urban_communities, 0) AS n_urban,
           coalesce(r.n_rural_communities, 0) AS n_rural
    FROM attached AS a
    LEFT JOIN regions AS r ON r.code = a."region_code"
    ANTI JOIN has_below AS h
      ON h.code = a."region_code" AND h."indicator_id" = a."indicator_id" AND h."period" = a."period"
    WHERE NOT a.is_self
),
{sql_rollup.rollup_ctes(indicators, params)}"""


def annual_ctes(width: int) -> str:
    """Steps 11a-11b: the expected value on an annual-target path (docs/methodology.md §6a) at the value's period
    end and at the as-of date. `annual_points` has one row per set of points with `width` (date, value) column
    pairs (warehouse/annual_path.py `points_frame`); a set's points lie before the target year, in order. Scalar
    expressions per row (no aggregation, `positioned` read once): with no annual targets in the definitions
    (width 0) the path is never annual and nothing is joined."""
    if width == 0:
        return """\
-- 11a-b. annual targets: none in the definitions, every path is the straight line (or cagr)
pathed AS (
    SELECT *, false AS annual_path, CAST(NULL AS DOUBLE) AS path_expected, CAST(NULL AS DOUBLE) AS path_expected_now
    FROM positioned
),"""
    ends = [f"x.annual_end_{i}" for i in range(1, width + 1)]

    def pick(fn: str, test: str) -> str:  # the last point on or before / the first point after a day
        return f"{fn}(\n            " + ",\n            ".join(
            f"CASE WHEN {e} > p.path_start AND {e} {test} THEN {e} END" for e in ends) + ")"

    def value(end: str) -> str:
        return (f"CASE {end} " + " ".join(f"WHEN annual_end_{i} THEN annual_value_{i}" for i in range(1, width + 1))
                + " END")

    inside = "greatest(\n            " + ",\n            ".join(f"CASE WHEN {e} > p.path_start THEN {e} END" for e in ends) + ")"
    goal = "pw_goal(baseline, target_value, target_high)"
    return f"""\
-- 11a. annual targets (docs/methodology.md section 6a): the region's set of points (its own, else the plan-wide
--      one), applied when it is its own, or it is the plan's own region, or it is measured from the plan's baseline
--      (plan_fallback), and a point lies after the path start; for the value's period end and for the as-of date,
--      the last point on or before it and the first point after it (greatest/least skip NULLs)
annual_corners AS (
    SELECT p.*, x.* EXCLUDE (annual_key),
        coalesce(p.annual_kind = 'region' OR p.plan_region_self OR p.baseline_source = 'plan_fallback', false)
            AND {inside} IS NOT NULL AS annual_path,
        {pick("greatest", "<= p.period_end")} AS prev_end,
        {pick("least", "> p.period_end")} AS next_end,
        {pick("greatest", "<= $as_of_date")} AS prev_end_now,
        {pick("least", "> $as_of_date")} AS next_end_now
    FROM positioned AS p
    LEFT JOIN annual_points AS x ON x.annual_key = p.annual_key
),
-- 11b. the expected value on the path (piecewise linear in days through the baseline, the points and the goal)
pathed AS (
    SELECT *,
        pw_interp(coalesce(prev_end, path_start),
                  coalesce({value("prev_end")}, baseline),
                  coalesce(next_end, path_end),
                  coalesce({value("next_end")}, {goal}),
                  period_end) AS path_expected,
        pw_interp(coalesce(prev_end_now, path_start),
                  coalesce({value("prev_end_now")}, baseline),
                  coalesce(next_end_now, path_end),
                  coalesce({value("next_end_now")}, {goal}),
                  $as_of_date) AS path_expected_now
    FROM annual_corners
),"""


def status_query(defs: Definitions, indicators: list[Indicator], params: dict, attach: int | None = None,
                 events: bool = False) -> str:
    """The whole status query: values, baseline, path position, progress, status, trend.
    Params to bind besides those filled here: as_of (naive UTC timestamp), as_of_date (CST date) and the
    scope filter (`bind_scope`)."""
    return f"""\
-- planwatch status: generated from the definitions; values are bound parameters
WITH
{values_ctes(defs, indicators, params, attach, events)},
-- 8. the region's series under its governing target, up to the value cut-off (as-of date, end of target year)
series AS (
    SELECT v.*, a.baseline_year AS b_year, a.baseline_end AS b_end,
           row_number() OVER (PARTITION BY v.region_code, v.indicator_id
                              ORDER BY v.period_end DESC, v.period DESC) AS recency
    FROM vals AS v
    JOIN assess AS a ON a.region_code = v.region_code AND a.indicator_id = v.indicator_id
    WHERE v.value IS NOT NULL AND v.period_end <= a.value_cutoff
      -- values dated before the baseline year never decide a status
      AND year(v.period_end) >= a.baseline_year
),
-- 9. per region and indicator: latest value, previous value, baseline-year value, first value after baseline
picked AS (
    SELECT region_code, indicator_id,
        any_value(period) FILTER (WHERE recency = 1) AS period,
        any_value(period_end) FILTER (WHERE recency = 1) AS period_end,
        any_value(value) FILTER (WHERE recency = 1) AS actual,
        any_value(value_source) FILTER (WHERE recency = 1) AS value_source,
        any_value(submitted_value) FILTER (WHERE recency = 1) AS submitted_value,
        any_value(rollup_value) FILTER (WHERE recency = 1) AS rollup_value,
        any_value(rollup_n) FILTER (WHERE recency = 1) AS rollup_n,
        any_value(disagreement) FILTER (WHERE recency = 1) AS disagreement,
        any_value(value) FILTER (WHERE recency = 2) AS previous_value,
        arg_max(value, period_end) FILTER (WHERE year(period_end) = b_year) AS region_baseline,
        arg_min(value, period_end) FILTER (WHERE period_end > b_end) AS first_value,
        min(period_end) FILTER (WHERE period_end > b_end) AS first_period_end
    FROM series
    GROUP BY region_code, indicator_id
),
-- 10. baseline (docs/methodology.md section 4): the plan's value for the plan's own region; below it (and for
--     `from: warehouse` baselines) the region's own baseline-year value; the plan-wide value only where the
--     target opts in (`baseline_fallback: plan`); else 'none' (not assessable, never another region's baseline
--     silently); a plan baseline unknown ("-" in the plan) -> the region's first observation after the baseline year
based AS (
    SELECT a.*, p.* EXCLUDE (region_code, indicator_id),
        CASE WHEN a.baseline_from_warehouse AND p.region_baseline IS NOT NULL THEN 'region'
             WHEN a.baseline_from_warehouse THEN 'none'
             WHEN a.plan_region_self AND a.plan_baseline IS NOT NULL THEN 'plan'
             WHEN p.region_baseline IS NOT NULL THEN 'region'
             WHEN a.plan_baseline IS NOT NULL AND a.baseline_fallback THEN 'plan_fallback'
             WHEN a.plan_baseline IS NOT NULL THEN 'none'
             WHEN p.first_value IS NOT NULL THEN 'first_observation'
             ELSE 'unknown' END AS baseline_source
    FROM assess AS a
    LEFT JOIN picked AS p ON p.region_code = a.region_code AND p.indicator_id = a.indicator_id
),
-- 11. path: from the baseline (end of baseline year, or the first observation) to the end of the target year;
--     fraction in days at the value's period end and at the as-of date; elapsed years in months / 12 (cagr)
positioned AS (
    SELECT *,
        CASE baseline_source WHEN 'plan' THEN plan_baseline WHEN 'plan_fallback' THEN plan_baseline
             WHEN 'region' THEN region_baseline WHEN 'first_observation' THEN first_value END AS baseline,
        baseline_source = 'first_observation' AND period_end = first_period_end AS single_observation,
        -- final evaluation: the target year is over and either its year-end value is in or the reporting
        -- deadline (due days + grace) has passed; until then the interim status stands, awaiting final data
        period_end = path_end AS final_value,
        target_over AND (coalesce(period_end = path_end, false) OR $as_of_date > final_deadline) AS final,
        target_over AND NOT (coalesce(period_end = path_end, false) OR $as_of_date > final_deadline)
            AS awaiting_final,
        CASE WHEN baseline_source = 'first_observation' THEN first_period_end ELSE baseline_end END AS path_start,
        date_diff('day', path_start, period_end) / nullif(date_diff('day', path_start, path_end), 0) AS fraction,
        date_diff('day', path_start, $as_of_date) / nullif(date_diff('day', path_start, path_end), 0)
            AS fraction_now,
        date_diff('month', path_start, period_end) / 12.0 AS elapsed_years,
        date_diff('month', path_start, path_end) / 12.0 AS span_years,
        -- observation period: fewer than observation_months months from the path start to the value
        date_diff('month', path_start, period_end) < observation_months AS early
    FROM based
),
{annual_ctes(annual_path.width(defs))}
{status_steps("pathed")}
-- 12. output: status, reason code, expected value now, trend between the two latest values
SELECT *,
    split_part(status_reason, '|', 1) AS status,
    split_part(status_reason, '|', 2) AS reason,
    CASE WHEN baseline IS NULL OR target_value IS NULL THEN NULL
         WHEN annual_path THEN path_expected_now
         ELSE pw_expected(baseline, target_value, target_high, fraction_now) END AS expected_now,
    CASE WHEN previous_value IS NULL OR actual IS NULL THEN NULL
         WHEN abs(actual - previous_value) <= 1e-9 * greatest(1.0, abs(previous_value)) THEN 'flat'
         WHEN target_value IS NOT NULL AND (target_high IS NOT NULL OR comparator = '=') THEN
             CASE WHEN pw_dist(actual, comparator, target_value, target_high)
                       < pw_dist(previous_value, comparator, target_value, target_high)
                  THEN 'improving' ELSE 'worsening' END
         WHEN direction = 'lower' THEN CASE WHEN actual < previous_value THEN 'improving' ELSE 'worsening' END
         ELSE CASE WHEN actual > previous_value THEN 'improving' ELSE 'worsening' END END AS trend
FROM assessed
ORDER BY region_code, indicator_id"""


def series_query(defs: Definitions, indicators: list[Indicator], params: dict, attach: int | None = None,
                 events: bool = False) -> str:
    """Every period's effective value (submitted or roll-up) for the scope regions (trajectory)."""
    return f"""\
-- planwatch series: effective value per period for the scope regions
WITH
{values_ctes(defs, indicators, params, attach, events)}
SELECT * FROM vals WHERE value IS NOT NULL ORDER BY region_code, indicator_id, period_end, period"""


def history_query() -> str:
    """Every submission for one region and indicator known at the as-of time, superseded ones included."""
    return """\
-- planwatch history: every submission, newest first; `is_current` marks the one in force per period
SELECT *,
    row_number() OVER (PARTITION BY "period"
                       ORDER BY "ingested_at" DESC, "submitted_at" DESC NULLS LAST, "source_row" DESC,
                                "batch_id" DESC) = 1 AS is_current
FROM read_parquet($files, union_by_name = true)
WHERE "ingested_at" <= $as_of AND "region_code" = $region AND "indicator_id" = $indicator
ORDER BY "period_end" DESC, "ingested_at" DESC, "source_row" DESC"""


def overdue_query(defs: Definitions, indicators: list[Indicator], params: dict, attach: int | None = None,
                  events: bool = False) -> str:
    """Expected reporting periods (by frequency, from the plan's start to the value cut-off) whose end +
    due_days is before the as-of date and for which the region has no value (submitted or rolled up)."""
    return f"""\
-- planwatch overdue: expected periods without a value after their due date
WITH
{values_ctes(defs, indicators, params, attach, events)},
-- 8. month ends from the plan's start to the value cut-off, kept by the indicator's frequency
due AS (
    SELECT a.region_code, a.indicator_id, a.plan_id, a.attribute, a.due_days,
           last_day(m.month_start) AS period_end
    FROM assess AS a,
         unnest(generate_series(CAST(a.plan_start AS TIMESTAMP), CAST(a.value_cutoff AS TIMESTAMP),
                                INTERVAL 1 MONTH)) AS m(month_start)
    WHERE a.frequency = 'monthly'
       OR (a.frequency = 'quarterly' AND month(m.month_start) IN (3, 6, 9, 12))
       OR (a.frequency = 'annual' AND month(m.month_start) = 12)
)
-- 9. overdue: due date passed, no value for that period end
SELECT d.region_code, d.indicator_id, CAST(d.period_end AS DATE) AS period_end,
       CAST(d.period_end + d.due_days * INTERVAL 1 DAY AS DATE) AS due_date,
       date_diff('day', CAST(d.period_end + d.due_days * INTERVAL 1 DAY AS DATE), $as_of_date) AS days_overdue,
       d.plan_id, d.attribute
FROM due AS d
WHERE CAST(d.period_end + d.due_days * INTERVAL 1 DAY AS DATE) < $as_of_date
  AND NOT EXISTS (
      SELECT 1 FROM vals AS v
      WHERE v.region_code = d.region_code AND v.indicator_id = d.indicator_id
        AND v.period_end = CAST(d.period_end AS DATE) AND v.value IS NOT NULL)
ORDER BY d.region_code, d.indicator_id, period_end"""
