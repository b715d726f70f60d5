"""Sign-in and region scopes in a real server and browser, against a real OIDC provider started here.

The provider is `oidc-provider-mock` (PyPI; offline) on a free localhost port with three predefined users. The
dashboard runs with a temporary secrets file holding `[auth]` (passed with --secrets.files, nothing committed)
and the shipped example policy (access.example.yaml). A viewer of 綦江区 (500110), a submitter for 綦江区 and an
admin sign in through the real login pages in Debian Chromium; the scope rules are checked in the browser.
A demo-mode server (no [auth]) is checked for the not-signed-in notice, no upload and the 127.0.0.1 binding.
Screenshots: test-artifacts/e2e/access_*.png.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "e2e"

pytestmark = pytest.mark.e2e

USERS = {
    # matched by `sub` (its email is in no grant): viewer of 500110
    "viewer": {"sub": "viewer-500110", "email": "someone@cq.example.cn", "email_verified": True},
    # matched by email: submitter for 500110
    "submitter": {"sub": "qj-1", "email": "qijiang@cq.example.cn", "email_verified": True},
    "admin": {"sub": "adm-1", "email": "admin@planwatch.example.cn", "email_verified": True},
    # viewer of 50 without units: a leader (opens and closes 督办)
    "leader": {"sub": "ld-1", "email": "leader@cq.example.cn", "email_verified": True},
    # viewer of 50 with units: [市民政局]: a department (reports task progress, answers 督办)
    "department": {"sub": "mzj-1", "email": "mzj@cq.example.cn", "email_verified": True},
    # in no grant at all
    "stranger": {"sub": "nobody", "email": "nobody@elsewhere.example", "email_verified": True},
}
VIEW = "plan=chongqing_2021&region=500110"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_http(url: str, proc: subprocess.Popen, log: Path, expect: str | None = None, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                body = resp.read().decode()
                if expect is None or expect in body:
                    return
        except OSError:
            pass
        assert proc.poll() is None, f"process exited: see {log}"
        assert time.monotonic() < deadline, f"{url} did not answer in {seconds} s"
        time.sleep(0.3)


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def provider():
    port = _free_port()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log_path = ARTIFACTS / "oidc_provider.log"
    log = open(log_path, "w")
    exe = Path(sys.executable).with_name("oidc-provider-mock")
    args = [str(exe), "--host", "127.0.0.1", "--port", str(port)]
    for claims in USERS.values():
        args += ["--user-claims", json.dumps(claims)]
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_http(f"{base}/.well-known/openid-configuration", proc, log_path, expect="authorization_endpoint")
        yield base
    finally:
        _stop(proc)
        log.close()


def _start_dashboard(env: dict, extra: list[str], log_name: str):
    port = _free_port()
    log_path = ARTIFACTS / log_name
    log = open(log_path, "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "warehouse", "dashboard", "--server.headless", "true", "--server.port", str(port),
         "--server.fileWatcherType", "none", *extra],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    return port, proc, log, log_path


@pytest.fixture(scope="module")
def signed_server(provider, e2e_sample, e2e_defs, tmp_path_factory):
    """The dashboard with [auth] pointing at the provider; its own copy of the warehouse (uploads change it)."""
    tmp = tmp_path_factory.mktemp("auth")
    wh = tmp / "warehouse"
    shutil.copytree(e2e_sample, wh)
    port = _free_port()
    secrets = tmp / "secrets.toml"
    secrets.write_text(
        "[auth]\n"
        f'redirect_uri = "http://localhost:{port}/oauth2callback"\n'
        'cookie_secret = "test-only-cookie-secret-not-used-anywhere-else"\n'
        'client_id = "planwatch-test"\n'
        'client_secret = "test-only"\n'
        f'server_metadata_url = "{provider}/.well-known/openid-configuration"\n',
        encoding="utf-8",
    )
    env = dict(os.environ, PLANWATCH_WAREHOUSE=str(wh), PLANWATCH_DEFS=str(e2e_defs),
               PLANWATCH_ACCESS=str(ROOT / "access.example.yaml"))
    env.pop("STREAMLIT_SERVER_ADDRESS", None)
    log_path = ARTIFACTS / "server_auth.log"
    log = open(log_path, "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "warehouse", "dashboard", "--server.headless", "true", "--server.port", str(port),
         "--server.fileWatcherType", "none", "--secrets.files", str(secrets)],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        _wait_http(f"http://127.0.0.1:{port}/_stcore/health", proc, log_path, expect="ok")
        yield {"base": f"http://localhost:{port}", "port": port, "warehouse": wh, "log": log_path}
    finally:
        _stop(proc)
        log.close()


@pytest.fixture(scope="module")
def demo_server(e2e_sample, e2e_defs):
    """The dashboard without [auth] and without an address: the demo ./dev.sh dashboard starts."""
    env = dict(os.environ, PLANWATCH_WAREHOUSE=str(e2e_sample), PLANWATCH_DEFS=str(e2e_defs))
    env.pop("STREAMLIT_SERVER_ADDRESS", None)
    env.pop("PLANWATCH_ACCESS", None)
    port, proc, log, log_path = _start_dashboard(env, [], "server_demo.log")
    try:
        _wait_http(f"http://127.0.0.1:{port}/_stcore/health", proc, log_path, expect="ok")
        yield {"base": f"http://127.0.0.1:{port}", "port": port, "log": log_path}
    finally:
        _stop(proc)
        log.close()


@pytest.fixture()
def context(browser):
    ctx = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="zh-CN")
    ctx.set_default_timeout(30_000)
    try:
        yield ctx
    finally:
        ctx.close()


def _settle(page) -> None:
    """Wait for the run to finish. Generous timeouts: the region page's first (uncached) run ranks 38 siblings on
    every indicator, which took over 60 s on this shared 2-core machine under load."""
    try:
        page.wait_for_selector('[data-testid="stMain"] h1', state="visible", timeout=180_000)
        page.wait_for_function(
            "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
            " || !document.querySelector('[data-testid=\"stStatusWidget\"]').innerText.match(/Running|Stop/)",
            timeout=180_000,
        )
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "access_failed_settle.png"), full_page=True)
        raise
    page.wait_for_timeout(600)


def _main_text(page) -> str:
    return page.locator('[data-testid="stMain"]').inner_text()


def _sidebar_text(page) -> str:
    return page.locator('[data-testid="stSidebar"]').inner_text().replace("\u200b", "")  # safe_text.md's U+200B


def _shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"access_{name}.png"), full_page=True)


def _sign_in(context, server: dict, who: str, expect: str | None = None):
    """Open the dashboard, press 登录, choose the user on the provider's page; returns the signed-in page."""
    page = context.new_page()
    page.goto(f"{server['base']}/?{VIEW}")
    _settle(page)
    assert "请登录" in _main_text(page)
    assert page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').count() == 0  # nothing before sign-in
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"http://127\.0\.0\.1:\d+/"), timeout=30_000)  # the provider's login page
    page.locator(f'button[name="sub"][value="{USERS[who]["sub"]}"]').click()
    page.wait_for_url(re.compile(rf"http://localhost:{server['port']}/"), timeout=30_000)
    if expect:
        page.wait_for_selector(f"text={expect}", timeout=60_000)
    else:
        _settle(page)
    return page


