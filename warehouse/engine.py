"""The indicator engine: latest values, roll-ups, governing plan, progress and status (docs/methodology.md).

The dashboard, the CLI and the exports call only this class. Each data call opens its own DuckDB cursor
(Streamlit reruns on threads; warehouse/engine_db.py), registers small metadata relations built from the
definitions (the scope regions and each region's governing target), and runs one generated query
(warehouse/sql.py) over the warehouse snapshot's Parquet files. Python only resolves metadata (plans, targets,
region lists) and formats the reason sentences of the result rows; it never loops over the submitted data.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from datetime import date, datetime
from pathlib import Path

import duckdb
import polars as pl

from warehouse import annual_path
from warehouse import current
from warehouse import engine_db
from warehouse import rollup_events
from warehouse import sql as sqlgen
from warehouse import sql_rollup
from warehouse import status as st
from warehouse import status_rows
from warehouse.alerts import build_alerts
from warehouse.assess import assess_frame
from warehouse.definitions import Definitions, Indicator, Plan, PlanTarget
from warehouse.moments import as_of_date, as_of_moment, previous_month_end
from warehouse.rankings import rank as rank_siblings
from warehouse.regions import COUNTRY, LEVEL_BY_LENGTH, RegionRegistry
from warehouse.storage import BATCH_SCHEMA, Warehouse

LEVEL_DEPTH = {"country": 0, "province": 1, "city": 2, "county": 3, "township": 4, "community": 5}

_STATUS_SCHEMA = status_rows.STATUS_SCHEMA
STATUS_COLUMNS = status_rows.STATUS_COLUMNS
SEVERITY_OVERDUE = status_rows.SEVERITY_OVERDUE
severity = status_rows.severity
_as_of_moment = as_of_moment


class ResultCache:
    """A small thread-safe LRU of query results within one process (Streamlit reruns on threads).

    Keys hold everything a result depends on: the query and its arguments, the manifest version and the batch
    ids visible at the as-of time (the rows' ingested_at is their batch's, so these fix the rows read), and the
    as-of day in China Standard Time (plan in force, value cut-off, final). The definitions are fixed per
    Engine. Frames are shared, so callers must not modify them in place (polars operations return new frames).
    Set PLANWATCH_NO_CACHE=1 to switch it off (e.g. to time the queries themselves)."""

    def __init__(self, max_entries: int = 64, max_rows: int = 500_000):
        self.max_entries = max_entries
        self.max_rows = max_rows  # larger frames are not kept (memory)
        self.enabled = os.environ.get("PLANWATCH_NO_CACHE") != "1"
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        if not self.enabled:
            return None
        with self._lock:
            frame = self._items.get(key)
            if frame is not None:
                self._items.move_to_end(key)
            return frame

    def put(self, key, frame: pl.DataFrame) -> pl.DataFrame:
        if self.enabled and frame.height <= self.max_rows:
            with self._lock:
                self._items[key] = frame
                self._items.move_to_end(key)
                while len(self._items) > self.max_entries:
                    self._items.popitem(last=False)
        return frame

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


class EngineError(ValueError):
    """A user-facing engine problem (message is Chinese first, then English)."""


class Engine:
    def __init__(self, warehouse_dir: str | Path, definitions: Definitions, registry: RegionRegistry | None = None,
                 backend: str | None = None):
        from warehouse.spark import backend_name

        self.backend = backend_name(backend)  # "duckdb" (default) or "spark" (warehouse/spark.py); PLANWATCH_ENGINE
        self.warehouse = Warehouse(warehouse_dir)
        self.defs = definitions
        if registry is None:
            path = self.warehouse.regions_path
            if not Path(path).exists():
                raise EngineError(f"数据仓库缺少区划表 / warehouse has no regions.parquet: {path}")
            registry = RegionRegistry.load(path)
        self.registry = registry
        frame = registry.frame
        self._levels = dict(zip(frame["code"].to_list(), frame["level"].to_list()))
        self._depth_cache: dict[str, float] = {}
        self._targets_cache: dict[str, dict[str, list[PlanTarget]]] = {}
        self._level_cache: dict[str, str] = {}
        self._defs_hash = hashlib.sha256(definitions.model_dump_json().encode()).hexdigest()[:12]
        self.cache = ResultCache()
        # assess frames (plan resolution: pure metadata, fixed per Engine and as-of instant), kept even with the
        # result cache off: ~a fifth of an overview's fixed cost in a profile on the sample (issue 14)
        self._assess_cache: OrderedDict = OrderedDict()
        self._assess_lock = threading.Lock()
        self._db, self._regions_arrow = engine_db.QueryDatabase(), registry.frame.to_arrow()
        self._annual_points = annual_path.points_frame(definitions)  # the `annual_points` relation (sql.py 11a)
        # roll-ups from the roll-up events when they can answer (warehouse/rollup_events.py); off: always the rows
        self.use_rollup_events = True
        self.events_failed = 0  # queries whose roll-up events could not be read (then the rows answered)
        self._registry_key: str | None = None

    # ------------------------------------------------------------ cache key
    def version(self) -> str:
        try:
            wh_version = self.warehouse.version()
        except Exception:  # noqa: BLE001 - a missing manifest is version 0 for caching purposes
            wh_version = 0
        return f"{wh_version}-{self._defs_hash}"

    # ------------------------------------------------------------ regions
    def level(self, code: str) -> str:
        if code.startswith("group:"):
            return "group"
        known = self._levels.get(code)
        if known is not None:
            return known
        return "country" if code == COUNTRY else LEVEL_BY_LENGTH.get(len(code), "unknown")

    def region_name(self, code: str) -> str:
        if code.startswith("group:"):
            try:
                return self.defs.group(code.split(":", 1)[1]).name.zh
            except KeyError:
                return code
        return self.registry.name(code) or code

    def _check_region(self, code: str) -> str:
        code = str(code).strip()
        if code.startswith("group:"):
            try:
                self.defs.group(code.split(":", 1)[1])
            except KeyError:
                known = ", ".join("group:" + g.id for g in self.defs.region_groups) or "—"
                raise EngineError(f"未知地区组 / unknown region group: {code}（可选 / known: {known}）") from None
            return code
        normal = self.registry.normalize_code(code)
        if normal is None:
            try:
                hints = ", ".join(r.code for r in self.registry.suggest(code)) or "—"
            except Exception:  # noqa: BLE001 - suggestions are a courtesy; the error below is what matters
                hints = "—"
            raise EngineError(f"未知地区代码 / unknown region code: {code!r}（相近 / did you mean: {hints}）")
        return normal

    def _members(self, code: str) -> list[str]:
        if code.startswith("group:"):
            return [m for m in self.defs.group(code.split(":", 1)[1]).members]
        return [code]

    def children(self, parent: str) -> list[str]:
        """Sibling set under `parent`: its registry children (NBS placeholders 市辖区/县 are seen through,
        regions.sibling_codes), or a group's members."""
        parent = self._check_region(parent)
        if parent.startswith("group:"):
            return self._members(parent)
        return self.registry.siblings_under(parent)

    def _under(self, code: str, area: str) -> bool:
        """True when `code` is `area`, inside it (division prefix), or inside one of a group's members."""
        if code == area or area == COUNTRY:
            return True
        if area.startswith("group:"):
            if code.startswith("group:"):
                return False
            return any(code.startswith(m) for m in self._members(area))
        if code.startswith("group:"):
            group = self.defs.group(code.split(":", 1)[1])
            anchor = group.parent or _common_prefix(group.members)
            return bool(anchor) and self._under(anchor, area)
        return code.startswith(area) and code != COUNTRY

    # ------------------------------------------------------------ governing plan
    def _plan_depth(self, plan: Plan) -> float:
        if plan.id not in self._depth_cache:
            self._depth_cache[plan.id] = self._compute_plan_depth(plan)
        return self._depth_cache[plan.id]

    def _compute_plan_depth(self, plan: Plan) -> float:
        region = plan.region
        if region.startswith("group:"):
            group = self.defs.group(region.split(":", 1)[1])
            anchor = group.parent or _common_prefix(group.members) or COUNTRY
            return LEVEL_DEPTH.get(self.level(anchor), 0) + 0.5
        return LEVEL_DEPTH.get(self.level(region), 0)

    def _eligible_plans(self, code: str, as_of: datetime) -> list[Plan]:
        """Plans covering the region, in force at the as-of year (started, and not superseded by a covering
        plan that started after it ended), most specific first."""
        year = as_of_date(as_of).year
        covering = [p for p in self.defs.plans if self._under(code, p.region)]
        started = [p for p in covering if p.period.start <= year] or covering
        current = [
            p for p in started if not any(q.period.start > p.period.target for q in started if q is not p)
        ]
        return sorted(current, key=lambda p: (-self._plan_depth(p), -p.period.start, p.id))

    def _target_level(self, code: str) -> str:
        """Level used for `applies_at`: a group counts one level above its members (Wansheng's towns ->
        county, like the district it works as; 三州's prefectures -> province)."""
        if not code.startswith("group:"):
            return self.level(code)
        found = self._level_cache.get(code)
        if found is None:
            found = self._level_cache[code] = self._group_target_level(code)
        return found

    def _group_target_level(self, code: str) -> str:
        members = self._members(code)
        depths = [LEVEL_DEPTH.get(self.level(m), 1) for m in members] or [1]
        above = max(min(depths) - 1, 0)
        return next(lv for lv, d in LEVEL_DEPTH.items() if d == above)

    def _applies(self, plan: Plan, target: PlanTarget, code: str) -> bool:
        level = self._target_level(code)
        if code == plan.region:
            ok = "total" in target.applies_at or level in target.applies_at
        else:
            ok = level in target.applies_at
        if not ok:
            return False
        for ex in target.exclude:
            if code == ex or (not code.startswith("group:") and self._under(code, ex) and ex != COUNTRY):
                return False
        return True

    def _chain(self, start: Plan, fallbacks: list[Plan]) -> list[Plan]:
        """The plan, its parents, then the other eligible plans (most specific first)."""
        chain: list[Plan] = []
        seen: set[str] = set()
        plan: Plan | None = start
        while plan is not None and plan.id not in seen:
            chain.append(plan)
            seen.add(plan.id)
            try:
                plan = self.defs.plan(plan.parent) if plan.parent else None
            except KeyError:
                plan = None
        chain.extend(p for p in fallbacks if p.id not in seen)
        return chain

    def _plan_chain(self, code: str, as_of: datetime, plan_id: str | None) -> list[Plan]:
        """Plans to look in, in order, for the region's targets."""
        if plan_id is not None:
            return self._chain(self.defs.plan(plan_id), [])
        eligible = self._eligible_plans(code, as_of)
        return self._chain(eligible[0], eligible[1:]) if eligible else []

    def _resolve(self, code: str, indicator_id: str, as_of: datetime, plan_id: str | None, chain=None):
        if chain is None:
            chain = self._plan_chain(code, as_of, plan_id)
        for plan in chain:
            for target in self._plan_targets(plan).get(indicator_id, ()):
                if self._applies(plan, target, code):
                    return plan, target
        return None

    def _plan_targets(self, plan: Plan) -> dict[str, list[PlanTarget]]:
        """The plan's targets by indicator id, in the plan's order (built once per plan)."""
        found = self._targets_cache.get(plan.id)
        if found is None:
            found = {}
            for target in plan.targets:
                found.setdefault(target.indicator, []).append(target)
            self._targets_cache[plan.id] = found
        return found

    def governing_plan(self, region: str, indicator: str | None = None, as_of: datetime | None = None):
        """(Plan, PlanTarget) governing the region for the indicator; with indicator=None, (Plan, None) for the
        most specific plan in force. None when no plan covers it."""
        code = self._check_region(region)
        moment = _as_of_moment(as_of)
        if indicator is None:
            eligible = self._eligible_plans(code, moment)
            return (eligible[0], None) if eligible else None
        self._check_indicator(indicator)
        return self._resolve(code, indicator, moment, None)

    def _check_indicator(self, indicator_id: str) -> Indicator:
        try:
            return self.defs.indicator(indicator_id)
        except KeyError:
            known = ", ".join(i.id for i in self.defs.indicators)
            raise EngineError(f"未知指标 / unknown indicator: {indicator_id!r}（可选 / known: {known}）") from None

    def _check_plan(self, plan_id: str | None) -> None:
        if plan_id is None:
            return
        try:
            self.defs.plan(plan_id)
        except KeyError:
            known = ", ".join(p.id for p in self.defs.plans)
            raise EngineError(f"未知规划 / unknown plan: {plan_id!r}（可选 / known: {known}）") from None

    # ------------------------------------------------------------ metadata relations
    def _indicators(self, indicator: str | None, plan_id: str | None) -> list[Indicator]:
        if indicator is not None:
            return [self._check_indicator(indicator)]
        if plan_id is not None:
            ids = []
            for plan in self._chain(self.defs.plan(plan_id), []):
                ids.extend(t.indicator for t in plan.targets)
            wanted = set(ids)
            return [i for i in self.defs.indicators if i.id in wanted]
        return list(self.defs.indicators)

    def _assess_frame(self, codes: list[str], indicators: list[Indicator], moment: datetime, plan_id: str | None):
        key = (tuple(codes), tuple(i.id for i in indicators), moment, plan_id)
        with self._assess_lock:
            found = self._assess_cache.get(key)
            if found is not None:
                self._assess_cache.move_to_end(key)
                return found
        frame = self._build_assess_frame(codes, indicators, moment, plan_id)
        with self._assess_lock:
            self._assess_cache[key] = frame
            while len(self._assess_cache) > 64:
                self._assess_cache.popitem(last=False)
        return frame

    def _build_assess_frame(self, codes: list[str], indicators: list[Indicator], moment: datetime, plan_id: str | None):
        return assess_frame(self, codes, indicators, moment, plan_id)

    def _scope_frame(self, codes: list[str]) -> pl.DataFrame:
        pairs = [(code, member) for code in codes for member in self._members(code)]
        return pl.DataFrame(pairs, schema={"code": pl.String, "match": pl.String}, orient="row")

    # ------------------------------------------------------------ running queries
    @staticmethod
    def _data_key(snapshot, moment: datetime) -> tuple:
        """What a result depends on besides the arguments (see ResultCache)."""
        return snapshot.version, tuple(snapshot.batch_ids), as_of_date(moment)

    def _values_query(self, build, snapshot, moment: datetime, codes: list[str], indicators: list[Indicator],
                      assess: pl.DataFrame | None) -> pl.DataFrame:
        """Run a query built on `sql.values_ctes` (`build`: status_query, series_query or overdue_query) for the
        scope regions `codes` as of `moment`, with the roll-ups from the roll-up events when they can answer.
        The events file is derived and rebuilt by compaction: if it cannot be read (damaged on disk), the same query
        runs again with the roll-ups from the rows, which give the same answer (`warehouse check` names the file)."""
        scope = self._scope_frame(codes)
        matches = scope["match"].to_list()
        attach = sqlgen.attach_length(matches)
        src = self._sources(snapshot)
        cutoff = assess["value_cutoff"].max() if assess is not None else as_of_date(moment)

        used = []

        def run(events_allowed: bool) -> pl.DataFrame:
            params: dict = {}
            events = events_allowed and self._events(src, scope, attach, indicators, params)
            used.append(events)
            query = build(self.defs, indicators, params, attach, events)
            params["as_of"] = moment.replace(tzinfo=None)
            params["as_of_date"] = as_of_date(moment)
            sqlgen.bind_scope(params, matches, cutoff)
            con, files = self._connect(snapshot, assess, scope, params, src)
            return self._run(con, query, params, files)

        try:
            return run(True)
        except EngineError:
            if not used or not used[0]:
                raise
            self.events_failed += 1
            return run(False)

    def _sources(self, snapshot):
        """What the DuckDB queries of `snapshot` read (warehouse/current.py); None with the Spark backend."""
        return None if self.backend == "spark" else current.sources(self.warehouse, snapshot)

    def _events(self, src, scope: pl.DataFrame, attach: int | None, indicators: list[Indicator], params: dict) -> bool:
        """Whether the roll-ups come from the roll-up events (warehouse/rollup_events.py, `usable`): DuckDB, a
        versions table with events and no later batch, division codes of one length (no group, not the country),
        additive rules, the registry the events were built with, no prefix left to the rows. Binds the file."""
        if not self.use_rollup_events or src is None or not src.rollups or attach is None:
            return False
        codes, matches = scope["code"].to_list(), scope["match"].to_list()
        if codes != matches or not sql_rollup.events_usable(indicators):
            return False
        if self._registry_key is None:
            self._registry_key = rollup_events.registry_key(self.registry.frame)
        if not rollup_events.usable(src.rollups, self._registry_key, attach, matches):
            return False
        params["rollup_events"] = src.rollups["file"]
        return True

    def _connect(self, snapshot, assess: pl.DataFrame | None, scope: pl.DataFrame | None, params: dict | None = None,
                 src=None):
        """A cursor with the relations and macros the generated SQL expects; returns (con, files).
        Sets params["unique_keys"] (when the query has it) from the sources read.

        Queries built on `sql.values_ctes` (they carry $unique_keys) keep the join sides as written: DuckDB
        underestimates the CTEs (millions of rows at tier L) and would otherwise build its hash tables from
        them instead of from the small side (the region registry, `has_below`): most of an overview's time at
        tier L in a profile (docs/benchmarks.md). The SQL puts the large relation on the left of every join.
        With the Spark backend the same relations become Spark temp views (warehouse/spark.py)."""
        if self.backend == "spark":
            return self._connect_spark(snapshot, assess, scope, params)
        src = src or current.sources(self.warehouse, snapshot)
        every = [f.path for f in self.warehouse.state(snapshot.version).files] + [src.versions or ""]
        every.append((src.rollups or {}).get("file") or "")
        # a cursor of the sealed database of this warehouse state (settings, macros: warehouse/engine_db.py)
        con = engine_db.snapshot_cursor(self._db, (snapshot.version, src.versions, every[-1]), every, src)
        con.register("regions", self._regions_arrow)
        if assess is not None:
            con.register("assess", assess.to_arrow())
            if self._annual_points.height:  # sql.annual_ctes joins it only when the definitions have annual targets
                con.register("annual_points", self._annual_points.to_arrow())
        if scope is not None:
            con.register("scope", scope.to_arrow())
        if params is not None and "unique_keys" in params:
            # only the versions table is read: at most one row per key as of any time (sql.py step 2)
            params["unique_keys"] = src.versions is not None and not src.delta
        if not snapshot.files:
            empty = pl.DataFrame(schema=BATCH_SCHEMA)
            path = None
            con.register("empty_batches", empty.to_arrow())
            return con, path
        return con, snapshot.files

    def _connect_spark(self, snapshot, assess, scope, params):
        from warehouse.spark import SparkQuery

        con = SparkQuery()
        con.register("regions", self.registry.frame)
        if assess is not None:
            con.register("assess", assess)
            if self._annual_points.height:
                con.register("annual_points", self._annual_points)
        if scope is not None:
            con.register("scope", scope)
        src = current.sources(self.warehouse, snapshot)
        con.register_sources(src, current.COLUMNS)
        if params is not None and "unique_keys" in params:
            params["unique_keys"] = src.versions is not None and not src.delta
        return con, snapshot.files or None

    def _run(self, con, query: str, params: dict, files) -> pl.DataFrame:
        if self.backend == "spark":
            try:
                return con.run(query, {k: v for k, v in params.items() if f"${k}" in query})
            finally:
                con.close()
        if files is None:
            query = query.replace("read_parquet($files, union_by_name = true)", "empty_batches")
        else:
            params["files"] = files
        used = {k: v for k, v in params.items() if f"${k}" in query}
        try:
            return engine_db.frame(con, query, used)
        except duckdb.Error as exc:
            raise EngineError(f"查询失败 / query failed: {exc}") from exc
        finally:
            con.close()

    def _status_frame(self, codes: list[str], as_of, plan_id, indicator) -> pl.DataFrame:
        self._check_plan(plan_id)
        moment = _as_of_moment(as_of)
        snapshot = self.warehouse.snapshot(moment)
        key = ("status", tuple(codes), plan_id, indicator, self._data_key(snapshot, moment))
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        if indicator is not None:  # the same regions' all-indicator frame is cached (region page, rankings):
            whole = self.cache.get(key[:3] + (None,) + key[4:])  # each indicator's rows are computed on their own
            if whole is not None:
                return whole.filter(pl.col("indicator_id") == indicator)
        return self.cache.put(key, self._compute_status(codes, moment, snapshot, plan_id, indicator))

    def _compute_status(self, codes: list[str], moment: datetime, snapshot, plan_id, indicator) -> pl.DataFrame:
        indicators = self._indicators(indicator, plan_id)
        assess = self._assess_frame(codes, indicators, moment, plan_id)
        if assess.height == 0:
            return pl.DataFrame(schema=_STATUS_SCHEMA)
        present = set(assess["indicator_id"].unique().to_list())  # once, not per indicator
        used = [i for i in indicators if i.id in present]
        raw = self._values_query(sqlgen.status_query, snapshot, moment, codes, used, assess)
        return self._finish(raw)

    def _finish(self, raw: pl.DataFrame) -> pl.DataFrame:
        return status_rows.finish(self, raw)

    # ------------------------------------------------------------ public API
    def status(self, region: str, as_of=None, plan_id=None, indicator=None) -> pl.DataFrame:
        """One row per indicator governed for the region (STATUS_COLUMNS)."""
        return self._status_frame([self._check_region(region)], as_of, plan_id, indicator)

    def children_status(self, parent: str, as_of=None, plan_id=None, indicator=None) -> pl.DataFrame:
        """child x indicator rows for the sibling set under `parent` (see `children`)."""
        kids = self.children(parent)
        if not kids:
            return pl.DataFrame(schema=_STATUS_SCHEMA)
        return self._status_frame(kids, as_of, plan_id, indicator)

    def descendants_status(self, region: str, as_of=None, plan_id=None, indicator=None) -> pl.DataFrame:
        """The region and every registry region below it (alerts). NBS placeholders (Chongqing's 5001 市辖区,
        5002 县) are left out: they are no administration anyone answers for, and their districts are listed."""
        code = self._check_region(region)
        tops = self._members(code) if code.startswith("group:") else [code]
        codes = [code] + [c for top in tops for c in [top] + self.registry.accountable_descendants(top)]
        return self._status_frame(list(dict.fromkeys(codes)), as_of, plan_id, indicator)

    def trajectory(self, region: str, indicator: str, as_of=None, plan_id=None) -> pl.DataFrame:
        """period, period_end, actual, expected (on the governing plan's straight line at each period end),
        value_source; plus the path points (baseline and target) as rows with actual = NULL."""
        code = self._check_region(region)
        self._check_plan(plan_id)
        ind = self._check_indicator(indicator)
        moment = _as_of_moment(as_of)
        status = self._status_frame([code], moment, plan_id, indicator)
        return _trajectory_frame(status, self._series(code, ind, moment))

    def trajectories(self, region: str, indicators: list[str], as_of=None, plan_id=None) -> dict[str, pl.DataFrame]:
        """`trajectory` for several indicators of one region at once (the export): one status query and one
        series query for all of them instead of two per indicator. Same frames as `trajectory`."""
        code = self._check_region(region)
        self._check_plan(plan_id)
        inds = [self._check_indicator(i) for i in dict.fromkeys(indicators)]
        if not inds:
            return {}
        moment = _as_of_moment(as_of)
        wanted = [i.id for i in inds]
        # the status rows of every indicator in the plan's scope (one query; a cache hit after engine.status)
        status = self._status_frame([code], moment, plan_id, wanted[0] if len(wanted) == 1 else None)
        missing = set(wanted) - set(status["indicator_id"].to_list())
        series = self._series_many(code, inds, moment)
        out = {}
        for ind in inds:
            if ind.id in missing:  # outside the batch query's indicator set: ask for it alone, as trajectory does
                row = self._status_frame([code], moment, plan_id, ind.id)
            else:
                row = status.filter(pl.col("indicator_id") == ind.id)
            out[ind.id] = _trajectory_frame(row, series[ind.id])
        return out

    def _series(self, code: str, ind: Indicator, moment: datetime) -> pl.DataFrame:
        """Every period's effective value for one region and indicator up to the as-of date (cached)."""
        return self._series_many(code, [ind], moment)[ind.id]

    def _series_many(self, code: str, inds: list[Indicator], moment: datetime) -> dict[str, pl.DataFrame]:
        """_series for several indicators with one query for those not cached yet (each cached on its own)."""
        snapshot = self.warehouse.snapshot(moment)
        keys = {ind.id: ("series", code, ind.id, self._data_key(snapshot, moment)) for ind in inds}
        out = {i: f for i, k in keys.items() if (f := self.cache.get(k)) is not None}
        todo = [ind for ind in inds if ind.id not in out]
        if todo:
            series = self._values_query(sqlgen.series_query, snapshot, moment, [code], todo, None)
            series = series.filter(pl.col("period_end") <= as_of_date(moment))
            for ind in todo:
                one = series.filter(pl.col("indicator_id") == ind.id) if len(todo) > 1 else series
                out[ind.id] = self.cache.put(keys[ind.id], one)
        return out

    def history(self, region: str, indicator: str, as_of=None) -> pl.DataFrame:
        """Every submission for the region and indicator known at as_of, superseded ones included."""
        code = self._check_region(region)
        self._check_indicator(indicator)
        moment = _as_of_moment(as_of)
        con, files = self._connect(self.warehouse.snapshot(moment), None, None)
        params = {"as_of": moment.replace(tzinfo=None), "region": code, "indicator": indicator}
        return self._run(con, sqlgen.history_query(), params, files)

    def overdue(self, region: str, as_of=None, plan_id=None) -> pl.DataFrame:
        """Periods whose end + due_days has passed without a value, for the region and the registry regions
        below it that report the indicator (level in reported_at) under a governing target."""
        self._check_plan(plan_id)
        code = self._check_region(region)
        moment = _as_of_moment(as_of)
        snapshot = self.warehouse.snapshot(moment)
        key = ("overdue", code, plan_id, self._data_key(snapshot, moment))
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        codes = [code] + ([] if code.startswith("group:") else self.registry.accountable_descendants(code))
        indicators = self._indicators(None, plan_id)
        assess = self._assess_frame(codes, indicators, moment, plan_id).filter(pl.col("reported"))
        schema = {"region_code": pl.String, "indicator_id": pl.String, "period_end": pl.Date,
                  "due_date": pl.Date, "days_overdue": pl.Int64, "plan_id": pl.String, "attribute": pl.String}
        if assess.height == 0:
            return pl.DataFrame(schema=schema)
        present = set(assess["indicator_id"].unique().to_list())  # once, not per indicator
        used = [i for i in indicators if i.id in present]
        return self.cache.put(key, self._values_query(sqlgen.overdue_query, snapshot, moment, codes, used, assess))

    def alerts(self, region: str, as_of=None, plan_id=None) -> pl.DataFrame:
        moment = _as_of_moment(as_of)
        key = ("alerts", self._check_region(region), plan_id, self._data_key(self.warehouse.snapshot(moment), moment))
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        frame = self.descendants_status(region, as_of=moment, plan_id=plan_id)
        late = self.overdue(region, as_of=moment, plan_id=plan_id)
        return self.cache.put(key, build_alerts(self, frame, late))

    def rank(self, parent: str, indicator_or_composite: str, as_of=None, plan_id=None) -> pl.DataFrame:
        return rank_siblings(self, parent, indicator_or_composite, as_of=as_of, plan_id=plan_id)


