"""Data-quality page (数据质量): reporting and on-time rates, overdue reports, the ingest log with rejected rows,
roll-up vs submitted disagreements, outliers, and a checked upload of a submission file.

The numbers come from warehouse.quality (definitions in its docstring and docs/dashboard.md); the upload uses
storage.ingest_file exactly as the CLI does (a dry run first; nothing is stored until the analyst confirms).
"""

from __future__ import annotations

import tempfile
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
import streamlit as st

from warehouse import formatting as fmt
from warehouse import access, i18n, progress_ui, quality, review_files_ui, tables
from warehouse.page_section import section
from warehouse.periods import utc_now
from warehouse.regions import RegionRegistry
from warehouse.safe_cells import safe_frame
from warehouse.safe_text import md, no_paths
from warehouse.storage import Warehouse


def _read(func, *args):
    """Warehouse reads cached on the warehouse version (app_state.cached_read): no scan on every rerun."""
    from warehouse import app_state

    return app_state.cached_read(func, *args)

i18n.register({
    "dq.unusable.head": {
        "zh": "仓库中有 {n} 个数值无法使用（不是有限数值或大得离谱），计算时已跳过或改用浮点求和；请让报送单位更正后重新报送。",
        "en": "{n} stored values cannot be used as they are (not finite or absurdly large): the engine skips them or "
        "sums them in floating point. Ask the submitting office for a corrected file.",
        "en_one": "1 stored value cannot be used as it is (not finite or absurdly large): the engine skips it or "
        "sums it in floating point. Ask the submitting office for a corrected file.",
    },
    "dq.unusable.details": {"zh": "查看这些数值", "en": "Show these values"},
    "dq.col.column": {"zh": "列", "en": "Column"},
    "dq.col.problem": {"zh": "问题", "en": "Problem"},
    "dq.title": {"zh": "数据质量", "en": "Data quality"},
    "dq.subtitle": {"zh": "{region} 及其下级地区 · {when}", "en": "{region} and its sub-regions · {when}"},
    "dq.tab.rates": {"zh": "报送率", "en": "Reporting rates"},
    "dq.tab.overdue": {"zh": "逾期未报", "en": "Overdue"},
    "dq.tab.log": {"zh": "入库日志", "en": "Ingest log"},
    "dq.tab.disagree": {"zh": "汇总不一致", "en": "Roll-up disagreements"},
    "dq.tab.outliers": {"zh": "异常值", "en": "Outliers"},
    "dq.tab.upload": {"zh": "上传报送文件", "en": "Upload a submission"},
    "dq.metric.reporting": {"zh": "报送率", "en": "Reporting rate"},
    "dq.metric.on_time": {"zh": "按时报送率", "en": "On-time rate"},
    "dq.metric.missing": {"zh": "逾期未报", "en": "Overdue reports"},
    "dq.metric.rejected": {"zh": "被拒收的行", "en": "Rejected rows"},
    "dq.rates.explain": {
        "zh": "应报数 = 各指标在规划期内、截至所选时间已到报送期限的期数 × 应报送的地区（所选地区的下级地区，且层级在该指标的报送层级内）。"
        "报送率 = 已报 ÷ 应报；按时率 = 首次报送时间不晚于期限（期末 + 允许天数，北京时间）÷ 应报。",
        "en": "Expected reports = the indicator's periods inside the plan period that are due by the selected time × "
        "the regions that should report it (the selected region's sub-regions whose level is within the indicator's "
        "reporting levels). Reporting rate = "
        "received ÷ expected; on-time rate = first submission no later than the due time (period end + days "
        "allowed, CST) ÷ expected.",
    },
    "dq.rates.by_region": {"zh": "按地区", "en": "By region"},
    "dq.rates.by_year": {"zh": "按地区和年份（报送率）", "en": "By region and year (reporting rate)"},
    "dq.rates.none": {"zh": "所选地区在所选时间前没有应报的数据。", "en": "Nothing was due from these regions by then."},
    "dq.col.expected": {"zh": "应报", "en": "Expected"},
    "dq.col.received": {"zh": "已报", "en": "Received"},
    "dq.col.on_time": {"zh": "按时", "en": "On time"},
    "dq.col.reporting_rate": {"zh": "报送率", "en": "Reporting rate"},
    "dq.col.on_time_rate": {"zh": "按时率", "en": "On-time rate"},
    "dq.col.file": {"zh": "文件", "en": "File"},
    "dq.col.result": {"zh": "结果", "en": "Result"},
    "dq.col.accepted": {"zh": "接收行", "en": "Accepted"},
    "dq.col.rejected": {"zh": "拒收行", "en": "Rejected"},
    "dq.col.warnings": {"zh": "警告", "en": "Warnings"},
    "dq.col.user": {"zh": "操作人", "en": "User"},
    "dq.col.batch": {"zh": "批次", "en": "Batch"},
    "dq.col.submitted": {"zh": "本级报送值", "en": "Submitted"},
    "dq.col.rollup": {"zh": "下级汇总值", "en": "Roll-up"},
    "dq.col.difference": {"zh": "相差", "en": "Difference"},
    "dq.col.previous": {"zh": "上期值", "en": "Previous"},
    "dq.col.change": {"zh": "变动", "en": "Change"},
    "dq.col.z": {"zh": "z 值", "en": "z-score"},
    "dq.col.row": {"zh": "行号", "en": "Row"},
    "dq.col.cell": {"zh": "单元格内容", "en": "Value"},
    "dq.col.reason": {"zh": "原因", "en": "Reason"},
    "dq.log.none": {"zh": "入库日志为空。", "en": "The ingest log is empty."},
    "dq.log.rejections": {"zh": "查看被拒收的行", "en": "Show rejected rows"},
    "dq.log.rejections_of": {"zh": "{file}（{when}）的拒收明细", "en": "Rejected rows of {file} ({when})"},
    "dq.log.no_rejections": {"zh": "没有带拒收明细的入库记录。", "en": "No ingest attempt has rejected rows."},
    "dq.status.accepted": {"zh": "已接收", "en": "accepted"},
    "dq.status.rejected": {"zh": "已拒收", "en": "rejected"},
    "dq.status.duplicate": {"zh": "重复文件", "en": "duplicate"},
    "dq.disagree.explain": {
        "zh": "地区本级报送的值与其下级汇总值相差超过容差（{tol}）时列出。",
        "en": "Listed when a region's own submitted value and its sub-regions' roll-up differ by more than the "
        "tolerance ({tol}).",
    },
    "dq.disagree.none": {"zh": "没有汇总不一致。", "en": "No roll-up disagreements."},
    "dq.outliers.z": {"zh": "z 值阈值", "en": "z-score threshold"},
    "dq.outliers.explain": {
        "zh": "同一指标在所示地区的全部环比变动中，|z| 超过阈值的变动（总量类指标用相对变动，其余用绝对变动）。",
        "en": "Period-to-period changes whose |z| among all changes of the same indicator in these regions exceeds "
        "the threshold (relative changes for totals, absolute otherwise).",
    },
    "dq.outliers.none": {"zh": "没有超过阈值的异常变动。", "en": "No changes beyond the threshold."},
    "dq.upload.label": {"zh": "选择报送文件（CSV / XLSX / Parquet）", "en": "Choose a submission file (CSV / XLSX / Parquet)"},
    "dq.upload.explain": {
        "zh": "上传后先做检查（与命令行 planwatch ingest --dry-run 相同），确认前不会存储任何内容。",
        "en": "The file is checked first (as `planwatch ingest --dry-run` does); nothing is stored until you confirm.",
    },
    "dq.upload.accept_valid": {"zh": "只接收正确的行（其余行拒收）", "en": "Store the valid rows only (reject the rest)"},
    "dq.upload.confirm": {"zh": "确认入库", "en": "Confirm and store"},
    "dq.upload.download": {"zh": "下载拒收明细（CSV）", "en": "Download the rejected rows (CSV)"},
    "dq.upload.stored": {"zh": "已入库：{summary}", "en": "Stored: {summary}"},
    "dq.upload.not_stored": {"zh": "未入库：{summary}", "en": "Not stored: {summary}"},
    "dq.upload.nothing": {"zh": "此文件没有可存储的行。", "en": "This file has no rows that could be stored."},
    "dq.upload.error": {"zh": "无法处理此文件：{error}", "en": "Could not process this file: {error}"},
})


