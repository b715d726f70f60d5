"""The engine's query database (warehouse/engine_db.py): one sealed database per warehouse state, a cursor per
query. A batch written after the engine's first query must be read (the new state gets a database whose seal
allows its file), queries of one state share the database, and a cursor of the old state still works."""

from __future__ import annotations

import duckdb
import pytest

from engine_fixtures import add_batch, definitions, indicator, make_warehouse, plan, target
from warehouse.engine import Engine
from warehouse.periods import parse_as_of


AS_OF = parse_as_of("2025-06-30")


def _defs():
    inds = [indicator("facility_count"), indicator("coverage", "ratio", 100.0)]
    return definitions(inds, [plan("p", "CN", [target(i["id"], 1, applies_at=("total", "province", "city"))
                                               for i in inds])])


def test_new_batch_is_read_and_states_get_their_own_database(tmp_path):
    wh = make_warehouse(tmp_path / "wh")
    add_batch(wh, [{"region_code": "5101", "indicator_id": "facility_count", "period": "2024", "value": 3.0},
                   {"region_code": "5101", "indicator_id": "coverage", "period": "2024", "value": 50.0,
                    "numerator": 1.0, "denominator": 2.0}], "2025-01-10")
    engine = Engine(wh.path, _defs())
    engine.cache.enabled = False
    first = engine.status("51", as_of=AS_OF)
    assert dict(zip(first["indicator_id"], first["value"])) == {"facility_count": 3.0, "coverage": 50.0}
    db_first = engine._db._db
    engine.children_status("51", as_of=AS_OF)
    assert engine._db._db is db_first  # same warehouse state: the same database, a new cursor
    old_cursor, _ = engine._connect(wh.snapshot(), None, None)

    add_batch(wh, [{"region_code": "5107", "indicator_id": "facility_count", "period": "2024", "value": 4.0},
                   {"region_code": "5107", "indicator_id": "coverage", "period": "2024", "value": 25.0,
                    "numerator": 1.0, "denominator": 4.0}], "2025-02-10")
    second = engine.status("51", as_of=AS_OF)
    # sum rule: 3 + 4; ratio rule: (1 + 1) / (2 + 4) * 100 - a new file, read through a new sealed database
    got = dict(zip(second["indicator_id"], second["value"]))
    assert got["facility_count"] == 7.0 and got["coverage"] == pytest.approx(100 / 3, rel=1e-12)
    assert engine._db._db is not db_first
    try:  # the previous state's cursor keeps working (its database closes with it) and stays sealed
        assert old_cursor.sql("SELECT pw_goal(1.0, 2.0, NULL)").fetchall()[0][0] == 2
        with pytest.raises(duckdb.Error):
            old_cursor.sql("SELECT * FROM read_csv('/etc/passwd')").fetchall()
    finally:
        old_cursor.close()