def test_login_page_and_no_data_before_sign_in(signed_server, context):
    page = context.new_page()
    page.goto(f"{signed_server['base']}/league-table?plan=chongqing_2021&region=50")
    _settle(page)
    text = _main_text(page)
    assert "请登录" in text and "排名" not in text
    assert page.locator('[data-testid="stDataFrame"], [data-testid="stPlotlyChart"]').count() == 0
    _shot(page, "login_zh")


def test_viewer_of_qijiang(signed_server, context):
    page = _sign_in(context, signed_server, "viewer")
    side = _sidebar_text(page)
    assert "someone@cq.example.cn" in side and "查看者" in side and "綦江区" in side
    _shot(page, "viewer_overview_zh")

    # a crafted link to a sibling: told so, shown its own region, no figure of 万州区 (500101)
    page.goto(f"{signed_server['base']}/regions?plan=chongqing_2021&region=500101")
    _settle(page)
    page.wait_for_selector('[data-testid="stPlotlyChart"] .main-svg', timeout=60_000)
    text = _main_text(page)
    assert "超出您的访问范围" in text and "500101" in text
    assert "万州" not in text and "万州" not in _sidebar_text(page)
    assert page.locator('[data-testid="stMain"] h1').first.inner_text().strip().endswith("綦江区")
    # its own place among Chongqing's 38 districts and counties, without the others' values
    metric = page.locator('[data-testid="stMetricValue"]').first.inner_text()
    assert re.search(r"/\s*38", metric), metric
    charts = page.locator('[data-testid="stPlotlyChart"]').all_inner_texts()
    assert not any("万州" in c or "渝中" in c for c in charts)
    _shot(page, "viewer_region_outside_zh")

    # the region picker offers its scope only
    page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').nth(1).click()
    options = page.locator('[role="option"]').all_inner_texts()
    page.keyboard.press("Escape")
    assert options and all("500110" in o or not re.search(r"\d{6}", o) for o in options), options[:5]

    # a link to the league table of Chongqing's districts: told so, and given its own region's table instead
    page.goto(f"{signed_server['base']}/league-table?plan=chongqing_2021&region=50")
    _settle(page)
    text = _main_text(page)
    assert "超出您的访问范围" in text and "万州" not in text
    # data quality: no ingest log and no upload for a viewer
    page.goto(f"{signed_server['base']}/quality?{VIEW}")
    _settle(page)
    tabs = page.get_by_role("tab").all_inner_texts()
    assert "入库日志" not in tabs and "上传报送文件" not in tabs, tabs
    # English
    page.goto(f"{signed_server['base']}/regions?plan=chongqing_2021&region=500101&lang=en")
    _settle(page)
    page.wait_for_selector('[data-testid="stPlotlyChart"] .main-svg', timeout=60_000)
    assert "outside your access" in _main_text(page)
    _shot(page, "viewer_region_outside_en")


