"""`planwatch tasks ...` (key tasks, progress, ledger) and `planwatch duban ...` (督办), registered by warehouse.cli.

Every command that changes something takes `--as NAME` (the identity recorded with the change); the dashboard
will pass the signed-in identity instead. Errors are one zh / en line on stderr, exit code 2, nothing written.
"""

from __future__ import annotations

import csv
import io
import json
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Callable

import typer

from warehouse import paths

WAREHOUSE_HELP = "仓库目录 / warehouse folder (default: $PLANWATCH_WAREHOUSE or the sample)"
DEFS_HELP = "指标定义文件 / indicator_defs.yaml (default: $PLANWATCH_DEFS or the shipped one)"
AS_HELP = "操作人 / who does this (recorded with the change; required)"
AS_OF_HELP = "截至 / as of: 2020-12 (end of month, CST), 2020-12-15 or an ISO time (default: now)"


class Format(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


tasks_app = typer.Typer(
    name="tasks",
    help=(
        "Key tasks, progress reports and the work ledger / 重点任务、进展报告和工作台账.\n\n"
        "Examples:\n\n"
        "  planwatch tasks list --plan wansheng_2016 --format json\n\n"
        "  planwatch tasks report ws_volunteer_system --unit 文明办 --period 2019 --state delayed "
        "--account \"注册率12%\" --as 张三\n\n"
        "  planwatch tasks ledger --plan wansheng_2016 --as-of 2020-03"
    ),
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
)
duban_app = typer.Typer(
    name="duban",
    help=(
        "督办 (supervision items): open from an alert or a delayed task, answer, close, list.\n\n"
        "Examples:\n\n"
        "  planwatch duban open --task ws_volunteer_system --department 文明办 --request \"说明滞后原因\" "
        "--deadline 2026-12-31 --as 李局长\n\n"
        "  planwatch duban answer DB0001 --department 文明办 --action \"已补招志愿者\" --done-by 2026-12-20 --as 王五\n\n"
        "  planwatch duban list --overdue"
    ),
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
)


def register(app: typer.Typer) -> None:
    app.add_typer(tasks_app, name="tasks")
    app.add_typer(duban_app, name="duban")


# ---- shared helpers ----------------------------------------------------------------------------


def _fail(message: str) -> None:
    typer.echo(f"错误 / error: {message}", err=True)
    raise typer.Exit(code=2)


def _defs(path: Path | None):
    from warehouse.defs_loader import load_definitions

    result = load_definitions(path or paths.default_defs_path())
    if result.definitions is None:
        problems = "\n".join(str(p) for p in result.errors[:20])
        _fail(f"指标定义有错误 / the definitions have errors ({result.summary()}):\n{problems}")
    return result.definitions


def _wh(path: Path | None) -> Path:
    return path or paths.default_warehouse_path()


def _as_of(text: str | None):
    from warehouse.periods import parse_as_of

    try:
        return parse_as_of(text)
    except ValueError:
        _fail(f"截至时间无效：{str(text)[:40]!r}（应为 2020-12、2020-12-15 或 ISO 时间） / not a valid as-of time: "
              f"{str(text)[:40]!r} (expected 2020-12, 2020-12-15 or an ISO time)")


def _run(action: Callable[[], Any]) -> Any:
    from warehouse.tasks_store import TasksError

    try:
        return action()
    except TasksError as exc:
        _fail(str(exc))


def _emit(rows: list[dict], fmt: Format, columns: list[str]) -> None:
    if fmt is Format.json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    flat = [{c: _cell(r.get(c)) for c in columns} for r in rows]
    if fmt is Format.csv:
        from warehouse.tasks_store import spreadsheet_safe

        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows([{c: spreadsheet_safe(v) for c, v in r.items()} for r in flat])
        typer.echo(buffer.getvalue(), nl=False)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table()
    for c in columns:
        table.add_column(c, overflow="fold")
    for r in flat:
        table.add_row(*[r[c] for c in columns])
    console = Console()
    if not console.is_terminal:
        console = Console(width=220)
    console.print(table, markup=False)


def _check_plan(definitions: Any, plan: str | None) -> None:
    plan_ids = [p.id for p in definitions.plans]
    if plan is not None and plan not in plan_ids:
        import difflib

        close = difflib.get_close_matches(plan, plan_ids, n=1)
        hint_zh = f"；是否为 `{close[0]}`？" if close else ""
        hint = f"; did you mean `{close[0]}`?" if close else ""
        _fail(f"没有这个规划：`{plan[:60]}`{hint_zh} / unknown plan `{plan[:60]}`{hint} (plans: {', '.join(plan_ids)})")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {v}" for k, v in value.items())
    return str(value)


# ---- tasks ---------------------------------------------------------------------------------------

LIST_TABLE = ["plan", "task", "title_zh", "lead_units", "responsible_units", "owner_inferred", "source",
              "milestones", "missing"]
LEDGER_COLUMNS = ["plan", "task", "unit", "role", "period", "state", "late", "missing", "days_overdue",
                  "reported_by", "reported_at", "due_at", "account"]
HISTORY_COLUMNS = ["at", "by", "task", "unit", "period", "state", "late", "account", "attachment"]


@tasks_app.command("list")
def list_tasks(
    plan: Annotated[str | None, typer.Option("--plan", help="只看此规划 / only this plan id")] = None,
    fmt: Annotated[Format, typer.Option("--format", help="table, json or csv")] = Format.table,
    defs: Annotated[Path | None, typer.Option("--defs", help=DEFS_HELP, show_default=False)] = None,
) -> None:
    """List the plans' key tasks with lead and responsible units / 列出重点任务及牵头、责任单位.

    Rows a task table lost in the source are listed too, with `missing` saying so.

    Examples:

      planwatch tasks list --plan wansheng_2016 --format json

      planwatch tasks list --format csv > tasks.csv
    """
    from warehouse.tasks_defs import LIST_COLUMNS, task_rows

    definitions = _defs(defs)
    _check_plan(definitions, plan)
    rows = task_rows(definitions, plan)
    _emit(rows, fmt, LIST_TABLE if fmt is Format.table else LIST_COLUMNS)
    if fmt is Format.table:
        typer.echo(f"{sum(1 for r in rows if r['task'])} tasks, {sum(1 for r in rows if r['missing'])} missing rows")


@tasks_app.command("report")
def report_progress(
    task: Annotated[str, typer.Argument(help="任务 id / task id (see `planwatch tasks list`)")],
    unit: Annotated[str, typer.Option("--unit", help="填报单位 / the reporting unit, as the task names it")],
    period: Annotated[str, typer.Option("--period", help="报告期 / period: 2019, 2019-Q3 or 2019-07 (the task's frequency)")],
    state: Annotated[str, typer.Option("--state", help="not_started / on_track / delayed / done")],
    account: Annotated[str, typer.Option("--account", help="进展说明 / a short account (≤ 2000 characters)")],
    as_: Annotated[str, typer.Option("--as", help=AS_HELP)],
    attach: Annotated[Path | None, typer.Option("--attach", help="附件 / an attachment (pdf, docx, xlsx, jpg ... ≤ 20 MB)")] = None,
    warehouse: Annotated[Path | None, typer.Option("--warehouse", help=WAREHOUSE_HELP, show_default=False)] = None,
    defs: Annotated[Path | None, typer.Option("--defs", help=DEFS_HELP, show_default=False)] = None,
) -> None:
    """Record a unit's progress on a task for a period / 填报任务进展.

    A report is late when recorded after 24:00 CST on the period's last day plus the task's due_days (30).

    Example:

      planwatch tasks report ws_volunteer_system --unit 文明办 --period 2019 --state delayed --account "注册率12%，低于目标" --as 张三
    """
    from warehouse.tasks_store import report

    definitions = _defs(defs)
    event = _run(lambda: report(_wh(warehouse), definitions, task_id=task, unit=unit, period=period, state=state,
                                account=account, by=as_, attachment=attach))
    late = "（逾期报送 / late）" if event["late"] else ""
    typer.echo(f"已记录 / recorded: {event['task']} {event['unit']} {event['period']} {event['state']}{late} "
               f"[{event['event_id']}]")


@tasks_app.command("history")
def report_history(
    task: Annotated[str | None, typer.Argument(help="任务 id / task id (default: all)")] = None,
    unit: Annotated[str | None, typer.Option("--unit", help="只看此单位 / only this unit")] = None,
    fmt: Annotated[Format, typer.Option("--format", help="table, json or csv")] = Format.table,
    warehouse: Annotated[Path | None, typer.Option("--warehouse", help=WAREHOUSE_HELP, show_default=False)] = None,
) -> None:
    """Every progress report, oldest first, with who recorded it and when / 进展报告历史.

    Examples:

      planwatch tasks history ws_volunteer_system

      planwatch tasks history --unit 文明办 --format json
    """
    from warehouse.tasks_store import history

    rows = _run(lambda: history(_wh(warehouse), task, unit))
    if fmt is not Format.json:
        for r in rows:
            if r.get("attachment"):
                r["attachment"] = f"{r['attachment']['file_name']} ({r['attachment']['original']})"
    _emit(rows, fmt, HISTORY_COLUMNS)


@tasks_app.command("ledger")
def show_ledger(
    plan: Annotated[str | None, typer.Option("--plan", help="只看此规划 / only this plan id")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help=AS_OF_HELP)] = None,
    only_open: Annotated[bool, typer.Option("--problems", help="只看滞后、逾期 / only delayed, late or missing rows")] = False,
    fmt: Annotated[Format, typer.Option("--format", help="table, json or csv")] = Format.table,
    warehouse: Annotated[Path | None, typer.Option("--warehouse", help=WAREHOUSE_HELP, show_default=False)] = None,
    defs: Annotated[Path | None, typer.Option("--defs", help=DEFS_HELP, show_default=False)] = None,
) -> None:
    """The work ledger: each task, unit and period with its latest state, late and missing flags / 工作台账.

    Examples:

      planwatch tasks ledger --plan wansheng_2016 --as-of 2020-03

      planwatch tasks ledger --problems --format csv > ledger.csv
    """
    from warehouse.tasks_store import ledger

    definitions = _defs(defs)
    _check_plan(definitions, plan)
    moment = _as_of(as_of)
    rows = _run(lambda: ledger(_wh(warehouse), definitions, plan, as_of=moment))
    if only_open:
        rows = [r for r in rows if r["state"] == "delayed" or r["late"] or r["missing"]]
    _emit(rows, fmt, LEDGER_COLUMNS)
    if fmt is Format.table:
        typer.echo(f"{len(rows)} rows; {sum(r['missing'] for r in rows)} missing, {sum(r['late'] for r in rows)} late, "
                   f"{sum(r['state'] == 'delayed' for r in rows)} delayed")


