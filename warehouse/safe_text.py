"""Text from outside (URL parameters, YAML names, region names, file names, submitted cells, error messages)
shown in an element that renders Markdown (st.markdown, st.caption, st.title, st.info/warning/error …) must be
shown as literal text: a region parameter `[请点击此处重新登录](http://evil.example/login)` must not become a
live link, `![x](http://127.0.0.1:9/x.png)` must not make the browser fetch an image.

    st.warning(md(note))          # the whole message, literally
    st.caption(md(f"{plan} · {region}"))

`md` backslash-escapes every ASCII punctuation character (CommonMark allows an escape before any of them), which
also stops GitHub-style bare links (`http\\://`, `www\\.`), Streamlit's `:red[...]` and `:material/...:`
directives and `$...$` maths. Line breaks are kept (as Markdown hard breaks).

`no_paths` replaces absolute file system paths in a message by their last component, so no page shows where the
server keeps its files.
"""

from __future__ import annotations

import re
import string

_PUNCT = re.compile("([" + re.escape(string.punctuation) + "])")
_ABS_PATH = re.compile(r"(?<![\w.:/])(/(?:[^\s/'\"`:,;)）]+/)+)([^\s/'\"`:,;)）]*)")


def md(text: object) -> str:
    """`text` escaped so that Markdown shows it exactly as written."""
    escaped = _PUNCT.sub(r"\\\1", "" if text is None else str(text))
    return escaped.replace("\r\n", "\n").replace("\n", "  \n")


def no_paths(text: object) -> str:
    """Absolute paths (`/srv/planwatch/warehouse/batches/x.parquet`) reduced to their last part (`x.parquet`)."""
    return _ABS_PATH.sub(lambda m: m.group(2) or "…", "" if text is None else str(text))
