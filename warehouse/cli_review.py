"""`planwatch review list|show|approve|return|log`: the operator's side of 逐级审核 (docs/reporting.md).

Each action is logged in the submission's events with the operator's name (`--as NAME`, required) and the role
`operator`. Approval stores the approved rows through the normal ingest (storage.ingest_file).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

review_app = typer.Typer(
    name="review",
    help=(
        "Submissions from the 填报 page awaiting review / 审核浏览器填报的数据.\n\n"
        "Examples:\n\n"
        "  planwatch review list --region 5001 --status submitted\n\n"
        "  planwatch review approve 500110_2025 --as zhang\n\n"
        "  planwatch review return 500110_2025 --reason '数值偏高，请核实' --row community_hospitals --as zhang"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_STATUS_ZH = {"not_started": "未开始", "draft": "草稿", "submitted": "待审核", "returned": "已退回",
              "approved": "已通过", "overdue": "逾期"}
WarehouseOpt = Annotated[Optional[Path], typer.Option("--warehouse", help="Warehouse folder (default: "
                                                      "$PLANWATCH_WAREHOUSE or the sample).")]
AsOpt = Annotated[str, typer.Option("--as", help="Your name, recorded in the review log (required).")]


def register(app: typer.Typer) -> None:
    app.add_typer(review_app, name="review")


def _store(warehouse: Path | None):
    from warehouse.defs_loader import require_definitions
    from warehouse.paths import default_defs_path, default_warehouse_path
    from warehouse.regions import RegionRegistry
    from warehouse.review_store import ReviewStore
    from warehouse.storage import Warehouse, WarehouseError

    wh = Warehouse(warehouse or default_warehouse_path())
    try:
        wh._require()
    except WarehouseError as exc:
        _fail(str(exc), code=2)
    return ReviewStore(wh, require_definitions(default_defs_path()), RegionRegistry.load(wh.regions_path))


def _fail(message: str, code: int = 1) -> None:
    typer.echo(f"错误 / error: {message}", err=True)
    raise typer.Exit(code)


def _name(value: str) -> str:
    value = (value or "").strip()
    if not value:
        _fail("--as 不能为空 / --as must name you")
    return value


def _run(action):
    from warehouse.review import ReviewError
    from warehouse.storage import WarehouseError

    try:
        return action()
    except ReviewError as exc:
        _fail(str(exc))
    except WarehouseError as exc:  # the lock is held, or the folder is not a warehouse
        _fail(str(exc))


@review_app.command("list")
def list_(
    region: Annotated[str, typer.Option(help="Region code: this region and everything below it.")],
    status: Annotated[Optional[str], typer.Option(help="submitted / returned / approved / draft")] = None,
    warehouse: WarehouseOpt = None,
) -> None:
    """List submissions of a region and below, with their status and rows awaiting review.

    Example: planwatch review list --region 5001 --status submitted
    """
    from warehouse.regions import canonical_code
    from warehouse.review import ROW_STATES, status_of

    if status is not None and status not in ROW_STATES:
        _fail(f"未知状态 {status!r}，可用：{', '.join(ROW_STATES)} / unknown status {status!r}; "
              f"use one of {', '.join(ROW_STATES)}", code=2)
    code = canonical_code(region) if region != "CN" else "CN"
    if not code:
        _fail(f"地区代码无效：{region!r} / not a region code: {region!r}", code=2)
    store = _store(warehouse)
    subs = store.list(region=code, status=status)
    if not subs:
        typer.echo("没有符合条件的填报 / no submissions match")
        return
    for sub in subs:
        st = status_of(sub)
        waiting = sum(1 for r in sub["rows"].values() if r["state"] == "submitted")
        typer.echo(f"{sub['id']}\t{_STATUS_ZH[st]} {st}\t{len(sub['rows'])} rows, {waiting} awaiting review\t"
                   f"by {sub.get('submitted_by') or sub.get('created_by')}")


@review_app.command()
def show(sub_id: Annotated[str, typer.Argument(help="Submission id, e.g. 500110_2025")],
         warehouse: WarehouseOpt = None) -> None:
    """Show a submission's rows and its whole history (who did what, when, in which role).

    Example: planwatch review show 500110_2025
    """
    store = _store(warehouse)
    sub = _run(lambda: store.get(sub_id))
    if sub is None:
        _fail(f"没有编号为 {sub_id} 的填报 / no submission {sub_id}")
    for ind, row in sub["rows"].items():
        figure = row["value"] if row["value"] is not None else f"{row['numerator']}/{row['denominator']}"
        extra = f"\treason: {row['reason']}" if row.get("reason") else ""
        typer.echo(f"{ind}\t{figure}\t{row['state']}{extra}")
    for ev in sub["events"]:
        typer.echo(f"  {ev['at']}\t{ev['action']}\t{ev['user']} ({ev['role']})\t{','.join(ev.get('rows') or [])}"
                   + (f"\t{ev['reason']}" if ev.get("reason") else ""))


@review_app.command()
def approve(
    sub_id: Annotated[str, typer.Argument(help="Submission id, e.g. 500110_2025")],
    as_: AsOpt,
    row: Annotated[Optional[list[str]], typer.Option("--row", help="Approve only this indicator (repeatable).")] = None,
    warehouse: WarehouseOpt = None,
) -> None:
    """Approve the rows awaiting review (all, or --row ones): they are stored in the warehouse now.

    Example: planwatch review approve 500110_2025 --as zhang
    """
    from warehouse.review import Actor
    from warehouse.review_store import OPERATOR

    store = _store(warehouse)
    sub = _run(lambda: store.approve(sub_id, Actor(_name(as_), OPERATOR), indicators=row or None))
    last = sub["events"][-1]
    typer.echo(f"已通过并入库 / approved and stored: {sub_id} ({len(last['rows'])} rows, batch {last.get('batch_id')})")


@review_app.command("return")
def return_(
    sub_id: Annotated[str, typer.Argument(help="Submission id, e.g. 500110_2025")],
    reason: Annotated[str, typer.Option(help="Why it goes back (shown to the office).")],
    as_: AsOpt,
    row: Annotated[Optional[list[str]], typer.Option("--row", help="Return only this indicator (repeatable).")] = None,
    warehouse: WarehouseOpt = None,
) -> None:
    """Return rows awaiting review (all, or --row ones) to the office with a reason.

    Example: planwatch review return 500110_2025 --reason '数值偏高，请核实' --as zhang
    """
    from warehouse.review import Actor
    from warehouse.review_store import OPERATOR

    store = _store(warehouse)
    sub = _run(lambda: store.return_rows(sub_id, reason, Actor(_name(as_), OPERATOR), indicators=row or None))
    typer.echo(f"已退回 / returned: {sub_id} ({len(sub['events'][-1]['rows'])} rows)")
