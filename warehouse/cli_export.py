"""CLI command `planwatch export` (registered by warehouse.cli)."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the planwatch app."""
    app.command("export")(export)


def export(
    out: Path = typer.Option(..., "--out", help="输出目录 / output folder"),
    month: str = typer.Option(None, "--month", help="月份，如 2025-12（数据截至该月末 24:00 北京时间）/ month, e.g. 2025-12"),
    region: str = typer.Option(None, "--region", help="地区代码（默认：规划所属地区或 CN）/ region code (default: the plan's region or CN)"),
    plan: str = typer.Option(None, "--plan", help="规划 id（默认：该地区适用的规划）/ plan id (default: the governing plan)"),
    lang: str = typer.Option("zh", "--lang", help="zh 或 en / zh or en"),
    formats: str = typer.Option("png,pdf", "--formats", help="png,svg,pdf 的组合；pdf = 合并报告 / any of png,svg,pdf; pdf = the combined report"),
    latest: bool = typer.Option(False, "--latest", help="使用目前已知的全部数据 / use everything known now"),
    warehouse: Path = typer.Option(None, "--warehouse", help="数据仓库目录 / warehouse folder"),
    defs: Path = typer.Option(None, "--defs", help="indicator_defs.yaml 路径 / path"),
    indicators: str = typer.Option(None, "--indicators", help="只导出这些指标（逗号分隔）/ only these indicators (comma-separated)"),
    force: bool = typer.Option(False, "--force", help="覆盖文件夹中另一次导出 / write over another export in --out"),
    final: bool = typer.Option(False, "--final", help="终期评估报告（PDF + XLSX + manifest）/ the final evaluation report of --plan"),
) -> None:
    """导出月度快照：图表、PDF 报告和 manifest.json / Export a monthly snapshot: charts, PDF report, manifest.json.

    Example: planwatch export --month 2025-12 --region 500000 --out report/

    Final evaluation: planwatch export --final --plan chongqing_2021 --region 50 --out final/
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from warehouse.export import ExportError, ExportOptions, collect, write_export
    from warehouse.periods import CST, utc_now

    console = Console(stderr=True)
    if final:
        _final(console, out, month, region, plan, lang, warehouse, defs, force)
        return
    if month is None:
        if not latest:
            console.print("[red]错误 / error:[/red] 需要 --month（或 --latest）/ --month is required (or --latest)")
            raise typer.Exit(2)
        month = utc_now().astimezone(CST).strftime("%Y-%m")
    options = ExportOptions(
        month=month,
        out_dir=out,
        region=region,
        plan_id=plan,
        lang=lang,
        formats=tuple(f.strip().lower() for f in formats.split(",") if f.strip()),
        latest=latest,
        warehouse_dir=warehouse,
        defs_path=defs,
        indicators=tuple(i.strip() for i in indicators.split(",") if i.strip()) if indicators else None,
        force=force,
    )
    try:
        data = collect(options)  # a bad request stops here, before anything is written
    except ExportError as exc:
        console.print(f"[red]错误 / error:[/red] {exc}")
        raise typer.Exit(2) from None
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console) as progress:
        task = progress.add_task("导出 / exporting", total=None)

        def on_step(done: int, total: int, label: str) -> None:
            progress.update(task, completed=done, total=total, description=f"导出 / exporting: {label}")

        try:
            result = write_export(data, options, progress=on_step)
        except ExportError as exc:
            progress.stop()
            console.print(f"[red]错误 / error:[/red] {exc}")
            raise typer.Exit(1) from None
    for failure in result.failures:
        console.print(f"[red]失败 / failed:[/red] {failure['item']}: {failure['error']}")
    console.print(
        f"已写入 / wrote {len(result.files)} 个文件 / files + {result.manifest_path.name} → {result.out_dir}"
    )
    if not result.ok:
        console.print(f"[red]{len(result.failures)} 项失败 / item(s) failed[/red]")
        raise typer.Exit(1)


def _final(console, out: Path, month: str | None, region: str | None, plan: str | None, lang: str,
           warehouse: Path | None, defs: Path | None, force: bool = False) -> None:
    """`export --final`: the plan's final evaluation report (warehouse/report_final.py)."""
    from warehouse.export import ExportError
    from warehouse.periods import CST, utc_now
    from warehouse.report_final import collect_final, counts, write_final

    if not plan:
        console.print("[red]错误 / error:[/red] --final 需要 --plan / --final needs --plan")
        raise typer.Exit(2)
    month = month or utc_now().astimezone(CST).strftime("%Y-%m")
    from warehouse.export_out import OutDirError, check_out_dir

    try:
        check_out_dir(out)
        report = collect_final(plan, region, month, lang, warehouse, defs)
    except OutDirError as exc:
        console.print(f"[red]错误 / error:[/red] {exc}")
        raise typer.Exit(2) from None
    except ExportError as exc:
        console.print(f"[red]错误 / error:[/red] {exc}")
        raise typer.Exit(2) from None
    try:
        manifest = write_final(report, out, utc_now(), force=force)  # another export's manifest, disk full …
    except ExportError as exc:
        console.print(f"[red]错误 / error:[/red] {exc}")
        raise typer.Exit(2) from None
    line = ", ".join(f"{r['result']} {r['n']}" for r in counts(report.results).iter_rows(named=True))
    console.print(f"终期评估 / final evaluation {report.plan_id} {report.region_name}: {line}")
    console.print(f"已写入 / wrote {len(manifest['files'])} 个文件 / files + manifest.json → {out}")

