"""The overview's "final evaluation report" button, shown once the selected plan has ended: the same report
as `planwatch export --final` (warehouse/report_final.py) for the current plan, region and month, as a zip."""

from __future__ import annotations

import io
import tempfile
import zipfile
from datetime import date
from pathlib import Path

import streamlit as st

from warehouse import app_state, i18n
from warehouse.export import ExportError

i18n.register({
    "final_button.heading": {"zh": "终期评估", "en": "Final evaluation"},
    "final_button.note": {
        "zh": "规划期已于 {end} 年结束：可生成终期评估报告（逐项达标结果、未报送、未完成约束性指标的地区及牵头部门）。",
        "en": "The plan period ended in {end}: build the final evaluation report (result per target and region, "
              "not reported, regions that missed binding targets with their lead departments).",
    },
    "final_button.build": {"zh": "生成终期评估报告（PDF + XLSX）", "en": "Build the final evaluation report (PDF + XLSX)"},
    "final_button.building": {"zh": "正在生成终期评估报告……", "en": "Building the final evaluation report…"},
    "final_button.download": {"zh": "下载 {name}", "en": "Download {name}"},
    "final_button.failed": {"zh": "生成失败：{error}", "en": "Failed: {error}"},
})


def plan_has_ended(plan, as_of_day: date) -> bool:
    return as_of_day > date(plan.period.target, 12, 31)


def final_zip(state, month: str) -> tuple[str, bytes]:
    """(file name, zip bytes) of the final report for the view's plan and region."""
    from warehouse.periods import utc_now
    from warehouse.report_final import collect_final, stem, write_final

    report = collect_final(state.plan_id, state.region, month, state.lang, app_state.warehouse_path(),
                           app_state.load_defs().path)
    with tempfile.TemporaryDirectory() as tmp:
        write_final(report, Path(tmp), utc_now())
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(Path(tmp).iterdir()):
                zf.write(path, path.name)
    return f"{stem(report)}.zip", buffer.getvalue()


def final_report_control(state, plan, as_of_day: date, month: str) -> None:
    """Render the section (only when the plan has ended); the built zip is kept for this exact view."""
    if not plan_has_ended(plan, as_of_day):
        return
    lang = state.lang
    st.subheader(i18n.t("final_button.heading", lang))
    st.caption(i18n.t("final_button.note", lang, end=plan.period.target))
    key = (state.plan_id, state.region, month, lang)
    built = st.session_state.get("pw_final")
    if built is not None and built[0] != key:
        built = None
    if built is None and st.button(i18n.t("final_button.build", lang), key="pw_final_build"):
        with st.spinner(i18n.t("final_button.building", lang)):
            try:
                name, blob = final_zip(state, month)
            except ExportError as exc:
                st.error(i18n.t("final_button.failed", lang, error=exc))
                return
        built = (key, name, blob)
        st.session_state["pw_final"] = built
    if built is not None:
        st.download_button(i18n.t("final_button.download", lang, name=built[1]), built[2], file_name=built[1],
                           mime="application/zip", key="pw_final_download")
