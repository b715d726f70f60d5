"""The first five minutes (issue 13): every page of the default view (no link parameters) in a real server and
Debian Chromium, in Chinese and English, on a desktop and at phone size (390 px). No cell or text reads `None` or
`nan`; every province has a reporting rate above zero and a non-empty heatmap row; the phone gets compact status
counts and a list instead of the heatmap. Screenshots: test-artifacts/e2e/default_*.png."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"
PAGES = ["", "indicators", "regions", "league-table", "quality", "catalogue", "ledger"]  # url paths (dashboard.py)
BLANK = re.compile(r"(?<![A-Za-z])(None|nan|NaN|null)(?![A-Za-z])")
N_PROVINCES = 31

pytestmark = pytest.mark.e2e


def _settle(page) -> None:
    page.wait_for_selector('[data-testid="stMain"] h1', state="visible", timeout=90_000)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " || !document.querySelector('[data-testid=\"stStatusWidget\"]').innerText.match(/Running|Stop/)",
        timeout=120_000,
    )
    page.wait_for_timeout(1500)
    assert page.locator('[data-testid="stException"]').count() == 0, page.locator(
        '[data-testid="stException"]').first.inner_text()


def _visible_text(page) -> str:
    """The main area's text plus every data table's cells (the grid is drawn on a canvas; its accessible
    table holds the cell texts)."""
    text = page.locator('[data-testid="stMain"]').inner_text()
    cells = page.evaluate(
        "() => Array.from(document.querySelectorAll('[data-testid=\"stDataFrame\"] td, "
        "[data-testid=\"stDataFrame\"] th')).map(c => c.innerText).join('\\n')")
    return text + "\n" + cells


def _table_rows(page, index: int) -> list[list[str]]:
    """Every row of the index-th data table. The grid only renders the rows in view, so its scroller is moved
    down step by step and the rows seen are collected (by their aria row index)."""
    page.wait_for_function(
        "(i) => { const t = document.querySelectorAll('[data-testid=\"stDataFrame\"] table')[i];"
        " return t && t.querySelectorAll('tr').length > 2; }", arg=index, timeout=60_000)
    seen: dict[int, list[str]] = {}
    for _ in range(100):
        rows, more = page.evaluate(
            """(i) => { const g = document.querySelectorAll('[data-testid="stDataFrame"]')[i];
                 const rows = Array.from(g.querySelectorAll('table tr')).map(r =>
                   [Number(r.getAttribute('aria-rowindex') || 0), Array.from(r.children).map(c => c.innerText)]);
                 const sc = g.querySelector('.dvn-scroller');
                 let more = false;
                 if (sc && sc.scrollTop + sc.clientHeight < sc.scrollHeight - 1) { sc.scrollTop += sc.clientHeight / 3; more = true; }
                 return [rows, more]; }""", index)
        for number, cells in rows:
            seen.setdefault(number, cells)
        if not more:
            break
        page.wait_for_timeout(600)
    return [seen[k] for k in sorted(seen)]


@pytest.fixture()
def phone(browser):
    context = browser.new_context(viewport={"width": 390, "height": 3000}, locale="zh-CN", device_scale_factor=2,
                                  is_mobile=True, has_touch=True)
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    try:
        yield pg
    finally:
        context.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_page_of_the_default_view_has_no_blank_text(server, page, lang):
    page.set_viewport_size({"width": 1440, "height": 3000})
    for path in PAGES:
        page.goto(f"{server}/{path}?lang={lang}" if lang == "en" else f"{server}/{path}")
        _settle(page)
        page.screenshot(path=str(ARTIFACTS / f"default_{path or 'overview'}_{lang}_desktop.png"), full_page=True, timeout=90_000)
        found = BLANK.findall(_visible_text(page))
        assert not found, f"/{path} ({lang}) shows {found[:5]}"
        # the default view is the national plan over the whole country
        assert "plan=national_2021" in page.url and "region=CN" in page.url, page.url


def test_every_province_reports_and_has_a_heatmap_row(server, page):
    page.set_viewport_size({"width": 1440, "height": 3000})
    page.goto(f"{server}/quality")
    _settle(page)
    rows = _table_rows(page, 0)  # reporting rate by region: region, expected, received, on time, rate, on-time rate
    provinces = [r for r in rows[1:] if r and re.search(r"（\d{2}）$", r[0])]
    assert len(provinces) == N_PROVINCES, rows[:3]
    for row in provinces:
        rate = float(row[4].rstrip("%"))
        assert 0 < rate <= 100, row
    assert any(float(r[4].rstrip("%")) < 100 for r in provinces)  # realistic gaps: someone is missing a report

    page.goto(server)
    _settle(page)
    find = ("() => Array.from(document.querySelectorAll('.js-plotly-plot')).flatMap(d => (d.data || [])"
            ".filter(t => t.type === 'heatmap').map(t => ({y: t.y, z: t.z})))")
    # plotly draws after the script run ends: wait for the chart itself (under load it came after _settle)
    page.wait_for_function(f"() => ({find})().length > 0", timeout=90_000)
    heatmaps = page.evaluate(find)
    assert len(heatmaps) == 1
    heat = heatmaps[0]
    assert len(heat["y"]) == N_PROVINCES
    for label, row in zip(heat["y"], heat["z"]):
        assert any(v is not None for v in row), f"empty heatmap row: {label}"


def test_phone_overview_indicator_and_region_pages_are_compact(server, phone):
    for path in ["", "indicators", "regions"]:
        for lang in ("zh", "en"):
            phone.goto(f"{server}/{path}?lang={lang}")
            _settle(phone)
            phone.screenshot(path=str(ARTIFACTS / f"default_{path or 'overview'}_{lang}_phone.png"), full_page=True, timeout=90_000)
            assert not BLANK.findall(_visible_text(phone))
            # nothing wider than the screen except inside a table (tables scroll sideways themselves)
            width = phone.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollWidth")
            assert width <= 400, f"/{path} is {width} px wide at 390 px"
    phone.goto(server)
    _settle(phone)
    badges = phone.locator(".pw-badge")
    assert badges.count() == 5  # the one attribute in the national plan: five buckets
    tops = {round(b.bounding_box()["y"] / 10) for b in badges.all()}
    assert len(tops) <= 3, "the status counts should wrap into at most three short lines, not five tall rows"
    # the heatmap is replaced by a list on a phone; the list names every province
    assert not phone.locator(".st-key-pw_wide_overview_heatmap").is_visible()
    assert phone.locator(".st-key-pw_narrow_overview_heatmap").is_visible()
