"""Roll-ups kept as events (warehouse/rollup_events.py, issue 14): the engine's frames are the same whether the
roll-ups come from the events or from the rows, and the events are used where they can answer.

- hand-computed roll-ups of a small warehouse (sum, ratio, per_community, weighted_mean; a correction; a county
  row that stops contributing when a township row below it arrives) at instants between the ingests;
- the sample warehouse, compacted: every overview, region, trajectory and ranking frame equal to the rows' at
  month ends and at each ingest instant and one microsecond before it;
- what the events cannot answer goes to the rows (a term beyond the exact-sum limit, an unusable value below a
  row, another region registry, a batch after the compaction, groups, the country).
"""

from __future__ import annotations

import shutil
from datetime import timedelta

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from warehouse import current
from warehouse.engine import Engine
from warehouse.periods import parse_as_of
from warehouse.storage import Warehouse


def _spy(monkeypatch) -> list[bool]:
    """Record each decision of Engine._events of an engine with the events on (True: the roll-ups came from them)."""
    seen: list[bool] = []
    original = Engine._events

    def events(self, *args):
        used = original(self, *args)
        if self.use_rollup_events:
            seen.append(used)
        return used

    monkeypatch.setattr(Engine, "_events", events)
    return seen


def _pair(path, defs, registry=None) -> tuple[Engine, Engine]:
    """(events on, events off), result caches off."""
    fast, rows = Engine(path, defs, registry=registry), Engine(path, defs, registry=registry)
    rows.use_rollup_events = False
    fast.cache.enabled = rows.cache.enabled = False
    return fast, rows


def _compact(wh: Warehouse) -> dict:
    with wh.lock():
        return current.rebuild(wh)


# ---------------------------------------------------------------- hand-computed
@pytest.fixture
def small(tmp_path):
    from engine_fixtures import add_batch, definitions, indicator, make_warehouse, plan, registry, target

    reg = registry({"500101": (10, 2), "500102": (30, 6), "500110004": (4, 0), "500110100": (0, 8)})
    wh = make_warehouse(tmp_path / "wh", reg)
    county = ("total", "city", "county")
    defs = definitions(
        [indicator("svc"), indicator("cov", rule="ratio", scale=100.0), indicator("pc", rule="per_community", covers="urban"),
         indicator("wm", rule="weighted_mean")],
        [plan("national_2021", "CN", [target(i, 100, baseline=50, applies_at=county) for i in ("svc", "cov", "pc", "wm")])])
    add_batch(wh, [
        {"region_code": "500101", "indicator_id": "svc", "period": "2023", "value": 60},
        {"region_code": "500102", "indicator_id": "svc", "period": "2023", "value": 40},
        {"region_code": "500110004", "indicator_id": "svc", "period": "2023", "value": 5},
        {"region_code": "500110100", "indicator_id": "svc", "period": "2023", "value": 7},
        {"region_code": "500101", "indicator_id": "cov", "period": "2023", "value": 50, "numerator": 30, "denominator": 60},
        {"region_code": "500102", "indicator_id": "cov", "period": "2023", "value": 25, "numerator": 10, "denominator": 40},
        {"region_code": "500101", "indicator_id": "pc", "period": "2023", "value": 2.5},
        {"region_code": "500102", "indicator_id": "pc", "period": "2023", "value": 1.5},
        {"region_code": "500101", "indicator_id": "wm", "period": "2023", "value": 80, "denominator": 3},
        {"region_code": "500102", "indicator_id": "wm", "period": "2023", "value": 60, "denominator": 1},
    ], "2024-02-01")
    add_batch(wh, [
        {"region_code": "500101", "indicator_id": "svc", "period": "2023", "value": 90},  # a correction
        {"region_code": "500110", "indicator_id": "svc", "period": "2023", "value": 20},  # rows below it: not counted
    ], "2024-03-01")
    add_batch(wh, [  # a township below 500101 for cov: from now on it contributes instead of its county
        {"region_code": "500101001", "indicator_id": "cov", "period": "2023", "value": 50, "numerator": 1, "denominator": 2},
    ], "2024-04-01")
    _compact(wh)
    return wh, defs, reg


