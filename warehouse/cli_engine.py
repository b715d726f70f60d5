"""`planwatch status | alerts | rank`: the engine's answers for analysts (table) and machines (json, csv).

Examples:
  planwatch status --region 50 --as-of 2025-12
  planwatch status --region 500101 --indicator community_workers_per_10k --format json
  planwatch alerts --region 50 --as-of 2025-12 --format csv
  planwatch rank --parent 50 --indicator composite
"""

from __future__ import annotations

import json
import math
from datetime import date, datetime
from enum import Enum
from pathlib import Path

import polars as pl
import typer

from warehouse import paths
from warehouse.periods import parse_as_of


class Format(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


# table format: the columns a reader needs to recompute the status by hand (json/csv carry every column)
STATUS_TABLE = [
    "region_code", "indicator_id", "period", "value", "baseline_value", "baseline_year", "comparator",
    "target_value", "target_year", "expected_now", "progress_ratio", "status", "plan_id", "reason_zh",
]
STATUS_VIEW = [
    "region_code", "region_name", "indicator_id", "indicator_zh", "period", "value", "value_source",
    "baseline_value", "baseline_year", "baseline_source", "comparator", "target_value", "target_year",
    "expected_now", "progress_ratio", "status", "final", "gap", "trend", "plan_id", "attribute", "reason_zh",
    "reason_en",
]
ALERT_VIEW = [
    "severity", "kind", "region_code", "region_name", "indicator_id", "indicator_zh", "attribute", "status",
    "period_end", "progress_ratio", "department_zh", "reason_zh", "reason_en",
]
ALERT_TABLE = ["severity", "kind", "region_code", "region_name", "indicator_id", "status", "department_zh", "reason_zh"]
RANK_VIEW = [
    "rank", "region_code", "region_name", "score", "previous_rank", "rank_change", "n_indicators", "n_no_data",
    "n_behind", "indicator_id", "status",
]

WAREHOUSE_HELP = "仓库目录 / warehouse folder (default: $PLANWATCH_WAREHOUSE or the sample)"
DEFS_HELP = "指标定义文件 / indicator_defs.yaml (default: $PLANWATCH_DEFS or the shipped one)"
AS_OF_HELP = "截至 / as of: 2025-12 (end of month, CST), 2025-12-15 or an ISO time (default: now)"
FORMAT_HELP = "输出格式 / output: table, json or csv"


def _fail(message: str) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(code=2)


ENGINE_HELP = "查询引擎 / query engine: duckdb (default) or spark (needs pyspark + Java); default $PLANWATCH_ENGINE"


def _engine(warehouse: Path | None, defs: Path | None, backend: str | None = None):
    from warehouse.defs_loader import load_definitions
    from warehouse.engine import Engine, EngineError
    from warehouse.storage import Warehouse, WarehouseError

    defs_path = defs or paths.default_defs_path()
    result = load_definitions(defs_path)
    if result.definitions is None:
        problems = "\n".join(str(p) for p in result.problems[:20])
        _fail(f"指标定义有错误 / the definitions have errors: {defs_path}\n{problems}")
    wh_path = warehouse or paths.default_warehouse_path()
    if Warehouse(wh_path).is_legacy():
        _fail(Warehouse(wh_path)._legacy_message())
    if not Warehouse(wh_path).exists():
        _fail(f"不是数据仓库 / not a warehouse: {wh_path}（可先运行 planwatch sample 或 planwatch warehouse init）")
    try:
        return Engine(wh_path, result.definitions, backend=backend)
    except (EngineError, WarehouseError, ValueError) as exc:
        _fail(str(exc))


def _default_plan(engine, parent: str, moment: datetime | None) -> str | None:
    """A composite score averages one plan's indicators: without --plan, the plan the dashboard would open on
    among the plans covering `parent` (warehouse/default_view.py), as the league table page does; "running"
    is judged at the --as-of moment."""
    from warehouse import default_view
    from warehouse.periods import utc_now

    plans = default_view.plans_covering(engine.defs, parent)
    if len(plans) < 2:
        return plans[0].id if plans else None
    return default_view.pick(engine.defs, lambda: default_view.latest_years(engine.warehouse.path),
                             moment or utc_now(), plans)


def _as_of(text: str | None) -> datetime | None:
    try:
        return parse_as_of(text)
    except ValueError as exc:
        _fail(f"--as-of 无法识别 / not understood: {exc}")


def _plain(value):
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 6)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def _emit(frame: pl.DataFrame, columns: list[str], fmt: Format, title: str) -> None:
    view = frame.select([c for c in columns if c in frame.columns])
    if fmt == Format.json:
        rows = [{k: _plain(v) for k, v in r.items()} for r in view.iter_rows(named=True)]
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    if fmt == Format.csv:
        from warehouse.safe_cells import safe_frame

        typer.echo(safe_frame(view.with_columns(pl.col(pl.Float64).round(6))).write_csv(), nl=False)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_lines=False)
    for col in view.columns:
        table.add_column(col, overflow="fold")
    from warehouse.status import format_ratio

    ratio_at = view.columns.index("progress_ratio") if "progress_ratio" in view.columns else -1
    for row in view.iter_rows():
        # the one rounding rule for ratios (status.format_ratio: rounded down, display caps), as pages and PDF
        table.add_row(*[format_ratio(v) if i == ratio_at else
                        "—" if v is None else (f"{v:.4g}" if isinstance(v, float) else str(v)) for i, v in enumerate(row)])
    Console(width=240).print(table)
    if view.height == 0:
        typer.echo("（无结果 / no rows）")


