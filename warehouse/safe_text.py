"""Text from outside (URL parameters, YAML names, region names, file names, submitted cells, error messages)
shown in an element that renders Markdown (st.markdown, st.caption, st.title, st.info/warning/error …) must be
shown as literal text: a region parameter `[请点击此处重新登录](http://evil.example/login)` must not become a
live link, `![x](http://127.0.0.1:9/x.png)` must not make the browser fetch an image.

    st.warning(md(note))          # the whole message, literally
    st.caption(md(f"{plan} · {region}"))

`md` backslash-escapes every ASCII punctuation character (CommonMark allows an escape before any of them): no
link, image, emphasis, heading, Streamlit `:red[...]` / `:material/...:` directive or `$...$` maths. Escapes do not
stop GitHub-style bare links, though: Streamlit's renderer links `http://…`, `www.…` and `name@host.cn` found in the
text after parsing (measured: an escaped `http\\:\\/\\/evil\\.example` was still a live link). So `md` also puts
an invisible zero-width space (U+200B) inside each such pattern (`http​://`, `www​.`, `name​@host`), which the
linker does not match. Line breaks are kept (as Markdown hard breaks).

`no_paths` replaces absolute file system paths in a message by their last component, so no page shows where the
server keeps its files.
"""

from __future__ import annotations

import re
import string

_PUNCT = re.compile("([" + re.escape(string.punctuation) + "])")
_ABS_PATH = re.compile(r"(?<![\w.:/])(/(?:[^\s/'\"`:,;)）]+/)+)([^\s/'\"`:,;)）]*)")


ZWSP = "\u200b"
_AUTOLINK = re.compile(r"(?i)(https?|ftp|www|mailto|xmpp)(?=[:.])|(?=@)")


def md(text: object) -> str:
    """`text` escaped so that Markdown shows it exactly as written (plus U+200B inside would-be bare links)."""
    raw = _AUTOLINK.sub(lambda m: (m.group(1) or "") + ZWSP, "" if text is None else str(text))
    escaped = _PUNCT.sub(r"\\\1", raw)
    return escaped.replace("\r\n", "\n").replace("\n", "  \n")


def no_paths(text: object) -> str:
    """Absolute paths (`/srv/planwatch/warehouse/batches/x.parquet`) reduced to their last part (`x.parquet`)."""
    return _ABS_PATH.sub(lambda m: m.group(2) or "…", "" if text is None else str(text))
