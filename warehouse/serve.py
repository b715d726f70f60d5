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

    args = list(streamlit_args)
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
