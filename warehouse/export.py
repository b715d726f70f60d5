"""Monthly snapshot export: the dashboard's charts as files, one combined PDF report, and manifest.json.

    result = run_export(ExportOptions(month="2025-12", region="50", out_dir=Path("report")))

Data are read through the engine as of the end of the month (24:00 CST on its last day), so exporting the same
month again after later corrections gives the same figures. Every chart's figure JSON is canonical (sorted input
rows, sorted keys) and its sha256 is recorded as `data_sha256` in the manifest.

Rendering uses one kaleido browser for the whole batch (`kaleido.start_sync_server(mathjax=False)`). A chart that
fails is recorded in `ExportResult.failures` and in the manifest; the other files are still written.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import re
import shutil
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import polars as pl

from warehouse import export_out
from warehouse import __version__, formatting, report_pdf
from warehouse.periods import parse_as_of, utc_now

FORMATS = ("png", "svg", "pdf")
DEFAULT_FORMATS = ("png", "pdf")
# Chart files: 16:9 at twice the CSS size, sharp when pasted into slides.
IMAGE_WIDTH = 1200
IMAGE_HEIGHT = 675
IMAGE_SCALE = 2
MANIFEST_NAME = "manifest.json"
# The report lists the most severe alerts (a province has hundreds among its districts); the note on the
# alerts page gives the total, and the dashboard lists them all.
ALERTS_IN_REPORT = 45

# The kaleido server is a process-wide singleton: one render session at a time per process (re-entrant, so a
# caller exporting several batches can hold one browser across them).
_RENDER_LOCK = threading.RLock()
_session_depth = 0


@contextlib.contextmanager
def render_session() -> Iterator[None]:
    """One headless browser (kaleido's sync server, MathJax off) for everything rendered inside; nested
    sessions reuse the outer one. The server is stopped when the outermost session ends."""
    global _session_depth
    import kaleido

    with _RENDER_LOCK:
        if _session_depth == 0:
            kaleido.start_sync_server(mathjax=False, silence_warnings=True)
        _session_depth += 1
        try:
            yield
        finally:
            _session_depth -= 1
            if _session_depth == 0:
                kaleido.stop_sync_server(silence_warnings=True)


class ExportError(Exception):
    """A problem with the request itself (unknown plan/region/indicator, bad month, missing warehouse).
    The message is Chinese first, then English."""


@dataclass(frozen=True)
class ExportOptions:
    month: str  # "2025-12"
    out_dir: Path
    region: str | None = None  # default: the plan's region, else CN
    plan_id: str | None = None  # default: the plan governing the region
    lang: str = "zh"
    formats: tuple[str, ...] = DEFAULT_FORMATS
    latest: bool = False  # everything known now instead of the month's end
    warehouse_dir: Path | None = None
    defs_path: Path | None = None
    indicators: tuple[str, ...] | None = None  # a subset of the plan's indicators (default: all)
    force: bool = False  # write over another export's manifest.json in out_dir


@dataclass
class ExportedFile:
    name: str
    kind: str  # chart / report
    format: str
    sha256: str
    bytes: int
    chart: str | None = None
    data_sha256: str | None = None
    width: int | None = None  # pixels (PNG) or CSS pixels (SVG)
    height: int | None = None


@dataclass
class ExportResult:
    out_dir: Path
    files: list[ExportedFile] = field(default_factory=list)
    failures: list[dict] = field(default_factory=list)  # {"item", "error"}
    manifest: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def manifest_path(self) -> Path:
        return self.out_dir / MANIFEST_NAME


ProgressHook = Callable[[int, int, str], None]  # (done, total, label)


# ---------------------------------------------------------------------------------------------------------
# names and hashes


def region_file_code(region: str) -> str:
    """The region part of file names: 6-digit padded code up to county level (50 -> 500000), longer codes
    as they are, CN as CN, a named group as `group-<id>`."""
    if region == "CN":
        return "CN"
    if region.startswith("group:"):
        return "group-" + region.split(":", 1)[1]
    return region.ljust(6, "0") if len(region) <= 6 else region


_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,150}")


def safe_name(name: str) -> str:
    """A file name built from validated ids; anything else (a path separator, `..`, control characters) is a
    bug upstream and is refused rather than written."""
    if not _SAFE_NAME.fullmatch(name) or ".." in name:
        raise ExportError(f"不安全的文件名 / unsafe file name refused: {name[:60]!r}")
    return name


def file_stem(month_label: str, region: str, chart: str) -> str:
    return safe_name(f"{month_label}_{region_file_code(region)}_{chart}")


def sha256_bytes(blob: bytes) -> str:
    return hashlib.sha256(blob).hexdigest()


def canonical_figure_json(fig: go.Figure) -> str:
    """The figure as JSON with sorted keys: identical input data give identical text."""
    return json.dumps(json.loads(fig.to_json()), sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def figure_data_sha256(fig: go.Figure) -> str:
    """sha256 of the canonical figure JSON (traces, layout, shapes: everything the chart shows)."""
    return sha256_bytes(canonical_figure_json(fig).encode("utf-8"))


# ---------------------------------------------------------------------------------------------------------
# the data of one export


@dataclass
class ExportData:
    month_label: str  # "2025-12" (or the month of "now" with --latest)
    as_of: datetime | None
    latest: bool
    region: str
    region_name: str
    definitions: Any  # definitions.Definitions
    plan: Any  # definitions.Plan
    lang: str
    status: pl.DataFrame
    children: pl.DataFrame
    alerts: pl.DataFrame
    ranking: pl.DataFrame
    trajectories: dict[str, pl.DataFrame]
    indicators: list[str]
    batch_ids: list[str]
    warehouse_version: int
    defs_sha256: str
    ledger: dict | None = None  # tasks_report.ledger_summary: the work ledger's page(s) in the PDF


# DuckDB sums in parallel, so a roll-up can differ in its last bit from one query to the next
# (55.07501201039957 vs ...59). Figures are built from values rounded to this many significant digits,
# far below anything shown and far above the noise.
SIGNIFICANT_DIGITS = 10


def _canonical(frame: pl.DataFrame) -> pl.DataFrame:
    floats = [c for c, t in frame.schema.items() if t in (pl.Float64, pl.Float32)]
    return frame.with_columns(pl.col(floats).round_sig_figs(SIGNIFICANT_DIGITS)) if floats and frame.height else frame


def _sorted(frame: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """Rows in a fixed order and floats rounded, so figures built from them are byte-identical run to run."""
    frame = _canonical(frame)
    present = [k for k in keys if k in frame.columns]
    return frame.sort(present, nulls_last=True, maintain_order=True) if present and frame.height else frame


def _in_plan_order(frame: pl.DataFrame, plan, keys: list[str]) -> pl.DataFrame:
    """Sort by `keys`, then indicators in the plan's table order (engine row order is not guaranteed)."""
    frame = _canonical(frame)
    if frame.height == 0 or "indicator_id" not in frame.columns:
        return frame
    order = {t.indicator: i for i, t in enumerate(plan.targets)}
    ranked = frame.with_columns(
        pl.col("indicator_id").replace_strict(order, default=len(order), return_dtype=pl.Int64).alias("_order")
    )
    return ranked.sort([*keys, "_order", "indicator_id"], maintain_order=True).drop("_order")


def _load_definitions(defs_path: Path):
    from warehouse.defs_loader import load_definitions

    if not defs_path.exists():
        raise ExportError(f"找不到指标定义文件 / definitions file not found: {defs_path}")
    result = load_definitions(defs_path)
    if result.definitions is None:
        problems = "\n".join(str(p) for p in result.problems if getattr(p, "severity", "error") == "error")
        raise ExportError(f"指标定义文件有错误 / the definitions file has errors:\n{problems}")
    return result.definitions, result.defs_hash


def _normalise_region(raw: str, registry) -> str:
    text = raw.strip()
    if text.upper() in ("CN", "全国"):
        return "CN"
    if text.startswith("group:"):
        return text
    code = registry.normalize_code(text) if registry is not None else None
    if code is None or (registry is not None and registry.get(code) is None):
        hint = ""
        if registry is not None:
            suggestions = registry.suggest(text)
            if suggestions:
                names = [f"{getattr(s, 'code', s)} {getattr(s, 'name', '')}".strip() for s in suggestions]
                hint = f"；可能是 / did you mean: {', '.join(names)}"
        raise ExportError(f"未知地区代码 / unknown region code: {raw!r}{hint}")
    return code


def _region_name(region: str, registry, definitions, lang: str) -> str:
    if region == "CN":
        return "全国" if lang == "zh" else "China"
    if region.startswith("group:"):
        try:
            return definitions.group(region.split(":", 1)[1]).name.get(lang)
        except KeyError as exc:
            raise ExportError(f"未知地区组 / unknown region group: {region}") from exc
    found = registry.get(region) if registry is not None else None
    return found.name if found is not None else region


def collect(options: ExportOptions, now: datetime | None = None) -> ExportData:
    """Read everything the export shows, through the engine, in a fixed order."""
    from warehouse.engine import Engine
    from warehouse.paths import default_defs_path, default_warehouse_path
    from warehouse.regions import RegionRegistry
    from warehouse.storage import Warehouse

    if options.lang not in ("zh", "en"):
        raise ExportError(f"语言只能是 zh 或 en / --lang must be zh or en, got {options.lang!r}")
    bad = [f for f in options.formats if f not in FORMATS]
    if bad or not options.formats:
        raise ExportError(f"未知格式 / unknown format(s): {', '.join(bad) or '(none)'}; 可选 / choose from {', '.join(FORMATS)}")
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", options.month or ""):
        raise ExportError(f"月份格式应为 2025-12 / --month must look like 2025-12, got {options.month!r}")
    try:
        export_out.check_out_dir(Path(options.out_dir))
    except export_out.OutDirError as exc:
        raise ExportError(str(exc)) from None

    wh_dir = Path(options.warehouse_dir or default_warehouse_path())
    warehouse = Warehouse(wh_dir)
    if not warehouse.exists():
        raise ExportError(f"找不到数据仓库 / warehouse not found: {wh_dir}（可先运行 / run first: planwatch sample）")
    definitions, defs_hash = _load_definitions(Path(options.defs_path or default_defs_path()))
    registry = RegionRegistry.load(warehouse.regions_path) if warehouse.regions_path.exists() else None

    try:
        as_of = None if options.latest else parse_as_of(options.month)
    except ValueError as exc:
        raise ExportError(f"月份超出范围 / --month out of range: {exc}") from None
    snapshot = warehouse.snapshot(as_of)
    engine = Engine(wh_dir, definitions, registry=registry)

    # plan and region defaults: the plan's region, else CN; the plan governing the region
    plan = None
    if options.plan_id:
        try:
            plan = definitions.plan(options.plan_id)
        except KeyError as exc:
            ids = ", ".join(p.id for p in definitions.plans)
            raise ExportError(f"未知规划 / unknown plan: {options.plan_id!r}（可选 / known: {ids}）") from exc
    if options.region:
        region = _normalise_region(options.region, registry)
    else:
        region = plan.region if plan is not None else "CN"
    if plan is None:
        governing = engine.governing_plan(region, as_of=as_of)
        if governing is None:
            raise ExportError(f"没有规划覆盖地区 {region} / no plan covers region {region}; 请用 --plan 指定")
        plan = governing[0]

    status = engine.status(region, as_of=as_of, plan_id=plan.id)
    known = list(dict.fromkeys(status["indicator_id"].to_list())) if status.height else []
    if options.indicators:
        unknown = [i for i in options.indicators if i not in known]
        if unknown:
            raise ExportError(
                f"规划 {plan.id} 在地区 {region} 没有这些指标 / plan {plan.id} has no such indicator for {region}: "
                f"{', '.join(unknown)}（可选 / known: {', '.join(known)}）"
            )
        indicators = list(options.indicators)
        status = status.filter(pl.col("indicator_id").is_in(indicators))
    else:
        indicators = known
    children = engine.children_status(region, as_of=as_of, plan_id=plan.id)
    if options.indicators and children.height:
        children = children.filter(pl.col("indicator_id").is_in(indicators))
    alerts = engine.alerts(region, as_of=as_of, plan_id=plan.id)
    if options.indicators and alerts.height and "indicator_id" in alerts.columns:
        alerts = alerts.filter(pl.col("indicator_id").is_in(indicators))
    ranking = engine.rank(region, "composite", as_of=as_of, plan_id=plan.id)
    trajectories = {
        ind: _sorted(frame, ["period_end", "period"])
        for ind, frame in engine.trajectories(region, indicators, as_of=as_of, plan_id=plan.id).items()
    }
    ledger = _ledger_summary(wh_dir, definitions, plan, region, as_of)
    month_label = options.month
    identity = {"month": month_label, "latest": options.latest, "region": region, "plan_id": plan.id,
                "lang": options.lang}
    try:
        export_out.check_not_another_export(Path(options.out_dir), identity, options.force)
    except export_out.OutDirError as exc:
        raise ExportError(str(exc)) from None
    return ExportData(
        month_label=month_label,
        as_of=as_of,
        latest=options.latest,
        region=region,
        region_name=_region_name(region, registry, definitions, options.lang),
        definitions=definitions,
        plan=plan,
        lang=options.lang,
        status=_in_plan_order(status, plan, []),
        children=_in_plan_order(children, plan, ["region_code"]),  # as the dashboard: regions by code
        alerts=_sorted(alerts, ["severity", "progress_ratio", "region_code", "indicator_id"]),
        ranking=_sorted(ranking, ["rank", "region_code"]),
        trajectories=trajectories,
        indicators=indicators,
        batch_ids=sorted(snapshot.batch_ids),
        warehouse_version=snapshot.version,
        defs_sha256=defs_hash,
        ledger=ledger,
    )


def _ledger_summary(wh_dir: Path, definitions: Any, plan: Any, region: str, as_of: datetime | None) -> dict | None:
    """The work ledger's summary for the PDF (tasks_report.ledger_summary); None when the plan has no tasks
    and no 督办 item was ever opened."""
    from warehouse import tasks_report
    from warehouse.regions import canonical_code
    from warehouse.tasks_store import EventLog

    if not plan.tasks and not EventLog(wh_dir).dir.is_dir():
        return None

    def members(ref: str) -> list[str]:
        return [canonical_code(m) or m for m in definitions.group(ref.split(":", 1)[1]).members]

    return tasks_report.ledger_summary(wh_dir, definitions, plan, region, as_of, members)


# ---------------------------------------------------------------------------------------------------------
# figures


@dataclass
class ChartJob:
    chart: str  # "overview_status", "indicator_<id>", "rankings", "heatmap"
    title: str
    build: Callable[[], go.Figure]


def chart_jobs(data: ExportData) -> list[ChartJob]:
    """The charts of one export, in report order. Builders are lazy so one failing chart fails alone."""
    from warehouse import charts, views

    lang = data.lang
    jobs = [
        ChartJob("overview_status", _t("overview_status", lang), lambda: charts.status_counts_figure(data.status, lang)),
    ]
    for ind in data.indicators:
        row = data.status.filter(pl.col("indicator_id") == ind)
        status_row = row.row(0, named=True) if row.height else {"indicator_id": ind}
        jobs.append(
            ChartJob(
                f"indicator_{ind}",
                status_row.get("indicator_en" if lang == "en" else "indicator_zh") or ind,
                lambda traj=data.trajectories[ind], srow=status_row: charts.trajectory_figure(traj, srow, lang),
            )
        )
    jobs.append(ChartJob("rankings", _t("rankings", lang), lambda: charts.rank_figure(views.ranked_regions(data.ranking), lang, value_column="score")))
    jobs.append(ChartJob("heatmap", _t("heatmap", lang), lambda: charts.status_heatmap(data.children, lang)))
    return jobs


_STRINGS = {
    "overview_status": ("指标状态分布", "Indicators by status"),
    "rankings": ("下级地区综合排名", "Composite ranking of sub-regions"),
    "heatmap": ("下级地区指标状态", "Status by sub-region and indicator"),
}


def _t(key: str, lang: str) -> str:
    zh, en = _STRINGS[key]
    return en if lang == "en" else zh


def image_height(fig: go.Figure) -> int:
    """Chart files are IMAGE_WIDTH wide and at least IMAGE_HEIGHT high; taller when the chart asks for it
    (a ranking of 38 districts)."""
    return max(IMAGE_HEIGHT, int(fig.layout.height or 0))


def _summary_rows(data: ExportData) -> tuple[list[list[str]], list[str]]:
    lang = data.lang
    rows, colours = [], []
    from warehouse import views

    for r in views.sort_for_display(data.status).iter_rows(named=True):
        unit = r.get("unit_en" if lang == "en" else "unit_zh")
        label = formatting.status_label(r.get("status"), lang)
        target = views.target_text(r, unit or "", lang)
        rows.append([
            r.get("indicator_en" if lang == "en" else "indicator_zh") or r["indicator_id"],
            report_pdf.text(r["attribute"], lang) if r.get("attribute") in ("binding", "expected") else formatting.MISSING,
            formatting.format_value(r.get("value"), unit),
            formatting.format_period(r.get("period"), lang),
            target,
            formatting.format_progress(r.get("progress_ratio")),
            label.text,
        ])
        colours.append(_tint(label.colour))
    return rows, colours


def _alert_rows(data: ExportData) -> tuple[list[list[str]], list[str]]:
    """The dashboard's alerts table (views.alerts_table) for the most severe ALERTS_IN_REPORT alerts,
    reduced to what fits a page."""
    from warehouse import i18n, views

    lang = data.lang
    alerts = data.alerts.head(ALERTS_IN_REPORT)
    table = views.alerts_table(alerts, data.definitions, lang)
    if table.height == 0:
        return [], []
    keys = ["col.status", "col.region", "col.indicator", "col.reason"]
    rows = []
    for shown, raw in zip(table.iter_rows(named=True), alerts.iter_rows(named=True)):
        row = [str(shown[i18n.t(k, lang)] or formatting.MISSING) for k in keys]
        # the engine names the column lead_department_* (status) or department_* (alerts)
        department = shown.get(i18n.t("col.department", lang))
        if not department or department == formatting.MISSING:
            department = i18n.pick(raw, "department", lang)
        row.append(department)
        rows.append(row)
    colours = [_tint(formatting.status_label(s, lang).colour) for s in alerts["status"].to_list()]
    return rows, colours


def _paren(inner: str, lang: str) -> str:
    return f" ({inner})" if lang == "en" else f"（{inner}）"


def _tint(hex_colour: str, share: float = 0.35) -> str:
    """A light version of a status colour, readable behind black text."""
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    mix = [round(255 - (255 - c) * share) for c in (r, g, b)]
    return "#" + "".join(f"{c:02X}" for c in mix)


def report_figures(data: ExportData) -> list[tuple[str, go.Figure]]:
    """Cover, status summary and alerts pages (the chart pages are appended by the caller)."""
    lang = data.lang
    counts = data.status.group_by("status").len() if data.status.height else None
    parts = []
    if counts is not None:
        by_status = dict(zip(counts["status"].to_list(), counts["len"].to_list()))
        for status in formatting.STATUSES:
            if by_status.get(status):
                parts.append(f"{formatting.status_text(status, lang)} {by_status[status]}")
    if data.latest:
        as_of_label = report_pdf.text("latest", lang)
    else:
        as_of_label = formatting.format_as_of(data.as_of, lang)
    snapshot_id = sha256_bytes("\n".join(data.batch_ids).encode())[:12]
    info = report_pdf.CoverInfo(
        plan_name=f"{data.plan.name.get(lang)}{_paren(data.plan.id, lang)}",
        region_name=f"{data.region_name}{_paren(region_file_code(data.region), lang)}",
        month_label=formatting.format_month(data.month_label, lang),
        as_of_label=as_of_label,
        data_version=f"{snapshot_id}{_paren(f'{len(data.batch_ids)} ' + report_pdf.text('batches', lang), lang)}",
        defs_version=data.defs_sha256[:12],
        generator=f"planwatch {__version__}",
        status_line="　".join(parts) or formatting.MISSING,
    )
    pages = [("cover", report_pdf.cover_figure(info, lang))]
    rows, colours = _summary_rows(data)
    header = [report_pdf.text(k, lang) for k in
              ("col_indicator", "col_attribute", "col_value", "col_period", "col_target", "col_progress", "col_status")]
    for i, fig in enumerate(report_pdf.table_figures(
        report_pdf.text("status_summary", lang), header, rows, lang,
        [3.2, 0.9, 1.4, 1.1, 1.6, 0.8, 1.3], colours, 6,
    )):
        pages.append((f"summary_{i + 1}", fig))
    rows, colours = _alert_rows(data)
    header = [report_pdf.text(k, lang) for k in ("col_status", "col_region", "col_indicator", "col_reason", "col_department")]
    alerts_title = report_pdf.text("alerts", lang)
    if data.alerts.height > len(rows):
        alerts_title += report_pdf.text("alerts_shown", lang).format(n=len(rows), total=data.alerts.height)
    for i, fig in enumerate(report_pdf.table_figures(
        alerts_title, header, rows, lang,
        [1.1, 1.2, 2.2, 4.0, 1.6], colours, 0, empty_text=report_pdf.text("no_alerts", lang),
    )):
        pages.append((f"alerts_{i + 1}", fig))
    if data.ledger is not None:
        from warehouse import tasks_report

        for i, fig in enumerate(tasks_report.summary_pages(data.ledger, data.plan, lang)):
            pages.append((f"ledger_{i + 1}", fig))
    return pages


# ---------------------------------------------------------------------------------------------------------
# rendering


def _render(fig: go.Figure, fmt: str, width: int, height: int, scale: float = 1) -> bytes:
    """One image through the running kaleido server (no new browser per figure)."""
    import kaleido

    sized = go.Figure(fig)
    sized.update_layout(width=width, height=height)
    for i, trace in enumerate(sized.data):  # fixed trace ids: plotly.js otherwise draws random ones into SVG
        if trace.uid is None:
            trace.uid = f"t{i}"
    opts = dict(format=fmt, width=width, height=height, scale=scale)
    return kaleido.calc_fig_sync(sized.to_plotly_json(), opts=opts)


def stable_svg(blob: bytes, uid: str) -> bytes:
    """plotly.js names the SVG's clip paths and defs after a random 6-hex-digit id per plot
    (`defs-532678`, `clip532678xy`); replace it with `uid` so the same figure gives the same SVG bytes."""
    text = blob.decode("utf-8")
    found = re.search(r'id="defs-([0-9a-f]{6})"', text)
    if found:
        text = re.sub(rf'(defs-|[#"]clip|[#"]legend){found[1]}', lambda m: m[1] + uid, text)
    return text.encode("utf-8")


class _WriteFailed(OSError):
    """Writing an export file failed (disk full, permissions): the whole export stops, nothing is put in place."""


def _write(path: Path, blob: bytes) -> None:
    tmp = path.with_name(path.name + ".part")
    try:
        tmp.write_bytes(blob)
        tmp.replace(path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise _WriteFailed(exc.errno, exc.strerror, path.name) from exc


def run_export(options: ExportOptions, progress: ProgressHook | None = None, now: datetime | None = None) -> ExportResult:
    """Export one month for one region and plan into options.out_dir. Raises ExportError for a bad request;
    chart failures are collected in the result (and the manifest), never raised."""
    started = time.monotonic()
    created_at = now or utc_now()
    data = collect(options, now=created_at)
    return write_export(data, options, progress, created_at, started)


def write_export(data: ExportData, options: ExportOptions, progress: ProgressHook | None = None,
                 created_at: datetime | None = None, started: float | None = None) -> ExportResult:
    """Render and write the files of collected data (charts, report, manifest.json): all into a staging
    folder first, then moved into place (warehouse/export_out.py). A write that fails (disk full …) raises
    ExportError and leaves out_dir as it was; the next run removes the leftovers."""
    out_dir = Path(options.out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        export_out.clean_leftovers(out_dir)
        stage = export_out.staging(out_dir)
    except OSError as exc:
        raise ExportError(_write_failed_message(exc)) from None
    try:
        result = _write_export(data, options, stage, progress, created_at, started)
        export_out.publish(stage, out_dir, [f.name for f in result.files] + [MANIFEST_NAME])
    except OSError as exc:
        export_out.discard(stage)
        raise ExportError(_write_failed_message(exc)) from None
    result.out_dir = out_dir
    return result


def _write_failed_message(exc: OSError) -> str:
    from warehouse.safe_errors import describe

    zh, en = describe(exc)
    return (f"导出写入失败（{zh}），文件夹中没有放入任何新文件 / writing the export failed ({en}); "
            "no new file was put in the folder")


def _write_export(data: ExportData, options: ExportOptions, out_dir: Path, progress: ProgressHook | None,
                  created_at: datetime | None, started: float | None) -> ExportResult:
    created_at = created_at or utc_now()
    started = started if started is not None else time.monotonic()
    result = ExportResult(out_dir=out_dir)
    jobs = chart_jobs(data)
    want_pdf = "pdf" in options.formats
    image_formats = [f for f in options.formats if f in ("png", "svg")]
    report_pages = report_figures(data) if want_pdf else []
    total = len(jobs) + len(report_pages) + (1 if want_pdf else 0)
    done = 0
    charts_meta: list[dict] = []
    chart_pdfs: list[bytes] = []
    page_pdfs: list[bytes] = []

    def step(label: str) -> None:
        nonlocal done
        done += 1
        if progress:
            progress(done, total, label)

    with render_session():
        for job in jobs:
            stem = file_stem(data.month_label, data.region, job.chart)
            meta = {"chart": job.chart, "title": job.title, "data_sha256": None, "files": []}
            charts_meta.append(meta)
            try:
                fig = job.build()
                meta["data_sha256"] = figure_data_sha256(fig)
                height = image_height(fig)
                for fmt in image_formats:
                    scale = IMAGE_SCALE if fmt == "png" else 1
                    blob = _render(fig, fmt, IMAGE_WIDTH, height, scale)
                    if fmt == "svg":
                        blob = stable_svg(blob, meta["data_sha256"][:6])
                    name = f"{stem}.{fmt}"
                    _write(out_dir / name, blob)
                    result.files.append(ExportedFile(name, "chart", fmt, sha256_bytes(blob), len(blob),
                                                     job.chart, meta["data_sha256"],
                                                     IMAGE_WIDTH * scale, height * scale))
                    meta["files"].append(name)
                if want_pdf:
                    # one A4 landscape page (longer when the chart needs it)
                    page_height = max(report_pdf.PAGE_HEIGHT, int(fig.layout.height or 0))
                    chart_pdfs.append(_render(fig, "pdf", report_pdf.PAGE_WIDTH, page_height))
            except _WriteFailed:
                raise
            except Exception as exc:  # one chart failing must not stop the batch
                result.failures.append({"item": job.chart, "error": f"{type(exc).__name__}: {exc}"})
                meta["error"] = f"{type(exc).__name__}: {exc}"
            step(job.chart)
        for name, fig in report_pages:
            try:
                page_pdfs.append(_render(fig, "pdf", report_pdf.PAGE_WIDTH, report_pdf.PAGE_HEIGHT))
            except Exception as exc:
                result.failures.append({"item": f"report:{name}", "error": f"{type(exc).__name__}: {exc}"})
            step(name)
        if want_pdf:
            name = f"{file_stem(data.month_label, data.region, 'report')}.pdf"
            try:
                title = f"{data.plan.name.get(data.lang)} {data.region_name} {data.month_label}"
                blob = report_pdf.merge_pdf_pages(page_pdfs + chart_pdfs, title)
                _write(out_dir / name, blob)
                result.files.append(ExportedFile(name, "report", "pdf", sha256_bytes(blob), len(blob)))
                report_page_count = len(page_pdfs) + len(chart_pdfs)
            except _WriteFailed:
                raise
            except Exception as exc:
                result.failures.append({"item": "report", "error": f"{type(exc).__name__}: {exc}"})
                report_page_count = 0
            step("report")

    result.manifest = build_manifest(data, options, result, charts_meta, created_at,
                                     report_pages=report_page_count if want_pdf else 0,
                                     duration=time.monotonic() - started)
    _write(out_dir / MANIFEST_NAME, (json.dumps(result.manifest, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
    return result


def build_manifest(data: ExportData, options: ExportOptions, result: ExportResult, charts_meta: list[dict],
                   created_at: datetime, report_pages: int, duration: float) -> dict:
    """manifest.json. Everything outside `created` depends only on the data, definitions and options, so a
    re-export of the same month gives the same values there."""
    return {
        "planwatch_version": __version__,
        "month": data.month_label,
        "latest": data.latest,
        "as_of": data.as_of.isoformat().replace("+00:00", "Z") if data.as_of else None,
        "region": data.region,
        "region_file_code": region_file_code(data.region),
        "region_name": data.region_name,
        "plan_id": data.plan.id,
        "lang": data.lang,
        "formats": list(options.formats),
        "indicators": data.indicators,
        "batch_ids": data.batch_ids,
        "snapshot_sha256": sha256_bytes("\n".join(data.batch_ids).encode()),
        "definitions_sha256": data.defs_sha256,
        "report_pages": report_pages,
        "charts": charts_meta,
        "files": [f.__dict__ for f in sorted(result.files, key=lambda f: f.name)],
        "failures": result.failures,
        "created": {
            "created_at": created_at.isoformat().replace("+00:00", "Z"),
            "warehouse_manifest_version": data.warehouse_version,
            "duration_seconds": round(duration, 2),
        },
    }


# ---------------------------------------------------------------------------------------------------------
# dashboard download


def export_zip_bytes(
    month: str,
    region: str | None = None,
    plan_id: str | None = None,
    lang: str = "zh",
    latest: bool = False,
    warehouse_dir: Path | None = None,
    defs_path: Path | None = None,
    formats: tuple[str, ...] = DEFAULT_FORMATS,
    indicators: tuple[str, ...] | None = None,
    progress: ProgressHook | None = None,
) -> bytes:
    """The same export as the CLI for the dashboard's current view, as the bytes of a zip file
    (flat: the chart files, the report and manifest.json). Raises ExportError for a bad request; chart
    failures are listed in the zipped manifest.json."""
    with tempfile.TemporaryDirectory(prefix="planwatch-export-") as tmp:
        out = Path(tmp) / "export"
        options = ExportOptions(month=month, out_dir=out, region=region, plan_id=plan_id, lang=lang,
                                formats=tuple(formats), latest=latest, warehouse_dir=warehouse_dir,
                                defs_path=defs_path, indicators=indicators)
        run_export(options, progress)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(out.iterdir()):
                archive.write(path, arcname=path.name)
        shutil.rmtree(out, ignore_errors=True)
        return buffer.getvalue()


def zip_file_name(month: str | None, region: str, plan_id: str) -> str:
    """Download name for the dashboard's zip, e.g. planwatch_2025-12_500000_chongqing_2021.zip."""
    return safe_name(f"planwatch_{month or 'latest'}_{region_file_code(region)}_{plan_id}.zip")


def export_view_zip(view: Any, warehouse_dir: Path | None = None, defs_path: Path | None = None,
                    indicators: tuple[str, ...] | None = None, progress: ProgressHook | None = None) -> tuple[str, bytes]:
    """The dashboard's "download export" for its current view (app_state.ViewState: plan_id, region, month,
    lang). A view without a month ("latest") exports everything known now under the current month's name.
    Returns (file name, zip bytes)."""
    from warehouse.periods import CST

    month = view.month or utc_now().astimezone(CST).strftime("%Y-%m")
    blob = export_zip_bytes(month, region=view.region, plan_id=view.plan_id, lang=view.lang,
                            latest=view.month is None, warehouse_dir=warehouse_dir, defs_path=defs_path,
                            indicators=indicators, progress=progress)
    return zip_file_name(view.month, view.region, view.plan_id), blob
