"""Typed model of indicator_defs.yaml.

The YAML file is the single source of truth for plans, indicators, plan targets,
named region groups and status thresholds. This module only declares the shape;
`warehouse.defs_loader` parses the file keeping file/line/column for every node,
validates it against these models and runs the cross-reference checks.

The schema is documented for analysts in docs/indicator-definitions.md.
"""

from __future__ import annotations

from enum import Enum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    """Base for every node: unknown keys are errors (catches typos such as `traget`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(Strict):
    """A label in Chinese with an optional English translation."""

    zh: str
    en: str | None = None

    def get(self, lang: str) -> str:
        if lang == "en" and self.en:
            return self.en
        return self.zh


class Level(str, Enum):
    """Division levels of the NBS code scheme, plus the whole country."""

    country = "country"  # code "CN"
    province = "province"  # 2 digits
    city = "city"  # 4 digits
    county = "county"  # 6 digits
    township = "township"  # 9 digits
    community = "community"  # 12 digits


LEVEL_ORDER = [lv.value for lv in Level]


class Direction(str, Enum):
    higher = "higher"  # higher is better
    lower = "lower"  # lower is better
    band = "band"  # inside [target_low, target_high] is best


class AggregationRule(str, Enum):
    sum = "sum"  # counts and totals: sum of children
    ratio = "ratio"  # sum(numerator) / sum(denominator) * scale
    per_community = "per_community"  # sum(value) / number of covered communities
    weighted_mean = "weighted_mean"  # sum(value * weight) / sum(weight); weight = denominator column
    max = "max"
    min = "min"
    none = "none"  # not aggregable: only submitted values are shown


class Covers(str, Enum):
    all = "all"
    urban = "urban"  # 城市社区 (居委会)
    rural = "rural"  # 农村社区 (村委会)


class Frequency(str, Enum):
    monthly = "monthly"
    quarterly = "quarterly"
    annual = "annual"


class Method(str, Enum):
    schedule = "schedule"  # 时序进度: linear expected path baseline -> target
    cagr = "cagr"  # Open SDG / Eurostat ratio of observed to required CAGR


class Attribute(str, Enum):
    binding = "binding"  # 约束性
    expected = "expected"  # 预期性


class Comparator(str, Enum):
    ge = ">="
    gt = ">"
    le = "<="
    lt = "<"
    eq = "="


class Bounds(Strict):
    min: float | None = None
    max: float | None = None


class Aggregation(Strict):
    rule: AggregationRule
    # ratio: value = sum(numerator) / sum(denominator) * scale (100 for %, 100 for per 100 households,
    # 10000 for per 10,000 residents).
    scale: float = 1.0
    numerator: Text | None = None  # what the numerator counts, e.g. 设施面积（平方米）
    denominator: Text | None = None  # what the denominator counts, e.g. 居民户数（百户）


class Thresholds(Strict):
    """Progress-ratio thresholds: ratio >= green -> on schedule; >= amber -> behind (amber); else red."""

    green: float = Field(ge=0)
    amber: float = Field(ge=0)


class ThresholdSet(Strict):
    binding: Thresholds = Thresholds(green=1.00, amber=0.80)
    expected: Thresholds = Thresholds(green=0.95, amber=0.60)


class Defaults(Strict):
    thresholds: ThresholdSet = ThresholdSet()
    # Composite score weights by attribute (rankings): weighted mean of progress ratio capped at 1.
    composite_weights: dict[Attribute, float] = {Attribute.binding: 2.0, Attribute.expected: 1.0}
    # Relative tolerance when a region's own submitted value is compared with the roll-up of its children.
    rollup_tolerance: float = 0.02
    # Outlier detection on the data-quality page: |z| of period-to-period change above this is flagged.
    outlier_z: float = 3.0
    # Observation period (观察期): a value less than this many months after the path start gets no progress
    # ratio ("too early to judge"); docs/methodology.md §6.
    observation_months: int = Field(default=12, ge=0)
    # Final evaluation: days after a target year's last reporting deadline (period end + due_days) before a
    # missing target-year value becomes "not reported" for good; docs/methodology.md §5.
    final_grace_days: int = Field(default=30, ge=0)


class RegionGroup(Strict):
    """A named set of regions that is not an NBS division (万盛经开区, 三州地区)."""

    # the id reaches file names (exports, downloads) as `group-<id>`: the same rule as indicator ids
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: Text
    # The division under which the group is shown in the region tree (e.g. "50" for Wansheng).
    parent: str | None = None
    members: list[str]  # NBS codes (any level)


class Indicator(Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: Text
    unit: Text  # e.g. {zh: 平方米, en: m²}; {zh: "%", en: "%"}
    category: Text | None = None  # the plan's 类别 / 维度 where given
    direction: Direction = Direction.higher
    bounds: Bounds = Bounds()
    aggregation: Aggregation
    covers: Covers = Covers.all
    frequency: Frequency = Frequency.annual
    due_days: int = Field(default=30, ge=0)  # days allowed after period end before a report is overdue
    # Lowest level at which regions report this indicator; regions below it are rejected at ingest.
    reported_at: list[Level] = [Level.province, Level.city, Level.county, Level.township]
    # 牵头单位: one label, or a list when the plan names several lead units (Wansheng's 民政局、经信局)
    lead_department: Text | list[Text] | None = None
    responsible_departments: list[Text] = []  # 责任单位
    method: Method = Method.schedule
    description: Text | None = None

    @property
    def lead_departments(self) -> list[Text]:
        """The lead units as a list (one, several or none)."""
        if self.lead_department is None:
            return []
        return list(self.lead_department) if isinstance(self.lead_department, list) else [self.lead_department]

    def lead_text(self, lang: str = "zh") -> str | None:
        """The lead units joined with 、 (None when there is none)."""
        names = [d.get(lang) for d in self.lead_departments]
        return "、".join(names) if names else None


class Baseline(Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    value: float | None = None  # None = unknown ("—" in the plan's table)
    year: int
    as_written: str | None = None  # the cell as printed in the plan, e.g. "—"
    # `from: warehouse`: each region's own value for `year` from the warehouse (plan succession: a 2026-2030
    # plan takes its 2025 baselines from the data of the plan before it); `value` must then be left out
    from_: Literal["warehouse"] | None = Field(default=None, alias="from")


class Target(Strict):
    comparator: Comparator
    value: float
    # for direction band: the upper end; value is the lower end
    value_high: float | None = None
    year: int
    as_written: str | None = None  # the cell as printed, e.g. "≥30", "12%", "100%"
    comparator_inferred: bool = False  # True when the plan printed no comparator (e.g. "12%")


class Source(Strict):
    table: str | None = None  # e.g. 专栏1
    row: int | None = None  # row number in that table (序号 or position)
    quote: str | None = None  # the sentence for text targets


class PlanTarget(Strict):
    indicator: str  # Indicator.id
    kind: Literal["main", "text"] = "main"  # main-indicator table row, or a target stated in the text
    baseline: Baseline | None = None  # None: the plan gives no baseline column
    target: Target | None = None  # None: the plan names the indicator without a number
    attribute: Attribute
    # Levels at which the target applies. "total" = the plan's region as a whole only
    # (e.g. a province-wide headcount); a level name = each region of that level in the plan's region.
    applies_at: list[Literal["total", "province", "city", "county", "township", "community"]] = ["total"]
    exclude: list[str] = []  # NBS codes or "group:<id>" excluded from this target (除三州地区)
    thresholds: Thresholds | None = None  # override for this target
    method: Method | None = None  # override of the indicator's method
    source: Source
    note: str | None = None
    # the plan's own wording of a shared indicator (e.g. 智慧社区覆盖率); shown wherever this plan is selected,
    # with the catalogue name as a secondary label
    name_in_plan: Text | None = None
    # opt-in: a region below the plan's region without a baseline-year value of its own is measured from the
    # plan's (plan-wide) baseline; every reason sentence then says whose baseline it is. Default: not assessed
    # from another region's baseline (docs/methodology.md §4)
    baseline_fallback: Literal["plan"] | None = None
    # the plan's own owners for this target where its task table names them (override the indicator's);
    # Wansheng's 附件 重点任务分工表 names 各镇街 as lead for facility coverage
    lead_department: Text | list[Text] | None = None
    responsible_departments: list[Text] | None = None
    # 年度目标: the value the plan sets for the end of each year (year -> value); the expected path runs through
    # them instead of the straight line. `annual`: the plan's own region (plan-wide); `annual_by_region`: region
    # code -> {year: value}. Rules and checks: warehouse/annual_path.py, warehouse/annual_checks.py, methodology §6a
    annual: dict[int, float] = {}
    annual_by_region: dict[str, dict[int, float]] = {}


class Period(Strict):
    start: int
    baseline: int
    target: int


class Plan(Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: Text
    issuer: Text
    doc_number: str | None = None
    period: Period
    region: str  # NBS code, "CN" for the whole country, or "group:<id>"
    parent: str | None = None  # parent Plan.id
    thresholds: ThresholdSet | None = None  # override of the defaults for this plan
    targets: list[PlanTarget]
    # Key tasks (重点任务) and the task tables they come from: warehouse/tasks_defs.py, docs/tasks.md
    task_tables: list[TaskTable] = []
    tasks: list[Task] = []


class Definitions(Strict):
    version: int = 1
    defaults: Defaults = Defaults()
    region_groups: list[RegionGroup] = []
    indicators: list[Indicator]
    plans: list[Plan]

    # ---- lookups (the registry: identifiers used in SQL come only from here) ----
    def indicator(self, indicator_id: str) -> Indicator:
        for ind in self.indicators:
            if ind.id == indicator_id:
                return ind
        raise KeyError(indicator_id)

    def plan(self, plan_id: str) -> Plan:
        for plan in self.plans:
            if plan.id == plan_id:
                return plan
        raise KeyError(plan_id)

    def group(self, group_id: str) -> RegionGroup:
        for group in self.region_groups:
            if group.id == group_id:
                return group
        raise KeyError(group_id)

    def indicator_name(self, plan: Plan | str | None, indicator_id: str, lang: str = "zh",
                       with_catalogue: bool = False) -> str:
        """The plan's own wording of the indicator (`name_in_plan`) when it has one, else the catalogue name.
        with_catalogue: "智慧社区覆盖率（目录：智慧社区服务管理平台覆盖率）" when the two differ."""
        catalogue = self.indicator(indicator_id).name.get(lang)
        if isinstance(plan, str):
            plan = next((p for p in self.plans if p.id == plan), None)
        wording = next((t.name_in_plan for t in (plan.targets if plan else [])
                        if t.indicator == indicator_id and t.name_in_plan is not None), None)
        if wording is None or wording.get(lang) == catalogue:
            return catalogue
        own = wording.get(lang)
        if not with_catalogue:
            return own
        return f"{own}（目录：{catalogue}）" if lang == "zh" else f"{own} (catalogue: {catalogue})"

    def thresholds_for(self, plan: Plan, target: PlanTarget) -> Thresholds:
        """Most specific wins: target override, then plan override, then defaults; by attribute."""
        if target.thresholds is not None:
            return target.thresholds
        tset = plan.thresholds or self.defaults.thresholds
        return getattr(tset, target.attribute.value)


# Task and TaskTable (annotations of Plan) are defined in warehouse/tasks_defs.py on top of Strict and Text; that
# module completes Plan and Definitions when it is imported, whichever of the two modules is imported first.
import warehouse.tasks_defs  # noqa: E402,F401
