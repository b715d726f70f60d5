"""Start the dashboard server: `planwatch dashboard` (what ./dev.sh dashboard runs).

Why not plain `streamlit run dashboard.py`: the project layout has a `pages/` folder beside dashboard.py, and
Streamlit treats the first script run of a server process as a legacy "pages folder" app when such a folder
exists (PagesManager.uses_pages_directory). A forwarded deep link (e.g. /league-table?region=50) opened as the
very first request then shows a "Page not found" dialog. dashboard.py uses st.navigation, so we declare that
up front, before Streamlit starts, and every link works from the first request on.

Where it listens (docs/access.md): on 127.0.0.1 only, unless an address is given explicitly
(`--server.address`, STREAMLIT_SERVER_ADDRESS or a .streamlit/config.toml). At start-up it says whether people
must sign in (an `[auth]` section in the secrets) or the dashboard runs as the read-only demo.
"""

from __future__ import annotations

import os
import sys
import tomllib
from pathlib import Path

from warehouse.paths import REPO_ROOT

LOOPBACK = "127.0.0.1"
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
DEMO_USER_ENV = "PLANWATCH_DEMO_USER"


def demo_user_option(args: list[str]) -> tuple[str | None, list[str]]:
    """`--demo-user ROLE:SCOPE` taken out of the Streamlit arguments: (value, the other arguments)."""
    rest, value, skip = [], None, False
    for i, arg in enumerate(args):
        if skip:
            skip = False
            continue
        if arg == "--demo-user":
            value = args[i + 1] if i + 1 < len(args) else ""
            skip = True
        elif arg.startswith("--demo-user="):
            value = arg.split("=", 1)[1]
        else:
            rest.append(arg)
    return value, rest


def check_demo_user(value: str, args: list[str]) -> str | None:
    """The problem with a --demo-user request (zh / en), or None. Only on this machine (loopback) and only
    without an [auth] configuration: a demo user is nobody, so it must never be reachable from the network."""
    from warehouse.access import ROLES
    from warehouse.regions import canonical_code

    role, _, scope = (value or "").partition(":")
    if role not in ROLES or role == "admin" or not scope:
        return (f"--demo-user 应为 角色:地区代码，角色为 {', '.join(r for r in ROLES if r != 'admin')}（如 submitter:500110）"
                f" / --demo-user must be ROLE:SCOPE with a role of {', '.join(r for r in ROLES if r != 'admin')} "
                "(e.g. submitter:500110)")
    codes = [c.strip() for c in scope.split(",")]
    if any(canonical_code(c) is None for c in codes):
        return f"--demo-user 的地区代码无效：{scope} / not a region code in --demo-user: {scope}"
    addresses = _values(args, "--server.address") + [os.environ.get("STREAMLIT_SERVER_ADDRESS") or ""]
    if any(a and a not in LOOPBACK_NAMES for a in addresses):
        return ("--demo-user 只能在本机地址上使用（127.0.0.1 / localhost），已拒绝"
                " / --demo-user is for this machine only (127.0.0.1 / localhost); refused")
    if auth_configured(args):
        return ("已配置登录（[auth]），不能使用 --demo-user / sign-in is configured ([auth]); --demo-user is not available")
    return None


def dashboard_script() -> Path:
    return REPO_ROOT / "dashboard.py"


def _values(args: list[str], name: str) -> list[str]:
    """Every value of `--name value` / `--name=value` in a Streamlit argument list."""
    out = []
    for i, arg in enumerate(args):
        if arg == name and i + 1 < len(args):
            out.append(args[i + 1])
        elif arg.startswith(name + "="):
            out.append(arg.split("=", 1)[1])
    return out


def address_given(args: list[str]) -> bool:
    from streamlit import config

    if _values(args, "--server.address") or os.environ.get("STREAMLIT_SERVER_ADDRESS"):
        return True
    config.get_config_options()
    return config.get_where_defined("server.address") != "<default>"


def auth_configured(args: list[str]) -> bool:
    """Is there an `[auth]` section in the secrets files Streamlit will read?"""
    from streamlit import config

    config.get_config_options()
    files = _values(args, "--secrets.files") or list(config.get_option("secrets.files") or [])
    for name in files:
        path = Path(name)
        try:
            if path.is_file() and "auth" in tomllib.loads(path.read_text(encoding="utf-8")):
                return True
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
            continue
    return False


def startup_message(args: list[str]) -> str:
    signed = auth_configured(args)
    where = "" if address_given(args) else f" 仅监听本机 / listening on {LOOPBACK} only (give --server.address to serve others)."
    if signed:
        policy = os.environ.get("PLANWATCH_ACCESS") or "(PLANWATCH_ACCESS 未设置 / not set: nobody will see data)"
        return f"planwatch: 需要登录（OIDC）/ sign-in required (OIDC); access policy: {policy}.{where}"
    return ("planwatch: 未配置登录，演示模式：未登录、全部只读、不提供上传 / no [auth] configured: demo mode, "
            f"not signed in, everything read-only, no upload.{where}")


def run_dashboard(streamlit_args: list[str]) -> None:
    """Run `streamlit run dashboard.py <streamlit_args>` in this process (does not return)."""
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.web import cli as streamlit_cli

    demo_user, args = demo_user_option(list(streamlit_args))
    if demo_user is not None:
        problem = check_demo_user(demo_user, args)
        if problem:
            print(f"planwatch: 错误 / error: {problem}", file=sys.stderr, flush=True)
            raise SystemExit(2)
        os.environ[DEMO_USER_ENV] = demo_user
        print(f"planwatch: 演示用户 / demo user {demo_user} (localhost only, not signed in)", file=sys.stderr, flush=True)
    print(startup_message(args), file=sys.stderr, flush=True)
    if not address_given(args):
        args = ["--server.address", LOOPBACK, *args]
    PagesManager.uses_pages_directory = False  # dashboard.py builds its pages with st.navigation
    streamlit_cli.main(
        args=["run", str(dashboard_script()), "--browser.gatherUsageStats", "false", *args],
        prog_name="planwatch dashboard",
    )


if __name__ == "__main__":
    run_dashboard(sys.argv[1:])