def test_markdown_in_url_is_shown_literally(signed_server, context):
    page = _sign_in(context, signed_server, "viewer")
    outbound: list[str] = []
    page.on("request", lambda req: outbound.append(req.url))
    for payload in ("[请点击此处重新登录](http://evil.example/login)", "![x](http://127.0.0.1:9/x.png)"):
        page.goto(f"{signed_server['base']}/?plan=chongqing_2021&region={urllib.request.quote(payload)}")
        _settle(page)
        alert = page.locator('[data-testid="stAlert"]').filter(has_text="region=").first
        shown = alert.inner_text().replace("\u200b", "")  # safe_text.md breaks bare links with U+200B
        assert payload in shown, shown  # literal text, brackets and all
        assert page.locator('a[href*="evil.example"]').count() == 0
        assert page.locator('img[src*="127.0.0.1:9"]').count() == 0
    hosts = {urllib.parse.urlsplit(u).netloc for u in outbound}
    assert "evil.example" not in hosts and "127.0.0.1:9" not in hosts, hosts  # no outbound link or image fetch
    _shot(page, "markdown_literal_zh")


def test_submitter_uploads_for_its_scope_only(signed_server, context, tmp_path):
    page = _sign_in(context, signed_server, "submitter")
    assert "报送单位" in _sidebar_text(page)
    page.goto(f"{signed_server['base']}/quality?{VIEW}")
    _settle(page)
    page.get_by_role("tab", name="上传报送文件").click()
    upload = tmp_path / "qijiang_2025-10.csv"
    upload.write_text("region_code,indicator_id,period,value\n"
                      "500110,registered_volunteers,2025-10,12.5\n"
                      "500101,registered_volunteers,2025-10,3\n", encoding="utf-8")
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(upload))
    page.wait_for_selector("text=拒收 1 行", timeout=60_000)
    _settle(page)
    text = _main_text(page)
    assert tempfile.gettempdir() not in text and str(signed_server["warehouse"]) not in text  # no server path
    # the rejected row, with its row, column, value and reason, in the downloadable rejection report
    with page.expect_download() as download:
        page.get_by_role("button", name="下载拒收明细（CSV）").click()
    report = Path(download.value.path()).read_text(encoding="utf-8-sig").splitlines()
    assert report[1].startswith("3,region_code,500101,地区 500101 不在您的权限范围内"), report
    page.get_by_text("只接收正确的行（其余行拒收）", exact=True).click()  # the checkbox (the summary quotes it too)
    _settle(page)
    page.get_by_role("button", name="确认入库").click()
    page.wait_for_selector("text=已入库", timeout=60_000)
    _shot(page, "submitter_upload_zh")
    # stored: only the row inside the scope; logged with the signed-in identity and role
    log = [json.loads(p.read_text()) for p in (signed_server["warehouse"] / "log").glob("*.json")]
    mine = [e for e in log if e.get("file_name") == upload.name and e.get("status") == "accepted"]
    assert len(mine) == 1 and mine[0]["user"] == "qijiang@cq.example.cn" and mine[0]["role"] == "submitter"
    assert mine[0]["rows_accepted"] == 1 and mine[0]["rows_rejected"] == 1
    # the uploaded file is gone from the temporary folder
    left = [p for p in Path(tempfile.gettempdir()).glob("planwatch-upload*/**/*") if p.name == upload.name]
    assert not left, left
    # its own log entry is visible to it
    page.reload()
    _settle(page)
    page.get_by_role("tab", name="入库日志").click()
    page.wait_for_timeout(500)
    _shot(page, "submitter_log_zh")
    picker = page.locator('[data-testid="stSelectbox"]').filter(has_text="查看被拒收的行").first
    shown = picker.inner_text() + " ".join(picker.locator("input").evaluate_all("els => els.map(e => e.value)"))
    assert upload.name in shown, shown  # its own entry (with the rejected row) is listed
    assert "被拒收的行\n\n1" in _main_text(page)  # and only its own: the sample's log entries are not counted


