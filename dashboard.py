"""planwatch dashboard: `streamlit run dashboard.py`.

The shell only: page set-up, navigation, and the sidebar (plan, region, as-of month, language), whose state
lives in the URL (warehouse.app_state). Each page in pages/ is thin; the logic is in warehouse/.
"""

from __future__ import annotations

import streamlit as st

from warehouse import app_state, i18n, narrow, tasks_views  # noqa: F401  (tasks_views registers nav.tasks)
from warehouse.export_button import export_control
from warehouse import review_ui  # noqa: F401 - registers the 填报 / 审核 strings used by the navigation

st.set_page_config(page_title="planwatch", page_icon=":material/monitoring:", layout="wide")

lang = app_state.current_lang()
# The overview is the default page, served at the root URL. URL paths deliberately differ from the file
# names in pages/ (even the default page's internal one): Streamlit still knows the legacy "pages/ folder" mode, and a request whose path matches a
# file name there (e.g. /overview for pages/overview.py) can be served by running that file alone, without
# this script. That happens in AppTest on every rerun; for the real server `planwatch dashboard`
# (warehouse/serve.py) switches the legacy mode off before the first request.
pages = [
    st.Page("pages/overview.py", title=i18n.t("nav.overview", lang), icon=":material/dashboard:", url_path="summary", default=True),
    st.Page("pages/indicator.py", title=i18n.t("nav.indicator", lang), icon=":material/show_chart:", url_path="indicators"),
    st.Page("pages/region.py", title=i18n.t("nav.region", lang), icon=":material/location_city:", url_path="regions"),
    st.Page("pages/rankings.py", title=i18n.t("nav.rankings", lang), icon=":material/leaderboard:", url_path="league-table"),
    st.Page("pages/data_quality.py", title=i18n.t("nav.data_quality", lang), icon=":material/fact_check:", url_path="quality"),
    st.Page("pages/reporting.py", title=i18n.t("nav.reporting", lang), icon=":material/edit_note:", url_path="report"),
    st.Page("pages/review.py", title=i18n.t("nav.review", lang), icon=":material/approval:", url_path="approve"),
    st.Page("pages/definitions.py", title=i18n.t("nav.definitions", lang), icon=":material/menu_book:", url_path="catalogue"),
    st.Page("pages/tasks.py", title=i18n.t("nav.tasks", lang), icon=":material/checklist:", url_path="ledger"),
]
page = st.navigation(pages)
narrow.inject_css()  # phone layout: compact counts, lists instead of wide charts (warehouse/narrow.py)
state = app_state.sidebar()
if state is None:
    st.stop()
export_control(state)
page.run()
