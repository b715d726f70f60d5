"""Streamlit glue of the access policy's `files_need_review` on the data-quality upload (issue 15; the logic is
warehouse/review_files.py): whether the policy asks for it, and the submit-for-review action."""

from __future__ import annotations

from typing import Any

import streamlit as st

from warehouse import i18n
from warehouse.safe_text import md

i18n.register({
    "dq.upload.submit_review": {"zh": "提交审核", "en": "Submit for review"},
    "dq.upload.review_rule": {"zh": "按访问策略，上传的文件须经审核：确认后数据提交审核，审核通过前不计入统计。",
                              "en": "The access policy says files need review: the rows are submitted for review "
                              "and do not count until a reviewer approves them."},
    "dq.upload.bad_policy": {"zh": "访问策略无效，暂不能提交文件。管理员可运行 planwatch access check 查看详情。",
                             "en": "The access policy is invalid, so no file can be submitted. The administrator "
                             "can run planwatch access check for details."},
})


def needs_review(lang: str) -> bool | None:
    """The policy's `files_need_review` (False without a policy file). An invalid policy: says so, None."""
    from warehouse import app_state, auth_ui

    if auth_ui.policy_path() is None:
        return False
    state = app_state.load_defs()
    result = auth_ui.load_policy_result(app_state.definitions(), state.defs_hash, app_state.warehouse_path())
    if not result.ok:
        st.error(i18n.t("dq.upload.bad_policy", lang))
        return None
    if result.policy.files_need_review:
        st.info(i18n.t("dq.upload.review_rule", lang))
    return bool(result.policy.files_need_review)


def submit(wh: Any, path: Any, defs: Any, registry: Any, accept_valid: bool, who_kw: dict) -> Any:
    """review_files.submit_file for the signed-in uploader; a conflict with rows awaiting review is shown in the
    user's language and nothing changes (returns None)."""
    from warehouse import app_state
    from warehouse.review import ReviewError
    from warehouse.review_files import submit_file

    try:
        return submit_file(wh, path, defs, registry, accept_valid_rows=accept_valid, **who_kw)
    except ReviewError as exc:
        st.error(md(exc.text(app_state.current_lang())))
        return None
