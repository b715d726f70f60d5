"""Rejection reports: the CSV a person opens and the text the CLI prints, both one line per distinct problem.

A line is one reason (errors and warnings alike) in one column, with the spreadsheet rows it applies to listed
compactly (`2–4, 7, 15 …`: the first runs, then the count in its own column), a few of the values, and the
number of rows. The rarest problems come first, so one bad cell among thousands of duplicates is at the top.
When one kind of problem has many distinct reasons (a suggestion per unknown code, a row list per duplicated
key), its lines are merged into one line with the kind's general reason, so a file of a million distinct bad
codes still gives a report of a few lines.
"""

from __future__ import annotations

import csv
from pathlib import Path

import polars as pl

REJECTION_HEADERS = ["行号", "列", "值", "原因", "reason", "级别 severity", "行数 rows"]
MAX_LINES_PER_PROBLEM = 5  # distinct reasons of one kind shown as their own lines; more are merged
RUNS_SHOWN = 8  # row runs listed on a line before "…"
VALUES_SHOWN = 3  # distinct values listed on a line


def compact_rows(rows, runs_shown: int = RUNS_SHOWN) -> str:
    """Sorted distinct row numbers as runs: [2, 3, 4, 7, 15] -> "2–4, 7, 15"; "…" after runs_shown runs.
    Vectorised: a line of a million rows costs no more than one of ten."""
    series = pl.Series("r", rows, dtype=pl.Int64)
    if series.len() == 0:
        return ""
    runs = (pl.DataFrame({"r": series})
            .with_columns(run=(pl.col("r").diff().fill_null(0) != 1).cum_sum())
            .group_by("run", maintain_order=True).agg(a=pl.col("r").first(), b=pl.col("r").last())
            .head(runs_shown + 1))
    shown = ", ".join(_run(a, b) for a, b in runs.select("a", "b").iter_rows())
    if runs.height > runs_shown:
        shown = ", ".join(_run(a, b) for a, b in runs.head(runs_shown).select("a", "b").iter_rows()) + " …"
    return shown


def _run(a: int, b: int) -> str:
    return str(a) if a == b else f"{a}–{b}" if b > a + 1 else f"{a}, {b}"


def group_rejections(rejections: pl.DataFrame) -> pl.DataFrame:
    """One line per distinct problem: rows (compact text), column, value (a few), reason_zh, reason_en, severity,
    count (rows), first_row; rarest first (then errors before warnings, then by first row)."""
    frame = rejections
    for name in ("problem_zh", "problem_en"):
        if name not in frame.columns:
            frame = frame.with_columns(pl.lit(None, pl.String).alias(name))
    frame = frame.with_columns(
        pl.col("severity").fill_null("error"), pl.col("column").fill_null(""), pl.col("value").fill_null(""),
        problem_zh=pl.coalesce("problem_zh", "reason_zh"), problem_en=pl.coalesce("problem_en", "reason_en"),
    )
    kind = ["severity", "column", "problem_zh", "problem_en"]
    frame = frame.with_columns(_reasons=pl.col("reason_zh").n_unique().over(kind))
    merged = pl.col("_reasons") > MAX_LINES_PER_PROBLEM
    frame = frame.with_columns(
        reason_zh=pl.when(merged).then(pl.format("{}（{} 种不同情况，例如：{}）", "problem_zh", "_reasons",
                                                 pl.col("reason_zh").first().over(kind)))
        .otherwise("reason_zh"),
        reason_en=pl.when(merged).then(pl.format("{} ({} different cases, e.g. {})", "problem_en", "_reasons",
                                                 pl.col("reason_en").first().over(kind)))
        .otherwise("reason_en"),
    )
    lines = frame.group_by(["severity", "column", "reason_zh", "reason_en"], maintain_order=True).agg(
        rows=pl.col("row").drop_nulls().unique().sort(),
        values=pl.col("value").filter(pl.col("value") != "").unique(maintain_order=True).head(VALUES_SHOWN),
        n_values=pl.col("value").filter(pl.col("value") != "").n_unique(),
        count=pl.col("row").drop_nulls().n_unique(),
        first_row=pl.col("row").min(),
    )
    lines = lines.sort(["count", pl.col("severity") != "error", "first_row"], nulls_last=False)
    return pl.DataFrame({
        "rows": [compact_rows(r) for r in lines["rows"]],
        "column": lines["column"],
        "value": [("、".join(v) + (" …" if n > len(v) else "")) for v, n in
                  zip(lines["values"].to_list(), lines["n_values"].to_list())],
        "reason_zh": lines["reason_zh"],
        "reason_en": lines["reason_en"],
        "severity": lines["severity"],
        "count": lines["count"],
        "first_row": lines["first_row"],
    }, schema={"rows": pl.String, "column": pl.String, "value": pl.String, "reason_zh": pl.String,
               "reason_en": pl.String, "severity": pl.String, "count": pl.Int64, "first_row": pl.Int64})