def _trajectory_frame(status: pl.DataFrame, series: pl.DataFrame) -> pl.DataFrame:
    """The trajectory frame from the region's status row for the indicator (0 or 1 rows) and its series."""
    expected = [None] * series.height
    if status.height and status["baseline_value"][0] is not None and status["target_value"][0] is not None:
        row = status.row(0, named=True)
        start = row["baseline_date"]
        end = date(int(row["target_year"]), 12, 31)
        points = annual_path.parse(row.get("annual_path"))
        if end > start and points:  # annual targets: the piecewise path through them (methodology §6a)
            goal = st.goal(row["baseline_value"], row["comparator"], row["target_value"], row["target_high"])
            corners = annual_path.path(start, row["baseline_value"], points, end, goal)
            expected = [annual_path.value_at(corners, pe) for pe in series["period_end"].to_list()]
        elif end > start:
            expected = [
                st.expected_value(row["baseline_value"], row["comparator"], row["target_value"],
                                  row["target_high"], st.path_fraction(pe, start, end))
                for pe in series["period_end"].to_list()
            ]
    return pl.DataFrame({
        "period": series["period"],
        "period_end": series["period_end"],
        "actual": series["value"],
        "expected": pl.Series(expected, dtype=pl.Float64),
        "value_source": series["value_source"],
        "submitted_value": series["submitted_value"],
        "rollup_value": series["rollup_value"],
    })


def _common_prefix(codes: list[str]) -> str:
    if not codes:
        return ""
    first, last = min(codes), max(codes)
    n = 0
    while n < min(len(first), len(last)) and first[n] == last[n]:
        n += 1
    prefix = first[:n]
    for length in (12, 9, 6, 4, 2):
        if len(prefix) >= length:
            return prefix[:length]
    return ""


__all__ = ["Engine", "EngineError", "STATUS_COLUMNS", "severity", "as_of_date", "previous_month_end"]
