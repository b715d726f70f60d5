"""Every page opened with junk URL parameters (huge and ancient months, unknown plan/region/indicator, Markdown
and HTML payloads, very long strings, unicode junk, empty values) and over a warehouse holding absurd stored
values: no page ends in an exception (`stException`), and no server path reaches the page."""

from __future__ import annotations

import datetime as dt
import math
import shutil
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from app_helpers import texts
from warehouse.storage import Warehouse

ROOT = Path(__file__).resolve().parent.parent
PAGES = ["pages/overview.py", "pages/indicator.py", "pages/region.py", "pages/rankings.py",
         "pages/data_quality.py", "pages/definitions.py"]

# each set is applied to every page; every parameter is junk in several ways at once
JUNK = [
    {"month": "9999-12", "region": "../../../etc/passwd", "plan": "<script>alert(1)</script>",
     "indicator": "**bold** [x](javascript:alert(1))", "lang": "xx"},
    {"month": "0001-01", "region": "group:../../tmp/x", "plan": "", "indicator": "x" * 5000, "lang": ""},
    {"month": "2025-13", "region": "\u202e\u0000𝕏" * 50, "indicator": "<img src=x onerror=alert(1)>",
     "plan": "chongqing_2021"},
    {"month": "x" * 5000, "region": "500110000000000000000", "plan": "chongqing_2021", "lang": "en"},
]


def _open(warehouse: Path, page: str, params: dict[str, str], monkeypatch) -> AppTest:
    monkeypatch.setenv("PLANWATCH_WAREHOUSE", str(warehouse))
    monkeypatch.setenv("PLANWATCH_DEFS", str(ROOT / "indicator_defs.yaml"))
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    at.switch_page(page).run()
    return at


def _no_server_path(at: AppTest, *paths: Path) -> None:
    shown = texts(at) + "\n".join(str(e.value) for e in at.exception)
    for path in paths:
        assert str(path) not in shown
    assert "Traceback" not in shown


@pytest.mark.parametrize("page", PAGES)
def test_every_page_survives_junk_parameters(sample_warehouse, monkeypatch, page):
    # two of the sets per page, rotating, so that every set meets three pages (each AppTest run costs seconds)
    i = PAGES.index(page)
    for params in (JUNK[i % len(JUNK)], JUNK[(i + 1) % len(JUNK)]):
        at = _open(sample_warehouse, page, params, monkeypatch)
        assert not at.exception, (page, params, [e.value for e in at.exception])
        _no_server_path(at, sample_warehouse, ROOT)
        # the bad values are reported as such in the page's language
        if params.get("month") == "9999-12":
            assert "9999-12" in texts(at).replace("\\", "")  # shown Markdown-escaped (safe_text.md): 9999\-12


@pytest.fixture(scope="module")
def hostile_warehouse(sample_warehouse, tmp_path_factory) -> Path:
    """The sample plus one batch of absurd values written directly (as an old warehouse or a buggy tool would):
    1e21 and +inf for Chongqing districts, NaN as a numerator."""
    wh_dir = tmp_path_factory.mktemp("hostile") / "wh"
    shutil.copytree(sample_warehouse, wh_dir)
    rows = pl.DataFrame({
        "region_code": ["500101", "500102", "500103"],
        "indicator_id": ["community_hospitals", "community_hospitals", "volunteer_share"],
        "period": ["2025", "2025", "2025-Q3"],
        "period_end": [dt.date(2025, 12, 31), dt.date(2025, 12, 31), dt.date(2025, 9, 30)],
        "value": [1e21, math.inf, 20.0],
        "numerator": [None, None, math.nan],
        "denominator": [None, None, 100.0],
        "source_file": ["old_tool.csv"] * 3,
        "source_row": [2, 3, 4],
    })
    Warehouse(wh_dir).write_batch(rows, {"sha256": "e" * 64,
                                         "ingested_at": dt.datetime(2026, 1, 20, tzinfo=dt.timezone.utc)})
    return wh_dir


@pytest.mark.parametrize("page", PAGES)
def test_every_page_survives_absurd_stored_values(hostile_warehouse, monkeypatch, page):
    """Before: the overview/region/data-quality pages showed "Could not cast value ... to DECIMAL(38,18)"
    (with the SQL) and the data-quality page raised OverflowError."""
    for region in (("50", "500101") if page == "pages/region.py" else ("50",)):
        at = _open(hostile_warehouse, page, {"plan": "chongqing_2021", "region": region,
                                             "indicator": "community_hospitals"}, monkeypatch)
        assert not at.exception, (page, region, [e.value for e in at.exception])
        assert not [e.value for e in at.error if "DECIMAL" in str(e.value) or "查询失败" in str(e.value)]
        _no_server_path(at, hostile_warehouse, ROOT)
        if page == "pages/data_quality.py" and region == "50":
            warning = "\n".join(str(w.value) for w in at.warning)
            assert "3 个数值无法使用" in warning, warning
