"""The final evaluation report (终期评估) of a plan for a region: PDF + XLSX + manifest.json.

    planwatch export --final --plan chongqing_2021 --region 50 --out final/ [--month 2026-03]

Per target and region (the region and every accountable region below it where the plan's targets apply): the
final result - achieved (已达标), not achieved (未达标), not reported (未报送) - or, before the reporting
deadline, "awaiting final data" (待终期数据) beside the interim status. Binding targets first; counts per
result; the regions that missed binding targets with their lead departments.

Reproducible like the monthly export: data are read as of the end of `--month` (default: the current month),
rows and floats are put in a fixed order, the PDF is merged with a content-derived id and the XLSX carries a
fixed creation time, so the same month, data and definitions give the same bytes. manifest.json records the
batches read, the definitions hash and every file's sha256.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import plotly.graph_objects as go
import polars as pl

from warehouse import __version__, formatting, report_pdf
from warehouse import status as st

FINAL_RESULTS = ("achieved", "not_achieved", "not_reported", "awaiting")
RESULT_TEXT = {
    "achieved": ("已达标", "Achieved"),
    "not_achieved": ("未达标", "Not achieved"),
    "not_reported": ("未报送", "Not reported"),
    "awaiting": ("待终期数据", "Awaiting final data"),
    "no_target": ("无目标值", "No target value"),
}
_TEXT = {
    "title": ("规划终期评估报告", "Plan final evaluation report"),
    "counts": ("各结果数量", "Results"),
    "results": ("逐项终期结果（约束性指标在前）", "Final results by target (binding first)"),
    "missed": ("未完成约束性指标的地区及牵头部门", "Regions that missed binding targets, with lead departments"),
    "none_missed": ("无地区未完成约束性指标。", "No region missed a binding target."),
    "col_result": ("终期结果", "Final result"),
    "col_interim": ("中期状态", "Interim status"),
    "col_count": ("数量", "Count"),
    "col_binding": ("其中约束性", "of which binding"),
    "col_deadline": ("报送截止", "Reporting deadline"),
    "plan_period": ("规划期", "Plan period"),
}
COLUMNS = ["attribute", "indicator_id", "indicator_zh", "indicator_en", "region_code", "region_name", "level",
           "result", "status", "period", "value", "comparator", "target_value", "target_year", "gap",
           "final_deadline", "lead_department_zh", "lead_department_en", "reason_zh", "reason_en"]


def _t(key: str, lang: str) -> str:
    zh, en = _TEXT[key] if key in _TEXT else RESULT_TEXT[key]
    return en if lang == "en" else zh


def final_results(engine, plan_id: str, region: str, as_of: datetime) -> pl.DataFrame:
    """One row per target and region (COLUMNS), binding first, then the plan's order, then region code."""
    plan = engine.defs.plan(plan_id)
    frame = engine.descendants_status(region, as_of=as_of, plan_id=plan_id).filter(pl.col("plan_id") == plan_id)
    if frame.height == 0:
        return pl.DataFrame(schema={c: pl.String for c in COLUMNS})
    order = {t.indicator: i for i, t in enumerate(plan.targets)}
    result = (
        pl.when(pl.col("target_value").is_null()).then(pl.lit("no_target"))
        .when(pl.col("awaiting_final") | ~pl.col("final")).then(pl.lit("awaiting"))
        .when(pl.col("status") == st.ACHIEVED).then(pl.lit("achieved"))
        .when(pl.col("status") == st.NOT_REPORTED).then(pl.lit("not_reported"))
        .otherwise(pl.lit("not_achieved"))
    )
    gap = pl.when(pl.col("status") == st.NOT_REPORTED).then(None).otherwise(pl.col("gap"))
    out = frame.with_columns(
        result=result,
        gap=gap.round_sig_figs(10),
        value=pl.col("value").round_sig_figs(10),
        _a=(pl.col("attribute") != "binding").cast(pl.Int8),
        _o=pl.col("indicator_id").replace_strict(order, default=len(order), return_dtype=pl.Int64),
    )
    return out.sort(["_a", "_o", "region_code"]).select(COLUMNS)


