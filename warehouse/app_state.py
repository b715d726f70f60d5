"""Dashboard state: the sidebar, the URL query parameters and the cached loaders.

Every page's view lives in the URL: `?plan=…&region=…&indicator=…&month=…&lang=…`, so a copied link opens
the same view. `dashboard.py` calls `sidebar()` once per run (before the page); pages then call `current()`.

    state = app_state.current()                 # ViewState(plan_id, region, indicator, month, lang, as_of)
    defs = app_state.definitions()              # the effective Definitions (last valid ones if the file broke)
    frame = app_state.query("status", state.region, as_of=state.as_of, plan_id=state.plan_id)

Caching:
- definitions: loaded again when indicator_defs.yaml changes (key: path, mtime, size, sha256); the last valid
  ones are kept in `st.cache_resource`, so a broken edit shows a banner and the pages keep working;
- the engine: one per (warehouse path, definitions hash), in `st.cache_resource`;
- engine queries: `st.cache_data` keyed on `engine.version()` (manifest version + definitions hash) and the
  arguments, so a new ingest shows up without a restart and an unchanged rerun does not query again.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
import streamlit as st

from warehouse import access, auth_ui, i18n, page_section
from warehouse import formatting as fmt
from warehouse.definitions import Definitions, Plan
from warehouse.paths import default_defs_path, default_warehouse_path
from warehouse.periods import CST, parse_as_of, utc_now
from warehouse.safe_text import md, no_paths

PARAMS = ("plan", "region", "indicator", "month", "lang")
_KEY = "pw_"  # session_state prefix of the canonical values (not widget keys: those vanish off-page)
_WIDGET = "pw_w_"  # widget keys
_DEEPEST_LEVEL_IN_PICKER = "township"
_MAX_PICKER_OPTIONS = 4000  # beyond this the picker stops at county level


@dataclass(frozen=True)
class ViewState:
    plan_id: str
    region: str  # canonical code, "CN", or "group:<id>"
    indicator: str | None  # None: the page picks its default
    month: str | None  # "2025-12"; None = latest (everything known now)
    lang: str  # "zh" | "en"
    as_of: datetime | None  # aware UTC: 24:00 CST at the end of `month`; None = latest

    def params(self) -> dict[str, str]:
        """The URL query parameters for this view (empty values left out)."""
        values = {"plan": self.plan_id, "region": self.region, "indicator": self.indicator,
                  "month": self.month, "lang": self.lang}
        return {k: v for k, v in values.items() if v}


@dataclass
class DefsState:
    path: Path
    definitions: Definitions | None  # the effective definitions (current file, else last valid)
    defs_hash: str  # hash of the effective definitions ("" when none)
    errors: list[Any] = field(default_factory=list)  # problems of the current file when it has errors
    stale: bool = False  # True when the current file is broken and the last valid definitions are used
    missing: bool = False  # the file does not exist


# ---------------------------------------------------------------------------------------------------
# definitions


@st.cache_resource(show_spinner=False)
def _last_valid() -> dict[str, Any]:
    """path -> last LoadResult without errors (per server process)."""
    return {}


@st.cache_resource(show_spinner=False, max_entries=16)
def _load_defs(path: str, mtime_ns: int, size: int, sha: str) -> Any:
    from warehouse.defs_loader import load_definitions

    return load_definitions(path)


def _file_key(path: Path) -> tuple[int, int, str] | None:
    try:
        stat = path.stat()
        data = path.read_bytes()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size, hashlib.sha256(data).hexdigest()


def load_defs() -> DefsState:
    """The definitions for this run: reloaded when the file changed; the last valid ones when it is broken."""
    path = default_defs_path()
    key = _file_key(path)
    store = _last_valid()
    previous = store.get(str(path))
    if key is None:
        if previous is not None:
            return DefsState(path, previous.definitions, previous.defs_hash, stale=True, missing=True)
        return DefsState(path, None, "", missing=True)
    result = _load_defs(str(path), *key)
    if result.ok and result.definitions is not None:
        store[str(path)] = result
        return DefsState(path, result.definitions, result.defs_hash)
    if previous is not None:
        return DefsState(path, previous.definitions, previous.defs_hash, errors=result.errors, stale=True)
    return DefsState(path, None, "", errors=result.errors)


def definitions() -> Definitions:
    """The effective definitions of this run (call after `sidebar()`)."""
    defs = st.session_state.get(_KEY + "defs")
    if defs is None:
        defs = load_defs().definitions
    if defs is None:
        st.stop()
    return defs


def problem_line(problem: Any) -> str:
    """One banner line: file:line, field, message (and the suggestion when there is one)."""
    where = f"{Path(problem.file).name}:{problem.line}" if problem.line else Path(problem.file).name
    text = f"`{where}` · `{problem.path or '—'}` · {problem.message}"
    if problem.expected and len(problem.expected) <= 60:
        text += f"（expected {problem.expected}）"
    if problem.suggestion:
        text += f" → `{problem.suggestion}`?"
    return text


def show_defs_banner(state: DefsState, lang: str) -> None:
    if state.missing and state.definitions is None:
        st.error(i18n.t("defs.missing", lang, path=state.path.name))
        return
    if not state.errors:
        return
    if state.stale:
        head = i18n.t("defs.banner", lang, path=state.path.name, n=len(state.errors), hash=state.defs_hash[:8])
    else:
        head = i18n.t("defs.invalid_no_fallback", lang, path=state.path.name)
    shown = state.errors[:20]
    more = f"\n- … (+{len(state.errors) - len(shown)})" if len(state.errors) > len(shown) else ""
    st.error(head + "\n" + "\n".join(f"- {problem_line(p)}" for p in shown) + more, icon="⚠️")


# ---------------------------------------------------------------------------------------------------
# engine and cached queries


class DataUnavailable(RuntimeError):
    """The warehouse cannot be read (missing folder, broken manifest …); message is shown as-is."""


_ENGINE_LOCK = threading.Lock()  # one query at a time per process: the engine's DuckDB use is not shared


@st.cache_resource(show_spinner=False, max_entries=4)
def _engine(warehouse: str, defs_hash: str, _definitions: Definitions) -> Any:
    from warehouse.engine import Engine

    return Engine(Path(warehouse), _definitions)


def warehouse_path() -> Path:
    return default_warehouse_path()


def _is_warehouse(path: Path) -> bool:
    from warehouse.storage import Warehouse

    return Warehouse(path).exists()


def engine() -> Any:
    """The engine over the current warehouse and the effective definitions (cached per definitions hash)."""
    defs_state = st.session_state.get(_KEY + "defs_state") or load_defs()
    if defs_state.definitions is None:
        st.stop()
    path = warehouse_path()
    if not _is_warehouse(path):
        raise DataUnavailable(i18n.t("wh.missing", current_lang(), path=path.name))
    return _engine(str(path.resolve()), defs_state.defs_hash, defs_state.definitions)


@st.cache_data(show_spinner=False, max_entries=512)
def _cached_query(version: str, warehouse: str, method: str, args: tuple, kwargs: tuple, _engine: Any) -> Any:
    with _ENGINE_LOCK:
        return getattr(_engine, method)(*args, **dict(kwargs))


def query(method: str, *args: Any, **kwargs: Any) -> Any:
    """`engine.<method>(*args, **kwargs)`, cached on the engine version, for the signed-in identity's scope:
    a region outside it shows "outside your access" and stops the page (access.check_query); a ranking of
    siblings outside it keeps only the identity's own rows and how many were ranked (access.redact_rank).
    On failure the page shows the error (in the UI language, no server path), not a traceback; inside a
    `page_section.section()` only that section is lost, outside one the page stops."""
    lang = current_lang()
    who = identity()
    members = auth_ui.members_of(definitions())
    try:
        access.check_query(who, method, args, members)
        eng = engine()
        version = eng.version()
        result = _cached_query(version, str(warehouse_path()), method, args, tuple(sorted(kwargs.items())), _engine=eng)
        return access.redact_rank(result, str(args[0]), who, members) if method == "rank" else result
    except access.OutsideScope as exc:
        auth_ui.show_outside(exc.region, lang)
        st.stop()
    except DataUnavailable as exc:
        st.warning(no_paths(exc))
        st.stop()
    except Exception as exc:  # noqa: BLE001 - shown to the user, not swallowed (no server path, no traceback)
        from warehouse.safe_errors import message

        st.error(md(i18n.t("wh.error", lang, error=no_paths(message(exc, lang)))))
        if page_section.inside():  # only this section of the page is lost (warehouse/page_section.py)
            raise page_section.SectionFailed() from None
        st.stop()


def identity() -> access.Identity:
    """Who this session is (set by `sidebar()`; the run stops when there is nobody)."""
    who = st.session_state.get(_KEY + "identity")
    if not isinstance(who, access.Identity):
        st.stop()
    return who


def log_entry_filter() -> Any:
    """user name of an ingest log entry -> may this identity see the entry (access.sees_log_entry)."""
    who = identity()
    defs = definitions()
    members = auth_ui.members_of(defs)
    policy = None
    if who.signed_in and who.can("log_scope"):
        state = st.session_state.get(_KEY + "defs_state") or load_defs()
        policy = auth_ui.load_policy_result(defs, state.defs_hash, warehouse_path()).policy

    def scope_of(user: str) -> access.Scope | None:
        return policy.scope_of_user(user, members) if policy is not None else None

    return lambda user: access.sees_log_entry(who, user, scope_of)


def in_scope(region: str) -> bool:
    """Is `region` inside the identity's scope?"""
    return identity().scope.allows(region, auth_ui.members_of(definitions()))


