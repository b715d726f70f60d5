"""The monthly snapshot export, end to end: real sample warehouse, real engine, real kaleido/Chromium, real PDF."""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import struct
import zipfile
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from warehouse import export, formatting, report_pdf
from warehouse.defs_loader import load_definitions
from warehouse.engine import Engine
from warehouse.paths import REPO_ROOT
from warehouse.periods import parse_as_of
from warehouse.storage import Warehouse

MONTH = "2025-12"
REGION = "50"
PLAN = "chongqing_2021"
DEFS = REPO_ROOT / "indicator_defs.yaml"
N_INDICATORS = 2  # a subset keeps the test fast; the code path is the same for all


def _png_size(path: Path) -> tuple[int, int]:
    blob = path.read_bytes()
    assert blob[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    assert blob[12:16] == b"IHDR"
    return struct.unpack(">II", blob[16:24])


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _data_fields(manifest: dict) -> dict:
    return {k: v for k, v in manifest.items() if k != "created"}


@pytest.fixture(scope="module", autouse=True)
def one_browser():
    """One kaleido browser for the whole module (each export would otherwise start its own)."""
    with export.render_session():
        yield


@pytest.fixture(scope="module")
def setup(sample_warehouse, tmp_path_factory):
    """A private copy of the sample warehouse (a correction is ingested into it) and the plan's indicators."""
    root = tmp_path_factory.mktemp("export")
    wh = root / "wh"
    shutil.copytree(sample_warehouse, wh)
    definitions = load_definitions(DEFS).definitions
    engine = Engine(wh, definitions)
    status = engine.status(REGION, as_of=parse_as_of(MONTH), plan_id=PLAN)
    with_data = status.filter(pl.col("value").is_not_null())["indicator_id"].to_list()
    indicators = tuple(with_data[:N_INDICATORS])
    assert len(indicators) == N_INDICATORS, "the sample should have data for Chongqing in 2025-12"
    return {"root": root, "wh": wh, "definitions": definitions, "indicators": indicators}


def _options(setup, out: Path, **overrides) -> export.ExportOptions:
    values = dict(month=MONTH, out_dir=out, region=REGION, plan_id=PLAN, lang="zh", formats=("png", "svg", "pdf"),
                  warehouse_dir=setup["wh"], defs_path=DEFS, indicators=setup["indicators"])
    values.update(overrides)
    return export.ExportOptions(**values)


@pytest.fixture(scope="module")
def exports(setup):
    """Export the month; ingest a correction dated after the month; export the month again and --latest."""
    first_dir = setup["root"] / "first"
    steps = []
    first = export.run_export(_options(setup, first_dir), progress=lambda d, t, label: steps.append((d, t, label)))

    # the correction: the latest value of the first indicator that feeds the region's figure halved (numerator too,
    # for ratio roll-ups), ingested two months after the month. That is the region's own value when it reports one
    # (its own figure wins over its counties' roll-up), else a county's.
    wh = Warehouse(setup["wh"])
    indicator = setup["indicators"][0]
    under = (
        wh.snapshot(parse_as_of(MONTH)).scan()
        .filter(pl.col("region_code").str.starts_with(REGION) & (pl.col("indicator_id") == indicator))
        .collect()
    )
    own = under.filter(pl.col("region_code") == REGION)
    source = own if own.height else under.filter(pl.col("region_code").str.len_chars() == 6)
    rows = source.sort("period_end", "region_code", "ingested_at").tail(1)
    assert rows.height == 1, f"no value under {REGION} for {indicator} to correct"
    corrected = rows.with_columns(pl.col("value") * 0.5, pl.col("numerator") * 0.5, pl.lit("correction").alias("note"))
    later = parse_as_of(MONTH) + timedelta(days=60)
    wh.write_batch(corrected.drop("batch_id", "ingested_at"), {"sha256": "c0ffee" * 10 + "abcd", "ingested_at": later})

    again = export.run_export(_options(setup, setup["root"] / "again"))
    latest = export.run_export(_options(setup, setup["root"] / "latest", latest=True, formats=("png",)))
    return {"first": first, "again": again, "latest": latest, "steps": steps, "indicator": indicator,
            "corrected_period": rows["period"].item()}


def test_files_exist_with_stable_names(exports, setup):
    result = exports["first"]
    assert result.ok, result.failures
    names = {p.name for p in result.out_dir.iterdir()}
    stems = ["overview_status", *[f"indicator_{i}" for i in setup["indicators"]], "rankings", "heatmap"]
    expected = {f"{MONTH}_500000_{s}.{ext}" for s in stems for ext in ("png", "svg")}
    expected |= {f"{MONTH}_500000_report.pdf", "manifest.json"}
    assert names == expected
    # progress reported every step, ending at the total
    done, total, _ = exports["steps"][-1]
    assert done == total == len(exports["steps"])


def test_pngs_decode_with_the_expected_size(exports):
    result = exports["first"]
    pngs = [f for f in result.files if f.format == "png"]
    assert len(pngs) == 1 + N_INDICATORS + 2
    for f in pngs:
        width, height = _png_size(result.out_dir / f.name)
        assert width == export.IMAGE_WIDTH * export.IMAGE_SCALE
        assert height >= export.IMAGE_HEIGHT * export.IMAGE_SCALE
        assert (width, height) == (f.width, f.height)


def test_svg_keeps_chinese_text(exports):
    svg = (exports["first"].out_dir / f"{MONTH}_500000_heatmap.svg").read_text(encoding="utf-8")
    assert svg.lstrip().startswith("<svg")
    assert any("\u4e00" <= ch <= "\u9fff" for ch in svg), "SVG text should stay Chinese text"


def test_pdf_has_the_expected_pages(exports, setup):
    """Cover, the summary table pages, the alert pages, then one page per chart; table pages say "第 n/m 页"."""
    result = exports["first"]
    engine = Engine(setup["wh"], setup["definitions"])
    reader = PdfReader(result.out_dir / f"{MONTH}_500000_report.pdf")
    texts = [page.extract_text() for page in reader.pages]
    summary = [i for i, t in enumerate(texts) if "指标状态汇总" in t]
    alerts = [i for i, t in enumerate(texts) if "预警及原因" in t]
    assert summary == [1], "two indicators fit one summary page"
    assert alerts == list(range(2, 2 + len(alerts))) and alerts
    m = len(alerts)
    for n, i in enumerate(alerts, start=1):  # text extraction spaces CJK out: compare without whitespace
        assert m == 1 or f"第{n}/{m}" in re.sub(r"\s", "", texts[i])
    # the work ledger's pages follow the alerts (the shipped plan has tasks; tasks_report.summary_pages)
    import unicodedata  # the PDF text gives some CJK as Kangxi radicals (⼯ for 工): NFKC folds them

    flat = [unicodedata.normalize("NFKC", re.sub(r"\s", "", t)) for t in texts]
    ledger = [i for i, t in enumerate(flat) if any(k in t for k in ("工作台账摘要", "逾期报送与逾期未报", "逾期未复的督办事项"))]
    alerts = [i for i, t in enumerate(flat) if "预警及原因" in t]  # without whitespace: every alert page
    assert ledger == list(range(alerts[-1] + 1, alerts[-1] + 1 + len(ledger))) and len(ledger) >= 3, (alerts, ledger)
    assert "没有逾期未复的督办事项" in flat[ledger[-1]]
    chart_pages = 1 + N_INDICATORS + 2
    assert len(reader.pages) == 1 + len(summary) + len(alerts) + len(ledger) + chart_pages
    assert result.manifest["report_pages"] == len(reader.pages)
    # every alert shown (the 45 most severe at most) appears on the alert pages, in order
    all_alerts = engine.alerts(REGION, as_of=parse_as_of(MONTH), plan_id=PLAN)
    shown = all_alerts.filter(pl.col("indicator_id").is_in(list(setup["indicators"])))
    expected_rows = min(shown.height, export.ALERTS_IN_REPORT)
    alert_text = "".join(texts[i] for i in alerts)
    symbols = sum(alert_text.count(s) for s in set(formatting.SYMBOLS.values()))
    assert symbols == expected_rows  # one status symbol per alert row
    # A4 landscape (842 x 596 pt)
    box = reader.pages[0].mediabox
    assert round(float(box.width)) == 842 and round(float(box.height)) == 596
    cover = reader.pages[0].extract_text()
    assert "重庆市" in cover and "500000" in cover and PLAN in cover
    assert setup["definitions"].plan(PLAN).name.zh[:6] in cover
    summary_text = texts[1]
    first = setup["indicators"][0]
    row = engine.status(REGION, as_of=parse_as_of(MONTH), plan_id=PLAN).filter(pl.col("indicator_id") == first).row(0, named=True)
    # numbers in the tables are real, copyable text, by the one rounding rule (rounded down, as CLI and pages)
    assert formatting.format_progress(row["progress_ratio"]) in summary_text


def _font_names(reader: PdfReader) -> set[str]:
    names = set()
    for page in reader.pages:
        fonts = page["/Resources"].get_object().get("/Font")
        for ref in (fonts.get_object().values() if fonts else []):
            font = ref.get_object()
            descriptor = font.get("/FontDescriptor")
            if descriptor is not None:
                names.add(str(descriptor.get_object().get("/FontName")))
            if font.get("/BaseFont") is not None:
                names.add(str(font["/BaseFont"]))
    return names


def test_pdf_embeds_a_noto_cjk_font(exports):
    reader = PdfReader(exports["first"].out_dir / f"{MONTH}_500000_report.pdf")
    names = _font_names(reader)
    assert any("NotoSansCJK" in n or "NotoSerifCJK" in n for n in names), names


def test_manifest_checksums_match_the_files(exports, setup):
    result = exports["first"]
    manifest = json.loads(result.manifest_path.read_text(encoding="utf-8"))
    listed = {f["name"] for f in manifest["files"]}
    assert listed == {p.name for p in result.out_dir.iterdir()} - {"manifest.json"}
    for f in manifest["files"]:
        assert _sha(result.out_dir / f["name"]) == f["sha256"], f["name"]
        assert (result.out_dir / f["name"]).stat().st_size == f["bytes"]
    snapshot = Warehouse(setup["wh"]).snapshot(parse_as_of(MONTH))
    assert manifest["as_of"] == "2025-12-31T16:00:00Z"
    assert manifest["batch_ids"] == sorted(snapshot.batch_ids) and manifest["batch_ids"]
    assert manifest["definitions_sha256"] == hashlib.sha256(DEFS.read_bytes()).hexdigest()
    assert manifest["planwatch_version"] and manifest["created"]["created_at"].endswith("Z")
    assert all(c["data_sha256"] and len(c["data_sha256"]) == 64 for c in manifest["charts"])


def test_reexport_after_a_later_correction_is_identical(exports):
    first, again = exports["first"].manifest, exports["again"].manifest
    assert _data_fields(first) == _data_fields(again)
    assert first["created"]["warehouse_manifest_version"] < again["created"]["warehouse_manifest_version"]


def test_latest_shows_the_correction(exports):
    first = {c["chart"]: c["data_sha256"] for c in exports["first"].manifest["charts"]}
    latest = {c["chart"]: c["data_sha256"] for c in exports["latest"].manifest["charts"]}
    assert latest[f"indicator_{exports['indicator']}"] != first[f"indicator_{exports['indicator']}"]
    assert exports["latest"].manifest["as_of"] is None
    assert len(exports["latest"].manifest["batch_ids"]) == len(exports["first"].manifest["batch_ids"]) + 1


def test_the_correction_changes_only_latest_data(exports, setup):
    """The data behind the charts: the month's trajectory ignores the correction, --latest shows it."""
    ind = exports["indicator"]
    month = export.collect(_options(setup, setup["root"] / "unused")).trajectories[ind]
    latest = export.collect(_options(setup, setup["root"] / "unused", latest=True)).trajectories[ind]
    period = exports["corrected_period"]
    before = month.filter(pl.col("period") == period)["actual"].item()
    after = latest.filter(pl.col("period") == period)["actual"].item()
    assert after < before  # a value halved lowers the region's figure


def _glyph_png(text: str) -> bytes:
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.add_annotation(text=text, x=0.5, y=0.5, showarrow=False, font=dict(size=80, family=report_pdf.FONT_FAMILY))
    return export._render(fig, "png", 120, 120)


def test_cjk_glyphs_are_not_tofu():
    """Two different Chinese characters must render differently: missing glyphs all draw the same box."""
    assert _glyph_png("城") != _glyph_png("区")


def test_every_status_symbol_in_the_report_has_a_glyph():
    """A character with no glyph renders exactly like a private-use code point (the 'tofu' box)."""
    tofu = _glyph_png("\U0010fffd")
    assert _glyph_png("\ue000") == tofu  # the detector itself: two unmapped code points look the same
    for symbol in set(formatting.SYMBOLS.values()):
        assert _glyph_png(symbol) != tofu, f"no glyph for status symbol {symbol!r}"


def test_cli_bad_region_is_a_clear_error(setup, tmp_path):
    from warehouse.cli import _register, app

    _register()
    out = tmp_path / "bad"
    result = CliRunner().invoke(app, ["export", "--month", MONTH, "--region", "999999", "--out", str(out),
                                      "--warehouse", str(setup["wh"]), "--defs", str(DEFS)])
    assert result.exit_code == 2
    assert "未知地区代码" in result.output and "unknown region code" in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


def test_cli_bad_month_is_a_clear_error(setup, tmp_path):
    from warehouse.cli import _register, app

    _register()
    result = CliRunner().invoke(app, ["export", "--month", "2025-13", "--out", str(tmp_path / "x"),
                                      "--warehouse", str(setup["wh"]), "--defs", str(DEFS)])
    assert result.exit_code == 2 and "2025-12" in result.output and "Traceback" not in result.output


def test_one_failing_chart_is_reported_and_the_rest_written(setup, tmp_path, monkeypatch):
    """Fault injection: the rankings figure raises; the other charts and the manifest are still written and the
    CLI exits non-zero."""
    from warehouse import charts
    from warehouse.cli import _register, app

    def broken(*args, **kwargs):
        raise RuntimeError("rankings exploded")

    monkeypatch.setattr(charts, "rank_figure", broken)
    _register()
    out = tmp_path / "partial"
    result = CliRunner().invoke(app, ["export", "--month", MONTH, "--region", "500000", "--plan", PLAN,
                                      "--formats", "png", "--indicators", setup["indicators"][0],
                                      "--out", str(out), "--warehouse", str(setup["wh"]), "--defs", str(DEFS)])
    assert result.exit_code == 1, result.output
    assert "rankings" in result.output and "rankings exploded" in result.output
    names = {p.name for p in out.iterdir()}
    assert f"{MONTH}_500000_heatmap.png" in names and f"{MONTH}_500000_rankings.png" not in names
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["failures"] == [{"item": "rankings", "error": "RuntimeError: rankings exploded"}]


def test_dashboard_zip_has_the_same_files(setup):
    from types import SimpleNamespace

    view = SimpleNamespace(plan_id=PLAN, region=REGION, month=MONTH, lang="en")
    name, blob = export.export_view_zip(view, warehouse_dir=setup["wh"], defs_path=DEFS,
                                        indicators=setup["indicators"][:1])
    assert name == f"planwatch_{MONTH}_500000_{PLAN}.zip"
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read("manifest.json"))
    assert f"{MONTH}_500000_report.pdf" in names and f"{MONTH}_500000_overview_status.png" in names
    assert manifest["lang"] == "en" and manifest["failures"] == []