def counts(results: pl.DataFrame) -> pl.DataFrame:
    """result, n, n_binding for every result (zeros included), in FINAL_RESULTS order."""
    rows = []
    for res in FINAL_RESULTS:
        part = results.filter(pl.col("result") == res) if results.height else results
        rows.append({"result": res, "n": part.height,
                     "n_binding": part.filter(pl.col("attribute") == "binding").height if part.height else 0})
    return pl.DataFrame(rows, schema={"result": pl.String, "n": pl.Int64, "n_binding": pl.Int64})


def missed_binding(results: pl.DataFrame) -> pl.DataFrame:
    """Regions that missed a binding target (not achieved or not reported), with the lead department."""
    if results.height == 0:
        return results
    return results.filter((pl.col("attribute") == "binding") & pl.col("result").is_in(["not_achieved", "not_reported"]))


# ---------------------------------------------------------------------------------------------------------
# files


@dataclass
class FinalReport:
    plan_id: str
    region: str
    region_name: str
    month: str
    as_of: datetime
    lang: str
    results: pl.DataFrame
    batch_ids: list[str]
    defs_sha256: str
    plan_name: str
    plan_period: str
    files: list[dict] = field(default_factory=list)


def _label(result: str, lang: str) -> str:
    zh, en = RESULT_TEXT[result]
    return en if lang == "en" else zh


def _target_text(r: dict) -> str:
    if r["target_value"] is None:
        return "—"
    return f"{formatting.comparator_sign(r['comparator'])}{formatting.format_number(r['target_value'])}"


def _cover(rep: FinalReport, lang: str) -> go.Figure:
    fig = go.Figure()
    fig.update_xaxes(visible=False, range=[0, 1])
    fig.update_yaxes(visible=False, range=[0, 1])
    fig.add_annotation(x=0.02, y=0.90, xanchor="left", text=f"<b>{_t('title', lang)}</b>", showarrow=False,
                       font=dict(size=30))
    fig.add_shape(type="line", x0=0.02, x1=0.98, y0=0.82, y1=0.82, line=dict(color="#0072B2", width=3))
    n = counts(rep.results)
    line = "；".join(f"{_label(r['result'], lang)} {r['n']}" for r in n.iter_rows(named=True))
    rows = [
        (report_pdf.text("plan", lang), rep.plan_name),
        (_t("plan_period", lang), rep.plan_period),
        (report_pdf.text("region", lang), rep.region_name),
        (report_pdf.text("as_of", lang), formatting.format_as_of(rep.as_of, lang)),
        (report_pdf.text("data_version", lang), f"{len(rep.batch_ids)} {report_pdf.text('batches', lang)}"),
        (report_pdf.text("defs_version", lang), rep.defs_sha256[:12]),
        (_t("counts", lang), line),
        (report_pdf.text("generated_by", lang), f"planwatch {__version__}"),
    ]
    for i, (label, value) in enumerate(rows):
        y = 0.72 - i * 0.08
        fig.add_annotation(x=0.02, y=y, xanchor="left", text=f"<b>{label}</b>", showarrow=False,
                           font=dict(size=18, color="#555555"))
        fig.add_annotation(x=0.24, y=y, xanchor="left", text=value, showarrow=False, font=dict(size=18))
    return report_pdf._base_layout(fig, None)