def _pct(value: float | None) -> str:
    return fmt.format_percent(value, 1)


def _region_label(row: dict) -> str:
    return f"{row['region_name']}（{row['region_code']}）"


def _rates_section(defs, warehouse_dir: Path, region: str, plan_id: str | None, as_of: datetime | None,
                   lang: str) -> pl.DataFrame:
    moment = as_of or utc_now()
    regions = quality.reporting_regions(_read(quality.load_regions, warehouse_dir), region, defs)
    expected = quality.expected_reports(defs, regions, moment, plan_id)
    detail = quality.report_detail(expected, _read(quality.load_submissions, warehouse_dir, as_of))
    return detail


def _show_rates(detail: pl.DataFrame, lang: str) -> None:
    st.caption(i18n.t("dq.rates.explain", lang))
    if detail.is_empty():
        st.info(i18n.t("dq.rates.none", lang))
        return
    st.markdown(f"**{i18n.t('dq.rates.by_region', lang)}**")
    rates = quality.reporting_rates(detail)
    tables.dataframe(
        pl.DataFrame({
            i18n.t("col.region", lang): [_region_label(r) for r in rates.iter_rows(named=True)],
            i18n.t("dq.col.expected", lang): rates["expected"],
            i18n.t("dq.col.received", lang): rates["received"],
            i18n.t("dq.col.on_time", lang): rates["on_time"],
            i18n.t("dq.col.reporting_rate", lang): [_pct(v) for v in rates["reporting_rate"]],
            i18n.t("dq.col.on_time_rate", lang): [_pct(v) for v in rates["on_time_rate"]],
        }),
        hide_index=True, width="stretch", key="dq_rates",
    )
    st.markdown(f"**{i18n.t('dq.rates.by_year', lang)}**")
    by_year = quality.reporting_rates(detail, by=["region_code", "region_name", "year"])
    pivot = (
        by_year.with_columns(
            pl.struct(["region_name", "region_code"]).map_elements(_region_label, return_dtype=pl.Utf8)
            .alias(i18n.t("col.region", lang)),
            pl.col("reporting_rate").map_elements(_pct, return_dtype=pl.Utf8),
            pl.col("year").cast(pl.Utf8),
        )
        .pivot(on="year", index=i18n.t("col.region", lang), values="reporting_rate")
    )
    tables.dataframe(pivot, hide_index=True, width="stretch", key="dq_rates_year")


