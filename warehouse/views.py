"""Frame shaping for the dashboard pages (no Streamlit): counts, tables with display labels, empty-state text.

Kept out of the page scripts so the pages stay thin and this logic is testable without a browser.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from warehouse import annual_path  # noqa: F401 - registers the annual_path.* strings
from warehouse import formatting as fmt
from warehouse import i18n
from warehouse.definitions import Definitions


def bucket_counts(status: pl.DataFrame, attribute: str | None = None) -> dict[str, int]:
    """Number of indicators per colour bucket (red, amber, green, achieved, grey), optionally one attribute."""
    counts = {bucket: 0 for bucket in fmt.BUCKETS}
    for row in status.iter_rows(named=True):
        if attribute is not None and row.get("attribute") != attribute:
            continue
        counts[fmt.BUCKET_OF_STATUS[row.get("status") or "no_data"]] += 1
    return counts


def last_submission_text(latest_status: pl.DataFrame, lang: str) -> str:
    """The latest period with a value in an as-of-now status frame, as it reads ("2025年6月"), or "never"."""
    with_values = latest_status.filter(pl.col("value").is_not_null()) if latest_status.height else latest_status
    if with_values.height == 0:
        return i18n.t("empty.never", lang)
    row = with_values.sort("period_end", descending=True).row(0, named=True)
    return fmt.format_period(row.get("period"), lang)


def responsible_text(defs: Definitions, indicator_id: str, lang: str) -> str:
    try:
        indicator = defs.indicator(indicator_id)
    except KeyError:
        return fmt.MISSING
    names = [d.get(lang) for d in indicator.responsible_departments]
    if not names:
        return fmt.MISSING
    return "、".join(names) if lang == "zh" else ", ".join(names)


def alerts_table(alerts: pl.DataFrame, defs: Definitions, lang: str, limit: int | None = None) -> pl.DataFrame:
    """Display table of alerts (engine.alerts: status and overdue alerts): status, region, indicator,
    attribute, value, target, reason, departments. Keeps the engine's order (most severe first);
    `indicator_id` and `region_code` stay for navigation."""
    rows = alerts.to_dicts()[:limit] if limit else alerts.to_dicts()
    out = []
    for r in rows:
        unit = indicator_unit(defs, r.get("indicator_id"), lang)
        out.append({
            "indicator_id": r.get("indicator_id"),
            "region_code": r.get("region_code"),
            i18n.t("col.status", lang): fmt.status_text(r.get("status"), lang),
            i18n.t("col.region", lang): r.get("region_name") or r.get("region_code"),
            i18n.t("col.indicator", lang): i18n.pick(r, "indicator", lang),
            i18n.t("col.attribute", lang): i18n.t(f"attribute.{r['attribute']}", lang) if r.get("attribute") else fmt.MISSING,
            i18n.t("col.department", lang): i18n.pick(r, "department", lang, default="")
            or i18n.pick(r, "lead_department", lang),
            i18n.t("col.responsible", lang): responsible_text(defs, r.get("indicator_id", ""), lang),
            i18n.t("col.value", lang): fmt.format_value(r.get("value"), unit),
            i18n.t("col.target", lang): target_text(r, unit, lang),
            i18n.t("col.reason", lang): i18n.pick(r, "reason", lang),
        })
    return pl.DataFrame(out, strict=False) if out else pl.DataFrame()


def indicator_unit(defs: Definitions, indicator_id: str | None, lang: str) -> str:
    try:
        return defs.indicator(indicator_id or "").unit.get(lang)
    except KeyError:
        return ""


def target_text(row: dict[str, Any], unit: str, lang: str, with_year: bool = True) -> str:
    """"≥90%（2025年）" from comparator, target_value, target_year."""
    value = row.get("target_value")
    if value is None:
        return fmt.MISSING
    comparator = fmt.comparator_sign(row.get("comparator"))
    year = row.get("target_year") if with_year else None
    when = f"（{fmt.format_period(str(year), lang)}）" if year and lang == "zh" else f" ({year})" if year else ""
    return f"{comparator}{fmt.format_value(value, unit)}{when}"


def status_table(status: pl.DataFrame, lang: str, sparklines: dict[str, list[float]] | None = None) -> pl.DataFrame:
    """One display row per indicator: binding first, then by severity; progress as a 0–1.5 number for a
    progress column; an optional sparkline list per indicator."""
    rows = sorted(
        status.to_dicts(),
        key=lambda r: (r.get("attribute") != "binding", fmt.severity_rank(r.get("status")), str(r.get("indicator_id"))),
    )
    out = []
    for r in rows:
        unit = i18n.pick(r, "unit", lang, default="")
        ratio = r.get("progress_ratio")
        item = {
            "indicator_id": r.get("indicator_id"),
            i18n.t("col.indicator", lang): ("★ " if r.get("attribute") == "binding" else "") + i18n.pick(r, "indicator", lang),
            i18n.t("col.status", lang): fmt.status_text(r.get("status"), lang),
            i18n.t("col.value", lang): fmt.format_value(r.get("value"), unit),
            i18n.t("col.period", lang): fmt.format_period(r.get("period"), lang),
            i18n.t("col.expected_now", lang): fmt.format_value(r.get("expected_now"), unit),
            i18n.t("col.target", lang): target_text(r, unit, lang),
            i18n.t("col.progress", lang): None if ratio is None else min(float(ratio), 1.5),
            i18n.t("col.reason", lang): i18n.pick(r, "reason", lang),
        }
        if sparklines is not None:
            item[i18n.t("col.sparkline", lang)] = sparklines.get(r.get("indicator_id"), [])
        out.append(item)
    return pl.DataFrame(out, strict=False) if out else pl.DataFrame()


def ranked_regions(ranks: pl.DataFrame) -> pl.DataFrame:
    """Regions with a rank, best first (engine.rank: region_code, region_name, rank, score, n_behind …)."""
    if ranks.height == 0 or "rank" not in ranks.columns:
        return pl.DataFrame()
    return ranks.filter(pl.col("rank").is_not_null()).sort("rank")


def leader_table(ranks: pl.DataFrame, lang: str) -> pl.DataFrame:
    """Rank, region, composite score and the number of indicators behind schedule."""
    out = []
    for r in ranks.iter_rows(named=True):
        item = {
            i18n.t("col.rank", lang): r.get("rank"),
            i18n.t("col.region", lang): r.get("region_name") or r.get("region_code"),
            i18n.t("col.score", lang): fmt.format_number(r.get("score"), 2) if r.get("score") is not None else fmt.MISSING,
        }
        if "n_behind" in r:
            item[i18n.t("col.behind", lang)] = r.get("n_behind")
        out.append(item)
    return pl.DataFrame(out, strict=False) if out else pl.DataFrame()


def definition_markdown(defs: Definitions, plan: Any, indicator_id: str, lang: str) -> str:
    """The indicator's definition and, for each of the plan's targets on it, the baseline, target and source
    (plan, table, row, quote), as Markdown lines."""
    indicator = defs.indicator(indicator_id)
    t = i18n.t
    from warehouse.safe_text import md  # YAML text is shown literally, never as Markdown

    lines = [f"**{md(defs.indicator_name(plan, indicator_id, lang, with_catalogue=True))}**"]
    if indicator.description:
        lines.append(md(indicator.description.get(lang)))
    facts = [
        f"{t('def.unit', lang)}：{md(indicator.unit.get(lang))}",
        f"{t('def.direction', lang)}：{t('def.direction.' + indicator.direction.value, lang)}",
        f"{t('def.frequency', lang)}：{t('def.frequency.' + indicator.frequency.value, lang)}",
        f"{t('def.covers', lang)}：{t('def.covers.' + indicator.covers.value, lang)}",
        f"{t('def.method', lang)}：{t('def.method.' + indicator.method.value, lang)}",
        f"{t('def.aggregation', lang)}：{indicator.aggregation.rule.value}",
    ]
    if indicator.lead_department:
        facts.append(f"{t('col.department', lang)}：{md(indicator.lead_text(lang))}")
    if indicator.responsible_departments:
        facts.append(f"{t('col.responsible', lang)}：{md(responsible_text(defs, indicator_id, lang))}")
    lines.append(" · ".join(facts))
    for target in plan.targets:
        if target.indicator != indicator_id:
            continue
        parts = [f"{t('attribute.' + target.attribute.value, lang)}"]
        if target.baseline is not None:
            written = target.baseline.as_written or fmt.format_value(target.baseline.value, indicator.unit.get(lang))
            parts.append(f"{t('def.baseline', lang)} {target.baseline.year}：{md(written)}")
        if target.target is not None:
            written = target.target.as_written or (
                target.target.comparator.value + fmt.format_value(target.target.value, indicator.unit.get(lang)))
            parts.append(f"{t('def.target', lang)} {target.target.year}：{md(written)}")
        else:
            parts.append(t("indicator.no_target", lang))
        unit, sep = indicator.unit.get(lang), "、" if lang == "zh" else ", "
        if target.annual:  # 年度目标 (docs/methodology.md §6a)
            points = sep.join(f"{y}：{fmt.format_value(v, unit)}" for y, v in sorted(target.annual.items()))
            parts.append(f"{t('annual_path.point', lang)} {md(points)}")
        for code, own in sorted(target.annual_by_region.items()):
            points = sep.join(f"{y}：{fmt.format_value(v, unit)}" for y, v in sorted(own.items()))
            parts.append(f"{t('annual_path.point', lang)}（{md(code)}）{md(points)}")
        source = target.source
        lines.append("- " + " · ".join(parts))
        lines.append("  " + t("indicator.source", lang, plan=md(plan.name.get(lang)),
                              table=md(source.table or fmt.MISSING),
                              row=md(source.row if source.row is not None else fmt.MISSING)))
        if source.quote:
            lines.append("  " + t("indicator.source_quote", lang, quote=md(source.quote)))
    return "\n\n".join(lines)


def history_table(history: pl.DataFrame, unit: str, lang: str) -> pl.DataFrame:
    """Every submission of one region and indicator (superseded ones too), newest ingest first, times in CST."""
    frame = history
    if "ingested_at" in frame.columns:
        frame = frame.sort("ingested_at", descending=True, nulls_last=True)
    out = []
    for r in frame.iter_rows(named=True):
        item = {
            i18n.t("col.period", lang): fmt.format_period(r.get("period"), lang),
            i18n.t("col.value", lang): fmt.format_value(r.get("value"), unit),
            i18n.t("col.submitted_at", lang): fmt.format_cst(r.get("submitted_at"), lang),
            i18n.t("col.ingested_at", lang): fmt.format_cst(r.get("ingested_at"), lang),
            i18n.t("col.submitted_by", lang): r.get("submitted_by") or fmt.MISSING,
            i18n.t("col.source_file", lang): r.get("source_file") or fmt.MISSING,
            i18n.t("col.source_row", lang): r.get("source_row"),
            i18n.t("col.note", lang): r.get("note") or "",
        }
        if "is_current" in r:
            item[i18n.t("col.superseded", lang)] = i18n.t("no" if r["is_current"] else "yes", lang)
        out.append(item)
    return pl.DataFrame(out, strict=False) if out else pl.DataFrame()


def sort_for_display(status: pl.DataFrame) -> pl.DataFrame:
    """Binding first, then most severe first, then indicator id (the order of the region page)."""
    if status.height == 0:
        return status
    return status.with_columns(
        (pl.col("attribute") != "binding").alias("_b"),
        pl.col("status").fill_null("no_data").map_elements(fmt.severity_rank, return_dtype=pl.Int64).alias("_s"),
    ).sort("_b", "_s", "indicator_id").drop("_b", "_s")


def rank_of(ranks: pl.DataFrame | None, region: str) -> dict[str, Any] | None:
    """The region's row of a rank frame plus `n` (number of ranked regions); None when it is not ranked."""
    ranked = ranked_regions(ranks) if ranks is not None else pl.DataFrame()
    if ranked.height == 0:
        return None
    mine = ranked.filter(pl.col("region_code") == region)
    if mine.height == 0:
        return None
    row = mine.row(0, named=True)  # a ranking redacted to the viewer's scope says how many were ranked
    return {**row, "n": row.get("n_ranked") or ranked.height}


