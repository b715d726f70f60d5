"""Readable on a leader's phone (390 px wide) as well as on a desktop.

Streamlit does not tell the server how wide the screen is, so a page sends both forms of a wide element and
CSS shows one: `wide_only(key)` / `narrow_only(key)` containers switch at NARROW_PX. Also here: the overview's
status counts as one compact, wrapping line of coloured badges (instead of five metric columns, which a
phone stacks into ten tall rows), and the per-region status list that replaces the heatmap on a phone.

    narrow.inject_css()                      # once per page run (dashboard.py)
    narrow.status_badges(counts, lang)       # {"red": 3, ...} -> one line of badges
    with narrow.wide_only("ov_heatmap"): st.plotly_chart(...)
    with narrow.narrow_only("ov_heatmap"): narrow.status_list(children, lang)
"""

from __future__ import annotations

import html

import polars as pl

from warehouse import formatting as fmt
from warehouse import i18n

NARROW_PX = 640

i18n.register({
    "narrow.list_caption": {
        "zh": "下级地区（每行：各状态的指标数）", "en": "Sub-regions (per row: number of indicators in each status)",
    },
})

_CSS = f"""
<style>
@media (max-width: {NARROW_PX}px) {{
  [class*="st-key-pw_wide_"] {{ display: none !important; }}
  [data-testid="stMainBlockContainer"] {{ padding-left: 0.75rem; padding-right: 0.75rem; padding-top: 3rem; }}
  h1 {{ font-size: 1.6rem !important; }}
  /* scroll_table(key): a wide plain table keeps readable columns and scrolls sideways on a phone */
  [class*="st-key-pw_scroll_"] [data-testid="stTable"] {{ overflow-x: auto; }}
  [class*="st-key-pw_scroll_"] table {{ min-width: 620px; }}
}}
@media (min-width: {NARROW_PX + 1}px) {{
  [class*="st-key-pw_narrow_"] {{ display: none !important; }}
}}
.pw-badges {{ display: flex; flex-wrap: wrap; gap: 0.4rem 0.5rem; margin: 0.2rem 0 0.8rem 0; }}
.pw-badge {{ display: inline-flex; align-items: baseline; gap: 0.35rem; padding: 0.2rem 0.6rem;
  border-radius: 1rem; border: 1px solid #d0d4da; background: #fff; font-size: 0.95rem; white-space: nowrap; }}
.pw-badge b {{ font-size: 1.25rem; }}
</style>
"""


def inject_css() -> None:
    import streamlit as st

    st.html(_CSS)


def wide_only(key: str):
    import streamlit as st

    return st.container(key=f"pw_wide_{key}")


def narrow_only(key: str):
    import streamlit as st

    return st.container(key=f"pw_narrow_{key}")


def scroll_table(key: str):
    """A container whose plain table (st.table) scrolls sideways on a phone instead of squeezing its columns."""
    import streamlit as st

    return st.container(key=f"pw_scroll_{key}")


def badges_html(counts: dict[str, int], lang: str) -> str:
    """One wrapping line of badges, severity order: symbol, label, count, in the bucket's colour."""
    parts = []
    for bucket in fmt.BUCKETS:
        colour = fmt.BUCKET_COLOURS[bucket]
        label = html.escape(fmt.bucket_label(bucket, lang))
        parts.append(
            f'<span class="pw-badge" style="border-color:{colour}" data-bucket="{bucket}">'
            f'<span style="color:{colour}">{label}</span><b>{int(counts.get(bucket, 0))}</b></span>'
        )
    return f'<div class="pw-badges">{"".join(parts)}</div>'


def status_badges(counts: dict[str, int], lang: str) -> None:
    import streamlit as st

    st.markdown(badges_html(counts, lang), unsafe_allow_html=True)


def status_list(children: pl.DataFrame, lang: str) -> pl.DataFrame:
    """Per sub-region: how many of its indicators are in each status bucket (red first), worst first.
    The phone's replacement for the heatmap; columns are the bucket labels."""
    if children.height == 0:
        return pl.DataFrame()
    bucket = pl.col("status").fill_null("no_data").replace_strict(fmt.BUCKET_OF_STATUS, default="grey")
    counts = (
        children.with_columns(bucket=bucket)
        .group_by("region_code", "region_name", maintain_order=True)
        .agg([(pl.col("bucket") == b).sum().cast(pl.Int64).alias(b) for b in fmt.BUCKETS])
        .sort(["red", "amber", "region_code"], descending=[True, True, False])
    )
    return counts.select(
        pl.col("region_name").alias(i18n.t("col.region", lang)),
        *[pl.col(b).alias(fmt.bucket_label(b, lang)) for b in fmt.BUCKETS],
    )