# ---- 督办 ---------------------------------------------------------------------------------------

DUBAN_COLUMNS = ["item", "status", "overdue", "days_overdue", "department", "deadline", "request", "source",
                 "opened_by", "opened_at", "answers", "closed_by"]


@duban_app.command("open")
def duban_open(
    department: Annotated[str, typer.Option("--department", help="督办部门 / the department asked to act")],
    request: Annotated[str, typer.Option("--request", help="督办事项 / what is asked")],
    deadline: Annotated[str, typer.Option("--deadline", help="办理期限 / deadline date, 2026-12-31 (until 24:00 CST)")],
    as_: Annotated[str, typer.Option("--as", help=AS_HELP)],
    region: Annotated[str | None, typer.Option("--region", help="来自预警：地区代码 / from an alert: region code")] = None,
    indicator: Annotated[str | None, typer.Option("--indicator", help="来自预警：指标 id / from an alert: indicator id")] = None,
    task: Annotated[str | None, typer.Option("--task", help="来自滞后任务 / from a delayed task: task id")] = None,
    period: Annotated[str | None, typer.Option("--period", help="任务的报告期 / the task's period (optional)")] = None,
    warehouse: Annotated[Path | None, typer.Option("--warehouse", help=WAREHOUSE_HELP, show_default=False)] = None,
    defs: Annotated[Path | None, typer.Option("--defs", help=DEFS_HELP, show_default=False)] = None,
) -> None:
    """Open a 督办 item from an alert (region + indicator) or a delayed task / 发起督办.

    Examples:

      planwatch duban open --region 500110 --indicator volunteer_share --department 区民政局 --request "说明原因并整改" --deadline 2026-12-31 --as 李局长

      planwatch duban open --task ws_volunteer_system --department 文明办 --request "说明滞后原因" --deadline 2026-12-31 --as 李局长
    """
    from warehouse.duban import open_item

    definitions = _defs(defs)
    event = _run(lambda: open_item(_wh(warehouse), definitions, department=department, request=request,
                                   deadline=deadline, by=as_, region=region, indicator=indicator, task_id=task,
                                   period=period))
    typer.echo(f"已发起督办 / opened: {event['item']} → {event['department']}, 期限 / deadline {event['deadline']}")


