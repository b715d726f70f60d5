"""Which figures a page opens on when the link does not say (documented in docs/dashboard.md).

1. The plan and region in the link (`?plan=…&region=…`), when they are valid.
2. Else the most recently active plan:
   a. plans still running (start year ≤ this year ≤ target year, China Standard Time) before ended ones;
   b. then the plan with the latest data: the latest calendar year of any submitted value of one of the
      plan's indicators from a region inside the plan's region (years, not days, so a plan with a monthly
      indicator does not beat one whose indicators are quarterly just because its last period ends later);
      a plan with no data at all comes after every plan with data;
   c. then the order of the plans in indicator_defs.yaml.
   The region is the plan's own region.
3. Else (no data can be read) the first running plan, else the first plan in indicator_defs.yaml.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import polars as pl

from warehouse.definitions import Definitions, Plan


def latest_years(warehouse_dir: str | Path) -> pl.DataFrame:
    """region_code, indicator_id, year: the latest year with a submitted value per region and indicator."""
    from warehouse import duck
    from warehouse.storage import Warehouse

    snapshot = Warehouse(warehouse_dir).snapshot(None)
    con = duck.connect()
    try:
        snapshot.register(con, "submissions")
        return con.sql(
            "SELECT region_code, indicator_id, max(year(period_end))::INTEGER AS year FROM submissions"
            " WHERE value IS NOT NULL GROUP BY ALL"
        ).pl()
    finally:
        con.close()


def _inside(plan: Plan, code: str, defs: Definitions) -> bool:
    if plan.region == "CN":
        return True
    if plan.region.startswith("group:"):
        try:
            members = defs.group(plan.region.split(":", 1)[1]).members
        except KeyError:
            return False
        return any(code.startswith(m) for m in members)
    return code.startswith(plan.region)


def plan_activity(defs: Definitions, latest: pl.DataFrame) -> dict[str, int | None]:
    """plan id -> latest year with data for the plan's indicators inside its region (None: no data)."""
    out: dict[str, int | None] = {}
    for plan in defs.plans:
        indicators = [t.indicator for t in plan.targets]
        rows = latest.filter(pl.col("indicator_id").is_in(indicators)) if latest.height else latest
        years = [year for code, year in rows.select("region_code", "year").iter_rows()
                 if year is not None and _inside(plan, code, defs)]
        out[plan.id] = max(years) if years else None
    return out


def plans_covering(defs: Definitions, code: str) -> list[Plan]:
    """The plans whose region contains `code` (a region code or `group:<id>`), the most local first (a plan of the
    region itself, then of its province, ..., the national plan last), ties in YAML order."""
    if code.startswith("group:"):
        found = [p for p in defs.plans if p.region in (code, "CN")]
    else:
        found = [p for p in defs.plans if _inside(p, code, defs)]
    return sorted(found, key=lambda p: p.region == "CN")


def default_plan(defs: Definitions, activity: dict[str, int | None] | None, now: datetime,
                 plans: list[Plan] | None = None) -> str:
    """The plan a page opens on when the link names none (rules 2 and 3 of the module docstring), chosen among
    `plans` (default: every plan)."""
    from warehouse.periods import CST

    year = now.astimezone(CST).year if now.tzinfo else now.year
    activity = activity or {}

    def key(indexed: tuple[int, Plan]) -> tuple:
        index, plan = indexed
        running = plan.period.start <= year <= plan.period.target
        latest = activity.get(plan.id)
        return (not running, latest is None, -(latest or 0), index)

    return min(enumerate(plans or defs.plans), key=key)[1].id


def pick(defs: Definitions, read_latest: Callable[[], pl.DataFrame], now: datetime,
         plans: list[Plan] | None = None) -> str:
    """default_plan with the activity read by `read_latest` (e.g. `latest_years` of the warehouse, cached by the
    dashboard); when no data can be read, rule 3: running plans, then the YAML order."""
    try:
        activity = plan_activity(defs, read_latest())
    except Exception:  # noqa: BLE001 - no readable data
        activity = None
    return default_plan(defs, activity, now, plans)
