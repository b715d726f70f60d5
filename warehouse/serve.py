"""Start the dashboard server: `planwatch dashboard` (what ./dev.sh dashboard runs).

Why not plain `streamlit run dashboard.py`: the project layout has a `pages/` folder beside dashboard.py, and
Streamlit treats the first script run of a server process as a legacy "pages folder" app when such a folder
exists (PagesManager.uses_pages_directory). A forwarded deep link (e.g. /league-table?region=50) opened as the
very first request then shows a "Page not found" dialog. dashboard.py uses st.navigation, so we declare that
up front, before Streamlit starts, and every link works from the first request on.
"""

from __future__ import annotations

from pathlib import Path

from warehouse.paths import REPO_ROOT


def dashboard_script() -> Path:
    return REPO_ROOT / "dashboard.py"


def run_dashboard(streamlit_args: list[str]) -> None:
    """Run `streamlit run dashboard.py <streamlit_args>` in this process (does not return)."""
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.web import cli as streamlit_cli

    PagesManager.uses_pages_directory = False  # dashboard.py builds its pages with st.navigation
    streamlit_cli.main(
        args=["run", str(dashboard_script()), "--browser.gatherUsageStats", "false", *streamlit_args],
        prog_name="planwatch dashboard",
    )


if __name__ == "__main__":
    import sys

    run_dashboard(sys.argv[1:])
