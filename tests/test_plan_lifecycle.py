"""Both ends of a plan's life (issue 12), over real warehouses: a Jiangsu-like 2026-2030 plan added by YAML
alone (tests/fixtures/jiangsu_2026.yaml) in its first months and first year; the final evaluation of a
2021-2025 plan before and after its reporting deadline; values before the baseline year; not-applicable
indicators. Hand-computed cases are those of docs/methodology.md."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from engine_fixtures import add_batch, definitions, indicator, make_warehouse, plan, target, utc
from warehouse import status as st
from warehouse.defs_loader import load_definitions
from warehouse.engine import Engine
from warehouse.regions import REGION_SCHEMA, RegionRegistry

FIXTURE = Path(__file__).parent / "fixtures" / "jiangsu_2026.yaml"
AMBER_RED = {st.BEHIND, st.FAR_BEHIND, st.NOT_ACHIEVED}

# code, name, level, parent, n_urban, n_rural (玄武区 is all urban: no rural community)
JS_REGIONS = [
    ("CN", "全国", "country", None, 9000, 15000),
    ("32", "江苏省", "province", "CN", 8000, 14000),
    ("3201", "南京市", "city", "32", 1000, 800),
    ("320102", "玄武区", "county", "3201", 60, 0),
    ("3205", "苏州市", "city", "32", 1500, 1000),
    ("3213", "宿迁市", "city", "32", 500, 1500),
    ("321302", "宿城区", "county", "3213", 120, 80),
]


def js_registry() -> RegionRegistry:
    rows = [{"code": c, "name": n, "level": lv, "parent": p, "urban": None, "n_urban_communities": u,
             "n_rural_communities": r} for c, n, lv, p, u, r in JS_REGIONS]
    return RegionRegistry(pl.DataFrame(rows, schema=REGION_SCHEMA))


def _pct(region, ind, period, value):
    return {"region_code": region, "indicator_id": ind, "period": period, "value": value, "numerator": value,
            "denominator": 100}


# 2025 (baseline year) figures and the first two quarters of 2026, as the cities sent them
BASELINE_2025 = [
    _pct("3201", "urban_facility_coverage", "2025-Q4", 100), _pct("3205", "urban_facility_coverage", "2025-Q4", 99),
    _pct("320102", "urban_facility_coverage", "2025-Q4", 100),
    # 宿迁 has no 2025 urban figure of its own (nor one rolled up from its districts)
    _pct("3201", "rural_facility_coverage", "2025-Q4", 96), _pct("3205", "rural_facility_coverage", "2025-Q4", 93),
    _pct("3213", "rural_facility_coverage", "2025-Q4", 88), _pct("321302", "rural_facility_coverage", "2025-Q4", 90),
    _pct("3201", "smart_platform_coverage", "2025-Q4", 70), _pct("3205", "smart_platform_coverage", "2025-Q4", 72),
    _pct("3213", "smart_platform_coverage", "2025-Q4", 60),
    {"region_code": "3201", "indicator_id": "service_area_per_100hh", "period": "2025", "value": 33,
     "numerator": 33, "denominator": 100},
    {"region_code": "3213", "indicator_id": "service_area_per_100hh", "period": "2025", "value": 28,
     "numerator": 28, "denominator": 100},
    {"region_code": "3201", "indicator_id": "wait_days", "period": "2025-12", "value": 4.8, "denominator": 10},
    {"region_code": "3201", "indicator_id": "satisfaction", "period": "2025", "value": 90, "denominator": 10},
]
FIRST_QUARTERS = [
    _pct("3213", "urban_facility_coverage", "2026-Q1", 98.5), _pct("3213", "urban_facility_coverage", "2026-Q2", 98.5),
    _pct("3205", "urban_facility_coverage", "2026-Q2", 99.5), _pct("321302", "urban_facility_coverage", "2026-Q2", 98),
    _pct("3213", "rural_facility_coverage", "2026-Q1", 88.5), _pct("3213", "rural_facility_coverage", "2026-Q2", 89),
    _pct("3205", "rural_facility_coverage", "2026-Q2", 93.5), _pct("3201", "rural_facility_coverage", "2026-Q2", 96),
    # two quarters in, 72 -> 80 on a path 72 -> 90 was "progress 371%": now too early to judge
    _pct("3205", "smart_platform_coverage", "2026-Q2", 80), _pct("3213", "smart_platform_coverage", "2026-Q2", 59),
    {"region_code": "3201", "indicator_id": "wait_days", "period": "2026-06", "value": 4.9, "denominator": 10},
]


@pytest.fixture(scope="module")
def js(tmp_path_factory):
    result = load_definitions(FIXTURE)
    assert result.ok, [str(p) for p in result.problems]
    wh = make_warehouse(tmp_path_factory.mktemp("js") / "wh", js_registry())
    add_batch(wh, BASELINE_2025, "2026-02-10")
    add_batch(wh, FIRST_QUARTERS, "2026-07-15")
    return Engine(wh.path, result.definitions)


def _row(frame, region, ind):
    rows = frame.filter((pl.col("region_code") == region) & (pl.col("indicator_id") == ind)).to_dicts()
    assert len(rows) == 1, frame.select("region_code", "indicator_id", "status")
    return rows[0]


def test_new_plan_first_months_no_status_a_leader_must_explain_away(js):
    as_of = utc("2026-07")
    frames = [js.status("32", as_of=as_of, plan_id="jiangsu_2026"),
              js.descendants_status("32", as_of=as_of, plan_id="jiangsu_2026")]
    every = pl.concat(frames)
    assert every.height > 0
    assert not set(every["status"].to_list()) & AMBER_RED, every.filter(pl.col("status").is_in(list(AMBER_RED)))
    alerts = js.alerts("32", as_of=as_of, plan_id="jiangsu_2026")
    assert alerts.filter(pl.col("severity") <= 3).height == 0
    # 宿迁 urban 98.5 has no 2025 value of its own: not measured from the province's baseline, and told why
    suqian = _row(every.unique(["region_code", "indicator_id"]), "3213", "urban_facility_coverage")
    assert (suqian["status"], suqian["reason"], suqian["progress_ratio"]) == ("not_assessable", "no_region_baseline", None)
    assert "宿迁市无 2025 年基期值" in suqian["reason_zh"] and "no 2025 value for 宿迁市" in suqian["reason_en"]
    # 宿迁 rural 88 -> 89 against its own 2025 value (not the province's 92): six months in, too early
    rural = _row(every.unique(["region_code", "indicator_id"]), "3213", "rural_facility_coverage")
    assert (rural["status"], rural["baseline_value"], rural["baseline_source"]) == ("too_early", 88, "region")
    assert rural["progress_ratio"] is None and "观察期" in rural["reason_zh"] and "较上期 +0.5" in rural["reason_zh"]
    # the plan's own wording, the catalogue name secondary
    smart = _row(every.unique(["region_code", "indicator_id"]), "3205", "smart_platform_coverage")
    assert (smart["indicator_zh"], smart["catalogue_zh"]) == ("智慧社区覆盖率", "智慧社区服务管理平台覆盖率")
    assert smart["status"] == "too_early" and smart["baseline_source"] == "region" and smart["baseline_value"] == 72
    # wherever the plan is selected (pickers, definitions, rankings): the plan's wording, the catalogue's second
    assert js.defs.indicator_name("jiangsu_2026", "smart_platform_coverage", "zh", with_catalogue=True) == \
        "智慧社区覆盖率（目录：智慧社区服务管理平台覆盖率）"
    assert js.defs.indicator_name(None, "smart_platform_coverage", "zh") == "智慧社区服务管理平台覆盖率"


def test_rural_indicator_not_due_where_there_are_no_rural_communities(js):
    as_of = utc("2026-07")
    xuanwu = js.status("320102", as_of=as_of, plan_id="jiangsu_2026")
    assert "rural_facility_coverage" not in xuanwu["indicator_id"].to_list()
    assert "urban_facility_coverage" in xuanwu["indicator_id"].to_list()
    late = js.overdue("32", as_of=as_of, plan_id="jiangsu_2026")
    assert late.filter((pl.col("region_code") == "320102") & (pl.col("indicator_id") == "rural_facility_coverage")).height == 0
    # a county with rural communities is still asked: 宿城区 sent Q4 2025 but nothing for 2026
    sucheng = late.filter((pl.col("region_code") == "321302") & (pl.col("indicator_id") == "rural_facility_coverage"))
    # (Q1 due 2026-04-20 and Q2 due 2026-07-20 are both past on 2026-07-31)
    assert sucheng["period_end"].to_list() == [date(2026, 3, 31), date(2026, 6, 30)]


def test_composite_is_bounded(js):
    ranks = js.rank("32", "composite", as_of=utc("2026-07"), plan_id="jiangsu_2026")
    scores = [s for s in ranks["score"].to_list() if s is not None]
    assert all(0.0 <= s <= 1.0 for s in scores)


def test_baselines_command_flags_regions_without_one(js):
    from warehouse.baselines import baseline_table

    table = baseline_table(js, "jiangsu_2026", utc("2026-07"))
    row = table.filter((pl.col("region_code") == "3213") & (pl.col("indicator_id") == "urban_facility_coverage")).row(0, named=True)
    assert row["missing"] and row["baseline_source"] == "none"
    ok = table.filter((pl.col("region_code") == "3205") & (pl.col("indicator_id") == "smart_platform_coverage")).row(0, named=True)
    assert (ok["baseline_value"], ok["baseline_source"], ok["missing"]) == (72, "region", False)


def test_first_full_year_is_judged(js, tmp_path):
    """docs/methodology.md §6 worked example 'a new plan in its first year': 南京 service area 33 (2025) ->
    34 (2026) towards >= 35 by 2030: f = 365/1826, ratio (2 - 1) / (2 f) = 2.5014 -> on schedule, shown as
    "> 200%"; 宿迁 28 -> 28.5: (7 - 6.5) / (7 f) = 0.3573 -> far behind (a real red after a full year)."""
    wh = make_warehouse(tmp_path / "wh", js_registry())
    add_batch(wh, BASELINE_2025, "2026-02-10")
    add_batch(wh, [
        {"region_code": "3201", "indicator_id": "service_area_per_100hh", "period": "2026", "value": 34,
         "numerator": 34, "denominator": 100},
        {"region_code": "3213", "indicator_id": "service_area_per_100hh", "period": "2026", "value": 28.5,
         "numerator": 28.5, "denominator": 100},
    ], "2027-02-10")
    eng = Engine(wh.path, js.defs)
    frame = eng.children_status("32", as_of=utc("2027-02"), plan_id="jiangsu_2026", indicator="service_area_per_100hh")
    f = 365 / 1826
    nj = _row(frame, "3201", "service_area_per_100hh")
    assert nj["progress_ratio"] == pytest.approx(1 / (2 * f), rel=1e-12) and nj["status"] == "on_schedule"
    assert st.format_ratio(nj["progress_ratio"]) == "> 200%"
    sq = _row(frame, "3213", "service_area_per_100hh")
    assert sq["progress_ratio"] == pytest.approx(0.5 / (7 * f), rel=1e-12) and sq["status"] == "far_behind"


# ---------------------------------------------------------------- final evaluation
def _final_defs(**defaults):
    inds = [indicator("svc", zh="服务设施", en="Facilities")]  # annual, due_days 30
    return definitions(inds, [plan("chongqing_2021", "50", [
        target("svc", 100, baseline=50, applies_at=("county",), attribute="binding"),
    ])], **defaults)


@pytest.fixture()
def final_wh(tmp_path):
    wh = make_warehouse(tmp_path / "wh")
    add_batch(wh, [
        {"region_code": "500101", "indicator_id": "svc", "period": "2020", "value": 50},
        {"region_code": "500101", "indicator_id": "svc", "period": "2024", "value": 90},
        {"region_code": "500102", "indicator_id": "svc", "period": "2020", "value": 50},
        {"region_code": "500102", "indicator_id": "svc", "period": "2024", "value": 92},
    ], "2025-02-01")
    # Wanzhou's 2025 figure arrives on 2026-02-20; Fuling never sends one
    add_batch(wh, [{"region_code": "500101", "indicator_id": "svc", "period": "2025", "value": 101}], "2026-02-20")
    return wh


def test_final_evaluation_waits_for_final_data(final_wh):
    """docs/methodology.md §5: deadline = 2025-12-31 + due_days 30 + final_grace_days 30 = 2026-03-01."""
    eng = Engine(final_wh.path, _final_defs())
    # as of 2025-12-31 nothing from 2025 can be in: the 2024 value gives the interim status, awaiting final data
    dec = eng.children_status("50", as_of=utc("2025-12"), indicator="svc")
    fu = _row(dec, "500102", "svc")
    # interim: 2024 value 92 at f = 1461/1826: (50 - 8) / (50 * 1461/1826) = 1.0498 -> on schedule
    assert (fu["final"], fu["awaiting_final"], fu["status"]) == (False, True, "on_schedule")
    assert fu["progress_ratio"] == pytest.approx(42 / (50 * 1461 / 1826), rel=1e-12)
    assert fu["final_deadline"] == date(2026, 3, 1) and "待终期数据" in fu["reason_zh"]
    # as of 2026-02: Wanzhou's 2025 value is in -> final, achieved; Fuling still awaited
    feb = eng.children_status("50", as_of=utc("2026-02"), indicator="svc")
    wz = _row(feb, "500101", "svc")
    assert (wz["final"], wz["awaiting_final"], wz["status"], wz["period"]) == (True, False, "achieved", "2025")
    assert _row(feb, "500102", "svc")["awaiting_final"] is True
    # as of 2026-03 (31 March > 1 March): the deadline has passed, "not reported" is the final word
    mar = eng.children_status("50", as_of=utc("2026-03"), indicator="svc")
    fu = _row(mar, "500102", "svc")
    assert (fu["final"], fu["status"], fu["reason"]) == (True, "not_reported", "final_not_reported")
    # a longer grace keeps it waiting
    eng2 = Engine(final_wh.path, _final_defs(final_grace_days=60))
    assert _row(eng2.children_status("50", as_of=utc("2026-03"), indicator="svc"), "500102", "svc")["awaiting_final"] is True


def test_values_before_the_baseline_year_never_decide(tmp_path):
    """A 2019 value meeting the target on a 2020 -> 2025 path used to count as achieved."""
    wh = make_warehouse(tmp_path / "wh")
    add_batch(wh, [{"region_code": "500101", "indicator_id": "svc", "period": "2019", "value": 120}], "2020-02-01")
    eng = Engine(wh.path, _final_defs())
    row = _row(eng.children_status("50", as_of=utc("2024-06"), indicator="svc"), "500101", "svc")
    assert (row["status"], row["value"], row["gap"]) == ("no_data", None, None)  # gap empty, not 0


def test_cli_defs_baselines(js):
    from typer.testing import CliRunner

    from warehouse.cli import _register, app

    _register()
    out = CliRunner().invoke(app, ["defs", "baselines", "--plan", "jiangsu_2026", "--as-of", "2026-07", "--format", "csv",
                                   "--warehouse", str(js.warehouse.path), "--defs", str(FIXTURE)])
    assert out.exit_code == 0, out.output
    assert "3205,苏州市,smart_platform_coverage,智慧社区覆盖率,2025,72.0,region" in out.output
    assert "宿迁市 3213 · 城市社区综合服务设施覆盖率: 无 2025 年数据 / no 2025 value" in out.output
    bad = CliRunner().invoke(app, ["defs", "baselines", "--plan", "jiangsu_2062", "--warehouse", str(js.warehouse.path),
                                   "--defs", str(FIXTURE)])
    assert bad.exit_code == 2 and "未知规划" in bad.output and "Traceback" not in bad.output
