"""The shipped submission templates: they match their generator and ingest cleanly against the shipped
definitions, so a user who starts from them gets no rejection."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from openpyxl import load_workbook

from warehouse.defs_loader import require_definitions
from warehouse.ingest import prepare_submission
from warehouse.regions import RegionRegistry
from warehouse.templates import write_submission_templates

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data"


@pytest.mark.parametrize("name", ["submission_template.csv", "submission_template.xlsx"])
def test_shipped_templates_ingest_cleanly(name):
    definitions = require_definitions(ROOT / "indicator_defs.yaml")
    registry = RegionRegistry.load(SAMPLE / "regions.parquet")
    prepared = prepare_submission(SAMPLE / name, definitions, registry, now=datetime(2025, 9, 1, tzinfo=timezone.utc))
    assert prepared.file_error is None and prepared.n_rejected == 0 and prepared.n_warnings == 0
    assert prepared.rows.select("region_code", "indicator_id", "period", "value").rows() == [
        ("500103", "registered_volunteers", "2025-07", 12.5),
        ("50", "township_elderly_care_coverage", "2025-Q2", 90.0),  # 900 / 1,000 × 100
    ]


def test_shipped_templates_are_what_the_generator_writes(tmp_path):
    csv_path, xlsx_path = write_submission_templates(tmp_path)
    assert csv_path.read_bytes() == (SAMPLE / "submission_template.csv").read_bytes()
    assert csv_path.read_bytes().startswith(b"\xef\xbb\xbf")  # BOM: Excel opens it as UTF-8
    fresh = [list(r) for r in load_workbook(xlsx_path).active.iter_rows(values_only=True)]
    shipped = [list(r) for r in load_workbook(SAMPLE / "submission_template.xlsx").active.iter_rows(values_only=True)]
    assert fresh == shipped