def _show_overdue(detail: pl.DataFrame, defs, as_of: datetime | None, lang: str) -> None:
    missing = quality.missing_reports(detail, as_of or utc_now())
    if missing.is_empty():
        st.success(i18n.t("empty.no_overdue", lang))
        return
    names = {ind.id: ind.name.get(lang) for ind in defs.indicators}
    tables.dataframe(
        pl.DataFrame({
            i18n.t("col.region", lang): [_region_label(r) for r in missing.iter_rows(named=True)],
            i18n.t("col.indicator", lang): [names.get(i, i) for i in missing["indicator_id"]],
            i18n.t("col.period", lang): [fmt.format_period(p, lang) for p in missing["period"]],
            # due at 24:00 CST: shown as that calendar day
            i18n.t("col.due", lang): [fmt.format_date(d - timedelta(seconds=1), lang)
                                      for d in missing["due_at"].dt.replace_time_zone("UTC").to_list()],
            i18n.t("col.days_overdue", lang): missing["days_overdue"],
        }),
        hide_index=True, width="stretch", key="dq_overdue",
    )


def _rejections_display(frame: pl.DataFrame, lang: str) -> pl.DataFrame:
    reason = "reason_en" if lang == "en" and "reason_en" in frame.columns else "reason_zh"
    frame = safe_frame(frame)  # the table's own CSV download must not carry a submitted formula
    return frame.select(
        pl.col("row").alias(i18n.t("dq.col.row", lang)),
        pl.col("column").alias(i18n.t("dq.col.column", lang)),
        pl.col("value").alias(i18n.t("dq.col.cell", lang)),
        pl.col(reason).alias(i18n.t("dq.col.reason", lang)),
    )