@duban_app.command("answer")
def duban_answer(
    item: Annotated[str, typer.Argument(help="督办编号 / item id, e.g. DB0001")],
    department: Annotated[str, typer.Option("--department", help="答复部门 / the department (the one asked)")],
    action: Annotated[str, typer.Option("--action", help="办理情况 / what was done")],
    done_by: Annotated[str, typer.Option("--done-by", help="完成时间 / by when, 2026-12-20")],
    as_: Annotated[str, typer.Option("--as", help=AS_HELP)],
    warehouse: Annotated[Path | None, typer.Option("--warehouse", help=WAREHOUSE_HELP, show_default=False)] = None,
) -> None:
    """The department's answer: what was done and by when / 答复督办.

    Example:

      planwatch duban answer DB0001 --department 文明办 --action "已补招志愿者300人" --done-by 2026-12-20 --as 王五
    """
    from warehouse.duban import answer_item

    event = _run(lambda: answer_item(_wh(warehouse), item, department=department, action=action, done_by=done_by,
                                     by=as_))
    typer.echo(f"已答复 / answered: {event['item']} ({event['department']}, {event['done_by']})")


@duban_app.command("close")
def duban_close(
    item: Annotated[str, typer.Argument(help="督办编号 / item id, e.g. DB0001")],
    note: Annotated[str, typer.Option("--note", help="办结意见 / closing note")],
    as_: Annotated[str, typer.Option("--as", help=AS_HELP)],
    warehouse: Annotated[Path | None, typer.Option("--warehouse", help=WAREHOUSE_HELP, show_default=False)] = None,
) -> None:
    """Close an item (办结) with a note / 办结督办.

    Example:

      planwatch duban close DB0001 --note "整改到位" --as 李局长
    """
    from warehouse.duban import close_item

    event = _run(lambda: close_item(_wh(warehouse), item, note=note, by=as_))
    typer.echo(f"已办结 / closed: {event['item']}")


