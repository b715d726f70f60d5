"""Golden files of the generated SQL for a few indicators (tests/sql_golden/*.sql).

Regenerate after an intended change with: PLANWATCH_REGEN_GOLDEN=1 .venv/bin/pytest tests/test_sql_golden.py
The files show what runs: readable steps with comments, every value a bound $parameter."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import duckdb
import pytest

from engine_fixtures import definitions, indicator, plan, target
from warehouse import sql as sqlgen

GOLDEN = Path(__file__).parent / "sql_golden"
REGEN = os.environ.get("PLANWATCH_REGEN_GOLDEN") == "1"

INDICATORS = [
    indicator("community_workers_per_10k", "ratio", 10000.0),
    indicator("facility_count"),
    indicator("volunteers_per_community", "per_community", covers="rural"),
    indicator("satisfaction", "weighted_mean"),
]
DEFS = definitions(INDICATORS, [plan("national_2021", "CN", [target(i["id"], 1) for i in INDICATORS])])


# annual targets (年度目标, docs/methodology.md §6a): the steps 11a-11b that join `annual_points` (width 2 here)
ANNUAL_DEFS = definitions(INDICATORS[1:2], [plan("national_2021", "CN", [
    target("facility_count", 100, baseline=50, applies_at=("total", "province"), annual={2022: 60, 2023: 85},
           annual_by_region={"50": {2023: 70}})])])


def _render(kind: str, ids: list[str]) -> tuple[str, dict]:
    params: dict = {}
    defs = ANNUAL_DEFS if kind == "annual" else DEFS
    inds = [defs.indicator(i) for i in ids]
    builder = {"status": sqlgen.status_query, "series": sqlgen.series_query, "overdue": sqlgen.overdue_query,
               "annual": sqlgen.status_query, "siblings": sqlgen.status_query, "events": sqlgen.status_query}[kind]
    if kind == "siblings":  # scope codes of one length (4: a province's cities): the one-join attach step
        return builder(defs, inds, params, attach=4), params
    if kind == "events":  # the same scope with the roll-ups from the roll-up events (warehouse/rollup_events.py)
        return builder(defs, inds, params, attach=4, events=True), params
    return builder(defs, inds, params), params


CASES = [
    ("status_community_workers_per_10k", "status", ["community_workers_per_10k"]),
    ("status_facility_count", "status", ["facility_count"]),
    ("status_volunteers_per_community", "status", ["volunteers_per_community"]),
    ("status_all_four", "status", [i["id"] for i in INDICATORS]),
    ("series_satisfaction", "series", ["satisfaction"]),
    ("overdue_facility_count", "overdue", ["facility_count"]),
    ("status_annual_targets", "annual", ["facility_count"]),
    ("status_facility_count_siblings", "siblings", ["facility_count"]),
    ("status_all_four_events", "events", [i["id"] for i in INDICATORS]),
]


@pytest.mark.parametrize("name,kind,ids", CASES, ids=[c[0] for c in CASES])
def test_golden_sql(name, kind, ids):
    query, params = _render(kind, ids)
    text = query + "\n-- params: " + json.dumps(params, ensure_ascii=False, sort_keys=True) + "\n"
    path = GOLDEN / f"{name}.sql"
    if REGEN:
        path.write_text(text, encoding="utf-8")
    # a missing golden file is a failure (it used to be written and pass): regenerate on purpose only
    assert path.exists(), f"{path} is missing; PLANWATCH_REGEN_GOLDEN=1 writes it"
    assert text == path.read_text(encoding="utf-8"), f"{path} differs; PLANWATCH_REGEN_GOLDEN=1 to accept"


def test_missing_golden_file_fails(tmp_path, monkeypatch):
    """The golden test must fail, not pass, when its file is missing (and must not write it)."""
    if REGEN:
        pytest.skip("regenerating")
    globals_ = test_golden_sql.__globals__
    saved = globals_["GOLDEN"]
    globals_["GOLDEN"] = tmp_path
    try:
        with pytest.raises(AssertionError, match="missing"):
            test_golden_sql(*CASES[1])
    finally:
        globals_["GOLDEN"] = saved
    assert not (tmp_path / f"{CASES[1][0]}.sql").exists()


@pytest.mark.parametrize("name,kind,ids", CASES, ids=[c[0] for c in CASES])
def test_values_are_parameters_not_literals(name, kind, ids):
    query, params = _render(kind, ids)
    # no indicator id and no scale appears literally in the SQL text
    for ind in ids:
        assert f"'{ind}'" not in query
    assert "10000" not in query
    # every $name used is bound (files / as_of / as_of_date are bound by the engine)
    used = set(re.findall(r"\$([a-z_0-9]+)", query))
    assert used - set(params) <= {"files", "as_of", "as_of_date", "rollup_events", *sqlgen.SCOPE_PARAMS}


def test_golden_sql_parses_in_duckdb():
    query, _ = _render("status", [i["id"] for i in INDICATORS])
    con = duckdb.connect()
    try:
        con.execute(sqlgen.MACROS)
        # EXPLAIN needs the relations; an empty-shaped set is enough to bind every name
        con.execute("CREATE TEMP TABLE scope (code VARCHAR, match VARCHAR)")
        con.execute("CREATE TEMP TABLE regions (code VARCHAR, n_urban_communities INTEGER, n_rural_communities INTEGER)")
        cols = ", ".join(f"{c} {t}" for c, t in [
            ("region_code", "VARCHAR"), ("indicator_id", "VARCHAR"), ("plan_id", "VARCHAR"), ("attribute", "VARCHAR"),
            ("method", "VARCHAR"), ("direction", "VARCHAR"), ("comparator", "VARCHAR"), ("target_value", "DOUBLE"),
            ("target_high", "DOUBLE"), ("target_year", "INTEGER"), ("plan_baseline", "DOUBLE"),
            ("baseline_year", "INTEGER"), ("plan_region_self", "BOOLEAN"), ("green", "DOUBLE"), ("amber", "DOUBLE"),
            ("baseline_end", "DATE"), ("path_end", "DATE"), ("value_cutoff", "DATE"), ("target_over", "BOOLEAN"),
            ("final_deadline", "DATE"), ("observation_months", "INTEGER"), ("baseline_from_warehouse", "BOOLEAN"),
            ("baseline_fallback", "BOOLEAN"), ("annual_key", "VARCHAR"), ("annual_kind", "VARCHAR")])
        con.execute(f"CREATE TEMP TABLE assess ({cols})")
        con.execute("CREATE TEMP TABLE snapshot_rows AS SELECT '' AS batch_id, '' AS region_code, '' AS indicator_id, "
                    "'' AS period, DATE '2020-12-31' AS period_end, 0.0 AS value, 0.0 AS numerator, "
                    "0.0 AS denominator, TIMESTAMP '2021-01-01' AS submitted_at, "
                    "TIMESTAMP '2021-01-01' AS ingested_at, 0 AS source_row, "
                    "TIMESTAMP '2021-01-01' AS superseded_at WHERE FALSE")
        q = query
        _, params = _render("status", [i["id"] for i in INDICATORS])
        params.update({"as_of": "2024-06-30 16:00:00", "as_of_date": "2024-06-30"})
        sqlgen.bind_scope(params, ["50", "5101"], "2024-06-30")
        assert con.sql(q, params={k: v for k, v in params.items() if f"${k}" in q}).fetchall() == []
    finally:
        con.close()


@pytest.mark.parametrize("name,kind,ids", CASES, ids=[c[0] for c in CASES])
def test_generated_sql_is_ascii(name, kind, ids):
    """DuckDB 2.0's Python-side parameter scan maps every character of a non-ASCII statement to its byte offset in
    Python (warehouse/sql_rollup.py, issue 14): keep comments in the generated SQL ASCII."""
    query, _ = _render(kind, ids)
    assert query.isascii(), sorted({c for c in query if not c.isascii()})
