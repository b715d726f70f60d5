"""warehouse.quality on a small hand-built warehouse (real Parquet batches, manifest and log read with DuckDB),
with every expected number worked out by hand in the comments."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from pathlib import Path

import polars as pl
import pytest

from warehouse import quality
from warehouse.definitions import Definitions
from warehouse.migrate import migrate
from warehouse.periods import parse_as_of

DEFS = Definitions.model_validate({
    "defaults": {"outlier_z": 3.0},
    "indicators": [
        {"id": "ann", "name": {"zh": "年度指标", "en": "Annual one"}, "unit": {"zh": "%", "en": "%"},
         "category": {"zh": "服务设施", "en": "Facilities"},
         "aggregation": {"rule": "ratio", "scale": 100}, "frequency": "annual", "due_days": 30,
         "reported_at": ["city"], "lead_department": {"zh": "民政局", "en": "Civil Affairs"},
         "responsible_departments": [{"zh": "财政局"}, {"zh": "住建局"}]},
        {"id": "qtr", "name": {"zh": "季度指标", "en": "Quarterly one"}, "unit": {"zh": "个", "en": "count"},
         "category": {"zh": "服务队伍", "en": "Workforce"},
         "aggregation": {"rule": "sum"}, "frequency": "quarterly", "due_days": 15,
         "reported_at": ["province", "city"]},
    ],
    "plans": [
        {"id": "p50", "name": {"zh": "某市规划", "en": "City plan"}, "issuer": {"zh": "某市政府"},
         "doc_number": "某府发〔2021〕1号", "period": {"start": 2021, "baseline": 2020, "target": 2025},
         "region": "50",
         "targets": [
             {"indicator": "ann", "attribute": "binding",
              "baseline": {"value": 60, "year": 2020},
              "target": {"comparator": ">=", "value": 80, "year": 2025, "as_written": "≥80%"},
              "source": {"table": "专栏1", "row": 3}},
             {"indicator": "qtr", "attribute": "expected", "kind": "text",
              "baseline": {"value": None, "year": 2020, "as_written": "—"},
              "target": {"comparator": ">=", "value": 120, "year": 2025, "comparator_inferred": True},
              "source": {"quote": "到2025年达到120个"}},
         ]},
        {"id": "p51", "name": {"zh": "另一规划"}, "issuer": {"zh": "另一政府"},
         "period": {"start": 2021, "baseline": 2020, "target": 2025}, "region": "51",
         "targets": [{"indicator": "qtr", "attribute": "binding",
                      "target": {"comparator": ">=", "value": 5, "year": 2025},
                      "source": {"table": "专栏2", "row": 1}}]},
    ],
})

AS_OF = parse_as_of("2022-06")  # 2022-06-30 16:00 UTC


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text)  # naive UTC, as stored


def _row(region, indicator, period, end, value, submitted, ingested, row):
    return {"batch_id": f"{ingested.replace('-', '').replace(':', '')}Z-abcdef12", "region_code": region,
            "indicator_id": indicator, "period": period, "period_end": date.fromisoformat(end),
            "value": float(value), "numerator": None, "denominator": None, "note": None, "submitted_by": "t",
            "submitted_at": _utc(submitted), "ingested_at": _utc(ingested), "source_file": "f.csv",
            "source_row": row}


def _write_warehouse(root: Path, rows: list[dict]) -> Path:
    """The folder layout of before issue 14 (batches/<id>.parquet, manifest.json, regions.parquet, log/), then
    `planwatch warehouse migrate` (warehouse/migrate.py): a Delta table with one commit per batch."""
    wh = root / "wh"
    (wh / "batches").mkdir(parents=True)
    by_batch: dict[str, list[dict]] = {}
    for r in rows:
        by_batch.setdefault(r["batch_id"], []).append(r)
    batches = []
    for batch_id, batch_rows in sorted(by_batch.items()):
        frame = pl.DataFrame(batch_rows, schema_overrides={"numerator": pl.Float64, "denominator": pl.Float64,
                                                           "note": pl.Utf8, "source_row": pl.Int32})
        frame.write_parquet(wh / "batches" / f"{batch_id}.parquet")
        batches.append({"batch_id": batch_id, "file": f"batches/{batch_id}.parquet", "rows": len(batch_rows),
                        "ingested_at": batch_rows[0]["ingested_at"].isoformat() + "Z"})
    (wh / "manifest.json").write_text(json.dumps({"version": len(batches), "batches": batches}))
    pl.DataFrame({
        "code": ["CN", "50", "5001", "5002", "51"],
        "name": ["全国", "某市", "甲区", "乙区", "另一省"],
        "level": ["country", "province", "city", "city", "province"],
        "parent": [None, "CN", "50", "50", "CN"],
    }).write_parquet(wh / "regions.parquet")
    migrate(wh, compact=False)
    return wh


# Expected reports as of 2022-06-30 24:00 CST (2022-06-30 16:00 UTC):
#  ann (annual, due 30 days after 2021-12-31 24:00 CST = 2022-01-30 16:00 UTC): 2021 only, cities only.
#  qtr (quarterly, due 15 days after the quarter): 2021-Q1..Q4 and 2022-Q1 (due 2022-04-15 16:00 UTC);
#      2022-Q2 is due 2022-07-15 (after as-of). Province and cities.
#  -> 50: 5 expected; 5001: 1 + 5 = 6; 5002: 6.
ROWS = [
    # 5001: everything on time -> 6/6 received, 6/6 on time
    _row("5001", "ann", "2021", "2021-12-31", 70, "2022-01-10T00:00:00", "2022-01-10T01:00:00", 2),
    *[_row("5001", "qtr", p, e, 10, s, s, 3)
      for p, e, s in [("2021-Q1", "2021-03-31", "2021-04-10T00:00:00"), ("2021-Q2", "2021-06-30", "2021-07-10T00:00:00"),
                      ("2021-Q3", "2021-09-30", "2021-10-10T00:00:00"), ("2021-Q4", "2021-12-31", "2022-01-10T00:00:00"),
                      ("2022-Q1", "2022-03-31", "2022-04-10T00:00:00")]],
    # 5002: ann late (2022-02-10 > 2022-01-30 16:00); Q1..Q3 on time; Q4 missing as of (arrives 2022-07-10);
    # 2022-Q1 late (2022-05-01 > 2022-04-15 16:00); a correction of Q1 later does not change its first submission.
    _row("5002", "ann", "2021", "2021-12-31", 65, "2022-02-10T00:00:00", "2022-02-10T00:00:00", 2),
    _row("5002", "qtr", "2021-Q1", "2021-03-31", 8, "2021-04-15T00:00:00", "2021-04-15T00:00:00", 2),
    _row("5002", "qtr", "2021-Q1", "2021-03-31", 9, "2022-03-01T00:00:00", "2022-03-01T00:00:00", 2),
    _row("5002", "qtr", "2021-Q2", "2021-06-30", 8, "2021-07-15T00:00:00", "2021-07-15T00:00:00", 2),
    _row("5002", "qtr", "2021-Q3", "2021-09-30", 8, "2021-10-15T00:00:00", "2021-10-15T00:00:00", 2),
    _row("5002", "qtr", "2021-Q4", "2021-12-31", 8, "2022-07-10T00:00:00", "2022-07-10T00:00:00", 2),
    _row("5002", "qtr", "2022-Q1", "2022-03-31", 8, "2022-05-01T00:00:00", "2022-05-01T00:00:00", 2),
    # 50 (province): qtr 2021-Q1 and Q2 on time; Q3, Q4, 2022-Q1 missing -> 2/5
    _row("50", "qtr", "2021-Q1", "2021-03-31", 30, "2021-04-15T00:00:00", "2021-04-15T00:00:00", 5),
    _row("50", "qtr", "2021-Q2", "2021-06-30", 30, "2021-07-15T00:00:00", "2021-07-15T00:00:00", 5),
]


@pytest.fixture()
def wh(tmp_path):
    return _write_warehouse(tmp_path, ROWS)


def _detail(wh):
    regions = quality.scope_regions(quality.load_regions(wh), "50", DEFS)
    expected = quality.expected_reports(DEFS, regions, AS_OF)
    return quality.report_detail(expected, quality.load_submissions(wh, AS_OF))


def test_expected_reports_follow_frequency_due_days_and_levels(wh):
    regions = quality.scope_regions(quality.load_regions(wh), "50", DEFS)
    assert regions["code"].to_list() == ["50", "5001", "5002"]
    expected = quality.expected_reports(DEFS, regions, AS_OF)
    counts = dict(expected.group_by("region_code").len().iter_rows())
    assert counts == {"50": 5, "5001": 6, "5002": 6}
    assert sorted(expected.filter(pl.col("region_code") == "50")["period"].to_list()) == [
        "2021-Q1", "2021-Q2", "2021-Q3", "2021-Q4", "2022-Q1"]
    # the annual 2021 report is due 30 days after 24:00 CST on 2021-12-31
    ann = expected.filter((pl.col("region_code") == "5001") & (pl.col("indicator_id") == "ann"))
    assert ann["due_at"].to_list() == [datetime(2022, 1, 30, 16, 0)]


def test_reporting_and_on_time_rates(wh):
    rates = quality.reporting_rates(_detail(wh))
    got = {r["region_code"]: (r["expected"], r["received"], r["on_time"]) for r in rates.iter_rows(named=True)}
    assert got == {"50": (5, 2, 2), "5001": (6, 6, 6), "5002": (6, 5, 3)}
    r5002 = rates.filter(pl.col("region_code") == "5002").row(0, named=True)
    assert r5002["reporting_rate"] == pytest.approx(5 / 6)
    assert r5002["on_time_rate"] == pytest.approx(0.5)


def test_rates_per_year(wh):
    by_year = quality.reporting_rates(_detail(wh), by=["region_code", "year"])
    got = {(r["region_code"], r["year"]): (r["expected"], r["received"]) for r in by_year.iter_rows(named=True)}
    # 5002 in 2021: ann + 4 quarters = 5 expected, Q4 missing -> 4; 2022: Q1 received late -> 1 of 1
    assert got[("5002", 2021)] == (5, 4)
    assert got[("5002", 2022)] == (1, 1)
    assert got[("50", 2022)] == (1, 0)


def test_as_of_excludes_later_ingests(wh):
    later = quality.report_detail(
        quality.expected_reports(DEFS, quality.scope_regions(quality.load_regions(wh), "50", DEFS), AS_OF),
        quality.load_submissions(wh, None),
    )
    rates = {r["region_code"]: r["received"] for r in quality.reporting_rates(later).iter_rows(named=True)}
    assert rates["5002"] == 6  # the 2021-Q4 report ingested 2022-07-10 counts only without the as-of


def test_missing_reports_sorted_by_days_overdue(wh):
    missing = quality.missing_reports(_detail(wh), AS_OF)
    keys = [(r["region_code"], r["period"]) for r in missing.iter_rows(named=True)]
    # due: 50/Q3 2021-10-15, 50/Q4 and 5002/Q4 2022-01-15, 50/2022-Q1 2022-04-15 (16:00 UTC each)
    assert keys == [("50", "2021-Q3"), ("50", "2021-Q4"), ("5002", "2021-Q4"), ("50", "2022-Q1")]
    assert missing["days_overdue"].to_list() == [258, 166, 166, 76]
    first = missing.filter(pl.col("period") == "2021-Q3").row(0, named=True)
    # 2021-Q3 due 2021-10-15 16:00 UTC; as-of 2022-06-30 16:00 UTC -> 258 days
    assert first["days_overdue"] == 258
    q4 = missing.filter((pl.col("region_code") == "5002")).row(0, named=True)
    assert q4["days_overdue"] == 166  # due 2022-01-15 16:00 UTC


def test_current_values_keep_the_latest_submission(wh):
    current = quality.current_values(quality.load_submissions(wh, AS_OF))
    q1 = current.filter((pl.col("region_code") == "5002") & (pl.col("period") == "2021-Q1"))
    assert q1["value"].to_list() == [9.0]


def _values(series: dict[str, list[float]], indicator: str) -> pl.DataFrame:
    rows = []
    for region, vals in series.items():
        for i, v in enumerate(vals):
            rows.append({"region_code": region, "indicator_id": indicator, "period": str(2021 + i),
                         "period_end": date(2021 + i, 12, 31), "value": v})
    return pl.DataFrame(rows)


def test_outliers_default_threshold():
    # ann is a ratio indicator: absolute changes. 12 changes: eleven of +1, one of +13.
    # mean 2, sample sd sqrt((11*1 + 121)/11) = sqrt(12); z = 11/sqrt(12) = 3.1754 > 3.0 (defaults.outlier_z)
    values = _values({"r1": [10, 11, 12, 13], "r2": [10, 11, 12, 13], "r3": [10, 11, 12, 13],
                      "r4": [10, 11, 24, 25]}, "ann")
    found = quality.outliers(values, DEFS)
    assert found.height == 1
    row = found.row(0, named=True)
    assert (row["region_code"], row["previous_period"], row["period"]) == ("r4", "2022", "2023")
    assert row["z"] == pytest.approx(11 / 12 ** 0.5)
    assert quality.outliers(values, DEFS, z=3.2).height == 0


def test_outliers_use_relative_change_for_totals():
    # qtr aggregates by sum: relative changes 0.1, 0.1, 0.1, 2.0 -> mean 0.575, sd 0.95, z(r4) = 1.5.
    # (Absolute changes would single out r2's +100 instead.)
    values = _values({"r1": [100, 110], "r2": [1000, 1100], "r3": [50, 55], "r4": [10, 30]}, "qtr")
    found = quality.outliers(values, DEFS, z=1.4)
    assert found["region_code"].to_list() == ["r4"]
    assert found["z"][0] == pytest.approx(1.5)
    assert found["change"][0] == pytest.approx(2.0)


def test_disagreements_from_status_columns():
    status = pl.DataFrame({
        "region_code": ["50", "5001"], "region_name": ["某市", "甲区"], "indicator_id": ["qtr", "qtr"],
        "indicator_zh": ["季度指标"] * 2, "indicator_en": ["Quarterly one"] * 2, "period": ["2022-Q1"] * 2,
        "submitted_value": [30.0, 10.0], "rollup_value": [25.0, None], "disagreement": [True, None],
    })
    found = quality.disagreements(status)
    assert found["region_code"].to_list() == ["50"]
    assert found["difference"][0] == pytest.approx(0.2)


def test_ingest_log_and_rejections(wh):
    (wh / "log").mkdir()
    (wh / "rejections").mkdir()
    (wh / "log" / "e1.json").write_text(json.dumps({"entry_id": "e1", "file_name": "a.csv", "rows_accepted": 3,
                                                     "rows_rejected": 1, "ingested_at": "2022-01-01T00:00:00Z",
                                                     "rejection_file": "rejections/e1.csv"}))
    (wh / "log" / "e2.json").write_text(json.dumps({"entry_id": "e2", "file_name": "b.csv", "rows_accepted": 5,
                                                     "rows_rejected": 0, "ingested_at": "2022-02-01T00:00:00Z"}))
    (wh / "rejections" / "e1.csv").write_bytes(
        "\ufeffrow,column,value,reason_zh,reason_en\n7,数值,abc,不是数字,not a number\n".encode("utf-8"))
    log = quality.ingest_log(wh)
    assert log["entry_id"].to_list() == ["e2", "e1"]
    assert log["rows_rejected"].to_list() == [0, 1]
    assert quality.ingest_log(wh, parse_as_of("2022-01"))["entry_id"].to_list() == ["e1"]
    entries = log.to_dicts()
    assert quality.rejection_file(wh, entries[0]) is None
    rej = quality.read_rejections(quality.rejection_file(wh, entries[1]))
    assert rej.columns == ["row", "column", "value", "reason_zh", "reason_en"]
    assert rej.row(0) == ("7", "数值", "abc", "不是数字", "not a number")
    # ingest's own header spelling reads the same
    (wh / "rejections" / "e3.csv").write_bytes(
        "\ufeff行号,列,值,原因,reason,级别 severity\n4,数值,约2.46,数值不是数字,value is not a number,错误 error\n"
        .encode("utf-8"))
    rej = quality.read_rejections(wh / "rejections" / "e3.csv")
    assert rej.columns == ["row", "column", "value", "reason_zh", "reason_en", "severity"]
    assert rej.row(0)[:4] == ("4", "数值", "约2.46", "数值不是数字")


def test_definition_tables_filter_and_show_sources():
    plans = quality.plan_table(DEFS)
    assert plans["plan_id"].to_list() == ["p50", "p51"]
    assert plans.row(0, named=True)["period"] == "2021–2025"
    assert plans.row(0, named=True)["targets"] == 2

    targets = quality.target_table(DEFS, "zh", plan_id="p50")
    ann = targets.filter(pl.col("indicator_id") == "ann").row(0, named=True)
    assert (ann["comparator"], ann["target"], ann["target_year"]) == (">=", "80", 2025)
    assert (ann["source_table"], ann["source_row"]) == ("专栏1", 3)
    assert ann["baseline"] == "60 (2020)"
    assert ann["responsible_departments"] == "财政局、住建局"
    qtr = targets.filter(pl.col("indicator_id") == "qtr").row(0, named=True)
    assert qtr["comparator"] == ">=*"  # inferred comparator is marked
    assert qtr["baseline"] == "— (未知, 2020)"
    assert qtr["source_quote"] == "到2025年达到120个"

    assert quality.target_table(DEFS, attribute="binding")["plan_id"].to_list() == ["p50", "p51"]
    assert quality.target_table(DEFS, "en", category="Workforce")["indicator_id"].to_list() == ["qtr", "qtr"]
    assert quality.categories(DEFS, "en") == ["Facilities", "Workforce"]
    inds = quality.indicator_table(DEFS, "zh", plan_id="p51")
    assert inds["indicator_id"].to_list() == ["qtr"]
    assert inds.row(0, named=True)["plans"] == "p50, p51"


def test_league_table_arrows_and_downloads(tmp_path):
    composite = pl.DataFrame({"region_code": ["a", "b", "c"], "region_name": ["甲区", "乙区", "丙县"],
                              "rank": [2, 1, 3], "previous_rank": [1, 3, None], "score": [0.8, 0.9, 0.5],
                              "n_behind": [1, 0, 3]})
    table = quality.league_table(composite, {"ann": pl.DataFrame({"region_code": ["c", "a", "b"],
                                                                   "rank": [1, 2, 2]})})
    assert table["region_code"].to_list() == ["b", "a", "c"]
    assert table["change"].to_list() == ["▲2", "▼1", "—"]
    assert table["rank:ann"].to_list() == [2, 2, 1]

    raw = quality.csv_bytes(table)
    assert raw.startswith(b"\xef\xbb\xbf")
    assert "乙区" in raw.decode("utf-8-sig").splitlines()[1]
    path = tmp_path / "r.xlsx"
    path.write_bytes(quality.xlsx_bytes(table))
    import openpyxl

    rows = list(openpyxl.load_workbook(path).active.values)
    assert rows[0][:4] == ("rank", "change", "region_code", "region_name")
    assert rows[1][:4] == (1, "▲2", "b", "乙区")


def test_scope_sees_through_pseudo_cities():
    regions = pl.DataFrame({
        "code": ["50", "5001", "5002", "500101", "500102", "500229", "51", "5101"],
        "name": ["重庆市", "市辖区", "县", "万州区", "涪陵区", "城口县", "四川省", "成都市"],
        "level": ["province", "city", "city", "county", "county", "county", "province", "city"],
        "parent": ["CN", "50", "50", "5001", "5001", "5002", "CN", "51"],
    })
    assert quality.scope_regions(regions, "50", DEFS)["code"].to_list() == ["50", "500101", "500102", "500229"]
    assert quality.scope_regions(regions, "51", DEFS)["code"].to_list() == ["51", "5101"]
    # the selected region's value is the roll-up of its children: only the children are expected to report
    assert quality.reporting_regions(regions, "50", DEFS)["code"].to_list() == ["500101", "500102", "500229"]
    assert quality.reporting_regions(regions, "5101", DEFS)["code"].to_list() == ["5101"]
