"""The sidebar's "monthly snapshot" control: the same export as `planwatch export`, for the current view,
as a zip download. Building it takes a browser render of every chart, so it runs only on request."""

from __future__ import annotations

import streamlit as st

from warehouse import app_state, i18n
from warehouse.export import ExportError, export_view_zip
from warehouse.safe_text import md, no_paths

i18n.register({
    "export.heading": {"zh": "月度快照导出", "en": "Monthly snapshot"},
    "export.build": {"zh": "生成当前视图的导出（ZIP）", "en": "Build export of this view (ZIP)"},
    "export.building": {"zh": "正在生成图表和 PDF 报告……", "en": "Rendering charts and the PDF report…"},
    "export.download": {"zh": "下载 {name}", "en": "Download {name}"},
    "export.failed": {"zh": "导出失败：{error}", "en": "Export failed: {error}"},
})


def export_control(state: app_state.ViewState) -> None:
    """Render the control in the sidebar; the built zip is kept for this exact view only."""
    lang = state.lang
    who = app_state.identity()
    if not who.can("export"):
        return
    key = tuple(sorted(state.params().items()))
    with st.sidebar:
        st.markdown(f"**{i18n.t('export.heading', lang)}**")
        built = st.session_state.get("pw_export")
        if built is not None and built[0] != key:
            built = None  # the view changed: an older zip would not match what is on screen
        if built is None and st.button(i18n.t("export.build", lang), key="pw_export_build"):
            app_state.require_scope(state.region)  # the export reads the engine directly
            from warehouse import progress_ui

            try:  # a status box with the stage ("图表 3/12") instead of a bare spinner
                with progress_ui.stages("progress.export", lang) as step:
                    defs_path = app_state.load_defs().path
                    name, blob = export_view_zip(state, warehouse_dir=app_state.warehouse_path(), defs_path=defs_path,
                                                 progress=step)
            except ExportError as exc:
                st.error(md(i18n.t("export.failed", lang, error=no_paths(exc))))
                return
            built = (key, name, blob)
            st.session_state["pw_export"] = built
        if built is not None:
            _, name, blob = built
            st.download_button(i18n.t("export.download", lang, name=name), blob, file_name=name,
                               mime="application/zip", key="pw_export_download")