def pdf_figures(rep: FinalReport) -> list[go.Figure]:
    from warehouse.export import _tint  # the monthly report's status tint

    lang = rep.lang
    pick = (lambda r, k: r[f"{k}_en"] or r[f"{k}_zh"]) if lang == "en" else (lambda r, k: r[f"{k}_zh"])
    figures = [_cover(rep, lang)]
    n = counts(rep.results)
    figures += report_pdf.table_figures(
        _t("counts", lang), [_t("col_result", lang), _t("col_count", lang), _t("col_binding", lang)],
        [[_label(r["result"], lang), str(r["n"]), str(r["n_binding"])] for r in n.iter_rows(named=True)],
        lang, [3, 1, 1])
    rows, colours = [], []
    for r in rep.results.iter_rows(named=True):
        res = r["result"]
        interim = formatting.status_label(r["status"], lang).label if res == "awaiting" else "—"
        rows.append([
            report_pdf.text(r["attribute"], lang) if r["attribute"] in ("binding", "expected") else "—",
            pick(r, "indicator"), r["region_name"], _label(res, lang), interim,
            formatting.format_number(r["value"]), formatting.format_period(r["period"], lang), _target_text(r),
            pick(r, "lead_department") or "—",
        ])
        colours.append(_tint(formatting.COLOURS.get({"awaiting": "no_data"}.get(res, res), "#C8C8C8")
                             if res != "no_target" else "#C8C8C8"))
    header = [report_pdf.text("col_attribute", lang), report_pdf.text("col_indicator", lang),
              report_pdf.text("col_region", lang), _t("col_result", lang), _t("col_interim", lang),
              report_pdf.text("col_value", lang), report_pdf.text("col_period", lang),
              report_pdf.text("col_target", lang), report_pdf.text("col_department", lang)]
    figures += report_pdf.table_figures(_t("results", lang), header, rows, lang, [1, 4, 2, 1.4, 1.4, 1.2, 1.4, 1, 2],
                                        row_colours=colours, colour_column=3)
    missed = missed_binding(rep.results)
    figures += report_pdf.table_figures(
        _t("missed", lang),
        [report_pdf.text("col_region", lang), report_pdf.text("col_indicator", lang), _t("col_result", lang),
         report_pdf.text("col_department", lang), report_pdf.text("col_reason", lang)],
        [[r["region_name"], pick(r, "indicator"), _label(r["result"], lang), pick(r, "lead_department") or "—",
          pick(r, "reason")] for r in missed.iter_rows(named=True)] if missed.height else [],
        lang, [1.5, 3, 1.2, 2, 5], empty_text=_t("none_missed", lang))
    return figures


def xlsx_bytes(rep: FinalReport) -> bytes:
    """Two sheets (results, counts) with a fixed creation time, so equal data give equal bytes."""
    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    book.set_properties({"title": f"{rep.plan_id} {rep.region} final evaluation", "author": "planwatch",
                         "created": datetime(2000, 1, 1)})
    results = rep.results.with_columns(
        result_text=pl.col("result").replace_strict({k: _label(k, rep.lang) for k in RESULT_TEXT},
                                                    default=pl.col("result")))
    results.write_excel(book, worksheet="final_results", autofit=True, freeze_panes=(1, 0))
    counts(rep.results).write_excel(book, worksheet="counts", autofit=True)
    book.close()
    return buffer.getvalue()


def stem(rep: FinalReport) -> str:
    return f"终期评估_{rep.plan_id}_{rep.region.replace(':', '-')}_{rep.month}"


