"""Shared set-up for the AppTests of the shell and the overview / indicator / region pages."""

from __future__ import annotations

import shutil
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent

# A small but real definitions file: one Chongqing plan with a binding and an expected target, and the
# Wansheng group under Chongqing.
SMALL_YAML = """\
version: 1
region_groups:
  - id: wansheng
    name: {zh: 万盛经开区, en: Wansheng Economic Development Zone}
    parent: "50"
    members: ["500110004", "500110005"]
indicators:
  - id: facility_coverage
    name: {zh: 城市社区综合服务设施覆盖率, en: Urban community service facility coverage}
    unit: {zh: "%", en: "%"}
    aggregation: {rule: ratio, scale: 100}
    lead_department: {zh: 市民政局, en: Civil Affairs Bureau}
  - id: social_workers
    name: {zh: 社会工作专业人才总量, en: Professional social workers}
    unit: {zh: 人, en: people}
    aggregation: {rule: sum}
plans:
  - id: cq
    name: {zh: 重庆市城乡社区服务体系建设规划, en: Chongqing community service plan}
    issuer: {zh: 重庆市人民政府办公厅}
    period: {start: 2021, baseline: 2020, target: 2025}
    region: "50"
    targets:
      - indicator: facility_coverage
        attribute: binding
        baseline: {value: 90, year: 2020}
        target: {comparator: ">=", value: 100, year: 2025, as_written: "100%"}
        source: {table: 专栏1, row: 1}
      - indicator: social_workers
        attribute: expected
        target: {comparator: ">=", value: 20000, year: 2025}
        source: {table: 专栏1, row: 2}
"""


def app_without_data(tmp_path: Path, monkeypatch, yaml_text: str = SMALL_YAML) -> tuple[AppTest, Path]:
    """The dashboard over a folder holding only the sample region registry (no manifest: no data)."""
    defs = tmp_path / "indicator_defs.yaml"
    defs.write_text(yaml_text, encoding="utf-8")
    wh = tmp_path / "wh"
    wh.mkdir()
    shutil.copy(ROOT / "sample_data" / "regions.parquet", wh / "regions.parquet")
    monkeypatch.setenv("PLANWATCH_DEFS", str(defs))
    monkeypatch.setenv("PLANWATCH_WAREHOUSE", str(wh))
    return AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60), defs


def open_page(at: AppTest, page: str | None = None, **params: str) -> AppTest:
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def texts(at: AppTest) -> str:
    """Every markdown, caption, title, info, warning, error and success text of the run, joined."""
    parts = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning", "error", "success"):
        parts += [str(el.value) for el in getattr(at, kind)]
    return "\n".join(parts)


AUTH = {"redirect_uri": "http://localhost:1/oauth2callback", "cookie_secret": "t", "client_id": "t",
        "client_secret": "t", "server_metadata_url": "http://localhost:1/.well-known/openid-configuration"}


def signed_in_app(monkeypatch, warehouse: Path, user: dict | None, page: str | None = None,
                  policy: Path | None = None, **params: str) -> AppTest:
    """The dashboard in signed-in mode: `user` (OIDC claims; None = not signed in) under `policy` (default:
    access.example.yaml), the shipped definitions, `warehouse`; then `page` if given. No exception allowed."""
    monkeypatch.setenv("PLANWATCH_WAREHOUSE", str(warehouse))
    monkeypatch.setenv("PLANWATCH_DEFS", str(ROOT / "indicator_defs.yaml"))
    monkeypatch.setenv("PLANWATCH_ACCESS", str(policy or ROOT / "access.example.yaml"))
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
    at.secrets["auth"] = AUTH
    at.user = {"is_logged_in": user is not None, **(user or {})}
    return open_page(at, page, **params)