def write_rejections_csv(rejections: pl.DataFrame, path: str | Path) -> None:
    """The report, one line per distinct problem (group_rejections), UTF-8 with BOM so Excel opens it:
    行号, 列, 值, 原因, reason, 级别 severity, 行数 rows."""
    from warehouse.safe_cells import safe_cell

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = group_rejections(rejections)
    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(REJECTION_HEADERS)
        for line in lines.iter_rows(named=True):
            writer.writerow([safe_cell(cell) for cell in [  # formula cells neutralised (warehouse/safe_cells.py)
                line["rows"], line["column"], line["value"], line["reason_zh"] or "", line["reason_en"] or "",
                "错误 error" if line["severity"] == "error" else "警告 warning", line["count"],
            ]])


def report_lines(rejections: pl.DataFrame, lang: str = "zh", limit: int = 10) -> list[str]:
    """The first `limit` lines of the report as text for a terminal, and how many more there are. lang "both":
    Chinese, then the English reason on the same line."""
    zh = lang != "en"
    lines = group_rejections(rejections)
    out = []
    for line in lines.head(limit).iter_rows(named=True):
        tag = ("错误" if line["severity"] == "error" else "警告") if zh else line["severity"]
        reason = line["reason_zh"] if zh else line["reason_en"]
        if lang == "both" and line["reason_en"] and line["reason_en"] != line["reason_zh"]:
            reason = f"{line['reason_zh']} / {line['reason_en']}"
        if line["rows"]:
            where = f"第 {line['rows']} 行（{line['count']} 行）" if zh else f"row {line['rows']} ({line['count']} rows)"
            if line["count"] == 1:
                where = f"第 {line['rows']} 行" if zh else f"row {line['rows']}"
            column = f" {line['column']}" if line["column"] else ""
            value = f" = {line['value']!r}" if line["value"] else ""
            out.append(f"  [{tag}] {where}{column}{value}：{reason}" if zh else f"  [{tag}] {where}{column}{value}: {reason}")
        else:
            out.append(f"  [{tag}] {reason}")
    extra = lines.height - limit
    if extra > 0:
        out.append(f"  …… 另有 {extra} 种问题，见拒收文件" + (f" / {extra} more problems in the rejection file" if lang == "both" else "")
                   if zh else f"  ... {extra} more problems in the rejection file")
    return out


def summary_text(prepared, lang: str = "zh", limit: int = 10) -> str:
    """A short summary: accepted / rejected / warnings, then the problems (report_lines)."""
    zh = lang != "en"
    if prepared.file_error:
        first = prepared.rejections.row(0, named=True) if prepared.rejections.height else None
        reason = (first["reason_zh"] if zh else first["reason_en"]) if first else prepared.file_error
        return f"{prepared.source_file}：无法导入 — {reason}" if zh else f"{prepared.source_file}: cannot ingest — {reason}"
    if zh:
        head = (f"{prepared.source_file}：共 {prepared.n_rows} 行，可接收 {prepared.n_valid} 行，"
                f"拒收 {prepared.n_rejected} 行，警告 {prepared.n_warnings} 条")
        if prepared.n_missing:
            head += f"（其中 {prepared.n_missing} 行数值缺失，未存储）"
    else:
        head = (f"{prepared.source_file}: {prepared.n_rows} rows, {prepared.n_valid} valid, "
                f"{prepared.n_rejected} rejected, {prepared.n_warnings} warnings")
        if prepared.n_missing:
            head += f" ({prepared.n_missing} rows with a missing value were not stored)"
    return "\n".join([head] + report_lines(prepared.rejections, lang, limit))
