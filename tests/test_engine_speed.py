"""The engine's speed paths give the answers of the plain method (issue 7).

- Step 1 of the generated SQL narrows the rows to the scope's code prefixes and the value cut-off before the
  de-duplication window; the reference is the same SQL with the narrowing switched off (every region, no
  cut-off), run on the real sample warehouse.
- The scope predicate is checked code by code against Python's prefix rule.
"""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from warehouse import sql as sqlgen
from warehouse.defs_loader import require_definitions
from warehouse.engine import Engine
from warehouse.paths import default_defs_path
from warehouse.periods import parse_as_of

CODES = ["CN", "11", "1101", "110105", "50", "5001", "500110", "500110004", "500110004001", "500110100",
         "500229", "51", "5101", "510104", "5107", "5132", "513201", "5133", "5134", "5199", "519901", "52",
         "5", "510", "51999999"]  # canonical codes are digits


@pytest.mark.parametrize("matches", [
    ["51", "5101"],  # a code and one of its descendants: the range must reach the end of 51
    ["5132", "5133", "5134"],  # a group of cities
    ["500110004", "500110100"],  # a group of townships
    ["5001", "500110", "5107"],  # mixed lengths
    ["CN"],
    ["CN", "51"],
    ["500110004001"],
    ["5101", "5132"],  # siblings: kept by their range alone (5107 too; the attach step drops it)
    ["11", "51"],  # provinces keep the exact test
])
def test_scope_filter_keeps_exactly_the_codes_under_the_matches(matches):
    """Exactly the codes under the matches; for siblings (one length, one parent) every code in their range."""
    params: dict = {}
    sqlgen.bind_scope(params, matches, date(2025, 6, 30))
    used = {k: v for k, v in params.items() if f"${k}" in sqlgen.SCOPE_FILTER}
    con = duckdb.connect()
    try:
        con.register("codes", pl.DataFrame({"region_code": CODES}).to_arrow())
        kept = {r[0] for r in con.execute(f"SELECT region_code FROM codes WHERE {sqlgen.SCOPE_FILTER}", used).fetchall()}
    finally:
        con.close()
    expected = set(CODES) if "CN" in matches else {c for c in CODES if any(c.startswith(m) for m in matches)}
    if not params["prefix_check"] and "CN" not in matches:
        expected = {c for c in CODES if params["code_lo"] <= c < params["code_hi"]}
    ranged = (["5132", "5133", "5134"], ["500110004", "500110100"], ["CN"], ["500110004001"], ["5101", "5132"])
    assert params["prefix_check"] == (matches not in ranged)
    assert kept == expected
    if matches == ["5101", "5132"]:
        assert "5107" in kept


_BIND_SCOPE = sqlgen.bind_scope


def _unnarrowed(params: dict, matches: list[str], period_cutoff) -> None:
    """The reference: bind the scope filter so that it keeps every row."""
    _BIND_SCOPE(params, ["CN"], date(9999, 12, 31))


@pytest.fixture(scope="module")
def defs():
    return require_definitions(default_defs_path())


CALLS = [
    ("children_status", ("50",), {}),
    ("children_status", ("51",), {}),
    ("children_status", ("CN",), {"indicator": "service_facility_coverage"}),
    ("status", ("group:wansheng",), {}),
    ("status", ("500110",), {}),
    ("descendants_status", ("5001",), {}),
    ("trajectory", ("50", "service_facility_coverage"), {}),
    ("overdue", ("500110",), {}),
    ("alerts", ("5002",), {}),
    ("rank", ("50", "composite"), {}),
]


@pytest.mark.parametrize("as_of", ["2024-06", "2025-06", None])
def test_narrowed_queries_equal_the_unnarrowed_reference(sample_warehouse, defs, monkeypatch, as_of):
    moment = parse_as_of(as_of) if as_of else parse_as_of("2025-11")
    fast = Engine(sample_warehouse, defs)
    got = [getattr(fast, name)(*args, as_of=moment, **kw) for name, args, kw in CALLS]
    monkeypatch.setattr(sqlgen, "bind_scope", _unnarrowed)
    slow = Engine(sample_warehouse, defs)
    for (name, args, kw), frame in zip(CALLS, got):
        reference = getattr(slow, name)(*args, as_of=moment, **kw)
        assert reference.height > 0 or name == "overdue", (name, args)
        assert_frame_equal(frame, reference)