def require_scope(region: str) -> None:
    """Stop the page with "outside your access" unless `region` is inside the identity's scope (for reads
    that do not go through `query`: the data-quality tables, the export)."""
    who = identity()
    if not who.scope.allows(region, auth_ui.members_of(definitions())):
        auth_ui.show_outside(region, current_lang())
        st.stop()


@st.cache_data(show_spinner=False, max_entries=32)
def _cached_read(version: str, name: str, args: tuple, _func: Any) -> Any:
    return _func(*args)


def cached_read(func: Any, *args: Any) -> Any:
    """`func(*args)` for warehouse reads outside the engine (the data-quality page's submissions, log and
    registry), cached on the same warehouse + definitions version as `query`, so a rerun does not scan the
    warehouse again and a new ingest is seen at once. Arguments must be hashable (paths, datetimes, codes)."""
    return _cached_read(data_version() or "", f"{func.__module__}.{func.__qualname__}", args, _func=func)


def data_version() -> str | None:
    try:
        return engine().version()
    except Exception:  # noqa: BLE001 - the caption is optional
        return None


# ---------------------------------------------------------------------------------------------------
# regions


@st.cache_data(show_spinner=False, max_entries=4)
def _regions_table(path: str, mtime_ns: int) -> pl.DataFrame:
    return pl.read_parquet(path, columns=["code", "name", "level", "parent"])


