"""A reporting round in a real server and Debian Chromium, signed in through the real OIDC provider (issue 15).

綦江区's office (submitter, 500110) fills the 填报 form with one impossible value and sees the error before it can
submit; submits; the city reviewer (reviewer, 5001) returns one row with a reason; the office sees the reason,
corrects and resubmits; the reviewer approves. The leader (viewer, 50) sees the figure on the region page only
after the approval, and an as-of view before the approval does not show it. Screenshots:
test-artifacts/e2e/reporting_*.png (docs/reporting.md uses copies of them).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from test_access_e2e import ARTIFACTS, ROOT, _free_port, _main_text, _stop, _wait_http

pytestmark = pytest.mark.e2e

USERS = {
    "office": {"sub": "qj-office", "email": "qijiang@cq.example.cn", "email_verified": True},
    "city": {"sub": "cq-city", "email": "review@cq.example.cn", "email_verified": True},
    "leader": {"sub": "cq-leader", "email": "leader@cq.example.cn", "email_verified": True},
}
POLICY = """version: 1
grants:
  - email: qijiang@cq.example.cn
    role: submitter
    scopes: ["500110"]
  - email: review@cq.example.cn
    role: reviewer
    scopes: ["5001"]
  - email: leader@cq.example.cn
    role: viewer
    scopes: ["50"]
