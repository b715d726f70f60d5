"""A failed engine query takes down only its own section of a page (warehouse/page_section.py): the error is
shown in the UI language without a server path, the sections after it still draw, and no page ends in an
exception. One AppTest run per page over the shared sample warehouse, one engine method forced to fail."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app_helpers import texts
from warehouse import app_state
from warehouse.i18n import t

ROOT = Path(__file__).resolve().parent.parent
SECRET = "/srv/secret/warehouse/batches/x.parquet"


def _failing(method: str, only=lambda args: True):
    real = app_state._cached_query

    def fake(version, warehouse, name, args, kwargs, _engine):
        if name == method and only(args):
            raise OSError(5, "Input/output error", SECRET)
        return real(version, warehouse, name, args, kwargs, _engine=_engine)

    return fake


# page, failing method (and which calls of it), texts that must still be on the page (zh) after the failure
CASES = [
    ("pages/overview.py", "alerts", None, ["overview.counts", "overview.heatmap"]),
    ("pages/region.py", "status", None, ["region.rank", "region.overdue"]),
    ("pages/indicator.py", "trajectory", None, ["indicator.children", "indicator.definition", "indicator.history"]),
    ("pages/rankings.py", "rank", lambda args: args[1] != "composite", ["rankings.table"]),
    ("pages/data_quality.py", "children_status", None, ["dq.outliers.explain", "dq.metric.reporting"]),
    ("pages/tasks.py", "status", None, ["tasks.list", "tasks.ledger"]),
]


@pytest.mark.parametrize("page,method,only,still_there", CASES, ids=[c[0].split("/")[1] for c in CASES])
def test_a_failed_query_takes_down_only_its_section(sample_warehouse, monkeypatch, page, method, only, still_there):
    monkeypatch.setenv("PLANWATCH_WAREHOUSE", str(sample_warehouse))
    monkeypatch.setenv("PLANWATCH_DEFS", str(ROOT / "indicator_defs.yaml"))
    monkeypatch.setattr(app_state, "_cached_query", _failing(method, only or (lambda args: True)))
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
    at.query_params["plan"] = "chongqing_2021"  # Chongqing's plan: its districts are ranked
    at.query_params["region"] = "50"
    at.query_params["month"] = "2025-06"
    at.run()
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    errors = [str(e.value) for e in at.error]
    assert any(e.startswith(t("wh.error", "zh", error="")) and "磁盘读写错误" in e and "x\\.parquet" in e
               for e in errors), errors  # 读取数据仓库失败：磁盘读写错误（…）：x.parquet
    shown = texts(at) + "\n".join(str(m.label) for m in at.metric) + "\n".join(str(x.label) for x in at.tabs)
    for key in still_there:
        assert t(key, "zh") in shown, (key, shown[:2000])
    assert len(at.dataframe) >= 1  # a table of a later section (or the table the failed part leaves out of)
    assert SECRET not in shown and "/srv/secret" not in shown and "Traceback" not in shown
