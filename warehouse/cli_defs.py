"""`planwatch defs ...`: validate and list the indicator definitions (registered by warehouse.cli)."""

from __future__ import annotations

import csv
import difflib
import io
import json
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

import polars as pl

from warehouse.definitions import Definitions
from warehouse.defs_loader import LoadResult, load_definitions

defs_app = typer.Typer(
    name="defs",
    help=(
        "Check and list indicator_defs.yaml / 检查并列出指标定义.\n\n"
        "Examples:\n\n"
        "  planwatch defs validate\n\n"
        "  planwatch defs validate my_defs.yaml --format json\n\n"
        "  planwatch defs list --plan chongqing_2021"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

COMPARATOR_SIGNS = {">=": "≥", "<=": "≤", ">": ">", "<": "<", "=": "="}
LIST_COLUMNS = [
    "plan", "indicator", "name_zh", "name_en", "unit_zh", "unit_en", "baseline", "baseline_year",
    "comparator", "target", "target_high", "target_year", "attribute", "kind", "source",
]


class ValidateFormat(str, Enum):
    text = "text"
    json = "json"


class ListFormat(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


def register(app: typer.Typer) -> None:
    """Add the `defs` sub-app to the planwatch app."""
    app.add_typer(defs_app, name="defs")


def _default_path() -> Path:
    from warehouse.paths import default_defs_path

    return default_defs_path()


@defs_app.command()
def validate(
    path: Annotated[
        Path | None,
        typer.Argument(help="The definitions file; default: $PLANWATCH_DEFS, else ./indicator_defs.yaml.",
                       show_default=False),
    ] = None,
    fmt: Annotated[ValidateFormat, typer.Option("--format", help="text: one problem per line; json: a list.")]
    = ValidateFormat.text,
) -> None:
    """Check a definitions file and report every problem with file:line:column / 校验指标定义文件.

    Exit code 0 when there are no errors (warnings allowed), 1 otherwise.

    Examples:

      planwatch defs validate

      planwatch defs validate indicator_defs.yaml

      planwatch defs validate indicator_defs.yaml --format json
    """
    result = load_definitions(path if path is not None else _default_path())
    if fmt is ValidateFormat.json:
        typer.echo(json.dumps([p.to_dict() for p in result.problems], ensure_ascii=False, indent=2))
    else:
        for problem in result.problems:
            typer.echo(str(problem))
        typer.echo(result.summary())
    raise typer.Exit(0 if result.ok else 1)


@defs_app.command("list")
def list_targets(
    plan: Annotated[str | None, typer.Option("--plan", help="Only this plan id.")] = None,
    fmt: Annotated[ListFormat, typer.Option("--format", help="table (for reading), json or csv.")]
    = ListFormat.table,
    defs: Annotated[
        Path | None,
        typer.Option("--defs", help="The definitions file; default: $PLANWATCH_DEFS, else ./indicator_defs.yaml.",
                     show_default=False),
    ] = None,
) -> None:
    """List every plan target, one row each / 列出各规划的指标目标.

    Columns: plan, indicator id, name, unit, baseline and its year, comparator, target and its year,
    attribute (binding 约束性 / expected 预期性), kind (main table row or text target), source.

    Examples:

      planwatch defs list

      planwatch defs list --plan sichuan_2021

      planwatch defs list --format csv > targets.csv

      planwatch defs list --format json --defs my_defs.yaml
    """
    result = load_definitions(defs if defs is not None else _default_path())
    definitions = _require_ok(result)
    plan_ids = [p.id for p in definitions.plans]
    if plan is not None and plan not in plan_ids:
        close = difflib.get_close_matches(plan, plan_ids, n=1)
        hint = f"; did you mean `{close[0]}`?" if close else ""
        typer.echo(f"错误 / error: unknown plan `{plan}`{hint} (plans: {', '.join(plan_ids)})", err=True)
        raise typer.Exit(1)
    rows = target_rows(definitions, plan)
    if fmt is ListFormat.json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
    elif fmt is ListFormat.csv:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=LIST_COLUMNS, lineterminator="\n")
        writer.writeheader()
        from warehouse.safe_cells import safe_cell

        writer.writerows({k: safe_cell(v) for k, v in r.items()} for r in rows)  # formula cells neutralised
        typer.echo(buffer.getvalue(), nl=False)
    else:
        _print_table(rows)


def target_rows(definitions: Definitions, plan_id: str | None = None) -> list[dict[str, Any]]:
    """One dict per plan target with the LIST_COLUMNS keys (numbers stay numbers, unknown is None)."""
    rows = []
    for plan in definitions.plans:
        if plan_id is not None and plan.id != plan_id:
            continue
        for t in plan.targets:
            ind = definitions.indicator(t.indicator)
            source = " ".join(
                part for part in (t.source.table, f"#{t.source.row}" if t.source.row is not None else None) if part
            )
            rows.append({
                "plan": plan.id,
                "indicator": ind.id,
                "name_zh": ind.name.zh,
                "name_en": ind.name.en,
                "unit_zh": ind.unit.zh,
                "unit_en": ind.unit.en,
                "baseline": _clean(t.baseline.value) if t.baseline else None,
                "baseline_year": t.baseline.year if t.baseline else None,
                "comparator": t.target.comparator.value if t.target else None,
                "target": _clean(t.target.value) if t.target else None,
                "target_high": _clean(t.target.value_high) if t.target else None,
                "target_year": t.target.year if t.target else None,
                "attribute": t.attribute.value,
                "kind": t.kind,
                "source": source or None,
            })
    return rows


def _require_ok(result: LoadResult) -> Definitions:
    if result.definitions is None:
        for problem in result.errors:
            typer.echo(str(problem), err=True)
        typer.echo(f"错误 / error: the definitions have errors ({result.summary()}); "
                   f"run `planwatch defs validate {result.file}`", err=True)
        raise typer.Exit(1)
    return result.definitions


def _print_table(rows: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(show_lines=False)
    for title in ("规划 plan", "指标 indicator", "名称 name", "单位 unit", "基期 baseline", "目标 target",
                  "属性 attribute", "类型 kind", "来源 source"):
        table.add_column(title, overflow="fold", no_wrap=title != "名称 name")
    for r in rows:
        baseline = "—" if r["baseline"] is None else f"{_num(r['baseline'])} ({r['baseline_year']})"
        if r["target"] is None:
            target = "—"
        else:
            value = _num(r["target"])
            if r["target_high"] is not None:
                value += f"–{_num(r['target_high'])}"
            target = f"{COMPARATOR_SIGNS[r['comparator']]} {value} ({r['target_year']})"
        table.add_row(r["plan"], r["indicator"], r["name_zh"], r["unit_zh"], baseline, target,
                      r["attribute"], r["kind"], r["source"] or "")
    console = Console()
    if not console.is_terminal:  # piped or captured: do not squeeze the table into 80 columns
        console = Console(width=240)
    console.print(table)
    typer.echo(f"{len(rows)} targets")


def _clean(value: float | None) -> float | int | None:
    """30.0 -> 30 so JSON and CSV show numbers as the plan prints them."""
    return int(value) if value is not None and float(value).is_integer() else value


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


@defs_app.command()
def baselines(
    plan: Annotated[str, typer.Option("--plan", help="规划 / plan id, e.g. jiangsu_2026")],
    as_of: Annotated[str | None, typer.Option("--as-of", help="截至 / as of (2026-06); default: now")] = None,
    fmt: Annotated[ListFormat, typer.Option("--format", help="table, json or csv")] = ListFormat.table,
    warehouse: Annotated[Path | None, typer.Option("--warehouse", help="数据仓库目录 / warehouse folder")] = None,
    defs: Annotated[Path | None, typer.Option("--defs", help="indicator_defs.yaml")] = None,
) -> None:
    """每个地区的基期值及其来源，标出无基期数据的地区 / each region's baseline and where it comes from; flags
    regions with none (plan succession: `baseline: {from: warehouse, year: 2025}`).

    Example: planwatch defs baselines --plan jiangsu_2026 --warehouse wh/
    """
    from warehouse import cli_engine
    from warehouse.baselines import baseline_table

    engine = cli_engine._engine(warehouse, defs)
    cli_engine._run(lambda: engine._check_plan(plan))
    table = cli_engine._run(lambda: baseline_table(engine, plan, cli_engine._as_of(as_of)))
    cli_engine._emit(table, list(table.columns), cli_engine.Format(fmt.value), f"{plan} 基期值 / baselines")
    missing = table.filter(pl.col("missing")) if table.height else table
    if missing.height:
        typer.echo(f"{missing.height} 项无基期值（不计算进度）/ {missing.height} without a baseline (no progress ratio):")
        for r in missing.iter_rows(named=True):
            typer.echo(f"  {r['region_name']} {r['region_code']} · {r['indicator_zh']}: 无 {r['baseline_year']} 年数据 / "
                       f"no {r['baseline_year']} value")

