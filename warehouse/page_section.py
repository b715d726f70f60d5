"""Page sections that fail on their own: a failed engine query (or any error) inside `with section(lang):` shows
its error box and the page goes on with the next section, instead of the whole page stopping.

    with page_section.section(lang):
        alerts = app_state.query("alerts", region, ...)   # fails -> error box here, page continues below
        ...draw the alerts...

`app_state.query` shows the error (zh or en, no server path) and raises `SectionFailed` when it runs inside a
section; outside one it stops the page as before (`st.stop()`), so a page that needs a result for everything
below it simply does not wrap that query. `st.stop()` / `st.rerun()` / page switches are not exceptions of this
kind (Streamlit's control flow is BaseException) and pass through.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import streamlit as st

from warehouse import i18n
from warehouse.safe_text import md, no_paths

i18n.register({
    "section.error": {"zh": "本部分无法显示：{error}（页面其余部分不受影响）",
                      "en": "This part cannot be shown: {error} (the rest of the page is not affected)"},
})

_local = threading.local()  # Streamlit runs each session's script in its own thread


class SectionFailed(Exception):
    """A query inside a section failed; its error is already on the page."""


def inside() -> bool:
    """Whether the current script run is inside a `section()` (app_state.query then raises SectionFailed)."""
    return getattr(_local, "depth", 0) > 0


@contextlib.contextmanager
def section(lang: str) -> Iterator[None]:
    """Run a part of a page; a failure shows an error box in `lang` and the rest of the page still runs."""
    depth = getattr(_local, "depth", 0)
    _local.depth = depth + 1
    try:
        yield
    except SectionFailed:
        pass  # the query already showed its error
    except Exception as exc:  # noqa: BLE001 - shown to the user (no path, no traceback), the page goes on
        from warehouse.safe_errors import message

        st.error(md(i18n.t("section.error", lang, error=no_paths(message(exc, lang)))))
    finally:
        _local.depth = depth