def test_admin_sees_everything(signed_server, context):
    page = _sign_in(context, signed_server, "admin")
    assert "管理员" in _sidebar_text(page) and "全部地区" in _sidebar_text(page)
    page.goto(f"{signed_server['base']}/league-table?plan=chongqing_2021&region=50")
    _settle(page)
    page.wait_for_selector('[data-testid="stPlotlyChart"] .main-svg', timeout=60_000)
    assert "超出您的访问范围" not in _main_text(page)
    assert page.locator('[data-testid="stMetricValue"]').first.inner_text().strip() == "38"
    _shot(page, "admin_rankings_zh")
    page.goto(f"{signed_server['base']}/quality?plan=chongqing_2021&region=50&lang=en")
    _settle(page)
    tabs = page.get_by_role("tab").all_inner_texts()
    assert "Ingest log" in tabs and "Upload a submission" in tabs, tabs
    page.get_by_role("tab", name="Ingest log").click()
    page.wait_for_timeout(500)
    _shot(page, "admin_log_en")


def test_stranger_gets_no_data(signed_server, context):
    page = _sign_in(context, signed_server, "stranger", expect="没有访问权限")
    text = _main_text(page).replace("\u200b", "")
    assert "没有访问权限" in text and "nobody@elsewhere.example" in text
    assert page.locator('[data-testid="stDataFrame"], [data-testid="stPlotlyChart"]').count() == 0


def test_demo_mode(demo_server, context):
    # bound to loopback only: /proc/net/tcp lists the port on 127.0.0.1 (0100007F), not on 0.0.0.0
    port_hex = f"{demo_server['port']:04X}"
    listening = [line.split()[1] for name in ("/proc/net/tcp", "/proc/net/tcp6") if Path(name).exists()
                 for line in Path(name).read_text().splitlines()[1:]
                 if line.split()[1].endswith(":" + port_hex) and line.split()[3] == "0A"]
    assert listening and all(a.startswith("0100007F:") for a in listening), listening
    assert "demo mode" in demo_server["log"].read_text()
    page = context.new_page()
    page.goto(f"{demo_server['base']}/quality?plan=chongqing_2021&region=50")
    _settle(page)
    assert "未登录（演示模式）" in _sidebar_text(page)
    tabs = page.get_by_role("tab").all_inner_texts()
    assert "上传报送文件" not in tabs and "报送率" in tabs, tabs
    _shot(page, "demo_quality_zh")