def _show_log(log: pl.DataFrame, warehouse_dir: Path, lang: str) -> None:
    if log.is_empty():
        st.info(i18n.t("dq.log.none", lang))
        return
    tables.dataframe(
        pl.DataFrame({
            i18n.t("col.ingested_at", lang): [fmt.format_cst(t, lang) for t in log["ingested_at"].to_list()],
            i18n.t("dq.col.file", lang): log["file_name"],
            i18n.t("dq.col.result", lang): [i18n.t(f"dq.status.{s}", lang) if i18n.has(f"dq.status.{s}") else s
                                            for s in log["status"].to_list()],
            i18n.t("dq.col.accepted", lang): log["rows_accepted"],
            i18n.t("dq.col.rejected", lang): log["rows_rejected"],
            i18n.t("dq.col.warnings", lang): log["warnings"],
            i18n.t("dq.col.user", lang): log["user"],
            i18n.t("dq.col.batch", lang): log["batch_id"],
        }),
        hide_index=True, width="stretch", key="dq_log",
    )
    with_rejections = [e for e in log.to_dicts() if quality.rejection_file(warehouse_dir, e) is not None]
    if not with_rejections:
        st.caption(i18n.t("dq.log.no_rejections", lang))
        return
    labels = {e["entry_id"]: i18n.t("dq.log.rejections_of", lang, file=e["file_name"],
                                    when=fmt.format_cst(e["ingested_at"], lang)) for e in with_rejections}
    chosen = st.selectbox(i18n.t("dq.log.rejections", lang), list(labels), format_func=labels.get, key="dq_log_entry")
    entry = next(e for e in with_rejections if e["entry_id"] == chosen)
    frame = quality.read_rejections(quality.rejection_file(warehouse_dir, entry))
    tables.dataframe(_rejections_display(frame, lang), hide_index=True, width="stretch", key="dq_log_rejections")


def _show_disagreements(query, defs, region: str, plan_id: str | None, as_of: datetime | None, lang: str) -> None:
    st.caption(i18n.t("dq.disagree.explain", lang, tol=fmt.format_percent(defs.defaults.rollup_tolerance, 0)))
    frames = [query("status", region, as_of=as_of, plan_id=plan_id),
              query("children_status", region, as_of=as_of, plan_id=plan_id)]
    frames = [f for f in frames if f is not None and not f.is_empty()]
    found = quality.disagreements(pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame())
    if found.is_empty():
        st.success(i18n.t("dq.disagree.none", lang))
        return
    tables.dataframe(
        pl.DataFrame({
            i18n.t("col.region", lang): [_region_label(r) for r in found.iter_rows(named=True)],
            i18n.t("col.indicator", lang): [i18n.pick(r, "indicator", lang) for r in found.iter_rows(named=True)],
            i18n.t("col.period", lang): [fmt.format_period(p, lang) for p in found["period"]],
            i18n.t("dq.col.submitted", lang): [fmt.format_number(v) for v in found["submitted_value"]],
            i18n.t("dq.col.rollup", lang): [fmt.format_number(v) for v in found["rollup_value"]],
            i18n.t("dq.col.difference", lang): [fmt.format_percent(v, 1) for v in found["difference"]],
        }),
        hide_index=True, width="stretch", key="dq_disagree",
    )


