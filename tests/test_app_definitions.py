"""AppTest of the definitions page: tables from a small real YAML file, filters, language from the URL."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent

YAML = """\
version: 1
indicators:
  - id: area_per_100
    name: {zh: 每百户居民拥有社区综合服务设施面积, en: Service facility area per 100 households}
    unit: {zh: 平方米, en: m²}
    category: {zh: 服务设施, en: Facilities}
    aggregation: {rule: ratio, scale: 100}
    lead_department: {zh: 市民政局, en: Civil Affairs Bureau}
    responsible_departments: [{zh: 市住房城乡建设委}, {zh: 市规划自然资源局}]
  - id: social_workers
    name: {zh: 社会工作专业人才总量, en: Professional social workers}
    unit: {zh: 万人, en: 10k people}
    category: {zh: 服务队伍, en: Workforce}
    aggregation: {rule: sum}
plans:
  - id: cq
    name: {zh: 重庆市城乡社区服务体系建设规划, en: Chongqing plan}
    issuer: {zh: 重庆市人民政府办公厅}
    doc_number: 渝府办发〔2021〕1号
    period: {start: 2021, baseline: 2020, target: 2025}
    region: "50"
    targets:
      - indicator: area_per_100
        attribute: binding
        baseline: {value: 28, year: 2020}
        target: {comparator: ">=", value: 30, year: 2025, as_written: "≥30"}
        source: {table: 专栏1, row: 4}
      - indicator: social_workers
        kind: text
        attribute: expected
        baseline: {value: null, year: 2020, as_written: "—"}
        target: {comparator: ">=", value: 17, year: 2025}
        source: {quote: 社会工作专业人才总量达到17万人}
  - id: sc
    name: {zh: 四川省城乡社区服务体系建设规划, en: Sichuan plan}
    issuer: {zh: 四川省民政厅}
    period: {start: 2021, baseline: 2020, target: 2025}
    region: "51"
    targets:
      - indicator: area_per_100
        attribute: expected
        target: {comparator: ">=", value: 35, year: 2025}
        source: {table: 专栏1, row: 7}
"""


@pytest.fixture()
def app(tmp_path, monkeypatch):
    defs = tmp_path / "defs.yaml"
    defs.write_text(YAML, encoding="utf-8")
    monkeypatch.setenv("PLANWATCH_DEFS", str(defs))
    monkeypatch.setenv("PLANWATCH_WAREHOUSE", str(tmp_path / "no-warehouse"))
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=30)
    return at


def _open(at: AppTest, **params: str) -> AppTest:
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    at.switch_page("pages/definitions.py").run()
    assert not at.exception, at.exception
    return at


def _tables(at: AppTest) -> list:
    """The page's tables, each once: a table with an indicator column is rendered twice (a wide copy and a phone
    copy, warehouse/tables.py; CSS shows one), the wide copy first."""
    out = []
    for d in at.dataframe:
        if out and list(out[-1].value.columns) == list(d.value.columns) and out[-1].value.equals(d.value):
            continue  # the phone copy of the table just kept
        out.append(d)
    return out


def test_tables_in_chinese_with_sources(app):
    at = _open(app)
    assert at.title[0].value == "指标定义"
    targets = at.dataframe[0].value
    assert list(targets.columns[:4]) == ["规划代码", "规划", "指标代码", "指标"]
    # shown with what a reader compares first on the left, the plan name and codes at the right end
    shown = list(at.dataframe[0].proto.column_order)
    assert shown[:6] == ["指标", "单位", "属性", "基期值", "比较", "目标值"] and shown[-3:] == ["规划", "规划代码", "指标代码"]
    assert targets["规划代码"].tolist() == ["cq", "cq"]  # the sidebar's plan is pre-selected
    cq_area = targets[(targets["规划代码"] == "cq") & (targets["指标代码"] == "area_per_100")].iloc[0]
    assert cq_area["比较"] == ">=" and cq_area["目标值"] == "30" and cq_area["目标年"] == 2025
    assert cq_area["来源表"] == "专栏1" and cq_area["来源行"] == "4"  # a column with blanks is shown as text ("—" where empty)
    assert cq_area["属性"] == "约束性"
    assert cq_area["牵头单位"] == "市民政局"
    assert cq_area["责任单位"] == "市住房城乡建设委、市规划自然资源局"
    text_row = targets[targets["指标代码"] == "social_workers"].iloc[0]
    assert text_row["原文"] == "社会工作专业人才总量达到17万人"
    assert text_row["出处类型"] == "正文"
    assert text_row["基期值"] == "— (未知, 2020)"
    at.selectbox(key="definitions_plan").set_value("").run()
    assert at.dataframe[0].value["规划代码"].tolist() == ["cq", "cq", "sc"]
    indicators = _tables(at)[1].value
    assert indicators[indicators["指标代码"] == "area_per_100"].iloc[0]["所属规划"] == "cq, sc"
    plans = _tables(at)[2].value
    assert plans["文号"].tolist() == ["渝府办发〔2021〕1号", "—"]  # no document number: "—", never blank


def test_filters_by_plan_attribute_and_category(app):
    at = _open(app)
    at.selectbox(key="definitions_plan").set_value("sc").run()
    assert at.dataframe[0].value["规划代码"].tolist() == ["sc"]
    assert at.dataframe[0].value["属性"].tolist() == ["预期性"]
    at.selectbox(key="definitions_plan").set_value("").run()
    at.selectbox(key="definitions_attribute").set_value("binding").run()
    assert at.dataframe[0].value["指标代码"].tolist() == ["area_per_100"]
    at.selectbox(key="definitions_attribute").set_value("").run()
    at.selectbox(key="definitions_category").set_value("服务队伍").run()
    assert at.dataframe[0].value["指标代码"].tolist() == ["social_workers"]
    assert _tables(at)[1].value["指标代码"].tolist() == ["social_workers"]


def test_english_from_the_url(app):
    at = _open(app, lang="en")
    assert at.title[0].value == "Indicator definitions"
    targets = at.dataframe[0].value
    assert "Comparator" in targets.columns
    assert targets.iloc[0]["Indicator"] == "Service facility area per 100 households"
    assert targets.iloc[0]["Attribute"] == "Binding"