def test_duban_cycle_leader_and_department(signed_server, context, tmp_path):
    """Signed in through the provider: the leader opens a 督办 item on a task with missing reports (ledger page);
    the department 市民政局 sees it under 我的任务, answers it and reports progress with an attachment; the
    events on disk carry each identity and role, the attachment is kept like submission originals."""
    events_dir = signed_server["warehouse"] / "tasks" / "events"
    page = _sign_in(context, signed_server, "leader")
    page.goto(f"{signed_server['base']}/ledger?plan=chongqing_2021&region=50")
    _settle(page)
    assert "我的任务" not in page.get_by_role("tab").all_inner_texts()
    page.get_by_label("督办要求").fill("请说明进展滞后原因并提出整改措施")
    page.get_by_role("button", name="发起督办").click()
    page.wait_for_selector("text=已发起督办 DB0001", timeout=60_000)
    opened = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(events_dir.glob("*.json"))]
    assert [(e["kind"], e["by"], e["role"]) for e in opened] == [("duban_open", "leader@cq.example.cn", "viewer")]
    assert opened[0]["department"] == "市民政局"  # the first task behind: cq_worker_skills 2025, unit 市民政局
    _shot(page, "tasks_leader_opened_zh")

    other = context.browser.new_context(viewport={"width": 1440, "height": 1000}, locale="zh-CN")
    try:
        page = _sign_in(other, signed_server, "department")
        page.goto(f"{signed_server['base']}/ledger?plan=chongqing_2021&region=50")
        _settle(page)
        assert page.get_by_role("tab").all_inner_texts()[:2] == ["我的任务", "任务台账"]
        assert "发起督办" not in _main_text(page)
        _shot(page, "tasks_department_mine_zh")
        waiting = page.locator('[data-testid="stMetric"]').filter(has_text="待答复督办")
        waiting.wait_for(timeout=60_000)
        assert re.search(r"待答复督办\s+1\b", waiting.inner_text())  # DB0001, the item to answer
        page.get_by_label("办理情况").fill("已督促綦江区完成剩余12个社区平台部署")
        page.get_by_role("button", name="提交答复").click()
        page.wait_for_selector("text=已答复督办 DB0001", timeout=60_000)
        attachment = tmp_path / "进展材料.pdf"
        attachment.write_bytes(b"%PDF-1.4 progress evidence")
        page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(attachment))
        page.wait_for_selector("text=进展材料.pdf", timeout=30_000)
        _settle(page)  # the upload reruns the page: type the account after it (and after the stale copy is gone)
        account = page.get_by_label("进展说明")
        for _ in range(60):
            if account.count() == 1:
                break
            page.wait_for_timeout(500)
        account.fill("渝快社区平台覆盖率92%")
        page.get_by_role("button", name="提交进展").click()
        try:
            page.wait_for_selector("text=已记录进展", timeout=60_000)
        except Exception:
            _shot(page, "tasks_department_failed")
            raise
        _shot(page, "tasks_department_zh")
        events = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(events_dir.glob("*.json"))]
        rep = events[-1]
        assert (rep["kind"], rep["unit"], rep["by"], rep["role"]) == ("report", "市民政局", "mzj@cq.example.cn", "viewer")
        assert rep["attachment"]["file_name"] == "进展材料.pdf"
        assert (signed_server["warehouse"] / rep["attachment"]["original"]).is_file()
        answer = events[-2]
        assert (answer["kind"], answer["item"], answer["by"]) == ("duban_answer", "DB0001", "mzj@cq.example.cn")
        page.set_viewport_size({"width": 390, "height": 900})  # a phone: the forms stack
        page.goto(f"{signed_server['base']}/ledger?plan=chongqing_2021&region=50&lang=en")
        _settle(page)
        assert page.get_by_role("tab").all_inner_texts()[:2] == ["My tasks", "Task ledger"]
        _shot(page, "tasks_department_phone_en")
        page.get_by_role("button", name="Submit progress").scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "access_tasks_department_phone_form_en.png"))
    finally:
        other.close()

    # an item whose deadline has passed (opened through the same API, dated back): the leader's overview lists it
    from warehouse.defs_loader import require_definitions
    from warehouse.duban import open_item
    from warehouse.periods import utc_now

    from datetime import timedelta

    defs = require_definitions(ROOT / "indicator_defs.yaml")
    past = utc_now() - timedelta(days=30)
    late = open_item(signed_server["warehouse"], defs, task_id="cq_waste_sorting", department="市城市管理局",
                     request="说明垃圾分类覆盖滞后原因", deadline=(past + timedelta(days=10)).date().isoformat(),
                     by="leader@cq.example.cn", role="viewer", now=past)
    page = context.pages[0]
    page.goto(f"{signed_server['base']}/ledger?plan=chongqing_2021&region=50")  # the leader closes the answered item
    _settle(page)
    page.get_by_label("办结意见").fill("整改到位，办结")
    page.get_by_role("button", name="办结", exact=True).click()
    page.wait_for_selector("text=已办结督办 DB0001", timeout=60_000)
    closed = json.loads(sorted(events_dir.glob("*.json"))[-1].read_text(encoding="utf-8"))
    assert (closed["kind"], closed["item"], closed["by"], closed["role"]) == (
        "duban_close", "DB0001", "leader@cq.example.cn", "viewer")
    page.goto(f"{signed_server['base']}/?plan=chongqing_2021&region=50&lang=en")
    _settle(page)
    page.wait_for_selector("text=Overdue 督办", timeout=60_000)
    assert "1 督办 item overdue without an answer" in _main_text(page)
    page.get_by_text("1 督办 item overdue").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "access_tasks_overview_overdue_en.png"))
    assert late["item"] == "DB0002"
    shutil.copytree(events_dir, ARTIFACTS / "tasks_events", dirs_exist_ok=True)  # the cycle's events, to look at