def _show_outliers(defs, warehouse_dir: Path, region: str, as_of: datetime | None, lang: str) -> None:
    z = st.number_input(i18n.t("dq.outliers.z", lang), min_value=0.5, max_value=10.0, step=0.5,
                        value=float(defs.defaults.outlier_z), key="dq_outlier_z")
    st.caption(i18n.t("dq.outliers.explain", lang))
    codes = quality.scope_regions(_read(quality.load_regions, warehouse_dir), region, defs)
    values = quality.current_values(_read(quality.load_submissions, warehouse_dir, as_of)).filter(
        pl.col("region_code").is_in(codes["code"].implode())
    )
    found = quality.outliers(values, defs, z=z)
    if found.is_empty():
        st.success(i18n.t("dq.outliers.none", lang))
        return
    names = dict(zip(codes["code"], codes["name"]))
    inds = {ind.id: ind for ind in defs.indicators}
    tables.dataframe(
        pl.DataFrame({
            i18n.t("col.region", lang): [f"{names.get(c, c)}（{c}）" for c in found["region_code"]],
            i18n.t("col.indicator", lang): [inds[i].name.get(lang) if i in inds else i for i in found["indicator_id"]],
            i18n.t("col.period", lang): [f"{fmt.format_period(a, lang)} → {fmt.format_period(b, lang)}"
                                         for a, b in zip(found["previous_period"], found["period"])],
            i18n.t("dq.col.previous", lang): [fmt.format_number(v) for v in found["previous_value"]],
            i18n.t("col.value", lang): [fmt.format_number(v) for v in found["value"]],
            i18n.t("dq.col.z", lang): [f"{v:+.2f}" for v in found["z"]],
        }),
        hide_index=True, width="stretch", key="dq_outliers",
    )


def _show_unusable(defs, warehouse_dir: Path, region: str, as_of: datetime | None, lang: str) -> None:
    """Stored values the engine skips or cannot sum exactly (warehouse/value_sanity.py), under the region."""
    from warehouse import value_sanity

    found = _read(value_sanity.warehouse_suspects, warehouse_dir, as_of)
    if region.startswith("group:"):
        prefixes = list(defs.group(region.split(":", 1)[1]).members)
    else:
        prefixes = [region]
    found = value_sanity.under(found, prefixes)
    if found.is_empty():
        return
    st.warning(i18n.t("dq.unusable.head", lang, n=found.height))
    inds = {ind.id: ind for ind in defs.indicators}
    with st.expander(i18n.t("dq.unusable.details", lang)):
        st.dataframe(
            safe_frame(pl.DataFrame({  # file names are submitted text: the toolbar's CSV must carry no formula
                i18n.t("col.region", lang): found["region_code"].to_list(),
                i18n.t("col.indicator", lang): [inds[i].name.get(lang) if i in inds else i
                                                for i in found["indicator_id"]],
                i18n.t("col.period", lang): [fmt.format_period(p, lang) for p in found["period"]],
                i18n.t("dq.col.column", lang): found["column"].to_list(),
                i18n.t("col.value", lang): found["value"].to_list(),
                i18n.t("dq.col.problem", lang): [value_sanity.describe(p, lang) for p in found["problem"]],
                i18n.t("dq.col.file", lang): [f"{f}:{r}" for f, r in zip(found["source_file"], found["source_row"])],
            })),
            hide_index=True, width="stretch", key="dq_unusable",
        )


