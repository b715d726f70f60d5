"""Streamlit glue of the 填报 page, the review page and the round's progress (issue 15). The logic is in
warehouse/review.py, review_store.py and reporting_form.py; pages/reporting.py and pages/review.py call
`reporting_page()` / `review_page()`, the data-quality page `progress_section(...)`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import polars as pl
import streamlit as st

from warehouse import i18n, narrow
from warehouse import reporting_form as rf
from warehouse import review as rv
from warehouse.review_store import ReviewStore, may_report, may_review
from warehouse.safe_cells import safe_frame  # office notes and reasons: the tables' CSV download carries no formula
from warehouse.safe_text import md, no_paths

i18n.register({
    "nav.reporting": {"zh": "填报", "en": "Report"},
    "nav.review": {"zh": "审核", "en": "Review"},
    "rep.title": {"zh": "数据填报", "en": "Report figures"},
    "rep.not_role": {"zh": "您的角色不能填报。填报需要“报送单位”角色。", "en": "Your role cannot report figures (the submitter role can)."},
    "rep.region": {"zh": "填报地区", "en": "Region"},
    "rep.period": {"zh": "统计期", "en": "Period"},
    "rep.none_due": {"zh": "{region} 在 {period} 没有需要填报的指标。", "en": "Nothing is due from {region} for {period}."},
    "rep.status": {"zh": "状态：{status}（第 {version} 次提交）", "en": "Status: {status} (submission {version})"},
    "rep.unit": {"zh": "单位：{unit}", "en": "Unit: {unit}"},
    "rep.last": {"zh": "上期（{period}）：{value}", "en": "Last period ({period}): {value}"},
    "rep.target": {"zh": "目标（{year}年）：{target}", "en": "Target ({year}): {target}"},
    "rep.value": {"zh": "数值", "en": "Value"},
    "rep.numerator": {"zh": "分子：{what}", "en": "Numerator: {what}"},
    "rep.denominator": {"zh": "分母：{what}", "en": "Denominator: {what}"},
    "rep.note": {"zh": "备注 / 异常波动说明", "en": "Note / explanation of an unusual change"},
    "rep.returned": {"zh": "已退回：{reason}（{who}）", "en": "Returned: {reason} ({who})"},
    "rep.locked": {"zh": "{state}，不能修改", "en": "{state}; cannot be changed"},
    "rep.save": {"zh": "保存草稿", "en": "Save draft"},
    "rep.submit": {"zh": "提交审核", "en": "Submit for review"},
    "rep.saved": {"zh": "已保存草稿。", "en": "Draft saved."},
    "rep.submitted": {"zh": "已提交，等待上级审核。审核通过前，这些数据不计入统计。",
                      "en": "Submitted; waiting for review. The figures do not count until approved."},
    "rep.errors": {"zh": "有 {n} 项需要修改，修改后才能提交：", "en": "{n} rows need correcting before you can submit:",
                   "en_one": "1 row needs correcting before you can submit:"},
    "rv.title": {"zh": "逐级审核", "en": "Review submissions"},
    "rv.not_role": {"zh": "您的角色不能审核。审核需要“审核单位”角色。", "en": "Your role cannot review (the reviewer role can)."},
    "rv.nothing": {"zh": "没有等待您审核的填报。", "en": "Nothing is waiting for your review."},
    "rv.pick": {"zh": "待审核的填报", "en": "Submission awaiting review"},
    "rv.col.indicator": {"zh": "指标", "en": "Indicator"},
    "rv.col.value": {"zh": "本期数值", "en": "Value"},
    "rv.col.figures": {"zh": "分子/分母", "en": "Numerator/denominator"},
    "rv.col.last": {"zh": "上期", "en": "Last period"},
    "rv.col.change": {"zh": "变化", "en": "Change"},
    "rv.col.note": {"zh": "填报说明", "en": "Office's note"},
    "rv.col.state": {"zh": "状态", "en": "State"},
    "rv.rows": {"zh": "审核哪些指标（默认全部）", "en": "Rows to act on (all by default)"},
    "rv.rows_all": {"zh": "全部待审核指标", "en": "all rows awaiting review"},
    "rv.reason": {"zh": "退回原因（退回时必填）", "en": "Reason (needed to return)"},
    "rv.approve": {"zh": "审核通过", "en": "Approve"},
    "rv.return": {"zh": "退回修改", "en": "Return"},
    "rv.approved": {"zh": "已审核通过并入库，自此计入统计。", "en": "Approved and stored; the figures count from now on."},
    "rv.returned": {"zh": "已退回填报单位。", "en": "Returned to the office."},
    "rv.history": {"zh": "操作记录", "en": "History"},
    "rv.by": {"zh": "{who}（{role}）提交于 {when}", "en": "Submitted by {who} ({role}) on {when}"},
    "dq.tab.round": {"zh": "填报进度", "en": "Reporting round"},
    "rv.progress": {"zh": "填报进度（{period}）", "en": "Reporting round ({period})"},
    "rv.pending": {"zh": "待审核数据（未计入统计）", "en": "Figures awaiting review (not counted)"},
    "rv.pending_note": {"zh": "以下数据尚未审核通过，不计入任何统计、排名、预警和导出。",
                        "en": "These figures are not approved yet: no status, ranking, alert or export uses them."},
    "rv.state.not_started": {"zh": "未开始", "en": "not started"},
    "rv.state.draft": {"zh": "草稿", "en": "draft"},
    "rv.state.submitted": {"zh": "待审核", "en": "awaiting review"},
    "rv.state.returned": {"zh": "已退回", "en": "returned"},
    "rv.state.approved": {"zh": "已通过", "en": "approved"},
    "rv.state.overdue": {"zh": "逾期", "en": "overdue"},
    "rv.wait.office": {"zh": "等待填报单位", "en": "waiting on the office"},
    "rv.wait.reviewer": {"zh": "等待审核单位", "en": "waiting on the reviewer"},
})


def _t(key: str, lang: str, **kw: Any) -> str:
    return i18n.t(key, lang, **kw)


def _cst(iso: str | None) -> str:
    from warehouse.storage import cst_text

    if not iso:
        return "—"
    return cst_text(datetime.fromisoformat(str(iso).replace("Z", "+00:00")))


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:,.4g}" if abs(value) < 1e6 else f"{value:,.0f}"


def _store() -> ReviewStore:
    from warehouse import app_state

    eng = app_state.engine()
    return ReviewStore(eng.warehouse, eng.defs, eng.registry)


def _region_choices(eng: Any, who: Any, current: str) -> list[str]:
    """Regions the identity may report for: its scope roots and their children (everything: the selected
    region and its children)."""
    roots = [current] if who.scope.everything else list(who.scope.roots)
    out = []
    for code in roots:
        if code.startswith("group:"):
            continue
        out.append(code)
        out.extend(eng.registry.children(code)["code"].to_list() if code != "CN" else [])
    return [c for c in dict.fromkeys(out) if may_report(who, c)]


def _page(title_key: str, action: str, refused_key: str) -> tuple[Any, str, Any, Any, ReviewStore]:
    """The start both pages share: title, the last action's message, and the role check (no `action`: a
    clear message and nothing else). Returns the app state, language, identity, engine and review store."""
    from warehouse import app_state

    state = app_state.current()
    lang = state.lang
    who = app_state.identity()
    st.title(_t(title_key, lang))
    _flash()
    if not who.can(action):
        st.info(_t(refused_key, lang))
        st.stop()
    return state, lang, who, app_state.engine(), _store()


def reporting_page() -> None:
    state, lang, who, eng, store = _page("rep.title", "report", "rep.not_role")
    choices = _region_choices(eng, who, state.region)
    region = st.selectbox(_t("rep.region", lang), choices, key="rep_region",
                          format_func=lambda c: f"{eng.region_name(c)}（{c}）")
    period = st.selectbox(_t("rep.period", lang), rf.open_periods(), key="rep_period")
    if not region or not period:
        st.stop()
    lines = rf.due_lines(eng, region, period)
    if not lines:
        st.info(md(_t("rep.none_due", lang, region=eng.region_name(region), period=period)))
        st.stop()
    sub = store.find(region, period)
    status = rv.status_of(sub)
    st.caption(_t("rep.status", lang, status=_t(f"rv.state.{status}", lang), version=(sub or {}).get("version", 0)))
    rows = (sub or {}).get("rows", {})
    names = {ln.indicator_id: ln.name(lang) for ln in lines}
    for ind, row in rows.items():  # returned rows first, at the top: the office should not have to scroll
        if row.get("state") == "returned":
            st.warning(md(f"{names.get(ind, ind)} — " + _t("rep.returned", lang, reason=row.get("reason") or "",
                                                          who=row.get("returned_by") or "")))
    values: dict[str, dict] = {}
    slots: dict[str, Any] = {}
    editable: dict[str, dict] = {}
    for line in lines:
        row = rows.get(line.indicator_id, {})
        locked = row.get("state") in ("submitted", "approved")
        key = f"rep_{region}_{period}_{line.indicator_id}"
        with st.container(border=True):
            st.markdown(f"**{md(line.name(lang))}**")
            info = [_t("rep.unit", lang, unit=md(line.unit(lang))),
                    _t("rep.last", lang, period=line.last_period, value=_fmt(line.last_value))]
            if line.target:
                info.append(_t("rep.target", lang, year=line.target_year, target=md(line.target_text(lang))))
            st.caption(" · ".join(info))
            if row.get("state") == "returned":
                st.warning(md(_t("rep.returned", lang, reason=row.get("reason") or "", who=row.get("returned_by") or "")))
            if locked:
                st.caption(_t("rep.locked", lang, state=_t(f"rv.state.{row['state']}", lang)))
            fields = ["numerator", "denominator"] if line.ratio else ["value"]
            cols = st.columns(len(fields) + 1)
            entered = {}
            for col, field in zip(cols, fields):
                label = (_t(f"rep.{field}", lang, what=(line.numerator_en if field == "numerator" else line.denominator_en)
                            if lang == "en" else (line.numerator_zh if field == "numerator" else line.denominator_zh))
                         if line.ratio else _t("rep.value", lang))
                start = row.get(field)
                entered[field] = col.text_input(label, value="" if start is None else rv._text(start),
                                                key=f"{key}_{field}", disabled=locked)
            entered["note"] = cols[-1].text_input(_t("rep.note", lang), value=row.get("note") or "",
                                                  key=f"{key}_note", disabled=locked)
            values[line.indicator_id] = entered
            if not locked:
                editable[line.indicator_id] = entered
            slots[line.indicator_id] = st.container()
    problems = rf.check(store, region, period, editable, who.label, scope=who.scope, lines=lines)
    for ind, found in problems.items():
        slot = slots.get(ind)
        if slot is not None:
            for p in found:
                (slot.error if p["severity"] == "error" else slot.warning)(md(p["en"] if lang == "en" else p["zh"]))
    wrong = [ind for ind, found in problems.items() if any(p["severity"] == "error" for p in found)]
    n_errors = sum(1 for f in problems.values() for p in f if p["severity"] == "error")
    if n_errors:  # next to the buttons, with the rows' names: on a phone the row itself may be far above
        sep, gap = ("; ", " ") if lang == "en" else ("、", "")
        st.error(md(_t("rep.errors", lang, n=n_errors) + gap + sep.join(names.get(i, i) for i in wrong)))
    left, right = st.columns(2)
    last = {ln.indicator_id: ln.last_value for ln in lines}
    filled = {i: v for i, v in editable.items() if any(str(v.get(k) or "").strip() for k in ("value", "numerator", "denominator"))}
    from warehouse.review import Actor

    actor = Actor(who.label, who.role)
    if left.button(_t("rep.save", lang), key="rep_save", disabled=not filled):
        _act(lambda: store.save(region, period, filled, actor, identity=who), "rep.saved", lang)
    if right.button(_t("rep.submit", lang), type="primary", key="rep_submit", disabled=bool(n_errors) or not (filled or status == "draft")):
        _act(lambda: store.save(region, period, filled, actor, identity=who, submit=True, last_values=last),
             "rep.submitted", lang)


def _act(action: Any, done_key: str, lang: str) -> None:
    from warehouse.storage import WarehouseError

    try:
        action()
    except rv.ReviewError as exc:
        st.error(md(exc.text(lang)))
        return
    except WarehouseError as exc:  # the lock is held by another writer: say so, without the server's path
        parts = str(exc).split(" / ")
        st.error(md(no_paths(parts[1 if lang == "en" and len(parts) > 1 else 0])))
        return
    st.session_state["rv_flash"] = _t(done_key, lang)
    st.rerun()


def _flash() -> None:
    message = st.session_state.pop("rv_flash", None)
    if message:
        st.success(message)


def review_page() -> None:
    _state, lang, who, eng, store = _page("rv.title", "review", "rv.not_role")
    waiting = [s for s in store.list(status="submitted") if may_review(who, s["region_code"])]
    if not waiting:
        st.info(_t("rv.nothing", lang))
        st.stop()
    by_id = {s["id"]: s for s in waiting}
    picked = st.selectbox(_t("rv.pick", lang), list(by_id), key="rv_pick",
                          format_func=lambda i: f"{eng.region_name(by_id[i]['region_code'])} · {by_id[i]['period']} · {i}")
    sub = by_id[picked]
    last_submit = next((e for e in reversed(sub["events"]) if e["action"] == "submit"), {})
    role = last_submit.get("role") or "submitter"
    role_text = _t(f"auth.role.{role}", lang) if role in ("viewer", "submitter", "reviewer", "analyst", "admin") else role
    by = _t("rv.by", lang, who=sub.get("submitted_by"), role=role_text, when=_cst(sub.get("submitted_at")))
    if last_submit.get("file"):  # a file the access policy sent through review (warehouse/review_files.py)
        by += _t("rv.from_file", lang, file=last_submit["file"])
    st.caption(md(by))
    table = review_table(eng, sub, lang)
    with narrow.scroll_table("rv_table"):  # a handful of rows: plain HTML, readable by a screen reader;
        st.table(table)  # on a phone it scrolls sideways (warehouse/narrow.py)
    awaiting = [i for i, r in sub["rows"].items() if r["state"] == "submitted"]
    names = {ln: eng.defs.indicator(ln).name.get(lang) for ln in sub["rows"]}
    chosen = st.multiselect(_t("rv.rows", lang), awaiting, key=f"rv_rows_{picked}", format_func=lambda i: names[i],
                            placeholder=_t("rv.rows_all", lang))
    reason = st.text_input(_t("rv.reason", lang), key=f"rv_reason_{picked}")
    from warehouse.review import Actor

    actor = Actor(who.label, who.role)
    left, right = st.columns(2)
    if left.button(_t("rv.approve", lang), type="primary", key="rv_approve"):
        _act(lambda: store.approve(picked, actor, identity=who, indicators=chosen or None), "rv.approved", lang)
    if right.button(_t("rv.return", lang), key="rv_return"):
        _act(lambda: store.return_rows(picked, reason, actor, identity=who, indicators=chosen or None), "rv.returned", lang)
    with st.expander(_t("rv.history", lang)):
        st.dataframe(safe_frame(pl.DataFrame([{k: str(e.get(k) or "—") for k in ("at", "action", "user", "role", "reason")}
                                              | {"rows": ", ".join(e.get("rows") or [])} for e in sub["events"]])),
                     hide_index=True, width="stretch")


def review_table(eng: Any, sub: dict, lang: str) -> pl.DataFrame:
    """What the reviewer sees per row: indicator, value, numerator/denominator, last period, change, note, state."""
    last = rf.last_values(eng, sub["region_code"], rf.previous_period(sub["period"]))
    records = []
    for ind, row in sub["rows"].items():
        indicator = eng.defs.indicator(ind)
        scale = float(indicator.aggregation.scale) if indicator.aggregation.rule.value == "ratio" else None
        value = rv.row_value(row, scale)
        change = rv.change_ratio(value, last.get(ind))
        records.append({
            _t("rv.col.indicator", lang): indicator.name.get(lang),
            _t("rv.col.value", lang): _fmt(value),
            _t("rv.col.figures", lang): "—" if row.get("numerator") is None else f"{row['numerator']} / {row.get('denominator') or '—'}",
            _t("rv.col.last", lang): _fmt(last.get(ind)),
            _t("rv.col.change", lang): "—" if change is None else f"{change:+.1%}",
            _t("rv.col.note", lang): row.get("note") or "—",
            _t("rv.col.state", lang): _t(f"rv.state.{row['state']}", lang),
        })
    return pl.DataFrame(records)


def progress_section(region: str, lang: str, who: Any, now: datetime | None = None) -> None:
    """Data-quality page: per region and period of the round, the status counts and who it waits on, for the
    regions below `region` (the reviewer's scope); and, for roles with `pending`, the figures awaiting review."""
    from warehouse import app_state

    eng = app_state.engine()
    store = _store()
    period = st.selectbox(_t("rep.period", lang), rf.open_periods(now), key="dq_round_period")
    children = eng.registry.children(region)["code"].to_list() if region != "CN" else []
    frame = rf.progress(store, eng, [c for c in children if who.scope.allows(c)] or [region], [period], now=now)
    st.subheader(_t("rv.progress", lang, period=period))
    counts = {s: frame.filter(pl.col("status") == s).height for s in rv.STATUSES}
    for col, s in zip(st.columns(len(rv.STATUSES)), rv.STATUSES):
        col.metric(_t(f"rv.state.{s}", lang), counts[s])
    if frame.height:
        shown = frame.with_columns(
            pl.col("status").map_elements(lambda s: _t(f"rv.state.{s}", lang), return_dtype=pl.String),
            pl.col("waiting_on").map_elements(lambda w: _t(f"rv.wait.{w}", lang), return_dtype=pl.String))
        st.dataframe(safe_frame(shown), hide_index=True, width="stretch")
    if who.can("pending"):
        pending = store.pending_rows(who).filter(pl.col("region_code").str.starts_with(region) | (pl.lit(region) == "CN"))
        st.subheader(_t("rv.pending", lang))
        st.caption(_t("rv.pending_note", lang))
        st.dataframe(safe_frame(pending), hide_index=True, width="stretch")


def figure_history(region: str, indicator_id: str, lang: str) -> None:
    """Indicator page: the review events of this region's figure (who saved, submitted, returned, approved,
    when, why), for the roles that take part in review or see logs (the region's scope is checked by the page)."""
    from warehouse import app_state

    who = app_state.identity()
    if not any(who.can(a) for a in ("report", "review", "pending", "log_all")):
        return
    events = rv.history(_store().all(), region_code=region, indicator_id=indicator_id)
    if not events:
        return
    st.subheader(_t("rv.figure_history", lang))
    st.dataframe(safe_frame(pl.DataFrame([{
        _t("rep.period", lang): e["period"], _t("rv.col.when", lang): _cst(e["at"]),
        _t("rv.col.action", lang): _t(f"rv.action.{e['action']}", lang), _t("rv.col.who", lang): e["user"],
        _t("rv.col.role", lang): e["role"], _t("rv.col.reason", lang): e.get("reason") or "—",
    } for e in events])), hide_index=True, width="stretch")


i18n.register({
    "rv.figure_history": {"zh": "填报与审核记录", "en": "Reporting and review history"},
    "rv.from_file": {"zh": "（上传文件 {file}）", "en": " (uploaded file {file})"},
    "rv.col.when": {"zh": "时间", "en": "When"},
    "rv.col.action": {"zh": "操作", "en": "Action"},
    "rv.col.who": {"zh": "账号", "en": "Who"},
    "rv.col.role": {"zh": "角色", "en": "Role"},
    "rv.col.reason": {"zh": "原因", "en": "Reason"},
    "rv.action.save_draft": {"zh": "保存草稿", "en": "saved a draft"},
    "rv.action.submit": {"zh": "提交审核", "en": "submitted"},
    "rv.action.approving": {"zh": "开始入库", "en": "approval started"},
    "rv.action.approve": {"zh": "审核通过", "en": "approved"},
    "rv.action.approve_failed": {"zh": "入库失败", "en": "approval failed"},
    "rv.action.approve_interrupted": {"zh": "入库中断（未入库）", "en": "approval interrupted (not stored)"},
    "rv.action.return": {"zh": "退回", "en": "returned"},
})