def indicator_rank_table(status: pl.DataFrame, per_indicator: dict[str, pl.DataFrame], region: str,
                         lang: str) -> pl.DataFrame:
    """Per indicator: the region's rank among its siblings ("3 / 12") and its status."""
    out = []
    for r in sort_for_display(status).iter_rows(named=True):
        mine = rank_of(per_indicator.get(r["indicator_id"]), region)
        out.append({
            i18n.t("col.indicator", lang): ("★ " if r.get("attribute") == "binding" else "") + i18n.pick(r, "indicator", lang),
            i18n.t("col.rank", lang): f"{mine['rank']} / {mine['n']}" if mine else _unranked(r.get("status"), lang),
            i18n.t("col.status", lang): fmt.status_text(r.get("status"), lang),
        })
    return pl.DataFrame(out, strict=False) if out else pl.DataFrame()


def _unranked(status: str | None, lang: str) -> str:
    from warehouse.tables import unranked_text

    return unranked_text(status, lang)


def period_label(period_end: Any, frequency: str) -> str:
    """The period a period end denotes for a frequency: 2025-12-31 -> '2025' / '2025-Q4' / '2025-12'."""
    if period_end is None:
        return ""
    if frequency == "monthly":
        return f"{period_end.year}-{period_end.month:02d}"
    if frequency == "quarterly":
        return f"{period_end.year}-Q{(period_end.month - 1) // 3 + 1}"
    return f"{period_end.year}"


