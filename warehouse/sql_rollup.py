"""The roll-up step of the engine's SQL (warehouse/sql.py step 6): each scope region's value aggregated from its
contributors by the indicator's rule (docs/methodology.md), as a fixed handful of aggregates.

A roll-up group is one (scope region, indicator, period), so all its rows share one indicator and one rule. Each
contributor row first gets two terms by its indicator's rule (`terms`), then each group sums them exactly once
(`sums`: `exact_sum` of each term, max and min of the value) and the last step divides by the rule (`rollups`):

    rule            t1 (numerator term)                    t2 (denominator term)        value
    sum             value                                  -                            sum(t1)
    ratio           numerator, when it and the denominator denominator, when both are    sum(t1) / sum(t2) * scale
                    are both present                       present
    per_community   coalesce(numerator, value * n)         n (covered communities)      sum(t1) / sum(t2)
    weighted_mean   value * denominator, when the          denominator                  sum(t1) / sum(t2)
                    denominator is present
    max / min       -                                      -                            max(value) / min(value)

Which indicator has which rule is bound as lists of ids ($rule_*), so the SQL text and its aggregates do not grow
with the number of indicators. (Before issue 14 the step was one CASE over every indicator id with its own
aggregates: at 83 indicators a 60 kB statement whose binding and ~40 aggregates per group were most of an
overview's time at tier M.) The sums are the same expressions over the same terms as before, so the answers are
the same to the bit (`exact_sum` is exact integer arithmetic; warehouse/value_sanity.py).
"""

from __future__ import annotations

from warehouse import value_sanity
from warehouse.definitions import AggregationRule, Covers, Indicator

_BOTH = '"numerator" IS NOT NULL AND "denominator" IS NOT NULL'

# Each additive rule's two terms (the table above), over a row with the covered communities n_urban and n_rural
# of its region; named as the roll-up events keep them (warehouse/rollup_events.py builds from the same SQL).
TERMS = {
    "v": '"value"',  # sum
    "r1": f'CASE WHEN {_BOTH} THEN "numerator" END',  # ratio
    "r2": f'CASE WHEN {_BOTH} THEN "denominator" END',
    "u1": 'coalesce("numerator", "value" * n_urban)',  # per_community, urban
    "u2": "n_urban",
    "q1": 'coalesce("numerator", "value" * n_rural)',  # per_community, rural
    "q2": "n_rural",
    "a1": 'coalesce("numerator", "value" * (n_urban + n_rural))',  # per_community, all communities
    "a2": "(n_urban + n_rural)",
    "w1": 'CASE WHEN "denominator" IS NOT NULL THEN "value" * "denominator" END',  # weighted_mean
    "w2": '"denominator"',
}


def _groups(indicators: list[Indicator]) -> list[tuple[str, AggregationRule, Covers | None, float | None, list[str]]]:
    """(param name, rule, covers, scale, ids): the indicators grouped by what their roll-up needs, in a fixed order
    (rule order of AggregationRule, then covers / scale in first-seen order)."""
    found: dict[tuple, list[str]] = {}
    for ind in indicators:
        rule = ind.aggregation.rule
        covers = ind.covers if rule == AggregationRule.per_community else None
        scale = float(ind.aggregation.scale) if rule == AggregationRule.ratio else None
        found.setdefault((rule, covers, scale), []).append(ind.id)
    order = list(AggregationRule)
    out = []
    for k, ((rule, covers, scale), ids) in enumerate(sorted(found.items(), key=lambda kv: order.index(kv[0][0]))):
        if rule == AggregationRule.none:
            continue  # not aggregable: no roll-up (the ELSE NULL below)
        out.append((f"rule_{k}", rule, covers, scale, ids))
    return out


def _member(param: str) -> str:
    return f'list_contains(${param}, "indicator_id")'


def term_names(rule: AggregationRule, covers: Covers | None) -> tuple[str | None, str | None]:
    """The rule's (t1, t2) names in TERMS (None: no second term); max and min have none."""
    if rule == AggregationRule.sum:
        return "v", None
    if rule == AggregationRule.ratio:
        return "r1", "r2"
    if rule == AggregationRule.per_community:
        name = {Covers.urban: "u", Covers.rural: "q"}.get(covers, "a")
        return f"{name}1", f"{name}2"
    if rule == AggregationRule.weighted_mean:
        return "w1", "w2"
    raise ValueError(f"no roll-up events for rule {rule.value}")


def events_usable(indicators: list[Indicator]) -> bool:
    """Whether every indicator's rule is additive (max / min are not: their roll-ups come from the rows)."""
    return all(ind.aggregation.rule not in (AggregationRule.max, AggregationRule.min) for ind in indicators)


