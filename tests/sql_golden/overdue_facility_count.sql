-- planwatch overdue: expected periods without a value after their due date
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
-- 3. code prefix lengths that can matter ('CN' counts as length 0, the prefix of every code): the lengths of
--    the scope's match codes (a row attaches to a scope region through a prefix equal to a match code) and of
--    the rows' own codes (a prefix can equal a row's code only at that code's length)
scope_lengths AS (SELECT list(DISTINCT pw_code_length("match")) AS lens FROM scope),
row_lengths AS (SELECT list(DISTINCT pw_code_length("region_code")) AS lens FROM latest),
-- 4. attach each row to the scope regions it belongs to: itself, an ancestor, or a group through a member
attached AS (
    SELECT s.code AS scope_code, p.* EXCLUDE (prefix), p."region_code" = s.code AS is_self
    FROM (SELECT l.*, unnest(pw_prefixes(l."region_code", (SELECT lens FROM scope_lengths), 0)) AS prefix
          FROM latest AS l) AS p
    JOIN scope AS s ON s.match = p.prefix
),
-- 5. roll-up contributors: rows strictly below the scope region that have no submitted row below them for the
--    same indicator and period (the finest level submitted, branch by branch)
has_below AS (
    SELECT DISTINCT code, "indicator_id", "period"
    FROM (SELECT unnest(pw_prefixes("region_code", (SELECT lens FROM row_lengths), 1)) AS code,
                 "indicator_id", "period"
          FROM latest)
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
-- 6. roll-up value by each indicator's rule (warehouse/sql_rollup.py): a group is one scope region, indicator and
--    period, so one rule; each row's terms by that rule, each term summed exactly once per group, then divided
terms AS (
    SELECT scope_code, "indicator_id", "period", "period_end", "value",
        CASE
             WHEN list_contains($rule_0, "indicator_id") THEN "value"  -- sum
             ELSE CAST(NULL AS DOUBLE) END AS t1,
        CAST(NULL AS DOUBLE) AS t2
    FROM contributors
),
sums AS (
    SELECT scope_code, "indicator_id", "period", max("period_end") AS period_end, count(*) AS rollup_n,
        CASE WHEN coalesce(max(abs(t1)) <= 1e+13, true) THEN CAST(sum(TRY_CAST(CASE WHEN abs(t1) <= 1e+13 THEN t1 END AS DECIMAL(38, 18))) AS DOUBLE) ELSE sum(t1) END AS s1,
        CASE WHEN coalesce(max(abs(t2)) <= 1e+13, true) THEN CAST(sum(TRY_CAST(CASE WHEN abs(t2) <= 1e+13 THEN t2 END AS DECIMAL(38, 18))) AS DOUBLE) ELSE sum(t2) END AS s2,
        max("value") AS v_max, min("value") AS v_min
    FROM terms
    GROUP BY scope_code, "indicator_id", "period"
),
rollups AS (
    SELECT scope_code, "indicator_id", "period", period_end, rollup_n,
        CASE
             WHEN list_contains($rule_0, "indicator_id") THEN s1  -- sum
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
ORDER BY d.region_code, d.indicator_id, period_end
-- params: {"indicators": ["facility_count"], "rule_0": ["facility_count"], "tolerance": 0.02, "unique_keys": false}