def overdue_table(overdue: pl.DataFrame, defs: Definitions, lang: str,
                  region_names: dict[str, str] | None = None) -> pl.DataFrame:
    """Overdue reports (engine.overdue), most overdue first: region, indicator, period, due date, days overdue."""
    frame = overdue.sort("days_overdue", descending=True) if "days_overdue" in overdue.columns else overdue
    names = region_names or {}
    out = []
    for r in frame.iter_rows(named=True):
        try:
            indicator = defs.indicator(r.get("indicator_id") or "")
            name, frequency = indicator.name.get(lang), indicator.frequency.value
        except KeyError:
            name, frequency = str(r.get("indicator_id")), "annual"
        period = r.get("period") or period_label(r.get("period_end"), frequency)
        out.append({
            i18n.t("col.region", lang): r.get("region_name") or names.get(r.get("region_code"), r.get("region_code")),
            i18n.t("col.indicator", lang): name,
            i18n.t("col.period", lang): fmt.format_period(period, lang),
            i18n.t("col.due", lang): fmt.format_date(r.get("due_date"), lang),
            i18n.t("col.days_overdue", lang): r.get("days_overdue"),
        })
    return pl.DataFrame(out, strict=False) if out else pl.DataFrame()


def split_overdue(overdue: pl.DataFrame, region: str, regions: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """(the overdue reports of `region` itself and of the regions that report to it directly, i.e. its
    children with NBS placeholders seen through; the number of further overdue reports deeper down).
    A leader at national level sees which provinces are late, not every township's gap; opening a
    sub-region shows the next level."""
    from warehouse.regions import sibling_codes

    if overdue.height == 0 or region.startswith("group:"):
        return overdue, 0
    direct = {region, *sibling_codes(regions, region)}
    mine = overdue.filter(pl.col("region_code").is_in(list(direct)))
    return mine, overdue.height - mine.height