def regions_table() -> pl.DataFrame:
    """code, name, level, parent of every region of the warehouse (empty when there is none)."""
    path = warehouse_path() / "regions.parquet"
    try:
        return _regions_table(str(path), path.stat().st_mtime_ns)
    except (OSError, pl.exceptions.PolarsError):
        return pl.DataFrame(schema={"code": pl.Utf8, "name": pl.Utf8, "level": pl.Utf8, "parent": pl.Utf8})


def region_name(code: str, lang: str = "zh", defs: Definitions | None = None) -> str:
    if code == "CN":
        return "全国" if lang == "zh" else "China"
    if code.startswith("group:"):
        try:
            return (defs or definitions()).group(code.split(":", 1)[1]).name.get(lang)
        except KeyError:
            return code
    return region_names().get(code, code)


def region_names() -> dict[str, str]:
    """code -> NBS name for every region of the warehouse's registry."""
    path = warehouse_path() / "regions.parquet"
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        return {}
    return _region_names(str(path), mtime)


@st.cache_data(show_spinner=False, max_entries=4)
def _region_names(path: str, mtime_ns: int) -> dict[str, str]:
    table = _regions_table(path, mtime_ns)
    return dict(zip(table["code"].to_list(), table["name"].to_list()))


@dataclass(frozen=True)
class RegionOption:
    code: str
    label: str  # indented display label: "　　綦江区（500110）"


