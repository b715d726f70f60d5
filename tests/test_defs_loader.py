"""Tests for warehouse.defs_loader: parsing with positions, validation messages, cross-checks, golden set."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from warehouse.definitions import Comparator
from warehouse.defs_loader import (
    DefinitionsError,
    Problem,
    load_definitions,
    load_definitions_text,
    require_definitions,
)

GOLDEN = Path(__file__).parent / "defs_golden"
VALID = GOLDEN / "valid.yaml"
GOLDEN_CASES = sorted(p.name for p in GOLDEN.glob("*.yaml") if p.name != "valid.yaml")

HEAD = """\
indicators:
  - id: coverage
    name: {zh: 覆盖率}
    unit: {zh: "%"}
    bounds: {min: 0, max: 100}
    aggregation: {rule: ratio, scale: 100}
plans:
  - id: cq
    name: {zh: 重庆规划}
    issuer: {zh: 重庆市民政局}
    period: {start: 2021, baseline: 2020, target: 2025}
    region: "50"
    targets:
"""


def target(comparator: str = '">="', value: str = "90", baseline: str = "80", extra: str = "") -> str:
    return (
        "      - indicator: coverage\n"
        f"        baseline: {{value: {baseline}, year: 2020}}\n"
        f"        target: {{comparator: {comparator}, value: {value}, year: 2025}}\n"
        "        attribute: binding\n"
        "        source: {table: 专栏1, row: 1}\n" + extra
    )


def messages(result) -> list[str]:
    return [str(p) for p in result.problems]


# ---- golden set ---------------------------------------------------------------------------------


def test_golden_set_is_large_enough():
    assert len(GOLDEN_CASES) >= 15
    for name in GOLDEN_CASES:
        assert (GOLDEN / name).with_suffix(".expected").exists(), f"{name} has no .expected file"


@pytest.mark.parametrize("name", GOLDEN_CASES)
def test_golden(name, monkeypatch):
    monkeypatch.chdir(GOLDEN)  # so messages name the file as the analyst typed it
    expected = (GOLDEN / name).with_suffix(".expected").read_text(encoding="utf-8").splitlines()
    result = load_definitions(name)
    assert messages(result) == expected
    assert result.ok == (not any(": error: " in line for line in expected))
    assert (result.definitions is None) == (not result.ok)


def test_multiple_independent_errors_are_all_reported(monkeypatch):
    monkeypatch.chdir(GOLDEN)
    result = load_definitions("28_multiple_errors.yaml")
    paths = {p.path for p in result.errors}
    assert paths == {
        "defaults.thresholds.expected.amber",
        "region_groups.sanzhou.members[1]",
        "indicators.service_area_per_100_households.direction",
        "plans.sichuan_2021.targets[0].traget",
        "plans.sichuan_2021.targets[1].target.value",
    }


# ---- valid input ----------------------------------------------------------------------------------


def test_valid_file_builds_definitions_and_hash():
    result = load_definitions(VALID)
    assert result.ok and result.problems == []
    assert result.defs_hash == hashlib.sha256(VALID.read_bytes()).hexdigest()
    defs = result.definitions
    assert [p.id for p in defs.plans] == ["sichuan_2021"]
    first = defs.plans[0].targets[0]
    assert first.target.comparator is Comparator.ge  # "≥" normalised
    assert first.target.value == 35 and first.baseline.value == 28
    assert first.exclude == ["group:sanzhou"]
    assert defs.group("sanzhou").members == ["5132", "5133", "5134"]
    assert defs.indicator("urban_facility_coverage").bounds.max == 100


@pytest.mark.parametrize(
    "written, normal",
    [('"≥"', ">="), ('"≤"', "<="), ('"＞"', ">"), ('"＜"', "<"), ('"＝"', "="), ('">="', ">="),
     ("<=", "<="), ('">"', ">"), ("<", "<"), ("=", "="), ('" ≥ "', ">=")],
)
def test_comparator_spellings(written, normal):
    # baseline below the target for every comparator except the "lower" ones where it must be above
    baseline = "95" if normal in ("<=", "<") else "80"
    # a lower-is-better comparator needs a lower-is-better indicator (issue 12: the reverse is an error)
    head = HEAD.replace("    bounds:", "    direction: lower\n    bounds:") if normal in ("<=", "<") else HEAD
    result = load_definitions_text(head + target(comparator=written, baseline=baseline), "c.yaml")
    assert result.errors == []
    assert result.definitions.plans[0].targets[0].target.comparator.value == normal


def test_unparseable_comparator_reported_once():
    result = load_definitions_text(HEAD + target(comparator='"至少"'), "c.yaml")
    assert messages(result) == [
        "c.yaml:16:30: error: plans.cq.targets[0].target.comparator: unparseable comparator "
        '(expected one of ≥ ≤ ＞ ＜ ＝ >= <= > < =, found "至少" (text))'
    ]


def test_text_hash_is_of_utf8_bytes():
    text = HEAD + target()
    assert load_definitions_text(text).defs_hash == hashlib.sha256(text.encode()).hexdigest()


# ---- problems ----------------------------------------------------------------------------------


def test_problem_rendering_and_dict():
    p = Problem("error", "f.yaml", 3, 7, "plans.a.targets[0].traget", "unknown field `traget`",
                expected="one of `target`", found=None, suggestion="target")
    assert str(p) == ("f.yaml:3:7: error: plans.a.targets[0].traget: unknown field `traget` "
                      "(expected one of `target`; did you mean `target`?)")
    assert Problem("warning", "f.yaml", 1, 1, "", "hello").__str__() == "f.yaml:1:1: warning: hello"
    assert p.to_dict()["suggestion"] == "target" and p.to_dict()["line"] == 3


def test_baseline_value_outside_bounds_and_band_rules():
    result = load_definitions_text(HEAD + target(baseline="-5"), "b.yaml")
    assert messages(result) == [
        "b.yaml:15:27: error: plans.cq.targets[0].baseline.value: baseline value is outside the bounds of "
        "indicator `coverage` (expected a value in [0, 100], found -5)"
    ]
    high = HEAD + target().replace("year: 2025}", "year: 2025, value_high: 95}")
    result = load_definitions_text(high, "b.yaml")
    assert [p.path for p in result.errors] == ["plans.cq.targets[0].target.value_high"]
    assert "only for band indicators" in result.errors[0].message


def test_missing_field_points_at_parent_mapping():
    text = HEAD + target().replace("        attribute: binding\n", "")
    result = load_definitions_text(text, "m.yaml")
    assert messages(result) == [
        "m.yaml:14:9: error: plans.cq.targets[0].attribute: missing required field `attribute`"
    ]


def test_target_threshold_override_checked_and_plan_period_order():
    extra = "        thresholds: {green: 0.5, amber: 0.7}\n"
    text = HEAD.replace("start: 2021, baseline: 2020", "start: 2019, baseline: 2020") + target(extra=extra)
    result = load_definitions_text(text, "t.yaml")
    assert [(p.line, p.path) for p in result.errors] == [
        (11, "plans.cq.period"),
        (19, "plans.cq.targets[0].thresholds.amber"),
    ]


def test_errors_in_two_plans_are_both_reported():
    second = HEAD.split("plans:\n")[1].replace("id: cq", "id: cq2")
    text = HEAD + target(value="120") + second + target(comparator='"~"')
    result = load_definitions_text(text, "two.yaml")
    assert [p.path for p in result.errors] == [
        "plans.cq.targets[0].target.value",
        "plans.cq2.targets[0].target.comparator",
    ]


def test_not_utf8_and_missing_file_and_empty():
    bad = GOLDEN.parent / "defs_golden" / "valid.yaml"
    data = bad.read_bytes().replace("三州地区".encode(), "三州地区".encode("gb18030"))
    from warehouse.defs_loader import _load_bytes  # the shared path behind both public entry points

    result = _load_bytes(data, "gbk.yaml")
    assert len(result.problems) == 1 and result.problems[0].line == 9
    assert "not UTF-8" in result.problems[0].message
    missing = load_definitions(GOLDEN / "no_such.yaml")
    assert not missing.ok and missing.defs_hash == ""
    assert str(missing.problems[0]).endswith("no_such.yaml: error: file not found")
    empty = load_definitions_text("", "e.yaml")
    assert [str(p) for p in empty.problems] == [
        "e.yaml:1:1: error: the file is empty (expected a mapping with `indicators` and `plans`)"
    ]
    assert load_definitions_text("- a\n- b\n", "l.yaml").problems[0].message == "the file must be a mapping of sections"


def test_require_definitions(tmp_path):
    assert require_definitions(VALID).plans[0].id == "sichuan_2021"
    broken = tmp_path / "x.yaml"
    broken.write_text(HEAD + target(value="120"), encoding="utf-8")
    with pytest.raises(DefinitionsError) as info:
        require_definitions(broken)
    assert "target value is outside the bounds" in str(info.value)
    assert len(info.value.problems) == 1


@pytest.mark.parametrize(
    "text",
    [
        "plans: 5\nindicators: 3\n",
        "plans: [5]\nindicators: [x]\n",
        "plans:\n - targets:\n   - target: 5\n     indicator: [1]\n",
        "? [a]\n: b\n",
        "defaults: 5\nindicators: []\nplans: []\n",
        "version: abc\nindicators: []\nplans: []\n",
        "!!python/object:os.system x\n",
        "- - -\n",
        "a: \x07\n",
        "indicators:\n- id: 5\nplans:\n- id: [1]\n  parent: 5\n",
        "region_groups: [{id: g, name: {zh: x}, members: [5]}]\nindicators: []\nplans: []\n",
    ],
)
def test_odd_structures_give_errors_not_exceptions(text):
    result = load_definitions_text(text, "odd.yaml")
    assert result.errors and result.definitions is None
    assert all(p.line >= 1 and p.column >= 1 for p in result.problems)
    assert not any("internal error" in p.message for p in result.problems)


def test_documented_example_is_valid():
    doc = (Path(__file__).parent.parent / "docs" / "indicator-definitions.md").read_text(encoding="utf-8")
    example = doc.split("## Annotated example", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    result = load_definitions_text(example, "example.yaml")
    assert result.problems == []
    plan = result.definitions.plan("sichuan_2021")
    assert [t.kind for t in plan.targets] == ["main", "text"]


def test_band_indicator_rules():
    band = HEAD.replace("    bounds:", "    direction: band\n    bounds:")
    inside = band + target().replace("year: 2025}", "year: 2025, value_high: 95}").replace("value: 80,", "value: 92,")
    result = load_definitions_text(inside, "band.yaml")
    assert result.errors == []
    assert [p.message for p in result.warnings] == [
        "baseline 92 already meets the target >= 90 (a maintain-type target)"
    ]
    no_high = load_definitions_text(band + target(), "band.yaml")
    assert [(p.path, p.message) for p in no_high.errors] == [
        ("plans.cq.targets[0].target", "a band indicator's target needs `value_high`")
    ]
    reversed_ = band + target().replace("year: 2025}", "year: 2025, value_high: 85}")
    assert [p.message for p in load_definitions_text(reversed_, "band.yaml").errors] == [
        "band upper end is below its lower end"
    ]
