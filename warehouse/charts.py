"""Every figure shown by the dashboard and written by the export, on one plotly template.

Functions take polars frames in the engine's documented columns (docs/architecture.md) plus `lang`, and return a
`go.Figure`. No Streamlit here: the export renders the same figures with kaleido. Status colours, symbols and
labels come from `warehouse.formatting`, so a colour is always paired with a symbol or a text label.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio
import polars as pl

from warehouse import annual_path
from warehouse import formatting as fmt
from warehouse import i18n

FONT_FAMILY = "Noto Sans CJK SC, sans-serif"
TEMPLATE_NAME = "planwatch"
# Okabe-Ito (colour-blind-safe) for series that are not statuses.
COLORWAY = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
EXPECTED_COLOUR = "#666666"
TARGET_COLOUR = "#000000"


def _build_template() -> go.layout.Template:
    font = dict(family=FONT_FAMILY, size=13, color="#222222")
    return go.layout.Template(
        layout=go.Layout(
            font=font,
            title=dict(font=dict(family=FONT_FAMILY, size=16), x=0.0, xanchor="left"),
            colorway=COLORWAY,
            paper_bgcolor="#FFFFFF",
            plot_bgcolor="#FFFFFF",
            hoverlabel=dict(font=dict(family=FONT_FAMILY)),
            legend=dict(font=dict(family=FONT_FAMILY), orientation="h", y=-0.15, x=0.0),
            margin=dict(l=10, r=20, t=60, b=40),
            xaxis=dict(gridcolor="#E5E5E5", zerolinecolor="#BDBDBD", automargin=True),
            yaxis=dict(gridcolor="#E5E5E5", zerolinecolor="#BDBDBD", automargin=True),
        )
    )


TEMPLATE = _build_template()
pio.templates[TEMPLATE_NAME] = TEMPLATE


def new_figure(title: str | None = None, height: int | None = None) -> go.Figure:
    """An empty figure on the planwatch template (the template object itself, so no registry is needed)."""
    fig = go.Figure()
    fig.update_layout(template=TEMPLATE)
    if title:
        fig.update_layout(title=dict(text=title))
    if height:
        fig.update_layout(height=height)
    return fig


def _rows(frame: pl.DataFrame | None) -> list[dict[str, Any]]:
    return [] if frame is None else frame.to_dicts()


def _num(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else number


def _empty(fig: go.Figure, lang: str) -> go.Figure:
    fig.add_annotation(
        text=i18n.t("chart.no_data", lang), showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5,
        font=dict(size=16, color=fmt.COLOURS["no_data"]),
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def _indicator_name(row: dict[str, Any], lang: str) -> str:
    return i18n.pick(row, "indicator", lang, default=str(row.get("indicator_id", "")))


def _unit(row: dict[str, Any], lang: str) -> str:
    unit = i18n.pick(row, "unit", lang, default="")
    return "" if unit == "—" else unit


# ---- overview ----


def status_counts_figure(status: pl.DataFrame, lang: str = "zh") -> go.Figure:
    """Stacked horizontal bars: number of indicators per colour bucket, binding indicators in the top row.

    One trace per bucket (red, amber, green, achieved, grey) in severity order; bar text is the count."""
    rows = _rows(status)
    fig = new_figure(i18n.t("chart.status_counts", lang), height=220)
    if not rows:
        return _empty(fig, lang)
    attributes = ["binding", "expected"]
    present = [a for a in attributes if any(r.get("attribute") == a for r in rows)]
    # plotly draws the first category at the bottom: reverse so binding is on top
    y_labels = [i18n.t(f"attribute.{a}", lang) for a in reversed(present)]
    for bucket in fmt.BUCKETS:
        counts = [
            sum(1 for r in rows if r.get("attribute") == a and fmt.BUCKET_OF_STATUS[r.get("status") or "no_data"] == bucket)
            for a in reversed(present)
        ]
        fig.add_trace(
            go.Bar(
                name=fmt.bucket_label(bucket, lang), x=counts, y=y_labels, orientation="h",
                marker=dict(color=fmt.BUCKET_COLOURS[bucket], line=dict(color="#FFFFFF", width=1)),
                text=[str(c) if c else "" for c in counts], textposition="inside", insidetextanchor="middle",
                textfont=dict(color="#FFFFFF"), meta=bucket,
                hovertemplate="%{y}: %{x}<extra>" + fmt.bucket_label(bucket, lang) + "</extra>",
            )
        )
    fig.update_layout(barmode="stack", xaxis=dict(dtick=1 if len(rows) <= 20 else None))
    return fig


def status_heatmap(children: pl.DataFrame, lang: str = "zh") -> go.Figure:
    """Region × indicator grid coloured by status, each cell also showing the status symbol.

    Rows are regions (in the frame's order), columns indicators. z holds the index into
    `formatting.STATUSES`; the colour scale is discrete, so equal statuses get exactly equal colours."""
    rows = _rows(children)
    fig = new_figure(i18n.t("chart.heatmap", lang))
    if not rows:
        return _empty(fig, lang)
    regions: list[str] = []
    region_names: dict[str, str] = {}
    indicators: list[str] = []
    indicator_names: dict[str, str] = {}
    for r in rows:
        if r["region_code"] not in region_names:
            regions.append(r["region_code"])
            region_names[r["region_code"]] = str(r.get("region_name") or r["region_code"])
        if r["indicator_id"] not in indicator_names:
            indicators.append(r["indicator_id"])
            indicator_names[r["indicator_id"]] = _indicator_name(r, lang)
    cell = {(r["region_code"], r["indicator_id"]): r for r in rows}
    n = len(fmt.STATUSES)
    z, text, hover = [], [], []
    for code in regions:
        z_row, t_row, h_row = [], [], []
        for ind in indicators:
            r = cell.get((code, ind))
            label = fmt.status_label(r.get("status") if r else None, lang)
            z_row.append(fmt.STATUSES.index(label.status))
            t_row.append(label.symbol)
            value = fmt.format_value(_num(r.get("value")), _unit(r, lang)) if r else fmt.MISSING
            progress = fmt.format_progress(_num(r.get("progress_ratio"))) if r else fmt.MISSING
            h_row.append(
                f"{region_names[code]}<br>{indicator_names[ind]}<br>{label.text}<br>"
                f"{i18n.t('col.value', lang)}: {value}<br>{i18n.t('col.progress', lang)}: {progress}"
            )
        z.append(z_row)
        text.append(t_row)
        hover.append(h_row)
    scale = []
    for i, status in enumerate(fmt.STATUSES):
        scale += [[i / n, fmt.COLOURS[status]], [(i + 1) / n, fmt.COLOURS[status]]]
    fig.add_trace(
        # x and y are the ids (unique); the names are only tick labels. Two indicators whose shortened names
        # coincide ("Share of co…") or two regions of the same name would otherwise share one category and
        # plotly would draw one cell's colour under another's symbol.
        go.Heatmap(
            z=z, x=indicators, y=regions,
            text=text, texttemplate="%{text}", textfont=dict(color="#FFFFFF", size=14),
            customdata=hover, hovertemplate="%{customdata}<extra></extra>",
            colorscale=scale, zmin=-0.5, zmax=n - 0.5, showscale=False, xgap=2, ygap=2, name="status",
        )
    )
    # legend entries: one invisible marker per status present, so the symbols are explained
    present = sorted({fmt.STATUSES[v] for row in z for v in row}, key=fmt.severity_rank)
    for status in present:
        label = fmt.status_label(status, lang)
        fig.add_trace(
            go.Scatter(
                x=[None], y=[None], mode="markers", name=label.text, meta=status,
                marker=dict(color=label.colour, size=12, symbol="square"),
            )
        )
    fig.update_layout(
        height=max(320, 260 + 22 * len(regions)),
        xaxis=dict(side="top", tickangle=-65, showgrid=False, automargin=True, type="category", tickmode="array",
                   tickvals=indicators, ticktext=[_short(indicator_names[i]) for i in indicators]),
        yaxis=dict(autorange="reversed", showgrid=False, type="category", tickmode="array",
                   tickvals=regions, ticktext=[region_names[c] for c in regions]),
        legend=dict(y=-0.01, yanchor="top"),
        margin=dict(t=80),
        # the title keeps its own strip at the top, above the rotated indicator labels
        title=dict(yref="container", y=0.995, yanchor="top", automargin=True),
    )
    return fig


SHORT_LABEL = 12


def _short(name: str, limit: int = SHORT_LABEL) -> str:
    """Axis labels are cut to `limit` characters (the full name is in the hover text)."""
    return name if len(name) <= limit else name[: limit - 1] + "…"


# ---- indicator ----


def _year_end(year: Any) -> date | None:
    return date(int(year), 12, 31) if year is not None else None


def _expected_to_target_year(x: list[Any], expected: list[float | None], labels: list[str],
                             target_year: Any) -> tuple[list[Any], list[float | None], list[str]]:
    """The expected path drawn on to the end of the target year, so the dashed line meets the target.

    Between the path start and the end of the target year the expected value is linear in days
    (docs/methodology.md §6), so extending the line through two of its points is exact."""
    known = [(day, value) for day, value in zip(x, expected) if day is not None and value is not None]
    end = _year_end(target_year)
    if end is None or len(known) < 2 or known[-1][0] >= end:
        return x, expected, labels
    (d0, v0), (d1, v1) = known[0], known[-1]
    if d1 == d0:
        return x, expected, labels
    slope = (v1 - v0) / (d1 - d0).days
    return [*x, end], [*expected, v1 + slope * (end - d1).days], [*labels, str(target_year)]


def _path_from_status(row: dict[str, Any], x: list[Any], expected: list[float | None], labels: list[str],
                      lang: str) -> tuple[list[Any], list[float | None], list[str]]:
    """The expected path as a line from the baseline (its date and value) to the goal at the end of the target
    year (docs/methodology.md §6), through the annual targets where they apply (§6a) and the expected values at
    the observed period ends. Drawn for every
    plan with a baseline and a target, however few values there are (one quarter of a new plan included)."""
    base, target = _num(row.get("baseline_value")), _num(row.get("target_value"))
    start = row.get("baseline_date") or _year_end(row.get("baseline_year"))
    end = _year_end(row.get("target_year"))
    if base is None or target is None or start is None or end is None or end <= start:
        return [], [], []
    high = _num(row.get("target_high"))
    goal = max(target, min(base, high)) if high is not None else target
    points = {start: (base, fmt.format_date(start, lang)), end: (goal, str(row.get("target_year")))}
    # annual targets (年度目标): the path's corners, so its kinks show (docs/methodology.md §6a)
    for year, value in annual_path.parse(row.get("annual_path")).items():
        if start < date(year, 12, 31) < end:
            points[date(year, 12, 31)] = (value, f"{year} {i18n.t('annual_path.point', lang)}")
    for day, value, label in zip(x, expected, labels):
        if day is not None and value is not None and start < day < end and day not in points:
            points[day] = (value, label)
    days = sorted(points)
    return days, [points[d][0] for d in days], [points[d][1] for d in days]


def trajectory_figure(trajectory: pl.DataFrame, status_row: dict[str, Any] | None, lang: str = "zh") -> go.Figure:
    """Actual values and the expected path over time, with the baseline and the target marked.

    `trajectory` has period, period_end, actual, expected (engine.trajectory); `status_row` is the region's row
    of engine.status for the indicator (baseline_value/year, target_value/year, names, units), or None."""
    row = status_row or {}
    name = _indicator_name(row, lang) if row else ""
    unit = _unit(row, lang)
    fig = new_figure(i18n.t("chart.trajectory", lang, indicator=name).lstrip("：: "))
    rows = _rows(trajectory)
    has_points = any(_num(r.get("actual")) is not None or _num(r.get("expected")) is not None for r in rows)
    if not has_points and _num(row.get("target_value")) is None:
        return _empty(fig, lang)
    periods = [fmt.format_period(r.get("period"), lang) for r in rows]
    x = [r.get("period_end") for r in rows]
    expected = [_num(r.get("expected")) for r in rows]
    path_x, path_y, path_labels = _path_from_status(row, x, expected, periods, lang)
    if not path_x and any(v is not None for v in expected):
        path_x, path_y, path_labels = _expected_to_target_year(x, expected, periods, row.get("target_year"))
    if path_x:
        fig.add_trace(
            go.Scatter(
                x=path_x, y=path_y, name=i18n.t("chart.expected", lang), mode="lines",
                line=dict(color=EXPECTED_COLOUR, dash="dash", width=2), customdata=path_labels, meta="expected",
                hovertemplate="%{customdata}: %{y}" + (f" {unit}" if unit else "") + "<extra></extra>",
            )
        )
    annual = {date(y, 12, 31): v for y, v in annual_path.parse(row.get("annual_path")).items()}
    if annual:  # the annual targets (年度目标) as markers on the path's corners
        fig.add_trace(
            go.Scatter(
                x=list(annual), y=list(annual.values()), name=i18n.t("annual_path.point", lang), mode="markers",
                marker=dict(symbol="circle-open", size=10, color=EXPECTED_COLOUR, line=dict(width=2)), meta="annual",
                customdata=[str(d.year) for d in annual],
                hovertemplate="%{customdata}: %{y}" + (f" {unit}" if unit else "") + "<extra></extra>",
            )
        )
    actual = [_num(r.get("actual")) for r in rows]
    if any(v is not None for v in actual):
        fig.add_trace(
            go.Scatter(
                x=x, y=actual, name=i18n.t("chart.actual", lang), mode="lines+markers",
                line=dict(color=COLORWAY[0], width=3), marker=dict(size=8), customdata=periods, meta="actual",
                connectgaps=False,
                hovertemplate="%{customdata}: %{y}" + (f" {unit}" if unit else "") + "<extra></extra>",
            )
        )
    base_value, base_year = _num(row.get("baseline_value")), row.get("baseline_year")
    if base_value is not None and base_year is not None:
        fig.add_trace(
            go.Scatter(
                x=[_year_end(base_year)], y=[base_value], mode="markers+text", meta="baseline",
                name=f"{i18n.t('chart.baseline', lang)} {base_year}",
                marker=dict(symbol="diamond", size=12, color=EXPECTED_COLOUR),
                text=[fmt.format_value(base_value, unit)], textposition="bottom center",
            )
        )
    target_value, target_year = _num(row.get("target_value")), row.get("target_year")
    if target_value is not None and target_year is not None:
        comparator = fmt.comparator_sign(row.get("comparator"))
        fig.add_trace(
            go.Scatter(
                x=[_year_end(target_year)], y=[target_value], mode="markers+text", meta="target",
                name=f"{i18n.t('chart.target', lang)} {target_year}",
                marker=dict(symbol="star", size=16, color=TARGET_COLOUR),
                text=[f"{comparator}{fmt.format_value(target_value, unit)}"], textposition="top center",
            )
        )
    # ticks at year ends, labelled by the year-end month, so an annual value sits on its own label
    fig.update_layout(yaxis=dict(title=unit or None), height=420,
                      xaxis=dict(type="date", tick0="2000-12-31", dtick="M12", tickformat="%Y-%m"))
    return fig


def _children_values(children: pl.DataFrame, indicator: str | None) -> list[dict[str, Any]]:
    rows = _rows(children)
    if indicator is not None:
        rows = [r for r in rows if r.get("indicator_id") == indicator]
    return rows


def distribution_figure(children: pl.DataFrame, indicator: str | None = None, lang: str = "zh") -> go.Figure:
    """How the sub-regions' values spread: a stacked histogram coloured by status, target as a vertical line."""
    rows = _children_values(children, indicator)
    name = _indicator_name(rows[0], lang) if rows else ""
    fig = new_figure(i18n.t("chart.distribution", lang, indicator=name), height=340)
    with_values = [r for r in rows if _num(r.get("value")) is not None]
    if not with_values:
        return _empty(fig, lang)
    unit = _unit(with_values[0], lang)
    for status in fmt.STATUSES:
        values = [_num(r["value"]) for r in with_values if (r.get("status") or "no_data") == status]
        if not values:
            continue
        label = fmt.status_label(status, lang)
        fig.add_trace(
            go.Histogram(
                x=values, name=label.text, marker=dict(color=label.colour, line=dict(color="#FFFFFF", width=1)),
                meta=status, nbinsx=min(20, max(5, len(with_values))),
            )
        )
    _add_target_line(fig, with_values, lang, unit, vertical=True)
    # the x axis carries the unit's title, so the status legend goes below it, not over it
    fig.update_layout(barmode="stack", xaxis=dict(title=dict(text=unit or None, standoff=4)),
                      # counts of regions: whole numbers only (no 0.2, 0.4 … of a region)
                      yaxis=dict(title=i18n.t("col.count", lang), tickformat=",d", dtick=_count_step(fig),
                                 rangemode="tozero"),
                      legend=dict(y=-0.28, yanchor="top"),
                      margin=dict(b=90))
    return fig


def _count_step(fig: go.Figure) -> int:
    """A whole-number tick step for a count axis: 1, 2, 5, 10, 20 … so that the largest possible bar (every
    region in one bin) has at most eight steps."""
    total = sum(len(trace.x) for trace in fig.data if getattr(trace, "x", None) is not None)
    step = 1
    while total / step > 8:
        step = step * 5 // 2 if str(step)[0] == "2" else step * 2
    return step


def _add_target_line(fig: go.Figure, rows: list[dict[str, Any]], lang: str, unit: str, vertical: bool) -> None:
    targets = {_num(r.get("target_value")) for r in rows} - {None}
    if len(targets) != 1:  # no common target (none, or sub-regions with different targets)
        return
    target = targets.pop()
    label = f"{i18n.t('chart.target', lang)} {fmt.format_value(target, unit)}"
    line = dict(color=TARGET_COLOUR, width=2, dash="dot")
    if vertical:
        fig.add_vline(x=target, line=line, annotation_text=label, annotation_position="top")
    else:
        fig.add_hline(y=target, line=line, annotation_text=label, annotation_position="top left")


def ranked_bar_figure(children: pl.DataFrame, indicator: str | None = None, lang: str = "zh",
                      direction: str = "higher") -> go.Figure:
    """Sub-regions' values as horizontal bars, best at the top, coloured by status, with the target line.

    Bar text: the value with its unit and the status symbol. Regions without a value are listed at the
    bottom with a grey "no data" label so they are not silently dropped."""
    rows = _children_values(children, indicator)
    name = _indicator_name(rows[0], lang) if rows else ""
    with_values = [r for r in rows if _num(r.get("value")) is not None]
    without = [r for r in rows if _num(r.get("value")) is None]
    fig = new_figure(i18n.t("chart.ranked", lang, indicator=name))
    if not with_values:
        return _empty(fig, lang)
    unit = _unit(with_values[0], lang)
    reverse = direction != "lower"
    ordered = sorted(with_values, key=lambda r: _num(r["value"]), reverse=reverse)  # best first
    ordered += without
    labels = [fmt.status_label(r.get("status"), lang) for r in ordered]
    names = [str(r.get("region_name") or r.get("region_code")) for r in ordered]
    values = [_num(r.get("value")) or 0.0 for r in ordered]
    texts = [
        f"{lab.symbol} {fmt.format_value(_num(r.get('value')), unit)}" if _num(r.get("value")) is not None
        else f"{lab.symbol} {i18n.t('status.no_data', lang)}"
        for r, lab in zip(ordered, labels)
    ]
    codes = [str(r.get("region_code")) for r in ordered]
    fig.add_trace(
        go.Bar(  # y by region code (unique), names as tick labels: same-named regions keep their own bars
            x=values, y=codes, orientation="h", marker=dict(color=[lab.colour for lab in labels]),
            text=texts, textposition="outside", cliponaxis=False, name=name, meta="ranked",
            customdata=[[n, lab.label] for n, lab in zip(names, labels)],
            hovertemplate="%{customdata[0]}: %{text} (%{customdata[1]})<extra></extra>",
            showlegend=False,
        )
    )
    _add_target_line(fig, with_values, lang, unit, vertical=True)
    top = max([abs(v) for v in values] + [abs(_num(r.get("target_value")) or 0.0) for r in with_values])
    fig.update_layout(
        height=max(300, 100 + 26 * len(ordered)),
        yaxis=dict(autorange="reversed", showgrid=False, type="category", tickmode="array", tickvals=codes,
                   ticktext=names),
        xaxis=dict(title=unit or None, range=[min(0.0, min(values)) * 1.25, top * 1.25 or 1.0]),
    )
    return fig


# ---- region ----


BULLET_CAP = 1.5  # progress ratios above this are drawn at the cap (the label shows the real value)


def bullet_figure(status: pl.DataFrame, lang: str = "zh") -> go.Figure:
    """One progress bar per indicator: the progress ratio (1 = on schedule) coloured by status, with the
    schedule line at 1 and the amber band behind. Labels: status symbol + percent of schedule."""
    rows = _rows(status)
    fig = new_figure(i18n.t("chart.bullet", lang))
    if not rows:
        return _empty(fig, lang)
    names = [("★ " if r.get("attribute") == "binding" else "") + _indicator_name(r, lang) for r in rows]
    labels = [fmt.status_label(r.get("status"), lang) for r in rows]
    ratios = [_num(r.get("progress_ratio")) for r in rows]
    fig.add_trace(
        go.Bar(
            x=[BULLET_CAP] * len(rows), y=names, orientation="h", marker=dict(color="#F2F2F2"),
            hoverinfo="skip", showlegend=False, name="background", meta="background",
        )
    )
    fig.add_trace(
        go.Bar(
            x=[min(BULLET_CAP, max(0.0, r)) if r is not None else 0.0 for r in ratios], y=names, orientation="h",
            marker=dict(color=[lab.colour for lab in labels]), width=0.5, name=i18n.t("col.progress", lang),
            text=[f"{lab.symbol} {lab.label} {fmt.format_progress(r)}" if r is not None else lab.text
                  for lab, r in zip(labels, ratios)],
            textposition="outside", cliponaxis=False, showlegend=False, meta="progress",
            hovertemplate="%{y}: %{text}<extra></extra>",
        )
    )
    fig.add_vline(x=1.0, line=dict(color=TARGET_COLOUR, width=2))
    fig.update_layout(
        barmode="overlay", height=max(260, 90 + 30 * len(rows)),
        xaxis=dict(range=[0, BULLET_CAP * 1.35], tickformat=".0%", title=i18n.t("chart.progress_axis", lang)),
        yaxis=dict(autorange="reversed", showgrid=False),
    )
    return fig


def rank_figure(ranks: pl.DataFrame, lang: str = "zh", value_column: str = "score",
                highlight: str | None = None, title: str | None = None) -> go.Figure:
    """A league table as bars (composite score or one indicator's value), best at the top.

    `ranks` needs region_code, region_name and `value_column`; rows are drawn in the frame's order
    (the engine returns them ranked). `highlight` (a region code) is drawn in blue, the others grey."""
    rows = _rows(ranks)
    fig = new_figure(title or i18n.t("chart.composite", lang))
    if not rows or value_column not in rows[0]:
        return _empty(fig, lang)
    names = [str(r.get("region_name") or r.get("region_code")) for r in rows]
    values = [_num(r.get(value_column)) for r in rows]
    colours = [COLORWAY[0] if r.get("region_code") == highlight else "#A6A6A6" for r in rows]
    codes = [str(r.get("region_code")) for r in rows]
    fig.add_trace(
        go.Bar(  # y by region code (unique), names as tick labels
            x=[v or 0.0 for v in values], y=codes, orientation="h", marker=dict(color=colours),
            text=[fmt.format_number(v, 2) if v is not None and abs(v) < 10 else fmt.format_number(v) for v in values],
            textposition="outside", cliponaxis=False, showlegend=False, meta="rank",
            customdata=names, hovertemplate="%{customdata}: %{text}<extra></extra>",
        )
    )
    fig.update_layout(height=max(260, 100 + 26 * len(rows)),
                      yaxis=dict(autorange="reversed", showgrid=False, type="category", tickmode="array",
                                 tickvals=codes, ticktext=names))
    return fig
