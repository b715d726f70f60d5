"""User-interface strings: Chinese (default) and English.

Usage:
    t("overview.title", lang)                    -> "领导驾驶舱" / "Leaders' overview"
    t("empty.no_data_last", lang, last="2025-06") -> formatted with str.format

Pages that are not owned by the shell keep their strings in their own module and register them once:

    from warehouse import i18n
    i18n.register({"rankings.title": {"zh": "排名", "en": "Rankings"}})

A key registered twice with different texts raises ValueError (two pages must not silently fight over a key);
prefix keys with the page name to avoid that. A missing key raises KeyError so a typo is found by the tests,
not shown to a leader.
"""

from __future__ import annotations

from collections.abc import Mapping

from warehouse.definitions import Text

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"
LANG_NAMES = {"zh": "中文", "en": "English"}

_STRINGS: dict[str, dict[str, str]] = {
    # shell and sidebar
    "app.title": {"zh": "城乡社区服务体系建设规划监测", "en": "Community service plan monitor"},
    "nav.overview": {"zh": "总览", "en": "Overview"},
    "nav.indicator": {"zh": "指标", "en": "Indicator"},
    "nav.region": {"zh": "地区", "en": "Region"},
    "nav.rankings": {"zh": "排名", "en": "Rankings"},
    "nav.data_quality": {"zh": "数据质量", "en": "Data quality"},
    "nav.definitions": {"zh": "指标定义", "en": "Definitions"},
    "sidebar.plan": {"zh": "规划", "en": "Plan"},
    "sidebar.region": {"zh": "地区（可输入搜索）", "en": "Region (type to search)"},
    "sidebar.month": {"zh": "截至月份", "en": "As of month"},
    "sidebar.latest": {"zh": "最新（全部已报送数据）", "en": "Latest (everything known now)"},
    "sidebar.lang": {"zh": "语言 / Language", "en": "Language / 语言"},
    "sidebar.indicator": {"zh": "指标", "en": "Indicator"},
    "sidebar.data_version": {"zh": "数据版本：{version}", "en": "Data version: {version}"},
    "sidebar.as_of_caption": {"zh": "数据截至 {when}", "en": "Data as of {when}"},
    "sidebar.as_of_latest": {"zh": "数据：全部已报送（{when}）", "en": "Data: everything known ({when})"},
    # problems with the set-up
    "defs.banner": {
        "zh": "指标定义文件 {path} 有 {n} 个错误，页面继续使用上一次有效的定义（版本 {hash}）：",
        "en": "The definitions file {path} has {n} error(s); the pages keep using the last valid definitions "
        "(version {hash}):",
    },
    "defs.missing": {
        "zh": "找不到指标定义文件 {path}（可用环境变量 PLANWATCH_DEFS 指定）。",
        "en": "Definitions file {path} not found (set PLANWATCH_DEFS).",
    },
    "defs.invalid_no_fallback": {
        "zh": "指标定义文件 {path} 有错误，且本次会话没有可用的有效定义：",
        "en": "The definitions file {path} has errors and there is no earlier valid version in this session:",
    },
    "wh.missing": {
        "zh": "找不到数据仓库 {path}。请先运行 `planwatch sample` 生成示例数据，或用环境变量 PLANWATCH_WAREHOUSE 指定。",
        "en": "Warehouse {path} not found. Run `planwatch sample` first, or set PLANWATCH_WAREHOUSE.",
    },
    "wh.error": {"zh": "读取数据仓库失败：{error}", "en": "Could not read the warehouse: {error}"},
    "url.bad_param": {
        "zh": "链接参数 {param}={value!r} 无效（{reason}），已改用 {fallback}。",
        "en": "Link parameter {param}={value!r} is not valid ({reason}); using {fallback} instead.",
    },
    "url.reason.unknown_plan": {"zh": "没有这个规划", "en": "no such plan"},
    "url.reason.unknown_region": {"zh": "不在该规划的地区范围内", "en": "not within the plan's regions"},
    "url.reason.unknown_indicator": {"zh": "该规划没有这个指标", "en": "the plan has no such indicator"},
    "url.reason.bad_month": {"zh": "应为 2025-12 这样的月份", "en": "expected a month such as 2025-12"},
    "url.reason.bad_lang": {"zh": "应为 zh 或 en", "en": "expected zh or en"},
    # status
    "status.achieved": {"zh": "已完成", "en": "Achieved"},
    "status.on_schedule": {"zh": "符合进度", "en": "On schedule"},
    "status.behind": {"zh": "滞后", "en": "Behind"},
    "status.far_behind": {"zh": "严重滞后", "en": "Far behind"},
    "status.not_achieved": {"zh": "未完成", "en": "Not achieved"},
    "status.no_data": {"zh": "无数据", "en": "No data"},
    "status.not_assessable": {"zh": "无法评估", "en": "Not assessable"},
    "status.overdue": {"zh": "逾期未报", "en": "Overdue"},
    "bucket.achieved": {"zh": "已完成", "en": "Achieved"},
    "bucket.green": {"zh": "符合进度", "en": "On schedule"},
    "bucket.amber": {"zh": "滞后（黄）", "en": "Behind (amber)"},
    "bucket.red": {"zh": "严重滞后/未完成（红）", "en": "Far behind / not achieved (red)"},
    "bucket.grey": {"zh": "未评估（无数据/观察期/未报送）", "en": "Not assessed (no data / too early / not reported)"},
    "attribute.binding": {"zh": "约束性", "en": "Binding"},
    "attribute.expected": {"zh": "预期性", "en": "Expected"},
    "trend.improving": {"zh": "改善", "en": "improving"},
    "trend.worsening": {"zh": "恶化", "en": "worsening"},
    "trend.flat": {"zh": "持平", "en": "flat"},
    # common column headers
    "col.region": {"zh": "地区", "en": "Region"},
    "col.code": {"zh": "代码", "en": "Code"},
    "col.indicator": {"zh": "指标", "en": "Indicator"},
    "col.attribute": {"zh": "属性", "en": "Attribute"},
    "col.status": {"zh": "状态", "en": "Status"},
    "col.value": {"zh": "当前值", "en": "Value"},
    "col.period": {"zh": "期别", "en": "Period"},
    "col.baseline": {"zh": "基期值", "en": "Baseline"},
    "col.target": {"zh": "目标值", "en": "Target"},
    "col.expected_now": {"zh": "当前应达", "en": "Expected now"},
    "col.progress": {"zh": "进度", "en": "Progress"},
    "col.gap": {"zh": "差距", "en": "Gap"},
    "col.reason": {"zh": "原因", "en": "Reason"},
    "col.department": {"zh": "牵头单位", "en": "Lead department"},
    "col.responsible": {"zh": "责任单位", "en": "Responsible departments"},
    "col.trend": {"zh": "趋势", "en": "Trend"},
    "col.rank": {"zh": "排名", "en": "Rank"},
    "col.score": {"zh": "综合得分", "en": "Composite score"},
    "col.sparkline": {"zh": "走势", "en": "Trend line"},
    "col.submitted_at": {"zh": "报送时间（北京时间）", "en": "Submitted (CST)"},
    "col.ingested_at": {"zh": "入库时间（北京时间）", "en": "Ingested (CST)"},
    "col.source_file": {"zh": "来源文件", "en": "Source file"},
    "col.source_row": {"zh": "行号", "en": "Row"},
    "col.submitted_by": {"zh": "报送人", "en": "Submitted by"},
    "col.note": {"zh": "备注", "en": "Note"},
    "col.superseded": {"zh": "已被更正", "en": "Superseded"},
    "col.due": {"zh": "截止日期", "en": "Due"},
    "col.days_overdue": {"zh": "逾期天数", "en": "Days overdue"},
    "col.level": {"zh": "层级", "en": "Level"},
    "col.count": {"zh": "个数", "en": "Count"},
    "col.behind": {"zh": "滞后指标数", "en": "Indicators behind"},
    "yes": {"zh": "是", "en": "yes"},
    "no": {"zh": "否", "en": "no"},
    # charts
    "chart.actual": {"zh": "实际值", "en": "Actual"},
    "chart.expected": {"zh": "应达进度", "en": "Expected path"},
    "chart.baseline": {"zh": "基期", "en": "Baseline"},
    "chart.target": {"zh": "目标", "en": "Target"},
    "chart.status_counts": {"zh": "指标状态分布", "en": "Indicators by status"},
    "chart.heatmap": {"zh": "下级地区 × 指标 状态", "en": "Status by sub-region and indicator"},
    "chart.trajectory": {"zh": "{indicator}：实际与应达进度", "en": "{indicator}: actual vs expected"},
    "chart.distribution": {"zh": "{indicator}：下级地区分布", "en": "{indicator}: distribution across sub-regions"},
    "chart.ranked": {"zh": "{indicator}：下级地区排名", "en": "{indicator}: sub-regions ranked"},
    "chart.bullet": {"zh": "各指标完成进度（进度比，1 = 按期）", "en": "Progress by indicator (ratio, 1 = on schedule)"},
    "chart.composite": {"zh": "综合得分排名", "en": "Composite score ranking"},
    "chart.plan_elapsed": {"zh": "规划期已过 {pct}", "en": "{pct} of the plan period elapsed"},
    "chart.progress_axis": {"zh": "进度比", "en": "Progress ratio"},
    "chart.no_data": {"zh": "暂无数据", "en": "No data"},
    # empty states
    "empty.region_no_data": {
        "zh": "该地区暂无数据：最近一次报送为 {last}。",
        "en": "No data for this region: the last submission was {last}.",
    },
    "empty.never": {"zh": "从未报送", "en": "never"},
    "empty.no_children": {
        "zh": "{region} 没有下级地区（或下级地区暂无数据），无法绘制下级地区图表。",
        "en": "{region} has no sub-regions with data, so there is no sub-region chart.",
    },
    "empty.no_alerts": {"zh": "没有预警：所有已评估指标均符合进度。", "en": "No alerts: every assessed indicator is on schedule."},
    "empty.no_overdue": {"zh": "没有逾期未报的数据。", "en": "No overdue submissions."},
    "empty.no_history": {"zh": "该地区该指标没有报送记录。", "en": "No submissions for this indicator and region."},
    "empty.history_rollup": {"zh": "该地区本级没有直接报送此指标：显示的数值由下级地区报送的数据汇总得出（见上方“下级地区”）。",
                             "en": "This region did not submit this indicator itself: the value shown is rolled up "
                                   "from its sub-regions' submissions (see “Sub-regions” above)."},
    "empty.no_trajectory": {
        "zh": "该地区该指标没有实际值或应达进度可画（可能该规划未设目标）。",
        "en": "Nothing to draw: no actual values or expected path (the plan may set no target).",
    },
    "empty.no_indicators": {"zh": "该规划在此地区没有指标。", "en": "The plan has no indicators for this region."},
    "empty.no_rank": {"zh": "无法排名：没有同级地区或没有数据。", "en": "No ranking: no sibling regions or no data."},
    # overview page
    "overview.title": {"zh": "领导驾驶舱", "en": "Leaders' overview"},
    "overview.subtitle": {"zh": "{plan} · {region} · {when}", "en": "{plan} · {region} · {when}"},
    "overview.counts": {"zh": "指标状态（约束性指标在前）", "en": "Indicator status (binding first)"},
    "overview.binding": {"zh": "约束性指标", "en": "Binding indicators"},
    "overview.expected": {"zh": "预期性指标", "en": "Expected indicators"},
    "overview.alerts": {"zh": "最需关注的预警", "en": "Most severe alerts"},
    "overview.alerts_more": {"zh": "另有 {n} 条预警未列出（含逾期未报）。", "en": "{n} more alerts not listed (incl. overdue reports).",
                            "en_one": "1 more alert not listed (incl. overdue reports)."},
    "overview.heatmap": {"zh": "下级地区状态热力图", "en": "Sub-region status heatmap"},
    "overview.leading": {"zh": "领先地区", "en": "Leading regions"},
    "overview.lagging": {"zh": "落后地区", "en": "Lagging regions"},
    "overview.elapsed": {
        "zh": "规划期 {start}–{end} 年，已过 {pct}（截至 {when}）",
        "en": "Plan period {start}–{end}: {pct} elapsed (as of {when})",
    },
    "overview.total": {"zh": "共 {n} 个指标", "en": "{n} indicators", "en_one": "1 indicator"},
    # indicator page
    "indicator.title": {"zh": "指标详情", "en": "Indicator detail"},
    "indicator.definition": {"zh": "定义与来源", "en": "Definition and source"},
    "indicator.history": {"zh": "修订记录（含被更正的报送）", "en": "Revision history (incl. superseded)"},
    "indicator.children": {"zh": "下级地区", "en": "Sub-regions"},
    "indicator.source": {
        "zh": "来源：{plan}，{table}第 {row} 行",
        "en": "Source: {plan}, {table} row {row}",
    },
    "indicator.source_quote": {"zh": "原文：{quote}", "en": "Quote: {quote}"},
    "indicator.no_target": {"zh": "该规划未对此地区设定目标。", "en": "The plan sets no target for this region."},
    "def.unit": {"zh": "单位", "en": "Unit"},
    "def.direction": {"zh": "方向", "en": "Direction"},
    "def.direction.higher": {"zh": "越高越好", "en": "higher is better"},
    "def.direction.lower": {"zh": "越低越好", "en": "lower is better"},
    "def.direction.band": {"zh": "区间内最好", "en": "best within a band"},
    "def.aggregation": {"zh": "汇总方式", "en": "Aggregation"},
    "def.frequency": {"zh": "报送频率", "en": "Frequency"},
    "def.frequency.monthly": {"zh": "月报", "en": "monthly"},
    "def.frequency.quarterly": {"zh": "季报", "en": "quarterly"},
    "def.frequency.annual": {"zh": "年报", "en": "annual"},
    "def.covers": {"zh": "覆盖", "en": "Covers"},
    "def.covers.all": {"zh": "全部社区", "en": "all communities"},
    "def.covers.urban": {"zh": "城市社区", "en": "urban communities"},
    "def.covers.rural": {"zh": "农村社区", "en": "rural communities"},
    "def.method": {"zh": "评估方法", "en": "Method"},
    "def.method.schedule": {"zh": "时序进度", "en": "schedule"},
    "def.method.cagr": {"zh": "年均增速比", "en": "CAGR ratio"},
    "def.baseline": {"zh": "基期", "en": "Baseline"},
    "def.target": {"zh": "目标", "en": "Target"},
    "def.as_written": {"zh": "规划原文", "en": "as printed"},
    # region page
    "region.title": {"zh": "地区详情", "en": "Region detail"},
    "region.indicators": {"zh": "各项指标", "en": "All indicators"},
    "region.rank": {"zh": "在同级地区中的排名", "en": "Rank among sibling regions"},
    "region.rank_composite": {"zh": "综合排名：第 {rank} / {n} 名", "en": "Composite rank: {rank} of {n}"},
    "region.rank_none": {"zh": "{region} 没有可比的同级地区。", "en": "{region} has no comparable sibling regions."},
    "region.overdue": {"zh": "逾期未报（本地区及下级）", "en": "Overdue submissions (this region and below)"},
    "region.overdue_count": {"zh": "共 {n} 项逾期未报", "en": "{n} overdue reports", "en_one": "1 overdue report"},
}

