"""The scope of the engine's queries (warehouse/sql.py steps 1 and 4): which rows the first step reads, and how each
row is attached to the scope regions it belongs to.

Values are bound (`bind_scope`); the only text chosen here from the scope is a code length from the fixed set of
division lengths (`attach_length`), never a code.
"""

from __future__ import annotations

# Parameters of the first step's scope filter, bound by the engine through `bind_scope`.
SCOPE_PARAMS = ("period_cutoff", "all_regions", "code_lo", "code_hi", "prefix_check",
                "prefix_2", "prefix_4", "prefix_6", "prefix_9", "prefix_12")
PREFIX_LENGTHS = (2, 4, 6, 9, 12)
COUNTRY_CODE = "CN"
NEXT_LENGTH = {0: 2, 2: 4, 4: 6, 6: 9, 9: 12, 12: 99}  # the next longer division code length
# True for a row whose code is under one of the scope's match codes, or (without $prefix_check) in their code range
# (see bind_scope) (an empty length's list is skipped before its prefix is cut: a third less time at tier L)
SCOPE_FILTER = """($all_regions OR ("region_code" >= $code_lo AND "region_code" < $code_hi
           AND (NOT $prefix_check OR (len($prefix_2) > 0 AND list_contains($prefix_2, "region_code"[1:2]))
                OR (len($prefix_4) > 0 AND list_contains($prefix_4, "region_code"[1:4]))
                OR (len($prefix_6) > 0 AND list_contains($prefix_6, "region_code"[1:6]))
                OR (len($prefix_9) > 0 AND list_contains($prefix_9, "region_code"[1:9]))
                OR (len($prefix_12) > 0 AND list_contains($prefix_12, "region_code"[1:12])))))"""


def bind_scope(params: dict, matches: list[str], period_cutoff) -> None:
    """Bind the scope filter of step 1: rows whose code starts with one of `matches` (the `scope` relation's
    match codes; 'CN' means every row) and whose period ends on or before `period_cutoff` (a date).

    Only the rows the later steps can attach to the scope pass, so the results are those of the unfiltered
    query: a row under a scope code, the rows below it (roll-up contributors, `has_below`) are under it too.

    Siblings (match codes of one length under one parent: an overview, rankings, most groups) are kept by their
    code range alone ($prefix_check false): the range holds little else (other siblings' rows between them), and
    the exact per-row prefix test was ~7 % of an overview's DuckDB time at tier M (issue 14). The answer is the
    same: a row under no match code attaches to no scope region (step 4, which tests the prefixes exactly), is no
    scope region's own row (step 7), and a prefix of it that `has_below` lists is no contributor's code (a
    contributor is under a match code, so a row below it would be too)."""
    codes = sorted(set(matches))
    params["period_cutoff"] = period_cutoff
    params["all_regions"] = COUNTRY_CODE in codes or not codes
    # codes are digits and ':' sorts right after '9': every code starting with P lies in [P, P + ':')
    params["code_lo"] = codes[0] if codes else ""
    params["code_hi"] = max(c + ":" for c in codes) if codes else ""
    for n in PREFIX_LENGTHS:
        params[f"prefix_{n}"] = [c for c in codes if len(c) == n]
    length = attach_length(codes)
    parent = next((n for n, m in NEXT_LENGTH.items() if m == length), None)
    # one code: its range is exactly its rows; provinces (parent: the country) keep the test (a range of two
    # province codes can span many provinces)
    params["prefix_check"] = len(codes) != 1 and (not parent or len({c[:parent] for c in codes}) != 1)


def attach_length(matches: list[str]) -> int | None:
    """The one division length (2, 4, 6, 9 or 12) of every match code of the scope, else None (several lengths, the
    country 'CN', or no code). The children of a division (the overview, rankings) and most groups have one."""
    lengths = {len(c) for c in matches if c != COUNTRY_CODE}
    if len(lengths) != 1 or COUNTRY_CODE in matches:
        return None
    length = lengths.pop()
    return length if length in PREFIX_LENGTHS else None


def attach_cte(length: int | None) -> str:
    """Step 4, `attached`: each row next to each scope region it belongs to (itself, an ancestor, or a group through
    a member), with is_self. A row belongs to a scope region when one of its code prefixes (the code itself
    included; 'CN' for every code) is a match code of that region.

    With one match length L (`attach_length`) that prefix can only be the code's first L characters: one equi-join
    on them, the same rows as the general step (a shorter code's slice is shorter than L and equals no match code;
    'CN' is not a prefix of length L) without a list of prefixes per row and its unnest (issue 14)."""
    if length is not None:
        if length not in PREFIX_LENGTHS:
            raise ValueError(f"not a division code length: {length!r}")
        return f"""\
-- 4. attach each row to the scope regions it belongs to: every match code has {length} characters, so a row
--    belongs to a scope region when its first {length} characters are one of the region's match codes
attached AS (
    SELECT s.code AS scope_code, l.*, l."region_code" = s.code AS is_self
    FROM latest AS l
    JOIN scope AS s ON s.match = l."region_code"[1:{length}]
),"""
    return """\
-- 4. attach each row to the scope regions it belongs to: itself, an ancestor, or a group through a member
attached AS (
    SELECT s.code AS scope_code, p.* EXCLUDE (prefix), p."region_code" = s.code AS is_self
    FROM (SELECT l.*, unnest(pw_prefixes(l."region_code", (SELECT lens FROM scope_lengths), 0)) AS prefix
          FROM latest AS l) AS p
    JOIN scope AS s ON s.match = p.prefix
),"""


def below_filter(length: int | None) -> str:
    """A WHERE clause for step 5 (`has_below`) when every match code has `length` characters: roll-up contributors
    are then longer than `length`, so only prefixes longer than it can be their codes, and a row whose code is not
    longer than the next division length has no such strict prefix (at tier M every row is a county's: none)."""
    if length is None:
        return ""
    return f'\n          WHERE pw_code_length("region_code") > {NEXT_LENGTH[length]}'