def _run(call):
    from warehouse.engine import EngineError
    from warehouse.spark import SparkUnavailable
    from warehouse.storage import WarehouseError

    try:
        return call()
    except (EngineError, WarehouseError, SparkUnavailable) as exc:
        _fail(str(exc))


def register(app: typer.Typer) -> None:
    """Add `status`, `alerts` and `rank` to the planwatch app."""

    @app.command("status")
    def status_cmd(
        region: str = typer.Option(..., "--region", help="地区代码或 group:<id> / region code or group:<id>"),
        indicator: str | None = typer.Option(None, "--indicator", help="指标 / indicator id"),
        plan: str | None = typer.Option(None, "--plan", help="规划 / plan id (default: the governing plan)"),
        as_of: str | None = typer.Option(None, "--as-of", help=AS_OF_HELP),
        fmt: Format = typer.Option(Format.table, "--format", help=FORMAT_HELP),
        warehouse: Path | None = typer.Option(None, "--warehouse", help=WAREHOUSE_HELP),
        defs: Path | None = typer.Option(None, "--defs", help=DEFS_HELP),
        backend: str | None = typer.Option(None, "--engine", help=ENGINE_HELP),
    ) -> None:
        """指标进度与状态 / value, baseline, target, expected-by-now, progress ratio, status, reason, plan.

        Examples:

          planwatch status --region 50 --as-of 2025-12

          planwatch status --region 500110 --indicator activity_area_share --format json

          planwatch status --region 51 --as-of 2025-06 --engine spark
        """
        engine = _engine(warehouse, defs, backend)
        moment = _as_of(as_of)
        frame = _run(lambda: engine.status(region, as_of=moment, plan_id=plan, indicator=indicator))
        _emit(frame, STATUS_TABLE if fmt == Format.table else STATUS_VIEW, fmt, f"{region} 指标状态 / status (as of {as_of or 'now'})")

    @app.command("alerts")
    def alerts_cmd(
        region: str = typer.Option(..., "--region", help="地区代码 / region code (its descendants included)"),
        plan: str | None = typer.Option(None, "--plan", help="规划 / plan id"),
        as_of: str | None = typer.Option(None, "--as-of", help=AS_OF_HELP),
        fmt: Format = typer.Option(Format.table, "--format", help=FORMAT_HELP),
        warehouse: Path | None = typer.Option(None, "--warehouse", help=WAREHOUSE_HELP),
        defs: Path | None = typer.Option(None, "--defs", help=DEFS_HELP),
        backend: str | None = typer.Option(None, "--engine", help=ENGINE_HELP),
    ) -> None:
        """预警 / amber and red statuses and overdue submissions, most severe first.

        Examples:

          planwatch alerts --region 50 --as-of 2025-12

          planwatch alerts --region group:wansheng --plan wansheng_2016 --as-of 2020-12 --format csv
        """
        engine = _engine(warehouse, defs, backend)
        moment = _as_of(as_of)
        frame = _run(lambda: engine.alerts(region, as_of=moment, plan_id=plan))
        _emit(frame, ALERT_TABLE if fmt == Format.table else ALERT_VIEW, fmt, f"{region} 预警 / alerts (as of {as_of or 'now'})")

    @app.command("rank")
    def rank_cmd(
        parent: str = typer.Option(..., "--parent", help="上级地区 / parent region code"),
        indicator: str = typer.Option("composite", "--indicator", help="指标或 composite / indicator id or composite"),
        plan: str | None = typer.Option(None, "--plan", help="规划 / plan id"),
        as_of: str | None = typer.Option(None, "--as-of", help=AS_OF_HELP),
        fmt: Format = typer.Option(Format.table, "--format", help=FORMAT_HELP),
        warehouse: Path | None = typer.Option(None, "--warehouse", help=WAREHOUSE_HELP),
        defs: Path | None = typer.Option(None, "--defs", help=DEFS_HELP),
        backend: str | None = typer.Option(None, "--engine", help=ENGINE_HELP),
    ) -> None:
        """下级地区排名 / rank the regions under a parent by an indicator or the composite score.

        Examples:

          planwatch rank --parent 50 --as-of 2025-12

          planwatch rank --parent 51 --indicator service_facility_coverage --format csv
        """
        engine = _engine(warehouse, defs, backend)
        moment = _as_of(as_of)
        if plan is None and indicator == "composite":
            plan = _default_plan(engine, parent, moment)
        frame = _run(lambda: engine.rank(parent, indicator, as_of=moment, plan_id=plan))
        about = f", plan {plan}" if plan else ""
        _emit(frame, RANK_VIEW, fmt, f"{parent} 排名 / ranking: {indicator}{about} (as of {as_of or 'now'})")
