"""Who may see and change what: roles, region scopes, the access policy and the scope check.

The policy file (`access.yaml`, path from `PLANWATCH_ACCESS`; loaded by warehouse/access_loader.py) maps
identities to a role and region scopes:

    files_need_review: false            # true: operator-ingested files wait for review before they count
    grants:
      - email: leader@cq.example.cn     # or `sub: <OIDC subject>` or `group: <value of the group claim>`
        role: viewer                    # viewer | submitter | reviewer | analyst | admin
        scopes: ["50"]                  # region codes or group:<id>; admin needs none (everything)

An `Identity` is what a signed-in person is allowed: a role (-> the actions of ROLE_ACTIONS) and a `Scope`
(canonical region codes; `CN` = everything). The dashboard checks the scope where it reads data
(app_state.query -> `check_query`), not by hiding widgets. No Streamlit here: warehouse/auth_ui.py is the glue.

Which grant applies: the first grant whose `sub` equals the token's `sub`; else the first whose `email` equals
the token's email (case-insensitive, and only when the provider does not say `email_verified: false`); else the
first `group` grant (in file order) whose value is in the token's group claim. One grant, never a union.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import polars as pl

COUNTRY = "CN"
ROLES = ("viewer", "submitter", "reviewer", "analyst", "admin")
DEMO_ROLE = "demo"  # no [auth] configured: not signed in, everything read-only

# Actions a role has. view: the pages of its scope; export: the sidebar zip and the rankings downloads;
# upload: the data-quality upload (rows outside the scope rejected); log_own: the ingest log entries it made;
# log_scope: also the entries of users whose whole policy scope lies inside its own; log_all: every entry.
# report: the 填报 form for regions in scope; review: approve/return submissions of the regions one level down
# inside the scope (warehouse/review_store.may_review); pending: see figures awaiting review (marked as such).
ACTIONS = ("view", "export", "upload", "log_own", "log_scope", "log_all", "report", "review", "pending")
ROLE_ACTIONS: dict[str, frozenset[str]] = {
    "viewer": frozenset({"view", "export"}),
    "submitter": frozenset({"view", "export", "upload", "log_own", "report"}),
    "reviewer": frozenset({"view", "export", "log_own", "review", "pending"}),
    "analyst": frozenset({"view", "export", "upload", "log_own", "log_scope", "pending"}),
    "admin": frozenset(ACTIONS),
    DEMO_ROLE: frozenset({"view", "export", "log_all"}),  # read-only: no upload (the CLI ingests)
}

# engine methods whose first argument is the region asked for
_REGION_METHODS = {"status", "trajectory", "trajectories", "history", "overdue", "alerts", "descendants_status",
                   "governing_plan", "children_status"}


class OutsideScope(PermissionError):
    """A read of a region outside the identity's scope (message: the region code)."""

    def __init__(self, region: str):
        super().__init__(region)
        self.region = region


@dataclass(frozen=True)
class Scope:
    """Canonical region codes an identity may see, with everything below them. ('CN',) = everything."""

    roots: tuple[str, ...]

    @property
    def everything(self) -> bool:
        return COUNTRY in self.roots

    def allows(self, code: str, members: Callable[[str], Sequence[str]] | None = None) -> bool:
        """True when `code` (a region code, `CN` or `group:<id>`) is inside the scope. A group is inside when
        every member is (`members` resolves a group id; without it groups are outside unless everything)."""
        if self.everything:
            return True
        code = str(code)
        if code.startswith("group:"):
            if members is None:
                return False
            try:
                listed = list(members(code))
            except KeyError:
                return False
            return bool(listed) and all(self.allows(m) for m in listed)
        if code == COUNTRY:
            return False
        return any(code.startswith(root) for root in self.roots)

    def overlaps(self, code: str, members: Callable[[str], Sequence[str]] | None = None) -> bool:
        """True when part of `code`'s area is inside the scope (a plan over that area has something to show)."""
        if self.everything or code == COUNTRY:
            return True
        if code.startswith("group:"):
            try:
                listed = list(members(code)) if members else []
            except KeyError:
                return False
            return any(self.overlaps(m) for m in listed)
        return any(code.startswith(root) or root.startswith(code) for root in self.roots)

    def contains_scope(self, other: Scope) -> bool:
        """True when every region of `other` is inside this scope."""
        return self.everything or (not other.everything and all(self.allows(r) for r in other.roots))


EVERYTHING = Scope((COUNTRY,))


@dataclass(frozen=True)
class Identity:
    """A person as planwatch treats them: `label` is what the ingest log records (email, else sub)."""

    label: str
    role: str
    scope: Scope
    signed_in: bool = True

    def can(self, action: str) -> bool:
        return can(self, action)


DEMO = Identity(label="demo", role=DEMO_ROLE, scope=EVERYTHING, signed_in=False)


def can(identity: Identity | None, action: str) -> bool:
    """May `identity` do `action` (one of ACTIONS)? Unknown actions and no identity: no."""
    if identity is None or action not in ACTIONS:
        return False
    return action in ROLE_ACTIONS.get(identity.role, frozenset())


