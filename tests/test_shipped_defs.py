"""The shipped indicator_defs.yaml: it loads cleanly and carries every seed plan's table faithfully."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from warehouse.defs_loader import load_definitions
from warehouse.definitions import AggregationRule, Attribute, Covers, Definitions, Plan

ROOT = Path(__file__).resolve().parents[1]
DEFS = ROOT / "indicator_defs.yaml"
REGIONS = ROOT.parent / "shared" / "data" / "regions"

MAIN_ROWS = {
    "chongqing_2021": 14,
    "yuxi_2021": 7,
    "sichuan_2021": 41,
    "wansheng_2016": 9,
    "national_2021": 7,
}


@pytest.fixture(scope="module")
def defs() -> Definitions:
    result = load_definitions(DEFS)
    assert result.errors == [], "\n".join(str(p) for p in result.errors)
    assert result.definitions is not None
    return result.definitions


def _main(plan: Plan):
    return [t for t in plan.targets if t.kind == "main"]


def _target(defs: Definitions, plan_id: str, indicator: str, kind: str = "main"):
    found = [t for t in defs.plan(plan_id).targets if t.indicator == indicator and t.kind == kind]
    assert len(found) == 1, (plan_id, indicator, kind, len(found))
    return found[0]


def test_loads_without_errors_and_only_expected_warnings():
    result = load_definitions(DEFS)
    assert result.ok
    # The only warning: the national urban facility coverage is 100% -> 100% (a maintain-type target).
    assert {p.path for p in result.warnings} <= {"plans.national_2021.targets[0].baseline.value"}


def test_plans_exist_with_regions_and_parents(defs):
    assert {p.id for p in defs.plans} == set(MAIN_ROWS)
    regions = {p.id: p.region for p in defs.plans}
    assert regions == {
        "national_2021": "CN",
        "chongqing_2021": "50",
        "sichuan_2021": "51",
        "yuxi_2021": "5304",
        "wansheng_2016": "group:wansheng",
    }
    parents = {p.id: p.parent for p in defs.plans}
    assert parents["chongqing_2021"] == parents["sichuan_2021"] == parents["yuxi_2021"] == "national_2021"
    assert parents["national_2021"] is None and parents["wansheng_2016"] is None
    assert defs.plan("national_2021").doc_number == "国办发〔2021〕56号"
    assert defs.plan("wansheng_2016").period.target == 2020


@pytest.mark.parametrize("plan_id,count", sorted(MAIN_ROWS.items()))
def test_every_main_table_row_in_table_order(defs, plan_id, count):
    main = _main(defs.plan(plan_id))
    assert len(main) == count
    assert [t.source.row for t in main] == list(range(1, count + 1))
    assert len({t.source.table for t in main}) == 1


def test_at_least_15_text_targets_with_quotes(defs):
    text = [t for p in defs.plans for t in p.targets if t.kind == "text"]
    assert len(text) >= 15
    for t in text:
        assert t.source.table and t.source.quote and t.target is not None, t.indicator


def test_references_ids_bounds_and_binding_targets(defs):
    ids = [i.id for i in defs.indicators]
    assert len(ids) == len(set(ids))
    for plan in defs.plans:
        pairs = [(t.indicator, t.kind) for t in plan.targets]
        assert len(pairs) == len(set(pairs)), plan.id
        for t in plan.targets:
            ind = defs.indicator(t.indicator)  # KeyError if missing
            if t.attribute == Attribute.binding:
                assert t.target is not None, (plan.id, t.indicator)
            if t.target is not None:
                lo, hi = ind.bounds.min, ind.bounds.max
                assert lo is None or t.target.value >= lo, (plan.id, t.indicator)
                assert hi is None or t.target.value <= hi, (plan.id, t.indicator)
                assert plan.period.start <= t.target.year <= plan.period.target


def test_per_100_household_area_is_one_shared_indicator(defs):
    ind = defs.indicator("service_area_per_100_households")
    assert ind.aggregation.rule == AggregationRule.ratio and ind.aggregation.scale == 100
    got = {
        plan: (_target(defs, plan, ind.id).target.comparator.value, _target(defs, plan, ind.id).target.value)
        for plan in ("national_2021", "chongqing_2021", "sichuan_2021")
    }
    assert got == {"national_2021": (">=", 30), "chongqing_2021": (">=", 30), "sichuan_2021": (">=", 35)}
    assert _target(defs, "chongqing_2021", ind.id).baseline.value == 24


def test_sichuan_exclusions_reference_sanzhou(defs):
    excluded = [t for t in defs.plan("sichuan_2021").targets if t.exclude]
    rows = sorted(t.source.row for t in excluded if t.kind == "main")
    assert rows == [28, 29, 30]  # the three "除三州地区" rows
    assert all(t.exclude == ["group:sanzhou"] for t in excluded)
    cities = {row["code"]: row["name"] for row in csv.DictReader(open(REGIONS / "cities.csv", encoding="utf-8"))}
    members = defs.group("sanzhou").members
    assert sorted(members) == ["5132", "5133", "5134"]
    assert [cities[c][:2] for c in members] == ["阿坝", "甘孜", "凉山"]


def test_wansheng_group_members_are_its_streets_and_towns(defs):
    streets = {
        row["code"]: row["name"]
        for row in csv.DictReader(open(REGIONS / "streets.csv", encoding="utf-8"))
        if row["areaCode"] == "500110"
    }
    group = defs.group("wansheng")
    assert group.parent == "50"
    names = {streets[c] for c in group.members}  # KeyError if a code is not under 綦江区
    assert names == {"万盛街道", "东林街道", "万东镇", "南桐镇", "青年镇", "关坝镇", "丛林镇", "石林镇", "金桥镇", "黑山镇"}


def test_quirks_kept_faithfully(defs):
    # Sichuan's "≥100" satisfaction stays inside the 0-100 bounds.
    sat = _target(defs, "sichuan_2021", "community_development_satisfaction")
    assert (sat.target.comparator.value, sat.target.value, sat.target.as_written) == (">=", 100, "≥100")
    assert defs.indicator("community_development_satisfaction").bounds.max == 100
    # "12%" printed without a comparator.
    share = _target(defs, "sichuan_2021", "commercial_service_floor_share")
    assert share.target.as_written == "12%" and share.target.comparator_inferred and share.attribute == Attribute.binding
    # Wansheng's per-community social workers cover urban communities.
    ind = defs.indicator("social_workers_per_urban_community")
    assert ind.aggregation.rule == AggregationRule.per_community and ind.covers == Covers.urban
    assert _target(defs, "wansheng_2016", ind.id).target.value == 2
    # Municipal and province-wide totals apply to the whole region only.
    assert _target(defs, "chongqing_2021", "county_health_subcenters").applies_at == ["total"]
    assert _target(defs, "sichuan_2021", "social_work_professionals").applies_at == ["total"]
    # "—" baselines are explicit unknowns; tables without a baseline column have no baseline object.
    dash = _target(defs, "chongqing_2021", "commercial_service_floor_share").baseline
    assert dash.value is None and dash.as_written == "—" and dash.year == 2020
    assert all(t.baseline is None for t in _main(defs.plan("yuxi_2021")) + _main(defs.plan("sichuan_2021")))
    # The national self-service row has no number: no target, and the note says why.
    row6 = _target(defs, "national_2021", "gov_self_service_coverage")
    assert row6.target is None and "unknown" in row6.note


def test_attributes_follow_the_tables(defs):
    binding = {
        p.id: sorted(t.source.row for t in _main(p) if t.attribute == Attribute.binding) for p in defs.plans
    }
    assert binding == {
        "national_2021": [],
        "chongqing_2021": [3, 4, 13],
        "sichuan_2021": [3, 4, 9, 11, 22, 23],
        "yuxi_2021": [],
        "wansheng_2016": [],
    }