"""
# The Chongqing plan runs to 2025, so its last assessed quarter is 2025-Q4: the office reports (corrects) that
# quarter; the sample's value of 城乡社区注册志愿者人数占居民比例 for 綦江区 then is 19.1 %.
PERIOD = "2025-Q4"
KEY = f"rep_500110_{PERIOD}"


@pytest.fixture(scope="module")
def round_server(e2e_sample, e2e_defs, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("round")
    wh = tmp / "warehouse"
    shutil.copytree(e2e_sample, wh)
    (tmp / "access.yaml").write_text(POLICY, encoding="utf-8")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    oidc_port, port = _free_port(), _free_port()
    plog = open(ARTIFACTS / "reporting_oidc.log", "w")
    args = [str(Path(sys.executable).with_name("oidc-provider-mock")), "--host", "127.0.0.1", "--port", str(oidc_port)]
    for claims in USERS.values():
        args += ["--user-claims", json.dumps(claims)]
    provider = subprocess.Popen(args, stdout=plog, stderr=subprocess.STDOUT)
    secrets = tmp / "secrets.toml"
    secrets.write_text(
        "[auth]\n"
        f'redirect_uri = "http://localhost:{port}/oauth2callback"\n'
        'cookie_secret = "test-only-cookie-secret-reporting"\n'
        'client_id = "planwatch-test"\nclient_secret = "test-only"\n'
        f'server_metadata_url = "http://127.0.0.1:{oidc_port}/.well-known/openid-configuration"\n', encoding="utf-8")
    env = dict(os.environ, PLANWATCH_WAREHOUSE=str(wh), PLANWATCH_DEFS=str(e2e_defs),
               PLANWATCH_ACCESS=str(tmp / "access.yaml"))
    env.pop("STREAMLIT_SERVER_ADDRESS", None)
    env.pop("PLANWATCH_DEMO_USER", None)
    log_path = ARTIFACTS / "reporting_server.log"
    log = open(log_path, "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "warehouse", "dashboard", "--server.headless", "true", "--server.port", str(port),
         "--server.fileWatcherType", "none", "--secrets.files", str(secrets)],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_http(f"http://127.0.0.1:{oidc_port}/.well-known/openid-configuration", provider, ARTIFACTS / "reporting_oidc.log")
        _wait_http(f"http://127.0.0.1:{port}/_stcore/health", proc, log_path, expect="ok")
        yield {"base": f"http://localhost:{port}", "port": port, "warehouse": wh}
    finally:
        _stop(proc)
        _stop(provider)
        log.close()
        plog.close()


def _settle(page, seconds: float = 180) -> None:
    """Like test_access_e2e._settle, with room for a loaded machine (load average ~20 on 2 cores seen)."""
    page.wait_for_selector('[data-testid="stMain"] h1', state="visible", timeout=seconds * 1000)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " || !document.querySelector('[data-testid=\"stStatusWidget\"]').innerText.match(/Running|Stop/)",
        timeout=seconds * 1000)
    page.wait_for_timeout(600)


def _sign_in(browser, server: dict, who: str, path: str):
    ctx = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="zh-CN")
    ctx.set_default_timeout(90_000)
    page = ctx.new_page()
    page.goto(f"{server['base']}/{path}")
    _settle(page)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"http://127\.0\.0\.1:\d+/"), timeout=90_000)
    page.locator(f'button[name="sub"][value="{USERS[who]["sub"]}"]').click()
    page.wait_for_url(re.compile(rf"http://localhost:{server['port']}/"), timeout=90_000)
    _settle(page)
    if f"/{path.split('?')[0]}" not in page.url:
        page.goto(f"{server['base']}/{path}")
        _settle(page)
    return ctx, page


def _type(page, key: str, text: str) -> None:
    box = page.locator(f".st-key-{key} input")
    box.fill(text)
    box.press("Enter")
    _settle(page)


def _expect(page, text: str, seconds: float = 120) -> str:
    """Wait until the main area shows `text` (a click's rerun may not have started when _settle returns)."""
    page.locator('[data-testid="stMain"]').get_by_text(text, exact=False).first.wait_for(timeout=seconds * 1000)
    _settle(page)
    return _main_text(page)


def _shot(page, name: str, near: str | None = None) -> None:
    """Screenshot of the viewport (Streamlit scrolls inside its own container), scrolled to `near` if given."""
    if near:
        page.locator('[data-testid="stMain"]').get_by_text(near, exact=False).first.scroll_into_view_if_needed()
        page.wait_for_timeout(300)
    page.screenshot(path=str(ARTIFACTS / f"reporting_{name}.png"))


def _leader_sees(browser, server: dict, month: str | None = None) -> str:
    """The leader's row of 城乡社区注册志愿者人数占居民比例 in 綦江区's indicator table (the data grid's
    accessible table: the canvas itself has no text)."""
    ctx, page = _sign_in(browser, server, "leader", "regions?plan=chongqing_2021&region=500110"
                         + (f"&month={month}" if month else ""))
    page.wait_for_selector('[data-testid="stDataFrame"] table', state="attached", timeout=180_000)
    page.wait_for_timeout(1500)
    rows = page.locator('[data-testid="stDataFrame"]').first.locator("tr")
    texts = [rows.nth(i).text_content() or "" for i in range(rows.count())]
    _shot(page, f"leader_{month or 'latest'}")
    ctx.close()
    mine = [t for t in texts if "城乡社区注册志愿者人数占居民比例" in t]
    assert len(mine) == 1, texts[:3]
    return mine[0]


def _pick(page, key: str, option: str) -> None:
    box = page.locator(f".st-key-{key} input")
    box.click()
    box.fill(option)
    page.get_by_role("option", name=option).first.click()
    _settle(page)


def test_a_reporting_round(round_server, browser):
    wh = round_server["warehouse"]
    before = _leader_sees(browser, round_server)
    assert "19.1%" in before and "2025年第4季度" in before

    # ---- the office: one impossible value -> the error before submitting ----
    ctx, office = _sign_in(browser, round_server, "office", "report")
    _pick(office, "rep_period", PERIOD)
    _expect(office, "上期（2025-Q3）")
    assert "数据填报" in _main_text(office) and "城乡社区注册志愿者人数占居民比例" in _main_text(office)
    assert "上期（2025-Q3）" in _main_text(office)
    _type(office, f"{KEY}_township_elderly_care_coverage_numerator", "25")
    _type(office, f"{KEY}_township_elderly_care_coverage_denominator", "20")
    text = _expect(office, "分子大于分母")
    assert "分子大于分母" in text and "修改后才能提交" in text
    assert office.get_by_role("button", name="提交审核").is_disabled()
    _shot(office, "office_error_zh", near="分子大于分母")
    _type(office, f"{KEY}_township_elderly_care_coverage_numerator", "18")
    _type(office, f"{KEY}_volunteer_share_numerator", "12345")
    _type(office, f"{KEY}_volunteer_share_denominator", "50000")
    _type(office, f"{KEY}_volunteer_share_note", "新增两个志愿服务站")
    assert "分子大于分母" not in _main_text(office)
    office.get_by_role("button", name="提交审核").click()
    assert "待审核" in _expect(office, "已提交，等待上级审核")
    _shot(office, "office_submitted_zh")
    sub = json.loads((wh / "review" / "submissions" / f"500110_{PERIOD}.json").read_text(encoding="utf-8"))
    assert {i: r["state"] for i, r in sub["rows"].items()} == {"township_elderly_care_coverage": "submitted",
                                                               "volunteer_share": "submitted"}
    assert "19.1%" in _leader_sees(browser, round_server)  # awaiting review: does not count

    # ---- the city reviewer returns one row with a reason ----
    rctx, city = _sign_in(browser, round_server, "city", "approve")
    text = _expect(city, "新增两个志愿服务站")
    assert "24.69" in text and "新增两个志愿服务站" in text and "qijiang" in text
    _shot(city, "reviewer_waiting_zh")
    city.locator(f".st-key-rv_rows_500110_{PERIOD} input").click()
    city.get_by_role("option", name="城乡社区注册志愿者人数占居民比例").click()
    city.keyboard.press("Escape")
    _type(city, f"rv_reason_500110_{PERIOD}", "志愿者人数与民政台账不符，请核实")
    city.get_by_role("button", name="退回修改").click()
    _expect(city, "已退回填报单位")

    # ---- the office sees the reason, corrects and resubmits ----
    office.reload()
    _settle(office)
    _pick(office, "rep_period", PERIOD)
    text = _expect(office, "已退回")
    assert "已退回：志愿者人数与民政台账不符，请核实" in text
    _shot(office, "office_returned_zh")
    _type(office, f"{KEY}_volunteer_share_numerator", "11111")
    _type(office, f"{KEY}_volunteer_share_note", "按民政台账更正")
    office.get_by_role("button", name="提交审核").click()
    assert "第 2 次提交" in _expect(office, "已提交，等待上级审核")
    ctx.close()

    # ---- the reviewer approves the whole submission ----
    city.reload()
    _settle(city)
    _expect(city, "22.22")
    city.get_by_role("button", name="审核通过").click()
    _expect(city, "已审核通过并入库")
    _shot(city, "reviewer_approved_zh")
    # the figure's history on the indicator page (English): who submitted, returned, approved, and why
    city.goto(f"{round_server['base']}/indicators?plan=chongqing_2021&region=500110&indicator=volunteer_share&lang=en")
    _settle(city)
    city.locator('[data-testid="stMain"]').get_by_text("Reporting and review history").first.wait_for(timeout=180_000)
    grid = city.locator('[data-testid="stDataFrame"]').last
    grid.locator("table").wait_for(state="attached", timeout=60_000)
    trail = grid.locator("table").text_content() or ""
    assert "returned" in trail and "志愿者人数与民政台账不符，请核实" in trail and "approved" in trail
    _shot(city, "history_en", near="Reporting and review history")
    rctx.close()
    sub = json.loads((wh / "review" / "submissions" / f"500110_{PERIOD}.json").read_text(encoding="utf-8"))
    assert [e["action"] for e in sub["events"]][-2:] == ["approving", "approve"]
    assert [e["user"] for e in sub["events"] if e["action"] in ("return", "approve")] == ["review@cq.example.cn"] * 2

    # ---- the leader: the figure now, not in an as-of view before the approval ----
    assert "22.2%" in _leader_sees(browser, round_server)
    assert "19.1%" in _leader_sees(browser, round_server, month="2026-10")
