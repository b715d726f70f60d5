-- planwatch status: generated from the definitions; values are bound parameters
WITH
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
      AND ($all_regions OR ("region_code" >= $code_lo AND "region_code" < $code_hi
           AND (NOT $prefix_check OR (len($prefix_2) > 0 AND list_contains($prefix_2, "region_code"[1:2]))
                OR (len($prefix_4) > 0 AND list_contains($prefix_4, "region_code"[1:4]))
                OR (len($prefix_6) > 0 AND list_contains($prefix_6, "region_code"[1:6]))
                OR (len($prefix_9) > 0 AND list_contains($prefix_9, "region_code"[1:9]))
                OR (len($prefix_12) > 0 AND list_contains($prefix_12, "region_code"[1:12])))))
      AND pw_code_length("region_code") = 4
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
        AND coalesce(isfinite("value") AND abs("value") <= 1e+15, true) AND coalesce(isfinite("numerator") AND abs("numerator") <= 1e+15, true) AND coalesce(isfinite("denominator") AND abs("denominator") <= 1e+15, true)
),
-- 3-6. roll-up from the roll-up events (warehouse/rollup_events.py): each contributor's terms were added at its
--    ingest and taken away when it was superseded or a row below it arrived; the events up to $as_of, summed per
--    match code, indicator and period (exact DECIMAL sums and counts: the bits of the row query's sums)
in_force AS (
    SELECT "prefix", "indicator_id", "period", "period_end", sum("n") AS n, sum(q1_n) AS q1_n, sum(q1_s) AS q1_s, sum(q2_n) AS q2_n, sum(q2_s) AS q2_s, sum(r1_n) AS r1_n, sum(r1_s) AS r1_s, sum(r2_n) AS r2_n, sum(r2_s) AS r2_s, sum(v_n) AS v_n, sum(v_s) AS v_s, sum(w1_n) AS w1_n, sum(w1_s) AS w1_s, sum(w2_n) AS w2_n, sum(w2_s) AS w2_s
    FROM read_parquet($rollup_events)
    WHERE "level" = $rollup_level AND "prefix" >= $code_lo AND "prefix" < $code_hi AND "event_at" <= $as_of
      AND list_contains($indicators, "indicator_id") AND "period_end" <= $period_cutoff
    GROUP BY "prefix", "indicator_id", "period", "period_end"
    HAVING sum("n") > 0
),
sums AS (
    SELECT s.code AS scope_code, e."indicator_id", e."period", max(e."period_end") AS period_end,
        CAST(sum(e.n) AS BIGINT) AS rollup_n,
        CASE
             WHEN list_contains($rule_0, "indicator_id") THEN CASE WHEN sum(v_n) > 0 THEN CAST(sum(v_s) AS DOUBLE) END  -- sum
             WHEN list_contains($rule_1, "indicator_id") THEN CASE WHEN sum(r1_n) > 0 THEN CAST(sum(r1_s) AS DOUBLE) END  -- ratio
             WHEN list_contains($rule_2, "indicator_id") THEN CASE WHEN sum(q1_n) > 0 THEN CAST(sum(q1_s) AS DOUBLE) END  -- per_community, rural communities
             WHEN list_contains($rule_3, "indicator_id") THEN CASE WHEN sum(w1_n) > 0 THEN CAST(sum(w1_s) AS DOUBLE) END  -- weighted_mean
             ELSE CAST(NULL AS DOUBLE) END AS s1,
        CASE
             WHEN list_contains($rule_1, "indicator_id") THEN CASE WHEN sum(r2_n) > 0 THEN CAST(sum(r2_s) AS DOUBLE) END  -- ratio
             WHEN list_contains($rule_2, "indicator_id") THEN CASE WHEN sum(q2_n) > 0 THEN CAST(sum(q2_s) AS DOUBLE) END  -- per_community, rural communities
             WHEN list_contains($rule_3, "indicator_id") THEN CASE WHEN sum(w2_n) > 0 THEN CAST(sum(w2_s) AS DOUBLE) END  -- weighted_mean
             ELSE CAST(NULL AS DOUBLE) END AS s2,
        CAST(NULL AS DOUBLE) AS v_max, CAST(NULL AS DOUBLE) AS v_min
    FROM in_force AS e
    JOIN scope AS s ON s.match = e."prefix"
    GROUP BY s.code, e."indicator_id", e."period"
),
rollups AS (
    SELECT scope_code, "indicator_id", "period", period_end, rollup_n,
        CASE
             WHEN list_contains($rule_0, "indicator_id") THEN s1  -- sum
             WHEN list_contains($rule_1, "indicator_id") THEN s1 / nullif(s2, 0) * $rule_1_scale  -- ratio
             WHEN list_contains($rule_2, "indicator_id") THEN s1 / nullif(s2, 0)  -- per_community, rural communities
             WHEN list_contains($rule_3, "indicator_id") THEN s1 / nullif(s2, 0)  -- weighted_mean
             ELSE CAST(NULL AS DOUBLE) END AS rollup_value
    FROM sums
),
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
),
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
-- 11a-b. annual targets: none in the definitions, every path is the straight line (or cagr)
pathed AS (
    SELECT *, false AS annual_path, CAST(NULL AS DOUBLE) AS path_expected, CAST(NULL AS DOUBLE) AS path_expected_now
    FROM positioned
),
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
    FROM pathed
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
)
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
ORDER BY region_code, indicator_id
-- params: {"indicators": ["community_workers_per_10k", "facility_count", "volunteers_per_community", "satisfaction"], "rollup_level": 4, "rule_0": ["facility_count"], "rule_1": ["community_workers_per_10k"], "rule_1_scale": 10000.0, "rule_2": ["volunteers_per_community"], "rule_3": ["satisfaction"], "tolerance": 0.02, "unique_keys": false}
