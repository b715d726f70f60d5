"""CLI commands for the warehouse (registered by warehouse.cli):

    planwatch ingest FILE... [--warehouse DIR] [--accept-valid-rows] [--dry-run] [--sheet NAME] [--user NAME]
    planwatch warehouse init|compact|check|log|migrate [--warehouse DIR]
    planwatch sample --out DIR [--seed N] [--today YYYY-MM-DD]

User errors print a message (Chinese, then English) and exit non-zero; never a traceback.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Optional

import typer

from warehouse.paths import default_defs_path, default_warehouse_path, sample_regions_path

WarehouseOpt = typer.Option(None, "--warehouse", "-w", help="Warehouse folder (default: $PLANWATCH_WAREHOUSE or the sample).")


def _fail(message: str, code: int = 1) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(code)


def _print_notices(wh) -> None:
    """What the writer lock noticed (e.g. that the previous ingest did not finish: warehouse/wh_check.py)."""
    for note in getattr(wh, "notices", []):
        typer.echo(note, err=True)
    if hasattr(wh, "notices"):
        wh.notices.clear()


def _warehouse(path: Optional[Path]):
    from warehouse.storage import Warehouse

    return Warehouse(path or default_warehouse_path())


def load_definitions_or_exit(path: Optional[Path]):
    from warehouse.defs_loader import DefinitionsError, require_definitions

    try:
        return require_definitions(path or default_defs_path())
    except DefinitionsError as exc:
        _fail(str(exc), 2)


def load_registry_or_exit(wh):
    from warehouse.regions import RegionRegistry

    path = wh.regions_path if wh.regions_path.exists() else sample_regions_path()
    try:
        return RegionRegistry.load(path)
    except Exception as exc:  # unreadable registry file
        _fail(f"地区表无法读取 / cannot read the region registry {path}: {exc}", 2)


def ingest(
    files: list[Path] = typer.Argument(..., help="Submission files (CSV, XLSX, Parquet)."),
    warehouse: Optional[Path] = WarehouseOpt,
    accept_valid_rows: bool = typer.Option(False, "--accept-valid-rows", help="Store the valid rows even if some rows are rejected."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Validate and report only; store nothing."),
    sheet: Optional[str] = typer.Option(None, "--sheet", help="XLSX sheet name (default: the first sheet)."),
    user: Optional[str] = typer.Option(None, "--user", help="Who is ingesting (default: the login name)."),
    rejections: Optional[Path] = typer.Option(None, "--rejections", help="Dry run: where to write the rejection CSV (one input file)."),
    defs: Optional[Path] = typer.Option(None, "--defs", help="indicator_defs.yaml (default: $PLANWATCH_DEFS or the bundled one)."),
    received_at: Optional[str] = typer.Option(
        None, "--received-at", help="Backfill: when the file was really received (ISO, e.g. 2024-03-15T10:00+08:00; "
        "no offset = China Standard Time). As-of views use it; the log keeps the real ingest time."),
    force: bool = typer.Option(False, "--force", help="Backfill: store even when a later version of a key exists."),
) -> None:
    """Validate submission files and store each as an immutable batch (all-or-nothing per file by default).

    Exit code 1 if any file was rejected. When the access policy ($PLANWATCH_ACCESS) says
    `files_need_review: true`, a valid file's rows are submitted for review instead (counted once approved:
    `planwatch review`).

    Examples:

      planwatch ingest 2025年7月报送.csv --warehouse wh/ --dry-run

      planwatch ingest a.xlsx b.csv --warehouse wh/ --accept-valid-rows

      planwatch ingest --received-at 2024-03-15T10:00+08:00 2024年2月报送.csv --warehouse wh/
    """
    from warehouse.cli_progress import busy
    from warehouse.review import ReviewError
    from warehouse.storage import WarehouseError, ingest_file

    wh = _warehouse(warehouse)
    if not dry_run and not wh.exists():
        _fail(f"不是仓库目录：{wh.path}；请先运行 planwatch warehouse init --warehouse {wh.path}"
              f" / Not a warehouse: {wh.path}; run `planwatch warehouse init --warehouse {wh.path}` first.")
    if rejections is not None and len(files) > 1:
        _fail("--rejections 只能用于单个文件 / --rejections needs exactly one input file.")
    received = None
    if received_at is not None:
        from warehouse.backfill import BackfillError, parse_received_at

        try:
            received = parse_received_at(received_at)
        except BackfillError as exc:
            _fail(str(exc))
    definitions = load_definitions_or_exit(defs)
    registry = load_registry_or_exit(wh)
    review = _files_need_review(definitions, registry, received is not None)
    if review and dry_run:
        typer.echo("访问策略要求文件经审核后计入：正式运行会提交审核而不是直接入库 / the access policy says files need "
                   "review: a real run submits the rows for review instead of storing them")
    any_rejected = False
    for path in files:
        try:
            with busy(f"{path.name}: 读取与校验 / reading and validating"):
                if review and not dry_run:  # files_need_review (warehouse/review_files.py)
                    from warehouse.review_files import submit_file

                    result = submit_file(wh, path, definitions, registry, user=user,
                                         accept_valid_rows=accept_valid_rows, sheet=sheet)
                else:
                    result = ingest_file(wh, path, definitions, registry, accept_valid_rows=accept_valid_rows,
                                         dry_run=dry_run, user=user, sheet=sheet, rejections_path=rejections,
                                         received_at=received, force=force)
        except ReviewError as exc:  # a row already awaiting review elsewhere: nothing changed
            typer.echo(f"{path.name}: {exc}", err=True)
            any_rejected = True
            continue
        except WarehouseError as exc:
            _print_notices(wh)
            typer.echo(f"{path.name}: {exc}", err=True)
            any_rejected = True
            continue
        _print_notices(wh)
        typer.echo(result.summary("zh"))
        typer.echo("  " + result.summary("en").split("\n")[0])
        if not accept_valid_rows and result.rows_rejected and result.status in ("rejected", "dry_run") \
                and int(getattr(getattr(result, "prepared", None), "n_valid", 0) or 0) > 0:
            typer.echo("  可用 --accept-valid-rows 只接收正确的行 / use --accept-valid-rows to store the valid rows")
        prepared = result.prepared
        if prepared is not None and prepared.rejections.height and not prepared.file_error:
            from warehouse.ingest import report_lines

            typer.echo("\n".join(report_lines(prepared.rejections, "both", limit=10)))  # the same for --dry-run
        would_reject = result.status == "rejected" or (result.status == "dry_run" and result.rows_accepted == 0)
        any_rejected = any_rejected or would_reject
    if any_rejected:
        raise typer.Exit(1)


def _files_need_review(definitions, registry, backfill: bool) -> bool:
    """The access policy's `files_need_review` ($PLANWATCH_ACCESS; unset: files count at ingest). An invalid
    policy, or a backfill while files need review, stops the command before anything is read (exit 2)."""
    from warehouse.review_files import policy_says_review

    review, errors = policy_says_review(definitions, registry)
    if errors:
        _fail("访问策略无效，未处理任何文件 / the access policy ($PLANWATCH_ACCESS) is invalid; nothing was done:\n  "
              + "\n  ".join(errors), 2)
    if review and backfill:
        _fail("访问策略要求文件经审核后计入（files_need_review: true），补录（--received-at）不能经过审核；"
              "请先在策略中关闭该项再补录 / the access policy says files need review; a backfill (--received-at) "
              "cannot go through review: switch files_need_review off for the backfill", 2)
    return review


wh_app = typer.Typer(help="Warehouse maintenance: init, compact, check, log, migrate.", no_args_is_help=True)


@wh_app.command("init")
def wh_init(
    warehouse: Optional[Path] = WarehouseOpt,
    regions: Optional[Path] = typer.Option(None, "--regions", help="regions.parquet to use (default: the sample's)."),
) -> None:
    """Create an empty warehouse (folders, the Delta table, region registry).

    Example: planwatch warehouse init --warehouse wh/
    """
    wh = _warehouse(warehouse)
    source = regions or sample_regions_path()
    if not source.is_file():
        _fail(f"地区表不存在 / region registry not found: {source}")
    try:
        wh.init(regions=None if wh.regions_path.exists() and regions is None else source)
    except OSError as exc:
        from warehouse.safe_errors import describe

        zh, en = describe(exc)
        _fail(f"无法创建仓库 {wh.path}：{zh} / cannot create the warehouse {wh.path}: {en}")
    typer.echo(f"仓库已就绪 / warehouse ready: {wh.path} (version {wh.version()})")


@wh_app.command("compact")
def wh_compact(warehouse: Optional[Path] = WarehouseOpt) -> None:
    """Delta OPTIMIZE (z-order by region code) + VACUUM after the grace period; query results (as-of included) stay the same.

    Example: planwatch warehouse compact --warehouse wh/
    """
    from warehouse.cli_progress import busy
    from warehouse.storage import WarehouseError

    wh = _warehouse(warehouse)
    try:
        with busy("合并中 / compacting"):
            result = wh.compact()
    except WarehouseError as exc:
        _print_notices(wh)
        _fail(str(exc))
    _print_notices(wh)
    typer.echo(
        f"已合并 {result['merged_files']} 个文件，共 {result['rows']} 行；删除过期文件 {result['deleted']} 个"
        f" / merged {result['merged_files']} files, {result['rows']} rows; deleted {result['deleted']} retired files"
    )


@wh_app.command("migrate")
def wh_migrate(warehouse: Optional[Path] = WarehouseOpt) -> None:
    """Turn a warehouse of the old manifest layout into a Delta table (one commit per batch), then compact it.

    Example: planwatch warehouse migrate --warehouse wh/
    """
    from warehouse.migrate import MOVED, migrate
    from warehouse.storage import WarehouseError

    wh = _warehouse(warehouse)
    try:
        result = migrate(wh.path)
    except WarehouseError as exc:
        _fail(str(exc))
    typer.echo(
        f"已迁移 {result['batches']} 个批次，共 {result['rows']} 行（表版本 {result['version']}）；旧文件已移至 {MOVED}/"
        f" / migrated {result['batches']} batches, {result['rows']} rows (table version {result['version']});"
        f" old files moved to {MOVED}/"
    )


@wh_app.command("check")
def wh_check(warehouse: Optional[Path] = WarehouseOpt) -> None:
    """Verify every data file of the Delta table and the log. Exit 1 if there is an error.

    Example: planwatch warehouse check --warehouse wh/
    """
    wh = _warehouse(warehouse)
    problems = wh.check()
    for problem in problems:
        typer.echo(str(problem))
    n_err = sum(p.severity == "error" for p in problems)
    n_warn = len(problems) - n_err
    errors_en = f"{n_err} error" + ("" if n_err == 1 else "s")
    warnings_en = f"{n_warn} warning" + ("" if n_warn == 1 else "s")
    typer.echo(f"{n_err} 个错误，{n_warn} 个警告 / {errors_en}, {warnings_en} (version {wh.version() if wh.exists() else '-'})")
    if n_err:
        raise typer.Exit(1)


@wh_app.command("log")
def wh_log(
    warehouse: Optional[Path] = WarehouseOpt,
    limit: int = typer.Option(20, "--limit", "-n", min=0, help="Newest N attempts (0 = all)."),
) -> None:
    """The ingest log, newest last; times in China Standard Time.

    Example: planwatch warehouse log --warehouse wh/ -n 20
    """
    from warehouse.storage import WarehouseError, cst_text

    wh = _warehouse(warehouse)
    try:
        log = wh.log_entries()
    except WarehouseError as exc:
        _fail(str(exc))
    if limit:
        log = log.tail(limit)
    typer.echo("time (CST) | status | file | accepted/rejected/warnings | batch | user")
    for row in log.iter_rows(named=True):
        when = cst_text(row["ingested_at"]) if row["ingested_at"] else "-"
        counts = f"{row['rows_accepted'] or 0}/{row['rows_rejected'] or 0}/{row['warnings'] or 0}"
        extra = f" | {row['rejection_file']}" if row["rejection_file"] else ""
        if row.get("backfilled_by"):  # "as of" = received by: the time shown is the receipt time
            extra += f" | 补录 / backfilled by {row['backfilled_by']} at {row['logged_at']}"
        typer.echo(f"{when} | {row['status']} | {row['file_name']} | {counts} | {row['batch_id'] or '-'} | {row['user'] or '-'}{extra}")


def sample(
    out: Path = typer.Option(..., "--out", help="Folder to write the sample warehouse into (must be empty or absent)."),
    seed: int = typer.Option(7, "--seed", help="Random seed (same seed and today = same warehouse)."),
    today: Optional[str] = typer.Option(None, "--today", help="YYYY-MM-DD (default: the real today)."),
    defs: Optional[Path] = typer.Option(None, "--defs", help="indicator_defs.yaml (default: the bundled one)."),
) -> None:
    """Generate the synthetic sample warehouse (numbers are synthetic).

    Example: planwatch sample --out /tmp/sample --seed 7 --today 2025-11-20
    """
    from warehouse.sample import SampleError, generate_sample

    try:
        day = date.fromisoformat(today) if today else None
    except ValueError:
        _fail(f"日期格式错误 / not a date: {today!r} (expected YYYY-MM-DD)")
    definitions = load_definitions_or_exit(defs)
    from warehouse.cli_progress import bar

    try:
        with bar("生成 / generating") as step:
            summary = generate_sample(out, seed=seed, today=day, definitions=definitions, progress=step)
    except SampleError as exc:
        _fail(str(exc))
    typer.echo(
        f"示例仓库（合成数据）已生成 / synthetic sample warehouse written: {out} — "
        f"{summary['batches']} batches, {summary['rows']} rows, {summary['rejected']} rejected files"
    )


def register(app: typer.Typer) -> None:
    """Add this module's commands to the planwatch app."""
    app.command("ingest")(ingest)
    app.command("sample")(sample)
    app.add_typer(wh_app, name="warehouse")
