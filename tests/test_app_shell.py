"""AppTests of the dashboard shell: URL state, the region picker, bad links, the definitions banner."""

from __future__ import annotations

import re

from app_helpers import SMALL_YAML, app_without_data, open_page, texts


def test_view_comes_from_the_url_and_stays_in_it(tmp_path, monkeypatch):
    at, _ = app_without_data(tmp_path, monkeypatch)
    open_page(at, region="5001", month="2025-06", lang="en", indicator="social_workers")
    assert at.radio(key="pw_w_lang").value == "en"
    # translated select boxes have one widget per language (see app_state.widget_key)
    assert at.selectbox(key="pw_w_plan.en").value == "cq"
    assert at.selectbox(key="pw_w_region.en").value == "5001"
    assert at.selectbox(key="pw_w_month.en").value == "2025-06"
    assert at.selectbox(key="pw_w_plan.en").options[0] == "Chongqing community service plan"
    assert "Data as of 2025-06-30 24:00 CST" in texts(at)
    params = {k: at.query_params[k] for k in at.query_params}
    assert params == {"plan": "cq", "region": "5001", "month": "2025-06", "lang": "en", "indicator": "social_workers"}
    # changing the sidebar updates the link
    at.selectbox(key="pw_w_region.en").set_value("500110").run()
    assert at.query_params["region"] == "500110"
    at.radio(key="pw_w_lang").set_value("zh").run()
    assert at.query_params["lang"] == "zh"
    # the language switch keeps the view and shows the Chinese labels
    assert at.selectbox(key="pw_w_region").value == "500110"
    assert at.selectbox(key="pw_w_plan").options[0] == "重庆市城乡社区服务体系建设规划"
    assert "数据截至 2025年6月30日 24:00（北京时间）" in texts(at)
    # the state survives a page switch
    at.switch_page("pages/region.py").run()
    assert at.query_params["region"] == "500110" and at.query_params["indicator"] == "social_workers"


def test_region_picker_is_the_plan_tree_with_groups(tmp_path, monkeypatch):
    at, _ = app_without_data(tmp_path, monkeypatch)
    open_page(at)
    box = at.selectbox(key="pw_w_region")
    assert box.value == "50"  # the plan's own region by default
    options = box.options
    assert options[0] == "重庆市（500000）"
    assert options[1] == "　◆ 万盛经开区"  # named group under its parent
    assert "　　綦江区（500110）" in options
    assert "　　　万盛街道（500110004）" in options  # down to townships
    assert options.index("　　綦江区（500110）") < options.index("　　　万盛街道（500110004）")
    assert not any("四川" in o for o in options)  # only the plan's region


def test_bad_link_parameters_are_reported_and_replaced(tmp_path, monkeypatch):
    at, _ = app_without_data(tmp_path, monkeypatch)
    open_page(at, region="999999", month="2025-13", plan="nope", indicator="typo")
    # the notes quote the URL and are shown literally (Markdown-escaped source): compare the text shown
    warnings = [re.sub(r"\\(.)", r"\1", w.value) for w in at.warning]
    assert any("plan='nope'" in w and "没有这个规划" in w for w in warnings)
    assert any("region='999999'" in w and "不在该规划的地区范围内" in w for w in warnings)
    assert any("month='2025-13'" in w for w in warnings)
    assert any("indicator='typo'" in w for w in warnings)
    assert at.selectbox(key="pw_w_region").value == "50"
    assert at.selectbox(key="pw_w_month").value == ""
    # a zero-padded 6-digit code is understood
    at2, _ = app_without_data(tmp_path / "b", monkeypatch) if (tmp_path / "b").mkdir() is None else (None, None)
    open_page(at2, region="500100")
    assert at2.selectbox(key="pw_w_region").value == "5001"


def test_missing_warehouse_is_explained(tmp_path, monkeypatch):
    at, _ = app_without_data(tmp_path, monkeypatch)
    open_page(at)
    assert any("找不到数据仓库" in w.value and "planwatch sample" in w.value for w in at.warning)


def test_broken_definitions_edit_shows_banner_and_keeps_last_valid(tmp_path, monkeypatch):
    at, defs = app_without_data(tmp_path, monkeypatch)
    open_page(at, lang="en")
    assert not at.error
    plan_label = at.selectbox(key="pw_w_plan.en").options[0]
    # an analyst mistypes a key and a comparator
    defs.write_text(SMALL_YAML.replace("aggregation: {rule: sum}", "agregation: {rule: sum}"), encoding="utf-8")
    at.run()
    assert not at.exception
    banner = "\n".join(e.value for e in at.error)
    assert "indicator_defs.yaml" in banner and "keep using the last valid definitions" in banner
    assert "`indicator_defs.yaml:16`" in banner  # file:line of the typo
    assert "→ `aggregation`?" in banner  # the suggestion
    assert "agregation" in banner
    assert at.selectbox(key="pw_w_plan.en").options[0] == plan_label  # still working
    # fixing the file removes the banner
    defs.write_text(SMALL_YAML, encoding="utf-8")
    at.run()
    assert not at.error
