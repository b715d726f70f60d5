"""Who may do what in the task ledger and 督办 (no Streamlit; docs/tasks.md "Who does what in the dashboard").

- A **department** is a signed-in identity whose grant lists `units` (access.yaml: `units: [市民政局]`). It reports
  progress for, and answers the 督办 items given to, those units only, on the tasks of plans whose area overlaps
  its scope (Chongqing's 市民政局 with scope 50 is not Yuxi's 市民政局). Its role does not matter for this.
- A **leader** is a `viewer` (or the `admin`) without units: it opens 督办 items on tasks of plans inside its
  scope and on alerts of regions inside its scope, and closes them. A department never supervises (it would
  supervise itself); analysts, submitters and reviewers do not open 督办 (not their job in the plans' wording).
- The admin may do everything; the demo mode (nobody signed in) nothing: the CLI's `--as NAME` is the operator's
  way to write without an identity provider.

The storage functions (warehouse/tasks_store.py, warehouse/duban.py) check the inputs; these functions decide
whether the person may ask at all, so the dashboard offers only what is allowed and refuses the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from warehouse.access import Identity, can
from warehouse.definitions import Definitions, Plan
from warehouse.tasks_defs import Task

Members = Callable[[str], Sequence[str]]


def is_admin(who: Identity | None) -> bool:
    return who is not None and who.signed_in and who.role == "admin"


def is_department(who: Identity | None) -> bool:
    return who is not None and who.signed_in and bool(who.units)


def is_leader(who: Identity | None) -> bool:
    return who is not None and who.signed_in and not who.units and can(who, "supervise")


def my_tasks(who: Identity, defs: Definitions, members: Members) -> list[tuple[Plan, Task, list[str]]]:
    """(plan, task, the department's units on it) for every task a department reports on."""
    out = []
    for plan in defs.plans:
        if not who.scope.overlaps(plan.region, members):
            continue
        for task in plan.tasks:
            mine = [u.zh for u in task.units() if u.zh in who.units]
            if mine:
                out.append((plan, task, mine))
    return out


def may_report(who: Identity, plan: Plan, task: Task, unit: str, members: Members) -> bool:
    """May `who` record progress on `task` for `unit`?"""
    if unit not in {u.zh for u in task.units()}:
        return False
    if is_admin(who):
        return True
    return is_department(who) and unit in who.units and who.scope.overlaps(plan.region, members)


def _source_region(item_source: dict, defs: Definitions) -> str | None:
    if item_source.get("kind") == "alert":
        return str(item_source.get("region") or "")
    try:
        return defs.plan(str(item_source.get("plan"))).region
    except Exception:  # noqa: BLE001 - a plan gone from the definitions since: nobody but the admin
        return None


def may_open_on_task(who: Identity, plan: Plan, members: Members) -> bool:
    """May `who` open a 督办 item on a task of `plan`? A leader whose scope holds the plan's whole area."""
    return is_admin(who) or (is_leader(who) and who.scope.allows(plan.region, members))


def may_open_on_alert(who: Identity, region: str, members: Members) -> bool:
    return is_admin(who) or (is_leader(who) and who.scope.allows(region, members))


def may_close(who: Identity, item: dict, defs: Definitions, members: Members) -> bool:
    """May `who` close (办结) this item? A leader with the item's region (alert) or plan area (task) in scope."""
    if is_admin(who):
        return True
    region = _source_region(item["source"], defs)
    return is_leader(who) and region is not None and who.scope.allows(region, members)


def sees_item(who: Identity, item: dict, defs: Definitions, members: Members) -> bool:
    """Is this 督办 item shown to `who`? Leaders: items of their scope; departments: items given to them."""
    if is_admin(who) or not who.signed_in:
        return True
    if may_answer(who, item, defs, members):
        return True
    region = _source_region(item["source"], defs)
    return region is not None and who.scope.overlaps(region, members)


def may_answer(who: Identity, item: dict, defs: Definitions, members: Members) -> bool:
    """May `who` answer this item? The department it was given to (its region or plan overlapping the scope)."""
    if is_admin(who):
        return True
    if not is_department(who) or item["department"] not in who.units:
        return False
    region = _source_region(item["source"], defs)
    return region is not None and who.scope.overlaps(region, members)


def department_items(who: Identity, items: list[dict], defs: Definitions, members: Members) -> list[dict]:
    """The items this department answers (all of them for the admin)."""
    return [i for i in items if may_answer(who, i, defs, members)]


def scope_items(who: Identity, items: list[dict], defs: Definitions, members: Members) -> list[dict]:
    return [i for i in items if sees_item(who, i, defs, members)]


def actor(who: Identity) -> dict[str, Any]:
    """What the ledger records of the person acting: the identity's label and role (docs/tasks.md)."""
    return {"by": who.label, "role": who.role}