def region_options(defs: Definitions, plan: Plan, lang: str, scoped: bool = True) -> list[RegionOption]:
    """The plan's region and everything under it, depth first (province → city → county → township), with
    the named groups placed under their parent division. Stops at county level when the tree down to
    townships would exceed _MAX_PICKER_OPTIONS entries. `scoped`: only the regions of the identity's scope."""
    options = _region_options(defs, plan, lang, _DEEPEST_LEVEL_IN_PICKER)
    if len(options) > _MAX_PICKER_OPTIONS:
        options = _region_options(defs, plan, lang, "county")
    if scoped:
        scope, members = identity().scope, auth_ui.members_of(defs)
        options = [o for o in options if scope.allows(o.code, members)]
    return options


def visible_plans(defs: Definitions) -> list[Plan]:
    """The plans whose area overlaps the identity's scope."""
    scope, members = identity().scope, auth_ui.members_of(defs)
    return [p for p in defs.plans if scope.overlaps(p.region, members)]


def _region_options(defs: Definitions, plan: Plan, lang: str, deepest: str) -> list[RegionOption]:
    table = regions_table()
    children: dict[str, list[tuple[str, str, str]]] = {}
    for code, name, level, parent in table.select("code", "name", "level", "parent").iter_rows():
        children.setdefault(parent or "", []).append((code, name, level))
    for kids in children.values():
        kids.sort()
    groups_under: dict[str, list[Any]] = {}
    for group in defs.region_groups:
        groups_under.setdefault(group.parent or "CN", []).append(group)

    order = ["country", "province", "city", "county", "township", "community"]
    max_depth = order.index(deepest)

    options: list[RegionOption] = []
    seen: set[str] = set()

    def code_text(code: str) -> str:
        return code if code == "CN" else (code.ljust(6, "0") if len(code) < 6 else code)

    def add(code: str, name: str, level: str, depth: int) -> None:
        if code in seen:
            return
        seen.add(code)
        options.append(RegionOption(code, f"{'　' * depth}{name}（{code_text(code)}）"))
        for group in groups_under.get(code, []):
            gcode = f"group:{group.id}"
            if gcode not in seen:
                seen.add(gcode)
                options.append(RegionOption(gcode, f"{'　' * (depth + 1)}◆ {group.name.get(lang)}"))
        if level in order and order.index(level) >= max_depth:
            return
        for kid, kid_name, kid_level in children.get(code, []):
            add(kid, kid_name, kid_level, depth + 1)

    levels = dict(zip(table["code"].to_list(), table["level"].to_list()))
    names = dict(zip(table["code"].to_list(), table["name"].to_list()))
    root = plan.region
    if root == "CN":
        add("CN", region_name("CN", lang), "country", 0)
    elif root.startswith("group:"):
        group = defs.group(root.split(":", 1)[1])
        seen.add(root)
        options.append(RegionOption(root, f"◆ {group.name.get(lang)}"))
        for member in group.members:
            if member in levels:
                add(member, names[member], levels[member], 1)
    elif root in levels:
        add(root, names[root], levels[root], 0)
    else:
        options.append(RegionOption(root, root))
    return options