@duban_app.command("list")
def duban_list(
    overdue: Annotated[bool, typer.Option("--overdue", help="只看逾期 / only overdue items")] = False,
    as_of: Annotated[str | None, typer.Option("--as-of", help=AS_OF_HELP)] = None,
    fmt: Annotated[Format, typer.Option("--format", help="table, json or csv")] = Format.table,
    warehouse: Annotated[Path | None, typer.Option("--warehouse", help=WAREHOUSE_HELP, show_default=False)] = None,
) -> None:
    """Every 督办 item with its status (open / overdue / answered / answered_late / closed) / 督办清单.

    Examples:

      planwatch duban list

      planwatch duban list --overdue --format json
    """
    from warehouse.duban import items

    moment = _as_of(as_of)
    rows = _run(lambda: items(_wh(warehouse), as_of=moment))
    if overdue:
        rows = [r for r in rows if r["overdue"]]
    if fmt is not Format.json:
        for r in rows:
            src = r["source"]
            r["source"] = (f"{src['region']} {src['indicator']} ({src['status']})" if src["kind"] == "alert"
                           else f"{src['task']} ({src['behind_count']} behind)")
            r["answers"] = " | ".join(f"{a['done_by']}: {a['action']}" for a in r["answers"])
    _emit(rows, fmt, DUBAN_COLUMNS)
    if fmt is Format.table:
        typer.echo(f"{len(rows)} items; {sum(r['overdue'] for r in rows)} overdue")