# ---------------------------------------------------------------- prefix lengths (sql.py steps 3-5)
@pytest.mark.parametrize("code, lens, strict, expected", [
    ("500110004", [0, 2, 4, 6, 9, 12], 0, ["CN", "50", "5001", "500110", "500110004"]),
    ("500110004", [0, 2, 4, 6, 9, 12], 1, ["CN", "50", "5001", "500110"]),
    ("500110004", [4], 0, ["5001"]),
    ("500110004", [9, 12], 1, []),  # nothing shorter than the code itself
    ("51", [0, 2, 4], 0, ["CN", "51"]),
    ("CN", [0, 2, 4], 0, ["CN"]),  # the country is only its own prefix
    ("CN", [0, 2], 1, []),
    ("500110004", [3, 5], 0, []),  # only division lengths
])
def test_prefixes_macro(code, lens, strict, expected):
    con = duckdb.connect()
    try:
        con.execute(sqlgen.MACROS)
        got = con.execute("SELECT pw_prefixes($code, $lens, $strict)",
                          {"code": code, "lens": lens, "strict": strict}).fetchone()[0]
    finally:
        con.close()
    assert got == expected


_VALUES_CTES = sqlgen.values_ctes
ALL_LENGTHS = "[0, 2, 4, 6, 9, 12]"


def _every_prefix(defs, indicators, params, attach=None, events=False):
    """The reference: every code prefix (all division lengths), as before the lengths were narrowed, and the
    general attach step (lists of prefixes) where the engine uses one join for a scope of one code length."""
    assert not events  # the sample warehouse is not compacted: no roll-up events
    text = _VALUES_CTES(defs, indicators, params)
    for relation in ("scope_lengths", "row_lengths"):
        assert f"(SELECT lens FROM {relation})" in text
        text = text.replace(f"(SELECT lens FROM {relation})", ALL_LENGTHS)
    return text


@pytest.mark.parametrize("as_of", ["2024-06", "2025-06"])
def test_narrowed_prefix_lengths_equal_every_prefix(sample_warehouse, defs, monkeypatch, as_of):
    moment = parse_as_of(as_of)
    fast = Engine(sample_warehouse, defs)
    got = [getattr(fast, name)(*args, as_of=moment, **kw) for name, args, kw in CALLS]
    monkeypatch.setattr(sqlgen, "values_ctes", _every_prefix)
    slow = Engine(sample_warehouse, defs)
    for (name, args, kw), frame in zip(CALLS, got):
        assert_frame_equal(frame, getattr(slow, name)(*args, as_of=moment, **kw))


# ---------------------------------------------------------------- result cache
def _small_engine(tmp_path):
    from engine_fixtures import add_batch, definitions, indicator, make_warehouse, plan, target

    wh = make_warehouse(tmp_path / "wh")
    add_batch(wh, [
        {"region_code": "500101", "indicator_id": "svc", "period": "2023", "value": 60},
        {"region_code": "500102", "indicator_id": "svc", "period": "2023", "value": 40},
    ], "2024-02-01")
    defs = definitions([indicator("svc")], [plan("national_2021", "CN", [target("svc", 100, baseline=50, applies_at=("total", "city", "county"))])])
    return wh, Engine(tmp_path / "wh", defs)


def _svc(frame, region):
    return frame.filter(pl.col("region_code") == region)["value"].to_list()


def test_cache_serves_warm_calls_and_follows_new_batches(tmp_path):
    from engine_fixtures import add_batch

    wh, engine = _small_engine(tmp_path)
    first = engine.status("5001", as_of=parse_as_of("2024-06"))
    assert _svc(first, "5001") == [100.0]  # roll-up of 60 + 40
    assert engine.status("5001", as_of=parse_as_of("2024-06")) is first  # served from the cache
    # the same CST day at another instant reads the same rows: same entry
    assert engine.status("5001", as_of=parse_as_of("2024-06-30")) is first
    add_batch(wh, [{"region_code": "500101", "indicator_id": "svc", "period": "2023", "value": 90}], "2024-03-01")
    after = engine.status("5001", as_of=parse_as_of("2024-06"))
    assert after is not first and _svc(after, "5001") == [130.0]  # new manifest version: recomputed
    # an as-of before the correction still sees the first value, also when asked after it
    assert _svc(engine.status("5001", as_of=parse_as_of("2024-02-15")), "5001") == [100.0]
    assert _svc(engine.children_status("5001", as_of=parse_as_of("2024-06")), "500101") == [90.0]
    traj = engine.trajectory("500101", "svc", as_of=parse_as_of("2024-06"))
    assert traj["actual"].to_list() == [90.0]