# roll-up of 5001 (Chongqing's 市辖区: every county above) by hand, at instants between the ingests
HAND = [
    ("2024-01-15", {}),
    ("2024-02-15", {"svc": 60 + 40 + 5 + 7, "cov": (30 + 10) / (60 + 40) * 100, "pc": (2.5 * 10 + 1.5 * 30) / (10 + 30),
                    "wm": (80 * 3 + 60 * 1) / (3 + 1)}),
    ("2024-03-15", {"svc": 90 + 40 + 5 + 7, "cov": (30 + 10) / (60 + 40) * 100}),
    ("2024-04-15", {"svc": 90 + 40 + 5 + 7, "cov": (1 + 10) / (2 + 40) * 100}),
]


@pytest.mark.parametrize("when,expected", HAND)
def test_hand_computed_rollups_from_events(small, monkeypatch, when, expected):
    wh, defs, reg = small
    seen = _spy(monkeypatch)
    fast, rows = _pair(wh.path, defs, reg)
    got = fast.status("5001", as_of=parse_as_of(when))
    assert seen == [bool(expected)]  # the events answered (before the first ingest there is no table yet)
    values = {r["indicator_id"]: r["rollup_value"] for r in got.iter_rows(named=True) if r["rollup_value"] is not None}
    assert values.keys() == (expected.keys() | ({"pc", "wm"} if expected else set()))
    for ind, value in expected.items():
        assert values[ind] == pytest.approx(value, rel=1e-12)
    assert_frame_equal(got, rows.status("5001", as_of=parse_as_of(when)))
    assert_frame_equal(fast.children_status("50", as_of=parse_as_of(when)),
                       rows.children_status("50", as_of=parse_as_of(when)))


def test_events_are_exact_decimal_sums_and_signed(small):
    """The table itself: a correction is -old +new at the same instant; the county row of cov leaves at the ingest
    of the township row below it."""
    wh, _defs, _reg = small
    pointer = current._read_pointer(wh.path)
    events = pl.read_parquet(wh.path / pointer["rollups"]["file"])
    svc = events.filter((pl.col("level") == 4) & (pl.col("indicator_id") == "svc")).sort("event_at")
    assert svc["n"].to_list() == [4, 0]  # 4 rows in; then one out (60) and one in (90): net 0 rows
    assert [float(x) for x in svc["v_s"].to_list()] == [112.0, 30.0]
    assert str(svc.schema["v_s"]).startswith("Decimal")
    cov = events.filter((pl.col("level") == 4) & (pl.col("indicator_id") == "cov")).sort("event_at")
    assert cov["n"].to_list() == [2, 0]  # at the township's ingest: the county's row out, the township's in
    assert [float(x) for x in cov["r1_s"].to_list()] == [40.0, 1.0 - 30.0]


# ---------------------------------------------------------------- the sample warehouse
PARENTS = ["CN", "11", "50", "51", "53", "5001", "500110", "5101", "5304"]


@pytest.fixture(scope="module")
def defs():
    from warehouse.defs_loader import require_definitions
    from warehouse.paths import default_defs_path

    return require_definitions(default_defs_path())


@pytest.fixture(scope="module")
def compacted(sample_warehouse, tmp_path_factory):
    copy = tmp_path_factory.mktemp("events") / "wh"
    shutil.copytree(sample_warehouse, copy)
    pointer = _compact(Warehouse(copy))
    return copy, pointer