def _show_upload(defs, registry, warehouse_dir: Path, lang: str, who: access.Identity) -> None:
    st.caption(i18n.t("dq.upload.explain", lang))
    uploaded = st.file_uploader(i18n.t("dq.upload.label", lang), type=["csv", "xlsx", "parquet"], key="dq_upload")
    if uploaded is None:
        return
    # The file lives in a private temporary folder for this run only (the uploader keeps the bytes between
    # reruns); the folder and everything in it is removed when the run ends, stored or not.
    with tempfile.TemporaryDirectory(prefix="planwatch-upload-") as tmp:
        name = Path(uploaded.name).name.strip() or "upload.csv"
        path = Path(tmp) / name
        path.write_bytes(uploaded.getvalue())
        _check_and_store(defs, registry, warehouse_dir, lang, who, path)


def _check_and_store(defs, registry, warehouse_dir: Path, lang: str, who: access.Identity, path: Path) -> None:
    from warehouse.auth_ui import members_of
    from warehouse.storage import Warehouse, WarehouseError, ingest_file

    scope = None if who.scope.everything else list(who.scope.roots)
    if scope is not None:  # group scopes arrive expanded; the registry's canonical codes
        scope = [c for ref in scope for c in (members_of(defs)(ref) if ref.startswith("group:") else [ref])]
    who_kw = {"user": who.label, "role": who.role, "scope": scope}
    wh = Warehouse(warehouse_dir)
    try:
        with progress_ui.stages("progress.check", lang):  # spinner with the stage while a large file is read
            report = ingest_file(wh, path, defs, registry, dry_run=True,
                                 rejections_path=path.parent / "rejections.csv", **who_kw)
    except (WarehouseError, ValueError, OSError) as exc:
        st.error(md(i18n.t("dq.upload.error", lang, error=no_paths(exc))))
        return
    st.info(md(no_paths(report.summary(lang))))
    if report.rejection_file:
        frame = quality.read_rejections(report.rejection_file)
        tables.dataframe(_rejections_display(frame, lang), hide_index=True, width="stretch", key="dq_upload_rejections")
        st.download_button(i18n.t("dq.upload.download", lang), Path(report.rejection_file).read_bytes(),
                           file_name=f"{path.stem}.rejections.csv", mime="text/csv", key="dq_upload_download")
        # (ingest.write_rejections_csv neutralises formula cells: safe_cells)
    accept_valid = False
    if report.rows_rejected:
        accept_valid = st.checkbox(i18n.t("dq.upload.accept_valid", lang), key="dq_upload_accept_valid")
    storable = report.prepared is not None and int(getattr(report.prepared, "n_valid", 0) or 0) > 0 \
        and (report.rows_rejected == 0 or accept_valid)
    if not storable:
        st.warning(i18n.t("dq.upload.nothing", lang))
        return
    review = review_files_ui.needs_review(lang)  # the policy's files_need_review (issue 15); None: invalid
    if review is None:
        return
    if st.button(i18n.t("dq.upload.submit_review" if review else "dq.upload.confirm", lang), type="primary",
                 key="dq_upload_confirm"):
        try:
            with progress_ui.stages("progress.store", lang):
                if review:  # the rows wait for review (warehouse/review_files.py); a rejected file is logged
                    result = review_files_ui.submit(wh, path, defs, registry, accept_valid, who_kw)
                    if result is None:
                        return
                else:
                    result = ingest_file(wh, path, defs, registry, accept_valid_rows=accept_valid, **who_kw)
        except (WarehouseError, ValueError, OSError) as exc:  # ReviewError is a ValueError: nothing changed
            st.error(md(i18n.t("dq.upload.error", lang, error=no_paths(exc))))
            return
        if result.status == "submitted":
            st.success(md(no_paths(result.summary(lang))))
            return
        key = "dq.upload.stored" if result.status == "accepted" else "dq.upload.not_stored"
        (st.success if result.status == "accepted" else st.warning)(
            md(i18n.t(key, lang, summary=no_paths(result.summary(lang)))))