# ---------------------------------------------------------------------------------------------------
# URL state and the sidebar


def current_lang() -> str:
    lang = st.session_state.get(_KEY + "lang")
    if lang in i18n.LANGS:
        return lang
    raw = st.query_params.get("lang")
    return raw if raw in i18n.LANGS else i18n.DEFAULT_LANG


def month_options(plan: Plan, now: datetime | None = None) -> list[str]:
    """'' (latest) then every month from January of the plan's start year to this month (CST), newest first.
    Months after the plan's target year are kept only up to this month."""
    local = (now or utc_now()).astimezone(CST)
    months: list[str] = []
    year, month = local.year, local.month
    while (year, month) >= (plan.period.start, 1):
        months.append(f"{year}-{month:02d}")
        month -= 1
        if month == 0:
            year, month = year - 1, 12
    return [""] + months


def _valid_month(raw: str) -> str | None:
    try:
        parse_as_of(raw)
    except ValueError:
        return None
    parts = raw.split("-")
    if len(parts) != 2 or not (1 <= int(parts[1]) <= 12):
        return None
    return f"{int(parts[0]):04d}-{int(parts[1]):02d}"


def _default_plan(defs: Definitions) -> str:
    """The plan a page opens on when the link names none: the most recently active (warehouse/default_view.py)."""
    from warehouse import default_view

    return default_view.pick(defs, lambda: cached_read(default_view.latest_years, warehouse_path()), utc_now())


def _init_from_url(defs: Definitions) -> list[str]:
    """First run of a session: take the view from the URL, reporting (not hiding) values that are not valid."""
    params = st.query_params
    notes: list[str] = []
    raw_lang = params.get("lang")
    lang = raw_lang if raw_lang in i18n.LANGS else i18n.DEFAULT_LANG
    if raw_lang and raw_lang not in i18n.LANGS:
        notes.append(i18n.t("url.bad_param", lang, param="lang", value=raw_lang,
                            reason=i18n.t("url.reason.bad_lang", lang), fallback="zh"))
    st.session_state[_KEY + "lang"] = lang

    plan_ids = [p.id for p in visible_plans(defs)]
    raw_plan = params.get("plan")
    plan_id = raw_plan if raw_plan in plan_ids else _default_plan(defs)
    if raw_plan and raw_plan not in plan_ids:
        notes.append(i18n.t("url.bad_param", lang, param="plan", value=raw_plan,
                            reason=i18n.t("url.reason.unknown_plan", lang), fallback=plan_id))
    st.session_state[_KEY + "plan"] = plan_id
    plan = defs.plan(plan_id)

    raw_region = params.get("region")
    allowed = [o.code for o in region_options(defs, plan, lang)]
    codes = set(allowed)
    roots = [c for c in allowed if c in identity().scope.roots]  # a scoped person starts at its own region
    home = plan.region if plan.region in codes or not allowed else (roots or allowed)[0]
    if raw_region and raw_region not in codes:
        from warehouse.regions import canonical_code

        normal = canonical_code(raw_region) if not raw_region.startswith("group:") else raw_region
        if normal in codes:
            raw_region = normal
        else:
            known = normal in {o.code for o in region_options(defs, plan, lang, scoped=False)}
            reason = "auth.outside_short" if known else "url.reason.unknown_region"
            notes.append(i18n.t("url.bad_param", lang, param="region", value=raw_region,
                                reason=i18n.t(reason, lang), fallback=home))
            raw_region = None
    st.session_state[_KEY + "region"] = raw_region or home

    raw_indicator = params.get("indicator")
    plan_indicators = [t.indicator for t in plan.targets]
    if raw_indicator and raw_indicator not in plan_indicators:
        fallback = plan_indicators[0] if plan_indicators else "—"
        notes.append(i18n.t("url.bad_param", lang, param="indicator", value=raw_indicator,
                            reason=i18n.t("url.reason.unknown_indicator", lang), fallback=fallback))
        raw_indicator = None
    st.session_state[_KEY + "indicator"] = raw_indicator

    raw_month = params.get("month")
    month = _valid_month(raw_month) if raw_month else None
    if raw_month and month is None:
        notes.append(i18n.t("url.bad_param", lang, param="month", value=raw_month,
                            reason=i18n.t("url.reason.bad_month", lang), fallback=i18n.t("sidebar.latest", lang)))
    st.session_state[_KEY + "month"] = month or ""
    st.session_state[_KEY + "initialised"] = True
    return notes


