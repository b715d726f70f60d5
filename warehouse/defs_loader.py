"""Load indicator_defs.yaml: parse keeping line/column per node, validate, cross-check, report every problem.

Entry points: `load_definitions(path)` and `load_definitions_text(text, filename)` return a `LoadResult`
holding the typed `Definitions` (None when there is any error), every `Problem` found (errors and
warnings, sorted by position) and the sha256 of the file bytes. `require_definitions(path)` is the
shortcut for code that just needs valid definitions and raises `DefinitionsError` otherwise.

How it works, in one pass:
1. YAML is composed into nodes (so every value keeps its line/column), then turned into plain Python
   data while recording the position of every value and key, and reporting duplicate keys.
2. Comparators in analysts' spellings (≥ ＞ >= ...) are normalised to the model's.
3. Each node is validated on its own with pydantic (each indicator, each plan header, each plan target,
   ...), so one bad node never hides problems in the others; pydantic errors become Problems that
   point at the offending node, with the expected/found values and typo suggestions.
4. Cross-reference checks run over the nodes that validated (duplicate ids, unknown references, bounds,
   thresholds, years) and add errors and warnings.
The schema and the list of problems are documented for analysts in docs/indicator-definitions.md.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
import types
import typing
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from warehouse import defs_checks, defs_limits
from warehouse.annual_checks import check_annual
from warehouse.definitions import (
    Comparator,
    Defaults,
    Definitions,
    Indicator,
    Plan,
    PlanTarget,
    RegionGroup,
    Thresholds,
)
from warehouse.tasks_defs import check_tasks

# Analysts' spellings of comparators -> the model's values.
COMPARATOR_SPELLINGS: dict[str, str] = {
    "≥": ">=", ">=": ">=", "＞＝": ">=", "≧": ">=",
    "≤": "<=", "<=": "<=", "＜＝": "<=", "≦": "<=",
    "＞": ">", ">": ">",
    "＜": "<", "<": "<",
    "＝": "=", "=": "=", "==": "=",
}
ACCEPTED_COMPARATORS = "≥ ≤ ＞ ＜ ＝ >= <= > < ="

REGION_CODE = re.compile(r"^(CN|\d{2}|\d{4}|\d{6}|\d{9}|\d{12})$")

Key = str | int
Path_ = tuple[Key, ...]


# --------------------------------------------------------------------------------------------------
# Problems and results


@dataclass(frozen=True)
class Problem:
    """One thing wrong (error) or worth a look (warning) in the definitions file.

    line and column are 1-based; 0 means the problem concerns the whole file (e.g. it cannot be read).
    path is the field path, e.g. `plans.chongqing_2021.targets[3].target.comparator`.
    """

    severity: str  # "error" | "warning"
    file: str
    line: int
    column: int
    path: str
    message: str
    expected: str | None = None
    found: str | None = None
    suggestion: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}" if self.line else self.file
        text = f"{where}: {self.severity}: "
        if self.path:
            text += f"{self.path}: "
        text += self.message
        details = ", ".join(
            part
            for part in (
                f"expected {self.expected}" if self.expected else "",
                f"found {self.found}" if self.found else "",
            )
            if part
        )
        if self.suggestion:
            hint = f"did you mean `{self.suggestion}`?"
            details = f"{details}; {hint}" if details else hint
        if details:
            text += f" ({details})"
        return text

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class LoadResult:
    definitions: Definitions | None
    problems: list[Problem]
    defs_hash: str  # sha256 of the file bytes (hex); "" when the file could not be read
    file: str = ""

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        e, w = len(self.errors), len(self.warnings)
        return f"{e} error{'s' if e != 1 else ''}, {w} warning{'s' if w != 1 else ''}"


class DefinitionsError(Exception):
    """Raised by require_definitions when the file has errors; str() lists them."""

    def __init__(self, result: LoadResult):
        self.result = result
        self.problems = result.errors
        lines = [str(p) for p in result.errors]
        super().__init__(
            f"indicator definitions have errors / 指标定义有错误 ({result.summary()}):\n" + "\n".join(lines)
        )


# --------------------------------------------------------------------------------------------------
# Public API


def load_definitions(path: str | Path) -> LoadResult:
    """Read, parse, validate and cross-check a definitions file. Never raises for bad input."""
    name = str(path)
    try:
        size = Path(path).stat().st_size
        if size > defs_limits.MAX_BYTES:
            return _fail(name, defs_limits.size_message(size))
        data = Path(path).read_bytes()
    except FileNotFoundError:
        return _fail(name, "file not found")
    except IsADirectoryError:
        return _fail(name, "this is a folder, not a YAML file")
    except OSError as exc:
        return _fail(name, f"cannot read the file: {exc.strerror or exc}")
    return _load_bytes(data, name)


def load_definitions_text(text: str, filename: str = "<text>") -> LoadResult:
    """Same as load_definitions, for YAML already in memory (hash is of its UTF-8 bytes)."""
    return _load_bytes(text.encode("utf-8"), filename)


def require_definitions(path: str | Path | None = None) -> Definitions:
    """Valid definitions or DefinitionsError (listing every error). Default path: paths.default_defs_path()."""
    if path is None:
        from warehouse.paths import default_defs_path

        path = default_defs_path()
    result = load_definitions(path)
    if result.definitions is None:
        raise DefinitionsError(result)
    return result.definitions


# --------------------------------------------------------------------------------------------------
# Implementation


def _fail(name: str, message: str) -> LoadResult:
    return LoadResult(None, [Problem("error", name, 0, 0, "", message)], "", name)


def _load_bytes(data: bytes, name: str) -> LoadResult:
    digest = hashlib.sha256(data).hexdigest()
    checker = _Checker(name)
    if len(data) > defs_limits.MAX_BYTES:
        checker.error((), defs_limits.size_message(len(data)), at=(1, 1))
        return checker.result(None, digest)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        checker.error(
            (), f"the file is not UTF-8 text (byte 0x{data[exc.start]:02X}); save it as UTF-8",
            at=(line, column),
        )
        return checker.result(None, digest)
    try:
        defs_limits.check_flow_depth(text)  # before PyYAML's scanner, slow on deep nesting (defs_limits.py)
        raw = checker.parse(text)
        definitions = checker.validate(raw) if raw is not None else None
        if raw is None and not checker.has_errors():  # e.g. a file holding only `null` or `~`
            checker.error((), "the file holds no definitions", at=(1, 1),
                          expected="a mapping with `indicators` and `plans`")
    except (defs_limits.DefinitionsTooLarge, RecursionError) as exc:
        message = str(exc) if isinstance(exc, defs_limits.DefinitionsTooLarge) else defs_limits.DEPTH_MESSAGE
        checker.problems.clear()
        checker.error((), message, at=getattr(exc, "at", (1, 1)))
        definitions = None
    except Exception as exc:  # a bug in the checks must not become a traceback for the analyst
        checker.error((), f"internal error while checking the file ({type(exc).__name__}: {exc}); "
                      "please report it with the file", at=(1, 1))
        definitions = None
    return checker.result(definitions, digest)


@dataclass
class _Loc:
    line: int
    column: int


@dataclass
class _Checker:
    file: str
    problems: list[tuple] = field(default_factory=list)  # (severity, path, line, column, message, ...)
    values: dict[Path_, _Loc] = field(default_factory=dict)  # path -> position of the value node
    keys: dict[Path_, _Loc] = field(default_factory=dict)  # path -> position of its key
    raw: Any = None
    reported: set[Path_] = field(default_factory=set)  # paths already explained (skip pydantic's echo)
    comma_fragments: set[Path_] = field(default_factory=set)  # `{a: 1,000 x}` -> key "000 x" with no value
    constructor: yaml.constructor.SafeConstructor = field(default_factory=yaml.constructor.SafeConstructor)

    # ---- reporting ----

    def add(self, severity: str, path: Path_, message: str, *, at: tuple[int, int] | None = None,
            on_key: bool = False, expected: str | None = None, found: str | None = None,
            suggestion: str | None = None) -> None:
        if at is None:
            at = self.position(path, on_key=on_key)
        # Paths are rendered at the end, once the whole data is known (ids name list items).
        self.problems.append((severity, path, at[0], at[1], message, expected, found, suggestion))

    def error(self, path: Path_, message: str, **kw: Any) -> None:
        self.add("error", path, message, **kw)

    def warning(self, path: Path_, message: str, **kw: Any) -> None:
        self.add("warning", path, message, **kw)

    def position(self, path: Path_, on_key: bool = False) -> tuple[int, int]:
        """Line/column of the node at path (or of its key); the nearest existing ancestor otherwise."""
        if on_key and path in self.keys:
            loc = self.keys[path]
            return loc.line, loc.column
        p = path
        while p not in self.values and p:
            p = p[:-1]
        loc = self.values.get(p, _Loc(1, 1))
        return loc.line, loc.column

    def display(self, path: Path_) -> str:
        """Render a path, naming list items by their id when they have one: plans.cq.targets[3].target."""
        out = ""
        node = self.raw
        for key in path:
            item = None
            if isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
                item = node[key]
                ident = item.get("id") if isinstance(item, dict) else None
                out += f".{ident}" if isinstance(ident, str) and ident else f"[{key}]"
            elif isinstance(node, dict):
                item = node.get(key)
                out += f".{key}" if out else str(key)
            else:
                out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else str(key))
            node = item
        return out

    def has_errors(self) -> bool:
        return any(p[0] == "error" for p in self.problems)

    def result(self, definitions: Definitions | None, digest: str) -> LoadResult:
        problems = [
            Problem(sev, self.file, line, col, self.display(path), msg, exp, found, sugg)
            for sev, path, line, col, msg, exp, found, sugg in self.problems
        ]
        problems.sort(key=lambda p: (p.line, p.column, p.severity != "error"))
        if any(p.severity == "error" for p in problems):
            definitions = None
        return LoadResult(definitions, problems, digest, self.file)

    # ---- step 1: YAML -> plain data with positions ----

    def parse(self, text: str) -> Any:
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.MarkedYAMLError as exc:
            line, column, message = _explain_yaml_error(exc, text)
            first = exc.context_mark.line + 1 if exc.context_mark else line
            line, column, message = defs_checks.full_width_hint(text, min(first, line), line) or (line, column, message)
            self.error((), message, at=(line, column))
            return None
        except yaml.YAMLError as exc:  # ReaderError: a control character
            position = getattr(exc, "position", 0)
            line = text.count("\n", 0, position) + 1
            column = position - (text.rfind("\n", 0, position) + 1) + 1
            char = getattr(exc, "character", "")
            self.error((), f"the file contains a control character {char!r} that YAML does not allow",
                       at=(line, column))
            return None
        defs_limits.check_expansion(root)  # before anything expands aliases (warehouse/defs_limits.py)
        if root is None:
            self.error((), "the file is empty", at=(1, 1), expected="a mapping with `indicators` and `plans`")
            return None
        self.raw = self._data(root, ())
        return self.raw

    def _data(self, node: yaml.Node, path: Path_) -> Any:
        self.values[path] = _Loc(node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            first_seen: dict[Any, int] = {}
            for key_node, value_node in node.value:
                key = self._scalar(key_node) if isinstance(key_node, yaml.ScalarNode) else str(key_node.value)
                if not isinstance(key, (str, int)):
                    key = str(key)
                key_line = key_node.start_mark.line + 1
                if key in first_seen:
                    self.error(path + (key,), f"duplicate key `{key}` (first at line {first_seen[key]}); "
                               "YAML would silently keep only the last one",
                               at=(key_line, key_node.start_mark.column + 1))
                first_seen.setdefault(key, key_line)
                self.keys[path + (key,)] = _Loc(key_line, key_node.start_mark.column + 1)
                if (node.flow_style and isinstance(value_node, yaml.ScalarNode) and value_node.value == ""
                        and key_node.style is None and isinstance(key_node, yaml.ScalarNode)):
                    self.comma_fragments.add(path + (key,))
                out[key] = self._data(value_node, path + (key,))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self._data(item, path + (i,)) for i, item in enumerate(node.value)]
        return self._scalar(node)

    def _scalar(self, node: yaml.ScalarNode) -> Any:
        if node.tag == "tag:yaml.org,2002:value":  # a bare `=` (YAML 1.1 "value" tag)
            return node.value
        try:
            return self.constructor.construct_object(node)
        except yaml.YAMLError:
            return node.value

    # ---- step 2 and 3: normalise and validate node by node ----

    def validate(self, raw: Any) -> Definitions | None:
        if not isinstance(raw, dict):
            self.error((), "the file must be a mapping of sections",
                       expected="keys `version`, `defaults`, `region_groups`, `indicators`, `plans`",
                       found=_describe(raw))
            return None
        self._normalise_comparators(raw)
        defs_checks.normalise_attributes(raw)
        self.id_hints = defs_checks.id_hints(raw)
        top = {k: v for k, v in raw.items() if k not in ("indicators", "plans", "region_groups", "defaults")}
        self._check(Definitions, {**top, "indicators": [], "plans": []}, ())
        for section in ("indicators", "plans"):
            if section not in raw:
                self.error((section,), f"missing required section `{section}`", at=self.position(()),
                           expected=f"a list of {section}")
        defaults = self._check(Defaults, raw.get("defaults", {}), ("defaults",)) or Defaults()
        groups = self._check_list(RegionGroup, raw, "region_groups")
        indicators = self._check_list(Indicator, raw, "indicators")
        plans: list[tuple[int, Plan | None, list[tuple[int, PlanTarget]]]] = []
        if "plans" in raw and not isinstance(raw["plans"], list):
            self.error(("plans",), "`plans` must be a list", expected="a list of `- id: ...` items",
                       found=_describe(raw["plans"]))
        for i, plan_raw in enumerate(_as_list(raw.get("plans"))):
            path = ("plans", i)
            if not isinstance(plan_raw, dict):
                self._check(Plan, plan_raw, path)
                continue
            header = self._check(Plan, {**plan_raw, "targets": [], "tasks": []}, path)  # tasks: check_tasks
            if "targets" not in plan_raw:
                self.error(path + ("targets",), "missing required field `targets`", at=self.position(path))
            elif not isinstance(plan_raw["targets"], list):
                self.error(path + ("targets",), "wrong type", expected="a list",
                           found=_describe(plan_raw["targets"]))
            targets = []
            for j, target_raw in enumerate(_as_list(plan_raw.get("targets"))):
                target = self._check(PlanTarget, target_raw, path + ("targets", j))
                if target is not None:
                    targets.append((j, target))
            plans.append((i, header, targets))

        _CrossChecks(self, raw, defaults, groups, indicators, plans).run()
        check_tasks(self, raw, [(i, header) for i, header, _ in plans])
        if self.has_errors():
            return None
        try:
            return Definitions.model_validate(raw)
        except ValidationError as exc:  # should not happen: every part validated above
            self._report(exc, Definitions, ())
            return None

    def _check_list(self, model: type[BaseModel], raw: dict, section: str) -> list[tuple[int, Any]]:
        value = raw.get(section)
        if value is None:
            return []
        if not isinstance(value, list):
            self.error((section,), f"`{section}` must be a list", expected="a list of `- id: ...` items",
                       found=_describe(value))
            return []
        out = []
        for i, item in enumerate(value):
            obj = self._check(model, item, (section, i))
            if obj is not None:
                out.append((i, obj))
        return out

    def _check(self, model: type[BaseModel], value: Any, path: Path_) -> Any:
        try:
            return model.model_validate(value)
        except ValidationError as exc:
            self._report(exc, model, path)
            return None

    def _report(self, exc: ValidationError, model: type[BaseModel], base: Path_) -> None:
        errors = exc.errors(include_url=False)
        # a misspelt required key is one mistake: report the unknown key with its suggestion, not also the
        # "missing required field" it causes
        misspelt: set[Path_] = set()
        for err in errors:
            loc = tuple(err["loc"])
            if err["type"] == "extra_forbidden" and loc:
                guess = _closest(str(loc[-1]), list(_model_at(model, loc[:-1]).model_fields))
                if guess:
                    misspelt.add(base + loc[:-1] + (guess,))
        for err in errors:
            loc = tuple(err["loc"])
            on_key = False
            if loc and loc[-1] == "[key]":
                loc, on_key = loc[:-1], True
            path = base + loc
            if path in self.reported:
                continue
            kind = err["type"]
            value = err.get("input")
            name = str(loc[-1]) if loc else ""
            if kind == "missing" and path in misspelt:
                continue
            if kind == "missing":
                self.error(path, f"missing required field `{name}`", at=self.position(path[:-1]))
            elif kind == "extra_forbidden" and path in self.comma_fragments:
                self.error(path, f"unknown field `{name}`: inside `{{...}}` a comma separates fields, so a "
                           "value containing a comma must be quoted", on_key=True,
                           expected='e.g. {zh: 万人, en: "10,000 persons"}')
            elif kind == "extra_forbidden":
                fields = list(_model_at(model, loc[:-1]).model_fields)
                self.error(path, f"unknown field `{name}`", on_key=True,
                           expected=f"one of {_ticks(fields)}", suggestion=_closest(name, fields))
            elif kind in ("enum", "literal_error"):
                allowed = re.findall(r"'([^']*)'", str(err.get("ctx", {}).get("expected", "")))
                self.error(path, f"`{value}` is not an allowed value", on_key=on_key,
                           expected=f"one of {_ticks(allowed)}", found=_describe(value),
                           suggestion=_closest(str(value), allowed))
            elif kind == "string_pattern_mismatch":
                self.error(path, "ids use lowercase ASCII letters, digits and `_`, starting with a letter",
                           found=_describe(value),
                           suggestion=getattr(self, "id_hints", {}).get(path) or _id_like(value))
            else:
                message, expected = _TYPE_MESSAGES.get(kind, (None, None))
                if message is None:
                    message, expected = err["msg"][0].lower() + err["msg"][1:], None
                if expected and "{" in expected:
                    expected = expected.format(**err.get("ctx", {}))
                if kind == "string_type" and isinstance(value, (int, float)) and not isinstance(value, bool):
                    message += f"; put it in quotes: \"{value}\""
                self.error(path, message, on_key=on_key, expected=expected, found=_describe(value))
            self.reported.add(path)

    def _normalise_comparators(self, raw: dict) -> None:
        for i, plan in enumerate(_as_list(raw.get("plans"))):
            if not isinstance(plan, dict):
                continue
            for j, target in enumerate(_as_list(plan.get("targets"))):
                node = target.get("target") if isinstance(target, dict) else None
                if not isinstance(node, dict) or "comparator" not in node:
                    continue
                written = node["comparator"]
                key = written.strip() if isinstance(written, str) else written
                if isinstance(key, str) and key in COMPARATOR_SPELLINGS:
                    node["comparator"] = COMPARATOR_SPELLINGS[key]
                    continue
                path = ("plans", i, "targets", j, "target", "comparator")
                self.error(path, "unparseable comparator", expected=f"one of {ACCEPTED_COMPARATORS}",
                           found=_describe(written),
                           suggestion=_comparator_hint(written))
                self.reported.add(path)


# Messages for pydantic's type errors: (message, expected).
_TYPE_MESSAGES: dict[str, tuple[str, str | None]] = {
    "float_parsing": ("wrong type", "a number"),
    "float_type": ("wrong type", "a number"),
    "int_parsing": ("wrong type", "a whole number"),
    "int_type": ("wrong type", "a whole number"),
    "int_from_float": ("wrong type", "a whole number"),
    "string_type": ("wrong type", "text"),
    "bool_parsing": ("wrong type", "true or false"),
    "bool_type": ("wrong type", "true or false"),
    "list_type": ("wrong type", "a list"),
    "model_type": ("wrong type", "a mapping (`key: value` lines)"),
    "model_attributes_type": ("wrong type", "a mapping (`key: value` lines)"),
    "dict_type": ("wrong type", "a mapping (`key: value` lines)"),
    "greater_than_equal": ("value too small", "a number ≥ {ge}"),
    "greater_than": ("value too small", "a number > {gt}"),
    "less_than_equal": ("value too large", "a number ≤ {le}"),
    "finite_number": ("not a finite number", "a number"),
}


class _CrossChecks:
    """Checks across nodes: ids, references, bounds, thresholds, years; errors and warnings."""

    def __init__(self, ck: _Checker, raw: dict, defaults: Defaults, groups: list, indicators: list, plans: list):
        self.ck, self.raw, self.defaults = ck, raw, defaults
        self.groups, self.indicators, self.plans = groups, indicators, plans
        self.indicator_by_id = {ind.id: ind for _, ind in indicators}
        self.group_ids = self._ids("region_groups", "region group")
        self.indicator_ids = self._ids("indicators", "indicator")
        self.plan_ids = self._ids("plans", "plan")

    def run(self) -> None:
        self._thresholds(self.defaults.thresholds, ("defaults", "thresholds"))
        for i, group in self.groups:
            for k, code in enumerate(group.members):
                self._region(code, ("region_groups", i, "members", k), allow_group=False)
            if group.parent is not None:
                self._region(group.parent, ("region_groups", i, "parent"), allow_group=False)
        for i, plan, targets in self.plans:
            base = ("plans", i)
            if plan is not None:
                self._plan(plan, base)
            for j, target in targets:
                self._target(plan, target, base + ("targets", j))
        # Referenced by any target, valid or not (a target with a typo elsewhere still uses its indicator).
        used = {
            str(target.get("indicator"))
            for plan in _as_list(self.raw.get("plans")) if isinstance(plan, dict)
            for target in _as_list(plan.get("targets")) if isinstance(target, dict)
        }
        for i, ind in self.indicators:
            if ind.id not in used and self.plans:
                self.ck.warning(("indicators", i, "id"), f"indicator `{ind.id}` is not used by any plan")

    def _ids(self, section: str, what: str) -> set[str]:
        seen: dict[str, int] = {}
        for i, item in enumerate(_as_list(self.raw.get(section))):
            ident = item.get("id") if isinstance(item, dict) else None
            if not isinstance(ident, str):
                continue
            path = (section, i, "id")
            if ident in seen:
                self.ck.error(path, f"duplicate {what} id `{ident}` (first defined at line {seen[ident]})")
            else:
                seen[ident] = self.ck.position(path)[0]
        return set(seen)

    def _plan(self, plan: Plan, base: Path_) -> None:
        if plan.parent is not None:
            if plan.parent == plan.id:
                self.ck.error(base + ("parent",), "a plan cannot be its own parent", found=f"`{plan.parent}`")
            elif plan.parent not in self.plan_ids:
                self.ck.error(base + ("parent",), f"unknown parent plan `{plan.parent}`",
                              expected="the id of a plan in this file",
                              suggestion=_closest(plan.parent, self.plan_ids))
        self._region(plan.region, base + ("region",))
        p = plan.period
        if not p.baseline <= p.start <= p.target:
            self.ck.error(base + ("period",), "plan period years are out of order",
                          expected="baseline ≤ start ≤ target",
                          found=f"baseline {p.baseline}, start {p.start}, target {p.target}")
        if plan.thresholds is not None:
            self._thresholds(plan.thresholds, base + ("thresholds",))

    def _target(self, plan: Plan | None, t: PlanTarget, path: Path_) -> None:
        ind = self.indicator_by_id.get(t.indicator)
        has_section = isinstance(self.raw.get("indicators"), list)  # else already reported as missing
        if ind is None and t.indicator not in self.indicator_ids and has_section:
            self.ck.error(path + ("indicator",), f"unknown indicator `{t.indicator}`",
                          expected="the id of an indicator in `indicators`",
                          suggestion=_closest(t.indicator, self.indicator_ids))
        for k, code in enumerate(t.exclude):
            self._region(code, path + ("exclude", k))
        if t.thresholds is not None:
            self._pair(t.thresholds, path + ("thresholds",))
        if t.target is None:
            if t.attribute.value == "binding":
                self.ck.error(path, f"binding (约束性) target for `{t.indicator}` has no target value",
                              expected="a `target:` with comparator, value and year")
        else:
            tg = t.target
            if plan is not None and not plan.period.start <= tg.year <= plan.period.target:
                self.ck.error(path + ("target", "year"), "target year is outside the plan period",
                              expected=f"a year from {plan.period.start} to {plan.period.target}",
                              found=str(tg.year))
            if ind is not None:
                problem = defs_checks.direction_problem(ind.direction.value, tg.comparator.value)
                if problem:
                    self.ck.error(path + ("target", "comparator"), problem)
                self._bounds(ind, tg.value, path + ("target", "value"), "target")
                if tg.value_high is not None:
                    self._bounds(ind, tg.value_high, path + ("target", "value_high"), "target")
                if ind.direction.value == "band" and tg.value_high is None:
                    self.ck.error(path + ("target",), "a band indicator's target needs `value_high`",
                                  expected="value (low end) and value_high (high end)")
                if ind.direction.value != "band" and tg.value_high is not None:
                    self.ck.error(path + ("target", "value_high"),
                                  f"`value_high` is only for band indicators; `{ind.id}` has direction "
                                  f"`{ind.direction.value}`")
                if tg.value_high is not None and tg.value_high < tg.value:
                    self.ck.error(path + ("target", "value_high"), "band upper end is below its lower end",
                                  expected=f"a number ≥ {_num(tg.value)}", found=_num(tg.value_high))
        if defs_checks.baseline_problem(t.baseline):
            self.ck.error(path + ("baseline", "value"), defs_checks.baseline_problem(t.baseline))
        if t.baseline is not None and t.baseline.value is not None and ind is not None:
            self._bounds(ind, t.baseline.value, path + ("baseline", "value"), "baseline")
            if t.target is not None and _meets(t.baseline.value, t.target):
                self.ck.warning(path + ("baseline", "value"),
                                f"baseline {_num(t.baseline.value)} already meets the target "
                                f"{t.target.comparator.value} {_num(t.target.value)} (a maintain-type target)")
        if t.kind == "text" and not (t.source.quote or "").strip():
            self.ck.warning(path + ("source",), "text target has no `quote` from the plan",
                            expected="source.quote with the plan's sentence")
        check_annual(self, plan, t, ind, path)  # 年度目标 (warehouse/annual_checks.py)

    def _bounds(self, ind: Indicator, value: float, path: Path_, what: str) -> None:
        lo, hi = ind.bounds.min, ind.bounds.max
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            self.ck.error(path, f"{what} value is outside the bounds of indicator `{ind.id}`",
                          expected=f"a value in [{_num(lo) if lo is not None else '-∞'}, "
                                   f"{_num(hi) if hi is not None else '∞'}]",
                          found=_num(value))

    def _thresholds(self, tset: Any, path: Path_) -> None:
        for attribute in ("binding", "expected"):
            self._pair(getattr(tset, attribute), path + (attribute,))

    def _pair(self, th: Thresholds, path: Path_) -> None:
        if th.amber > th.green:
            self.ck.error(path + ("amber",), "amber threshold is above green",
                          expected=f"amber ≤ green ({_num(th.green)})", found=_num(th.amber))

    def _region(self, code: str, path: Path_, allow_group: bool = True) -> None:
        if code.startswith("group:"):
            gid = code[len("group:"):]
            if not allow_group:
                self.ck.error(path, "a region group cannot contain another group", found=f"`{code}`")
            elif gid not in self.group_ids:
                close = _closest(gid, self.group_ids)
                self.ck.error(path, f"unknown region group `{gid}`",
                              expected="`group:<id>` of a group in `region_groups`",
                              suggestion=f"group:{close}" if close else None)
        elif not REGION_CODE.match(code):
            self.ck.error(path, "not a region code",
                          expected="`CN`, an NBS code of 2, 4, 6, 9 or 12 digits"
                                   + (", or `group:<id>`" if allow_group else ""),
                          found=f"`{code}`")


# --------------------------------------------------------------------------------------------------
# Helpers


def _explain_yaml_error(exc: yaml.MarkedYAMLError, text: str) -> tuple[int, int, str]:
    """(line, column, plain-English message) for a YAML syntax error."""
    mark = exc.problem_mark or exc.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    problem = exc.problem or ""
    context = exc.context or ""
    source_line = text.splitlines()[line - 1] if 0 < line <= len(text.splitlines()) else ""
    if "\t" in problem or "\t" in source_line[: max(column, 1)]:
        return line, column, "YAML syntax error: tabs are not allowed for indentation; use spaces"
    unclosed = _unclosed_quote(text, line)
    if unclosed is not None:
        return (*unclosed, "YAML syntax error: this quote is never closed (add the closing quote on the same line)")
    if "block scalar" in context or re.search(r"found character '[>|]'", problem):
        cm = exc.context_mark if "block scalar" in context and exc.context_mark else mark
        return (cm.line + 1, cm.column + 1,
                "YAML syntax error: a value starting with `>` or `|` must be quoted, e.g. comparator: \">=\"")
    if "mapping values are not allowed" in problem:
        return line, column, ("YAML syntax error: unexpected `:`; this line is probably indented more than "
                              "the key above it, or a value containing `: ` needs quotes")
    if "expected <block end>" in problem:
        start = exc.context_mark.line + 1 if exc.context_mark else line
        return line, column, (f"YAML syntax error: bad indentation; this line does not line up with the "
                              f"block that starts at line {start}")
    if "could not find expected ':'" in problem:
        cm = exc.context_mark or mark
        return cm.line + 1, cm.column + 1, "YAML syntax error: a line with no `key:`; add `:` or indent it"
    m = re.search(r"found character '(.)' that cannot start any token", problem)
    if m:
        return line, column, f"YAML syntax error: a value cannot start with `{m.group(1)}`; put it in quotes"
    if "flow sequence" in context or "flow mapping" in context:
        return line, column, "YAML syntax error: a `[...]` or `{...}` is not closed or misses a comma"
    if "found undefined alias" in problem:
        return line, column, "YAML syntax error: `*name` refers to an anchor `&name` that is not defined"
    return line, column, f"YAML syntax error: {problem or context}"


def _unclosed_quote(text: str, upto_line: int) -> tuple[int, int] | None:
    """(line, column) of the first quote opened at the start of a value and not closed on its line."""
    for number, line in enumerate(text.splitlines()[:upto_line], 1):
        quote, opened_at, prev = None, 0, ""
        i = 0
        while i < len(line):
            ch = line[i]
            if quote is None:
                if ch == "#" and (i == 0 or line[i - 1] in " \t"):
                    break
                if ch in "\"'" and prev in ("", ":", "-", "[", "{", ","):
                    quote, opened_at = ch, i
                elif not ch.isspace():
                    prev = ch if ch in ":-[{," else "x"
            elif quote == '"' and ch == "\\":
                i += 1
            elif ch == quote:
                if quote == "'" and line[i + 1 : i + 2] == "'":
                    i += 1
                else:
                    quote, prev = None, "x"
            i += 1
        if quote is not None:
            return number, opened_at + 1
    return None


def _model_at(model: type[BaseModel], loc: tuple) -> type[BaseModel]:
    """The pydantic model class of the mapping reached by following loc from model."""
    current: Any = model
    for key in loc:
        if isinstance(key, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)) or key not in current.model_fields:
            break
        current = _inner_model(current.model_fields[key].annotation)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else model


def _inner_model(annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, list):
        for arg in typing.get_args(annotation):
            inner = _inner_model(arg)
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                return inner
    return annotation


def _closest(word: str, options: Any) -> str | None:
    matches = difflib.get_close_matches(str(word), sorted(str(o) for o in options), n=1, cutoff=0.6)
    return matches[0] if matches else None


def _comparator_hint(written: Any) -> str | None:
    """`=>` -> `>=`; otherwise the closest accepted spelling, if any."""
    if not isinstance(written, str) or not written.strip():
        return None
    reversed_ = written.strip()[::-1]
    if reversed_ in COMPARATOR_SPELLINGS:
        return reversed_
    return _closest(written.strip(), COMPARATOR_SPELLINGS)


def _ticks(items: Any) -> str:
    return ", ".join(f"`{i}`" for i in items)


def _id_like(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    fixed = re.sub(r"[^a-z0-9_]+", "_", value.strip().lower()).strip("_")
    return fixed if fixed and fixed[0].isalpha() and fixed != value else None


def _describe(value: Any) -> str:
    if value is None:
        return "nothing (empty value)"
    if isinstance(value, bool):
        return f"{str(value).lower()} (yes/no value)"
    if isinstance(value, (int, float)):
        return f"{_num(value)} (a number)"
    if isinstance(value, str):
        return f"{json.dumps(value, ensure_ascii=False)} (text)"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, Enum):
        return str(value.value)
    return f"{value!r}"


def _num(value: float | None) -> str:
    if value is None:
        return "—"
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _meets(value: float, target: Any) -> bool:
    """Does value already satisfy the target? (band: inside [value, value_high])."""
    if target.value_high is not None:
        return target.value <= value <= target.value_high
    return {
        Comparator.ge: value >= target.value,
        Comparator.gt: value > target.value,
        Comparator.le: value <= target.value,
        Comparator.lt: value < target.value,
        Comparator.eq: value == target.value,
    }[target.comparator]


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else []
