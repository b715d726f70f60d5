"""Load and check the access policy file (access.yaml) with file:line:column problems and suggestions.

    result = load_policy(path, definitions=defs, registry=registry)
    result.policy      # access.Policy, None when there is any error
    result.problems    # defs_loader.Problem list (errors and warnings, sorted by position)

The YAML is parsed by the definitions loader's position-keeping checker (warehouse/defs_loader.py), so a typo
here is reported exactly like one in indicator_defs.yaml: `access.yaml:7:5: error: grants[1].role: `veiwer` is
not an allowed value (expected one of `viewer`, ...; did you mean `viewer`?)`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, StrictBool

from warehouse.access import ROLES, Grant, Policy
from warehouse.defs_loader import Problem, _Checker, _closest, _describe
from warehouse.regions import canonical_code

_KINDS = ("sub", "email", "group")


class Role(str, Enum):
    viewer = "viewer"
    submitter = "submitter"
    reviewer = "reviewer"
    analyst = "analyst"
    admin = "admin"


assert tuple(r.value for r in Role) == ROLES


class _GrantModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str | None = None
    sub: str | None = None
    group: str | None = None
    role: Role
    scopes: list[str | int] = []
    note: str | None = None  # free text for the people who keep the file


class _PolicyModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int = 1
    groups_claim: str = "groups"
    # true: files ingested by an operator (`planwatch ingest`, the data-quality upload) wait for review like the
    # 填报 form's figures instead of counting at once (warehouse/review_files.py, docs/reporting.md)
    files_need_review: StrictBool = False
    grants: list[Any]


@dataclass
class PolicyResult:
    policy: Policy | None
    problems: list[Problem] = field(default_factory=list)
    sha256: str = ""

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def ok(self) -> bool:
        return self.policy is not None and not self.errors


def load_policy(path: str | Path, definitions: Any = None, registry: Any = None) -> PolicyResult:
    """Read and check a policy file. Never raises for bad input. With `definitions`, `group:<id>` scopes must
    name a region group; with `registry`, region codes must exist in it."""
    name = str(path)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        return PolicyResult(None, [Problem("error", name, 0, 0, "", "file not found")])
    except IsADirectoryError:
        return PolicyResult(None, [Problem("error", name, 0, 0, "", "this is a folder, not a YAML file")])
    except OSError as exc:
        return PolicyResult(None, [Problem("error", name, 0, 0, "", f"cannot read the file: {exc.strerror or exc}")])
    return load_policy_bytes(data, name, definitions, registry)


def load_policy_bytes(data: bytes, name: str, definitions: Any = None, registry: Any = None) -> PolicyResult:
    digest = hashlib.sha256(data).hexdigest()
    ck = _Checker(name)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        ck.error((), "the file is not UTF-8 text; save it as UTF-8", at=(1, 1))
        return _result(ck, None, digest)
    if not text.strip():
        ck.error((), "the file is empty", at=(1, 1), expected="a mapping with `grants`")
        return _result(ck, None, digest)
    raw = ck.parse(text)
    if raw is None:
        return _result(ck, None, digest)
    try:
        policy = _validate(ck, raw, name, definitions, registry)
    except Exception as exc:  # a bug in the checks must not become a traceback
        ck.error((), f"internal error while checking the file ({type(exc).__name__}: {exc})", at=(1, 1))
        policy = None
    return _result(ck, policy, digest)


def _result(ck: _Checker, policy: Policy | None, digest: str) -> PolicyResult:
    problems = ck.result(None, digest).problems
    if any(p.severity == "error" for p in problems):
        policy = None
    return PolicyResult(policy, problems, digest)


def _validate(ck: _Checker, raw: Any, name: str, definitions: Any, registry: Any) -> Policy | None:
    if not isinstance(raw, dict):
        ck.error((), "the file must be a mapping", expected="keys `version`, `groups_claim`, `files_need_review`, `grants`",
                 found=_describe(raw))
        return None
    top = ck._check(_PolicyModel, raw, ())
    if top is not None and top.version != 1:
        ck.error(("version",), "unknown policy version", expected="1", found=_describe(top.version))
    grants_raw = raw.get("grants")
    if "grants" in raw and not isinstance(grants_raw, list):
        ck.error(("grants",), "`grants` must be a list", expected="a list of `- email: ...` items",
                 found=_describe(grants_raw))
        return None
    groups = {g.id for g in definitions.region_groups} if definitions is not None else None
    grants: list[Grant] = []
    first_seen: dict[tuple[str, str], int] = {}
    for i, item in enumerate(grants_raw or []):
        path = ("grants", i)
        model = ck._check(_GrantModel, item, path)
        if model is None:
            continue
        given = [k for k in _KINDS if getattr(model, k) is not None]
        if len(given) != 1:
            ck.error(path, "each grant names exactly one identity" if given else "a grant without an identity",
                     expected="one of `email`, `sub`, `group`",
                     found=", ".join(f"`{k}`" for k in given) if given else "none")
            continue
        kind = given[0]
        value = str(getattr(model, kind)).strip()
        if not value:
            ck.error(path + (kind,), f"`{kind}` is empty")
            continue
        if kind == "email" and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
            ck.error(path + (kind,), "not an email address", expected="name@domain", found=_describe(value))
            continue
        key = (kind, value.lower() if kind == "email" else value)
        line = ck.position(path)[0]
        if key in first_seen:
            ck.error(path + (kind,), f"`{kind}: {value}` is granted twice (first at line {first_seen[key]}); "
                     "only the first grant would apply")
            continue
        first_seen[key] = line
        scopes = _scopes(ck, model, path, groups, registry)
        if scopes is None:
            continue
        grants.append(Grant(kind, value, model.role.value, tuple(scopes), line))
    if top is None:
        return None
    return Policy(tuple(grants), groups_claim=top.groups_claim, source=name,
                  files_need_review=top.files_need_review)


def _scopes(ck: _Checker, model: _GrantModel, path: tuple, groups: set[str] | None, registry: Any) -> list[str] | None:
    role = model.role.value
    if role == "admin":
        if model.scopes:
            ck.warning(path + ("scopes",), "an admin sees every region; these scopes are ignored")
        return []
    if not model.scopes:
        ck.error(path, "missing `scopes`: which regions may this identity see?",
                 expected='e.g. scopes: ["500110"] or scopes: ["group:wansheng"] or scopes: [CN]')
        return None
    out: list[str] = []
    ok = True
    for j, raw in enumerate(model.scopes):
        where = path + ("scopes", j)
        text = str(raw).strip()
        if text.startswith("group:"):
            gid = text.split(":", 1)[1]
            if groups is not None and gid not in groups:
                guess = _closest(gid, groups)
                ck.error(where, f"unknown region group `{gid}`", expected="a `region_groups` id of the definitions",
                         suggestion=f"group:{guess}" if guess else None)
                ok = False
                continue
            out.append(text)
            continue
        code = canonical_code(text) if isinstance(raw, (str, int)) and not isinstance(raw, bool) else None
        if code is None:
            ck.error(where, "not a region code", expected="an NBS code (2, 4, 6, 9 or 12 digits), `CN` or "
                     "`group:<id>`", found=_describe(raw))
            ok = False
            continue
        if registry is not None and code != "CN" and code not in registry:
            hints = [r.code for r in registry.suggest(text)][:1]
            ck.error(where, f"region `{text}` is not in the region registry", suggestion=hints[0] if hints else None)
            ok = False
            continue
        out.append(code)
    return out if ok else None