def widget_key(name: str, lang: str = i18n.DEFAULT_LANG) -> str:
    """The key of the sidebar widget for `name`. Widgets whose option labels are translated get one key per
    language: Streamlit's frontend keeps showing a select box's old label when only the labels change, so a
    language switch must create a new widget."""
    return _WIDGET + name if name == "lang" or lang == i18n.DEFAULT_LANG else f"{_WIDGET}{name}.{lang}"


def _widget(name: str, options: list[str], lang: str = i18n.DEFAULT_LANG) -> str:
    """Prepare the widget key for a canonical value (resetting it when the options changed)."""
    key = widget_key(name, lang)
    value = st.session_state.get(_KEY + name)
    if value not in options:
        value = options[0] if options else None
        st.session_state[_KEY + name] = value
    if st.session_state.get(key) not in options or st.session_state.get(key) != value:
        st.session_state[key] = value
    return key


def _store(name: str, key: str | None = None) -> None:
    st.session_state[_KEY + name] = st.session_state[key or _WIDGET + name]


def sidebar() -> ViewState | None:
    """Render the sidebar (language, plan, region, as-of month), sync the URL, and return the view.

    Shows the definitions banner when the definitions file has errors. Returns None (after showing why)
    when there are no usable definitions at all."""
    defs_state = load_defs()
    st.session_state[_KEY + "defs_state"] = defs_state
    st.session_state[_KEY + "defs"] = defs_state.definitions
    lang = current_lang()
    show_defs_banner(defs_state, lang)
    defs = defs_state.definitions
    if defs is None or not defs.plans:
        return None
    who = auth_ui.identity(defs, defs_state.defs_hash, warehouse_path(), lang)
    st.session_state[_KEY + "identity"] = who
    auth_ui.sidebar_block(who, lang, lambda code: region_name(code, lang, defs))
    if not visible_plans(defs):
        auth_ui.show_outside("—", lang)
        return None
    if not st.session_state.get(_KEY + "initialised"):
        st.session_state[_KEY + "url_notes"] = _init_from_url(defs)
    for note in st.session_state.get(_KEY + "url_notes", []):
        st.warning(md(note))  # the note quotes the URL: shown literally, never as Markdown

    with st.sidebar:
        key = _widget("lang", list(i18n.LANGS))
        st.radio(i18n.t("sidebar.lang", lang), list(i18n.LANGS), key=key, horizontal=True,
                 format_func=i18n.LANG_NAMES.get, on_change=_store, args=("lang",))
        lang = st.session_state[_KEY + "lang"]

        plans = {p.id: p for p in visible_plans(defs)}
        key = _widget("plan", lang=lang, options=list(plans))
        st.selectbox(i18n.t("sidebar.plan", lang), list(plans), key=key,
                     format_func=lambda pid: plans[pid].name.get(lang), on_change=_store, args=("plan", key))
        plan = plans[st.session_state[_KEY + "plan"]]

        options = region_options(defs, plan, lang)
        labels = {o.code: o.label for o in options}
        key = _widget("region", lang=lang, options=list(labels))
        st.selectbox(i18n.t("sidebar.region", lang), list(labels), key=key, format_func=labels.get,
                     on_change=_store, args=("region", key))

        months = month_options(plan)
        linked = st.session_state.get(_KEY + "month")
        if linked and linked not in months:  # a valid month from a link, outside the plan's span: keep it
            months.append(linked)
        key = _widget("month", lang=lang, options=months)
        st.selectbox(i18n.t("sidebar.month", lang), months, key=key,
                     format_func=lambda m: fmt.format_month(m, lang) if m else i18n.t("sidebar.latest", lang),
                     on_change=_store, args=("month", key))

    indicator = st.session_state.get(_KEY + "indicator")
    if indicator not in {t.indicator for t in plan.targets}:
        indicator = None
        st.session_state[_KEY + "indicator"] = None
    month = st.session_state[_KEY + "month"] or None
    state = ViewState(plan.id, st.session_state[_KEY + "region"], indicator, month, lang,
                      parse_as_of(month) if month else None)
    _publish(state)
    with st.sidebar:
        st.caption(fmt.format_as_of(state.as_of, lang))
        st.caption(fmt.as_of_meaning(lang))
        version = data_version() if _is_warehouse(warehouse_path()) else None
        if version:
            st.caption(i18n.t("sidebar.data_version", lang, version=version))
    return state


