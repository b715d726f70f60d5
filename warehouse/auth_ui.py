"""Streamlit glue for sign-in: which mode the server runs in, who is signed in, the sidebar's account block.

Two modes (docs/access.md):
- demo: no `[auth]` section in the secrets (what `./dev.sh dashboard` starts). Nobody signs in; everything is
  shown read-only (`access.DEMO`), no upload, and the server binds to 127.0.0.1 unless told otherwise (serve.py).
- signed in: `[auth]` configured (Streamlit's built-in OIDC: `st.login` / `st.user` / `st.logout`). Nothing is
  shown before sign-in; the access policy (`PLANWATCH_ACCESS`, warehouse/access_loader.py) gives the signed-in
  person a role and region scopes. No grant, or no valid policy: no data at all (fail closed).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import streamlit as st

from warehouse import access, i18n
from warehouse.safe_text import md

POLICY_ENV = "PLANWATCH_ACCESS"

i18n.register({
    "auth.demo": {"zh": "未登录（演示模式）：全部只读，不提供上传。", "en": "Not signed in (demo mode): everything is read-only, no upload."},
    "auth.signed_in": {"zh": "已登录：{who}", "en": "Signed in: {who}"},
    "auth.role": {"zh": "角色：{role} · 范围：{scope}", "en": "Role: {role} · scope: {scope}"},
    "auth.role.viewer": {"zh": "查看者", "en": "viewer"},
    "auth.role.submitter": {"zh": "报送单位", "en": "submitter"},
    "auth.role.reviewer": {"zh": "审核单位", "en": "reviewer"},
    "auth.role.analyst": {"zh": "分析员", "en": "analyst"},
    "auth.role.admin": {"zh": "管理员", "en": "admin"},
    "auth.role.demo": {"zh": "演示", "en": "demo"},
    "auth.demo_user": {"zh": "演示用户（仅本机，未登录）：以“{role}”身份、范围 {scope} 试用；数据写入当前仓库。",
                       "en": "Demo user (this machine only, not signed in): acting as {role} for {scope}; "
                       "what you do is written to this warehouse."},
    "auth.everything": {"zh": "全部地区", "en": "every region"},
    "auth.login_title": {"zh": "请登录", "en": "Please sign in"},
    "auth.login_explain": {"zh": "本看板只向已授权的人员显示数据。请使用单位统一身份认证账号登录。",
                           "en": "This dashboard shows data to authorised people only. Sign in with your organisation's account."},
    "auth.login": {"zh": "登录", "en": "Sign in"},
    "auth.logout": {"zh": "退出登录", "en": "Sign out"},
    "auth.no_grant": {"zh": "账号 {who} 没有访问权限。请联系管理员在访问策略文件中为您授权。",
                      "en": "The account {who} has no access. Ask the administrator to add you to the access policy."},
    "auth.no_policy": {"zh": "访问策略未配置或无效（{n} 个问题），暂不显示任何数据。管理员可运行 planwatch access check 查看详情。",
                       "en": "The access policy is missing or invalid ({n} problems), so no data is shown. "
                       "The administrator can run planwatch access check for details."},
    "auth.outside_short": {"zh": "超出您的访问范围", "en": "outside your access"},
    "auth.outside": {"zh": "超出您的访问范围：{region}。未显示该地区的任何数据。",
                     "en": "Outside your access: {region}. No figure of that region is shown."},
})


def auth_configured() -> bool:
    """True when the secrets hold an `[auth]` section (then everybody must sign in)."""
    try:
        return "auth" in st.secrets
    except Exception:  # noqa: BLE001 - no secrets file at all: demo mode
        return False


def policy_path() -> Path | None:
    raw = os.environ.get(POLICY_ENV, "").strip()
    return Path(raw) if raw else None


@st.cache_resource(show_spinner=False, max_entries=4)
def _policy(path: str, mtime_ns: int, size: int, defs_hash: str, _defs: Any, regions: str) -> Any:
    from warehouse.access_loader import load_policy
    from warehouse.regions import RegionRegistry

    registry = RegionRegistry.load(regions) if Path(regions).is_file() else None
    result = load_policy(path, definitions=_defs, registry=registry)
    for problem in result.problems:  # the details go to the server's log, not to the browser
        print(f"planwatch access policy: {problem}", file=sys.stderr)
    return result


def load_policy_result(defs: Any, defs_hash: str, warehouse_dir: Path) -> Any:
    """The checked policy (reloaded when the file changes); a PolicyResult with an error when it is missing."""
    from warehouse.access_loader import PolicyResult
    from warehouse.defs_loader import Problem

    path = policy_path()
    if path is None:
        return PolicyResult(None, [Problem("error", POLICY_ENV, 0, 0, "", f"{POLICY_ENV} is not set")])
    try:
        stat = path.stat()
    except OSError:
        return PolicyResult(None, [Problem("error", path.name, 0, 0, "", "file not found")])
    return _policy(str(path), stat.st_mtime_ns, stat.st_size, defs_hash, defs, str(warehouse_dir / "regions.parquet"))


def members_of(defs: Any) -> Callable[[str], Sequence[str]]:
    """`group:<id>` -> member codes of the definitions' region group (KeyError when unknown)."""
    from warehouse.regions import canonical_code

    def members(ref: str) -> Sequence[str]:
        group = defs.group(str(ref).split(":", 1)[1])
        return [canonical_code(m) or m for m in group.members]

    return members


