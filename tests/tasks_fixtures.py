"""Small real warehouses and definitions with tasks, for the task ledger and 督办 tests."""

from __future__ import annotations

from pathlib import Path

from engine_fixtures import add_batch, definitions, indicator, make_warehouse, plan, target, utc  # noqa: F401

ANNUAL = {
    "id": "t_volunteers", "title": {"zh": "志愿者制度"}, "quote": "力争到2025年，注册志愿者比例达到15%。",
    "source": {"table": "附件", "row": 1}, "lead_units": [{"zh": "文明办"}],
    "responsible_units": [{"zh": "各镇街"}, {"zh": "民政局"}], "indicators": ["coverage"],
    "milestones": {2025: "注册志愿者比例达到15%"},
}
QUARTERLY = {
    "id": "t_platform", "title": {"zh": "信息平台"}, "quote": "建设信息平台。", "source": {"section": "三、（一）"},
    "lead_units": [{"zh": "民政局"}, {"zh": "经信局"}], "frequency": "quarterly", "due_days": 15,
}


def task_definitions(value_target: float = 100, baseline: float = 50):
    """Indicator `coverage` with a 2025 target for Chongqing (50) and two tasks (annual, quarterly)."""
    # districts report no 2020 value: they are measured from the plan-wide baseline by opt-in (issue 12:
    # never silently; without `baseline_fallback` they would be not assessable)
    cq = plan("cq", "50", [target("coverage", value_target, baseline=baseline, attribute="binding",
                                  applies_at=("total", "county"), baseline_fallback="plan")])
    cq["tasks"] = [ANNUAL, QUARTERLY]
    return definitions([indicator("coverage", bounds={"min": 0, "max": 100})], [cq])


def task_warehouse(path: Path) -> Path:
    make_warehouse(path)
    return path