def _instants(path, pointer, k: int = 4) -> list:
    """k ingest instants spread over the history, each as itself and one microsecond before."""
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        found = [r[0] for r in con.execute(
            f"SELECT DISTINCT ingested_at FROM read_parquet('{path / pointer['file']}') ORDER BY 1").fetchall()]
    finally:
        con.close()
    picked = [found[i * (len(found) - 1) // (k - 1)] for i in range(k)]
    from datetime import timezone
    out = []
    for moment in picked:
        moment = moment.replace(tzinfo=timezone.utc)
        out += [moment, moment - timedelta(microseconds=1)]
    return out


def test_sample_frames_equal_with_and_without_events(compacted, defs, monkeypatch):
    path, pointer = compacted
    assert pointer["rollups"] and pointer["rollups"]["rows"] > 0
    seen = _spy(monkeypatch)
    fast, rows = _pair(path, defs)
    moments = [parse_as_of(m) for m in ("2022-12", "2024-06", "2025-11")] + _instants(path, pointer, k=3)
    for moment in moments:
        for parent in PARENTS:
            assert_frame_equal(fast.children_status(parent, as_of=moment), rows.children_status(parent, as_of=moment))
        for code in ("CN", "50", "51", "5001", "500110"):
            assert_frame_equal(fast.status(code, as_of=moment), rows.status(code, as_of=moment))
    # every scope of one division length from the events; the country (match 'CN') from the rows
    assert seen.count(False) == len(moments) and seen.count(True) >= 100
    moment = parse_as_of("2025-06")
    for code in ("50", "51", "5001"):
        indicators = [i.id for i in defs.indicators][:12]
        got, ref = fast.trajectories(code, indicators, as_of=moment), rows.trajectories(code, indicators, as_of=moment)
        assert got.keys() == ref.keys()
        for ind in got:
            assert_frame_equal(got[ind], ref[ind])
    for parent in ("CN", "51", "5001"):
        assert_frame_equal(fast.rank(parent, "composite", as_of=moment), rows.rank(parent, "composite", as_of=moment))


# ---------------------------------------------------------------- what the events leave to the rows
def _add(wh, rows, when):
    from engine_fixtures import add_batch

    return add_batch(wh, rows, when)


def test_a_term_beyond_the_exact_limit_leaves_its_prefix_to_the_rows(small, monkeypatch):
    wh, defs, reg = small
    _add(wh, [{"region_code": "500102", "indicator_id": "svc", "period": "2024", "value": 2e13}], "2024-05-01")
    pointer = _compact(wh)
    assert "5001" in pointer["rollups"]["unusable"]["4"] and "50" in pointer["rollups"]["unusable"]["2"]
    seen = _spy(monkeypatch)
    fast, rows = _pair(wh.path, defs, reg)
    moment = parse_as_of("2024-05-15")
    assert_frame_equal(fast.status("5001", as_of=moment), rows.status("5001", as_of=moment))
    assert_frame_equal(fast.status("500102", as_of=moment), rows.status("500102", as_of=moment))
    assert seen == [False, True]  # 5001 from the rows; 500102 (nothing below it) from the events


def test_an_unusable_value_below_a_row_leaves_the_prefixes_above_to_the_rows(small, monkeypatch):
    wh, defs, reg = small
    _add(wh, [{"region_code": "500102001", "indicator_id": "svc", "period": "2023", "value": float("inf")}], "2024-05-01")
    _add(wh, [{"region_code": "500102001", "indicator_id": "svc", "period": "2023", "value": 3}], "2024-06-01")
    pointer = _compact(wh)
    unusable = pointer["rollups"]["unusable"]
    assert "5001" in unusable["4"] and "50" in unusable["2"] and "500102" not in unusable["6"]
    seen = _spy(monkeypatch)
    fast, rows = _pair(wh.path, defs, reg)
    for when in ("2024-05-15", "2024-06-15"):
        assert_frame_equal(fast.status("5001", as_of=parse_as_of(when)), rows.status("5001", as_of=parse_as_of(when)))
    assert seen == [False, False]


def test_another_registry_a_later_batch_groups_and_the_country_use_the_rows(small, monkeypatch):
    from engine_fixtures import registry

    wh, defs, reg = small
    seen = _spy(monkeypatch)
    moment = parse_as_of("2024-04-15")
    other = registry({"500101": (11, 2), "500102": (30, 6)})  # another count: per_community terms would differ
    fast, rows = _pair(wh.path, defs, other)
    assert_frame_equal(fast.status("5001", as_of=moment), rows.status("5001", as_of=moment))
    fast, rows = _pair(wh.path, defs, reg)
    assert_frame_equal(fast.status("group:wansheng", as_of=moment), rows.status("group:wansheng", as_of=moment))
    assert_frame_equal(fast.status("CN", as_of=moment), rows.status("CN", as_of=moment))
    assert_frame_equal(fast.children_status("5001", as_of=moment), rows.children_status("5001", as_of=moment))
    assert seen == [False, False, False, True]  # 5001's children (counties) are one length: from the events
    _add(wh, [{"region_code": "500101", "indicator_id": "svc", "period": "2023", "value": 1}], "2024-05-01")
    fast, rows = _pair(wh.path, defs, reg)
    later = parse_as_of("2024-05-15")
    got = fast.status("5001", as_of=later)
    assert_frame_equal(got, rows.status("5001", as_of=later))
    assert seen[-1] is False  # the batch is not in the events: the rows answer, and see it
    assert got.filter(pl.col("indicator_id") == "svc")["rollup_value"].to_list() == [1 + 40 + 5 + 7]


def test_compaction_without_a_usable_registry_writes_no_events(small):
    wh, _defs, _reg = small
    (wh.path / "regions.parquet").write_bytes(b"not parquet")
    pointer = _compact(wh)
    assert pointer["rollups"] is None and pointer["file"]  # the versions table still built
    assert current.sources(wh, wh.snapshot()).rollups is None
    assert not list((wh.path / "current").glob("rollups-*.parquet"))[1:]  # the previous table's at most


def test_a_damaged_events_file_gives_the_rows_answer(small, monkeypatch):
    """The events file is derived: truncated on disk, the query runs again from the rows (same frame, no error)."""
    wh, defs, reg = small
    pointer = current._read_pointer(wh.path)
    path = wh.path / pointer["rollups"]["file"]
    path.write_bytes(path.read_bytes()[:200])
    seen = _spy(monkeypatch)
    fast, rows = _pair(wh.path, defs, reg)
    moment = parse_as_of("2024-04-15")
    assert_frame_equal(fast.status("5001", as_of=moment), rows.status("5001", as_of=moment))
    assert_frame_equal(fast.trajectory("5001", "cov", as_of=moment), rows.trajectory("5001", "cov", as_of=moment))
    assert seen[0] is True and fast.events_failed == 3  # status; trajectory: its status row and its series
    from warehouse.storage_check import check

    problems = [p for p in check(wh) if pointer["rollups"]["file"] in p.what]
    assert problems and problems[0].severity == "warning"


def test_importing_a_registry_says_to_rebuild_the_events(small, tmp_path):
    from typer.testing import CliRunner

    from warehouse.cli_regions import regions_app

    wh, _defs, _reg = small
    source = tmp_path / "mine.csv"
    source.write_bytes("code,name\n500000,重庆市\n500101,万州区\n".encode("utf-8"))
    result = CliRunner().invoke(regions_app, ["import", str(source), "--warehouse", str(wh.path)])
    assert result.exit_code == 0, result.output
    assert "run planwatch warehouse compact to rebuild them" in result.output
    pointer = _compact(wh)  # the rebuild takes the new registry
    from warehouse import rollup_events
    from warehouse.regions import RegionRegistry

    assert pointer["rollups"]["registry"] == rollup_events.registry_key(RegionRegistry.load(wh.path / "regions.parquet").frame)