def identity(defs: Any, defs_hash: str, warehouse_dir: Path, lang: str) -> access.Identity:
    """Who this session is. In signed-in mode this shows the sign-in screen (or why there is no access) and
    stops the run until a person with a grant has signed in."""
    if not auth_configured():
        return demo_user(defs) or access.DEMO
    if not st.user.is_logged_in:
        _login_screen(lang)
        st.stop()
    claims = st.user.to_dict()
    result = load_policy_result(defs, defs_hash, warehouse_dir)
    if not result.ok:
        st.error(i18n.t("auth.no_policy", lang, n=len(result.errors)))
        _logout_button(lang, sidebar=False)
        st.stop()
    who = result.policy.identity(claims, members_of(defs))
    if who is None:
        label = claims.get("email") or claims.get("sub") or "?"
        st.error(md(i18n.t("auth.no_grant", lang, who=label)))
        _logout_button(lang, sidebar=False)
        st.stop()
    return who


def demo_user(defs: Any) -> access.Identity | None:
    """`planwatch dashboard --demo-user ROLE:SCOPE` (warehouse/serve.py): act as that role on this machine
    without an identity provider. Ignored unless the server listens on a loopback address."""
    from warehouse.regions import canonical_code
    from warehouse.serve import DEMO_USER_ENV, LOOPBACK_NAMES

    raw = os.environ.get(DEMO_USER_ENV, "").strip()
    if not raw:
        return None
    address = str(st.get_option("server.address") or "")
    role, _, scope = raw.partition(":")
    codes = [canonical_code(c.strip()) for c in scope.split(",")]
    if address not in LOOPBACK_NAMES or role not in access.ROLES or role == "admin" or None in codes:
        return None
    who = access.Identity(label=f"demo-{role}-{scope}", role=role, scope=access.Scope(tuple(codes)))
    return who


def is_demo_user(who: access.Identity) -> bool:
    return who.signed_in and who.label.startswith("demo-") and bool(os.environ.get("PLANWATCH_DEMO_USER"))


def _login_screen(lang: str) -> None:
    st.title(i18n.t("auth.login_title", lang))
    st.write(i18n.t("auth.login_explain", lang))
    if st.button(i18n.t("auth.login", lang), type="primary", key="auth_login"):
        st.login()  # Streamlit's OIDC flow: the provider's page, then back to /oauth2callback


def _logout_button(lang: str, sidebar: bool = True) -> None:
    target = st.sidebar if sidebar else st
    target.button(i18n.t("auth.logout", lang), on_click=st.logout, key="auth_logout")


def scope_text(who: access.Identity, lang: str, names: Callable[[str], str] | None = None) -> str:
    if who.scope.everything:
        return i18n.t("auth.everything", lang)
    shown = [f"{names(c) if names else c}（{c}）" if lang == "zh" else f"{names(c) if names else c} ({c})"
             for c in who.scope.roots[:4]]
    return "、".join(shown) + (" …" if len(who.scope.roots) > 4 else "")


def sidebar_block(who: access.Identity, lang: str, names: Callable[[str], str] | None = None) -> None:
    """The account block at the top of the sidebar: demo notice, or who is signed in with role and scope."""
    with st.sidebar:
        if not who.signed_in:
            st.info(i18n.t("auth.demo", lang), icon=":material/lock_open:")
            return
    if is_demo_user(who):  # a banner on every page, above its content
        st.warning(i18n.t("auth.demo_user", lang, role=i18n.t(f"auth.role.{who.role}", lang),
                          scope=scope_text(who, lang, names)), icon=":material/theater_comedy:")
    with st.sidebar:
        st.caption(md(i18n.t("auth.signed_in", lang, who=who.label)))
        st.caption(md(i18n.t("auth.role", lang, role=i18n.t(f"auth.role.{who.role}", lang),
                             scope=scope_text(who, lang, names))))
        if not is_demo_user(who):
            _logout_button(lang)


def show_outside(region: str, lang: str) -> None:
    st.error(md(i18n.t("auth.outside", lang, region=region)), icon=":material/block:")
