"""End-to-end fixtures: a generated sample warehouse, a copy of the definitions, the real Streamlit server on a
free local port, and Debian Chromium driven by playwright. Screenshots go to test-artifacts/e2e/."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "e2e"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def e2e_sample(tmp_path_factory) -> Path:
    """A freshly generated sample warehouse (the same command a user runs)."""
    out = tmp_path_factory.mktemp("e2e") / "warehouse"
    done = subprocess.run([sys.executable, "-m", "warehouse", "sample", "--out", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return out


@pytest.fixture(scope="session")
def e2e_defs(tmp_path_factory) -> Path:
    """A copy of indicator_defs.yaml the bad-edit test may break and restore."""
    path = tmp_path_factory.mktemp("defs") / "indicator_defs.yaml"
    shutil.copyfile(ROOT / "indicator_defs.yaml", path)
    return path


@pytest.fixture(scope="session")
def server(e2e_sample: Path, e2e_defs: Path):
    """The real dashboard server; yields its base URL and is stopped by its PID afterwards."""
    port = _free_port()
    env = dict(os.environ, PLANWATCH_WAREHOUSE=str(e2e_sample), PLANWATCH_DEFS=str(e2e_defs))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = open(ARTIFACTS / "server.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "warehouse", "dashboard", "--server.headless", "true",
         "--server.address", "127.0.0.1", "--server.port", str(port), "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as resp:
                    if resp.read().decode().strip() == "ok":
                        break
            except OSError:
                pass
            assert proc.poll() is None, f"server exited: see {ARTIFACTS / 'server.log'}"
            assert time.monotonic() < deadline, "server did not become healthy in 60 s"
            time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture()
def page(browser):
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="zh-CN")
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    try:
        yield pg
    finally:
        context.close()
