"""Key tasks (重点任务) in indicator_defs.yaml: the model of `plans[].tasks` / `plans[].task_tables` and their checks.

A task is a line of a plan's task list (Wansheng's 重点任务分工表, a 专栏 key project, ...): the plan's own words,
where they are printed, who leads it and who shares it (as the plan writes the units), the indicators it serves
and what must be done by which year. Schema for analysts: docs/tasks.md.

How this module hooks in (kept out of definitions.py / defs_loader.py on purpose):
- `Plan.tasks` / `Plan.task_tables` in warehouse/definitions.py are annotated with `Task` / `TaskTable`; this module
  defines them on top of definitions' `Strict` and `Text`, puts the two names into that module and rebuilds the
  models. definitions.py imports this module at its end, so either import order works.
- `defs_loader` validates each plan header without its tasks and then calls `check_tasks`, which validates each
  task on its own (one bad task never hides the others) and runs the cross-checks below with the loader's
  positions, paths and suggestions.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from warehouse import definitions as _definitions
from warehouse.definitions import Definitions, Plan, Strict, Text

if TYPE_CHECKING:
    from warehouse.defs_loader import _Checker

# Task ids end up in file names and URLs: the indicator-id rule plus a length limit.
TASK_ID_PATTERN = r"^[a-z][a-z0-9_]*$"
TASK_ID_MAX = 64
# Separators of units inside one printed cell (民政局、经信局 / 民政局，财政局); a final 。 is punctuation.
UNIT_SEPARATORS = re.compile(r"[、，,；;]")


class TaskSource(Strict):
    """Where the task is printed: a table and its row, or a section of the text."""

    table: str | None = None  # e.g. 附件：重点任务分工表, 专栏4
    row: int | None = Field(default=None, ge=1)  # the row's number (序号, or its position when unnumbered)
    # True when the table prints no number for this row and `row` is its position (Wansheng's first four rows)
    row_inferred: bool = False
    section: str | None = None  # e.g. 五、（一）强化组织保障, for tasks stated in the text


class UnitsAsWritten(Strict):
    """The unit cells exactly as printed, to check the lists against (and to show what the plan says)."""

    lead: str | None = None
    responsible: str | None = None


class Task(Strict):
    id: str = Field(pattern=TASK_ID_PATTERN, max_length=TASK_ID_MAX)
    title: Text  # a short name for lists (ours, not the plan's)
    quote: str = Field(min_length=1)  # the plan's own words, verbatim
    source: TaskSource
    lead_units: list[Text] = []  # 牵头单位 (several allowed; at least one, checked by check_tasks)
    responsible_units: list[Text] = []  # 责任单位 / 配合单位
    units_as_written: UnitsAsWritten | None = None
    # True when the plan names no owner for this task and lead_units is our reading (say why in `note`)
    owner_inferred: bool = False
    indicators: list[str] = []  # Indicator ids the task serves
    milestones: dict[int, str] = {}  # year -> what must be done by the end of that year (the plan's words)
    frequency: Literal["annual", "quarterly", "monthly"] = "annual"  # how often progress is reported
    due_days: int = Field(default=30, ge=0, le=366)  # days after a period's end before its report is late
    note: str | None = None

    def units(self) -> list[Text]:
        """Lead units first, then responsible units, each once."""
        out: list[Text] = []
        for unit in [*self.lead_units, *self.responsible_units]:
            if unit.zh not in {u.zh for u in out}:
                out.append(unit)
        return out


class TaskTable(Strict):
    """A task table as the source keeps it: how many rows it numbers and which of them the text lost."""

    table: str  # the same text as the tasks' source.table
    rows: int = Field(ge=1)  # the highest row number the table has
    missing_rows: list[int] = []  # numbered rows absent from the source text
    note: str | None = None


# Plan's annotations name these; put them where pydantic resolves them and complete the models.
_definitions.Task = Task  # type: ignore[attr-defined]
_definitions.TaskTable = TaskTable  # type: ignore[attr-defined]
Plan.model_rebuild(force=True)
Definitions.model_rebuild(force=True)


def split_units(cell: str) -> list[str]:
    """`民政局、财政局。` -> ['民政局', '财政局'] (the final 。 and spaces are not part of a name)."""
    return [part.strip() for part in UNIT_SEPARATORS.split(cell.strip().rstrip("。.")) if part.strip()]


# --------------------------------------------------------------------------------------------------
# Checks (called by defs_loader with its checker)


def check_tasks(ck: "_Checker", raw: dict, plans: list[tuple[int, Plan | None]]) -> None:
    """Validate every plan's `tasks` item by item and cross-check them; problems go to the loader's checker."""
    from warehouse.defs_loader import _as_list, _closest, _describe

    indicator_ids = {
        item["id"] for item in _as_list(raw.get("indicators")) if isinstance(item, dict) and isinstance(item.get("id"), str)
    }
    headers = dict(plans)
    first_line: dict[str, int] = {}
    for i, plan_raw in enumerate(_as_list(raw.get("plans"))):
        if not isinstance(plan_raw, dict) or "tasks" not in plan_raw:
            continue
        base = ("plans", i, "tasks")
        if not isinstance(plan_raw["tasks"], list):
            ck.error(base, "wrong type", expected="a list of `- id: ...` items", found=_describe(plan_raw["tasks"]))
            continue
        plan = headers.get(i)
        tables = {t.table: t for t in plan.task_tables} if plan is not None else {}
        rows_seen: dict[tuple[str, int], int] = {}
        for j, task_raw in enumerate(plan_raw["tasks"]):
            path = base + (j,)
            ident = task_raw.get("id") if isinstance(task_raw, dict) else None
            if isinstance(ident, str):  # duplicates are found even when the task has other errors
                if ident in first_line:
                    ck.error(path + ("id",), f"duplicate task id `{ident}` (first defined at line {first_line[ident]}); "
                             "task ids are unique across the file")
                else:
                    first_line[ident] = ck.position(path + ("id",))[0]
            task = ck._check(Task, task_raw, path)
            if task is None:
                continue
            _check_task(ck, task, path, plan, tables, rows_seen, indicator_ids, _closest)
        if plan is not None:
            for k, table in enumerate(plan.task_tables):
                tpath = ("plans", i, "task_tables", k)
                for m, row in enumerate(table.missing_rows):
                    if not 1 <= row <= table.rows:
                        ck.error(tpath + ("missing_rows", m), "missing row number is outside the table",
                                 expected=f"a row from 1 to {table.rows}", found=str(row))


def _check_task(ck: "_Checker", task: Task, path: tuple, plan: Plan | None, tables: dict, rows_seen: dict,
                indicator_ids: set[str], closest: Any) -> None:
    for k, ind in enumerate(task.indicators):
        if ind not in indicator_ids:
            ck.error(path + ("indicators", k), f"unknown indicator `{ind}`",
                     expected="the id of an indicator in `indicators`", suggestion=closest(ind, indicator_ids))
    if plan is not None:
        for year in task.milestones:
            if not plan.period.start <= year <= plan.period.target:
                ck.error(path + ("milestones", year), "milestone year is outside the plan period", on_key=True,
                         expected=f"a year from {plan.period.start} to {plan.period.target}", found=str(year))
    if not task.lead_units:
        ck.error(path + ("lead_units",), "a task needs at least one lead unit (牵头单位)",
                 expected="e.g. lead_units: [{zh: 民政局}]; if the plan names none, infer one, set "
                          "`owner_inferred: true` and say why in `note`")
    for field in ("lead_units", "responsible_units"):
        seen: set[str] = set()
        for k, unit in enumerate(getattr(task, field)):
            if unit.zh in seen:
                ck.error(path + (field, k), f"unit `{unit.zh}` is listed twice")
            seen.add(unit.zh)
    src = task.source
    if not src.table and not src.section:
        ck.error(path + ("source",), "a task's source needs `table` (with `row`) or `section`",
                 expected="e.g. {table: 专栏4, row: 2} or {section: 五、（一）}")
    if src.row is not None and not src.table:
        ck.error(path + ("source", "row"), "`row` needs the `table` it belongs to")
    if src.table is not None and src.row is not None:
        table = tables.get(src.table)
        if table is not None and src.row in table.missing_rows:
            ck.error(path + ("source", "row"), f"row {src.row} of `{src.table}` is marked missing from the source "
                     "(task_tables.missing_rows)", found=str(src.row))
        elif table is not None and src.row > table.rows:
            ck.error(path + ("source", "row"), "row number is beyond the table",
                     expected=f"a row from 1 to {table.rows}", found=str(src.row))
        key = (src.table, src.row)
        if key in rows_seen:
            ck.error(path + ("source", "row"), f"row {src.row} of `{src.table}` is already a task "
                     f"(line {rows_seen[key]})")
        else:
            rows_seen[key] = ck.position(path + ("source", "row"))[0]
    written = task.units_as_written
    if written is not None:
        for field, cell in (("lead", written.lead), ("responsible", written.responsible)):
            units = task.lead_units if field == "lead" else task.responsible_units
            if cell is not None and split_units(cell) != [u.zh for u in units]:
                ck.error(path + ("units_as_written", field),
                         f"`{field}_units` do not match the cell as written",
                         expected="、".join(split_units(cell)), found="、".join(u.zh for u in units) or "none")
    if task.owner_inferred and not (task.note or "").strip():
        ck.warning(path + ("owner_inferred",), "inferred owner without a `note` saying why")


# --------------------------------------------------------------------------------------------------
# Reading back


LIST_COLUMNS = [
    "plan", "task", "title_zh", "title_en", "lead_units", "responsible_units", "owner_inferred", "source",
    "row_inferred", "indicators", "milestones", "quote", "missing",
]


def task_rows(defs: Definitions, plan_id: str | None = None) -> list[dict[str, Any]]:
    """One dict per task (LIST_COLUMNS), then one per row a task table lost (`missing` says so), per plan."""
    rows: list[dict[str, Any]] = []
    for plan in defs.plans:
        if plan_id is not None and plan.id != plan_id:
            continue
        plan_rows: list[tuple[str | None, int | None, dict[str, Any]]] = []
        for task in plan.tasks:
            src = task.source
            where = src.table or src.section or ""
            if src.row is not None:
                where += f" #{src.row}"
            plan_rows.append((src.table, src.row, {
                "plan": plan.id, "task": task.id, "title_zh": task.title.zh, "title_en": task.title.en,
                "lead_units": [u.zh for u in task.lead_units],
                "responsible_units": [u.zh for u in task.responsible_units],
                "owner_inferred": task.owner_inferred, "source": where, "row_inferred": src.row_inferred,
                "indicators": list(task.indicators),
                "milestones": {str(year): text for year, text in sorted(task.milestones.items())},
                "quote": task.quote, "missing": None,
            }))
        for table in plan.task_tables:
            for row in table.missing_rows:
                gap = {
                    "plan": plan.id, "task": None, "title_zh": None, "title_en": None, "lead_units": [],
                    "responsible_units": [], "owner_inferred": False, "source": f"{table.table} #{row}",
                    "row_inferred": False, "indicators": [], "milestones": {}, "quote": None,
                    "missing": f"第{row}行原文缺失 / row {row} is missing from the source text"
                               + (f": {table.note}" if table.note else ""),
                }
                # after the last task printed above it in the same table (source order otherwise kept)
                at = max((k + 1 for k, (t, r, _) in enumerate(plan_rows) if t == table.table and r is not None
                          and r < row), default=len(plan_rows))
                plan_rows.insert(at, (table.table, row, gap))
        rows.extend(r for _, _, r in plan_rows)
    return rows


def find_task(defs: Definitions, task_id: str) -> tuple[Plan, Task] | None:
    for plan in defs.plans:
        for task in plan.tasks:
            if task.id == task_id:
                return plan, task
    return None


def all_task_ids(defs: Definitions) -> list[str]:
    return [task.id for plan in defs.plans for task in plan.tasks]