def write_final(rep: FinalReport, out_dir: Path, created_at: datetime, force: bool = False) -> dict:
    """Write PDF, XLSX and manifest.json; returns the manifest. Protected like the monthly export
    (warehouse/export_out.py): another export's manifest.json in out_dir is not written over unless `force`
    (checked before any rendering); the files are written into a staging folder and moved into place, manifest
    last, so a failed write (disk full …) raises ExportError and leaves out_dir as it was."""
    from warehouse import export_out
    from warehouse.export import ExportError, _render, _write, _write_failed_message, render_session, sha256_bytes

    out_dir = Path(out_dir)
    identity = {"kind": "final_evaluation", "month": rep.month, "latest": None, "region": rep.region,
                "plan_id": rep.plan_id, "lang": rep.lang}
    try:
        export_out.check_out_dir(out_dir)
        export_out.check_not_another_export(out_dir, identity, force)
    except export_out.OutDirError as exc:
        raise ExportError(str(exc)) from None
    with render_session():
        pages = [_render(fig, "pdf", report_pdf.PAGE_WIDTH, report_pdf.PAGE_HEIGHT) for fig in pdf_figures(rep)]
    pdf = report_pdf.merge_pdf_pages(pages, f"{rep.plan_name} {rep.region_name} {_t('title', rep.lang)}")
    xlsx = xlsx_bytes(rep)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        export_out.clean_leftovers(out_dir)
        stage = export_out.staging(out_dir)
    except OSError as exc:
        raise ExportError(_write_failed_message(exc)) from None
    try:
        files = []
        for ext, blob in (("pdf", pdf), ("xlsx", xlsx)):
            name = f"{stem(rep)}.{ext}"
            _write(stage / name, blob)
            files.append({"name": name, "format": ext, "sha256": sha256_bytes(blob), "bytes": len(blob)})
        manifest = {
            "planwatch_version": __version__,
            "kind": "final_evaluation",
            "plan_id": rep.plan_id,
            "region": rep.region,
            "region_name": rep.region_name,
            "month": rep.month,
            "as_of": rep.as_of.isoformat().replace("+00:00", "Z"),
            "lang": rep.lang,
            "counts": {r["result"]: r["n"] for r in counts(rep.results).iter_rows(named=True)},
            "batch_ids": rep.batch_ids,
            "snapshot_sha256": hashlib.sha256("\n".join(rep.batch_ids).encode()).hexdigest(),
            "definitions_sha256": rep.defs_sha256,
            "report_pages": len(pages),
            "files": files,
            "created": {"created_at": created_at.isoformat().replace("+00:00", "Z")},
        }
        _write(stage / export_out.MANIFEST_NAME,
               (json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
        export_out.publish(stage, out_dir, [f["name"] for f in files] + [export_out.MANIFEST_NAME])
    except OSError as exc:
        export_out.discard(stage)
        raise ExportError(_write_failed_message(exc)) from None
    return manifest


def collect_final(plan_id: str, region: str | None, month: str, lang: str, warehouse_dir=None,
                  defs_path=None) -> FinalReport:
    """Validate the request and read the results (raises export.ExportError with a zh/en message)."""
    import re

    from warehouse.engine import Engine, EngineError
    from warehouse.export import ExportError, _load_definitions, _normalise_region, _region_name
    from warehouse.paths import default_defs_path, default_warehouse_path
    from warehouse.periods import parse_as_of
    from warehouse.regions import RegionRegistry
    from warehouse.storage import Warehouse

    if lang not in ("zh", "en"):
        raise ExportError(f"语言只能是 zh 或 en / --lang must be zh or en, got {lang!r}")
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month or ""):
        raise ExportError(f"月份格式应为 2026-03 / --month must look like 2026-03, got {month!r}")
    wh_dir = Path(warehouse_dir or default_warehouse_path())
    warehouse = Warehouse(wh_dir)
    if not warehouse.exists():
        raise ExportError(f"找不到数据仓库 / warehouse not found: {wh_dir}")
    definitions, defs_hash = _load_definitions(Path(defs_path or default_defs_path()))
    try:
        plan = definitions.plan(plan_id)
    except KeyError:
        ids = ", ".join(p.id for p in definitions.plans)
        raise ExportError(f"未知规划 / unknown plan: {plan_id!r}（可选 / known: {ids}）") from None
    registry = RegionRegistry.load(warehouse.regions_path) if warehouse.regions_path.exists() else None
    code = _normalise_region(region, registry) if region else plan.region
    as_of = parse_as_of(month)
    engine = Engine(wh_dir, definitions, registry=registry)
    try:
        results = final_results(engine, plan.id, code, as_of)
    except EngineError as exc:
        raise ExportError(str(exc)) from None
    return FinalReport(
        plan_id=plan.id, region=code, region_name=_region_name(code, registry, definitions, lang), month=month,
        as_of=as_of, lang=lang, results=results, batch_ids=sorted(warehouse.snapshot(as_of).batch_ids),
        defs_sha256=defs_hash, plan_name=plan.name.get(lang),
        plan_period=f"{plan.period.start}–{plan.period.target}",
    )
