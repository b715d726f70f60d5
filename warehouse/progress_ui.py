"""Long work in the dashboard shows what it is doing: a status box with the current stage and a progress bar.

    with progress_ui.stages("progress.export", lang) as step:
        export_view_zip(..., progress=step)        # step(done, total, label) -> "正在导出：图表 3/12"

The CLI's counterpart is a rich progress bar (planwatch sample, planwatch export).
"""

from __future__ import annotations

from contextlib import contextmanager

from warehouse import i18n

i18n.register({
    "progress.export": {"zh": "正在生成导出", "en": "Building the export"},
    "progress.check": {"zh": "正在检查文件", "en": "Checking the file"},
    "progress.store": {"zh": "正在入库", "en": "Storing the file"},
    "progress.done": {"zh": "完成", "en": "Done"},
    "progress.failed": {"zh": "未完成", "en": "Not completed"},
})


def stage_text(title: str, done: int, total: int, label: str) -> str:
    """'正在生成导出：图表 3/12' — the stage line shown while work runs."""
    counter = f" {done}/{total}" if total else ""
    return f"{title}：{label}{counter}" if label else f"{title}{counter}"


@contextmanager
def stages(title_key: str, lang: str):
    """A spinner with the stage text (st.status) and a bar; yields step(done, total, label)."""
    import streamlit as st

    title = i18n.t(title_key, lang)
    box = st.status(title + " …", expanded=False)
    bar = box.progress(0.0)

    def step(done: int, total: int, label: str = "") -> None:
        box.update(label=stage_text(title, done, total, label))
        if total:
            bar.progress(min(1.0, done / total))

    try:
        yield step
    except Exception:
        box.update(label=f"{title}：{i18n.t('progress.failed', lang)}", state="error")
        raise
    box.update(label=f"{title}：{i18n.t('progress.done', lang)}", state="complete")