def test_cache_can_be_switched_off(tmp_path, monkeypatch):
    monkeypatch.setenv("PLANWATCH_NO_CACHE", "1")
    _, engine = _small_engine(tmp_path)
    first = engine.status("5001", as_of=parse_as_of("2024-06"))
    again = engine.status("5001", as_of=parse_as_of("2024-06"))
    assert again is not first
    assert_frame_equal(first, again)


# ---------------------------------------------------------------- versions table (warehouse/current.py)
def test_versions_table_gives_the_answers_of_the_batches(sample_warehouse, defs, tmp_path):
    import shutil

    from warehouse import current
    from warehouse.storage import Warehouse

    copy = tmp_path / "wh"
    shutil.copytree(sample_warehouse, copy)
    wh = Warehouse(copy)
    with wh.lock():
        pointer = current.rebuild(wh)
    assert pointer["rows"] > 0 and (copy / pointer["file"]).is_file()
    snap = wh.snapshot()
    src = current.sources(wh, snap)
    assert src.versions is not None and src.delta == []  # every batch covered
    # an as-of inside the history: the table serves it, only batches visible then are counted
    early = wh.snapshot(parse_as_of("2024-06"))
    assert current.sources(wh, early).delta == []
    for as_of in ("2024-06", "2025-06"):
        moment = parse_as_of(as_of)
        fast, plain = Engine(copy, defs), Engine(sample_warehouse, defs)
        for name, args, kw in CALLS:
            assert_frame_equal(getattr(fast, name)(*args, as_of=moment, **kw),
                               getattr(plain, name)(*args, as_of=moment, **kw))


def test_versions_table_keeps_ties_and_corrections_and_reads_new_batches(tmp_path):
    from engine_fixtures import add_batch, utc

    from warehouse import current

    wh, engine = _small_engine(tmp_path)
    # one batch, one key three times: the latest submitted_at wins, then the highest source row
    add_batch(wh, [
        {"region_code": "500101", "indicator_id": "svc", "period": "2024-02", "value": 1, "submitted_at": utc("2024-03-01"), "source_row": 9},
        {"region_code": "500101", "indicator_id": "svc", "period": "2024-02", "value": 2, "submitted_at": utc("2024-03-02"), "source_row": 3},
        {"region_code": "500101", "indicator_id": "svc", "period": "2024-02", "value": 3, "submitted_at": utc("2024-03-02"), "source_row": 4},
    ], "2024-04-01")
    add_batch(wh, [{"region_code": "500101", "indicator_id": "svc", "period": "2024-02", "value": 5}], "2024-05-01")
    moments = [parse_as_of(m) for m in ("2024-03-15", "2024-04-15", "2024-05-15")]

    def answers():
        fresh = Engine(wh.path, engine.defs)
        return [fresh.trajectory("500101", "svc", as_of=m) for m in moments]

    before = answers()
    assert [f["actual"].to_list() for f in before] == [[60.0], [60.0, 3.0], [60.0, 5.0]]
    with wh.lock():
        current.rebuild(wh)
    # the table keeps one row per key and ingest instant, with the instant it was superseded
    table = pl.read_parquet(wh.path / current._read_pointer(wh.path)["file"])
    row_feb = table.filter(pl.col("period") == "2024-02").sort("ingested_at")
    assert row_feb["value"].to_list() == [3.0, 5.0]
    assert row_feb["superseded_at"].to_list() == [row_feb["ingested_at"][1], None]
    for got, ref in zip(answers(), before):
        assert_frame_equal(got, ref)
    # a batch after the table: read from its file next to the table
    add_batch(wh, [{"region_code": "500101", "indicator_id": "svc", "period": "2024-02", "value": 7}], "2024-06-01")
    src = current.sources(wh, wh.snapshot())
    assert src.versions is not None and len(src.delta) == 1
    late = Engine(wh.path, engine.defs).trajectory("500101", "svc", as_of=parse_as_of("2024-06-15"))
    assert late["actual"].to_list() == [60.0, 7.0]
    # compaction rebuilds the table: everything covered again, same answers
    wh.compact(grace_seconds=0)
    assert current.sources(wh, wh.snapshot()).delta == []
    again = Engine(wh.path, engine.defs).trajectory("500101", "svc", as_of=parse_as_of("2024-06-15"))
    assert_frame_equal(again, late)
