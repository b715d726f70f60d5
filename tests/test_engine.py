"""Engine over a real warehouse: governing plan, latest value as of a time, history, baselines, final status,
alerts, overdue submissions and rankings."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from engine_fixtures import add_batch, definitions, indicator, make_warehouse, plan, target, utc
from warehouse.engine import Engine, EngineError

LEVELS_CQ = ("county", "township")


def _defs():
    inds = [
        indicator("rate", "ratio", 100.0, zh="社区服务覆盖率", en="Service coverage",
                  lead_department={"zh": "民政局", "en": "Civil Affairs"}),
        indicator("svc", zh="服务设施", en="Facilities"),
        indicator("count", zh="社区工作者", en="Workers"),
        indicator("newind", zh="新指标", en="New indicator"),
    ]
    plans = [
        plan("national_2021", "CN", [
            target("rate", 85, baseline=50, applies_at=("total", "province", "city", "county")),
            target("count", 1000, baseline=500),
            target("newind", 100, baseline=None),
        ]),
        plan("chongqing_2021", "50", [
            # opt-in: districts without a 2020 value of their own are measured from the plan-wide baseline
            target("rate", 90, baseline=50, attribute="binding", applies_at=LEVELS_CQ, baseline_fallback="plan"),
            target("svc", 100, baseline=50, applies_at=LEVELS_CQ, baseline_fallback="plan"),
        ], parent="national_2021"),
        plan("wansheng_2016", "group:wansheng", [
            target("rate", 70, year=2020, baseline=30, baseline_year=2015, applies_at=("total", "township")),
        ], start=2016, baseline=2015, end=2020),
        plan("sichuan_2021", "51", [
            target("rate", 80, baseline=45, applies_at=("city",), exclude=["group:sanzhou"]),
        ], parent="national_2021"),
    ]
    return definitions(inds, plans)


@pytest.fixture()
def engine(tmp_path):
    wh = make_warehouse(tmp_path / "wh")
    add_batch(wh, [
        {"region_code": "500101", "indicator_id": "rate", "period": "2020", "value": 40, "numerator": 40, "denominator": 100},
        {"region_code": "500101", "indicator_id": "rate", "period": "2023", "value": 60, "numerator": 60, "denominator": 100},
        {"region_code": "500102", "indicator_id": "rate", "period": "2023", "value": 50, "numerator": 50, "denominator": 100},
        {"region_code": "500110", "indicator_id": "rate", "period": "2023", "value": 80, "numerator": 80, "denominator": 100},
        {"region_code": "500101", "indicator_id": "svc", "period": "2023", "value": 60},
        {"region_code": "CN", "indicator_id": "newind", "period": "2022", "value": 40},
    ], "2024-02-01")
    # a correction of Wanzhou's 2023 rate, ingested later
    add_batch(wh, [
        {"region_code": "500101", "indicator_id": "rate", "period": "2023", "value": 80, "numerator": 80, "denominator": 100},
        {"region_code": "CN", "indicator_id": "newind", "period": "2023", "value": 60},
    ], "2024-06-10")
    return Engine(tmp_path / "wh", _defs())


def _row(frame, region, ind):
    rows = frame.filter((pl.col("region_code") == region) & (pl.col("indicator_id") == ind)).to_dicts()
    assert len(rows) == 1, frame
    return rows[0]


# ---------------------------------------------------------------- governing plan
@pytest.mark.parametrize("region,as_of,plan_id", [
    ("500101", "2024-06", "chongqing_2021"),  # a Chongqing district
    ("500110004", "2019-06", "wansheng_2016"),  # a Wansheng town while the 2016-2020 plan runs
    ("500110004", "2024-06", "chongqing_2021"),  # the same town after 2020: superseded
    ("group:wansheng", "2019-06", "wansheng_2016"),
    ("5101", "2024-06", "sichuan_2021"),  # a Sichuan city
    ("5132", "2024-06", "national_2021"),  # 阿坝: excluded (三州) -> the parent plan
    ("110105", "2024-06", "national_2021"),  # a Beijing district
])
def test_governing_plan(engine, region, as_of, plan_id):
    plan_, target_ = engine.governing_plan(region, "rate", as_of=utc(as_of))
    assert plan_.id == plan_id and target_.indicator == "rate"


def test_indicator_without_target_falls_back_and_total_targets_stay_total(engine):
    # Chongqing's plan has no `count` target; national's applies to the whole country only
    assert engine.governing_plan("500101", "count", as_of=utc("2024-06")) is None
    assert engine.governing_plan("CN", "count", as_of=utc("2024-06"))[0].id == "national_2021"
    # Chongqing's own region: its targets apply at county/township only -> national (province level)
    assert engine.governing_plan("50", "rate", as_of=utc("2024-06"))[0].id == "national_2021"
    assert engine.governing_plan("500101", as_of=utc("2024-06"))[0].id == "chongqing_2021"


# ---------------------------------------------------------------- as-of and history
def test_as_of_ignores_later_corrections(engine):
    before = _row(engine.status("500101", as_of=utc("2024-03"), indicator="rate"), "500101", "rate")
    after = _row(engine.status("500101", as_of=utc("2024-06"), indicator="rate"), "500101", "rate")
    assert before["value"] == 60 and after["value"] == 80
    hist = engine.history("500101", "rate", as_of=utc("2024-06"))
    h2023 = hist.filter(pl.col("period") == "2023").sort("ingested_at")
    assert h2023["value"].to_list() == [60, 80] and h2023["is_current"].to_list() == [False, True]
    assert engine.history("500101", "rate", as_of=utc("2024-03")).filter(pl.col("period") == "2023").height == 1


def test_latest_in_one_batch_by_submitted_at_then_source_row(tmp_path):
    wh = make_warehouse(tmp_path / "w")
    add_batch(wh, [
        {"region_code": "500102", "indicator_id": "svc", "period": "2023", "value": 70, "source_row": 9,
         "submitted_at": utc("2024-01-01")},
        {"region_code": "500102", "indicator_id": "svc", "period": "2023", "value": 65, "source_row": 3,
         "submitted_at": utc("2024-01-05")},
        {"region_code": "500101", "indicator_id": "svc", "period": "2023", "value": 71, "source_row": 4},
        {"region_code": "500101", "indicator_id": "svc", "period": "2023", "value": 72, "source_row": 8},
    ], "2024-02-01")
    eng = Engine(tmp_path / "w", _defs())
    frame = eng.children_status("50", as_of=utc("2024-06"), indicator="svc")
    assert _row(frame, "500102", "svc")["value"] == 65  # later submitted_at wins
    assert _row(frame, "500101", "svc")["value"] == 72  # then the higher spreadsheet row


# ---------------------------------------------------------------- baselines and status
def test_status_row_with_region_baseline(engine):
    row = _row(engine.status("500101", as_of=utc("2024-06")), "500101", "rate")
    # Chongqing's plan-wide baseline is 50; Wanzhou's own 2020 value 40 is used (baseline_source region)
    assert (row["baseline_value"], row["baseline_source"], row["plan_id"]) == (40, "region", "chongqing_2021")
    # 2023 value 80 at f = 1095/1826: ratio (50 - 10) / (50 * 1095/1826) = 1.334...; 80 < 90 -> on schedule
    f = 1095 / 1826
    assert row["progress_ratio"] == pytest.approx(40 / (50 * f), rel=1e-12)
    assert row["expected_value"] == pytest.approx(40 + 50 * f, rel=1e-12)
    # expected now (end of June 2024): 40 + 50 * 1277/1826
    assert row["expected_now"] == pytest.approx(40 + 50 * 1277 / 1826, rel=1e-12)
    assert row["status"] == "on_schedule" and row["attribute"] == "binding" and row["trend"] == "improving"
    assert row["lead_department_zh"] == "民政局" and row["final"] is False


def test_plan_baseline_and_binding_red_reason(engine):
    row = _row(engine.status("500102", as_of=utc("2024-06")), "500102", "rate")
    # no 2020 value, the target opts in: plan-wide 50; 2023 value 50 -> ratio 0 -> below binding amber 0.80
    assert (row["baseline_value"], row["baseline_source"], row["baseline_region"]) == (50, "plan_fallback", "50")
    assert row["status"] == "far_behind" and row["severity"] == 0
    # the reason says whose baseline it is
    assert row["reason_zh"] == ("约束性指标「社区服务覆盖率」时序进度 0%，低于 80%"
                                "（以重庆市全域基期值 50 为基准，非本地区数据）")


def test_unknown_baseline_uses_first_observation(engine):
    single = _row(engine.status("CN", as_of=utc("2024-03"), indicator="newind"), "CN", "newind")
    assert (single["baseline_source"], single["status"], single["reason"]) == (
        "first_observation", "not_assessable", "single_observation")
    row = _row(engine.status("CN", as_of=utc("2024-06")), "CN", "newind")
    # path from the first observation (40 at 2022-12-31) to 100 at 2025-12-31: f(2023-12-31) = 365/1096
    # ratio = (60 - 40) / ((100 - 40) * 365/1096) = 1.0009...
    assert row["baseline_value"] == 40 and row["baseline_date"] == date(2022, 12, 31)
    assert row["progress_ratio"] == pytest.approx(20 / (60 * 365 / 1096), rel=1e-12)
    assert row["status"] == "on_schedule" and "首次观测" in row["reason_zh"]


def test_final_after_target_year(tmp_path):
    wh = make_warehouse(tmp_path / "w")
    add_batch(wh, [
        {"region_code": "500101", "indicator_id": "svc", "period": "2024", "value": 80},
        {"region_code": "500101", "indicator_id": "svc", "period": "2025", "value": 95},
        {"region_code": "500102", "indicator_id": "svc", "period": "2025", "value": 120},
    ], "2026-02-01")
    eng = Engine(tmp_path / "w", _defs())
    frame = eng.children_status("50", as_of=utc("2026-03"), indicator="svc")
    late = _row(frame, "500101", "svc")
    assert (late["status"], late["final"], late["gap"], late["trend"]) == ("not_achieved", True, 5, "improving")
    assert _row(frame, "500102", "svc")["status"] == "achieved"


# ---------------------------------------------------------------- alerts and overdue
def test_alerts_ordered_by_severity_with_reasons(engine):
    alerts = engine.alerts("50", as_of=utc("2024-06"))
    assert alerts["severity"].to_list() == sorted(alerts["severity"].to_list())
    first = alerts.row(0, named=True)
    assert (first["region_code"], first["indicator_id"], first["severity"]) == ("500102", "rate", 0)
    assert first["department_zh"] == "民政局"
    overdue = alerts.filter(pl.col("kind") == "overdue")
    # 城口县 never reported its 2021-2023 rate: one alert, latest period 2023 (due 2024-01-30), 3 periods late
    cheng = overdue.filter((pl.col("region_code") == "500229") & (pl.col("indicator_id") == "rate")).row(0, named=True)
    assert cheng["period_end"] == date(2023, 12, 31) and cheng["n_overdue_periods"] == 3
    assert "已逾期 152 天" in cheng["reason_zh"]  # 2024-01-30 -> 2024-06-30
    # NBS placeholders (5001 市辖区, 5002 县) answer for nothing: no alert names them, their districts do
    assert not {"5001", "5002"} & set(alerts["region_code"].to_list())
    assert {"500101", "500102", "500229"} <= set(alerts["region_code"].to_list())


def test_overdue_lists_every_missing_period(engine):
    late = engine.overdue("500229", as_of=utc("2024-06"))
    rate = late.filter(pl.col("indicator_id") == "rate")
    assert rate["period_end"].to_list() == [date(2021, 12, 31), date(2022, 12, 31), date(2023, 12, 31)]
    assert rate["due_date"].to_list()[-1] == date(2024, 1, 30)


# ---------------------------------------------------------------- rankings
def test_rank_indicator_ties_and_change(engine):
    ranks = engine.rank("50", "rate", as_of=utc("2024-06"))
    by = {r["region_code"]: r for r in ranks.iter_rows(named=True)}
    # June: 万州 80 (corrected), 綦江 80, 涪陵 50, 城口 none -> 1, 1, 3, unranked
    assert (by["500101"]["rank"], by["500110"]["rank"], by["500102"]["rank"]) == (1, 1, 3)
    assert by["500229"]["rank"] is None
    # May: 綦江 80 -> 1, 万州 60 -> 2, 涪陵 50 -> 3; 万州 moved up one place
    assert (by["500101"]["previous_rank"], by["500101"]["rank_change"]) == (2, 1)


def test_rank_composite(engine):
    ranks = engine.rank("50", "composite", as_of=utc("2024-06"))
    by = {r["region_code"]: r for r in ranks.iter_rows(named=True)}
    f = 1095 / 1826
    # 万州: rate (binding, weight 2) ratio 1.33 capped at 1; svc (expected, weight 1): (50 - 40) / (50 f)
    svc = 10 / (50 * f)
    assert by["500101"]["score"] == pytest.approx((2 * 1 + svc) / 3, rel=1e-12)
    # 涪陵: rate ratio 0 (weight 2), svc no data -> left out of the mean, counted
    assert by["500102"]["score"] == 0 and by["500102"]["n_no_data"] == 1 and by["500102"]["n_behind"] == 1
    # 綦江: rate 80 from the plan-wide 50: (40 - 10) / (40 f) = 1.25 -> capped 1; svc no data -> score 1
    assert by["500110"]["score"] == 1.0
    assert [by[c]["rank"] for c in ("500110", "500101", "500102")] == [1, 2, 3]
    assert by["500229"]["rank"] is None and by["500229"]["n_no_data"] == 2


def test_unknown_inputs_give_clear_errors(engine):
    with pytest.raises(EngineError, match="未知地区代码"):
        engine.status("509999")
    with pytest.raises(EngineError, match="未知指标"):
        engine.status("50", indicator="nope")
    with pytest.raises(EngineError, match="未知规划"):
        engine.status("50", plan_id="nope")


# ---------------------------------------------------------------- CLI
def test_cli_status_json_and_rank_csv(engine, tmp_path):
    import json

    import yaml
    from typer.testing import CliRunner

    from warehouse.cli import _register, app

    _register()
    defs_file = tmp_path / "defs.yaml"
    defs_file.write_text(yaml.safe_dump(engine.defs.model_dump(mode="json"), allow_unicode=True), encoding="utf-8")
    wh = str(engine.warehouse.path)
    runner = CliRunner()
    out = runner.invoke(app, ["status", "--region", "500102", "--indicator", "rate", "--as-of", "2024-06",
                              "--format", "json", "--warehouse", wh, "--defs", str(defs_file)])
    assert out.exit_code == 0, out.output
    rows = json.loads(out.stdout)
    assert [(r["status"], r["plan_id"], r["value"]) for r in rows] == [("far_behind", "chongqing_2021", 50.0)]
    ranked = runner.invoke(app, ["rank", "--parent", "50", "--indicator", "rate", "--as-of", "2024-06",
                                 "--format", "csv", "--warehouse", wh, "--defs", str(defs_file)])
    assert ranked.exit_code == 0, ranked.output
    assert ranked.stdout.splitlines()[1].startswith("1,500101,")
    bad = runner.invoke(app, ["status", "--region", "999", "--warehouse", wh, "--defs", str(defs_file)])
    assert bad.exit_code == 2 and "未知地区代码" in bad.output and "Traceback" not in bad.output


# ---------------------------------------------------------------- periods, methods, direction
def test_monthly_value_lower_is_better_cagr_and_rank(tmp_path):
    inds = [
        indicator("wait_days", frequency="monthly", direction="lower"),
        indicator("growth", method="cagr"),
    ]
    defs = definitions(inds, [plan("national_2021", "CN", [
        target("wait_days", 10, comparator="<=", baseline=20, applies_at=("total", "county"), baseline_fallback="plan"),
        target("growth", 200, baseline=100, applies_at=("total", "county"), baseline_fallback="plan"),
    ])])
    wh = make_warehouse(tmp_path / "w")
    add_batch(wh, [
        {"region_code": "500101", "indicator_id": "wait_days", "period": "2024-06", "value": 14},
        {"region_code": "500102", "indicator_id": "wait_days", "period": "2024-06", "value": 12},
        {"region_code": "500110", "indicator_id": "wait_days", "period": "2024-06", "value": 14},
        {"region_code": "500101", "indicator_id": "growth", "period": "2023", "value": 130},
    ], "2024-07-10")
    eng = Engine(tmp_path / "w", defs)
    row = _row(eng.status("500101", as_of=utc("2024-07")), "500101", "wait_days")
    # assessed at the end of June 2024: f = 1277/1826; ratio = (10 - 4) / (10 f)
    f = 1277 / 1826
    assert row["period"] == "2024-06" and row["expected_value"] == pytest.approx(20 - 10 * f, rel=1e-12)
    assert row["progress_ratio"] == pytest.approx(6 / (10 * f), rel=1e-12)
    # expected now = end of July 2024: 1308 days
    assert row["expected_now"] == pytest.approx(20 - 10 * 1308 / 1826, rel=1e-12)
    # cagr: 3 years of 5: R = (1.3^(1/3) - 1) / (2^(1/5) - 1)
    growth = _row(eng.status("500101", as_of=utc("2024-07")), "500101", "growth")
    assert growth["method_used"] == "cagr"
    assert growth["progress_ratio"] == pytest.approx((1.3 ** (1 / 3) - 1) / (2 ** 0.2 - 1), rel=1e-12)
    # lower is better: 12 ranks first, the two 14s share second place
    ranks = {r["region_code"]: r["rank"] for r in eng.rank("50", "wait_days", as_of=utc("2024-07")).iter_rows(named=True)}
    assert (ranks["500102"], ranks["500101"], ranks["500110"]) == (1, 2, 2)