_REGISTERED: dict[str, dict[str, str]] = {}


def register(table: Mapping[str, Mapping[str, str]]) -> None:
    """Add a page's own strings. Each entry needs a 'zh' text; 'en' falls back to 'zh'."""
    for key, texts in table.items():
        if "zh" not in texts:
            raise ValueError(f"i18n key {key!r} has no 'zh' text")
        entry = {"zh": texts["zh"], "en": texts.get("en") or texts["zh"]}
        if texts.get("en_one"):
            entry["en_one"] = texts["en_one"]
        existing = _STRINGS.get(key) or _REGISTERED.get(key)
        if existing is not None and existing != entry:
            raise ValueError(f"i18n key {key!r} is already defined with a different text")
        _REGISTERED[key] = entry


def has(key: str) -> bool:
    return key in _STRINGS or key in _REGISTERED


def t(key: str, lang: str = DEFAULT_LANG, **values: object) -> str:
    """The text for `key` in `lang` ('zh' or 'en'), formatted with `values`. An entry may carry an English
    singular, 'en_one', used when `n` is 1 ("1 overdue report", not "1 overdue reports")."""
    entry = _STRINGS.get(key) or _REGISTERED.get(key)
    if entry is None:
        raise KeyError(f"unknown i18n key {key!r}")
    if lang == "en" and values.get("n") == 1 and entry.get("en_one"):
        return entry["en_one"].format(**values)
    text = entry.get(lang) or entry["zh"]
    return text.format(**values) if values else text


def text(value: Text | None, lang: str, default: str = "—") -> str:
    """A definitions `Text` ({zh, en}) in `lang`, falling back to Chinese; `default` when absent."""
    if value is None:
        return default
    return value.get(lang)


def pick(row: Mapping[str, object], stem: str, lang: str, default: str = "—") -> str:
    """`row[stem + '_en']` for English when present, else `row[stem + '_zh']` (engine frames carry both)."""
    if lang == "en":
        value = row.get(f"{stem}_en")
        if value:
            return str(value)
    value = row.get(f"{stem}_zh")
    return str(value) if value else default


def all_keys() -> list[str]:
    return sorted(set(_STRINGS) | set(_REGISTERED))
