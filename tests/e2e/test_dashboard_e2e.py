"""The dashboard in a real server and browser: every page, language and region switched through the UI, and a
bad edit of the definitions file while the server runs. Screenshots: test-artifacts/e2e/*.png."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"

pytestmark = pytest.mark.e2e

# url path -> (Chinese title, English title) of the page's main heading
PAGES = {  # url paths set in dashboard.py
    "": ("领导驾驶舱", "Leaders' overview"),  # the default page lives at the root URL
    "indicators": ("指标详情", "Indicator detail"),
    "regions": ("地区详情", "Region detail"),
    "league-table": ("排名", "Rankings"),
    "quality": ("数据质量", "Data quality"),
    "catalogue": ("指标定义", "Indicator definitions"),
}
VIEW = "plan=chongqing_2021&region=50&month=2025-06"


def _settle(page) -> None:
    """Wait until Streamlit has finished the run (no 'running' status, main heading present)."""
    page.wait_for_selector('[data-testid="stMain"] h1', state="visible", timeout=60_000)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " || !document.querySelector('[data-testid=\"stStatusWidget\"]').innerText.match(/Running|Stop/)",
        timeout=60_000,
    )
    page.wait_for_timeout(400)
    # A forwarded deep link must open its page directly: no "Page not found" dialog (see warehouse/serve.py).
    assert page.locator('[role="dialog"]').count() == 0, page.locator('[role="dialog"]').first.inner_text()


def _wait_for_tables(page, n: int) -> None:
    """Wait until at least n data tables are on the page (they arrive after the heading)."""
    page.wait_for_function(f"() => document.querySelectorAll('[data-testid=\"stDataFrame\"]').length >= {n}",
                           timeout=30_000)


def _shot(page, name: str) -> Path:
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True, timeout=90_000)
    return path


def _heading(page) -> str:
    return page.locator('[data-testid="stMain"] h1').first.inner_text().strip()


def _no_exception(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0, page.locator(
        '[data-testid="stException"]').first.inner_text()


def test_first_request_is_a_deep_link(server, page):
    """Runs first in this module: the server's very first session opens a forwarded link to a sub-page."""
    page.goto(f"{server}/league-table?{VIEW}")
    _settle(page)
    assert _heading(page).startswith(PAGES["league-table"][0])
    assert "plan=chongqing_2021" in page.url and "region=50" in page.url


def test_every_page_in_chinese(server, page):
    for path, (zh, _en) in PAGES.items():
        page.goto(f"{server}/{path}?{VIEW}")
        _settle(page)
        if path in ("", "indicators", "regions", "league-table"):
            page.wait_for_selector('[data-testid="stPlotlyChart"] .main-svg', timeout=30_000)
        assert _heading(page).startswith(zh), path
        _no_exception(page)
        _shot(page, f"{path or 'overview'}_zh")
    # the data-quality page shows its rates table; definitions its tables
    page.goto(f"{server}/quality?{VIEW}")
    _settle(page)
    assert page.get_by_text("报送率").first.is_visible()
    page.goto(f"{server}/catalogue?{VIEW}")
    _settle(page)
    _wait_for_tables(page, 3)


def test_switch_language_through_the_sidebar(server, page):
    page.goto(f"{server}/league-table?{VIEW}")
    _settle(page)
    page.locator('[data-testid="stSidebar"]').get_by_text("English", exact=True).click()
    page.wait_for_function("() => document.querySelector('[data-testid=\"stMain\"] h1')"
                           " && document.querySelector('[data-testid=\"stMain\"] h1').innerText.includes('Rankings')")
    _settle(page)
    assert "lang=en" in page.url
    _no_exception(page)
    # the select boxes show their options in English too (plan name, month), not the Chinese labels
    # (a select box shows its choice as the value of an <input>)
    boxes = page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"] input')
    page.wait_for_function("() => [...document.querySelectorAll('[data-testid=\"stSidebar\"] input')]"
                           ".some(i => i.value.startsWith('Chongqing'))")
    shown = [boxes.nth(i).input_value() for i in range(boxes.count())]
    assert shown[0].startswith("Chongqing") and shown[-1] == "Jun 2025", shown
    _shot(page, "rankings_en")
    for path, (_zh, en) in PAGES.items():
        page.goto(f"{server}/{path}?{VIEW}&lang=en")
        _settle(page)
        assert _heading(page).startswith(en), path
        _no_exception(page)
    _shot(page, "definitions_en")


def test_switch_region_through_the_sidebar(server, page):
    page.goto(f"{server}/league-table?{VIEW}")
    _settle(page)
    before = page.url
    region_box = page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').nth(1)
    region_box.click()
    page.keyboard.type("万州区")  # the picker is searchable
    page.locator('[role="option"]').filter(has_text="万州区").first.click()
    page.wait_for_url(re.compile(r"region=500101"), timeout=30_000)
    _settle(page)
    assert page.url != before
    _no_exception(page)
    main = page.locator('[data-testid="stMain"]').inner_text()
    assert "万州区 下级地区排名" in main  # the page now ranks Wanzhou's townships (or says why it cannot)
    _shot(page, "rankings_region_switched")


def test_bad_yaml_edit_shows_banner_and_pages_work(server, page, e2e_defs):
    good = e2e_defs.read_text(encoding="utf-8")
    try:
        page.goto(f"{server}/catalogue?{VIEW}")
        _settle(page)
        _wait_for_tables(page, 3)  # tables render after the heading
        rows_before = page.locator('[data-testid="stDataFrame"]').count()
        # break it: a misspelt key in the first indicator and a tab in the indentation
        e2e_defs.write_text(good.replace("indicators:", "indicators:\n\t- broken", 1), encoding="utf-8")
        for path in ("catalogue", "", "quality"):
            page.goto(f"{server}/{path}?{VIEW}")
            _settle(page)
            alert = page.locator('[data-testid="stAlert"]').filter(has_text="indicator_defs.yaml")
            alert.first.wait_for()
            assert re.search(r"indicator_defs\.yaml:\d+", alert.first.inner_text()), alert.first.inner_text()
            assert _heading(page).startswith(PAGES[path][0])
            _no_exception(page)
            _shot(page, f"bad_yaml_{path or 'overview'}")
        page.goto(f"{server}/catalogue?{VIEW}")
        _settle(page)
        _wait_for_tables(page, rows_before)
        assert page.locator('[data-testid="stDataFrame"]').count() == rows_before
    finally:
        e2e_defs.write_text(good, encoding="utf-8")