@dataclass(frozen=True)
class Grant:
    kind: str  # "sub" | "email" | "group"
    value: str
    role: str
    scopes: tuple[str, ...]  # as written: codes (canonical) and group:<id>
    line: int = 0


@dataclass(frozen=True)
class Policy:
    grants: tuple[Grant, ...]
    groups_claim: str = "groups"
    source: str = ""
    files_need_review: bool = False  # operator-ingested files wait for review too (warehouse/review_files.py)

    def match(self, claims: Mapping[str, object]) -> Grant | None:
        """The grant that applies to an OIDC token's claims (see the module docstring), or None."""
        sub = str(claims.get("sub") or "")
        email = str(claims.get("email") or "").strip().lower()
        if claims.get("email_verified") is False:
            email = ""  # the provider says it did not check this address: never grant on it
        raw_groups = claims.get(self.groups_claim)
        if isinstance(raw_groups, str):
            groups = {raw_groups}
        elif isinstance(raw_groups, Iterable):
            groups = {str(g) for g in raw_groups}
        else:
            groups = set()
        for kind, wanted in (("sub", {sub} - {""}), ("email", {email} - {""}), ("group", groups)):
            for grant in self.grants:
                if grant.kind == kind and (grant.value.lower() if kind == "email" else grant.value) in wanted:
                    return grant
        return None

    def identity(self, claims: Mapping[str, object], members: Callable[[str], Sequence[str]]) -> Identity | None:
        """The Identity for these claims (None: no grant applies). `members` expands `group:<id>` scopes."""
        grant = self.match(claims)
        if grant is None:
            return None
        label = str(claims.get("email") or claims.get("sub") or "?")
        return Identity(label=label, role=grant.role, scope=grant_scope(grant, members))

    def scope_of_user(self, label: str, members: Callable[[str], Sequence[str]]) -> Scope | None:
        """The scope of the person the ingest log calls `label` (an email or a sub), if a direct grant names
        them; None otherwise (group members are not known without their token)."""
        for kind in ("sub", "email"):
            for grant in self.grants:
                if grant.kind == kind and grant.value.lower() == str(label).lower():
                    return grant_scope(grant, members)
        return None


def grant_scope(grant: Grant, members: Callable[[str], Sequence[str]]) -> Scope:
    if grant.role == "admin":
        return EVERYTHING
    roots: list[str] = []
    for ref in grant.scopes:
        if ref.startswith("group:"):
            try:
                roots.extend(members(ref))
            except KeyError:
                continue  # the loader reports unknown groups; a group gone since gives nothing
        else:
            roots.append(ref)
    return Scope(tuple(dict.fromkeys(roots)))


# ---------------------------------------------------------------------------------------------------
# the check where data is read


def check_query(identity: Identity, method: str, args: Sequence[object],
                members: Callable[[str], Sequence[str]]) -> None:
    """Raise OutsideScope when an engine call would read a region outside the identity's scope.
    `rank` is checked afterwards on its rows (`redact_rank`): a county may see its own place among siblings."""
    if identity.scope.everything:
        return
    if method in _REGION_METHODS:
        region = str(args[0]) if args else ""
        if not identity.scope.allows(region, members):
            raise OutsideScope(region)
    elif method != "rank":
        raise OutsideScope(str(args[0]) if args else "?")  # a method this guard does not know: refuse


def redact_rank(frame: pl.DataFrame, parent: str, identity: Identity,
                members: Callable[[str], Sequence[str]]) -> pl.DataFrame:
    """A rank frame as the identity may see it. Parent inside the scope: unchanged. Otherwise only the rows of
    regions inside the scope, with `n_ranked` = how many regions were ranked (the others' names, codes, values
    and ranks are not passed on). No row inside the scope: OutsideScope."""
    if identity.scope.allows(parent, members) or frame is None or frame.is_empty():
        if frame is not None and frame.is_empty() and not identity.scope.allows(parent, members):
            raise OutsideScope(parent)
        return frame
    n_ranked = frame.filter(pl.col("rank").is_not_null()).height
    mine = frame.filter(pl.col("region_code").map_elements(identity.scope.allows, return_dtype=pl.Boolean))
    if mine.is_empty():
        raise OutsideScope(parent)
    return mine.with_columns(pl.lit(n_ranked, pl.Int64).alias("n_ranked"))


def sees_log_entry(who: Identity, entry_user: str | None, scope_of_user: Callable[[str], Scope | None]) -> bool:
    """May `who` see an ingest log entry made by `entry_user` (and its rejected rows)? admin (and the demo's
    single operator) every entry; submitter its own; analyst its own and those of people whose whole policy
    scope lies inside its own. Entries of the CLI (an OS user name, in no grant) are the admin's."""
    if can(who, "log_all"):
        return True
    user = str(entry_user or "")
    if can(who, "log_own") and user and user.lower() == who.label.lower():
        return True
    if can(who, "log_scope") and user:
        other = scope_of_user(user)
        return other is not None and who.scope.contains_scope(other)
    return False