def render(*, query, defs, registry, warehouse_dir: str | Path, region: str, region_name: str,
           plan_id: str | None, as_of: datetime | None, lang: str, who: access.Identity = access.DEMO,
           sees_entry=None) -> None:
    """Draw the page for the selected region (itself and its children), plan and as-of time.
    `query(method, *args, **kwargs)` calls the engine (app_state.query: cached on the warehouse version).
    `who` decides the tabs: the ingest log (entries `sees_entry(user)` allows) and the upload (access.py)."""
    warehouse_dir = Path(warehouse_dir)
    st.title(i18n.t("dq.title", lang))
    st.caption(i18n.t("dq.subtitle", lang, region=md(region_name), when=fmt.format_as_of(as_of, lang)))

    detail = _rates_section(defs, warehouse_dir, region, plan_id, as_of, lang)
    totals = quality.reporting_rates(detail.with_columns(pl.lit("all").alias("_all")), by=["_all"])
    log = quality.ingest_log(warehouse_dir, as_of)  # not cached: a rejected file adds to the log without a new warehouse version
    shows_log = any(who.can(a) for a in ("log_own", "log_scope", "log_all"))
    if not who.can("log_all"):
        log = log.filter(pl.col("user").map_elements(sees_entry or (lambda _u: False), return_dtype=pl.Boolean))
    cols = st.columns(4)
    total = totals.row(0, named=True) if totals.height else None
    cols[0].metric(i18n.t("dq.metric.reporting", lang), _pct(total["reporting_rate"]) if total else "—")
    cols[1].metric(i18n.t("dq.metric.on_time", lang), _pct(total["on_time_rate"]) if total else "—")
    cols[2].metric(i18n.t("dq.metric.missing", lang), int(detail.height - detail["received"].sum()) if total else 0)
    cols[3].metric(i18n.t("dq.metric.rejected", lang), int(log["rows_rejected"].fill_null(0).sum()))

    with section(lang):
        _show_unusable(defs, warehouse_dir, region, as_of, lang)
    names = ["rates", "overdue"] + (["log"] if shows_log else []) + ["disagree", "outliers"] \
        + (["upload"] if who.can("upload") else []) + (["round"] if who.signed_in else [])
    tabs = dict(zip(names, st.tabs([i18n.t(f"dq.tab.{k}", lang) for k in names])))
    with tabs["rates"], section(lang):  # each tab is a page section: one failing shows its error, the others draw
        _show_rates(detail, lang)
    with tabs["overdue"], section(lang):
        _show_overdue(detail, defs, as_of, lang)
    if "log" in tabs:
        with tabs["log"], section(lang):
            _show_log(log, warehouse_dir, lang)
    with tabs["disagree"], section(lang):
        _show_disagreements(query, defs, region, plan_id, as_of, lang)
    with tabs["outliers"], section(lang):
        _show_outliers(defs, warehouse_dir, region, as_of, lang)
    if "upload" in tabs:
        with tabs["upload"], section(lang):
            _show_upload(defs, registry, warehouse_dir, lang, who)
    if "round" in tabs:  # browser reporting and review (issue 15): progress of a round, figures awaiting review
        with tabs["round"], section(lang):
            from warehouse.review_ui import progress_section

            progress_section(region, lang, who)

def _main() -> None:
    from warehouse import app_state

    state = app_state.current()
    defs = app_state.definitions()
    wh = app_state.warehouse_path()
    if not Warehouse(wh).exists():
        st.warning(i18n.t("wh.missing", state.lang, path=wh.name))
        st.stop()
    app_state.require_scope(state.region)  # the rates, overdue and outlier tables read the warehouse directly
    render(query=app_state.query, defs=defs, registry=_read(RegionRegistry.load, wh / "regions.parquet"),
           warehouse_dir=wh, region=state.region, region_name=app_state.region_name(state.region, state.lang, defs),
           plan_id=state.plan_id, as_of=state.as_of, lang=state.lang, who=app_state.identity(),
           sees_entry=app_state.log_entry_filter())


_main()