def _publish(state: ViewState) -> None:
    st.session_state[_KEY + "view"] = state
    params = state.params()
    if dict(st.query_params) != params:
        st.query_params.from_dict(params)


def current() -> ViewState:
    """The view of this run (set by `sidebar()` in dashboard.py)."""
    state = st.session_state.get(_KEY + "view")
    if state is None:
        st.stop()
    return state


def set_indicator(indicator: str | None) -> None:
    """Make `indicator` part of the view (and the URL)."""
    st.session_state[_KEY + "indicator"] = indicator
    state = current()
    _publish(ViewState(**{**asdict(state), "indicator": indicator}))


def indicator_picker(state: ViewState, defs: Definitions, label: str | None = None) -> str | None:
    """A select box over the plan's indicators (binding first), kept in the URL as `indicator`."""
    plan = defs.plan(state.plan_id)
    ids = []
    for target in sorted(plan.targets, key=lambda t: t.attribute.value != "binding"):
        if target.indicator not in ids:
            ids.append(target.indicator)
    if not ids:
        return None

    def name(ind: str) -> str:
        try:
            indicator = defs.indicator(ind)
        except KeyError:
            return ind
        binding = any(t.indicator == ind and t.attribute.value == "binding" for t in plan.targets)
        # the plan's own wording (name_in_plan), the catalogue name secondary
        return ("★ " if binding else "") + defs.indicator_name(plan, indicator.id, state.lang, with_catalogue=True)

    if state.indicator not in ids:
        st.session_state[_KEY + "indicator"] = ids[0]
    key = _widget("indicator", ids, state.lang)
    st.selectbox(label or i18n.t("sidebar.indicator", state.lang), ids, key=key, format_func=name,
                 on_change=_store, args=("indicator", key))
    chosen = st.session_state[_KEY + "indicator"]
    set_indicator(chosen)
    return chosen


def open_indicator(indicator: str, page: str = "pages/indicator.py") -> None:
    """Button callback target: show `indicator` on the indicator page."""
    st.session_state[_KEY + "indicator"] = indicator
    st.switch_page(page)


def open_region(region: str, page: str = "pages/region.py") -> None:
    st.session_state[_KEY + "region"] = region
    st.switch_page(page)


def parent_of(region: str, defs: Definitions) -> str | None:
    """The division whose children are this region's siblings: the NBS parent, a group's `parent`, None for CN."""
    if region == "CN":
        return None
    if region.startswith("group:"):
        try:
            return defs.group(region.split(":", 1)[1]).parent
        except KeyError:
            return None
    from warehouse.regions import sibling_parent

    # NBS placeholders are seen through, as in the engine's rankings: a Chongqing district's siblings are
    # all 38 districts and counties, not the 26 under 5001 市辖区
    return sibling_parent(regions_table(), region)