def rollup_ctes(indicators: list[Indicator], params: dict, events: bool = False) -> str:
    """CTEs `sums` and `rollups` (scope_code, indicator_id, period, period_end, rollup_n, rollup_value); binds the
    id lists and ratio scales into params. From `contributors` (each row's terms, `terms`), or with `events` from
    the roll-up events ($rollup_events, $rollup_level: warehouse/rollup_events.py), whose sums are the same bits."""
    groups = _groups(indicators)
    value = []
    for param, rule, covers, scale, ids in groups:
        params[param] = ids
        when = f"WHEN {_member(param)}"
        label = f"-- {rule.value}" + (f", {covers.value} communities" if covers else "")
        if rule == AggregationRule.sum:
            value.append(f"{when} THEN s1  {label}")
        elif rule == AggregationRule.ratio:
            params[f"{param}_scale"] = scale
            value.append(f"{when} THEN s1 / nullif(s2, 0) * ${param}_scale  {label}")
        elif rule in (AggregationRule.per_community, AggregationRule.weighted_mean):
            value.append(f"{when} THEN s1 / nullif(s2, 0)  {label}")
        elif rule == AggregationRule.max:
            value.append(f"{when} THEN v_max  {label}")
        elif rule == AggregationRule.min:
            value.append(f"{when} THEN v_min  {label}")
    sums = _event_sums(groups) if events else _row_sums(groups)
    return f"""\
{sums},
rollups AS (
    SELECT scope_code, "indicator_id", "period", period_end, rollup_n,
        {_case(value)} AS rollup_value
    FROM sums
)"""


def _case(lines: list[str], cast: str = "DOUBLE") -> str:
    if not lines:
        return f"CAST(NULL AS {cast})"
    body = "\n".join(f"             {line}" for line in lines)
    return f"CASE\n{body}\n             ELSE CAST(NULL AS {cast}) END"


def _row_sums(groups) -> str:
    t1, t2 = [], []
    for param, rule, covers, _scale, _ids in groups:
        if rule in (AggregationRule.max, AggregationRule.min):
            continue  # no terms: max / min of the value
        when = f"WHEN {_member(param)}"
        label = f"-- {rule.value}" + (f", {covers.value} communities" if covers else "")
        first, second = term_names(rule, covers)
        t1.append(f"{when} THEN {TERMS[first]}  {label}")
        if second is not None:
            t2.append(f"{when} THEN {TERMS[second]}")
    return f"""\
-- 6. roll-up value by each indicator's rule (warehouse/sql_rollup.py): a group is one scope region, indicator and
--    period, so one rule; each row's terms by that rule, each term summed exactly once per group, then divided
terms AS (
    SELECT scope_code, "indicator_id", "period", "period_end", "value",
        {_case(t1)} AS t1,
        {_case(t2)} AS t2
    FROM contributors
),
sums AS (
    SELECT scope_code, "indicator_id", "period", max("period_end") AS period_end, count(*) AS rollup_n,
        {value_sanity.exact_sum("t1")} AS s1,
        {value_sanity.exact_sum("t2")} AS s2,
        max("value") AS v_max, min("value") AS v_min
    FROM terms
    GROUP BY scope_code, "indicator_id", "period"
)"""


def _event_sums(groups) -> str:
    t1, t2 = [], []
    for param, rule, covers, _scale, _ids in groups:
        when = f"WHEN {_member(param)}"
        label = f"-- {rule.value}" + (f", {covers.value} communities" if covers else "")
        first, second = term_names(rule, covers)
        for names, name in ((t1, first), (t2, second)):
            if name is not None:  # NULL when no contributor has the term, as sum() over NULL terms
                names.append(f"{when} THEN CASE WHEN sum({name}_n) > 0 THEN CAST(sum({name}_s) AS DOUBLE) END  {label}")
    columns = sorted({c for _p, rule, covers, _s, _i in groups for c in term_names(rule, covers) if c})
    sums = "".join(f", sum({c}_n) AS {c}_n, sum({c}_s) AS {c}_s" for c in columns)
    return f"""\
-- 3-6. roll-up from the roll-up events (warehouse/rollup_events.py): each contributor's terms were added at its
--    ingest and taken away when it was superseded or a row below it arrived; the events up to $as_of, summed per
--    match code, indicator and period (exact DECIMAL sums and counts: the bits of the row query's sums)
in_force AS (
    SELECT "prefix", "indicator_id", "period", "period_end", sum("n") AS n{sums}
    FROM read_parquet($rollup_events)
    WHERE "level" = $rollup_level AND "prefix" >= $code_lo AND "prefix" < $code_hi AND "event_at" <= $as_of
      AND list_contains($indicators, "indicator_id") AND "period_end" <= $period_cutoff
    GROUP BY "prefix", "indicator_id", "period", "period_end"
    HAVING sum("n") > 0
),
sums AS (
    SELECT s.code AS scope_code, e."indicator_id", e."period", max(e."period_end") AS period_end,
        CAST(sum(e.n) AS BIGINT) AS rollup_n,
        {_case(t1)} AS s1,
        {_case(t2)} AS s2,
        CAST(NULL AS DOUBLE) AS v_max, CAST(NULL AS DOUBLE) AS v_min
    FROM in_force AS e
    JOIN scope AS s ON s.match = e."prefix"
    GROUP BY s.code, e."indicator_id", e."period"
)"""
