"""The read-only 任务台账 page in a real server and browser: a deep link, Wansheng's task list with its lost row,
Chinese and English, and a phone-width view. Screenshots: test-artifacts/e2e/tasks_*.png."""

from __future__ import annotations

from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"

pytestmark = pytest.mark.e2e


def _settle(page) -> None:
    page.wait_for_selector('[data-testid="stMain"] h1', state="visible", timeout=60_000)
    page.wait_for_function("() => document.querySelectorAll('[data-testid=\"stDataFrame\"]').length >= 2",
                           timeout=60_000)
    page.wait_for_timeout(600)
    assert page.locator('[role="dialog"]').count() == 0
    assert page.locator('[data-testid="stException"]').count() == 0, page.locator(
        '[data-testid="stException"]').first.inner_text()


def _main_text(page) -> str:
    return page.locator('[data-testid="stMain"]').inner_text()


@pytest.mark.parametrize("lang, heading, nav, empty", [
    ("zh", "任务台账", "任务台账", "暂无督办事项。"),
    ("en", "Task ledger", "Task ledger", "No 督办 items."),
])
def test_ledger_page_deep_link(server, page, lang, heading, nav, empty):
    page.goto(f"{server}/ledger?plan=wansheng_2016&lang={lang}")
    _settle(page)
    assert page.locator('[data-testid="stMain"] h1').first.inner_text().strip() == heading
    assert page.locator('[data-testid="stSidebarNav"]').inner_text().count(nav) == 1
    text = _main_text(page)
    assert empty in text  # the sample warehouse has no 督办 items
    assert page.locator('[data-testid="stMetric"]').count() == 4
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"tasks_wansheng_{lang}.png"), full_page=True)


def test_ledger_page_at_phone_width(server, browser):
    context = browser.new_context(viewport={"width": 390, "height": 900}, locale="zh-CN")
    page = context.new_page()
    try:
        page.goto(f"{server}/ledger?plan=chongqing_2021&region=500110")
        _settle(page)
        box = page.locator('[data-testid="stDataFrame"]').first.bounding_box()
        assert box is not None and box["width"] <= 390  # the table scrolls inside the page, not the page sideways
        page.screenshot(path=str(ARTIFACTS / "tasks_phone.png"), full_page=True)
    finally:
        context.close()
