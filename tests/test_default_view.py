"""Which plan a page opens on when the link names none (warehouse/default_view.py, docs/dashboard.md)."""

from __future__ import annotations

from datetime import datetime, timezone

import polars as pl

from sample_settings import small_definitions_model
from warehouse import default_view as dv


def at(year: int) -> datetime:
    return datetime(year, 6, 1, tzinfo=timezone.utc)


def test_running_plans_first_then_latest_data_then_file_order():
    defs = small_definitions_model()  # national_2021, chongqing_2021, wansheng_2016, sichuan_2021 (in this order)
    # 2025: the three 2021-2025 plans run; same latest year -> file order
    assert dv.default_plan(defs, {"national_2021": 2025, "chongqing_2021": 2025, "sichuan_2021": 2025}, at(2025)) == "national_2021"
    # a running plan with later data beats the first one
    assert dv.default_plan(defs, {"national_2021": 2023, "chongqing_2021": 2025}, at(2025)) == "chongqing_2021"
    # a running plan without data still comes before an ended plan with data
    assert dv.default_plan(defs, {"wansheng_2016": 2025}, at(2024)) == "national_2021"
    # 2018: only Wansheng's plan runs
    assert dv.default_plan(defs, {"national_2021": 2025}, at(2018)) == "wansheng_2016"
    # 2030: nothing runs; latest data wins, plans without data last
    assert dv.default_plan(defs, {"national_2021": None, "sichuan_2021": 2029, "wansheng_2016": 2020}, at(2030)) == "sichuan_2021"
    # no data readable at all: first running plan, else the first plan in the file
    assert dv.default_plan(defs, None, at(2018)) == "wansheng_2016"
    assert dv.default_plan(defs, None, at(2030)) == "national_2021"


def test_plan_activity_counts_only_the_plans_indicators_inside_its_region():
    defs = small_definitions_model()
    latest = pl.DataFrame({
        "region_code": ["500101", "5101", "500110004", "11"],
        "indicator_id": ["facility_area_per_100hh", "satisfaction", "facility_area_per_100hh", "social_workers"],
        "year": [2024, 2025, 2019, 2026],
    })
    activity = dv.plan_activity(defs, latest)
    assert activity["national_2021"] == 2026  # CN covers Beijing; social_workers is a national target
    assert activity["chongqing_2021"] == 2024  # 5101 (Sichuan) is outside Chongqing
    assert activity["sichuan_2021"] == 2025
    assert activity["wansheng_2016"] == 2019  # only the zone's townships count


def test_latest_years_reads_the_sample(sample_warehouse):
    latest = dv.latest_years(sample_warehouse)
    assert latest.height > 1000
    activity = dv.plan_activity(__import__("warehouse.defs_loader", fromlist=["x"]).require_definitions(), latest)
    assert activity["national_2021"] == 2025  # SAMPLE_TODAY 2025-11-20: quarterly data up to 2025-Q3


def test_plans_covering_a_region_most_local_first():
    defs = small_definitions_model()  # national_2021, chongqing_2021, wansheng_2016, sichuan_2021
    assert [p.id for p in dv.plans_covering(defs, "50")] == ["chongqing_2021", "national_2021"]
    assert [p.id for p in dv.plans_covering(defs, "5101")] == ["sichuan_2021", "national_2021"]
    assert [p.id for p in dv.plans_covering(defs, "11")] == ["national_2021"]
    assert [p.id for p in dv.plans_covering(defs, "group:wansheng")] == ["wansheng_2016", "national_2021"]
    # among ended plans with data of the same year the most local one wins (the list's order breaks the tie)
    plans = dv.plans_covering(defs, "50")
    assert dv.default_plan(defs, {"national_2021": 2025, "chongqing_2021": 2025}, at(2027), plans) == "chongqing_2021"
    assert dv.default_plan(defs, {"national_2021": 2026, "chongqing_2021": 2025}, at(2027), plans) == "national_2021"


def test_cli_rank_composite_without_plan_names_the_plan_it_used(sample_warehouse, capsys, monkeypatch):
    """A composite averages one plan's indicators: `rank` without --plan must not mix plans, and must say which."""
    import sys

    from warehouse import cli

    monkeypatch.setenv("COLUMNS", "300")

    def run(*argv: str) -> str:
        monkeypatch.setattr(sys, "argv", ["planwatch", "rank", "--warehouse", str(sample_warehouse), *argv])
        try:
            cli.main()
        except SystemExit as exc:
            assert not exc.code
        return capsys.readouterr().out

    default = run("--parent", "50", "--as-of", "2025-06")
    explicit = run("--parent", "50", "--as-of", "2025-06", "--plan", "chongqing_2021")
    assert default == explicit and default.count("\n") > 30
    assert "composite, plan chongqing_2021" in default.splitlines()[0]
